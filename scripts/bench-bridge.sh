#!/usr/bin/env bash
# bench-bridge.sh - the bridge section of `make bench` (scripts/bench.sh runs
# it as BUILD=... bash scripts/bench-bridge.sh). Measures sn-bridge on this
# machine against a private mosquitto on free loopback ports, with the load
# generator tests/tools/sn-load.c, and prints Markdown tables README can
# quote. Nothing is asserted. Every run is bounded by a message count, a
# wall time and `timeout`; everything started here is stopped at exit.
#
#   throughput  QoS 0 / 1 from 1 and 100 clients through the bridge
#               (transparent mode) and straight to the broker (the ceiling),
#               counted at a subscriber; bridge CPU from /proc/PID/stat
#   latency     1,000 msg/s from one client, via the bridge and direct;
#               "added" is the difference
#   memory      VmRSS idle, with 1,000 and 10,000 clients (transparent) and
#               with 100,000 clients (aggregating, behind forwarders)
#   custody     QoS 1 from 100 clients with the custody store on, per fsync
#               policy
#   compaction  the store under a steady QoS 1 load (100 clients, paced)
#               while one station measures its PUBACK latency: without
#               store, with it, and with it while the broker is paused and
#               then drains, so that compaction copies; the store's
#               counters (compactions, records copied, segments deleted),
#               octets written and left on disk
#
# Environment: BUILD (default build), BENCH_SECONDS (length of a
# throughput run, default 2), BENCH_REPS (throughput runs per figure, the
# median is shown, default 5), BENCH_LAT_REPS (latency runs, default 3),
# BENCH_BUDGET_S (no run starts after this many seconds, default 540),
# BENCH_SECTIONS (which of "throughput latency memory custody compaction" to
# run, default all), BENCH_COMPACT_S (length of a compaction run, default
# 20), BENCH_COMPACT_RATE (its steady load in msg/s, default 20000).
set -u
BUILD=${BUILD:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
case "$BUILD" in
/*) bdir=$BUILD ;;
*) bdir=$root/$BUILD ;;
esac
LOAD=$bdir/tests/sn-load
BRIDGE=$bdir/bin/sn-bridge
PROBE=$bdir/tests/sn-probe
FREEPORT=$bdir/tests/freeport
RUN_S=${BENCH_SECONDS:-2}
REPS=${BENCH_REPS:-5}
LAT_REPS=${BENCH_LAT_REPS:-3}
PATH=$PATH:/usr/sbin:/sbin

for f in "$LOAD" "$BRIDGE" "$PROBE" "$FREEPORT"; do
	if [ ! -x "$f" ]; then
		echo "bench-bridge: $f is missing: make BUILD=$BUILD build" >&2
		exit 1
	fi
done
if ! command -v mosquitto >/dev/null 2>&1; then
	echo "bench-bridge: mosquitto is not installed (make deps)" >&2
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sn-bench.XXXXXX") || exit 1
PIDS=()
BROKER_PID=
BRIDGE_PID=

# ---------------------------------------------------------------- processes

# Stop one process we started: TERM, up to 10 s, then KILL. Returns its
# exit status, 124 when it had to be killed.
stop_pid() {
	local pid=$1 i rc
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	kill -CONT "$pid" 2>/dev/null # a paused broker (compaction) acts on TERM
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	return "$rc"
}

cleanup() {
	local p
	trap - EXIT
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

untrack() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# wait_until SECONDS CMD...: CMD every 50 ms until it succeeds or time is up.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# Many clients need many descriptors: the bridge, mosquitto and the
# generator all inherit the hard limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
FDS=$(ulimit -n)

BROKER_PORT=

broker_answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$BROKER_PORT") 2>/dev/null
}

BROKER_NODELAY=false
start_broker() {
	BROKER_PORT=$("$FREEPORT" tcp) || exit 1
	{
		echo "listener $BROKER_PORT 127.0.0.1"
		echo "allow_anonymous true"
		echo "persistence false"
		echo "max_connections -1"
		echo "set_tcp_nodelay $BROKER_NODELAY"
		# 0: no limit. The generator bounds what is outstanding; with a
		# limit of 100000, mosquitto 2.0.11 still dropped a few hundred
		# QoS 1 messages toward the subscriber in 5 s runs.
		echo "max_queued_messages 0"
		echo "log_dest file $T/mosquitto.log"
		echo "log_type error"
		echo "log_type warning"
		echo "user $(id -un)"
	} >"$T/mosquitto.conf"
	mosquitto -c "$T/mosquitto.conf" >>"$T/mosquitto.out" 2>&1 &
	BROKER_PID=$!
	PIDS+=("$BROKER_PID")
	if ! wait_until 10 broker_answers; then
		echo "bench-bridge: mosquitto did not start on port $BROKER_PORT" >&2
		cat "$T/mosquitto.out" >&2
		exit 1
	fi
}

stop_broker() {
	stop_pid "$BROKER_PID"
	untrack "$BROKER_PID"
	BROKER_PID=
}

bridge_answers() {
	kill -0 "$BRIDGE_PID" 2>/dev/null || return 1
	printf 'send SEARCHGW radius=0\nexpect GWINFO within=0.3\n' |
		"$PROBE" -n ready 127.0.0.1 "$BRIDGE_PORT" - >/dev/null 2>&1
}

# start_bridge MODE MAX_CLIENTS: a fresh sn-bridge on a free UDP port.
BRIDGE_N=0
start_bridge() {
	BRIDGE_N=$((BRIDGE_N + 1))
	BRIDGE_PORT=$("$FREEPORT" udp) || exit 1
	BRIDGE_LOG=$T/sn-bridge-$BRIDGE_N.log
	{
		echo "listen 127.0.0.1:$BRIDGE_PORT"
		echo "broker 127.0.0.1:$BROKER_PORT"
		echo "mode $1"
		echo "max_clients $2"
		echo "client_id sn-bench-$$"
		echo "log_level warn"
		echo "stats_interval_s 0"
		echo "advertise_interval_s 0"
		echo "max_fds 0"
		# more lines, e.g. the custody store's
		[ -z "${BRIDGE_EXTRA:-}" ] || printf '%s\n' "$BRIDGE_EXTRA"
	} >"$T/sn-bridge.conf"
	"$BRIDGE" -c "$T/sn-bridge.conf" >"$BRIDGE_LOG" 2>&1 &
	BRIDGE_PID=$!
	PIDS+=("$BRIDGE_PID")
	if ! wait_until 10 bridge_answers; then
		echo "bench-bridge: sn-bridge did not answer SEARCHGW ($1 mode)" >&2
		cat "$BRIDGE_LOG" >&2
		exit 1
	fi
}

stop_bridge() {
	local rc
	stop_pid "$BRIDGE_PID"
	rc=$?
	untrack "$BRIDGE_PID"
	[ "$rc" -eq 0 ] || ODD+=("sn-bridge exited with status $rc on SIGTERM (124: killed after 10 s)")
	BRIDGE_PID=
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# ---------------------------------------------------------------- runs

# load NAME ARGS...: one sn-load run, its output in $T/NAME.out (and .err).
# Each run is bounded by its own options and by timeout; the whole section
# by BUDGET_S: past it, the remaining runs are skipped (their cells n/a).
BUDGET_S=${BENCH_BUDGET_S:-540}
load() {
	local name=$1
	shift
	if [ $((SECONDS - BENCH_T0)) -ge "$BUDGET_S" ]; then
		ODD+=("sn-load $name skipped: the section's budget of $BUDGET_S s was used up")
		return 0
	fi
	timeout 180 "$LOAD" "$@" >"$T/$name.out" 2>"$T/$name.err"
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		ODD+=("sn-load $name exited $rc: $(head -c 300 "$T/$name.err" | tr '\n' ' ')")
	fi
	return 0
}

# kv NAME KEY [LINE-PREFIX]: a value from the key=value output of run NAME.
kv() {
	local file=$T/$1.out key=$2 prefix=${3:-}
	[ -f "$file" ] || return 0
	grep "^$prefix" "$file" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$key=//p" | head -n 1
}

# Arithmetic and formatting that tolerate a missing value ("n/a").
calc() { # calc FORMAT EXPR: awk printf, "n/a" when EXPR names a missing value
	case "$2" in *'()'* | '' ) echo "n/a"; return ;; esac
	awk "BEGIN { v = $2; printf \"$1\", v }" 2>/dev/null || echo "n/a"
}
num() { [ -n "$1" ] && [ "$1" != "n/a" ] && [ "$1" != "-1" ]; }

ODD=()
BENCH_T0=$SECONDS


# want SECTION: whether BENCH_SECTIONS (default: all five) names it.
want() {
	case " ${BENCH_SECTIONS:-throughput latency memory custody compaction} " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# ---------------------------------------------------------------- throughput

# median NAME...: of runs NAME..., the one with the median msgs_per_s.
median() {
	local n
	for n in "$@"; do echo "$(kv "$n" msgs_per_s) $n"; done | sort -n | awk '{ r[NR] = $2 }
		END { print r[int((NR + 1) / 2)] }'
}

# all_kv KEY NAME...: KEY of every run, space-separated.
all_kv() {
	local key=$1 n out=
	shift
	for n in "$@"; do out="$out $(kv "$n" "$key")"; done
	echo "${out# }"
}

# med_kv KEY NAME... / max_kv KEY NAME...: the median / largest KEY of the runs.
med_kv() {
	all_kv "$@" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 }
		END { if (NR) print v[int((NR + 1) / 2)] }'
}
max_kv() {
	all_kv "$@" | tr ' ' '\n' | grep . | sort -g | tail -n 1
}

# runs_of NAME...: their msgs/s, space-separated, for the raw figures.
runs_of() {
	local n out=
	for n in "$@"; do out="$out $(kv "$n" msgs_per_s)"; done
	echo "${out# }"
}

if want throughput; then
start_broker
start_bridge transparent 1000
echo
echo "== bridge throughput: transparent mode; median of $REPS runs of $RUN_S s (or 5,000,000"
echo "   messages); 32-octet payloads, counted at a subscriber on the broker with the same QoS;"
echo "   QoS 1: one PUBLISH in flight per client; both QoS: at most 1,024 messages sent and"
echo "   not yet at the subscriber. Stock mosquitto; the generator's MQTT sockets TCP_NODELAY."
echo
echo "| load | msgs/s via bridge | msgs/s direct | ratio | bridge µs CPU/msg | broker µs CPU/msg via / direct | lost via / direct |"
echo "|---|---:|---:|---:|---:|---:|---:|"
RAW=()
for qos in 0 1; do
	for n in 1 100; do
		vias=()
		dirs=()
		for ((r = 1; r <= REPS; r++)); do
			via=tp-q$qos-n$n-via-$r
			dir=tp-q$qos-n$n-dir-$r
			load "$via" pub -b "127.0.0.1:$BROKER_PORT" -g "127.0.0.1:$BRIDGE_PORT" -q "$qos" \
				-n "$n" -t "$RUN_S" -m 5000000 -w 1024 -N -p "$BRIDGE_PID" -P "$BROKER_PID"
			load "$dir" pub -b "127.0.0.1:$BROKER_PORT" -q "$qos" -n "$n" -t "$RUN_S" \
				-m 5000000 -w 1024 -N -P "$BROKER_PID"
			vias+=("$via")
			dirs+=("$dir")
		done
		via=$(median "${vias[@]}")
		dir=$(median "${dirs[@]}")
		v=$(kv "$via" msgs_per_s)
		d=$(kv "$dir" msgs_per_s)
		ratio=n/a
		if num "$v" && num "$d" && [ "$d" != 0 ]; then ratio=$(calc "%.2f" "$v / $d"); fi
		lv=$(kv "$via" lost)
		ld=$(kv "$dir" lost)
		rv=$(kv "$via" refused)
		[ "${rv:-0}" = 0 ] || lv="$lv (+$rv refused)"
		clients="$n client"
		[ "$n" -eq 1 ] || clients="$n clients"
		printf '| QoS %s, %s | %s | %s | %s | %s | %s / %s | %s / %s |\n' "$qos" "$clients" \
			"${v:-n/a}" "${d:-n/a}" "$ratio" "$(kv "$via" bridge_cpu_us_per_msg)" \
			"$(kv "$via" broker_cpu_us_per_msg)" "$(kv "$dir" broker_cpu_us_per_msg)" \
			"${lv:-n/a}" "${ld:-n/a}"
		RAW+=("QoS $qos, $clients: via $(runs_of "${vias[@]}"); direct $(runs_of "${dirs[@]}"); generator µs CPU/msg (median run) via $(kv "$via" load_cpu_us_per_msg) direct $(kv "$dir" load_cpu_us_per_msg)")
	done
done
echo
echo "every run, msgs/s:"
for r in "${RAW[@]}"; do echo "  $r"; done
stop_bridge
stop_broker
echo
fi

# ---------------------------------------------------------------- latency

if want latency; then
# Nagle out of every hop but the bridge's own, so that "added" is the bridge's.
BROKER_NODELAY=true
start_broker
start_bridge transparent 1000
echo "== latency at light load: 1 client, 1,000 msg/s for 4 s, send to subscriber on one clock;"
echo "   median of $LAT_REPS runs of each figure (max: the largest); TCP_NODELAY on the broker's"
echo "   and the generator's sockets (sn-bridge's: as it sets them)"
echo
echo "| load | median via bridge | median direct | added median | p99 via bridge | p99 direct | added p99 | max via / direct | bridge µs CPU/msg |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
LAT=()
for qos in 0 1; do
	vias=()
	dirs=()
	for ((r = 1; r <= LAT_REPS; r++)); do
		via=lat-q$qos-via-$r
		dir=lat-q$qos-dir-$r
		load "$via" pub -b "127.0.0.1:$BROKER_PORT" -g "127.0.0.1:$BRIDGE_PORT" -q "$qos" -n 1 \
			-r 1000 -m 4000 -t 5 -N -p "$BRIDGE_PID"
		load "$dir" pub -b "127.0.0.1:$BROKER_PORT" -q "$qos" -n 1 -r 1000 -m 4000 -t 5 -N
		vias+=("$via")
		dirs+=("$dir")
	done
	v50=$(med_kv lat_p50_us "${vias[@]}")
	d50=$(med_kv lat_p50_us "${dirs[@]}")
	v99=$(med_kv lat_p99_us "${vias[@]}")
	d99=$(med_kv lat_p99_us "${dirs[@]}")
	a50=n/a
	a99=n/a
	if num "$v50" && num "$d50"; then a50="$(calc "%.0f" "$v50 - $d50") µs"; fi
	if num "$v99" && num "$d99"; then a99="$(calc "%.0f" "$v99 - $d99") µs"; fi
	printf '| QoS %s, 1,000 msg/s | %s µs | %s µs | %s | %s µs | %s µs | %s | %s / %s µs | %s |\n' \
		"$qos" "$(calc "%.0f" "${v50:-}")" "$(calc "%.0f" "${d50:-}")" "$a50" \
		"$(calc "%.0f" "${v99:-}")" "$(calc "%.0f" "${d99:-}")" "$a99" \
		"$(calc "%.0f" "$(max_kv lat_max_us "${vias[@]}")")" \
		"$(calc "%.0f" "$(max_kv lat_max_us "${dirs[@]}")")" \
		"$(med_kv bridge_cpu_us_per_msg "${vias[@]}")"
	LAT+=("QoS $qos: median via $(all_kv lat_p50_us "${vias[@]}"), direct $(all_kv lat_p50_us "${dirs[@]}"); p99 via $(all_kv lat_p99_us "${vias[@]}"), direct $(all_kv lat_p99_us "${dirs[@]}")")
done
echo
echo "every run, µs:"
for r in "${LAT[@]}"; do echo "  $r"; done
stop_bridge
echo
fi

# ---------------------------------------------------------------- memory

# 12345 -> 12,345
commas() {
	echo "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|[^0-9]\)/\1,\2\3/' -e 'ta'
}

fd_count() {
	local n
	n=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	echo "$n"
}

# A row: what, RSS, per client, descriptors, CPU idling, how.
mem_row() {
	printf '| %s | %s | %s | %s | %s | %s |\n' "$@"
}

# mem_idle MODE: the row of the fresh bridge; sets IDLE_KB and IDLE_FDS.
mem_idle() {
	sleep 1
	IDLE_KB=$(rss_kb "$BRIDGE_PID")
	IDLE_FDS=$(fd_count "$BRIDGE_PID")
	mem_row "idle, $1" "$(calc "%.1f MiB" "${IDLE_KB:-} / 1024")" "-" "${IDLE_FDS:-}" "-" \
		"no client"
}

# mem_rows NAME MODE HOW TARGET...: one row per checkpoint of connect run
# NAME, against IDLE_KB and IDLE_FDS.
mem_rows() {
	local name=$1 mode=$2 how=$3 target got rss fds per perfd cpu why last label
	shift 3
	last=${!#}
	for target in "$@"; do
		label="$(commas "$target") clients, $mode"
		got=$(kv "$name" connected "checkpoint clients=$target ")
		rss=$(kv "$name" rss_kb "checkpoint clients=$target ")
		fds=$(kv "$name" fds "checkpoint clients=$target ")
		if ! num "${rss:-}" || ! num "${got:-}" || [ "$got" -eq 0 ]; then
			mem_row "$label" "not measured" "-" "-" "-" \
				"no client connected: $(head -c 200 "$T/$name.err" | tr '\n' ' ')"
			continue
		fi
		per=$(calc "%.2f KiB" "($rss - ${IDLE_KB:-0}) / $got")
		perfd=$(calc "%.2f" "($fds - ${IDLE_FDS:-0}) / $got")
		why=$how
		if [ "$got" -lt "$target" ]; then
			why="only $(commas "$got") connected, $(commas "$(kv "$name" refused "checkpoint clients=$target ")") refused"
			if grep -q "Too many open files" "$BRIDGE_LOG"; then
				why="$why with CONNACK congestion: sn-bridge ran out of descriptors (hard limit"
				why="$why $FDS, $perfd a client); RSS and per client at $(commas "$got")"
			fi
		fi
		cpu="-"
		[ "$target" != "$last" ] || cpu="$(kv "$name" bridge_sched_pct idle) %"
		mem_row "$label" "$(calc "%.1f MiB" "$rss / 1024")" "$per" "$fds ($perfd a client)" \
			"$cpu" "$why"
	done
}

if want memory; then
[ -n "$BROKER_PID" ] || start_broker
echo "== sn-bridge resident memory (VmRSS); per client = (RSS with N - RSS idle) / N"
echo "   clients connect with at most 64 CONNECTs in flight, 20,000 a second, keep-alive"
echo "   3600 s; CPU idling: /proc/PID/schedstat over 2 s with them connected; descriptor limit"
echo "   $FDS (the hard limit)"
echo
echo "| sn-bridge | RSS | per client | descriptors | CPU idling | how |"
echo "|---|---:|---:|---:|---:|---|"

# transparent: one UDP socket (own 127.1.x.y address) a client while the
# descriptors allow, else clients behind forwarder sockets.
per=1
if [ "$FDS" -lt 10100 ]; then per=$(((10000 + FDS - 101) / (FDS - 100))); fi
start_bridge transparent 11000
mem_idle transparent
load mem-tr connect -g "127.0.0.1:$BRIDGE_PORT" -n 10000 -c 1000,10000 -F "$per" -H 2 \
	-p "$BRIDGE_PID"
how="one UDP socket a client, each on its own 127.1.x.y"
[ "$per" -eq 1 ] || how="$per clients behind each forwarder socket (0xFE)"
mem_rows mem-tr transparent "$how" 1000 10000
stop_bridge

start_bridge aggregating 110000
mem_idle aggregating
load mem-ag connect -g "127.0.0.1:$BRIDGE_PORT" -n 100000 -c 10000,100000 -F 100 -H 2 \
	-p "$BRIDGE_PID"
mem_rows mem-ag aggregating "100 clients behind each of 1,000 forwarder sockets (0xFE, 2-octet node ids)" \
	10000 100000
stop_bridge
stop_broker
echo

fi
# ---------------------------------------------------------------- custody

if want custody; then
[ -n "$BROKER_PID" ] || start_broker
echo "== custody: QoS 1 from 100 clients through the bridge with its store on (store_dir on"
echo "   this machine's disk, ${TMPDIR:-/tmp}), one figure per fsync policy; median of $REPS runs of $RUN_S s"
echo
echo "| store_sync | msgs/s via bridge | bridge µs CPU/msg |"
echo "|---|---:|---:|"
for sync in none always 100 never; do
	BRIDGE_EXTRA=
	[ "$sync" = none ] || BRIDGE_EXTRA=$(printf 'store_dir %s\nstore_sync %s' "$T/store-$sync" "$sync")
	start_bridge transparent 1000
	runs=()
	for ((r = 1; r <= REPS; r++)); do
		name=cu-$sync-$r
		load "$name" pub -b "127.0.0.1:$BROKER_PORT" -g "127.0.0.1:$BRIDGE_PORT" -q 1 -n 100 \
			-t "$RUN_S" -m 5000000 -w 1024 -N -p "$BRIDGE_PID" -P "$BROKER_PID"
		runs+=("$name")
	done
	m=$(median "${runs[@]}")
	label=$sync
	[ "$sync" = none ] && label="(no store: PUBACK after the broker's)"
	printf '| %s | %s | %s |\n' "$label" "$(kv "$m" msgs_per_s)" "$(kv "$m" bridge_cpu_us_per_msg)"
	stop_bridge
done
BRIDGE_EXTRA=
echo
fi

# ---------------------------------------------------------------- compaction

# load_bg NAME ARGS...: as load, in the background; its pid in LOAD_BG_PID
# (empty when the budget is used up), to be collected by load_wait NAME PID.
load_bg() {
	local name=$1
	shift
	LOAD_BG_PID=
	if [ $((SECONDS - BENCH_T0)) -ge "$BUDGET_S" ]; then
		ODD+=("sn-load $name skipped: the section's budget of $BUDGET_S s was used up")
		return 0
	fi
	timeout 180 "$LOAD" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	LOAD_BG_PID=$!
	PIDS+=("$LOAD_BG_PID")
}

load_wait() {
	local rc
	[ -n "$2" ] || return 0
	wait "$2"
	rc=$?
	untrack "$2"
	if [ "$rc" -ne 0 ]; then
		ODD+=("sn-load $1 exited $rc: $(head -c 300 "$T/$1.err" | tr '\n' ' ')")
	fi
}

custody_dumps() { grep -c 'stats custody:' "$BRIDGE_LOG"; }
custody_dumped() { [ "$(custody_dumps)" -gt "$1" ]; }

# store_stats NAME: the store's counters as sn-bridge logs them on SIGUSR1
# (log_level info), key=value in $T/NAME.out for kv.
store_stats() {
	local n
	n=$(custody_dumps)
	kill -USR1 "$BRIDGE_PID" 2>/dev/null || return 1
	wait_until 5 custody_dumped "$n" || return 1
	grep 'stats custody:' "$BRIDGE_LOG" | tail -n 1 | sed 's/.*stats custody: //' >"$T/$1.out"
}

# store_settled NAME: everything forwarded and every dead segment deleted.
store_settled() {
	store_stats "$1" && [ "$(kv "$1" waiting)" = 0 ] && [ "$(kv "$1" segments)" = 1 ]
}

# newest_seg DIR: the number of the newest segment file of store DIR (0: none).
newest_seg() {
	local f
	f=$(find "$1" -maxdepth 1 -name 'seg-*.log' 2>/dev/null | sort | tail -n 1)
	f=${f##*/seg-}
	f=${f%.log}
	[ -n "$f" ] || f=0
	echo $((16#$f))
}
seg_at_least() { [ "$(newest_seg "$1")" -ge "$2" ]; }

# The store starts a new segment once one reaches this (store.h, the
# default): a deleted segment held this, plus at most one record.
SEGMENT_BYTES=$((4 << 20))

# mib OCTETS: in MiB, one decimal.
mib() { calc "%.1f MiB" "${1:-} / 1048576"; }

# compact_run NAME STORE PAUSE: one run of the section: the steady load and
# the probe station, for CMP_S s, through a fresh sn-bridge with the store
# in $T/NAME (STORE 1) or without; PAUSE 1 stops mosquitto on the store's
# 3rd segment until 2 more are begun, then lets it drain. Prints the row.
compact_run() {
	local name=$1 store=$2 pause=$3 dir=$T/$1 bg probe t0 tp tr label disk
	local comp=- copied=- deleted=- written=- ondisk=-
	BRIDGE_EXTRA="log_level info"
	[ "$store" = 0 ] || BRIDGE_EXTRA=$(printf 'log_level info\nstore_dir %s\nstore_sync 100' "$dir")
	start_bridge transparent 1000
	BRIDGE_EXTRA=
	t0=$EPOCHREALTIME
	load_bg "$name-load" pub -b "127.0.0.1:$BROKER_PORT" -g "127.0.0.1:$BRIDGE_PORT" -q 1 \
		-n 100 -r "$CMP_RATE" -t "$CMP_S" -m 50000000 -w 1000000 -N -p "$BRIDGE_PID"
	bg=$LOAD_BG_PID
	load_bg "$name-probe" pub -b "127.0.0.1:$BROKER_PORT" -g "127.0.0.1:$BRIDGE_PORT" -q 1 \
		-n 1 -r 1000 -t "$CMP_S" -m 5000000 -w 1000000 -N -A
	probe=$LOAD_BG_PID
	if [ "$pause" = 1 ] && [ -n "$bg" ]; then
		if wait_until 30 seg_at_least "$dir" 3; then
			local seg
			seg=$(newest_seg "$dir")
			kill -STOP "$BROKER_PID"
			tp=$EPOCHREALTIME
			# 4 MiB and more stored while the broker takes nothing; bounded,
			# so that the probe stays under its station's limit (10,000)
			wait_until 6 seg_at_least "$dir" $((seg + 2))
			store_stats "$name-paused"
			kill -CONT "$BROKER_PID"
			tr=$EPOCHREALTIME
			PAUSED="paused at $(calc "%.1f" "$tp - $t0") s for $(calc "%.1f" "$tr - $tp") s;"
			PAUSED="$PAUSED at resumption $(kv "$name-paused" waiting) messages waited"
			PAUSED="$PAUSED ($(mib "$(kv "$name-paused" live_bytes)") live, $(mib "$(kv "$name-paused" disk_bytes)") on disk)"
		else
			ODD+=("compaction: the store did not reach its 3rd segment in 30 s: not paused")
		fi
	fi
	load_wait "$name-load" "$bg"
	load_wait "$name-probe" "$probe"
	if [ "$store" = 1 ]; then
		wait_until 30 store_settled "$name-end" ||
			ODD+=("compaction: $name: the store had not settled (everything forwarded, one segment) 30 s after the load")
		comp=$(kv "$name-end" compactions)
		copied=$(kv "$name-end" compact_copied)
		deleted=$(kv "$name-end" segments_deleted)
		disk=$(kv "$name-end" disk_bytes)
		ondisk=$(mib "$disk")
		if num "$deleted" && num "$disk"; then
			written=$(mib "$((disk + deleted * SEGMENT_BYTES))")
		fi
	fi
	stop_bridge
	case "$name" in
	*nostore*) label="no store (PUBACK after the broker's)" ;;
	*paused*) label="store, broker paused then draining" ;;
	*) label="store, steady" ;;
	esac
	printf '| %s | %s | %s µs | %s µs | %s ms (at %s s) | %s / %s | %s | %s | %s | %s | %s |\n' \
		"$label" "$(kv "$name-load" msgs_per_s)" \
		"$(calc "%.0f" "$(kv "$name-probe" ack_p50_us)")" \
		"$(calc "%.0f" "$(kv "$name-probe" ack_p99_us)")" \
		"$(calc "%.1f" "$(kv "$name-probe" ack_max_us) / 1000")" \
		"$(calc "%.1f" "$(kv "$name-probe" ack_max_at_s)")" "$(kv "$name-probe" ack_over_1ms)" \
		"$(kv "$name-probe" ack_over_10ms)" \
		"$comp" "$copied" "$deleted" "$written" "$ondisk"
	local n
	for n in "$name-load" "$name-probe"; do
		if [ "$(kv "$n" refused)" != 0 ] || [ "$(kv "$n" timeouts)" != 0 ] ||
			[ "$(kv "$n" lost)" != 0 ]; then
			ODD+=("compaction: $n: refused $(kv "$n" refused), timeouts $(kv "$n" timeouts), lost $(kv "$n" lost)")
		fi
	done
}

