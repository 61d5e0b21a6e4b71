#!/usr/bin/env bash
# bridge_config.sh - configuration errors: exit status 2 and one message
# that names the file and line (or the option) and the key; --help and
# --version exit 0. Nothing here needs a broker.
. "$(dirname "$0")/lib.sh"

[ -x "$BRIDGE_BIN" ] || bail "$BRIDGE_BIN is missing: build with make BUILD=$BUILD build"
PORT=$(freeport udp)

# run_bridge ARGS...: the bridge in the foreground, bounded; sets RC and OUT.
run_bridge() {
	timeout 10 "$BRIDGE_BIN" "$@" >"$T/out" 2>&1
	RC=$?
	OUT=$(cat "$T/out")
}

expect_error() { # what pattern
	local what=$1 pattern=$2
	if [ "$RC" -eq 2 ] && grep -q -- "$pattern" "$T/out"; then
		ok "$what"
	else
		notok "$what (exit $RC, wanted 2 and /$pattern/)"
		show "sn-bridge output" "$T/out"
	fi
}

printf '# a comment\nport %s\nkeepalvie 5\n' "$PORT" >"$T/a.conf"
run_bridge -c "$T/a.conf"
expect_error "unknown key: exit 2, names file:line and the key" "$T/a.conf:3.*keepalvie"

printf 'listen 127.0.0.1:%s\n\nmax_clients zero\n' "$PORT" >"$T/b.conf"
run_bridge -c "$T/b.conf"
expect_error "bad number: exit 2, names file:line and the key" "$T/b.conf:3.*max_clients"

printf 'mode sideways\n' >"$T/c.conf"
run_bridge -c "$T/c.conf"
expect_error "bad mode: exit 2, names file:line" "$T/c.conf:1.*mode"

printf 'max_clients\n' >"$T/d.conf"
run_bridge -c "$T/d.conf"
expect_error "key without a value: exit 2, names file:line" "$T/d.conf:1"

run_bridge -c "$T/does-not-exist.conf"
expect_error "missing configuration file: exit 2, names it" "$T/does-not-exist.conf"

run_bridge --no-such-option
expect_error "unknown option: exit 2" "no-such-option"

run_bridge -p 70000
expect_error "port out of range on the command line: exit 2" "70000"

printf '# topics\n1 ok/topic\n0 bad/id\n' >"$T/topics"
printf 'listen 127.0.0.1:%s\nbroker 127.0.0.1:1\n' "$PORT" >"$T/e.conf"
run_bridge -c "$T/e.conf" --predefined "$T/topics"
expect_error "bad predefined topics file: exit 2, names file:line" "$T/topics:3"

# Custody (README "Custody"): its keys are checked like any other, and a
# store that cannot be made stops the start with a message naming it.
printf 'listen 127.0.0.1:%s\nstore_sync sometimes\n' "$PORT" >"$T/f.conf"
run_bridge -c "$T/f.conf"
expect_error "bad store_sync: exit 2, names file:line and the key" "$T/f.conf:2.*store_sync"
printf 'store_station_msgs 10k\n' >"$T/g.conf"
run_bridge -c "$T/g.conf"
expect_error "bad store_station_msgs: exit 2, names file:line and the key" \
	"$T/g.conf:1.*store_station_msgs"
run_bridge -p "$PORT" --store ""
expect_error "an empty --store: exit 2" "store_dir is empty"
: >"$T/a-file"
printf 'listen 127.0.0.1:%s\nbroker 127.0.0.1:1\nstore_dir %s\n' "$PORT" "$T/a-file/store" \
	>"$T/h.conf"
run_bridge -c "$T/h.conf"
check "a store_dir that cannot be made: exit 1, naming it" \
	test "$RC" -eq 1 -a -n "$(grep "custody store $T/a-file/store: .*Not a directory" "$T/out")"

run_bridge --help
check "--help: exit 0 and a usage text" test "$RC" -eq 0 -a -n "$OUT"
run_bridge --version
check "--version: exit 0 and a version" test "$RC" -eq 0 -a -n "$OUT"

# The example configuration shipped with the bridge is valid as it is; a
# listen line is added so that it binds loopback only, and the broker is
# moved out of the way. It must start and answer SEARCHGW.
if [ -f "$ROOT/bridge/sn-bridge.conf.example" ]; then
	{ cat "$ROOT/bridge/sn-bridge.conf.example"; echo "listen 127.0.0.1:$PORT"; } >"$T/example.conf"
	BRIDGE_PORT=$PORT
	: >"$T/extra.conf"
	"$BRIDGE_BIN" -c "$T/example.conf" -b 127.0.0.1:1 >>"$BRIDGE_LOG" 2>&1 &
	BRIDGE_PID=$!
	track "$BRIDGE_PID"
	check "the example configuration is accepted (the bridge answers SEARCHGW)" \
		wait_until 10 bridge_answers
	stop_bridge
	check "and stops with exit status 0 on SIGTERM" test $? -eq 0
else
	notok "bridge/sn-bridge.conf.example is missing"
fi
