#!/usr/bin/env bash
# bridge_forwarder.sh - forwarder encapsulation (MQTT-SN 1.2, 5.5): clients
# behind a forwarder reach the bridge wrapped in 0xFE with their wireless
# node id; the bridge answers each one wrapped with the same node id, and
# two nodes behind one forwarder address are two clients.
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge
SUB_FORMAT='%t %q %p' sub_start "$T/up.txt" 'fw/#'

probe_check "CONNECT, REGISTER, PUBLISH, SUBSCRIBE through a forwarder" f1 <<'EOF2'
encap node=0a0b radius=1
send CONNECT clean=1 duration=60 id=st-f1
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=fw/up
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 data=via-forwarder
expect PUBACK msg_id=2 rc=0
send SUBSCRIBE qos=1 msg_id=3 topic=fw/down
expect SUBACK msg_id=3 rc=0 save=down
exec pub fw/down to-node -q 1
expect PUBLISH qos=1 topic_id=$down data=to-node
ack
send PINGREQ
expect PINGRESP
exec wait_grep $T/up.txt "^fw/up 1 via-forwarder$" 10
EOF2

probe_check "two nodes behind one forwarder address are two clients" f2 <<'EOF2'
encap node=01
send CONNECT clean=1 duration=60 id=st-f2-one
expect CONNACK rc=0
send SUBSCRIBE qos=0 msg_id=1 topic=fw/one
expect SUBACK msg_id=1 rc=0 save=one
encap node=02
send CONNECT clean=1 duration=60 id=st-f2-two
expect CONNACK rc=0
send SUBSCRIBE qos=0 msg_id=1 topic=fw/two
expect SUBACK msg_id=1 rc=0 save=two
exec pub fw/two for-two
expect PUBLISH topic_id=$two data=for-two
encap node=01
exec pub fw/one for-one
expect PUBLISH topic_id=$one data=for-one
send DISCONNECT
expect DISCONNECT
encap node=02
send PINGREQ
expect PINGRESP
EOF2

probe_check "a node id longer than the bridge allows is dropped; the bridge keeps serving" f3 <<'EOF2'
encap node=000102030405060708090a0b0c0d0e0f101112131415161718
send CONNECT clean=1 duration=60 id=st-f3
encap off
expect none within=1
send SEARCHGW radius=0
expect GWINFO
EOF2
