#!/usr/bin/env bash
# bridge_signals.sh - the daemon's signals: SIGHUP reloads the predefined
# topics, SIGUSR1 writes the statistics to the log, SIGTERM and SIGINT stop
# it cleanly (exit status 0, no process left, broker connections closed).
. "$(dirname "$0")/lib.sh"

start_broker
printf '30 hup/before\n' >"$T/topics"
bridge_conf "predefined $T/topics"
start_bridge
SUB_FORMAT='%t %p' sub_start "$T/up.txt" 'hup/#'

probe_check "predefined id 30 is hup/before" h1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-h1
expect CONNACK rc=0
send PUBLISH qos=1 type=predefined topic_id=30 msg_id=1 data=one
expect PUBACK msg_id=1 rc=0
send PUBLISH qos=1 type=predefined topic_id=31 msg_id=2 data=none
expect PUBACK msg_id=2 rc=2
exec wait_grep $T/up.txt "^hup/before one$" 10
EOF2

printf '30 hup/after\n31 hup/new\n' >"$T/topics.new"
mv "$T/topics.new" "$T/topics"
signal_bridge HUP
N=0
published_after_reload() {
	N=$((N + 1))
	printf 'send CONNECT clean=1 duration=60 id=st-h2\nexpect CONNACK rc=0\nsend PUBLISH qos=1 type=predefined topic_id=30 msg_id=1 data=try%s\nexpect PUBACK msg_id=1 rc=0\n' "$N" |
		"$PROBE" -n h2 127.0.0.1 "$BRIDGE_PORT" - >/dev/null 2>&1 &&
		grep -q "^hup/after try$N$" "$T/up.txt"
}
# The reload is asynchronous: poll until id 30 lands on the new topic.
check "after SIGHUP, id 30 is hup/after" wait_until 10 published_after_reload
probe_check "after SIGHUP, the new id 31 works" h3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-h3
expect CONNACK rc=0
send PUBLISH qos=1 type=predefined topic_id=31 msg_id=1 data=new-id
expect PUBACK msg_id=1 rc=0
exec wait_grep $T/up.txt "^hup/new new-id$" 10
EOF2

printf '0 broken\n' >"$T/topics"
signal_bridge HUP
check "a broken file on SIGHUP is reported with file:line" wait_grep "$BRIDGE_LOG" "$T/topics:1" 10
probe_check "... and the old table stays in force" h4 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-h4
expect CONNACK rc=0
send PUBLISH qos=1 type=predefined topic_id=31 msg_id=1 data=kept
expect PUBACK msg_id=1 rc=0
exec wait_grep $T/up.txt "^hup/new kept$" 10
EOF2

lines=$(wc -l <"$BRIDGE_LOG")
signal_bridge USR1
stats_logged() {
	tail -n +"$((lines + 1))" "$BRIDGE_LOG" | grep -q "stats: .* pub_up=[1-9]"
}
check "SIGUSR1 logs the statistics (uplink publishes counted)" wait_until 10 stats_logged

pid=$BRIDGE_PID
stop_bridge
rc=$?
check "SIGTERM: exit status 0 (was $rc)" test "$rc" -eq 0
check "SIGTERM: the process is gone" bash -c "! kill -0 $pid 2>/dev/null"
check "SIGTERM: the broker saw the bridge's connections close cleanly" \
	wait_grep "$T/mosquitto.log" "Client [^ ]*st-h4[^ ]* disconnected\." 10

printf '30 hup/after\n' >"$T/topics"
start_bridge
pid=$BRIDGE_PID
kill -INT "$pid"
wait_until 10 bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid"
rc=$?
untrack "$pid"
BRIDGE_PID=
check "SIGINT: exit status 0 (was $rc)" test "$rc" -eq 0
