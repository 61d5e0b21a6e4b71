#!/usr/bin/env bash
# snc_congestion.sh - the broker goes away while sn-pub --queue -q 2 drains.
# The message the bridge's MQTT client has in flight when the broker goes is
# not answered "congestion": that client finishes it after reconnecting, so
# the bridge stays silent, sn-pub retransmits it (DUP, same msg id), the
# bridge does not publish it again, and its PUBREC comes once the broker is
# back (new publishes while it is down would get PUBACK congestion, 5.3.10;
# the unit tests cover that). Then the queue drains. A persistent QoS 2
# mosquitto_sub (the broker keeps its session on disk) ends with every line
# exactly once, in order. Were the bridge to answer congestion for a message
# its own MQTT client still finishes after the broker is back, "no line
# arrived twice" would fail; the test says so.
. "$(dirname "$0")/lib.sh"

PUB=$BUILD_DIR/bin/sn-pub
[ -x "$PUB" ] || bail "$PUB is missing: build with make BUILD=$BUILD build"
N=2000
DATA=${SNBRIDGE_DATA:-$ROOT/../shared/data}/telemetry/seattle-weather-hourly-normals.csv
if [ -r "$DATA" ]; then
	tail -n "$N" "$DATA" >"$T/input.txt"
else
	note "missing $DATA: using $N generated lines instead"
	for ((i = 1; i <= N; i++)); do echo "line $i of $N: wind 3.$((i % 10))"; done >"$T/input.txt"
fi
echo "END" >"$T/end.txt"

broker_conf=("persistence true" "persistence_location $T/" "max_queued_messages 0")
start_broker "${broker_conf[@]}"
start_bridge

# A subscriber whose session the broker keeps across its restart.
SUB_ID=snc-cong-sub
stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -i "$SUB_ID" -c -q 2 -t snc/cong \
	-F '%p' >"$T/got.txt" 2>>"$T/sub.err" &
track $!
wait_grep "$T/mosquitto.log" "Sending SUBACK to $SUB_ID" 10 || bail "mosquitto_sub not subscribed"

"$PUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -i snc-cong -t snc/cong -q 2 --queue "$T/q" -l \
	-k 30 --rto 200 --timeout 30 -d <"$T/input.txt" >"$T/pub.out" 2>"$T/pub.err" &
PUB_PID=$!
track "$PUB_PID"

wait_lines "$T/got.txt" 400 30 || bail "400 lines did not reach the subscriber within 30 s"
stop_broker
note "broker stopped with $(wc -l <"$T/got.txt") lines at the subscriber"
# What sn-pub says from here on: the broker is down.
down_from=$(($(wc -l <"$T/pub.err") + 1))
# Its message in flight is retransmitted unanswered, or, when the drop came
# between two messages, the next one is answered congestion.
WAITING='^-> PUBLISH .*dup=1 \|^<- PUBACK .*rc=rejected-congestion'
waiting() { tail -n "+$down_from" "$T/pub.err" | grep -q "$WAITING"; }
check "sn-pub retransmits (or is told congestion) while the broker is down" \
	wait_until 10 waiting
did=$(tail -n "+$down_from" "$T/pub.err" | grep -m1 "$WAITING" |
	sed -n 's/.* msg_id=\([0-9]*\).*/\1/p')
check "sn-pub keeps its messages and waits (still running)" kill -0 "$PUB_PID"
start_broker "${broker_conf[@]}"
note "broker back with $(wc -l <"$T/got.txt") lines at the subscriber"

finished() { ! kill -0 "$PUB_PID" 2>/dev/null; }
wait_until 60 finished
wait "$PUB_PID"
rc=$?
untrack "$PUB_PID"
check "sn-pub drains the queue once the broker is back (exit 0, was $rc)" test "$rc" -eq 0
check "no message was reported refused" lacks "$T/pub.err" 'refused'
"$PUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -i snc-cong -t snc/cong -q 2 --queue "$T/q" -l \
	<"$T/end.txt" >/dev/null 2>"$T/pub-end.err"
check "the queue is empty after it: END goes at once" test $? -eq 0
wait_grep "$T/got.txt" '^END$' 30 || notok "END reached the subscriber within 30 s"

# The message waiting at the drop kept its msg id and got through.
check "the msg id waiting at the drop ($did) got its PUBREC" \
	grep -q "^<- PUBREC msg_id=$did\$" "$T/pub.err"

grep -v '^END$' "$T/got.txt" >"$T/lines.txt"
dups=$(sort "$T/lines.txt" | uniq -d | wc -l)
check "no line arrived twice ($dups did)" test "$dups" -eq 0
# The broker's log after its restart shows where a repeat came from: the
# bridge's own MQTT client finishing a message it had answered with
# congestion (its first word after reconnecting is a PUBREL, or a DUP
# PUBLISH), so that sn-pub, as told, sent it again too.
if [ "$dups" -ne 0 ]; then
	awk '/mosquitto version .* running/ { n++ } n >= 2' "$T/mosquitto.log" |
		grep -m1 'Received PUBLISH from snc-cong (\|Received PUBREL from snc-cong ' >"$T/first.log"
	if grep -q 'PUBREL\|(d1,' "$T/first.log"; then
		note "bridge bug: when the broker went away the bridge answered PUBACK congestion"
		note "for a QoS 2 message its libmosquitto still had in flight; after the broker"
		note "came back libmosquitto finished it, and sn-pub sent it again as told:"
		sed 's/^/#   /' "$T/first.log"
	fi
fi
# Lost and repeated apart: the first copy of each line, in order, must be the input.
awk '!seen[$0]++' "$T/lines.txt" >"$T/first.txt"
check "nothing lost: every line arrived ($(wc -l <"$T/first.txt") of $N different)" \
	test "$(wc -l <"$T/first.txt")" -eq "$N"
check "in order, byte for byte" cmp -s "$T/first.txt" "$T/input.txt"
if [ "$FAILED" -ne 0 ]; then
	SHOW_LINES=40 show "sn-pub trace" "$T/pub.err"
	diff "$T/first.txt" "$T/input.txt" | head -20 | sed 's/^/#   /'
fi
