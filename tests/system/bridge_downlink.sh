#!/usr/bin/env bash
# bridge_downlink.sh - PUBLISH from the broker to a subscribed client
# (MQTT-SN 1.2, 6.6, 6.9) at QoS 0, 1 and 2 with the client's acks; the QoS
# is the lower of the subscription's and the publisher's; an unacknowledged
# QoS 1 PUBLISH is retransmitted with DUP, an unanswered PUBREL too; retained
# messages come down with retain=1; two subscribers each get theirs.
. "$(dirname "$0")/lib.sh"

start_broker
bridge_conf "retry_initial_ms 500" "retry_min_ms 500" "retry_max_ms 1000"
start_bridge

probe_check "downlink QoS 0, 1 and 2 from mosquitto_pub" d1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-d1
expect CONNACK rc=0
send SUBSCRIBE qos=2 msg_id=1 topic=dn/a
expect SUBACK msg_id=1 rc=0 qos=2 topic_id=!0 save=tid
exec pub dn/a m0 -q 0
expect PUBLISH qos=0 type=normal topic_id=$tid data=m0
exec pub dn/a m1 -q 1
expect PUBLISH qos=1 type=normal topic_id=$tid msg_id=!0 data=m1 dup=0
ack
exec pub dn/a m2 -q 2
expect PUBLISH qos=2 type=normal topic_id=$tid msg_id=!0 data=m2 dup=0
ack
expect PUBREL
ack
expect none within=1.5
EOF2

probe_check "the QoS is the lower of subscription and publication" d2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-d2
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=dn/b
expect SUBACK msg_id=1 rc=0 qos=1 save=tid
exec pub dn/b two-to-one -q 2
expect PUBLISH qos=1 topic_id=$tid data=two-to-one
ack
send SUBSCRIBE qos=0 msg_id=2 topic=dn/c
expect SUBACK msg_id=2 rc=0 qos=0 save=tid2
exec pub dn/c one-to-zero -q 1
expect PUBLISH qos=0 topic_id=$tid2 data=one-to-zero
EOF2

probe_check "an unacknowledged QoS 1 PUBLISH is sent again with DUP" d3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-d3
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=dn/retry
expect SUBACK msg_id=1 rc=0 save=tid
exec pub dn/retry again -q 1
expect PUBLISH qos=1 topic_id=$tid data=again dup=0 save_msg_id=mid
expect PUBLISH qos=1 topic_id=$tid data=again dup=1 msg_id=$mid within=10
ack
expect none within=1.5
EOF2

probe_check "QoS 2: an unanswered PUBREL is sent again; the message is not" d3b <<'EOF2'
send CONNECT clean=1 duration=60 id=st-d3b
expect CONNACK rc=0
send SUBSCRIBE qos=2 msg_id=1 topic=dn/rel
expect SUBACK msg_id=1 rc=0 save=tid
exec pub dn/rel twice-rel -q 2
expect PUBLISH qos=2 topic_id=$tid data=twice-rel save_msg_id=mid
ack
expect PUBREL msg_id=$mid
expect PUBREL msg_id=$mid within=10
ack
expect none within=1.5
EOF2

pub dn/retained kept-value -q 1 -r
probe_check "SUBSCRIBE to a topic with a retained message: PUBLISH with retain=1" d3c <<'EOF2'
send CONNECT clean=1 duration=60 id=st-d3c
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=dn/retained
expect SUBACK msg_id=1 rc=0 save=tid
expect PUBLISH qos=1 retain=1 topic_id=$tid data=kept-value
ack
exec pub dn/retained live-value -q 1
expect PUBLISH qos=1 retain=0 topic_id=$tid data=live-value
ack
EOF2

probe_check "a PUBLISH larger than 255 octets goes down whole" d4 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-d4
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=dn/long
expect SUBACK msg_id=1 rc=0 save=tid
exec pub dn/long "$(head -c 700 /dev/zero | tr '\0' z)" -q 1
expect PUBLISH qos=1 topic_id=$tid len=700
ack
EOF2

# Two clients on the same topic: each gets its own copy.
probe_bg d5 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-d5
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=dn/both
expect SUBACK msg_id=1 rc=0
exec touch $T/d5.ready
expect PUBLISH qos=1 data=to-both within=15
ack
EOF2
probe_bg d6 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-d6
expect CONNACK rc=0
send SUBSCRIBE qos=1 msg_id=1 topic=dn/both
expect SUBACK msg_id=1 rc=0
exec touch $T/d6.ready
expect PUBLISH qos=1 data=to-both within=15
ack
EOF2
if wait_until 10 test -e "$T/d5.ready" -a -e "$T/d6.ready"; then
	pub dn/both to-both -q 1
fi
probe_wait d5
r5=$?
probe_wait d6
r6=$?
check "two subscribed clients each get the message" test "$r5$r6" = 00
