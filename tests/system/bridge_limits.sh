#!/usr/bin/env bash
# bridge_limits.sh - every configured limit, hit on purpose: max_clients
# (CONNACK congestion), max_topics (REGACK congestion), max_sleep_buffer
# (a sleeping client gets at most that many), max_msg_size (bigger
# messages are not forwarded either way). Each hit is counted and the
# bridge keeps serving.
. "$(dirname "$0")/lib.sh"

start_broker

# ---- max_clients: its own bridge, so that no other client counts.
bridge_conf "max_clients 2"
start_bridge
probe_check "max_clients 2: two clients connect" l1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-l1
expect CONNACK rc=0
rebind
send CONNECT clean=1 duration=60 id=st-l2
expect CONNACK rc=0
EOF2
probe_check "max_clients 2: the third gets CONNACK rc 1 (congestion)" l3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-l3
expect CONNACK rc=1
EOF2
probe_check "max_clients 2: a known client can still reconnect" l4 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-l1
expect CONNACK rc=0
send DISCONNECT
expect DISCONNECT
EOF2
probe_check "max_clients 2: after a clean DISCONNECT a new client fits" l5 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-l3
expect CONNACK rc=0
EOF2
signal_bridge USR1
check "max_clients: the refusal is counted" wait_grep "$BRIDGE_LOG" "stats: .* drop_clients=[1-9]" 10
stop_bridge
check "the bridge stopped cleanly" test $? -eq 0

# ---- the other limits.
: >"$T/extra.conf"
bridge_conf "max_topics 2" "max_sleep_buffer 2" "max_msg_size 100"
: >"$BRIDGE_LOG"
start_bridge
SUB_FORMAT='%t %p' sub_start "$T/up.txt" 'lim/#'

probe_check "max_topics 2: the third REGISTER gets REGACK rc 1 (congestion)" l6 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-l6
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=lim/1
expect REGACK msg_id=1 rc=0 save=t1
send REGISTER topic_id=0 msg_id=2 name=lim/2
expect REGACK msg_id=2 rc=0
send REGISTER topic_id=0 msg_id=3 name=lim/3
expect REGACK msg_id=3 rc=1
send REGISTER topic_id=0 msg_id=4 name=lim/1
expect REGACK msg_id=4 rc=0 topic_id=$t1
send PUBLISH qos=1 topic_id=$t1 msg_id=5 data=still-works
expect PUBACK msg_id=5 rc=0
exec wait_grep $T/up.txt "^lim/1 still-works$" 10
EOF2

probe_check "max_sleep_buffer 2: a sleeping client gets 2 of 3 messages" l7 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-l7
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=lim/sleep
expect SUBACK msg_id=1 rc=0 save=tid
send DISCONNECT duration=60
expect DISCONNECT
exec pub lim/sleep s1 -q 1
exec pub lim/sleep s2 -q 1
exec pub lim/sleep s3 -q 1
exec wait_grep $T/mosquitto.log "Sending PUBLISH to [^ ]*st-l7.*lim/sleep" 10 3
expect none within=1
send PINGREQ id=st-l7
expect PUBLISH qos=1 topic_id=$tid
ack
expect PUBLISH qos=1 topic_id=$tid
ack
expect PINGRESP
EOF2

probe_check "max_msg_size 100: a bigger PUBLISH is not forwarded, a smaller one is" l8 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-l8
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=lim/size
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 size=200
maybe PUBACK msg_id=2 rc=!0 within=1
send PUBLISH qos=1 topic_id=$tid msg_id=3 size=50
expect PUBACK msg_id=3 rc=0
exec wait_grep $T/up.txt "^lim/size " 10
EOF2
check "only the small one reached the broker" test "$(grep -c "^lim/size " "$T/up.txt")" -eq 1

probe_check "max_msg_size 100: a bigger message from the broker is not sent down" l9 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-l9
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=lim/down
expect SUBACK msg_id=1 rc=0 save=tid
exec pub lim/down "$(head -c 300 /dev/zero | tr '\0' y)" -q 1
exec pub lim/down small -q 1
expect PUBLISH qos=1 topic_id=$tid data=small
ack
EOF2

signal_bridge USR1
check "the sleeping buffer overflow is counted" wait_grep "$BRIDGE_LOG" "stats: .* drop_sleep_buffer=[1-9]" 10
check "the bridge is still running" bridge_alive
