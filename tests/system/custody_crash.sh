#!/usr/bin/env bash
# custody_crash.sh - issue #7, custody across crashes: two stations stream
# numbered QoS 1 and QoS 2 messages (sn-pub -l --queue: a message leaves
# the station's queue only when the bridge acknowledged it) while the test
# kills sn-bridge with SIGKILL at seeded random moments and restarts it,
# then does the same while stopping and starting the broker. At the end the
# stations' queues are empty (everything was acknowledged) and:
#   - every message is at the subscriber, QoS 1 at least once;
#   - QoS 2: each message was stored once (one snb-seq per message), and
#     reached the broker exactly once: no repeat at all. A crash between
#     the broker's PUBREC and the store's record of the PUBCOMP is what
#     once repeated about two messages per kill; now the PUBREC is on
#     record before the PUBREL leaves, and the next run sends the PUBREL
#     again under the recorded packet id instead of publishing the message
#     again (custody.h). The log must show that this happened.
# Exactly once is counted twice: at the subscriber while only the bridge
# is killed (phase 1), and over the whole test by the broker's own log,
# where each message it takes in once is sent to the subscriber once with
# DUP 0. The subscriber itself may print a QoS 2 message twice across a
# restart of the broker (phase 2): when mosquitto resends a PUBLISH with
# DUP that mosquitto_sub's libmosquitto already holds, it keeps a second
# copy, and the PUBREL the broker resends after its next restart releases
# that copy too. Those repeats are the subscriber's, and only counted.
# A restarted bridge answers the stations' retransmissions (PUBLISH,
# PUBREL) without a session with DISCONNECT, and they must connect again
# soon: that is what once left a station stuck here (its core doubled the
# RTO once per request of the window that timed out, up to 5 minutes;
# test_snc_timing's test_window_timeout_backs_off_once).
# Progress between two kills is measured at the subscriber, never slept.
. "$(dirname "$0")/lib.sh"

SNPUB=$BUILD_DIR/bin/sn-pub
[ -x "$SNPUB" ] || bail "$SNPUB is missing"
SEED=${CUSTODY_SEED:-$$}
RANDOM=$SEED
note "seed $SEED (CUSTODY_SEED=$SEED to repeat)"
N=${CUSTODY_N:-400}
KILLS=${CUSTODY_KILLS:-22}
BROKER_RESTARTS=${CUSTODY_BROKER_RESTARTS:-4}
END=$(($(date +%s) + 50))

# The subscriber's lasting session collects the backlog while the broker
# is down: a cap far above it (mosquitto drops beyond max_queued_messages,
# 1000 by default).
BROKER_LINES=("persistence true" "persistence_location $T/" "autosave_interval 1"
	"max_queued_messages 1000000")
start_broker "${BROKER_LINES[@]}"
SUB=$T/sub.txt
# After a broker restart mosquitto sends the subscriber its whole backlog
# in flight at once; libmosquitto's client drops the connection ("network
# protocol error") beyond its receive maximum (20 by default), and every
# restart of mosquitto_sub repeats QoS 2 messages it had printed but not
# yet acknowledged. So: a receive maximum above anything this test sends,
# and a new mosquitto_sub only if one ends all the same (counted).
SUB_PID=
SUB_STARTS=0
start_sub() {
	[ -n "$SUB_PID" ] && kill -0 "$SUB_PID" 2>/dev/null && return 0
	[ -n "$SUB_PID" ] && untrack "$SUB_PID"
	SUB_STARTS=$((SUB_STARTS + 1))
	stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -V 5 -i "crash-sub-$$" -c -q 2 \
		-x 3600 -D connect receive-maximum 65535 -t 'crash/#' -F '%t %q %p %P' \
		>>"$SUB" 2>>"$T/sub.err" &
	SUB_PID=$!
	track "$SUB_PID"
}
: >"$SUB"
start_sub
wait_grep "$T/mosquitto.log" "Sending SUBACK to crash-sub-$$" 10 || bail "subscriber not subscribed"

