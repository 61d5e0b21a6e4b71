#!/usr/bin/env bash
# bridge_discovery.sh - gateway discovery (MQTT-SN 1.2, 6.1, 6.2): SEARCHGW
# is answered with GWINFO carrying the configured gateway id; ADVERTISE is
# sent to the configured address every advertise_interval_s.
. "$(dirname "$0")/lib.sh"

start_broker
ADV_PORT=$(freeport udp)
bridge_conf "gw_id 42" "advertise_addr 127.0.0.1:$ADV_PORT" "advertise_interval_s 1"
start_bridge

probe_check "SEARCHGW is answered with GWINFO gw_id=42" g1 <<'EOF2'
ignore ADVERTISE
send SEARCHGW radius=1
expect GWINFO gw_id=42
send SEARCHGW radius=0
expect GWINFO gw_id=42
EOF2

probe_check "ADVERTISE arrives at the configured address, and again" g2 -l "$ADV_PORT" <<'EOF2'
expect ADVERTISE gw_id=42 duration=1 within=5
expect ADVERTISE gw_id=42 duration=1 within=5
EOF2
