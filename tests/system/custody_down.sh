#!/usr/bin/env bash
# custody_down.sh - issue #7, custody of the downlink and of persistent
# sessions: with store_dir set, what the broker sends for a station that is
# offline or asleep (and connected with CleanSession false) waits in the
# bridge's store and reaches it when it returns, in order, also across a
# SIGKILL of the bridge and while the bridge is down; the station's session
# (subscriptions, topic ids, sleep state) comes back after the restart, so
# a sleeping station just wakes up and gets its messages.
. "$(dirname "$0")/lib.sh"

SNSUB=$BUILD_DIR/bin/sn-sub
[ -x "$SNSUB" ] || bail "$SNSUB is missing"

start_broker

# kill_bridge: SIGKILL, no goodbye to anyone.
kill_bridge() {
	kill -KILL "$BRIDGE_PID" 2>/dev/null
	wait "$BRIDGE_PID" 2>/dev/null
	untrack "$BRIDGE_PID"
	BRIDGE_PID=
}

# in_order FILE PREFIX N: FILE holds exactly "cmd/... PREFIX-1" .. "PREFIX-N", in order.
in_order() {
	local want got
	want=$(seq 1 "$3" | sed "s|^|$2-|")
	got=$(awk '{print $2}' "$1")
	[ "$want" = "$got" ] || { diff <(echo "$want") <(echo "$got") | head | sed 's/^/#   /'; return 1; }
}

# ---------------------------------------------------------------- offline, aggregating

bridge_conf "store_dir $T/store-a" "mode aggregating"
start_bridge

# The station subscribes with a lasting session and leaves (DISCONNECT).
check "an offline station subscribes with CleanSession false and leaves" \
	timeout 30 "$SNSUB" -p "$BRIDGE_PORT" -i st-off --no-clean -q 2 -t cmd/st-off -W 1
wait_grep "$BRIDGE_LOG" "client st-off disconnected" 10 || notok "the bridge saw st-off leave"

# Ten messages for it; the bridge has each on disk before it completes the
# broker's QoS 2 flow (PUBCOMP), so after ten PUBCOMPs all ten are stored.
for i in $(seq 1 10); do pub cmd/st-off "off-$i" -q 2; done
# stored: libmosquitto completes the broker's flow an instant before the
# bridge has the message, so ask the bridge's statistics
USR1=0
stored() { # N: the store holds N messages for stations
	signal_bridge USR1
	USR1=$((USR1 + 1))
	wait_grep "$BRIDGE_LOG" "stats custody: " 5 "$USR1" &&
		grep "stats custody: " "$BRIDGE_LOG" | tail -1 | grep -q " waiting_down=$1 "
}
check "the bridge stored the ten messages for the offline station" wait_until 10 stored 10
check "... and counts them" grep -q "down_stored=10 " "$BRIDGE_LOG"
kill_bridge
# Ten more while the bridge is down: the broker keeps them for its lasting session.
for i in $(seq 11 20); do pub cmd/st-off "off-$i" -q 2; done
start_bridge
check "the restart restores the session and finds the ten messages" \
	grep -q "custody: 1 persistent session(s) restored, 0 refused; 10 message(s) waiting" \
	"$BRIDGE_LOG"

OUT=$T/off.out
timeout 40 "$SNSUB" -p "$BRIDGE_PORT" -i st-off --no-clean -q 2 -t cmd/st-off -C 20 -W 30 -v \
	>"$OUT" 2>"$T/off.err"
rc=$?
check "the station comes back and gets 20 messages (exit $rc)" test "$rc" -eq 0
check "... in order, each once: stored before the crash, then kept by the broker" \
	in_order "$OUT" off 20
stop_bridge

# ---------------------------------------------------------------- asleep, transparent

: >"$T/extra.conf"
bridge_conf "store_dir $T/store-t" "mode transparent"
start_bridge

OUT=$T/sleep.out
"$SNSUB" -p "$BRIDGE_PORT" -i st-sleep --no-clean -q 2 -t cmd/st-sleep --sleep 3 --rto 1000 \
	-C 10 -W 60 -v >"$OUT" 2>"$T/sleep.err" &
SLEEPER=$!
track "$SLEEPER"
wait_grep "$BRIDGE_LOG" "client st-sleep asleep for 3 s" 20 || notok "the station fell asleep"
# Five messages while it sleeps, on its own broker connection; then the bridge dies.
for i in $(seq 1 5); do pub cmd/st-sleep "zz-$i" -q 2; done
USR1=0
check "the bridge stored the five messages for the sleeping station" wait_until 10 stored 5
kill_bridge
# Five more while the bridge is down: the station's broker session keeps them.
for i in $(seq 6 10); do pub cmd/st-sleep "zz-$i" -q 2; done
start_bridge
check "the sleeping station's session is restored" \
	grep -q "custody: 1 persistent session(s) restored" "$BRIDGE_LOG"

wait "$SLEEPER"
rc=$?
untrack "$SLEEPER"
check "the station wakes and gets its 10 messages without connecting again (exit $rc)" \
	test "$rc" -eq 0
check "... in order, each once" in_order "$OUT" zz 10
check "it never had to CONNECT to the restarted bridge" \
	test "$(grep -c "client st-sleep connected" "$BRIDGE_LOG")" -eq 1

