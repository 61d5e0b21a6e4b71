#!/usr/bin/env bash
# serial_bridge.sh - MQTT-SN over serial lines between the real tools and
# the real sn-bridge. Each line is a relay (tests/tools/serial-relay.c)
# between two pseudo-terminal pairs: sn-pub or sn-sub --serial opens the
# station's side, the bridge the ground's (a "serial" line in its
# configuration). Covered: QoS 0, 1 and 2 up to mosquitto and a subscriber
# on a line, in the framed and the raw mode; damage done to chosen frames
# (octets dropped, flipped, inserted; garbage between frames; a lost
# flag): every intact frame is delivered, no damaged one, and the next
# frame after damage gets through; a UDP client of the same bridge at the
# same time; a line that disappears (logged once, reopened with back-off,
# the bridge runs on); configuration errors naming FILE:LINE.
. "$(dirname "$0")/lib.sh"

RELAY=$BUILD_DIR/tests/serial-relay
SNPUB=$BUILD_DIR/bin/sn-pub
SNSUB=$BUILD_DIR/bin/sn-sub
SIM_BIN=$BUILD_DIR/bin/sn-sim
for b in "$RELAY" "$SNPUB" "$SNSUB" "$SIM_BIN"; do
	[ -x "$b" ] || bail "$b is missing: build with make BUILD=$BUILD build"
done

# start_relay NAME ARGS...: a relay in the background (stdout $T/NAME.out,
# stderr $T/NAME.err); sets RELAY_PID, STATION and GROUND.
declare -A RELAY_PIDS=()
start_relay() {
	local name=$1
	shift
	"$RELAY" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	RELAY_PIDS[$name]=$!
	track "$!"
	wait_grep "$T/$name.out" '^ground ' 10 || bail "serial-relay $name did not start"
	STATION=$(awk '$1 == "station" { print $2 }' "$T/$name.out")
	GROUND=$(awk '$1 == "ground" { print $2 }' "$T/$name.out")
}

# snpub TTY ARGS...: sn-pub over the serial line TTY; its exit status.
snpub() {
	local tty=$1
	shift
	"$SNPUB" --serial "$tty" --rto 500 --timeout 10 "$@" >>"$T/snpub.out" 2>&1
}

# sub_bg NAME TTY ARGS...: sn-sub over TTY in the background (output
# $T/NAME.out, trace $T/NAME.err); returns once it is subscribed.
declare -A SUB_PIDS=()
sub_bg() {
	local name=$1 tty=$2
	shift 2
	"$SNSUB" --serial "$tty" --rto 500 --timeout 10 -d "$@" >"$T/$name.out" 2>"$T/$name.err" &
	SUB_PIDS[$name]=$!
	track "$!"
	wait_grep "$T/$name.err" '^<- SUBACK .*rc=accepted' 10 ||
		bail "sn-sub $name: not subscribed within 10 s"
}

# sub_end NAME: wait (15 s at most) for it to exit; its exit status.
sub_end() {
	local pid=${SUB_PIDS[$1]} rc
	gone() { ! kill -0 "$pid" 2>/dev/null; }
	wait_until 15 gone || kill -TERM "$pid"
	wait "$pid"
	rc=$?
	untrack "$pid"
	return "$rc"
}

# stat_of NAME: a serial counter from the bridge's last SIGUSR1 dump.
stat_of() {
	grep -o "serial_$1=[0-9]*" "$BRIDGE_LOG" | tail -n 1 | cut -d= -f2
}

dump_stats() {
	local before
	before=$(grep -c 'stats clients:' "$BRIDGE_LOG")
	signal_bridge USR1
	wait_grep "$BRIDGE_LOG" 'stats clients:' 5 $((before + 1))
}

# ---------------------------------------------------------------- set-up

start_relay framed
FRAMED_ST=$STATION FRAMED_GR=$GROUND
start_relay raw --raw
RAW_ST=$STATION RAW_GR=$GROUND
# Damage up: PUBLISH frames 3, 6, 9 (one octet dropped, flipped, added),
# 12 and 13 (two in a row), garbage before 16 and 22, the opening flag of
# 19 left out. Down: PUBLISH frames 2 and 4.
start_relay damage --seed 7 \
	--up 3:drop,6:flip,9:insert,12:flip,13:drop,16:garbage,19:noflag,22:garbage \
	--down 2:flip,4:drop
