/*
 * topic.h - MQTT topic names and filters: validation and matching.
 *
 * The rules are MQTT 3.1.1 section 4.7, which MQTT-SN 1.2 inherits for the
 * topic names it carries (REGISTER, SUBSCRIBE, WILLTOPIC). Topics are
 * (pointer, length) views: never NUL-terminated.
 */
#ifndef SNBRIDGE_CODEC_TOPIC_H
#define SNBRIDGE_CODEC_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "codec/mqttsn.h"

/*
 * Check a topic name (what a PUBLISH or REGISTER names): not empty, at most
 * 65535 octets, no NUL, no '+' or '#'. Returns MQTTSN_OK or one of
 * MQTTSN_ERR_TOPIC_EMPTY, _LONG, _NUL, _WILDCARD.
 */
MQTTSN_MUST_CHECK int mqttsn_topic_name_check(const char *name, size_t len);

/*
 * Check a topic filter (what a SUBSCRIBE names): the name rules, except
 * that '+' may stand as a whole level and '#' as the whole last level.
 * Returns MQTTSN_OK or one of MQTTSN_ERR_TOPIC_EMPTY, _LONG, _NUL, _PLUS,
 * _HASH.
 */
MQTTSN_MUST_CHECK int mqttsn_topic_filter_check(const char *filter, size_t len);

/* True when the filter contains '+' or '#' (assumes a valid filter). */
bool mqttsn_topic_has_wildcard(const char *filter, size_t len);

/*
 * MQTT matching (3.1.1, 4.7.1-4.7.2): true when the valid name matches the
 * valid filter. '+' matches one level (also an empty one), '#' matches the
 * parent level and everything below it; a name starting with '$' is not
 * matched by a filter starting with '+' or '#'.
 */
bool mqttsn_topic_matches(const char *filter, size_t flen, const char *name, size_t nlen);

#endif
