#!/usr/bin/env bash
# bridge_keepalive.sh - keep alive (MQTT-SN 1.2, 6.11): a client that keeps
# pinging within its 2 s keep-alive stays connected; one that falls silent
# is lost and its Will is published (waited for with a deadline).
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge
sub_start "$T/will.txt" 'ka/#'

# Pings every second (an explicit, bounded "expect none" between them) for
# about 4 s, twice the keep-alive.
probe_check "a client that pings stays connected" k1 <<'EOF2'
send CONNECT clean=1 will=1 duration=2 id=st-k1
expect WILLTOPICREQ
send WILLTOPIC qos=1 topic=ka/k1
expect WILLMSGREQ
send WILLMSG data=k1-lost
expect CONNACK rc=0
expect none within=1
send PINGREQ
expect PINGRESP
expect none within=1
send PINGREQ
expect PINGRESP
expect none within=1
send PINGREQ
expect PINGRESP
expect none within=1
send PINGREQ
expect PINGRESP
send SUBSCRIBE qos=0 msg_id=1 topic=ka/alive
expect SUBACK msg_id=1 rc=0 save=tid
exec pub ka/alive still-here
expect PUBLISH topic_id=$tid data=still-here
send DISCONNECT
expect DISCONNECT
EOF2
check "its Will was not published" lacks "$T/will.txt" k1-lost

probe_check "a client with a Will and a 2 s keep-alive connects, then falls silent" k2 <<'EOF2'
send CONNECT clean=1 will=1 duration=2 id=st-k2
expect WILLTOPICREQ
send WILLTOPIC qos=1 retain=0 topic=ka/k2
expect WILLMSGREQ
send WILLMSG data=k2-lost
expect CONNACK rc=0
EOF2
# 2 s plus the tolerance of 6.11 (+50 % under a minute) plus the broker's
# own delivery: 15 s is a generous deadline for a condition polled at 50 ms.
check "its Will is published once the keep-alive lapses" wait_grep "$T/will.txt" "^ka/k2 k2-lost$" 15
check "exactly once" test "$(count_exact "$T/will.txt" "ka/k2 k2-lost")" -eq 1

probe_check "the lost client can connect again" k3 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-k2
expect CONNACK rc=0
send PINGREQ
expect PINGRESP
EOF2
