#!/usr/bin/env bash
# bridge_register.sh - REGISTER both ways (MQTT-SN 1.2, 6.5): the client
# registers names and gets stable per-client ids; a wildcard subscription
# makes the bridge REGISTER a topic before it PUBLISHes on it, once.
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge

probe_check "client REGISTER: ids are non-zero, distinct, and stable" r1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-r1
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=rg/one
expect REGACK msg_id=1 rc=0 topic_id=!0 save=one
send REGISTER topic_id=0 msg_id=2 name=rg/two
expect REGACK msg_id=2 rc=0 topic_id=!0 save=two
exec test "$one" != "$two"
send REGISTER topic_id=0 msg_id=3 name=rg/one
expect REGACK msg_id=3 rc=0 topic_id=$one
EOF2

probe_check "REGISTER of a name with a wildcard is refused" r2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-r2
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=rg/+
expect REGACK msg_id=1 rc=!0
send REGISTER topic_id=0 msg_id=2 name=rg/#
expect REGACK msg_id=2 rc=!0
send PINGREQ
expect PINGRESP
EOF2

probe_check "wildcard subscription: REGISTER before the first PUBLISH, not after" r3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-r3
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=rg/w/#
expect SUBACK msg_id=1 rc=0 topic_id=0
exec pub rg/w/x first -q 1
expect REGISTER name=rg/w/x topic_id=!0 msg_id=!0 save=tid
ack
expect PUBLISH qos=1 type=normal topic_id=$tid data=first
ack
exec pub rg/w/x second -q 1
expect PUBLISH qos=1 type=normal topic_id=$tid data=second
ack
exec pub rg/w/y/z other -q 0
expect REGISTER name=rg/w/y/z topic_id=!$tid save=tid2
ack
expect PUBLISH qos=0 topic_id=$tid2 data=other
EOF2

# A topic the client registered itself is not registered again downlink.
probe_check "a name the client registered is used downlink without REGISTER" r4 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-r4
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=rg/m/known
expect REGACK msg_id=1 rc=0 save=tid
send SUBSCRIBE qos=1 msg_id=2 topic=rg/m/+
expect SUBACK msg_id=2 rc=0 topic_id=0
exec pub rg/m/known hello -q 1
expect PUBLISH qos=1 topic_id=$tid data=hello
ack
EOF2

SUB_FORMAT='%t %p' sub_start "$T/up.txt" 'rg/#'
probe_check "an id the bridge registered works uplink too" r5 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-r5
expect CONNACK rc=0
send SUBSCRIBE qos=0 msg_id=1 topic=rg/b/+
expect SUBACK msg_id=1 rc=0
exec pub rg/b/down down -q 0
expect REGISTER name=rg/b/down save=tid
ack
expect PUBLISH topic_id=$tid data=down
send UNSUBSCRIBE msg_id=2 topic=rg/b/+
expect UNSUBACK msg_id=2
send PUBLISH qos=1 topic_id=$tid msg_id=7 data=back-up
expect PUBACK msg_id=7 rc=0
exec wait_grep $T/up.txt "^rg/b/down back-up$" 10
EOF2
