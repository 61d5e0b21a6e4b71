#!/usr/bin/env bash
# sim_proxy.sh - sn-sim proxy between real programs. UDP: sn-pub and
# sn-sub talk to the real sn-bridge and mosquitto through a simulated link
# of 100 ms each way, with an outage in the middle of a run of QoS 1
# publishes: every message still arrives (the station retransmits), and
# the proxy's counters show that the outage cost datagrams. Each station
# gets its own upstream address; answers come back through the link.
# Serial: bytes written to the station's pseudo-terminal arrive at the
# ground's, unchanged, at the configured baud rate.
. "$(dirname "$0")/lib.sh"

SIM_BIN=$BUILD_DIR/bin/sn-sim
SNPUB=$BUILD_DIR/bin/sn-pub
SNSUB=$BUILD_DIR/bin/sn-sub
for b in "$SIM_BIN" "$SNPUB" "$SNSUB"; do
	[ -x "$b" ] || bail "$b is missing: build with make BUILD=$BUILD build"
done

# start_proxy NAME ARGS...: sn-sim proxy in the background, stdout to
# $T/NAME.out, stderr to $T/NAME.err; PROXY_PID; returns once it printed
# what it listens on (UDP) or its two pty paths (--serial).
start_proxy() {
	local name=$1 ready
	shift
	"$SIM_BIN" proxy -q "$@" >"$T/$name.out" 2>"$T/$name.err" &
	PROXY_PID=$!
	track "$PROXY_PID"
	case " $* " in *" --serial "*) ready='^ground ' ;; *) ready='^listening ' ;; esac
	wait_grep "$T/$name.out" "$ready" 10 || {
		show "sn-sim $name stderr" "$T/$name.err"
		bail "sn-sim proxy $name did not start"
	}
}

proxy_gone() { ! kill -0 "$PROXY_PID" 2>/dev/null; }

# stop_proxy NAME: SIGTERM; it must exit 0 within 10 s and dump its counters.
stop_proxy() {
	local name=$1 rc
	kill -TERM "$PROXY_PID"
	if wait_until 10 proxy_gone; then
		wait "$PROXY_PID"
		rc=$?
	else
		kill -KILL "$PROXY_PID"
		wait "$PROXY_PID"
		rc=124
	fi
	untrack "$PROXY_PID"
	check "sn-sim $name exits 0 on SIGTERM" test "$rc" -eq 0
	check "sn-sim $name dumps its counters at exit" grep -q '^  bill_bytes ' "$T/$name.err"
	if grep -q "AddressSanitizer\|LeakSanitizer\|runtime error:" "$T/$name.err"; then
		notok "sn-sim $name has sanitizer reports"
		show "sn-sim $name stderr" "$T/$name.err"
	fi
}

# counter NAME FIELD [COLUMN]: a counter from the last dump in $T/NAME.err
# (column 2: up, 3: down).
counter() {
	awk -v f="$2" -v c="${3:-2}" '$1 == f { v = $c } END { print v + 0 }' "$T/$1.err"
}

elapsed_ms() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

start_broker
start_bridge
SUB_FORMAT='%t %q %p' sub_start "$T/up.txt" 'sim/#'

# ---------------------------------------------------------------- UDP

SIM_PORT=$(freeport udp) || bail "no free UDP port"
# 100 ms each way; down from 2 s to 4 s after the proxy's start.
start_proxy udp --listen "127.0.0.1:$SIM_PORT" --to "127.0.0.1:$BRIDGE_PORT" \
	--set latency=100ms --set jitter=5ms --down 2+2 --seed 7
check "the proxy says where it listens" grep -q "^listening 127.0.0.1:$SIM_PORT$" "$T/udp.out"

# A QoS 1 message needs CONNECT, REGISTER and PUBLISH: three round trips
# of at least 200 ms through the link.
t0=$(date +%s%N)
"$SNPUB" -p "$SIM_PORT" -i sim-first -t sim/first -q 1 -m hello --rto 1000 --timeout 20 \
	>"$T/first.out" 2>&1
rc=$?
ms=$(elapsed_ms "$t0")
check "sn-pub through the proxy succeeds" test "$rc" -eq 0
check "it took three round trips of the link (${ms} ms >= 600 ms)" test "$ms" -ge 600
check "the message arrived" wait_grep "$T/up.txt" '^sim/first 1 hello$' 10

# 20 QoS 1 messages, one in flight at a time (>= 4 s): the outage at 2-4 s
# falls in the middle of them.
seq 1 20 | sed 's/^/m/' >"$T/lines.txt"
"$SNPUB" -p "$SIM_PORT" -i sim-outage -t sim/outage -q 1 -l --rto 1000 --timeout 30 \
	<"$T/lines.txt" >"$T/outage.out" 2>&1 &
