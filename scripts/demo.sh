#!/usr/bin/env bash
# make demo: the main job, end to end, on 127.0.0.1.
#
# Part 1, in real time: a private mosquitto, the real sn-bridge, the link
# simulator (sn-sim proxy) with the GEO satellite profile between them and a
# weather station (sn-pub with its on-disk queue) that publishes the Seattle
# hourly records at QoS 1, and a subscriber on the broker. Midway the
# simulated link goes down: the station keeps publishing into its queue,
# and the backlog drains when the link returns.
# Part 2, in virtual time: sn-sim run replays a whole day of rain fades on
# the GEO link with the real client and gateway cores in seconds, and
# writes a report, a CSV time series and an SVG timeline.
# The demo ends by itself, says what arrived, and leaves no process behind.
#
#   DEMO_RECORDS   how many readings in part 1 (default 40)
#   DEMO_RATE      readings per second from the station (default 4)
#   DEMO_OUT       where part 2's report goes (default $BUILD/demo)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# The process and broker helpers of the system tests: a private mosquitto
# on a free port, the bridge, waiting with deadlines, cleanup on exit.
# shellcheck source=../tests/system/lib.sh
. "$here/../tests/system/lib.sh"

records=${DEMO_RECORDS:-40}
rate=${DEMO_RATE:-4}
out=${DEMO_OUT:-$BUILD_DIR/demo}
outage_at=6 outage_len=12
data=${SNBRIDGE_DATA:-$ROOT/../shared/data}
csv=$data/telemetry/seattle-weather-hourly-normals.csv
PUB=$BUILD_DIR/bin/sn-pub
SIM=$BUILD_DIR/bin/sn-sim
[ -r "$csv" ] || bail "missing $csv (the shared data folder beside the project)"
[ -x "$PUB" ] && [ -x "$SIM" ] || bail "$PUB or $SIM is missing: run make first"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }

say "1. A private mosquitto on 127.0.0.1 and sn-bridge in front of it"
start_broker
bridge_conf "log_level info"
start_bridge
echo "   broker 127.0.0.1:$BROKER_PORT (MQTT), bridge 127.0.0.1:$BRIDGE_PORT (MQTT-SN/UDP)"

say "2. A subscriber on the broker: stations/#"
received=$T/received.txt
sub_start "$received" 'stations/#'

say "3. The link: sn-sim proxy, GEO satellite profile, down from ${outage_at} s for ${outage_len} s"
sim_port=$(freeport udp)
"$SIM" proxy --profile geo --seed 7 --listen "127.0.0.1:$sim_port" --to "127.0.0.1:$BRIDGE_PORT" \
	--down "${outage_at}+${outage_len}" -q >/dev/null 2>"$T/sim.log" &
sim_pid=$!
track "$sim_pid"
sim_started=$(date +%s%N)
echo "   stations send to 127.0.0.1:$sim_port; 275 ms each way, 16 kbit/s, 0.5 % loss in bursts"

say "4. Station mast-1 publishes $records hourly weather records at QoS 1, $rate a second"
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
	"$PUB" -h 127.0.0.1 -p "$sim_port" -i mast-1 -t stations/mast-1/weather -q 1 -l \
		--queue "$T/station-queue" --rto 1500 --timeout 300 >"$T/station.log" 2>&1 &
station=$!
track "$station"

arrived() { if [ -f "$received" ]; then wc -l <"$received" | tr -d ' '; else echo 0; fi; }
elapsed() { echo $((($(date +%s%N) - sim_started) / 1000000000)); }
# Progress once a second until everything arrived or a deadline passed.
deadline=$((outage_at + outage_len + 120))
last=-1
while [ "$(arrived)" -lt "$published" ] && [ "$(elapsed)" -lt "$deadline" ]; do
	t=$(elapsed)
	if [ "$t" -ne "$last" ]; then
		state=up
		if [ "$t" -ge "$outage_at" ] && [ "$t" -lt $((outage_at + outage_len)) ]; then
			state=DOWN
		fi
		printf '   t=%3ss  link %-4s  received %3s of %s\n' "$t" "$state" "$(arrived)" "$published"
		last=$t
	fi
	sleep 1 # the progress display's period, not a wait for something
done
if [ "$(arrived)" -lt "$published" ]; then
	notok "only $(arrived) of $published readings arrived within ${deadline} s"
	show "station" "$T/station.log"
	exit 1
fi
wait "$station"
station_rc=$?
untrack "$station"
kill -TERM "$sim_pid" 2>/dev/null
wait "$sim_pid" 2>/dev/null
untrack "$sim_pid"

unique=$(cut -d' ' -f2- "$received" | sort -u | wc -l | tr -d ' ')
missing=$(cut -d' ' -f2- "$received" | sort -u | comm -13 - <(sort -u "$T/readings.txt") | wc -l)

say "5. What crossed the link"
echo "   published by the station:   $published"
echo "   received by the subscriber: $(arrived) ($unique distinct, $missing missing)"
echo "   station exit status:        $station_rc (0: every reading acknowledged)"
echo "   the simulated link's counters:"
sed 's/^/     /' "$T/sim.log" | head -12
if [ "$missing" -eq 0 ] && [ "$station_rc" -eq 0 ]; then
	ok "every reading crossed the outage and reached the subscriber"
else
	notok "missing $missing, station exit $station_rc"
fi
stop_bridge || notok "sn-bridge did not exit cleanly"

say "6. A whole day in virtual time: sn-sim run, the GEO rain-fade trace of LINKS.md"
mkdir -p "$out" || bail "cannot create $out"
scenario=$ROOT/sim/scenarios/geo-rain-fade-24h.scn
if "$SIM" run -q --timing --fail-on-loss --out "$out" "$scenario" 2>"$T/run.err"; then
	r=$out/report.txt
	# fig NAME: the first figure on the report line "  NAME   N".
	fig() { grep -E -m1 "^ +$1 +[0-9.]+" "$r" | awk '{print $NF}'; }
	echo "   a station publishing a weather record every minute for 24 h at QoS 1,"
	echo "   the real client and gateway cores, a day of rain fades; replayed in:"
	sed 's/^timing: /     /' "$T/run.err"
	echo "   published $(fig published), delivered $(fig delivered), lost $(fig lost), duplicated $(fig duplicated)"
	echo "   delay to the broker: median $(grep -m1 -E '^ +median' "$r" | awk '{print $2, $3}'), 99th percentile $(grep -m1 -E '^ +99th' "$r" | awk '{print $3, $4}')"
	echo "   the report:       $r"
	echo "   the time series:  $out/series.csv"
	echo "   the timeline:     $out/timeline.svg  (open it in a browser)"
	ok "a day of outages replayed in virtual time with nothing lost"
else
	show "sn-sim run" "$T/run.err"
	notok "sn-sim run $scenario failed or lost messages"
fi
