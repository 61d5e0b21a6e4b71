#!/usr/bin/env bash
# snc_tshark.sh - tshark decodes every packet the station's tools send and
# receive, without a malformed-packet or warning expert note. A capture on
# loopback needs privileges that a test cannot count on, so the tools talk
# to the real sn-bridge through sn-dump's relay, which writes the pcap
# (-w): sn-pub at every QoS, on every kind of topic, with a Will, a
# 3-octet length, QoS -1, DUP retransmissions over a slow relay; sn-sub on
# filters, predefined ids and short names at QoS 0-2, keep-alive, sleep.
# tshark 4.0's mqttsn dissector has no port of its own: decode-as.
. "$(dirname "$0")/lib.sh"

PUB=$BUILD_DIR/bin/sn-pub
SUB=$BUILD_DIR/bin/sn-sub
DUMP=$BUILD_DIR/bin/sn-dump
command -v tshark >/dev/null 2>&1 || bail "tshark is not installed (make deps)"
# tshark reads a file only; no profile from the real home.
export HOME=$T XDG_CONFIG_HOME=$T/.config

printf '3001 snc/ts/predef\n' >"$T/predefined.conf"
start_broker
start_bridge --predefined "$T/predefined.conf"
SUB_FORMAT='%t %q %p' sub_start "$T/seen.txt" 'snc/ts/#' 'ts'

listening() { grep -q ":$(printf '%04X' "$1") " /proc/net/udp /proc/net/udp6 2>/dev/null; }
relay_start() { # PORT PCAP [sn-dump options]: a relay to the bridge writing PCAP
	local port=$1 pcap=$2
	shift 2
	"$DUMP" -h 127.0.0.1 -p "$port" -F "127.0.0.1:$BRIDGE_PORT" -q -w "$pcap" "$@" \
		2>>"$T/relay.err" &
	RELAY_PID=$!
	track "$RELAY_PID"
	wait_until 10 listening "$port" || bail "sn-dump did not listen on $port"
}
relay_stop() {
	kill -TERM "$RELAY_PID"
	wait "$RELAY_PID"
	untrack "$RELAY_PID"
}

R=$(freeport udp)
relay_start "$R" "$T/tools.pcap"
snpub() { "$PUB" -h 127.0.0.1 -p "$R" --rto 500 --timeout 10 "$@"; }

# ---------------------------------------------------------------- sn-pub

snpub -t snc/ts/q0 -m zero
snpub -t snc/ts/q1 -q 1 -m one
snpub -t snc/ts/q2 -q 2 -m two -r
snpub -T 3001 -q 1 -m predefined
snpub --short ts -q 2 -m short
snpub -q -1 --short ts -m minus-one
snpub -q -1 -T 3001 -m minus-one-id
snpub -t snc/ts/empty -q 1 -n
head -c 700 /dev/zero | tr '\0' 'y' | snpub -t snc/ts/long -q 1 -s
snpub -t snc/ts/will -q 1 -m with-will -k 5 --will-topic snc/ts/lastwill --will-payload bye \
	--will-qos 1 --will-retain
printf 'a\nb\nc\n' | snpub -t snc/ts/lines -q 2 -l --window 2
snpub -T 4242 -q 1 -m refused 2>/dev/null # a PUBACK with a refusal
check "the publishes went through the relay" wait_until 10 grep_count "$T/seen.txt" '^snc/ts/lines 2 c$' 1

# ---------------------------------------------------------------- sn-sub

