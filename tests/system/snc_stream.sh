#!/usr/bin/env bash
# snc_stream.sh - sn-pub -l streams, as mosquitto_pub -l does and as a
# station fed by a sensor process needs: each line goes out as it arrives,
# without --queue and with it; and with --queue, lines that arrive while
# the gateway is unreachable are queued, and go, exactly once and in
# order, once it answers.
#
# The writer proves the streaming: it writes line N+1 only after line N
# reached a mosquitto_sub subscriber. An sn-pub that read all of its input
# before sending anything would never send line 1; the writer's deadline
# fails the test instead of hanging it.
. "$(dirname "$0")/lib.sh"

PUB=$BUILD_DIR/bin/sn-pub
[ -x "$PUB" ] || bail "$PUB is missing: build with make BUILD=$BUILD build"
N=5

start_broker
start_bridge
SUB_FORMAT='%t %p' sub_start "$T/sub.txt" 'snc/stream/#'

# What the subscriber got on TOPIC, one "payload|" after another.
got() {
	grep "^$1 " "$T/sub.txt" | sed "s|^$1 ||" | tr '\n' '|'
}

gone() { ! kill -0 "$1" 2>/dev/null; }

# slow_writer TOPIC: "reading 1" .. "reading N" on stdout, each once the
# one before reached the subscriber (10 s at most each); exit 1 when one
# did not.
slow_writer() {
	local topic=$1 i
	for ((i = 1; i <= N; i++)); do
		echo "reading $i"
		if ! wait_until 10 grep_count "$T/sub.txt" "^$topic reading $i\$" 1; then
			echo "# line $i did not reach the subscriber within 10 s" >&2
			return 1
		fi
	done
}

# stream_case NAME TOPIC sn-pub-args...: sn-pub -l reading a FIFO that
# slow_writer feeds.
CASE=0
stream_case() {
	local name=$1 topic=$2 pub_pid writer_pid rc want="" i
	shift 2
	CASE=$((CASE + 1))
	mkfifo "$T/fifo-$CASE"
	"$PUB" -h 127.0.0.1 -p "$BRIDGE_PORT" --rto 300 --timeout 10 -t "$topic" -l -d "$@" \
		<"$T/fifo-$CASE" 2>"$T/pub-$CASE.err" &
	pub_pid=$!
	track "$pub_pid"
	slow_writer "$topic" >"$T/fifo-$CASE" 2>"$T/writer-$CASE.err" &
	writer_pid=$!
	track "$writer_pid"
	wait "$writer_pid"
	rc=$?
	untrack "$writer_pid"
	if [ "$rc" -eq 0 ]; then
		ok "$name: each line reached the subscriber before the next was written"
	else
		notok "$name: each line reached the subscriber before the next was written"
		show "writer" "$T/writer-$CASE.err"
	fi
	wait_until 20 gone "$pub_pid"
	if gone "$pub_pid"; then
		wait "$pub_pid"
		rc=$?
	else
		rc=124
	fi
	untrack "$pub_pid"
	check "$name: sn-pub exits 0 at the end of its input (was $rc)" test "$rc" -eq 0
	for ((i = 1; i <= N; i++)); do want+="reading $i|"; done
	check "$name: every line once, in order" test "$(got "$topic")" = "$want"
	[ "$FAILED" -eq 0 ] || SHOW_LINES=40 show "sn-pub trace" "$T/pub-$CASE.err"
}

# ---------------------------------------------------------------- streaming

stream_case "-l" snc/stream/plain -q 1
stream_case "-l -q 0" snc/stream/zero -q 0
stream_case "-l --queue" snc/stream/queued -q 1 --queue "$T/q1"
check "... each line is on disk before it is sent" \
	test "$(grep -n -m1 '^sn-pub: queued message' "$T/pub-3.err" | cut -d: -f1)" \
	-lt "$(grep -n -m1 '^-> PUBLISH' "$T/pub-3.err" | cut -d: -f1)"
stream_case "-l --queue -q 2" snc/stream/exactly -q 2 --queue "$T/q2"

# ---------------------------------------------------------------- gateway down

