#!/usr/bin/env bash
# bridge_rebind.sh - a client whose address changes (a new source port, as
# after a NAT rebinding or a modem reset) reconnects from the new address
# and takes its session over; the old address gets nothing any more.
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge
SUB_FORMAT='%t %p' sub_start "$T/up.txt" 'rb/#'

probe_check "CONNECT again from a new port takes the session; the old port gets nothing" b1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-b1
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=rb/down
expect SUBACK msg_id=1 rc=0 save=tid
send REGISTER topic_id=0 msg_id=2 name=rb/up
expect REGACK msg_id=2 rc=0 save=up
rebind keep=1
send CONNECT clean=0 duration=60 id=st-b1
expect CONNACK rc=0
autoack REGISTER
exec pub rb/down to-new-port -q 1
expect PUBLISH qos=1 data=to-new-port
ack
send PUBLISH qos=1 topic_id=$up msg_id=3 data=from-new-port
expect PUBACK msg_id=3 rc=0
exec wait_grep $T/up.txt "^rb/up from-new-port$" 10
expect none within=1
EOF2

probe_check "a clean CONNECT from a new port also replaces the old address" b2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-b2
expect CONNACK rc=0
send SUBSCRIBE qos=0 msg_id=1 topic=rb/b2
expect SUBACK msg_id=1 rc=0
rebind keep=1
send CONNECT clean=1 duration=60 id=st-b2
expect CONNACK rc=0
send SUBSCRIBE qos=0 msg_id=2 topic=rb/b2
expect SUBACK msg_id=2 rc=0 save=tid
exec pub rb/b2 once -q 0
expect PUBLISH topic_id=$tid data=once
expect none within=1
EOF2
