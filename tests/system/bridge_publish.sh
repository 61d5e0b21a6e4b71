#!/usr/bin/env bash
# bridge_publish.sh - PUBLISH from a client (MQTT-SN 1.2, 6.6) at QoS 0, 1
# and 2, checked at a mosquitto_sub subscriber: the QoS the broker got, the
# retain flag, long payloads (3-octet length header), exactly once under
# DUP retransmission of a QoS 2 PUBLISH, and an unknown topic id refused.
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge
SUB_FORMAT='%t %q %p' sub_start "$T/up.txt" 'up/#'

probe_check "REGISTER, then PUBLISH at QoS 0, 1 and 2 with their acks" p1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-p1
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=up/a
expect REGACK msg_id=1 rc=0 topic_id=!0 save=tid
send PUBLISH qos=0 topic_id=$tid data=q0
send PUBLISH qos=1 topic_id=$tid msg_id=2 data=q1
expect PUBACK msg_id=2 topic_id=$tid rc=0
send PUBLISH qos=2 topic_id=$tid msg_id=3 data=q2
expect PUBREC msg_id=3
send PUBREL msg_id=3
expect PUBCOMP msg_id=3
exec wait_lines $T/up.txt 3 10
EOF2
check "QoS 0 reaches the subscriber at QoS 0" test "$(count_exact "$T/up.txt" "up/a 0 q0")" -eq 1
check "QoS 1 reaches the subscriber at QoS 1" test "$(count_exact "$T/up.txt" "up/a 1 q1")" -eq 1
check "QoS 2 reaches the subscriber at QoS 2" test "$(count_exact "$T/up.txt" "up/a 2 q2")" -eq 1
check "in order" test "$(cut -d' ' -f3 "$T/up.txt" | tr '\n' ' ')" = "q0 q1 q2 "

# QoS 2 exactly once: the PUBLISH is repeated with DUP (its PUBREC "lost"),
# and so is the PUBREL; then a QoS 2 marker. The subscriber prints QoS 2
# messages in order, so when the marker is there, every copy of the message
# is too: it must be there exactly once.
: >"$T/up.txt"
probe_check "QoS 2 with DUP retransmissions of PUBLISH and PUBREL" p2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-p2
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=up/once
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=2 topic_id=$tid msg_id=9 data=exactly-once
expect PUBREC msg_id=9
send PUBLISH qos=2 dup=1 topic_id=$tid msg_id=9 data=exactly-once
expect PUBREC msg_id=9
send PUBLISH qos=2 dup=1 topic_id=$tid msg_id=9 data=exactly-once
expect PUBREC msg_id=9
send PUBREL msg_id=9
expect PUBCOMP msg_id=9
send PUBREL msg_id=9
expect PUBCOMP msg_id=9
send PUBLISH qos=2 topic_id=$tid msg_id=10 data=marker
expect PUBREC msg_id=10
send PUBREL msg_id=10
expect PUBCOMP msg_id=10
exec wait_grep $T/up.txt "^up/once 2 marker$" 10
EOF2
check "the subscriber sees the QoS 2 message exactly once" \
	test "$(count_exact "$T/up.txt" "up/once 2 exactly-once")" -eq 1
probe_check "the same msg id is a new message after PUBCOMP" p3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-p3
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=up/again
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=2 topic_id=$tid msg_id=5 data=first
expect PUBREC msg_id=5
send PUBREL msg_id=5
expect PUBCOMP msg_id=5
send PUBLISH qos=2 topic_id=$tid msg_id=5 data=second
expect PUBREC msg_id=5
send PUBREL msg_id=5
expect PUBCOMP msg_id=5
exec wait_grep $T/up.txt "^up/again 2 second$" 10
EOF2

# Retain: a subscriber that comes later gets the retained message.
probe_check "PUBLISH with retain=1" p4 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-p4
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=up/kept
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 retain=1 topic_id=$tid msg_id=2 data=retained-value
expect PUBACK msg_id=2 rc=0
EOF2
SUB_FORMAT='%t %r %p' sub_start "$T/late.txt" 'up/kept'
check "a later subscriber gets it as retained" wait_grep "$T/late.txt" "^up/kept 1 retained-value$" 10

# A payload that needs the 3-octet length header (message > 255 octets).
long=$(printf 'abcdefghijklmnopqrstuvwxyz%.0s' $(seq 1 24) | head -c 600)
probe_check "a 600-octet payload (3-octet length header)" p5 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-p5
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=up/long
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 size=600
expect PUBACK msg_id=2 rc=0
exec wait_grep $T/up.txt "^up/long 1 " 10
EOF2
check "the subscriber gets all 600 octets" test "$(count_exact "$T/up.txt" "up/long 1 $long")" -eq 1

probe_check "PUBLISH on a topic id never registered: PUBACK rc 2 (invalid topic id)" p6 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-p6
expect CONNACK rc=0
send PUBLISH qos=1 topic_id=4242 msg_id=3 data=nowhere
expect PUBACK msg_id=3 topic_id=4242 rc=2
EOF2

# QoS 0-2 need a connection (only QoS -1 does not, 6.8): a stranger's
# PUBLISH on a short topic name is not forwarded, whatever it is answered.
SUB_FORMAT='%t %q %p' sub_start "$T/short.txt" 'sx'
probe_check "PUBLISH QoS 1 and 0 before CONNECT (sent)" p7 <<'EOF2'
send PUBLISH qos=1 topic=sx msg_id=3 data=stranger
send PUBLISH qos=0 topic=sx data=stranger
EOF2
probe_check "then a connected client's PUBLISH on the same short name" p8 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-p8
expect CONNACK rc=0
send PUBLISH qos=1 topic=sx msg_id=4 data=member
expect PUBACK msg_id=4 rc=0
exec wait_grep $T/short.txt "^sx 1 member$" 10
EOF2
check "nothing from the unconnected client reached the broker" \
	lacks "$T/short.txt" stranger