if want compaction; then
CMP_S=${BENCH_COMPACT_S:-20}
CMP_RATE=${BENCH_COMPACT_RATE:-20000}
PAUSED=
# a broker of its own: it is paused, and Nagle out of its hops
[ -z "$BROKER_PID" ] || stop_broker
BROKER_NODELAY=true
start_broker
echo "== compaction: the custody store under a steady load. QoS 1 from 100 clients, $(commas "$CMP_RATE") msg/s in"
echo "   all, plus one station at 1,000 msg/s whose PUBACK latency (first send to PUBACK, as the"
echo "   station sees it) is measured, $CMP_S s a run; sn-bridge with store_dir on this machine's disk"
echo "   (${TMPDIR:-/tmp}) and store_sync 100, the store's own segment size (4 MiB) and compaction"
echo "   threshold (4 MiB dead). \"paused\": mosquitto stopped (SIGSTOP) once the store is on its"
echo "   3rd segment until 2 more are begun, then resumed: the backlog drains while the load goes on,"
echo "   and compaction copies what is still live out of the oldest segments. Counters from the"
echo "   bridge's statistics (SIGUSR1) once everything is forwarded; written: what is on disk at"
echo "   the end plus the segments deleted, 4 MiB each"
echo
echo "| run | msgs/s | PUBACK median | PUBACK p99 | PUBACK max | PUBACKs over 1 / 10 ms | compactions | records copied | segments deleted | written | on disk at end |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
compact_run cmp-nostore 0 0
compact_run cmp-steady 1 0
compact_run cmp-paused 1 1
echo
[ -z "$PAUSED" ] || echo "paused run: $PAUSED"
for n in cmp-steady cmp-paused; do
	a50=n/a
	a99=n/a
	amax=n/a
	v=$(kv "$n-probe" ack_p50_us)
	d=$(kv cmp-nostore-probe ack_p50_us)
	if num "$v" && num "$d"; then a50="$(calc "%+.0f" "$v - $d") µs"; fi
	v=$(kv "$n-probe" ack_p99_us)
	d=$(kv cmp-nostore-probe ack_p99_us)
	if num "$v" && num "$d"; then a99="$(calc "%+.0f" "$v - $d") µs"; fi
	v=$(kv "$n-probe" ack_max_us)
	d=$(kv cmp-nostore-probe ack_max_us)
	if num "$v" && num "$d"; then amax="$(calc "%+.1f" "($v - $d) / 1000") ms"; fi
	echo "PUBACK latency, ${n#cmp-} minus no store: median $a50, p99 $a99, max $amax"
done
stop_broker
echo
fi

echo "bench-bridge: $((SECONDS - BENCH_T0)) s on $(nproc) cores; the generator, sn-bridge and"
echo "mosquitto share them, so the throughput rows are a shared-CPU figure."
if [ ${#ODD[@]} -ne 0 ]; then
	echo
	echo "odd:"
	for o in "${ODD[@]}"; do echo "  - $o"; done
fi
exit 0
