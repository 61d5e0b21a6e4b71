#!/usr/bin/env bash
# bridge_subscribe.sh - SUBSCRIBE and UNSUBSCRIBE (MQTT-SN 1.2, 6.9, 6.10):
# by name (topic id in SUBACK), by wildcard (topic id 0), QoS granted,
# UNSUBSCRIBE stops delivery, a repeated SUBSCRIBE is answered again.
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge

probe_check "SUBSCRIBE by name and wildcard, UNSUBSCRIBE, then no more delivery" s1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-s1
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=sb/a
expect SUBACK msg_id=1 rc=0 qos=1 topic_id=!0 save=tid
send SUBSCRIBE qos=0 msg_id=2 topic=sb/mark/+
expect SUBACK msg_id=2 rc=0 qos=0 topic_id=0
exec pub sb/a one -q 1
expect PUBLISH qos=1 topic_id=$tid data=one
ack
send UNSUBSCRIBE msg_id=3 topic=sb/a
expect UNSUBACK msg_id=3
exec pub sb/a after-unsubscribe -q 1
exec pub sb/mark/x marker -q 0
expect REGISTER name=sb/mark/x save=mark
ack
expect PUBLISH topic_id=$mark data=marker
EOF2

probe_check "a repeated SUBSCRIBE (DUP) is answered with the same topic id" s2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-s2
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=sb/dup
expect SUBACK msg_id=1 rc=0 save=tid
send SUBSCRIBE qos=1 dup=1 msg_id=1 topic=sb/dup
expect SUBACK msg_id=1 rc=0 topic_id=$tid
exec pub sb/dup only-once -q 1
expect PUBLISH qos=1 topic_id=$tid data=only-once
ack
expect none within=1
EOF2

probe_check "UNSUBSCRIBE of a wildcard filter" s3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-s3
expect CONNACK rc=0
send SUBSCRIBE qos=0 msg_id=1 topic=sb/w/#
expect SUBACK msg_id=1 rc=0
send SUBSCRIBE qos=0 msg_id=2 topic=sb/keep
expect SUBACK msg_id=2 rc=0 save=keep
send UNSUBSCRIBE msg_id=3 topic=sb/w/#
expect UNSUBACK msg_id=3
exec pub sb/w/x gone -q 0
exec pub sb/keep kept -q 0
expect PUBLISH topic_id=$keep data=kept
EOF2

probe_check "SUBSCRIBE with a malformed filter is refused" s4 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-s4
expect CONNACK rc=0
send raw 0a12200001 73622f2b2b
expect SUBACK msg_id=1 rc=!0
send PINGREQ
expect PINGRESP
EOF2
