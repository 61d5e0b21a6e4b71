#!/usr/bin/env bash
# snc_crash.sh - exactly once across crashes (MQTT-SN 1.2, 6.6): sn-pub
# --queue -q 2 -l drains 2000 lines of the weather corpus through the real
# sn-bridge and is killed with SIGKILL five times, at moments chosen by
# progress (after N lines reached the subscriber), each time restarted on
# the same queue with nothing new to read. A QoS 2 mosquitto_sub must end
# with every line exactly once, in order: nothing the queue accepted is
# lost, nothing is repeated, although the kills land between a PUBLISH and
# its PUBREC, between PUBREC and PUBCOMP, and between the acknowledgement
# and the record of it.
. "$(dirname "$0")/lib.sh"

PUB=$BUILD_DIR/bin/sn-pub
[ -x "$PUB" ] || bail "$PUB is missing: build with make BUILD=$BUILD build"
N=2000
KILLS=5
DATA=${SNBRIDGE_DATA:-$ROOT/../shared/data}/telemetry/seattle-weather-hourly-normals.csv
if [ -r "$DATA" ]; then
	head -n "$N" "$DATA" >"$T/input.txt"
else
	note "missing $DATA: using $N generated lines instead"
	for ((i = 1; i <= N; i++)); do echo "line $i of $N: pressure 1016.$((i % 10))"; done >"$T/input.txt"
fi
echo "END" >"$T/end.txt"

start_broker
start_bridge
SUB_FORMAT='%p' sub_start "$T/got.txt" 'snc/crash'

pub_args=(-h 127.0.0.1 -p "$BRIDGE_PORT" -i snc-crash -t snc/crash -q 2 --queue "$T/q" -l
	-k 2 --rto 500 --timeout 30 -d)
RUNS=0
run_bg() { # input: sn-pub in the background, its trace in $T/pub-RUN.err
	RUNS=$((RUNS + 1))
	"$PUB" "${pub_args[@]}" <"$1" >"$T/pub-$RUNS.out" 2>"$T/pub-$RUNS.err" &
	PUB_PID=$!
	track "$PUB_PID"
}

got_or_gone() { # N: the subscriber has N lines, or sn-pub has exited
	lines_at_least "$T/got.txt" "$1" || ! kill -0 "$PUB_PID" 2>/dev/null
}

# Every line goes into the queue before the first connection; the kills
# come once part of it has reached the subscriber. After the third, the
# restart waits until the bridge has declared the client lost (keep-alive
# 2 s): the session, and its QoS 2 state, must outlive that too.
killed=0
run_bg "$T/input.txt"
for ((k = 1; k <= KILLS; k++)); do
	at=$((N * k / (KILLS + 2) + RANDOM % 50))
	wait_until 60 got_or_gone "$at"
	if kill -KILL "$PUB_PID" 2>/dev/null; then
		killed=$((killed + 1))
		note "kill $k: SIGKILL with $(wc -l <"$T/got.txt") lines at the subscriber"
	else
		note "kill $k: sn-pub had already finished"
	fi
	wait "$PUB_PID" 2>/dev/null
	untrack "$PUB_PID"
	if [ "$k" -eq 3 ]; then
		check "the bridge declares the killed client lost" \
			wait_grep "$BRIDGE_LOG" 'client snc-crash lost' 10
	fi
	run_bg /dev/null
done
check "$KILLS kills landed while the queue drained" test "$killed" -eq "$KILLS"

# The last run finishes the queue; END is queued after everything else.
wait "$PUB_PID"
rc=$?
untrack "$PUB_PID"
check "the last interrupted run finishes the queue (exit 0, was $rc)" test "$rc" -eq 0
"$PUB" "${pub_args[@]}" <"$T/end.txt" >"$T/pub-end.out" 2>"$T/pub-end.err"
check "a run after that finds the queue empty and sends END" test $? -eq 0
wait_grep "$T/got.txt" '^END$' 30 || notok "END reached the subscriber within 30 s"

# QoS 2 from one client arrives in order, so everything is in by END.
grep -v '^END$' "$T/got.txt" >"$T/lines.txt"
dups=$(sort "$T/lines.txt" | uniq -d | wc -l)
check "no line arrived twice ($dups did)" test "$dups" -eq 0
check "every line arrived ($(wc -l <"$T/lines.txt") of $N)" test "$(wc -l <"$T/lines.txt")" -eq "$N"
check "in order, byte for byte" cmp -s "$T/lines.txt" "$T/input.txt"

# The restarts did resume messages in flight, under the same client id and
# without CleanSession, with the same msg ids.
resumed=$(cat "$T"/pub-*.err | grep -c 'in flight (.* at QoS 2) resumed as snc-crash')
check "restarts found QoS 2 messages in flight and resumed them ($resumed)" test "$resumed" -ge 1
cat "$T"/pub-*.err >"$T/all.err"
check "every run connects without CleanSession (the queue holds QoS 2 messages)" \
	lacks "$T/all.err" '^-> CONNECT .*clean=1'

# Each resumed run starts where the one before stopped: a PUBREL for a msg
# id whose PUBREC the killed run had received, or the PUBLISH again with
# DUP and the msg id the killed run had sent the same data under (or had
# only recorded: a kill between the record and the send).
first_resumed() { # trace: the first PUBLISH or PUBREL line sent
	grep -m1 -- '^-> \(PUBLISH\|PUBREL\) ' "$1"
}
msg_id_of() {
	sed -n 's/.* msg_id=\([0-9]*\).*/\1/p'
}
same=0 resumed_runs=0
for ((r = 2; r <= RUNS; r++)); do
	grep -q 'resumed as' "$T/pub-$r.err" || continue
	resumed_runs=$((resumed_runs + 1))
	line=$(first_resumed "$T/pub-$r.err")
	id=$(echo "$line" | msg_id_of)
	prev=$T/pub-$((r - 1)).err
	case "$line" in
	"-> PUBREL "*)
		grep -q -- "^<- PUBREC msg_id=$id\$" "$prev" && same=$((same + 1)) ;;
	*"dup=1"*)
		data=${line#* data=}
		sent=$(grep -- "^-> PUBLISH .* msg_id=$id " "$prev" | tail -n 1)
		if [ -z "$sent" ] || [ "${sent#* data=}" = "$data" ]; then same=$((same + 1)); fi ;;
	esac
	[ "$same" -eq "$resumed_runs" ] || note "run $r resumed with: $line"
done
check "each resumed run goes on with the msg id and message the killed run had in flight ($same of $resumed_runs)" \
	test "$same" -eq "$resumed_runs"
if [ "$FAILED" -ne 0 ]; then
	for f in "$T"/pub-*.err; do SHOW_LINES=30 show "sn-pub trace" "$f"; done
	diff "$T/lines.txt" "$T/input.txt" | head -20 | sed 's/^/#   /'
fi
