#!/usr/bin/env bash
# Regenerates the fuzz seed corpora from hand-written octets: one valid
# MQTT-SN message of each type for fuzz_decode, and filter\0name pairs for
# fuzz_topic. The files are committed; run this only to change them.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
d=$here/fuzz_decode
t=$here/fuzz_topic
rm -rf "$d" "$t"
mkdir -p "$d" "$t"

# Writes a message from its octets after the Length field (printf escapes)
# and puts the right 1-octet Length in front.
seed() { # file body
	local body n
	body=$(mktemp)
	printf '%b' "$2" >"$body"
	n=$(($(wc -c <"$body") + 1))
	{ printf '%b' "\\x$(printf %02x "$n")"; cat "$body"; } >"$d/$1"
	rm -f "$body"
}

seed advertise      '\x00\x05\x03\x84'
seed searchgw       '\x01\x01'
seed gwinfo         '\x02\x05'
seed gwinfo-addr    '\x02\x05\x0a\x00\x00\x01'
seed connect        '\x04\x0c\x01\x00\x3cstation'
seed connack        '\x05\x00'
seed willtopicreq   '\x06'
seed willtopic      '\x07\x30a/b/c'
seed willtopic-del  '\x07'
seed willmsgreq     '\x08'
seed willmsg        '\x09offline'
seed register       '\x0a\x00\x00\x00\x01sens/t1'
seed regack         '\x0b\x00\x11\x00\x01\x00'
seed publish-qos0   '\x0c\x00\x00\x11\x00\x0021.5'
seed publish-qos1   '\x0c\x21\x00\x07\x00\x02a/+b/c'
seed publish-short  '\x0c\x52t1\x00\x03x/'
seed publish-qosm1  '\x0c\x61\x00\x07\x00\x00z'
seed puback         '\x0d\x00\x11\x00\x02\x00'
seed pubcomp        '\x0e\x00\x03'
seed pubrec         '\x0f\x00\x03'
seed pubrel         '\x10\x00\x03'
seed subscribe      '\x12\x20\x00\x04sens/+/t'
seed subscribe-pre  '\x12\x41\x00\x05\x00\x07'
seed subscribe-sh   '\x12\x02\x00\x06t1'
seed suback         '\x13\x20\x00\x00\x00\x04\x00'
seed unsubscribe    '\x14\x00\x00\x05sens/#'
seed unsuback       '\x15\x00\x05'
seed pingreq        '\x16'
seed pingreq-id     '\x16station'
seed pingresp       '\x17'
seed disconnect     '\x18'
seed disconnect-dur '\x18\x0e\x10'
seed willtopicupd   '\x1a\x10a/b'
seed willtopicresp  '\x1b\x00'
seed willmsgupd     '\x1cgone'
seed willmsgresp    '\x1d\x01'
# 0xFE's Length covers only its own header (5.5): written out by hand.
printf '\x05\xfe\x01\x00\x2a\x03\x01\x01' >"$d/encapsulated"
# A 300-octet PUBLISH with the 3-octet length header.
{ printf '\x01\x01\x2c\x0c\x20\x00\x07\x00\x09'; head -c 291 /dev/zero | tr '\0' 'A'; } >"$d/publish-long"

pair() { # file filter name
	printf '%s\0%s' "$2" "$3" >"$t/$1"
}
pair plus      'a/+/c'  'a/b/c'
pair hash      'a/#'    'a'
# shellcheck disable=SC2016 # a literal $, not an expansion
pair dollar    '#'      '$SYS/x'
# shellcheck disable=SC2016
pair dollar2   '$SYS/#' '$SYS/x'
pair empty     '+/+'    '/'
pair trailing  'a/b'    'a/b/'
pair badhash   'a/#/b'  'a/x/b'
pair badplus   'a+/b'   'a+/b'
