/*
 * gw_discovery.c - gateway discovery (6.1, 6.2): ADVERTISE every
 * advertise_interval_s to the daemon's advertise destination, GWINFO in
 * answer to SEARCHGW. The GWINFO goes to the asker (through its forwarder
 * if it came through one); the daemon decides about broadcasting.
 */
#include <string.h>

#include "bridge/gw_int.h"

void gw_disc_on_searchgw(struct gw *gw, const struct gw_rx *rx)
{
	struct mqttsn_msg m;

	memset(&m, 0, sizeof m);
	m.type = MQTTSN_GWINFO;
	m.u.gwinfo.gw_id = gw->cfg.gw_id;
	/* 5.4.3: a gateway answering for itself leaves GwAdd out */
	(void)gw_tx_ep(gw, gw_sess_by_ep(gw, rx->ep), rx->ep, &m);
}

void gw_disc_tick(struct gw *gw, uint64_t now)
{
	struct mqttsn_msg m;
	uint32_t secs = gw->cfg.advertise_interval_s;
	int n;

	if (secs == 0 || now < gw->next_advertise)
		return;
	memset(&m, 0, sizeof m);
	m.type = MQTTSN_ADVERTISE;
	m.u.advertise.gw_id = gw->cfg.gw_id;
	/* Duration: seconds until the next ADVERTISE (5.4.1) */
	m.u.advertise.duration = (uint16_t)(secs > 0xFFFFu ? 0xFFFFu : secs);
	n = mqttsn_encode(gw->tx, MQTTSN_MSG_MAX, &m);
	if (n > 0) {
		gw_stat_tx(gw, NULL, (size_t)n);
		if (gw->ops.send != NULL)
			gw->ops.send(gw->ctx, NULL, gw->tx, (size_t)n);
	}
	gw->next_advertise = now + (uint64_t)secs * 1000u;
}
