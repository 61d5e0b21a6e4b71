#!/usr/bin/env bash
# bridge_topics.sh - predefined topic ids, for every client and for one
# client (--predefined FILE), and two-character short topic names (MQTT-SN
# 1.2, 6.7), uplink and downlink.
. "$(dirname "$0")/lib.sh"

start_broker
cat >"$T/topics" <<'EOT'
# predefined topics for the test
10 pre/global
st-t1 20 pre/for/t1
st-t2 20 pre/for/t2
EOT
start_bridge --predefined "$T/topics"
SUB_FORMAT='%t %q %p' sub_start "$T/up.txt" 'pre/#' 'ab' 'cd'

probe_check "PUBLISH on a global predefined id, no REGISTER" t1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-t1
expect CONNACK rc=0
send PUBLISH qos=1 type=predefined topic_id=10 msg_id=1 data=g1
expect PUBACK msg_id=1 topic_id=10 rc=0
send PUBLISH qos=1 type=predefined topic_id=20 msg_id=2 data=own1
expect PUBACK msg_id=2 topic_id=20 rc=0
send PUBLISH qos=1 type=predefined topic_id=30 msg_id=3 data=none
expect PUBACK msg_id=3 topic_id=30 rc=2
exec wait_lines $T/up.txt 2 10
EOF2
check "the global predefined id maps to its topic" test "$(count_exact "$T/up.txt" "pre/global 1 g1")" -eq 1
check "the per-client predefined id maps to that client's topic" \
	test "$(count_exact "$T/up.txt" "pre/for/t1 1 own1")" -eq 1

probe_check "the same id is another client's own topic" t2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-t2
expect CONNACK rc=0
send PUBLISH qos=1 type=predefined topic_id=20 msg_id=1 data=own2
expect PUBACK msg_id=1 topic_id=20 rc=0
exec wait_grep $T/up.txt "^pre/for/t2 1 own2$" 10
EOF2

probe_check "a client with no per-client entry cannot use that id" t3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-t3
expect CONNACK rc=0
send PUBLISH qos=1 type=predefined topic_id=20 msg_id=1 data=not-mine
expect PUBACK msg_id=1 topic_id=20 rc=2
EOF2

probe_check "SUBSCRIBE by predefined id; downlink PUBLISH carries that id" t4 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-t1
expect CONNACK rc=0
send SUBSCRIBE qos=1 type=predefined topic_id=10 msg_id=1
expect SUBACK msg_id=1 rc=0 topic_id=10
exec pub pre/global from-broker -q 1
expect PUBLISH qos=1 type=predefined topic_id=10 data=from-broker
ack
send SUBSCRIBE qos=1 type=predefined topic_id=20 msg_id=2
expect SUBACK msg_id=2 rc=0 topic_id=20
exec pub pre/for/t1 mine -q 1
expect PUBLISH qos=1 type=predefined topic_id=20 data=mine
ack
send SUBSCRIBE qos=1 type=predefined topic_id=99 msg_id=3
expect SUBACK msg_id=3 rc=2
EOF2

probe_check "short topic names uplink" t5 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-t5
expect CONNACK rc=0
send PUBLISH qos=0 topic=ab data=s0
send PUBLISH qos=1 topic=ab msg_id=1 data=s1
expect PUBACK msg_id=1 rc=0
send PUBLISH qos=2 topic=cd msg_id=2 data=s2
expect PUBREC msg_id=2
send PUBREL msg_id=2
expect PUBCOMP msg_id=2
exec wait_grep $T/up.txt "^cd 2 s2$" 10
EOF2
check "short names reach the broker as two-character topics" \
	test "$(count_exact "$T/up.txt" "ab 0 s0")$(count_exact "$T/up.txt" "ab 1 s1")" = 11

probe_check "SUBSCRIBE to a short name; downlink on the short name" t6 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-t6
expect CONNACK rc=0
send SUBSCRIBE qos=1 type=short topic=zz msg_id=1
expect SUBACK msg_id=1 rc=0
exec pub zz short-down -q 1
expect PUBLISH qos=1 type=short topic=zz data=short-down
ack
EOF2