declare -A SUB_PIDS=()
sub_bg() { # NAME N sn-sub-args: N SUBACKs awaited
	local name=$1 n=$2
	shift 2
	"$SUB" -h 127.0.0.1 -p "$R" --rto 500 --timeout 10 -d "$@" >"$T/$name.out" 2>"$T/$name.err" &
	SUB_PIDS[$name]=$!
	track "$!"
	wait_grep "$T/$name.err" '^<- SUBACK' 10 "$n" || bail "sn-sub $name not subscribed"
}
sub_end() {
	local pid=${SUB_PIDS[$1]}
	gone() { ! kill -0 "$pid" 2>/dev/null; }
	wait_until 10 gone || kill -TERM "$pid"
	wait "$pid"
	untrack "$pid"
}
sub_bg s1 3 -t 'snc/ts/in/+' -T 3001 --short tz -q 2 -C 3 -v
pub snc/ts/in/x to-wildcard -q 2
pub snc/ts/predef to-predefined -q 1
pub tz to-short
sub_end s1
check "sn-sub got all three through the relay" test "$(wc -l <"$T/s1.out")" -eq 3
sub_bg s2 1 -t snc/ts/q1 -q 1 -C 1 -k 1
check "keep-alive PINGREQs went" wait_grep "$T/s2.err" '^<- PINGRESP' 10 2
pub snc/ts/q1 at-one -q 1
sub_end s2
sub_bg s3 1 -t snc/ts/sleep -q 1 -C 1 --sleep 1 -i snc-ts-sleeper
wait_grep "$T/s3.err" '^<- DISCONNECT' 10 || notok "the sleep was agreed"
pub snc/ts/sleep while-asleep -q 1
sub_end s3
check "the sleeper woke (PINGREQ with its id) and got its message" \
	test "$(cat "$T/s3.out")" = "while-asleep"
relay_stop

# ---------------------------------------------------------------- resumed

# A slow relay; sn-pub --queue is killed once its PUBLISH is out, and the
# next run sends it again with DUP and the same msg id.
R2=$(freeport udp)
relay_start "$R2" "$T/slow.pcap" --delay 300
qpub=("$PUB" -h 127.0.0.1 -p "$R2" -i snc-ts-resume --rto 2000 --timeout 20 --queue "$T/q"
	-t snc/ts/dup -q 2 -d)
"${qpub[@]}" -m again 2>"$T/dup1.err" &
QPID=$!
track "$QPID"
wait_grep "$T/dup1.err" '^-> PUBLISH' 10 || notok "the first run sent its PUBLISH"
kill -KILL "$QPID"
wait "$QPID" 2>/dev/null
untrack "$QPID"
"${qpub[@]}" -l </dev/null 2>"$T/dup2.err"
check "the next run resumes it with DUP" grep -q '^-> PUBLISH .*dup=1' "$T/dup2.err"
check "... and it arrives" wait_grep "$T/seen.txt" '^snc/ts/dup 2 again$' 10
relay_stop

# ---------------------------------------------------------------- tshark

for cap in tools slow; do
	f=$T/$cap.pcap
	port=$R
	[ "$cap" = slow ] && port=$R2
	# Checksums checked too: a bad one is a warning (the capture's IP and
	# UDP headers are sn-dump's own).
	ts=(tshark -n -r "$f" -d "udp.port==$port,mqttsn" -o ip.check_checksum:TRUE
		-o udp.check_checksum:TRUE)
	total=$("${ts[@]}" 2>/dev/null | wc -l)
	decoded=$("${ts[@]}" -Y mqttsn 2>/dev/null | wc -l)
	bad=$("${ts[@]}" -Y '_ws.malformed || _ws.expert.severity >= warning' 2>&1 |
		grep -v 'Running as user')
	check "$cap.pcap: tshark reads it ($total packets)" test "$total" -gt 0
	check "$cap.pcap: every packet decoded as MQTT-SN ($decoded of $total)" test "$decoded" -eq "$total"
	check "$cap.pcap: no malformed packet, no warning" test -z "$bad"
	[ -z "$bad" ] || echo "$bad" | head -20 | sed 's/^/#   /'
	# The message types the tools sent (to the relay's port), by tshark's reading.
	"${ts[@]}" -Y "udp.dstport==$port" -T fields -e mqttsn.msg.type 2>/dev/null |
		tr ',' '\n' | sort -u >"$T/$cap.types"
done
# By number (5.2.2): CONNECT 04, WILLTOPIC 07, WILLMSG 09, REGISTER 0a,
# REGACK 0b, PUBLISH 0c, PUBACK 0d, PUBCOMP 0e, PUBREC 0f, PUBREL 10,
# SUBSCRIBE 12, PINGREQ 16, DISCONNECT 18.
for t in 0x04 0x07 0x09 0x0a 0x0b 0x0c 0x0d 0x0e 0x0f 0x10 0x12 0x16 0x18; do
	check "tshark saw the tools send message type $t" grep -qx "$t" "$T/tools.types"
done
dups=$(tshark -n -r "$T/slow.pcap" -d "udp.port==$R2,mqttsn" -Y 'mqttsn.dup == 1' 2>/dev/null | wc -l)
check "tshark decodes the DUP retransmissions ($dups)" test "$dups" -ge 1
