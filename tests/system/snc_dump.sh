#!/usr/bin/env bash
# snc_dump.sh - sn-dump: listening on a UDP port (what a client sends to
# it), relaying between clients and the real sn-bridge (both directions),
# writing what it hears as a pcap capture and reading captures back; its
# exit codes (0 done, 1 an error, 2 bad arguments).
. "$(dirname "$0")/lib.sh"

DUMP=$BUILD_DIR/bin/sn-dump
PUB=$BUILD_DIR/bin/sn-pub
[ -x "$DUMP" ] || bail "$DUMP is missing: build with make BUILD=$BUILD build"

# dump_bg NAME sn-dump-args...: in the background, output in $T/NAME.out;
# returns once it listens (a datagram to its port is no longer refused is
# not observable, so: once the process has bound, seen in /proc).
declare -A DUMP_PIDS=()
listening() { # PORT: something is bound to the UDP port
	grep -q ":$(printf '%04X' "$1") " /proc/net/udp /proc/net/udp6 2>/dev/null
}
dump_bg() {
	local name=$1 port=$2
	shift 2
	"$DUMP" -h 127.0.0.1 -p "$port" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	DUMP_PIDS[$name]=$!
	track "$!"
	wait_until 10 listening "$port" || bail "sn-dump $name did not listen on $port"
}
dump_end() { # NAME: wait for it to exit (10 s at most); its status
	local pid=${DUMP_PIDS[$1]} rc
	gone() { ! kill -0 "$pid" 2>/dev/null; }
	wait_until 10 gone || kill -TERM "$pid"
	wait "$pid"
	rc=$?
	untrack "$pid"
	return "$rc"
}

# ---------------------------------------------------------------- listening

P1=$(freeport udp)
dump_bg listen "$P1" -c 2 -w "$T/listen.pcap"
"$PUB" -h 127.0.0.1 -p "$P1" -q -1 --short ab -m first-datagram
"$PUB" -h 127.0.0.1 -p "$P1" -q -1 -T 7 -m second
dump_end listen
check "listening: exit 0 after -c 2" test $? -eq 0
check "... one decoded line per datagram" test "$(wc -l <"$T/listen.out")" -eq 2
check "... TIME SOURCE > DESTINATION SUMMARY" \
	grep -q "^[0-9:.]* 127.0.0.1:[0-9]* > 127.0.0.1:$P1 PUBLISH .*topic_id_type=short.*data=\"first-datagram\"" "$T/listen.out"
check "... the second" grep -q 'PUBLISH .*topic_id_type=predefined topic_id=7 .*data="second"' "$T/listen.out"
"$DUMP" -r "$T/listen.pcap" >"$T/listen-read.out"
check "-w then -r: the capture reads back as the same packets" \
	diff <(cut -d' ' -f2- "$T/listen.out") <(cut -d' ' -f2- "$T/listen-read.out")

start=$(date +%s%N)
"$DUMP" -h 127.0.0.1 -p "$(freeport udp)" -W 1 >"$T/quiet.out"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "-W 1 with nothing heard: exit 0 after the time ($ms ms)" test "$rc" -eq 0 -a "$ms" -ge 900

P2=$(freeport udp)
dump_bg hex "$P2" -c 1 -x
"$PUB" -h 127.0.0.1 -p "$P2" -q -1 --short ab -m hi
dump_end hex
# PUBLISH, QoS -1, short topic "ab", msg id 0, "hi": 09 0c 62 61 62 00 00 68 69
check "-x: the octets too" grep -q '09 0c 62 61 62 00 00 68 69' "$T/hex.out"

# A datagram that is not MQTT-SN is shown as such, and the dump goes on.
P3=$(freeport udp)
dump_bg junk "$P3" -c 2
printf '\001' >/dev/udp/127.0.0.1/"$P3"
"$PUB" -h 127.0.0.1 -p "$P3" -q -1 --short ab -m after-junk
dump_end junk
check "a malformed datagram is shown as malformed" grep -q 'malformed (1 octets)' "$T/junk.out"
check "... and the next one decodes" grep -q 'data="after-junk"' "$T/junk.out"

# ---------------------------------------------------------------- relaying

