/*
 * report_svg.c - the timeline as a standalone SVG document (report.h):
 * the link's up and down bands (station 0's link) and the bridge's, the
 * queue depth summed over the stations, and the deliveries per sample
 * interval (duplicates stacked on top), over a shared time axis.
 */
#include <inttypes.h>

#include "sim/report.h"

#define W 1200.0
#define LEFT 80.0
#define RIGHT 30.0
#define PW (W - LEFT - RIGHT)
#define LINK_Y 64.0
#define LINK_H 18.0
#define BRIDGE_Y 88.0
#define BRIDGE_H 10.0
#define STATIONS_Y 102.0
#define STATIONS_H 10.0
#define QUEUE_Y 130.0
#define QUEUE_H 200.0
#define DELIV_Y 370.0
#define DELIV_H 140.0
#define AXIS_Y (DELIV_Y + DELIV_H)
#define H (AXIS_Y + 60.0)

static void text_escaped(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
}

static double xat(uint64_t t, uint64_t span)
{
	return LEFT + (span ? (double)t / (double)span : 0.0) * PW;
}

static void band(FILE *f, double x0, double x1, double y, double h, const char *fill)
{
	if (x1 - x0 < 0.5)
		x1 = x0 + 0.5;
	fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>\n", x0,
	        y, x1 - x0, h, fill);
}

static void label(FILE *f, double x, double y, const char *anchor, const char *s)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">", x, y, anchor);
	text_escaped(f, s);
	fputs("</text>\n", f);
}

static void axis(FILE *f, uint64_t span)
{
	uint64_t hour = 3600000000ull, step, t;
	char buf[32];

	step = span <= 2 * hour ? hour / 6 : span <= 48 * hour ? hour : 6 * hour;
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", LEFT,
	        AXIS_Y, LEFT + PW, AXIS_Y);
	for (t = 0; t <= span; t += step) {
		double x = xat(t, span);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x,
		        AXIS_Y, x, AXIS_Y + 5);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", x,
		        QUEUE_Y, x, AXIS_Y);
		if (step < hour)
			snprintf(buf, sizeof buf, "%" PRIu64 "m", t / 60000000u);
		else
			snprintf(buf, sizeof buf, "%" PRIu64 "h", t / hour);
		label(f, x, AXIS_Y + 18, "middle", buf);
	}
	label(f, LEFT + PW / 2, AXIS_Y + 40, "middle", "virtual time");
}

/* Down bands of the link and of the bridge. */
static void bands(FILE *f, const struct sim_report *r, uint64_t span)
{
	size_t i;

	label(f, LEFT - 6, LINK_Y + 13, "end", "link");
	band(f, LEFT, LEFT + PW, LINK_Y, LINK_H, "#8fd18f");
	for (i = 0; i < r->n_down; i++) {
		double x0 = xat(r->down_at[i], span), x1 = xat(r->up_at[i], span);

		band(f, x0, x1, LINK_Y, LINK_H, "#d9534f");
		/* the same outage, faint, behind the panels */
		fprintf(f,
		        "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#d9534f\" "
		        "fill-opacity=\"0.08\"/>\n",
		        x0, QUEUE_Y, x1 - x0 < 0.5 ? 0.5 : x1 - x0, AXIS_Y - QUEUE_Y);
	}
	label(f, LEFT - 6, BRIDGE_Y + 9, "end", "bridge");
	band(f, LEFT, LEFT + PW, BRIDGE_Y, BRIDGE_H, "#8fd18f");
	label(f, LEFT - 6, STATIONS_Y + 9, "end", "stations");
	band(f, LEFT, LEFT + PW, STATIONS_Y, STATIONS_H, "#8fd18f");
	/* a sample interval in which the bridge, or any station, was seen down */
	for (i = 0; i < r->n_samples; i++) {
		uint64_t t0 = i ? r->samples[i - 1].t_us : 0;
		double x0 = xat(t0, span), x1 = xat(r->samples[i].t_us, span);

		if (!r->samples[i].bridge_up)
			band(f, x0, x1, BRIDGE_Y, BRIDGE_H, "#d9534f");
		if (r->samples[i].stations_up < r->stations)
			band(f, x0, x1, STATIONS_Y, STATIONS_H, "#d9534f");
	}
}

