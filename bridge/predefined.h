/*
 * predefined.h - the predefined topics file (MQTT-SN 1.2, 6.7).
 *
 * One topic a line: "ID TOPIC" for every client, or "CLIENTID ID TOPIC" for
 * one client; ID is 1-65534 (0x0000 and 0xFFFF are reserved, 5.3.11);
 * topics contain no white space. '#' at the start of a field starts a
 * comment, to the end of the line (an id or a topic name cannot contain
 * one). The same id may be given once for every client and once per
 * client. Read at start and again on SIGHUP.
 */
#ifndef SNBRIDGE_BRIDGE_PREDEFINED_H
#define SNBRIDGE_BRIDGE_PREDEFINED_H

#include <stddef.h>
#include <stdio.h>

#include "bridge/gw.h"

/* The parsed file: entries ready for gw_predefined_set(). */
struct gw_predefined_file {
	struct gw_predefined *entries; /* client_id "" for every client */
	size_t n, cap;
};

/*
 * Parse the file at path into out (which need not be initialised). Returns 0,
 * or -1 with err naming the file and line ("topics.conf:3: topic id \"0\" is
 * not a number from 1 to 65534") and out empty.
 */
int gw_predefined_file_load(const char *path, struct gw_predefined_file *out, char *err,
                            size_t errlen);
/* The same from an open stream; name stands for it in messages. */
int gw_predefined_parse(FILE *f, const char *name, struct gw_predefined_file *out, char *err,
                        size_t errlen);
/* Free what gw_predefined_file_load() filled in. */
void gw_predefined_file_free(struct gw_predefined_file *file);

#endif
