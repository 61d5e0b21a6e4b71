/*
 * linkopt.h - the tools' link frame options (--frames, --key-file, --dict,
 * ...) and how they become a framed transport (link.h) around the inner
 * one. tport.h takes them among the transport options, so that every tool
 * has them.
 */
#ifndef SNBRIDGE_SNC_LINKOPT_H
#define SNBRIDGE_SNC_LINKOPT_H

#include <stdbool.h>
#include <stddef.h>

#include "sn-client/error.h"
#include "sn-client/link.h"

#define SNC_LINKOPT_MTU_UDP 1200u     /* an IP path's safe datagram (LINKS.md) */
#define SNC_LINKOPT_MTU_SERIAL 340u   /* an Iridium SBD message from the station */
#define SNC_LINKOPT_HOLD_DEFAULT 200u
/* sn-pub's --window with frames on, unless given: a frame full of messages a round trip. */
#define SNC_LINKOPT_WINDOW 32u

struct snc_linkopt {
	bool frames;
	const char *key_file;    /* NULL: plain frames (a link secured below) */
	long key_id;             /* -1: the key of the last line for this client id */
	const char *dict_file;   /* NULL: no compression */
	long mtu;                /* 0: by transport */
	long hold_ms;            /* -1: SNC_LINKOPT_HOLD_DEFAULT */
	const char *state_file;  /* NULL: FILE.CLIENTID.state beside the key file */
	bool others;             /* an option other than --frames was given */
};

/* getopt_long() codes, clear of the tools' and of tport.h's. */
enum {
	SNC_LINKOPT_FRAMES = 0x1100,
	SNC_LINKOPT_KEY_FILE,
	SNC_LINKOPT_KEY_ID,
	SNC_LINKOPT_DICT,
	SNC_LINKOPT_MTU,
	SNC_LINKOPT_HOLD_MS,
	SNC_LINKOPT_STATE,
};

#define SNC_LINKOPT_LONGOPTS                                                 \
	{ "frames", no_argument, NULL, SNC_LINKOPT_FRAMES },                 \
	{ "key-file", required_argument, NULL, SNC_LINKOPT_KEY_FILE },       \
	{ "key-id", required_argument, NULL, SNC_LINKOPT_KEY_ID },           \
	{ "dict", required_argument, NULL, SNC_LINKOPT_DICT },               \
	{ "mtu", required_argument, NULL, SNC_LINKOPT_MTU },                 \
	{ "hold-ms", required_argument, NULL, SNC_LINKOPT_HOLD_MS },         \
	{ "link-state", required_argument, NULL, SNC_LINKOPT_STATE }

#define SNC_LINKOPT_USAGE                                                                 \
	"      --frames           link frames: messages batched into frames, compressed\n"  \
	"                         with --dict, sealed with --key-file (the bridge must\n"   \
	"                         know the station's key and dictionary)\n"                 \
	"      --key-file FILE    seal frames with this station's key (sn-keygen's file,\n" \
	"                         the line of this client id); without it frames are\n"     \
	"                         plain, for links secured below\n"                         \
	"      --key-id N         the key (0-3) to seal with (default: the last line for\n" \
	"                         this client id)\n"                                        \
	"      --dict FILE        compress with this dictionary (sn-dict's file)\n"         \
	"      --mtu N            largest frame in octets (default 1200 on UDP, 340 on\n"   \
	"                         serial)\n"                                                \
	"      --hold-ms N        longest a message waits for others to share its frame\n" \
	"                         (default 200)\n"                                          \
	"      --link-state FILE  the frame counters, kept across restarts (default\n"      \
	"                         KEYFILE.CLIENTID.state); never copy or delete it\n"

void snc_linkopt_defaults(struct snc_linkopt *o);

/*
 * The client core's retry_slack_ms for these options: with frames, an
 * answer may wait a hold at each end (the bridge's as long as ours,
 * presumably) besides the round trip; 0 without frames.
 */
uint32_t snc_linkopt_retry_slack_ms(const struct snc_linkopt *o);

/* As snc_tport_option(): 1 taken, 0 not a link option, -1 a bad value (err says why). */
int snc_linkopt_option(struct snc_linkopt *o, int c, const char *arg, char *err, size_t errcap);

/* The options together: SNC_OK or SNC_ERR_INVALID (err says why). */
SNC_MUST_CHECK int snc_linkopt_check(const struct snc_linkopt *o, char *err, size_t errcap);

/*
 * With --frames: read the key file (private: mode 0600) and the
 * dictionary, and wrap inner in a framed transport for client_id (*out;
 * it then owns inner). serial: the default mtu is the serial one.
 * Without --frames *out is NULL and SNC_OK. Errors as snc_linkt_open(),
 * or SNC_ERR_INVALID for a key file or dictionary that cannot be used;
 * inner is left open then.
 */
SNC_MUST_CHECK int snc_linkopt_wrap(struct snc_linkt **out, const struct snc_linkopt *o,
                                    struct snc_transport *inner, bool serial, const char *client_id,
                                    char *err, size_t errcap);

#endif