DMG_ST=$STATION DMG_GR=$GROUND
# Random damage: the link simulator's serial mode, octets lost, inserted
# and bits flipped (a few per cent of the frames).
"$SIM_BIN" proxy -q --serial --seed 5 --set up.byte_loss=0.006 --set up.byte_insert=0.003 \
	--set up.bit_error=0.0003 --set down.byte_loss=0.001 --set down.byte_insert=0.0005 \
	--set down.bit_error=0.00005 >"$T/sim.out" 2>"$T/sim.err" &
track "$!"
wait_grep "$T/sim.out" '^ground ' 10 || bail "sn-sim proxy --serial did not start"
SIM_ST=$(awk '$1 == "station" { print $2 }' "$T/sim.out")
SIM_GR=$(awk '$1 == "ground" { print $2 }' "$T/sim.out")

start_broker
bridge_conf "serial $FRAMED_GR" \
	"serial $RAW_GR baud 115200 raw" \
	"serial $DMG_GR baud 57600 rtscts" \
	"serial $SIM_GR"
start_bridge
check "the bridge listens on the framed line" \
	grep -q "listening on serial $FRAMED_GR, 9600 baud, framed" "$BRIDGE_LOG"
check "the raw line at 115200 baud" \
	grep -q "listening on serial $RAW_GR, 115200 baud, raw stream" "$BRIDGE_LOG"
check "the third with RTS/CTS" grep -q "listening on serial $DMG_GR, 57600 baud, RTS/CTS" "$BRIDGE_LOG"
SUB_FORMAT='%t %q %p' sub_start "$T/up.txt" 'ser/#'

# ---------------------------------------------------------------- framed

for q in 0 1 2; do
	snpub "$FRAMED_ST" -i ser-framed-$q -t ser/framed/q$q -q $q -m "framed qos $q"
	check "framed: sn-pub --serial QoS $q succeeds" test $? -eq 0
	check "framed: QoS $q arrives at the broker's subscriber" \
		wait_grep "$T/up.txt" "^ser/framed/q$q $q framed qos $q\$" 10
done
check "framed: every message exactly once" \
	test "$(grep -c '^ser/framed/' "$T/up.txt")" -eq 3

# A subscriber on the line, and a plain UDP client of the same bridge
# publishing to it meanwhile.
sub_bg framed-sub "$FRAMED_ST" -i ser-fsub -t ser/down/framed -q 2 -C 3 -v
for q in 0 1 2; do
	"$SNPUB" -p "$BRIDGE_PORT" -i ser-udp-$q -t ser/down/framed -q $q -m "from udp $q" \
		--rto 500 --timeout 10 >>"$T/snpub.out" 2>&1
	check "a UDP client of the same bridge publishes at QoS $q" test $? -eq 0
done
sub_end framed-sub
check "framed: sn-sub --serial gets all three and exits 0" test $? -eq 0
for q in 0 1 2; do
	check "framed: the subscriber got the QoS $q message" \
		grep -qx "ser/down/framed from udp $q" "$T/framed-sub.out"
done

# ---------------------------------------------------------------- raw

for q in 0 1 2; do
	snpub "$RAW_ST" --serial-raw --baud 115200 -i ser-raw-$q -t ser/raw/q$q -q $q \
		-m "raw qos $q"
	check "raw: sn-pub --serial-raw QoS $q succeeds" test $? -eq 0
	check "raw: QoS $q arrives at the broker's subscriber" \
		wait_grep "$T/up.txt" "^ser/raw/q$q $q raw qos $q\$" 10
done
sub_bg raw-sub "$RAW_ST" --serial-raw --baud 115200 -i ser-rsub -t ser/down/raw -q 1 -C 2
pub ser/down/raw raw-down-1 -q 1
pub ser/down/raw raw-down-2 -q 0
sub_end raw-sub
check "raw: sn-sub --serial-raw gets both messages" test $? -eq 0
check "raw: in order, unchanged" \
	test "$(tr '\n' ' ' <"$T/raw-sub.out")" = "raw-down-1 raw-down-2 "

