#!/usr/bin/env bash
# snc_pub.sh - sn-pub against the real sn-bridge and mosquitto, every
# option checked where it shows: at a mosquitto_sub subscriber, in the
# bridge's log, or in sn-pub's own trace; and its exit codes (0 done,
# 1 refused by the gateway, 2 bad arguments, 3 timed out).
. "$(dirname "$0")/lib.sh"

PUB=$BUILD_DIR/bin/sn-pub
[ -x "$PUB" ] || bail "$PUB is missing: build with make BUILD=$BUILD build"

printf '1001 snc/pub/predef\n' >"$T/predefined.conf"
start_broker
start_bridge --predefined "$T/predefined.conf"
SUB_FORMAT='%t %q %r %p' sub_start "$T/sub.txt" 'snc/pub/#' 'ab'

# sn-pub towards the bridge, quick to give up when nothing answers.
pub() {
	"$PUB" -h 127.0.0.1 -p "$BRIDGE_PORT" --rto 300 --timeout 10 "$@"
}
# check_pub NAME EXPECTED-LINE sn-pub-args...: exit 0 and the line at the subscriber.
check_pub() {
	local name=$1 line=$2
	shift 2
	if pub "$@" && wait_until 10 grep_count "$T/sub.txt" "^$line\$" 1; then ok "$name"; else notok "$name"; fi
}

# ---------------------------------------------------------------- what is sent

check_pub "-t -m: a named topic at QoS 0 (the default)" "snc/pub/m 0 0 hello" -t snc/pub/m -m hello
check_pub "-q 1" "snc/pub/q 1 0 at-one" -t snc/pub/q -q 1 -m at-one
check_pub "-q 2" "snc/pub/q 2 0 at-two" -t snc/pub/q -q 2 -m at-two
check_pub "-q 0 explicitly" "snc/pub/q 0 0 at-zero" -t snc/pub/q -q 0 -m at-zero
check_pub "-T: a predefined topic id" "snc/pub/predef 1 0 by-id" -T 1001 -q 1 -m by-id
check_pub "--short: a two-character topic" "ab 1 0 short-name" --short ab -q 1 -m short-name
check_pub "-n: an empty message" "snc/pub/n 1 0 " -t snc/pub/n -q 1 -n

long=$(head -c 900 /dev/zero | tr '\0' 'x')
printf '%s' "$long" >"$T/long.txt"
check_pub "-f: a file as one message (900 octets)" "snc/pub/f 1 0 $long" -t snc/pub/f -q 1 -f "$T/long.txt"

printf 'one two\nthree' | pub -t snc/pub/s -q 1 -s
check "-s: all of stdin as one message" \
	wait_until 10 grep_count "$T/sub.txt" '^snc/pub/s 1 0 one two$' 1
check "... newline and all (the subscriber prints it on two lines)" \
	grep -A1 '^snc/pub/s 1 0 one two$' "$T/sub.txt" | grep -q '^three$'
check "... one message, not two" test "$(grep -c '^snc/pub/s ' "$T/sub.txt")" -eq 1

printf 'l1\nl2\n\nl4' | pub -t snc/pub/l -q 1 -l
check "-l: one message per line, the last without a newline too" \
	wait_until 10 grep_count "$T/sub.txt" '^snc/pub/l 1 0 l4$' 1
check "... in order, an empty line an empty message" \
	test "$(grep '^snc/pub/l ' "$T/sub.txt" | tr '\n' '|')" = "snc/pub/l 1 0 l1|snc/pub/l 1 0 l2|snc/pub/l 1 0 |snc/pub/l 1 0 l4|"

pub -t snc/pub/kept -q 1 -r -m retained-value
check "-r: a later subscriber gets the message as retained" \
	test "$(mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -t snc/pub/kept -C 1 -W 5 -F '%r %p')" = "1 retained-value"

pub -q -1 --short ab -m no-connection -d 2>"$T/m1.err"
check "-q -1: published without a connection" \
	wait_until 10 grep_count "$T/sub.txt" '^ab 0 0 no-connection$' 1
check "... no CONNECT was sent" lacks "$T/m1.err" '^-> CONNECT'
check_pub "-q -1 with -T" "snc/pub/predef 0 0 m1-by-id" -q -1 -T 1001 -m m1-by-id

# ---------------------------------------------------------------- the session

check_pub "-i: the client id" "snc/pub/i 0 0 x" -i snc-pub-named -t snc/pub/i -m x
check "... the bridge knows the client by it" grep -q 'client snc-pub-named connected' "$BRIDGE_LOG"
check_pub "-k: the keep-alive period" "snc/pub/k 0 0 x" -i snc-pub-k -k 77 -t snc/pub/k -m x
check "... the bridge got 77 s" grep -q 'client snc-pub-k connected (keep-alive 77 s' "$BRIDGE_LOG"

pub -t snc/pub/d -m traced -d 2>"$T/d.err"
check "-d: every packet sent and received on stderr" \
	grep -q '^-> CONNECT .*client_id=' "$T/d.err"
check "... both ways" grep -q '^<- CONNACK rc=accepted' "$T/d.err"
check "... to the end" grep -q '^<- DISCONNECT' "$T/d.err"

check "-h and -p: the gateway's address" pub -h 127.0.0.1 -p "$BRIDGE_PORT" -t snc/pub/h -m x

