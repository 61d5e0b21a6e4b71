#!/usr/bin/env bash
# bridge_broker_restart.sh - the broker goes away and comes back on the same
# port: meanwhile CONNECT and QoS 1 PUBLISH are answered with the congestion
# return code (MQTT-SN 1.2, 5.3.10: 0x01), the bridge survives, reconnects
# by itself once the broker is back, and traffic flows again.
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge
SUB_FORMAT='%t %p' sub_start "$T/up.txt" 'br/#'

probe_check "before the outage: PUBLISH QoS 1 is acknowledged" r0 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-br0
expect CONNACK rc=0
send PUBLISH qos=1 topic=br msg_id=1 data=before
expect PUBACK msg_id=1 rc=0
exec wait_grep $T/up.txt "^br before$" 10
EOF2

# A client connected before the outage, kept open across it (in the
# background, synchronised through files).
probe_bg r1 <<'EOF2'
send CONNECT clean=1 duration=300 id=st-br1
expect CONNACK rc=0
exec touch $T/r1.connected
exec wait_until 20 test -e $T/broker.down
send PUBLISH qos=1 topic=br msg_id=1 data=during
expect PUBACK msg_id=1 rc=1 within=10
EOF2
wait_until 10 test -e "$T/r1.connected" || notok "the first client did not connect"
stop_broker
touch "$T/broker.down"
probe_wait r1
check "during the outage: a connected client's PUBLISH QoS 1 gets PUBACK rc 1 (congestion)" test $? -eq 0

probe_check "during the outage: CONNECT gets CONNACK rc 1 (congestion)" r2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-br2
expect CONNACK rc=1
EOF2
probe_check "during the outage: the bridge still answers SEARCHGW" r3 <<'EOF2'
send SEARCHGW radius=0
expect GWINFO
EOF2

start_broker
sub_start "$T/up2.txt" 'br/#'
# The bridge reconnects by itself (reconnect_min_s 1 in lib.sh); poll a
# CONNECT until it is accepted, up to a deadline.
connect_ok() {
	printf 'send CONNECT clean=1 duration=60 id=st-br4\nexpect CONNACK rc=0 within=1\n' |
		"$PROBE" -n r4 127.0.0.1 "$BRIDGE_PORT" - >/dev/null 2>&1
}
check "after the broker is back: CONNECT is accepted again (within 20 s)" wait_until 20 connect_ok
probe_check "after the broker is back: PUBLISH QoS 1 flows to a subscriber" r5 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-br5
expect CONNACK rc=0
send PUBLISH qos=1 topic=br msg_id=1 data=after
expect PUBACK msg_id=1 rc=0
exec wait_grep $T/up2.txt "^br after$" 10
EOF2
probe_check "after the broker is back: downlink flows" r6 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-br6
expect CONNACK rc=0
send SUBSCRIBE qos=1 topic=br/down msg_id=1
expect SUBACK rc=0 msg_id=1 save=tid
exec pub br/down again -q 1
expect PUBLISH qos=1 topic_id=$tid data=again
ack
EOF2
check "the bridge is still running" bridge_alive
