#!/usr/bin/env bash
# make bench: measures the figures README's performance section quotes, on
# this machine. Every loop is bounded; nothing here is a pass/fail test.
set -u
BUILD=${BUILD:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
data=${SNBRIDGE_DATA:-$root/../shared/data}
weather=$data/telemetry/seattle-weather-hourly-normals.csv
if [ ! -r "$weather" ]; then
	echo "bench: missing $weather (the shared data folder beside the project)" >&2
	exit 1
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo
echo "== codec: PUBLISH of each weather record (compact JSON), 50 rounds"
printf '%-12s %10s %10s %10s\n' op messages ns/msg MB/s
"$BUILD/tests/bench-codec" "$weather" || exit 1

echo
echo "== simulator: a 24-hour GEO day of rain fades in virtual time (sn-sim run --timing)"
for scn in geo-rain-fade-24h geo-100-stations-24h; do
	"$BUILD/bin/sn-sim" run -q --timing "sim/scenarios/$scn.scn" 2>&1 | sed "s/^/$scn: /"
done

echo
BUILD="$BUILD" bash scripts/bench-frames.sh

echo "== custody store alone (tests/tools/bench-store.c): 1,000,000 weather-sized messages from"
echo "   1,000 stations written, then recovered by opening the store; puts a second per fsync policy"
store_dir=$(mktemp -d "${TMPDIR:-/tmp}/sn-bench-store.XXXXXX") || exit 1
"$BUILD/tests/bench-store" -d "$store_dir/s" -t 10
rm -rf "$store_dir"
echo

BUILD="$BUILD" bash scripts/bench-bridge.sh
BUILD="$BUILD" bash scripts/bench-client.sh