# The Will: sn-pub -l stays connected while it waits for input (keep-alive
# 1 s, so PINGREQs go), then dies without a word; the bridge publishes the
# Will once the keep-alive runs out.
mkfifo "$T/lines"
"$PUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -i snc-pub-will -k 1 -q 1 -t snc/pub/alive -l -d \
	--will-topic snc/pub/will --will-payload gone --will-qos 1 --will-retain \
	<"$T/lines" 2>"$T/will.err" &
WILL_PID=$!
track "$WILL_PID"
exec 7>"$T/lines"
check "--will-*: the Will goes with CONNECT (WILLTOPIC, WILLMSG)" \
	wait_grep "$T/will.err" '^-> WILLMSG .*gone' 10
check "-l keeps the connection alive while it waits for input (PINGREQ)" \
	wait_grep "$T/will.err" '^<- PINGRESP' 10 3
echo "still here" >&7
check "... and publishes the line that comes later" \
	wait_until 10 grep_count "$T/sub.txt" '^snc/pub/alive 1 0 still here$' 1
check "... the bridge never lost it meanwhile" lacks "$BRIDGE_LOG" 'client snc-pub-will lost'
kill -KILL "$WILL_PID"
wait "$WILL_PID" 2>/dev/null
untrack "$WILL_PID"
exec 7>&-
check "the bridge publishes the Will after the keep-alive (--will-qos 1)" \
	wait_until 10 grep_count "$T/sub.txt" '^snc/pub/will 1 0 gone$' 1
check "--will-retain: the Will is retained" \
	test "$(mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -t snc/pub/will -q 2 -C 1 -W 5 -F '%r %q %p')" = "1 1 gone"

# ---------------------------------------------------------------- --queue

DEAD=$(freeport udp)
"$PUB" -h 127.0.0.1 -p "$DEAD" --rto 100 --timeout 1 --queue "$T/q" -t snc/pub/queued -q 1 \
	-m first -d 2>"$T/q1.err"
rc=$?
check "--queue with no gateway: timed out (exit 3, was $rc)" test "$rc" -eq 3
check "... the message is kept for the next run" grep -q '1 message(s) kept in the queue' "$T/q1.err"
"$PUB" -h 127.0.0.1 -p "$DEAD" --rto 100 --timeout 1 --queue "$T/q" -t snc/pub/queued -q 1 \
	-m second 2>/dev/null
pub --queue "$T/q" -t snc/pub/queued -q 1 -l -d </dev/null 2>"$T/q3.err"
check "--queue: the next run with a gateway sends what was kept (exit 0)" test $? -eq 0
first_id=$(grep -m1 -o 'client_id="[^"]*"' "$T/q1.err")
check "... as the client the queue first sent as ($first_id), without -i" \
	grep -q "^-> CONNECT .*$first_id" "$T/q3.err"
check "... with CleanSession: the queue holds no QoS 2 message" \
	grep -q '^-> CONNECT .*clean=1' "$T/q3.err"
check "... both messages arrived" \
	wait_until 10 grep_count "$T/sub.txt" '^snc/pub/queued 1 0 second$' 1
check "... in order" \
	test "$(grep '^snc/pub/queued ' "$T/sub.txt" | tr '\n' '|')" = "snc/pub/queued 1 0 first|snc/pub/queued 1 0 second|"
pub --queue "$T/q" -t snc/pub/queued -q 1 -l </dev/null
check "... and nothing twice (the queue is empty now)" \
	test "$(grep -c '^snc/pub/queued ' "$T/sub.txt")" -eq 2

# ---------------------------------------------------------------- exit codes

expect_exit() { # CODE NAME sn-pub-args...
	local want=$1 name=$2 rc
	shift 2
	"$PUB" "$@" >/dev/null 2>"$T/exit.err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name: exit $want"; else
		notok "$name: exit $want, was $rc"
		show "stderr" "$T/exit.err"
	fi
}
expect_exit 0 "--help" --help
expect_exit 2 "no topic" -m x
expect_exit 2 "no message" -t a
expect_exit 2 "two topics" -t a -T 5 -m x
expect_exit 2 "two message sources" -t a -m x -n
expect_exit 2 "a wildcard in the topic" -t 'a/#' -m x
expect_exit 2 "-q 3" -t a -q 3 -m x
expect_exit 2 "-q -1 with a topic name" -t a -q -1 -m x
expect_exit 2 "--short of three characters" --short abc -m x
expect_exit 2 "-T 0" -T 0 -m x
expect_exit 2 "a 24-character client id" -i 123456789012345678901234 -t a -m x
expect_exit 2 "--will-payload without --will-topic" --will-payload x -t a -m x
expect_exit 2 "an unknown option" --bogus -t a -m x
expect_exit 2 "an extra argument" -t a -m x extra
expect_exit 1 "refused: a predefined id the bridge does not know" \
	-h 127.0.0.1 -p "$BRIDGE_PORT" -T 4242 -q 1 -m x --rto 300
check "... it says so" grep -q 'refused by the gateway (return code 2)' "$T/exit.err"
expect_exit 3 "timed out: nobody at the port" -h 127.0.0.1 -p "$DEAD" --rto 100 --timeout 1 -t a -m x
expect_exit 1 "an unreadable -f file" -h 127.0.0.1 -p "$BRIDGE_PORT" -t a -f "$T/missing"
