#!/usr/bin/env bash
# bridge_aggregate.sh - the aggregating mode: one broker connection for all
# clients. Two clients connect, publish, and share one subscription: each
# gets its copy, and one unsubscribing does not stop the other's.
. "$(dirname "$0")/lib.sh"

start_broker
AGG_ID="sn-agg-$$"
bridge_conf "mode aggregating" "client_id $AGG_ID"
start_bridge
SUB_FORMAT='%t %q %p' sub_start "$T/up.txt" 'ag/#'
# In this mode the bridge connects once, by itself.
check "the bridge has its one broker connection" \
	wait_grep "$T/mosquitto.log" "New client connected .* as $AGG_ID " 10

probe_bg a1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-a1
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=ag/shared
expect SUBACK msg_id=1 rc=0 save=tid
send REGISTER topic_id=0 msg_id=2 name=ag/from-a1
expect REGACK msg_id=2 rc=0 save=up
send PUBLISH qos=1 topic_id=$up msg_id=3 data=hello-from-a1
expect PUBACK msg_id=3 rc=0
exec touch $T/a1.ready
exec wait_until 15 test -e $T/a2.ready
exec pub ag/shared for-both -q 1
expect PUBLISH qos=1 topic_id=$tid data=for-both
ack
exec touch $T/a1.got
send UNSUBSCRIBE msg_id=4 topic=ag/shared
expect UNSUBACK msg_id=4
exec touch $T/a1.unsubscribed
expect none within=2
EOF2
probe_bg a2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-a2
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=ag/shared
expect SUBACK msg_id=1 rc=0 save=tid
send PUBLISH qos=2 topic=ag msg_id=2 data=hello-from-a2
expect PUBREC msg_id=2
send PUBREL msg_id=2
expect PUBCOMP msg_id=2
exec touch $T/a2.ready
expect PUBLISH qos=1 topic_id=$tid data=for-both within=15
ack
exec wait_until 15 test -e $T/a1.unsubscribed
exec pub ag/shared only-a2 -q 1
expect PUBLISH qos=1 topic_id=$tid data=only-a2
ack
EOF2
probe_wait a1
check "client 1: connect, publish, shared subscription, unsubscribe" test $? -eq 0
probe_wait a2
check "client 2: connect, publish, shared subscription kept after client 1 left it" test $? -eq 0
check "client 1's uplink message reached the broker" \
	wait_grep "$T/up.txt" "^ag/from-a1 1 hello-from-a1$" 10
check "client 2's uplink message reached the broker" wait_grep "$T/up.txt" "^ag 2 hello-from-a2$" 10
check "still exactly one broker connection from the bridge" \
	test "$(grep -c "New client connected .* as $AGG_ID " "$T/mosquitto.log")" -eq 1
check "client ids are not broker connections in this mode" \
	test "$(grep -c "New client connected .* as [^ ]*st-a[12]" "$T/mosquitto.log")" -eq 0