bridge_conf "store_dir $T/store" "mqtt_version 5" "retry_initial_ms 300" "retry_min_ms 100"
start_bridge

# The stations: each line is queued on disk, then sent; --rto keeps their
# retransmissions quick when the bridge vanishes. The test feeds them
# through FIFOs, a batch before each kill, so that the load lasts.
station() { # NAME QOS
	"$SNPUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -i "$1" -t "crash/$1" -q "$2" -l \
		--queue "$T/q-$1" --window 8 --rto 300 --timeout 30 <"$T/fifo-$1" >"$T/pub-$1.out" 2>&1
}
mkfifo "$T/fifo-st1" "$T/fifo-st2"
station st1 1 &
P1=$!
track $P1
station st2 2 &
P2=$!
track $P2
# A holder keeps each FIFO open for writing until the end, so that the
# stations see end of input only then (a descriptor of the test's own would
# be inherited by every sn-bridge started meanwhile).
sleep 100000 >"$T/fifo-st1" &
H1=$!
track $H1
sleep 100000 >"$T/fifo-st2" &
H2=$!
track $H2
FED=0
feed() { # N more lines to each station
	local i
	for ((i = 0; i < $1 && FED < N; i++)); do
		FED=$((FED + 1))
		echo "st1-$FED" >>"$T/fifo-st1"
		echo "st2-$FED" >>"$T/fifo-st2"
	done
}

got() { wc -l <"$SUB"; }
more_than() { start_sub; [ "$(got)" -ge "$1" ]; }
stations_done() { ! kill -0 "$P1" 2>/dev/null && ! kill -0 "$P2" 2>/dev/null; }

kill9_bridge() {
	kill -KILL "$BRIDGE_PID" 2>/dev/null
	wait "$BRIDGE_PID" 2>/dev/null
	untrack "$BRIDGE_PID"
	BRIDGE_PID=
}

# Phase 1: SIGKILL the bridge after a random number of deliveries.
kills=0
while [ "$kills" -lt "$KILLS" ] && [ "$(date +%s)" -lt "$END" ]; do
	feed $((4 + RANDOM % 8))
	target=$(($(got) + 1 + RANDOM % 8))
	wait_until 5 more_than "$target" || true
	kill9_bridge
	kills=$((kills + 1))
	start_bridge
done
note "phase 1: $kills SIGKILLs, $(got) lines at the subscriber"
P1_LINES=$(got)
check "at least 20 SIGKILLs of the bridge during the load" test "$kills" -ge 20

# Phase 2: the broker stops and starts under the load (and the bridge is
# killed once more in between).
restarts=0
while [ "$restarts" -lt "$BROKER_RESTARTS" ] && [ "$(date +%s)" -lt "$END" ]; do
	feed $((4 + RANDOM % 8))
	target=$(($(got) + 1 + RANDOM % 8))
	wait_until 5 more_than "$target" || true
	stop_broker
	if [ $((restarts % 2)) -eq 1 ]; then
		kill9_bridge
		kills=$((kills + 1))
		start_bridge
	fi
	start_broker "${BROKER_LINES[@]}"
	start_sub
	restarts=$((restarts + 1))
done
note "phase 2: $restarts broker restarts, $(got) lines at the subscriber"
check "the broker was stopped and started during the load" test "$restarts" -ge 2
feed "$N"
stop_pid "$H1"
stop_pid "$H2"
untrack "$H1"
untrack "$H2"

# sn-pub gives up by itself (--timeout 30 after the end of its input).
wait_until 60 stations_done || notok "the stations did not end within 60 s"
stop_pid "$P1"
stop_pid "$P2"
wait "$P1"
rc1=$?
untrack "$P1"
wait "$P2"
rc2=$?
untrack "$P2"
check "station st1 (QoS 1) saw every message acknowledged (exit $rc1)" test "$rc1" -eq 0
check "station st2 (QoS 2) saw every message acknowledged (exit $rc2)" test "$rc2" -eq 0

