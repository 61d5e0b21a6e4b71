#!/usr/bin/env bash
# bridge_session.sh - persistent sessions (MQTT-SN 1.2, 6.3, 6.5): after a
# CONNECT with CleanSession=0 the subscriptions survive a DISCONNECT, what
# was published meanwhile is delivered, and the bridge REGISTERs the topic
# ids again before it uses them; CleanSession=1 starts afresh.
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge

probe_check "persistent session: subscribe, disconnect" ps1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-ps
expect CONNACK rc=0
send DISCONNECT
expect DISCONNECT
send CONNECT clean=0 duration=60 id=st-ps
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=ps/exact
expect SUBACK msg_id=1 rc=0 topic_id=!0
send SUBSCRIBE qos=1 msg_id=2 topic=ps/w/+
expect SUBACK msg_id=2 rc=0 topic_id=0
send DISCONNECT
expect DISCONNECT
EOF2
pub ps/exact while-away-1 -q 1
pub ps/w/x while-away-2 -q 1

probe_check "reconnect without CleanSession: re-REGISTER, then what was published meanwhile" ps2 <<'EOF2'
send CONNECT clean=0 duration=60 id=st-ps
expect CONNACK rc=0
expect REGISTER name=ps/exact topic_id=!0 save=t1
ack
expect PUBLISH qos=1 topic_id=$t1 data=while-away-1
ack
expect REGISTER name=ps/w/x topic_id=!0 save=t2
ack
expect PUBLISH qos=1 topic_id=$t2 data=while-away-2
ack
exec pub ps/exact live -q 1
expect PUBLISH qos=1 topic_id=$t1 data=live
ack
send DISCONNECT
expect DISCONNECT
EOF2

probe_check "reconnect with CleanSession: the subscriptions are gone" ps3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-ps
expect CONNACK rc=0
exec pub ps/exact after-clean -q 1
exec pub ps/w/y after-clean -q 1
expect none within=1
EOF2
