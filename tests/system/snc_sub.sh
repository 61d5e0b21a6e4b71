#!/usr/bin/env bash
# snc_sub.sh - sn-sub against the real sn-bridge and mosquitto: every option
# checked with messages from mosquitto_pub (filters with wildcards, several
# at once, predefined ids, short names, QoS, -v, -C, -W, --sleep, -d), and
# its exit codes (0 done, 1 refused by the gateway, 2 bad arguments, 3 timed
# out).
. "$(dirname "$0")/lib.sh"

SUB=$BUILD_DIR/bin/sn-sub
[ -x "$SUB" ] || bail "$SUB is missing: build with make BUILD=$BUILD build"

printf '2001 snc/sub/predef\n' >"$T/predefined.conf"
start_broker
start_bridge --predefined "$T/predefined.conf"

# sub_bg NAME sn-sub-args...: sn-sub in the background, output in
# $T/NAME.out, its trace (-d) in $T/NAME.err; returns once every filter
# is subscribed (one SUBACK each).
declare -A SUB_PIDS=()
sub_bg() {
	local name=$1 n=0 a
	shift
	for a in "$@"; do case "$a" in -t | -T | --short) n=$((n + 1)) ;; esac; done
	"$SUB" -h 127.0.0.1 -p "$BRIDGE_PORT" --rto 300 --timeout 10 -d "$@" \
		>"$T/$name.out" 2>"$T/$name.err" &
	SUB_PIDS[$name]=$!
	track "$!"
	wait_grep "$T/$name.err" '^<- SUBACK .*rc=accepted' 10 "$n" ||
		bail "sn-sub $name: not subscribed within 10 s"
}
# sub_end NAME: wait (10 s at most) for it to exit; its exit status.
sub_end() {
	local pid=${SUB_PIDS[$1]} rc
	gone() { ! kill -0 "$pid" 2>/dev/null; }
	wait_until 10 gone || kill -TERM "$pid"
	wait "$pid"
	rc=$?
	untrack "$pid"
	return "$rc"
}
mpub() { # TOPIC MESSAGE [mosquitto_pub options]
	pub "$@"
}

# ---------------------------------------------------------------- filters

sub_bg wild -t 'snc/sub/+/a' -t 'snc/sub/x/#' -v -C 3
mpub snc/sub/1/a one
mpub snc/sub/2/b not-for-us
mpub snc/sub/x/deep/er two
mpub snc/sub/x three
sub_end wild
check "-t repeated, with + and #: exit 0 after -C 3" test $? -eq 0
check "... the three matching messages, with -v their topics" \
	test "$(tr '\n' '|' <"$T/wild.out")" = "snc/sub/1/a one|snc/sub/x/deep/er two|snc/sub/x three|"
check "... a topic name from a wildcard was REGISTERed by the gateway, and acknowledged" \
	grep -q '^-> REGACK .*rc=accepted' "$T/wild.err"

sub_bg plain -t snc/sub/plain -C 1
mpub snc/sub/plain "just the payload"
sub_end plain
check "without -v: the payload alone" test "$(cat "$T/plain.out")" = "just the payload"

sub_bg predef -T 2001 -v -C 1
mpub snc/sub/predef by-id
sub_end predef
check "-T: a predefined id (-v prints the id)" test "$(cat "$T/predef.out")" = "2001 by-id"

sub_bg short --short zz -v -C 1
mpub zz short-name
sub_end short
check "--short: a two-character topic" test "$(cat "$T/short.out")" = "zz short-name"

# ---------------------------------------------------------------- QoS

for q in 0 1 2; do
	sub_bg "q$q" -t snc/sub/q -q "$q" -C 1
	mpub snc/sub/q "at-$q" -q 2
	sub_end "q$q"
	check "-q $q: the message arrives" test "$(cat "$T/q$q.out")" = "at-$q"
	check "... at QoS $q" grep -q "^<- PUBLISH .*qos=$q " "$T/q$q.err"
