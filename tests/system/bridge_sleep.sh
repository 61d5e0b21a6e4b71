#!/usr/bin/env bash
# bridge_sleep.sh - sleeping clients (MQTT-SN 1.2, 6.14): DISCONNECT with a
# duration, messages published meanwhile are buffered, PINGREQ with the
# client id delivers them and then PINGRESP; the client sleeps again;
# CONNECT wakes it for good.
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge

# The bridge has the messages once the broker has sent them to its session:
# counted in the broker log (delivery to the bridge's connection).
probe_check "sleep, buffered messages on PINGREQ, then PINGRESP" z1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-z1
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=zz/a
expect SUBACK msg_id=1 rc=0 save=tid
send SUBSCRIBE qos=0 msg_id=2 topic=zz/b
expect SUBACK msg_id=2 rc=0 save=tidb
send DISCONNECT duration=60
expect DISCONNECT
exec pub zz/a asleep-1 -q 1
exec pub zz/b asleep-2 -q 0
exec pub zz/a asleep-3 -q 1
exec wait_grep $T/mosquitto.log "Sending PUBLISH to [^ ]*st-z1.*zz/a" 10 2
exec wait_grep $T/mosquitto.log "Sending PUBLISH to [^ ]*st-z1.*zz/b" 10 1
expect none within=1
send PINGREQ id=st-z1
expect PUBLISH qos=1 topic_id=$tid data=asleep-1
ack
expect PUBLISH qos=0 topic_id=$tidb data=asleep-2
expect PUBLISH qos=1 topic_id=$tid data=asleep-3
ack
expect PINGRESP
exec pub zz/a while-asleep-again -q 1
exec wait_grep $T/mosquitto.log "Sending PUBLISH to [^ ]*st-z1.*zz/a" 10 3
expect none within=1
send PINGREQ id=st-z1
expect PUBLISH qos=1 topic_id=$tid data=while-asleep-again
ack
expect PINGRESP
send PINGREQ id=st-z1
expect PINGRESP
send CONNECT clean=0 duration=60 id=st-z1
expect CONNACK rc=0
autoack REGISTER
exec pub zz/a awake -q 1
expect PUBLISH qos=1 topic_id=$tid data=awake
ack
EOF2

sub_start "$T/will.txt" 'zw/#'
probe_check "sleep for 1 s with a Will" z3 <<'EOF2'
send CONNECT clean=1 will=1 duration=60 id=st-z3
expect WILLTOPICREQ
send WILLTOPIC qos=0 topic=zw/z3
expect WILLMSGREQ
send WILLMSG data=z3-lost
expect CONNACK rc=0
send DISCONNECT duration=1
expect DISCONNECT
EOF2
check "the Will of the client that overslept is published" wait_grep "$T/will.txt" "^zw/z3 z3-lost$" 15