start_broker
start_bridge
SUB_FORMAT='%t %q %p' sub_start "$T/sub.txt" 'snc/dump/#'
R=$(freeport udp)
dump_bg relay "$R" -F "127.0.0.1:$BRIDGE_PORT" -w "$T/relay.pcap"
"$PUB" -h 127.0.0.1 -p "$R" -t snc/dump/relayed -q 2 -m through-the-relay --rto 500 --timeout 10
check "-F: a client talks to the bridge through the relay (exit 0)" test $? -eq 0
check "... the message reached the subscriber" \
	wait_grep "$T/sub.txt" '^snc/dump/relayed 2 through-the-relay$' 10
for type in CONNECT REGISTER PUBLISH PUBREL DISCONNECT; do
	check "... the relay shows $type from the client" \
		grep -q "127.0.0.1:[0-9]* > 127.0.0.1:$R $type" "$T/relay.out"
done
for type in CONNACK REGACK PUBREC PUBCOMP DISCONNECT; do
	check "... and $type from the bridge" \
		grep -q "127.0.0.1:$R > 127.0.0.1:[0-9]* $type" "$T/relay.out"
done
kill -TERM "${DUMP_PIDS[relay]}"
dump_end relay
check "SIGTERM ends the relay with exit 0" test $? -eq 0
"$DUMP" -r "$T/relay.pcap" -p "$R" >"$T/relay-read.out"
check "the relay's capture reads back as what it showed" \
	diff <(cut -d' ' -f2- "$T/relay.out") <(cut -d' ' -f2- "$T/relay-read.out")
"$DUMP" -r "$T/relay.pcap" -p 1 >"$T/none.out"
check "-r -p: a port filter that matches nothing shows nothing" test ! -s "$T/none.out"

# Many clients at once each get their own way to the bridge.
R2=$(freeport udp)
dump_bg many "$R2" -F "127.0.0.1:$BRIDGE_PORT" -q -w "$T/many.pcap"
for i in 1 2 3 4 5; do
	"$PUB" -h 127.0.0.1 -p "$R2" -i "snc-dump-$i" -t snc/dump/many -q 1 -m "from-$i" --rto 500 &
	track $!
done
check "five clients at once through one relay" \
	wait_until 15 grep_count "$T/sub.txt" '^snc/dump/many 1 from-' 5
check "-q: nothing printed" test ! -s "$T/many.out"
check "... the bridge saw five client addresses" \
	test "$("$DUMP" -r "$T/many.pcap" | grep ' CONNECT ' | cut -d' ' -f2 | sort -u | wc -l)" -eq 5

# --delay: each datagram held that long each way.
R3=$(freeport udp)
dump_bg slow "$R3" -F "127.0.0.1:$BRIDGE_PORT" --delay 300
start=$(date +%s%N)
"$PUB" -h 127.0.0.1 -p "$R3" -t snc/dump/slow -q 1 -m slow --rto 2000
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
# CONNECT, REGISTER, PUBLISH, DISCONNECT: four round trips of 600 ms.
check "--delay 300: four round trips take at least 2.4 s ($ms ms, exit $rc)" \
	test "$rc" -eq 0 -a "$ms" -ge 2400

# ---------------------------------------------------------------- exit codes

expect_exit() { # CODE NAME sn-dump-args...
	local want=$1 name=$2 rc
	shift 2
	"$DUMP" "$@" >/dev/null 2>"$T/exit.err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name: exit $want"; else
		notok "$name: exit $want, was $rc"
		show "stderr" "$T/exit.err"
	fi
}
expect_exit 0 "--help" --help
expect_exit 2 "--delay without -F" --delay 10
expect_exit 2 "-r with -w" -r "$T/relay.pcap" -w "$T/x.pcap"
expect_exit 2 "-F without a port" -F 127.0.0.1
expect_exit 2 "-q without -w or -F" -q
expect_exit 2 "-c 0" -c 0
expect_exit 2 "an unknown option" --bogus
expect_exit 1 "-r of a missing file" -r "$T/missing.pcap"
printf 'not a capture at all, no' >"$T/bad.pcap"
expect_exit 1 "-r of something that is not pcap" -r "$T/bad.pcap"
expect_exit 1 "listening on a port taken" -h 127.0.0.1 -p "$BRIDGE_PORT" -W 1