done
check "-q 1: acknowledged with PUBACK" grep -q '^-> PUBACK .*rc=accepted' "$T/q1.err"
check "-q 2: PUBREC, PUBREL, PUBCOMP" grep -q '^-> PUBCOMP' "$T/q2.err"

# ---------------------------------------------------------------- time

start=$(date +%s%N)
"$SUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -t snc/sub/none -W 1 >/dev/null 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "-W 1 alone: exit 0 after the time ($ms ms)" test "$rc" -eq 0 -a "$ms" -ge 900
"$SUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -t snc/sub/none -W 1 -C 5 >/dev/null 2>&1
rc=$?
check "-W 1 -C 5 with nothing coming: timed out (exit 3, was $rc)" test "$rc" -eq 3

sub_bg counted -t snc/sub/count -C 2
mpub snc/sub/count c1
mpub snc/sub/count c2
mpub snc/sub/count c3
sub_end counted
check "-C 2: exactly two messages, then exit 0 (none printed after, while disconnecting)" test "$(tr '\n' '|' <"$T/counted.out")" = "c1|c2|"

# --sleep: the bridge keeps what comes while the client sleeps (6.14); the
# client wakes once a period, takes it, and sleeps again.
sub_bg sleeper -t snc/sub/sleep -q 1 -C 2 -v --sleep 1 -i snc-sub-sleeper
wait_grep "$T/sleeper.err" '^-> DISCONNECT duration=1' 10 || notok "--sleep: DISCONNECT with a duration"
wait_grep "$T/sleeper.err" '^<- DISCONNECT' 10 || notok "--sleep: the bridge agreed"
mpub snc/sub/sleep while-asleep-1 -q 1
mpub snc/sub/sleep while-asleep-2 -q 1
sub_end sleeper
check "--sleep: exit 0 with both messages" \
	test "$(tr '\n' '|' <"$T/sleeper.out")" = "snc/sub/sleep while-asleep-1|snc/sub/sleep while-asleep-2|"
check "... taken on waking (PINGREQ with the client id)" \
	grep -q '^-> PINGREQ .*snc-sub-sleeper' "$T/sleeper.err"

# ---------------------------------------------------------------- the rest

check "-d: the trace has the CONNECT" grep -q '^-> CONNECT ' "$T/plain.err"
check "... and the answers" grep -q '^<- CONNACK rc=accepted' "$T/plain.err"
sub_bg named -t snc/sub/named -C 1 -i snc-sub-named -k 45
mpub snc/sub/named x
sub_end named
check "-i and -k: the bridge knows the client by its id and keep-alive" \
	grep -q 'client snc-sub-named connected (keep-alive 45 s' "$BRIDGE_LOG"

# ---------------------------------------------------------------- exit codes

DEAD=$(freeport udp)
expect_exit() { # CODE NAME sn-sub-args...
	local want=$1 name=$2 rc
	shift 2
	"$SUB" "$@" >/dev/null 2>"$T/exit.err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name: exit $want"; else
		notok "$name: exit $want, was $rc"
		show "stderr" "$T/exit.err"
	fi
}
expect_exit 0 "--help" --help
expect_exit 2 "no topic" -v
expect_exit 2 "a bad filter" -t 'a/#/b'
expect_exit 2 "-q 3" -t a -q 3
expect_exit 2 "-q -1" -t a -q -1
expect_exit 2 "-C 0" -t a -C 0
expect_exit 2 "--sleep 0" -t a --sleep 0
expect_exit 2 "a 24-character client id" -t a -i 123456789012345678901234
expect_exit 2 "an unknown option" -t a --bogus
expect_exit 1 "refused: a predefined id the bridge does not know" \
	-h 127.0.0.1 -p "$BRIDGE_PORT" -T 4242 --rto 300
check "... it says so" grep -q 'refused by the gateway' "$T/exit.err"
expect_exit 3 "timed out: nobody at the port" -h 127.0.0.1 -p "$DEAD" --rto 100 --timeout 1 -t a
