# lib.sh - shared helpers of the system tests; source it, do not run it.
#
# Every test gets a private temporary directory ($T), a private mosquitto on
# a free loopback port (start_broker) and the real sn-bridge on a free UDP
# port (start_bridge). Everything started here is stopped by the EXIT trap,
# also when a test fails or is interrupted, and $T is removed. Tests print
# "ok - NAME" / "not ok - NAME" per check (ok, notok, check) and exit
# non-zero when anything failed. Nothing waits a fixed time: wait_until polls
# a condition every 50 ms up to a deadline.
#
# Variables for the tests:
#   T             the temporary directory
#   BROKER_PORT   the mosquitto's TCP port (kept across stop/start_broker)
#   BRIDGE_PORT   sn-bridge's UDP port, BRIDGE_CONF its configuration file,
#                 BRIDGE_LOG its log, BRIDGE_PID its process id
#   PROBE         the sn-probe binary; SN_PROBE_DEBUG=1 shows every probe
#                 conversation, not only the failing ones
#
# Functions: start_broker / stop_broker, sub_start FILE TOPIC..., pub,
# bridge_conf LINE..., start_bridge ARGS / stop_bridge / signal_bridge SIG,
# probe / probe_check / probe_bg / probe_wait (sn-probe scripts on stdin),
# wait_until SECONDS CMD..., wait_lines, wait_grep, lacks, count_exact,
# ok / notok / check / note / bail. A probe script's "exec" lines can call
# wait_until, wait_lines, wait_grep, count_exact and pub (exported). At
# exit the bridge is stopped with SIGTERM and must exit 0, with no sanitizer
# report in its log; its log and the broker's are printed when anything
# failed.