# Everything acknowledged drains to the subscriber.
all_there() {
	local name
	start_sub
	for name in st1 st2; do
		[ "$(grep "^crash/$name " "$SUB" | awk '{print $3}' | sort -u | wc -l)" -ge "$N" ] || return 1
	done
}
wait_until 30 all_there || true
missing() { # NAME
	comm -23 <(seq 1 "$N" | sed "s/^/$1-/" | sort) \
		<(grep "^crash/$1 " "$SUB" | awk '{print $3}' | sort -u)
}
m1=$(missing st1 | wc -l)
m2=$(missing st2 | wc -l)
check "every QoS 1 message at the subscriber ($m1 missing)" test "$m1" -eq 0
check "every QoS 2 message at the subscriber ($m2 missing)" test "$m2" -eq 0
[ "$m1$m2" = 00 ] || missing st1 | head -5 | sed 's/^/#   missing: /'
[ "$m1$m2" = 00 ] || missing st2 | head -5 | sed 's/^/#   missing: /'

# QoS 2: every delivery carries the store's seq; one seq per message (it
# was stored once) and one message per seq.
grep "^crash/st2 " "$SUB" | sed -n 's/^crash\/st2 [0-9] \([^ ]*\) .*snb-seq:\([0-9]*\).*/\1 \2/p' \
	>"$T/st2-seqs"
q2_lines=$(grep -c "^crash/st2 " "$SUB")
check "every QoS 2 delivery carries snb-seq" test "$(wc -l <"$T/st2-seqs")" -eq "$q2_lines"
seqs_per_msg=$(sort -u "$T/st2-seqs" | awk '{print $1}' | uniq -d | wc -l)
check "each QoS 2 message was stored once (one snb-seq each)" test "$seqs_per_msg" -eq 0
msgs_per_seq=$(sort -u "$T/st2-seqs" | awk '{print $2}' | sort | uniq -d | wc -l)
check "each snb-seq is one message" test "$msgs_per_seq" -eq 0
# The repeats: deliveries beyond the first of each message. None for
# QoS 2: at the subscriber up to the end of phase 1 (the bridge killed
# alone), and at the broker across both phases.
dups2=$((q2_lines - $(awk '{print $1}' "$T/st2-seqs" | sort -u | wc -l)))
dups1=$(($(grep -c "^crash/st1 " "$SUB") - $(grep "^crash/st1 " "$SUB" | awk '{print $3}' | sort -u | wc -l)))
p1_dups=$(head -n "$P1_LINES" "$SUB" | grep "^crash/st2 " | awk '{print $3}' | sort | uniq -d | wc -l)
routed=$(grep -c "Sending PUBLISH to crash-sub-$$ (d0, q2, r0, m[0-9]*, 'crash/st2'" "$T/mosquitto.log")
released=$(grep -Ec "settled: [1-9][0-9]* released by PUBREL" "$BRIDGE_LOG")
note "QoS 2: $routed routed by the broker for $N messages; repeats at the subscriber: $p1_dups in phase 1, $dups2 in all (mosquitto_sub's, across the broker's restarts); QoS 1 duplicates: $dups1; restarts that released marked messages with PUBREL: $released; mosquitto_sub started $SUB_STARTS times"
check "every QoS 2 message at the subscriber exactly once while the bridge alone is killed ($p1_dups repeats)" \
	test "$p1_dups" -eq 0
[ "$p1_dups" -eq 0 ] || head -n "$P1_LINES" "$SUB" | grep "^crash/st2 " | awk '{print $3}' | sort |
	uniq -d | head -5 | sed 's/^/#   repeated: /'
check "every QoS 2 message taken in by the broker exactly once ($routed sent on for $N)" \
	test "$routed" -eq "$N"
check "restarts found the broker's PUBREC on record and released with PUBREL" \
	test "$released" -ge 1
