#!/usr/bin/env bash
# bench-client.sh - how fast sn-pub empties its persistent queue once the
# link is back: messages per second, stop-and-wait (window 1, MQTT-SN 1.2
# as written, 6.6) against a window of 16, at QoS 1 and 2, on loopback and
# over a 600 ms round trip. Called by scripts/bench.sh; runs alone too:
#   BUILD=build bash scripts/bench-client.sh
#
# The queue is filled while no gateway answers (the outage), copied for
# each run, and drained by one sn-pub run against a private mosquitto and
# sn-bridge. The time of a run with an empty queue (CONNECT and DISCONNECT)
# is taken off, so the rate is the queue's alone. Topics are predefined ids:
# no REGISTER round trip.
#
# The 600 ms round trip: a network namespace made here, with netem holding
# every UDP datagram 300 ms on its loopback (TCP between the bridge and its
# broker is not delayed: they sit together at the ground station), and
# mosquitto, sn-bridge and sn-pub all inside it; the namespace is deleted at
# the end. Where namespaces or netem are not available (no root, no
# sch_netem), the link simulator (sn-sim proxy) holds each datagram 300 ms
# each way on plain loopback instead, and the table says which one was used.
#
# Every run is bounded (timeout); the whole script takes well under two
# minutes. Nothing here is a pass/fail test.
set -u
BUILD=${BUILD:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
case "$BUILD" in /*) bin=$BUILD/bin ;; *) bin=$root/$BUILD/bin ;; esac
PUB=$bin/sn-pub
BRIDGE=$bin/sn-bridge
SIM=$bin/sn-sim
for b in "$PUB" "$BRIDGE" "$SIM"; do
	[ -x "$b" ] || { echo "bench-client: $b is missing (make BUILD=$BUILD build)" >&2; exit 1; }
done
command -v mosquitto >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
command -v mosquitto >/dev/null 2>&1 || { echo "bench-client: mosquitto is not installed" >&2; exit 1; }

data=${SNBRIDGE_DATA:-$root/../shared/data}
weather=$data/telemetry/seattle-weather-hourly-normals.csv
T=$(mktemp -d "${TMPDIR:-/tmp}/sn-bench-client.XXXXXX") || exit 1
NS=
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The payloads: weather records, or generated lines when the corpus is missing.
if [ -r "$weather" ]; then
	tail -n +2 "$weather" | head -n 2000 >"$T/lines.txt"
else
	echo "bench-client: missing $weather: generated lines instead" >&2
	for ((i = 0; i < 2000; i++)); do echo "2010-01-01T00:00:00,1016.$((i % 10)),4.0,3.8"; done >"$T/lines.txt"
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# until_ok SECONDS CMD...: run CMD every 50 ms until it succeeds (bounded).
until_ok() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# ---------------------------------------------------------------- one setup

# start_pair PREFIX BROKER_PORT BRIDGE_PORT: mosquitto and sn-bridge, each
# run through PREFIX (empty, or "ip netns exec NS").
start_pair() {
	local prefix=$1 bport=$2 gport=$3
	{
		echo "listener $bport 127.0.0.1"
		echo "allow_anonymous true"
		echo "persistence false"
		echo "user $(id -un)"
	} >"$T/mosquitto-$bport.conf"
	$prefix mosquitto -c "$T/mosquitto-$bport.conf" >"$T/mosquitto-$bport.log" 2>&1 &
	PIDS+=($!)
	{
		echo "listen 127.0.0.1:$gport"
		echo "broker 127.0.0.1:$bport"
		echo "max_inflight 64"
		echo "log_level warn"
	} >"$T/bridge-$gport.conf"
	printf '1 bench/client\n' >"$T/predefined.conf"
	# The bridge comes up once the broker answers; sn-pub retries CONNECT.
	$prefix "$BRIDGE" -c "$T/bridge-$gport.conf" --predefined "$T/predefined.conf" \
		>"$T/bridge-$gport.log" 2>&1 &
	PIDS+=($!)
}

# A queue of n messages at qos, filled while nothing answers.
fill() {
	local n=$1 qos=$2 dir=$T/fill-$1-$2 dead
	[ -d "$dir" ] && return 0
	dead=$((20000 + RANDOM % 20000))
	head -n "$n" "$T/lines.txt" |
		timeout 20 "$PUB" -h 127.0.0.1 -p "$dead" -T 1 -q "$qos" -l --queue "$dir" \
			--rto 100 --timeout 1 -i bench >/dev/null 2>&1
	[ -d "$dir" ]
}

# drain PREFIX PORT N QOS WINDOW RTO: seconds (ms) for sn-pub to empty a
# queue of N messages; prints the milliseconds, or "-" when it failed.
drain() {
	local prefix=$1 port=$2 n=$3 qos=$4 win=$5 rto=$6 q=$T/run t0 t1 rc
	rm -rf "$q"
	if [ "$n" -gt 0 ]; then
		fill "$n" "$qos" || { echo -; return; }
		cp -r "$T/fill-$n-$qos" "$q"
	fi
	t0=$(now_ms)
	$prefix timeout 60 "$PUB" -h 127.0.0.1 -p "$port" -T 1 -q "$qos" -l --queue "$q" -i bench \
		--window "$win" --rto "$rto" --timeout 20 </dev/null >/dev/null 2>"$T/drain.err"
	rc=$?
	t1=$(now_ms)
	if [ "$rc" -ne 0 ]; then
		echo "bench-client: drain of $n at QoS $qos, window $win failed (exit $rc): $(head -n 1 "$T/drain.err")" >&2
		echo -
		return
	fi
	echo $((t1 - t0))
}

# row LINK PREFIX PORT N QOS WINDOW RTO BASE_MS: one line of the table.
row() {
	local link=$1 prefix=$2 port=$3 n=$4 qos=$5 win=$6 rto=$7 base=$8 ms rate
	ms=$(drain "$prefix" "$port" "$n" "$qos" "$win" "$rto")
	if [ "$ms" = - ]; then
		printf '%-28s %3s %6s %8s %9s %9s\n' "$link" "$qos" "$win" "$n" - -
		return
	fi
	ms=$((ms - base))
	[ "$ms" -lt 1 ] && ms=1
	rate=$(awk -v n="$n" -v ms="$ms" 'BEGIN { printf "%.1f", n * 1000 / ms }')
	printf '%-28s %3s %6s %8s %9s %9s\n' "$link" "$qos" "$win" "$n" "$(awk -v ms="$ms" 'BEGIN { printf "%.2f", ms / 1000 }')" "$rate"
}

# bridge_up PORT: the bridge answers a CONNECT (run through $prefix_for_up).
bridge_up() {
	$prefix_for_up timeout 5 "$PUB" -h 127.0.0.1 -p "$1" -T 1 -q 0 -m up -i probe \
		--rto 200 --timeout 2 >/dev/null 2>&1
}

table_head() {
	printf '%-28s %3s %6s %8s %9s %9s\n' link qos window messages seconds msg/s
}

echo
echo "== client: sn-pub draining its queue once the link is back (window 1 = MQTT-SN 1.2 as written)"
table_head

# ---------------------------------------------------------------- loopback

BPORT=$((21000 + RANDOM % 10000))
GPORT=$((BPORT + 1))
start_pair "" "$BPORT" "$GPORT"
prefix_for_up=
until_ok 10 bridge_up "$GPORT" || { echo "bench-client: the bridge did not come up" >&2; exit 1; }
base=$(drain "" "$GPORT" 0 1 1 1000)
[ "$base" = - ] && base=0
for qos in 1 2; do
	for win in 1 16; do
		row "loopback" "" "$GPORT" 2000 "$qos" "$win" 1000 "$base"
	done
done

# ---------------------------------------------------------------- 600 ms

# The namespace and netem, or why not.
how=
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1; then
	NS=snbench$$
	if ip netns add "$NS" 2>"$T/ns.err" && ip netns exec "$NS" ip link set lo up 2>>"$T/ns.err" &&
		ip netns exec "$NS" tc qdisc add dev lo root handle 1: prio bands 4 2>>"$T/ns.err" &&
		ip netns exec "$NS" tc qdisc add dev lo parent 1:4 handle 40: netem delay 300ms 2>>"$T/ns.err" &&
		ip netns exec "$NS" tc filter add dev lo parent 1: protocol ip prio 1 u32 \
			match ip protocol 17 0xff flowid 1:4 2>>"$T/ns.err"; then
		how=netns
	else
		why=$(grep -v '^$' "$T/ns.err" | head -n 1)
		echo "# 600 ms: network namespace with netem not available here (${why:-unknown}):"
		echo "#   the link simulator (sn-sim proxy, 300 ms each way, no loss) stands in"
		ip netns del "$NS" 2>/dev/null
		NS=
	fi
else
	echo "# 600 ms: not root, or no ip/tc: no namespace with netem; sn-sim proxy (300 ms each way) stands in"
fi

if [ "$how" = netns ]; then
	prefix="ip netns exec $NS"
	link="600 ms RTT (netns, netem)"
	start_pair "$prefix" 1883 1884
	PORT=1884
else
	prefix=
	link="600 ms RTT (sn-sim proxy)"
	PORT=$((GPORT + 1))
	"$SIM" proxy --listen "127.0.0.1:$PORT" --to "127.0.0.1:$GPORT" --set latency=300ms -q >/dev/null \
		2>"$T/relay.err" &
	PIDS+=($!)
fi
prefix_for_up=$prefix
if until_ok 20 bridge_up "$PORT"; then
	# The first RTO above the round trip: no retransmission on a link that
	# is merely slow.
	base=$(drain "$prefix" "$PORT" 0 1 1 1500)
	[ "$base" = - ] && base=0
	row "$link" "$prefix" "$PORT" 20 1 1 1500 "$base"
	row "$link" "$prefix" "$PORT" 160 1 16 1500 "$base"
	row "$link" "$prefix" "$PORT" 10 2 1 1500 "$base"
	row "$link" "$prefix" "$PORT" 160 2 16 1500 "$base"
else
	echo "bench-client: no answer over the 600 ms link" >&2
fi
echo "# seconds: the drain less one run with an empty queue (CONNECT, DISCONNECT);"
echo "# every QoS 2 message costs two fsyncs of its record (PUBLISH, PUBREL) before it goes"
