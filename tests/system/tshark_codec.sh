#!/usr/bin/env bash
# Cross-checks our MQTT-SN encoder against an independent decoder: tshark's
# mqttsn dissector. $BUILD/tests/sn-vectors encodes one message of every type
# (and the variants worth checking) and writes them as a text2pcap hexdump,
# plus a table of the field values we put in; text2pcap wraps each in a UDP
# datagram, tshark decodes them, and every field tshark shows is compared
# with ours. One line per packet:
#   ok - tshark <label>
#   not ok - tshark <label>: field <name> ours=<v> tshark=<v>
# and any packet tshark finds malformed or raises expert info on fails.
#
# Builds nothing: expects $BUILD/tests/sn-vectors (BUILD defaults to build).
# tshark only reads a file here: no capture, no network (-n), and HOME points
# into a temporary directory so no profile is read from or written to the
# real home.
#
# What tshark 4.0 cannot show, and is therefore not compared (found by
# experiment with 4.0.17 and its packet-mqtt-sn.c):
# - The dissector has no UDP port of its own (decode-as only), so it is
#   bound to the port we send to with -d udp.port==1883,mqttsn.
# - Flags: it shows DUP, QoS, Retain and TopicIdType only for PUBLISH; Will,
#   CleanSession and TopicIdType for CONNECT; for WILLTOPIC, WILLTOPICUPD,
#   SUBSCRIBE, UNSUBSCRIBE and SUBACK only TopicIdType. So the QoS and Retain
#   of WILLTOPIC(UPD), DUP and QoS of SUBSCRIBE and QoS of SUBACK are not
#   compared here (sn-vectors fills in only the bits tshark shows); the
#   codec's byte vectors in the unit tests have to cover them.
# - The empty WILLTOPIC (2 octets, deletes the Will, 6.4) is not among the
#   vectors: tshark reads a flags octet that is not there and calls the
#   packet malformed.
# - SUBSCRIBE and UNSUBSCRIBE: tshark has one text field "Topic Name/ID" for
#   all three topic id types, so a predefined id is compared as its two
#   octets read as text; the vector uses id 0x5157 ("QW"). An id with a
#   0x00 octet would show as an empty string with a warning.
# - A short topic name in PUBLISH is shown as the 16-bit Topic ID number
#   ("t1" = 0x7431 = 29745) and compared as that number.
# - QoS -1 is shown as the raw bits, 0x03 ("No Connection required").
# - Encapsulation (5.5): tshark reads the Wireless Node Id as one unsigned
#   integer, which works for 1 to 4 octets; the vectors use 2 and 1 octets.
#   An empty node id or one longer than 4 octets (both allowed by 5.5) it
#   flags as malformed, so those are not checked here. The inner message's
#   fields follow the outer's in the same columns, comma-joined.
# - Text fields (client id, topics, GwAdd, Will message, PUBLISH data) are
#   shown as ASCII, so the vectors use printable ASCII only (GwAdd included,
#   which on a real network is usually a binary address).
set -u
BUILD=${BUILD:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1

vectors=$BUILD/tests/sn-vectors
port=1883

for tool in tshark text2pcap; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "not ok - tshark: $tool is not installed (make deps)"
		exit 1
	fi
done
if [ ! -x "$vectors" ]; then
	echo "not ok - tshark: $vectors is not built (make BUILD=$BUILD build)"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp XDG_CONFIG_HOME=$tmp/.config

if ! "$vectors" "$tmp/vectors.txt" "$tmp/ours.tsv" 2>"$tmp/vectors.err"; then
	echo "not ok - tshark: sn-vectors failed: $(head -n 1 "$tmp/vectors.err")"
	exit 1
fi
if ! text2pcap -q -u 50000,"$port" "$tmp/vectors.txt" "$tmp/vectors.pcap" 2>"$tmp/text2pcap.err"; then
	echo "not ok - tshark: text2pcap failed: $(head -n 1 "$tmp/text2pcap.err")"
	exit 1
fi

# The columns after our label are the tshark fields, in sn-vectors' order.
fields=()
IFS=$'\t' read -r -a fields < <(head -n 1 "$tmp/ours.tsv" | cut -f 2-)
args=()
for f in "${fields[@]}"; do
	args+=(-e "$f")
done

if ! tshark -n -r "$tmp/vectors.pcap" -d "udp.port==$port,mqttsn" \
	-T fields -E header=n -E separator=/t -E occurrence=a -E aggregator=, \
	"${args[@]}" >"$tmp/tshark.tsv" 2>"$tmp/tshark.err"; then
	echo "not ok - tshark: tshark failed: $(grep -v 'Running as user' "$tmp/tshark.err" | head -n 1)"
	exit 1
fi

# Compare row by row, column by column. Our file has the label in front.
awk -F '\t' -v names="$(IFS=$'\t'; echo "${fields[*]}")" '
	BEGIN { ncols = split(names, name, "\t"); bad = 0 }
	FNR == NR { tshark[FNR] = $0; ntshark = FNR; next }
	FNR == 1 { next }    # our header
	{
		i = FNR - 1
		nours = i
		label = $1
		split(tshark[i], t, "\t")
		msg = ""
		for (c = 1; c <= ncols; c++) {
			ours = $(c + 1)
			theirs = t[c]
			if (ours == theirs)
				continue
			if (name[c] == "_ws.malformed" || name[c] == "_ws.expert")
				msg = msg "; tshark reports " name[c] ": " theirs
			else
				msg = msg "; field " name[c] " ours=" ours " tshark=" theirs
		}
		if (msg == "") {
			print "ok - tshark " label
		} else {
			print "not ok - tshark " label ": " substr(msg, 3)
			bad++
		}
	}
	END {
		if (ntshark != nours) {
			print "not ok - tshark packet count: ours=" nours " tshark=" ntshark
			bad++
		} else {
			print "ok - tshark packet count (" nours ")"
		}
		exit bad != 0
	}
' "$tmp/tshark.tsv" "$tmp/ours.tsv"
status=$?

# Belt and braces: tshark's own filter for anything it found odd.
odd=$(tshark -n -r "$tmp/vectors.pcap" -d "udp.port==$port,mqttsn" \
	-Y '_ws.malformed || _ws.expert || !mqttsn' -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
if [ -n "$odd" ]; then
	echo "not ok - tshark malformed, expert info or not MQTT-SN in frames: $odd"
	status=1
else
	echo "ok - tshark no malformed packets or expert info"
fi
exit "$status"
