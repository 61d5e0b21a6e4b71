#!/usr/bin/env bash
# bridge_connect.sh - CONNECT (MQTT-SN 1.2, 6.3): a clean session, the Will
# exchange, Will updates (6.4), PINGREQ (6.11), DISCONNECT (6.12), and the
# same over IPv6, through the real sn-bridge to a real mosquitto.
. "$(dirname "$0")/lib.sh"

start_broker
P6=$(freeport udp 6)
bridge_conf "listen [::1]:$P6"
start_bridge

probe_check "clean CONNECT, PINGREQ, DISCONNECT" c1 <<'EOF2'
send CONNECT clean=1 will=0 duration=60 id=st-c1
expect CONNACK rc=0
send PINGREQ
expect PINGRESP
send DISCONNECT
expect DISCONNECT
EOF2
check "the broker saw st-c1 disconnect cleanly" \
	wait_grep "$T/mosquitto.log" "Client [^ ]*st-c1[^ ]* disconnected\." 10

sub_start "$T/will.txt" 'will/#'

# The Will is asked for before CONNACK; a normal DISCONNECT must not fire it.
probe_check "CONNECT with Will: WILLTOPICREQ, WILLMSGREQ, then CONNACK" c2 <<'EOF2'
send CONNECT clean=1 will=1 duration=60 id=st-c2
expect WILLTOPICREQ
send WILLTOPIC qos=1 retain=0 topic=will/c2
expect WILLMSGREQ
send WILLMSG data=c2-gone
expect CONNACK rc=0
send DISCONNECT
expect DISCONNECT
EOF2
check "the broker saw st-c2 disconnect cleanly" \
	wait_grep "$T/mosquitto.log" "Client [^ ]*st-c2[^ ]* disconnected\." 10
check "a clean DISCONNECT does not publish the Will" \
	lacks "$T/will.txt" "c2-gone"

# Updated Will topic and message, then silence past the keep-alive: the
# Will that fires is the updated one.
probe_check "WILLTOPICUPD and WILLMSGUPD are answered with rc 0" c3 <<'EOF2'
send CONNECT clean=1 will=1 duration=2 id=st-c3
expect WILLTOPICREQ
send WILLTOPIC qos=1 retain=0 topic=will/c3
expect WILLMSGREQ
send WILLMSG data=c3-first
expect CONNACK rc=0
send WILLTOPICUPD qos=1 retain=0 topic=will/c3b
expect WILLTOPICRESP rc=0
send WILLMSGUPD data=c3-updated
expect WILLMSGRESP rc=0
EOF2
check "the updated Will fires once the keep-alive lapses" \
	wait_grep "$T/will.txt" "^will/c3b c3-updated$" 20
check "the first Will topic and message are not published" \
	lacks "$T/will.txt" "c3-first\|^will/c3 "

# Updating the Will must never publish one: a client that updates it
# several times in a row, then disconnects cleanly, leaves no Will.
probe_check "five Will updates in a row, then a clean DISCONNECT" c4 <<'EOF2'
send CONNECT clean=1 will=1 duration=60 id=st-c4
expect WILLTOPICREQ
send WILLTOPIC qos=1 retain=0 topic=will/c4-0
expect WILLMSGREQ
send WILLMSG data=c4-msg-0
expect CONNACK rc=0
send WILLTOPICUPD qos=1 retain=0 topic=will/c4-1
expect WILLTOPICRESP rc=0
send WILLMSGUPD data=c4-msg-1
expect WILLMSGRESP rc=0
send WILLTOPICUPD qos=1 retain=0 topic=will/c4-2
expect WILLTOPICRESP rc=0
send WILLMSGUPD data=c4-msg-2
expect WILLMSGRESP rc=0
send WILLTOPICUPD qos=1 retain=0 topic=will/c4-3
expect WILLTOPICRESP rc=0
send WILLMSGUPD data=c4-msg-3
expect WILLMSGRESP rc=0
send WILLTOPICUPD qos=1 retain=0 topic=will/c4-4
expect WILLTOPICRESP rc=0
send WILLMSGUPD data=c4-msg-4
expect WILLMSGRESP rc=0
send WILLTOPICUPD qos=1 retain=0 topic=will/c4-5
expect WILLTOPICRESP rc=0
send WILLMSGUPD data=c4-msg-5
expect WILLMSGRESP rc=0
send DISCONNECT
expect DISCONNECT
EOF2
check "the broker saw st-c4 disconnect cleanly at the end" \
	wait_grep "$T/mosquitto.log" "Received DISCONNECT from st-c4" 10 6
check "no Will was published while the Will was updated" lacks "$T/will.txt" "c4-"

BRIDGE_HOST=::1 BRIDGE_PORT=$P6 probe_check "CONNECT over IPv6 ([::1])" c6 <<'EOF2'
send SEARCHGW radius=0
expect GWINFO
send CONNECT clean=1 duration=60 id=st-c6
expect CONNACK rc=0
send PINGREQ
expect PINGRESP
send DISCONNECT
expect DISCONNECT
EOF2

# A second CONNECT on a live session is answered again (a client that
# missed the CONNACK retries it).
probe_check "a repeated CONNECT is answered again" c7 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-c7
expect CONNACK rc=0
send CONNECT clean=1 duration=60 id=st-c7
expect CONNACK rc=0
send PINGREQ
expect PINGRESP
EOF2

# A broker connection costs the bridge one descriptor, its socket: not the
# socket pair libmosquitto would open for its threaded loop
# (bridge/broker_nopair.c).
FDS_IDLE=$(ls "/proc/$BRIDGE_PID/fd" | wc -l)
probe_check "a client's broker connection holds one descriptor" c8 <<EOF2
send CONNECT clean=1 duration=60 id=st-c8
expect CONNACK rc=0
exec test "\$(ls /proc/$BRIDGE_PID/fd | wc -l)" -eq $((FDS_IDLE + 1))
send DISCONNECT
expect DISCONNECT
EOF2
check "no socket pair warning from libmosquitto in the log" lacks "$BRIDGE_LOG" "socket pair"