PUB_PID=$!
track "$PUB_PID"
# A second station at the same time: the bridge must see two addresses.
"$SNPUB" -p "$SIM_PORT" -i sim-second -t sim/second -q 1 -m two --rto 1000 --timeout 30 \
	>"$T/second.out" 2>&1
check "a second station publishes at the same time" test $? -eq 0
wait "$PUB_PID"
rc=$?
untrack "$PUB_PID"
check "sn-pub of 20 QoS 1 messages across the outage succeeds" test "$rc" -eq 0
[ "$rc" -eq 0 ] || show "sn-pub output" "$T/outage.out"
wait_grep "$T/up.txt" '^sim/outage 1 m20$' 15
missing=0
for i in $(seq 1 20); do
	[ "$(count_exact "$T/up.txt" "sim/outage 1 m$i")" -ge 1 ] || missing=$((missing + 1))
done
check "every QoS 1 message arrived at the subscriber ($missing missing)" test "$missing" -eq 0
check "the second station's message arrived" wait_grep "$T/up.txt" '^sim/second 1 two$' 10

# The downlink: sn-sub through the proxy gets a message from the broker.
"$SNSUB" -p "$SIM_PORT" -i sim-sub -t sim/down -q 1 -C 1 -W 20 --rto 1000 \
	>"$T/snsub.out" 2>"$T/snsub.err" &
SNSUB_PID=$!
track "$SNSUB_PID"
wait_grep "$T/mosquitto.log" 'sim/down' 10 ||
	note "the bridge's subscription for sim/down not seen in the broker log"
pub sim/down downlink-message -q 1
wait "$SNSUB_PID"
rc=$?
untrack "$SNSUB_PID"
check "sn-sub through the proxy gets a message from the broker" test "$rc" -eq 0
check "with its payload" grep -q 'downlink-message' "$T/snsub.out"

# SIGUSR1: the counters, without stopping.
kill -USR1 "$PROXY_PID"
check "SIGUSR1 dumps the counters" wait_grep "$T/udp.err" '^sn-sim: counters at' 5
check "the proxy is still running" kill -0 "$PROXY_PID"
stop_proxy udp
lost=$(($(counter udp drop_down 2) + $(counter udp drop_down 3) + $(counter udp lost_inflight 2) \
	+ $(counter udp lost_inflight 3)))
check "the outage cost datagrams ($lost dropped or lost)" test "$lost" -gt 0
check "one upstream address per station (4 stations)" test "$(counter udp stations)" -eq 4
check "datagrams went both ways" test "$(counter udp delivered 2)" -gt 20 -a \
	"$(counter udp delivered 3)" -gt 20

# Bad arguments are refused with status 2 and a message.
"$SIM_BIN" proxy --listen "127.0.0.1:$SIM_PORT" >/dev/null 2>"$T/bad.err"
check "--listen without --to: status 2" test $? -eq 2
"$SIM_BIN" proxy --serial --set nonsense=1 >/dev/null 2>"$T/bad.err"
check "an unknown --set key: status 2 naming it" grep -q 'unknown key "nonsense"' "$T/bad.err"
printf 'down_at_s,up_at_s\n1,2\n5,4\n' >"$T/bad.csv"
"$SIM_BIN" proxy --serial --trace "$T/bad.csv" >/dev/null 2>"$T/bad.err"
check "a bad trace line: named as FILE:LINE" grep -q "$T/bad.csv:3: " "$T/bad.err"

# ---------------------------------------------------------------- serial

# 1920 bytes at 9600 bit/s, 10 bits a byte (8N1): 2.0 s, plus 20 ms.
start_proxy serial --serial --set rate=9600 --set bits_per_byte=10 --set latency=20ms
STATION_TTY=$(awk '$1 == "station" { print $2 }' "$T/serial.out")
GROUND_TTY=$(awk '$1 == "ground" { print $2 }' "$T/serial.out")
check "two pseudo-terminals" test -c "$STATION_TTY" -a -c "$GROUND_TTY"
head -c 1920 /dev/urandom >"$T/serial.in"
cat "$GROUND_TTY" >"$T/serial.got" &
CAT_PID=$!
track "$CAT_PID"
size_is() { [ "$(stat -c %s "$1")" -ge "$2" ]; }
t0=$(date +%s%N)
cat "$T/serial.in" >"$STATION_TTY"
wait_until 10 size_is "$T/serial.got" 1920
ms=$(elapsed_ms "$t0")
stop_pid "$CAT_PID"
untrack "$CAT_PID"
check "the bytes arrive unchanged" cmp -s "$T/serial.in" "$T/serial.got"
check "at 9600 bit/s: ${ms} ms within 1900-2500 ms" test "$ms" -ge 1900 -a "$ms" -le 2500
stop_proxy serial
check "nothing dropped on the serial line" test "$(counter serial drop_queue)" -eq 0
