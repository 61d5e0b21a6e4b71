#!/usr/bin/env bash
# make demo: the main job, end to end, on 127.0.0.1.
#
# A private mosquitto, the real sn-bridge, a weather station (sn-pub with
# its on-disk queue) publishing the Seattle hourly records at QoS 1, and a
# subscriber on the broker. Midway the broker goes down for a few seconds:
# the bridge answers the station with "congestion" instead of acknowledging
# what it cannot deliver, the station keeps the readings on disk and retries,
# and when the broker is back the backlog drains. The demo ends by itself,
# says what arrived, and leaves no process behind.
#
#   DEMO_RECORDS   how many readings (default 240)
#   DEMO_RATE      readings per second from the station (default 20)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# The process and broker helpers of the system tests: a private mosquitto
# on a free port, the bridge, waiting with deadlines, cleanup on exit.
# shellcheck source=../tests/system/lib.sh
. "$here/../tests/system/lib.sh"

records=${DEMO_RECORDS:-240}
rate=${DEMO_RATE:-20}
data=${SNBRIDGE_DATA:-$ROOT/../shared/data}
csv=$data/telemetry/seattle-weather-hourly-normals.csv
PUB=$BUILD_DIR/bin/sn-pub
[ -r "$csv" ] || bail "missing $csv (the shared data folder beside the project)"
[ -x "$PUB" ] || bail "$PUB is missing: run make first"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "1. A private mosquitto on 127.0.0.1 and sn-bridge in front of it"
start_broker "persistence true" "persistence_location $T/" "autosave_interval 0"
bridge_conf "log_level info"
start_bridge
echo "   broker 127.0.0.1:$BROKER_PORT (MQTT), bridge 127.0.0.1:$BRIDGE_PORT (MQTT-SN/UDP)"

say "2. A subscriber on the broker: stations/#"
received=$T/received.txt
# A persistent session (-c) so that the broker keeps the subscription, and
# what arrives for it, across its own restart below.
stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -i demo-subscriber -c -q 1 \
	-t 'stations/#' -v >"$received" 2>>"$T/sub.err" &
track $!
wait_grep "$T/mosquitto.log" "Sending SUBACK to demo-subscriber" 10 ||
	bail "the subscriber was not subscribed within 10 s"

say "3. Station mast-1 publishes $records hourly weather records at QoS 1, $rate a second"
# The CSV's records as the compact JSON a station sends (LINKS.md).
awk -F, -v n="$records" 'NR > 1 && NR <= n + 1 {
	printf "{\"ts\":\"%s\",\"pressure_hpa\":%s,\"temp_c\":%s,\"wind_ms\":%s}\n", $1, $2, $3, $4
}' "$csv" >"$T/readings.txt"
published=$(wc -l <"$T/readings.txt")
# The station's clock: one reading every 1/rate s (pacing, not a wait).
pace=$(awk -v r="$rate" 'BEGIN { printf "%.3f", 1 / r }')
while IFS= read -r line; do
	printf '%s\n' "$line"
	sleep "$pace"
done <"$T/readings.txt" |
	"$PUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -i mast-1 -t stations/mast-1/weather -q 1 -l \
		--queue "$T/station-queue" --rto 500 --timeout 120 >"$T/station.log" 2>&1 &
station=$!
track "$station"

arrived() { [ -f "$received" ] && wc -l <"$received" | tr -d ' '; }
wait_until 30 lines_at_least "$received" $((published / 4)) ||
	bail "readings did not start arriving within 30 s"
echo "   $(arrived) readings arrived so far"

say "4. Outage: the broker goes down for 5 seconds"
stop_broker
down_at=$(date +%s)
echo "   broker stopped; the bridge now answers the station with 'congestion',"
echo "   and the station keeps its readings in its on-disk queue"
sleep 5 # the outage's length: pacing, not a wait for something
echo "   after $(($(date +%s) - down_at)) s the broker is back"
start_broker "persistence true" "persistence_location $T/" "autosave_interval 0"

say "5. The backlog drains"
if ! wait_until 90 lines_at_least "$received" "$published"; then
	notok "only $(arrived) of $published readings arrived within 90 s"
	show "station" "$T/station.log"
	exit 1
fi
wait "$station"
station_rc=$?
untrack "$station"

unique=$(sort -u "$received" | wc -l | tr -d ' ')
missing=$(cut -d' ' -f2- "$received" | sort -u | comm -13 - <(sort -u "$T/readings.txt") | wc -l)
kill -USR1 "$BRIDGE_PID" 2>/dev/null
wait_grep "$BRIDGE_LOG" "stats client mast-1:" 5 || true
# stat NAME: a counter from the bridge's SIGUSR1 statistics line.
stat() { grep -m1 ': stats: ' "$BRIDGE_LOG" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
refused=$(stat drop_congestion)

say "6. What this showed"
echo "   published by the station: $published"
echo "   received by the subscriber: $(arrived) ($unique distinct, $missing missing)"
echo "   publishes the bridge refused with 'congestion' while the broker was down: ${refused:-?}"
echo "   station exit status: $station_rc (0: every reading acknowledged)"
if [ "$missing" -eq 0 ] && [ "$station_rc" -eq 0 ] && [ "${refused:-0}" -gt 0 ]; then
	ok "every reading crossed the outage and reached the subscriber"
else
	notok "missing $missing, station exit $station_rc, refused ${refused:-0} (the outage must be crossed)"
fi
echo
echo "   the bridge's statistics (SIGUSR1):"
grep -E ': stats( clients| client mast-1)?: ' "$BRIDGE_LOG" | cut -d' ' -f3- | fold -w 74 -s | sed 's/^/     /'
stop_bridge || notok "sn-bridge did not exit cleanly"