# ---------------------------------------------------------------- damage

# 25 QoS 0 messages up through the damaging relay: no retransmission, so
# what arrives is what the line delivered.
seq 1 25 | sed 's/^/m/' >"$T/lines.txt"
snpub "$DMG_ST" --baud 57600 --rtscts -i ser-dmg -t ser/dmg -q 0 -l <"$T/lines.txt"
check "damage: sn-pub -l through the damaging relay succeeds" test $? -eq 0
check "damage: the relay damaged 8 PUBLISH frames up" \
	test "$(grep -c '^up [0-9]* ' "$T/damage.out")" -eq 8
check "damage: the last message arrives" wait_grep "$T/up.txt" '^ser/dmg 0 m25$' 10
missing= extra=
for i in $(seq 1 25); do
	n=$(count_exact "$T/up.txt" "ser/dmg 0 m$i")
	case " 3 6 9 12 13 " in
	*" $i "*) [ "$n" -eq 0 ] || extra="$extra m$i" ;;
	*) [ "$n" -eq 1 ] || missing="$missing m$i" ;;
	esac
done
check "damage: every intact frame delivered, once (missing:${missing:- none})" test -z "$missing"
check "damage: no damaged frame delivered (delivered:${extra:- none})" test -z "$extra"
after_damage() { grep -qx "ser/dmg 0 m4" "$T/up.txt" && grep -qx "ser/dmg 0 m14" "$T/up.txt"; }
check "damage: the frame right after damage gets through (m4, m14)" after_damage
check "damage: nothing else arrived on the topic" \
	test "$(grep -c '^ser/dmg ' "$T/up.txt")" -eq 20
dump_stats
check "damage: the bridge counted the damaged frames ($(stat_of damaged) >= 5)" \
	test "$(stat_of damaged)" -ge 5
check "damage: and logged them" grep -q "serial $DMG_GR: .* damaged frame(s) dropped" "$BRIDGE_LOG"

# Down: QoS 0 messages d1..d6 from the broker; PUBLISH frames 2 and 4 damaged.
sub_bg dmg-sub "$DMG_ST" --baud 57600 --rtscts -i ser-dsub -t ser/dmg/down -q 0 -C 4
for i in 1 2 3 4 5 6; do pub ser/dmg/down "d$i"; done
sub_end dmg-sub
check "damage down: sn-sub gets the four intact messages" test $? -eq 0
check "damage down: d1 d3 d5 d6, not the damaged d2 and d4" \
	test "$(tr '\n' ' ' <"$T/dmg-sub.out")" = "d1 d3 d5 d6 "
check "damage down: the relay damaged 2 frames down" \
	test "$(grep -c '^down [0-9]* ' "$T/damage.out")" -eq 2

# QoS 1 through random damage: what is lost is retransmitted, so every
# message arrives, and the bridge counted damaged frames on the way.
before=$(stat_of damaged)
seq 1 60 | sed 's/^/r/' >"$T/rlines.txt"
snpub "$SIM_ST" -i ser-sim -t ser/sim -q 1 -l --timeout 60 <"$T/rlines.txt"
check "random damage: sn-pub -l of 60 QoS 1 messages succeeds" test $? -eq 0
missing=
for i in $(seq 1 60); do
	[ "$(count_exact "$T/up.txt" "ser/sim 1 r$i")" -ge 1 ] || missing="$missing r$i"
done
check "random damage: every QoS 1 message arrived (missing:${missing:- none})" test -z "$missing"
dump_stats
check "random damage: the bridge dropped damaged frames ($before -> $(stat_of damaged))" \
	test "$(stat_of damaged)" -gt "$before"

# ---------------------------------------------------------------- a line goes away

# The raw line's relay ends: its devices disappear under the bridge.
kill -TERM "${RELAY_PIDS[raw]}"
check "a lost line is logged" \
	wait_grep "$BRIDGE_LOG" "serial $RAW_GR: the line hung up; closed, opening it again" 5
