#!/usr/bin/env bash
# bridge_malformed.sh - malformed and invalid datagrams: the bridge drops
# them (counted), survives, and keeps serving, also the sessions of clients
# that sent them. The edges are those that broke other MQTT-SN stacks: the
# 3-octet length header (a short datagram starting with 0x01), lengths that
# disagree with the datagram, reserved types and values (MQTT-SN 1.2, 5.2).
. "$(dirname "$0")/lib.sh"

start_broker
start_bridge

id24=$(printf '61%.0s' $(seq 1 24))
cases=(
	"empty datagram|"
	"one octet 0x01|01"
	"two octets starting 0x01|0100"
	"three-octet header, no type|010003"
	"three-octet header declaring more than sent|01000516"
	"three-octet header declaring 65535|01ffff0c00"
	"length 0|0016"
	"length 1|0116"
	"length above the datagram|0516"
	"length below the datagram|02170000"
	"reserved type 0x03|0203"
	"unknown type 0xff|02ff"
	"SEARCHGW without radius|0201"
	"CONNECT truncated|0304"
	"CONNECT with protocol id 2|080404 02003c 7374|CONNACK"
	"CONNECT without client id|060404010000|CONNACK"
	"CONNECT with a 24-character client id|1e040401003c$id24|CONNACK"
	"PUBLISH with topic id type 3|080c030001000041"
	"SUBSCRIBE with topic id type 3|0712030001ab"
	"nested encapsulation|03fe0003fe000217"
	"encapsulation with a malformed inner message|03fe0005"
	"encapsulation header only|03fe00"
	"300 octets of 0xff|$(printf 'ff%.0s' $(seq 1 300))"
)
# NAME|HEX[|TYPE]: TYPE is a refusal the bridge may answer with (a message
# that parses but breaks a rule may be refused; it must not be accepted).
for c in "${cases[@]}"; do
	IFS='|' read -r name hex refusal <<<"$c"
	maybe=
	[ -n "$refusal" ] && maybe="maybe $refusal rc=!0"
	probe_check "malformed: $name; the bridge still answers" mal <<EOF2
send raw $hex
send SEARCHGW radius=0
$maybe
expect GWINFO
EOF2
done

probe_check "a connected client that sends garbage keeps its session" mal2 <<'EOF2'
send CONNECT clean=1 duration=60 id=st-mal
expect CONNACK rc=0
send SUBSCRIBE qos=0 msg_id=1 topic=mal/x
expect SUBACK msg_id=1 rc=0 save=tid
send raw 0100
send raw 03fe0005
send raw 080c030001000041
send raw 0a0c00
send PINGREQ
maybe PUBACK topic_id=1 msg_id=0 rc=!0
expect PINGRESP
exec pub mal/x still-subscribed
expect PUBLISH topic_id=$tid data=still-subscribed
EOF2

check "the bridge is still running" bridge_alive
signal_bridge USR1
check "the statistics count malformed datagrams" wait_grep "$BRIDGE_LOG" "stats: .* malformed=[1-9]" 10