set -u

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case "$BUILD" in
/*) BUILD_DIR=$BUILD ;;
*) BUILD_DIR=$ROOT/$BUILD ;;
esac
BRIDGE_BIN=$BUILD_DIR/bin/sn-bridge
PROBE=$BUILD_DIR/tests/sn-probe
FREEPORT=$BUILD_DIR/tests/freeport
TEST_NAME=$(basename "$0" .sh)

T=$(mktemp -d "${TMPDIR:-/tmp}/sn-$TEST_NAME.XXXXXX") || exit 1
FAILED=0
CHECKS=0
PIDS=()
BROKER_PID=
BROKER_PORT=
BRIDGE_PID=
BRIDGE_PORT=
BRIDGE_CONF=$T/sn-bridge.conf
BRIDGE_LOG=$T/sn-bridge.log
export T PROBE FREEPORT

# ---------------------------------------------------------------- results

ok() {
	CHECKS=$((CHECKS + 1))
	echo "ok - $TEST_NAME: $*"
}

notok() {
	CHECKS=$((CHECKS + 1))
	FAILED=$((FAILED + 1))
	echo "not ok - $TEST_NAME: $*"
}

# check NAME COMMAND...: ok when COMMAND succeeds, not ok otherwise.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}

# A line of diagnostics, TAP style.
note() {
	echo "# $*"
}

# Print a file as diagnostics, each line prefixed with "# ".
show() {
	local label=$1 file=$2
	[ -s "$file" ] || return 0
	echo "# ---- $label ($file)"
	sed 's/^/#   /' "$file" | tail -n "${SHOW_LINES:-200}"
}

# Give up on the whole test: something it needs is missing or broken.
bail() {
	notok "$*"
	exit 1
}

# ---------------------------------------------------------------- cleanup

# Stop a process we started: TERM, wait up to 5 s, then KILL.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

cleanup() {
	local rc=$? p brc
	trap - EXIT
	# Every test ends with the bridge's own shutdown checked: exit status 0
	# on SIGTERM, and nothing from the sanitizers in its log.
	if [ -n "$BRIDGE_PID" ]; then
		stop_bridge
		brc=$?
		if [ "$brc" -ne 0 ]; then notok "sn-bridge exits 0 on SIGTERM at the end (was $brc)"; fi
	fi
	if [ -f "$BRIDGE_LOG" ] && grep -q "AddressSanitizer\|LeakSanitizer\|runtime error:" "$BRIDGE_LOG"; then
		notok "sn-bridge log has sanitizer reports"
	fi
	for p in "${PIDS[@]}"; do
		stop_pid "$p"
	done
	if [ "$FAILED" -ne 0 ] || [ "$rc" -ne 0 ]; then
		show "sn-bridge log" "$BRIDGE_LOG"
		SHOW_LINES=60 show "mosquitto log" "$T/mosquitto.log"
	fi
	rm -rf "$T"
	if [ "$FAILED" -ne 0 ]; then
		rc=1
	elif [ "$rc" -eq 0 ] && [ "$CHECKS" -eq 0 ]; then
		echo "not ok - $TEST_NAME: no check ran"
		rc=1
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

track() {
	PIDS+=("$1")
}

untrack() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------- waiting

# wait_until SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds
# (return 0) or SECONDS have passed (return 1).
wait_until() {
	local secs=$1 whole frac=000 end
	shift
	whole=${secs%%.*}
	case "$secs" in *.*) frac=${secs#*.}000 ;; esac
	end=$(($(date +%s%N) + (${whole:-0} * 1000 + 10#${frac:0:3}) * 1000000))
	while :; do
		"$@" && return 0
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# lines_at_least FILE N: FILE exists and has at least N lines.
lines_at_least() {
	[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]
}

# wait_lines FILE N [SECONDS]: until FILE has N lines (default 10 s).
wait_lines() {
	wait_until "${3:-10}" lines_at_least "$1" "$2"
}

# grep_count FILE PATTERN N: FILE has at least N lines matching PATTERN.
grep_count() {
	[ -f "$1" ] && [ "$(grep -c -- "$2" "$1")" -ge "$3" ]
}

# wait_grep FILE PATTERN [SECONDS] [N]: until N lines (default 1) match.
wait_grep() {
	wait_until "${3:-10}" grep_count "$1" "$2" "${4:-1}"
}

# lacks FILE PATTERN: no line of FILE matches PATTERN (grep -e); the lines
# that do are printed as diagnostics.
lacks() {
	[ -f "$1" ] || return 0
	if grep -q -e "$2" "$1"; then
		grep -e "$2" "$1" | sed 's/^/#   unexpected: /'
		return 1
	fi
	return 0
}

# How many lines of FILE are exactly LINE.
count_exact() {
	if [ -f "$1" ]; then grep -c -x -F -- "$2" "$1"; else echo 0; fi
}

freeport() {
	"$FREEPORT" "$@"
}

# ---------------------------------------------------------------- mosquitto

require_tools() {
	local t
	for t in mosquitto mosquitto_sub mosquitto_pub; do
		command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
		command -v "$t" >/dev/null 2>&1 ||
			bail "$t is not installed (scripts/deps.sh installs mosquitto and mosquitto-clients)"
	done
	[ -x "$PROBE" ] || bail "$PROBE is missing: build with make BUILD=$BUILD build"
	[ -x "$FREEPORT" ] || bail "$FREEPORT is missing: build with make BUILD=$BUILD build"
}

broker_answers() {
	mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -i "sn-ping-$$" -t sn-test/ping -n \
		>/dev/null 2>&1
}

# start_broker [CONFIG-LINE...]: a private mosquitto on 127.0.0.1. The port
# is picked once and kept, so that a restarted broker is found where the
# bridge expects it.
start_broker() {
	local line
	require_tools
	[ -n "$BROKER_PORT" ] || BROKER_PORT=$(freeport tcp) || bail "no free TCP port"
	export BROKER_PORT
	{
		echo "listener $BROKER_PORT 127.0.0.1"
		echo "allow_anonymous true"
		echo "persistence false"
		echo "log_dest file $T/mosquitto.log"
		echo "log_type all"
		echo "log_timestamp_format %H:%M:%S"
		# Run as root, mosquitto would switch to the user "mosquitto",
		# which may not write to $T.
		echo "user $(id -un)"
		for line in "$@"; do echo "$line"; done
	} >"$T/mosquitto.conf"
	mosquitto -c "$T/mosquitto.conf" >>"$T/mosquitto.out" 2>&1 &
	BROKER_PID=$!
	track "$BROKER_PID"
	if ! wait_until 10 broker_answers; then
		show "mosquitto output" "$T/mosquitto.out"
		bail "mosquitto did not start on port $BROKER_PORT within 10 s"
	fi
}

stop_broker() {
	[ -n "$BROKER_PID" ] || return 0
	stop_pid "$BROKER_PID"
	untrack "$BROKER_PID"
	BROKER_PID=
}

# sub_start FILE TOPIC...: mosquitto_sub -v (QoS 2) writing "topic payload"
# lines to FILE; returns once the broker has acknowledged the subscription.
# SUB_FORMAT, when set, is passed as -F instead of -v (e.g. '%t %q %p').
SUB_N=0
sub_start() {
	local file=$1 id args=() t
	shift
	SUB_N=$((SUB_N + 1))
	id="sn-sub-$$-$SUB_N"
	for t in "$@"; do args+=(-t "$t"); done
	if [ -n "${SUB_FORMAT:-}" ]; then
		args+=(-F "$SUB_FORMAT")
	else
		args+=(-v)
	fi
	: >"$file"
	stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -i "$id" -q 2 "${args[@]}" \
		>"$file" 2>>"$T/sub.err" &
	SUB_PID=$!
	track "$SUB_PID"
	wait_grep "$T/mosquitto.log" "Sending SUBACK to $id" 10 ||
		bail "mosquitto_sub $* was not subscribed within 10 s"
}

# pub TOPIC MESSAGE [mosquitto_pub options...]
pub() {
	local topic=$1 msg=$2
	shift 2
	mosquitto_pub -h 127.0.0.1 -p "$BROKER_PORT" -t "$topic" -m "$msg" "$@"
}

# The helpers a probe script may call through "exec".
export -f wait_until lines_at_least wait_lines grep_count wait_grep count_exact pub

# ---------------------------------------------------------------- sn-bridge

# bridge_conf LINE...: configuration lines for the next start_bridge, added
# after the base lines (listener, broker, log level), so they win.
bridge_conf() {
	local line
	for line in "$@"; do echo "$line"; done >>"$T/extra.conf"
}

bridge_alive() {
	[ -n "$BRIDGE_PID" ] && kill -0 "$BRIDGE_PID" 2>/dev/null
}

# The bridge answers SEARCHGW with GWINFO.
bridge_answers() {
	bridge_alive || return 2
	printf 'send SEARCHGW radius=0\nexpect GWINFO within=0.3\n' |
		"$PROBE" -n ready "$BRIDGE_HOST" "$BRIDGE_PORT" - >/dev/null 2>&1
}

# write_bridge_conf: the base configuration plus the bridge_conf lines.
write_bridge_conf() {
	[ -n "$BRIDGE_PORT" ] || BRIDGE_PORT=$(freeport udp) || bail "no free UDP port"
	{
		echo "# written by tests/system/lib.sh"
		echo "listen 127.0.0.1:$BRIDGE_PORT"
		echo "broker 127.0.0.1:$BROKER_PORT"
		echo "log_level debug"
		echo "reconnect_min_s 1"
		echo "reconnect_max_s 1"
		[ -f "$T/extra.conf" ] && cat "$T/extra.conf"
	} >"$BRIDGE_CONF"
}

# start_bridge [ARGS...]: the real sn-bridge, -c BRIDGE_CONF ARGS, on a
# free UDP port toward the private broker; returns once it answers SEARCHGW.
# Its stderr goes to BRIDGE_LOG, printed when the test fails.
BRIDGE_HOST=127.0.0.1
start_bridge() {
	[ -x "$BRIDGE_BIN" ] || bail "$BRIDGE_BIN is missing: build with make BUILD=$BUILD build"
	[ -n "$BROKER_PORT" ] || BROKER_PORT=$(freeport tcp)
	write_bridge_conf
	export BRIDGE_PORT BRIDGE_LOG BRIDGE_CONF
	echo "# ---- sn-bridge -c $BRIDGE_CONF $*" >>"$BRIDGE_LOG"
	"$BRIDGE_BIN" -c "$BRIDGE_CONF" "$@" >>"$BRIDGE_LOG" 2>&1 &
	BRIDGE_PID=$!
	export BRIDGE_PID
	track "$BRIDGE_PID"
	wait_until 10 bridge_answers
	case $? in
	0) return 0 ;;
	*) bridge_alive || bail "sn-bridge exited at start (see its log)"
	   bail "sn-bridge did not answer SEARCHGW within 10 s" ;;
	esac
}

# stop_bridge: SIGTERM, wait up to 10 s; returns the exit status (or 124
# when it had to be killed).
stop_bridge() {
	local pid=$BRIDGE_PID rc i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=124
	else
		wait "$pid" 2>/dev/null
		rc=$?
	fi
	untrack "$pid"
	BRIDGE_PID=
	return "$rc"
}

# ---------------------------------------------------------------- probes

# probe NAME [sn-probe options...] < SCRIPT: run one sn-probe against the
# bridge; the conversation (-d) is printed when it fails.
probe() {
	local name=$1 rc
	shift
	"$PROBE" -d -n "$name" "$@" "$BRIDGE_HOST" "$BRIDGE_PORT" - >"$T/probe-$name.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] || [ -n "${SN_PROBE_DEBUG:-}" ]; then
		show "sn-probe $name (exit $rc)" "$T/probe-$name.out"
	fi
	return "$rc"
}

# probe_check DESCRIPTION NAME [options...] < SCRIPT: probe, then ok / not ok.
probe_check() {
	local what=$1
	shift
	if probe "$@"; then ok "$what"; else notok "$what"; fi
}

# probe_bg NAME [options...] < SCRIPT: the same in the background; collect
# it with probe_wait NAME.
declare -A PROBE_PIDS=()
probe_bg() {
	local name=$1
	shift
	cat >"$T/probe-$name.script"
	"$PROBE" -d -n "$name" "$@" "$BRIDGE_HOST" "$BRIDGE_PORT" "$T/probe-$name.script" \
		>"$T/probe-$name.out" 2>&1 &
	PROBE_PIDS[$name]=$!
	track "$!"
}

probe_wait() {
	local name=$1 pid=${PROBE_PIDS[$1]} rc
	wait "$pid"
	rc=$?
	untrack "$pid"
	if [ "$rc" -ne 0 ] || [ -n "${SN_PROBE_DEBUG:-}" ]; then
		show "sn-probe $name (exit $rc)" "$T/probe-$name.out"
	fi
	return "$rc"
}

# signal_bridge SIG: send a signal to the running bridge.
signal_bridge() {
	kill -"$1" "$BRIDGE_PID"
}
