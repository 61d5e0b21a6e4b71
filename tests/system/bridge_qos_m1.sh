#!/usr/bin/env bash
# bridge_qos_m1.sh - QoS -1 (MQTT-SN 1.2, 6.8): a client with no connection
# publishes on a predefined id or a short name; the bridge forwards it when
# allow_qos_m1 is on and drops it (counted) when it is off.
. "$(dirname "$0")/lib.sh"

start_broker
printf '7 m1/pre\n' >"$T/topics"
bridge_conf "allow_qos_m1 true" "predefined $T/topics"
start_bridge
SUB_FORMAT='%t %q %p' sub_start "$T/up.txt" 'm1/#' 'mz'

probe_check "QoS -1 on a predefined id and a short name, never connected" q1 <<'EOF2'
send PUBLISH qos=-1 type=predefined topic_id=7 data=minus-one-pre
send PUBLISH qos=-1 type=short topic=mz data=minus-one-short
exec wait_lines $T/up.txt 2 10
EOF2
check "the predefined one reached the broker (at QoS 0)" \
	test "$(count_exact "$T/up.txt" "m1/pre 0 minus-one-pre")" -eq 1
check "the short one reached the broker (at QoS 0)" \
	test "$(count_exact "$T/up.txt" "mz 0 minus-one-short")" -eq 1

probe_check "QoS -1 from another, new address" q2 <<'EOF2'
rebind
send PUBLISH qos=-1 type=predefined topic_id=7 data=from-elsewhere
exec wait_grep $T/up.txt "^m1/pre 0 from-elsewhere$" 10
EOF2

probe_check "QoS -1 on a normal topic id: not forwarded" q3 <<'EOF2'
send PUBLISH qos=-1 type=normal topic_id=1 data=normal-id
send PUBLISH qos=-1 type=predefined topic_id=8 data=unknown-id
send PUBLISH qos=-1 type=predefined topic_id=7 data=after-bad-ones
exec wait_grep $T/up.txt "^m1/pre 0 after-bad-ones$" 10
EOF2
check "neither the normal id nor the unknown predefined id reached the broker" \
	lacks "$T/up.txt" "normal-id\|unknown-id"

# The same with allow_qos_m1 off.
stop_bridge
: >"$T/extra.conf"
bridge_conf "allow_qos_m1 false" "predefined $T/topics"
: >"$T/up.txt"
start_bridge
probe_check "QoS -1 refused when allow_qos_m1 is off; a connected client still passes" q4 <<'EOF2'
send PUBLISH qos=-1 type=predefined topic_id=7 data=refused
send PUBLISH qos=-1 type=short topic=mz data=refused
rebind
send CONNECT clean=1 duration=60 id=st-q4
expect CONNACK rc=0
send PUBLISH qos=1 type=predefined topic_id=7 msg_id=1 data=connected
expect PUBACK msg_id=1 rc=0
exec wait_grep $T/up.txt "^m1/pre 1 connected$" 10
EOF2
check "nothing refused reached the broker" lacks "$T/up.txt" refused
signal_bridge USR1
check "the statistics count the refused QoS -1 messages" \
	wait_grep "$BRIDGE_LOG" "stats: .* drop_qos_m1=[1-9]" 10