# The bridge is down when sn-pub starts: lines are queued as they come,
# CONNECT goes on in the background, and once the bridge is up everything
# goes, exactly once, the lines that come later too.
stop_bridge || notok "sn-bridge exits 0 on SIGTERM"
mkfifo "$T/fifo-down"
"$PUB" -h 127.0.0.1 -p "$BRIDGE_PORT" --rto 100 --timeout 20 -t snc/stream/down -q 1 -l \
	--queue "$T/qd" -d <"$T/fifo-down" 2>"$T/down.err" &
PUB_PID=$!
track "$PUB_PID"
exec 7>"$T/fifo-down"
for i in 1 2 3; do echo "kept $i" >&7; done
check "gateway down: the lines are queued as they arrive" \
	wait_grep "$T/down.err" '^sn-pub: queued message .*, 3 in the queue$' 10
segs=$(cat "$T/qd"/seg-* 2>/dev/null | grep -a -o 'kept [123]' | wc -l)
check "... they are in the queue's files ($segs of 3)" test "$segs" -eq 3
check "... while CONNECT is retried in the background" \
	wait_grep "$T/down.err" '^-> CONNECT ' 10 2
check "... sn-pub keeps running" kill -0 "$PUB_PID"
check "... and nothing reached the subscriber" test -z "$(got snc/stream/down)"

# Not holding the FIFO open: sn-pub must see the end of its input.
start_bridge 7>&-
check "gateway back: the queued lines arrive" \
	wait_until 30 grep_count "$T/sub.txt" '^snc/stream/down kept 3$' 1
echo "kept 4" >&7
check "... and a line that comes later" \
	wait_until 10 grep_count "$T/sub.txt" '^snc/stream/down kept 4$' 1
# The bridge restarts in the middle: sn-pub connects again by itself.
stop_bridge || notok "sn-bridge exits 0 on SIGTERM"
echo "kept 5" >&7
start_bridge 7>&-
check "bridge restarted: sn-pub connects again and the next line arrives" \
	wait_until 30 grep_count "$T/sub.txt" '^snc/stream/down kept 5$' 1
exec 7>&-
wait_until 20 gone "$PUB_PID"
if gone "$PUB_PID"; then wait "$PUB_PID"; rc=$?; else rc=124; fi
untrack "$PUB_PID"
check "... sn-pub exits 0 at the end of its input with the queue empty (was $rc)" test "$rc" -eq 0
check "... every line exactly once, in order" \
	test "$(got snc/stream/down)" = "kept 1|kept 2|kept 3|kept 4|kept 5|"
check "... nothing is left in the queue" lacks "$T/down.err" 'kept in the queue'
[ "$FAILED" -eq 0 ] || SHOW_LINES=60 show "sn-pub trace" "$T/down.err"

# --timeout ends a run only once the input is over: with no gateway, a
# writer slower than --timeout keeps sn-pub queueing, and the end of the
# input then gives up after --timeout (3), the lines kept for the next run.
DEAD=$(freeport udp)
mkfifo "$T/fifo-dead"
"$PUB" -h 127.0.0.1 -p "$DEAD" --rto 100 --timeout 1 -t snc/stream/dead -q 1 -l \
	--queue "$T/qx" -d <"$T/fifo-dead" 2>"$T/dead.err" &
PUB_PID=$!
track "$PUB_PID"
exec 7>"$T/fifo-dead"
echo "early" >&7
wait_grep "$T/dead.err" '^sn-pub: queued message .*, 1 in the queue$' 10
# Longer than --timeout, waited for by the trace: CONNECT retries backing
# off from 100 ms reach 1.5 s of waiting after the fifth.
wait_grep "$T/dead.err" '^-> CONNECT ' 10 5
check "no gateway: sn-pub waits for more input past --timeout" kill -0 "$PUB_PID"
echo "late" >&7
exec 7>&-
wait_until 10 gone "$PUB_PID"
if gone "$PUB_PID"; then wait "$PUB_PID"; rc=$?; else rc=124; fi
untrack "$PUB_PID"
check "... and after the end of its input gives up after --timeout (exit 3, was $rc)" test "$rc" -eq 3
check "... keeping both lines for the next run" \
	grep -q '^sn-pub: 2 message(s) kept in the queue for the next run$' "$T/dead.err"