# Back-off: the first attempts come after 1 s, then 2 s more.
check "it is tried again with back-off" wait_grep "$BRIDGE_LOG" "serial: $RAW_GR: .*next attempt in 2000 ms" 10
check "only once a warning, with no busy loop" \
	test "$(grep -c "serial $RAW_GR: the line hung up" "$BRIDGE_LOG")" -eq 1 -a \
	"$(grep -c "serial: $RAW_GR: .*next attempt" "$BRIDGE_LOG")" -le 3
check "the bridge still answers over UDP" bridge_answers
snpub "$FRAMED_ST" -i ser-after -t ser/after -q 1 -m still-here
check "the other lines still work" wait_grep "$T/up.txt" '^ser/after 1 still-here$' 10
dump_stats
check "the line error is counted" test "$(stat_of line_errors)" -ge 1

# ---------------------------------------------------------------- configuration errors

# bad_conf NAME LINE...: sn-bridge -c with these lines must exit 2; its
# stderr in $T/NAME.err.
bad_conf() {
	local name=$1 rc
	shift
	printf '%s\n' "# $name" "listen 127.0.0.1:$(freeport udp)" "broker 127.0.0.1:$BROKER_PORT" \
		"stats_interval_s 0" "$@" >"$T/$name.conf"
	timeout 10 "$BRIDGE_BIN" -c "$T/$name.conf" >"$T/$name.err" 2>&1
	rc=$?
	check "$name: sn-bridge exits 2 (was $rc)" test "$rc" -eq 2
}
bad_conf missing "serial /dev/no-such-tty-here"
check "missing: the error names the file, the line and the device" \
	grep -q "$T/missing.conf:5: serial /dev/no-such-tty-here: No such file or directory" \
	"$T/missing.err"
bad_conf notatty "serial /dev/null"
check "notatty: /dev/null is not a terminal, at its line" \
	grep -q "$T/notatty.conf:5: serial /dev/null: not a terminal" "$T/notatty.err"
bad_conf badbaud "serial $FRAMED_GR baud 12345"
check "badbaud: a rate that is not standard, at its line" \
	grep -q "$T/badbaud.conf:5: serial: baud \"12345\" is not a standard rate" "$T/badbaud.err"
bad_conf badword "serial $FRAMED_GR parity"
check "badword: an unknown word, at its line" \
	grep -q "$T/badword.conf:5: serial: \"parity\" is not baud N, rtscts or raw" "$T/badword.err"
bad_conf twice "serial $FRAMED_GR" "serial $FRAMED_GR raw"
check "twice: one device on two lines" \
	grep -q "$T/twice.conf:6: serial: $FRAMED_GR is already a serial line ($T/twice.conf:5)" \
	"$T/twice.err"
timeout 10 "$BRIDGE_BIN" -b "127.0.0.1:$BROKER_PORT" --serial "$FRAMED_GR:1234" >"$T/cli.err" 2>&1
check "--serial DEV:1234: exit 2" test $? -eq 2
check "--serial DEV:1234: says why" grep -q -- "--serial $FRAMED_GR:1234: baud \"1234\"" "$T/cli.err"
"$SNPUB" --serial "$FRAMED_ST" -p 1884 -t x -m y >"$T/tool.err" 2>&1
check "sn-pub --serial with -p: exit 2" test $? -eq 2
"$SNSUB" --baud 9600 -t x >"$T/tool.err" 2>&1
check "sn-sub --baud without --serial: exit 2" test $? -eq 2
"$SNPUB" --serial /dev/no-such-tty-here -t x -m y >"$T/tool.err" 2>&1
check "sn-pub --serial with a missing device: exit 1, naming it" \
	grep -q '/dev/no-such-tty-here: No such file or directory' "$T/tool.err"

# The tools ran under the sanitizers too when built with them.
no_san_report() {
	! grep -l "AddressSanitizer\|LeakSanitizer\|runtime error:" "$T"/*.out "$T"/*.err 2>/dev/null
}
check "no sanitizer report from the tools or the relays" no_san_report