static void queue_panel(FILE *f, const struct sim_report *r, uint64_t span)
{
	uint64_t max = 1;
	char buf[64];
	size_t i;

	for (i = 0; i < r->n_samples; i++)
		if (r->samples[i].queue_depth > max)
			max = r->samples[i].queue_depth;
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
	           "stroke=\"#999\"/>\n",
	        LEFT, QUEUE_Y, PW, QUEUE_H);
	label(f, LEFT, QUEUE_Y - 8, "start", "queue depth (messages waiting in the stations' queues)");
	snprintf(buf, sizeof buf, "%" PRIu64, max);
	label(f, LEFT - 6, QUEUE_Y + 12, "end", buf);
	label(f, LEFT - 6, QUEUE_Y + QUEUE_H, "end", "0");
	fprintf(f, "<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"1.2\" points=\"");
	fprintf(f, "%.2f,%.2f", LEFT, QUEUE_Y + QUEUE_H);
	for (i = 0; i < r->n_samples; i++) {
		double y = QUEUE_Y + QUEUE_H - (double)r->samples[i].queue_depth / (double)max * QUEUE_H;

		fprintf(f, " %.2f,%.2f", xat(r->samples[i].t_us, span), y);
	}
	fputs("\"/>\n", f);
}

static void delivery_panel(FILE *f, const struct sim_report *r, uint64_t span)
{
	uint64_t max = 1;
	char buf[96];
	size_t i;

	for (i = 0; i < r->n_samples; i++) {
		uint64_t d = r->samples[i].delivered - (i ? r->samples[i - 1].delivered : 0);
		uint64_t c = r->samples[i].duplicates - (i ? r->samples[i - 1].duplicates : 0);

		if (d + c > max)
			max = d + c;
	}
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
	           "stroke=\"#999\"/>\n",
	        LEFT, DELIV_Y, PW, DELIV_H);
	label(f, LEFT, DELIV_Y - 8, "start",
	      "deliveries to the broker per sample interval (duplicates on top, orange)");
	snprintf(buf, sizeof buf, "%" PRIu64, max);
	label(f, LEFT - 6, DELIV_Y + 12, "end", buf);
	label(f, LEFT - 6, DELIV_Y + DELIV_H, "end", "0");
	for (i = 0; i < r->n_samples; i++) {
		uint64_t t0 = i ? r->samples[i - 1].t_us : 0;
		uint64_t d = r->samples[i].delivered - (i ? r->samples[i - 1].delivered : 0);
		uint64_t c = r->samples[i].duplicates - (i ? r->samples[i - 1].duplicates : 0);
		double x0 = xat(t0, span), x1 = xat(r->samples[i].t_us, span);
		double hd = (double)d / (double)max * DELIV_H, hc = (double)c / (double)max * DELIV_H;

		if (d > 0)
			band(f, x0, x1, DELIV_Y + DELIV_H - hd, hd, "#2e8b57");
		if (c > 0)
			band(f, x0, x1, DELIV_Y + DELIV_H - hd - hc, hc, "#f0a030");
	}
}

void sim_report_svg(const struct sim_report *r, FILE *f)
{
	uint64_t span = r->ended_us;
	char buf[256];

	if (r->n_samples > 0 && r->samples[r->n_samples - 1].t_us > span)
		span = r->samples[r->n_samples - 1].t_us;
	if (span == 0)
		span = 1;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	           "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
	        W, H, W, H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<title>");
	text_escaped(f, r->scenario);
	fprintf(f, "</title>\n");
	fprintf(f, "<text x=\"%.1f\" y=\"22\" font-size=\"15\" font-weight=\"bold\">", LEFT);
	text_escaped(f, r->title[0] ? r->title : r->scenario);
	fprintf(f, "</text>\n");
	snprintf(buf, sizeof buf,
	         "%u station(s), profile %s, seed %" PRIu64 ": published %" PRIu64
	         ", delivered %" PRIu64 ", lost %" PRIu64 ", duplicated %" PRIu64
	         ", delay median %.1f s, p99 %.1f s, max %.1f s",
	         r->stations, r->profile, r->seed, r->published, r->delivered, r->lost,
	         r->duplicates, (double)r->delay_median_us / 1e6, (double)r->delay_p99_us / 1e6,
	         (double)r->delay_max_us / 1e6);
	label(f, LEFT, 42, "start", buf);
	bands(f, r, span);
	axis(f, span);
	queue_panel(f, r, span);
	delivery_panel(f, r, span);
	fprintf(f, "</svg>\n");
}
