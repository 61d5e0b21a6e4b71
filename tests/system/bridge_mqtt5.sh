#!/usr/bin/env bash
# bridge_mqtt5.sh - MQTT 5 toward the broker (mqtt_version 5): the broker
# sees protocol version 5, and publishes flow both ways.
. "$(dirname "$0")/lib.sh"

start_broker
bridge_conf "mqtt_version 5"
start_bridge
SUB_FORMAT='%t %q %p' sub_start "$T/up.txt" 'v5/#'

probe_check "CONNECT, PUBLISH QoS 1 and 2, SUBSCRIBE over an MQTT 5 broker connection" v1 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-v5
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=v5/up
expect REGACK msg_id=1 rc=0 save=tid
send PUBLISH qos=1 topic_id=$tid msg_id=2 data=five-q1
expect PUBACK msg_id=2 rc=0
send PUBLISH qos=2 topic_id=$tid msg_id=3 data=five-q2
expect PUBREC msg_id=3
send PUBREL msg_id=3
expect PUBCOMP msg_id=3
send SUBSCRIBE qos=1 msg_id=4 topic=v5/down
expect SUBACK msg_id=4 rc=0 save=down
exec pub v5/down five-down -q 1
expect PUBLISH qos=1 topic_id=$down data=five-down
ack
EOF2
check "the broker saw an MQTT 5 connection (p5)" \
	grep -q "New client connected .* (p5, " "$T/mosquitto.log"
check "the QoS 1 publish arrived at QoS 1" wait_grep "$T/up.txt" "^v5/up 1 five-q1$" 10
check "the QoS 2 publish arrived at QoS 2" wait_grep "$T/up.txt" "^v5/up 2 five-q2$" 10
check "each exactly once" \
	test "$(count_exact "$T/up.txt" "v5/up 1 five-q1")$(count_exact "$T/up.txt" "v5/up 2 five-q2")" = 11
