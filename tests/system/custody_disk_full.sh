#!/usr/bin/env bash
# custody_disk_full.sh - issue #7, custody at its limits: with the broker
# down, a station's QoS 1 PUBLISH beyond store_station_msgs or
# store_max_bytes gets PUBACK "congestion" (0x01), never an acceptance;
# what was accepted reaches the subscriber when the broker is back, and
# once the store has drained new messages are accepted again. Then a real
# write failure: the bridge under a file size limit (ulimit -f, so that
# write() fails with EFBIG; the bridge ignores SIGXFSZ) refuses with
# congestion instead of accepting, stays up, and delivers every message
# it did accept.
. "$(dirname "$0")/lib.sh"

# A broker that keeps the subscriber's lasting session across its restart.
BROKER_LINES=("persistence true" "persistence_location $T/" "autosave_interval 1")
start_broker "${BROKER_LINES[@]}"
SUB=$T/sub.txt
: >"$SUB"
stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -i "full-sub-$$" -c -q 2 \
	-t 'full/#' -F '%t %q %p' >"$SUB" 2>>"$T/sub.err" &
track $!
wait_grep "$T/mosquitto.log" "Sending SUBACK to full-sub-$$" 10 || bail "subscriber not subscribed"

# st1 meets the count per station (5), st2 the store's size: its messages
# of 2000 octets take a little more each with the record's overhead, so
# three fit in 7000 octets beside st1's five small ones, not four.
bridge_conf "store_dir $T/store" "store_station_msgs 5" "store_max_bytes 7000"
start_bridge
stop_broker
wait_grep "$BRIDGE_LOG" "custody: broker connection lost" 10 || notok "bridge saw the broker go"

PAD=$(printf '%2000s' '' | tr ' ' x)
PAD=${PAD:0:1990}

probe_check "st1: five QoS 1 messages accepted while the broker is down, then congestion" \
	st1-full <<'EOF'
send CONNECT clean=1 duration=60 id=st1
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=full/st1
expect REGACK msg_id=1 rc=0 save=t1
send PUBLISH qos=1 type=normal topic_id=$t1 msg_id=2 data=a1
expect PUBACK msg_id=2 rc=0
send PUBLISH qos=1 type=normal topic_id=$t1 msg_id=3 data=a2
expect PUBACK msg_id=3 rc=0
send PUBLISH qos=1 type=normal topic_id=$t1 msg_id=4 data=a3
expect PUBACK msg_id=4 rc=0
send PUBLISH qos=1 type=normal topic_id=$t1 msg_id=5 data=a4
expect PUBACK msg_id=5 rc=0
send PUBLISH qos=1 type=normal topic_id=$t1 msg_id=6 data=a5
expect PUBACK msg_id=6 rc=0
send PUBLISH qos=1 type=normal topic_id=$t1 msg_id=7 data=a6
expect PUBACK msg_id=7 rc=1
send PUBLISH qos=1 type=normal topic_id=$t1 msg_id=8 data=a7
expect PUBACK msg_id=8 rc=1
EOF

probe_check "st2: three messages of 2000 octets accepted, the fourth refused by store_max_bytes" \
	st2-full <<EOF
send CONNECT clean=1 duration=60 id=st2
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=full/st2
expect REGACK msg_id=1 rc=0 save=t2
send PUBLISH qos=1 type=normal topic_id=\$t2 msg_id=2 data=b1-$PAD
expect PUBACK msg_id=2 rc=0
send PUBLISH qos=1 type=normal topic_id=\$t2 msg_id=3 data=b2-$PAD
expect PUBACK msg_id=3 rc=0
send PUBLISH qos=1 type=normal topic_id=\$t2 msg_id=4 data=b3-$PAD
expect PUBACK msg_id=4 rc=0
send PUBLISH qos=1 type=normal topic_id=\$t2 msg_id=5 data=b4-$PAD
expect PUBACK msg_id=5 rc=1
EOF
check "the refusals are logged as a full store" grep -q "PUBACK congestion: store full" "$BRIDGE_LOG"
check "nothing reached the subscriber yet" test ! -s "$SUB"

# The broker is back: exactly what was accepted arrives.
start_broker "${BROKER_LINES[@]}"
wait_lines "$SUB" 8 20 || notok "the 8 accepted messages at the subscriber (got $(wc -l <"$SUB"))"
names() { # the payloads' names (a1, b2, ...), sorted
	awk '{print $3}' "$SUB" | cut -d- -f1 | sort | tr '\n' ' '
}
check "exactly the accepted messages arrived ($(names))" test "$(names)" = "a1 a2 a3 a4 a5 b1 b2 b3 "

# Drained: the same stations are accepted again.
USR1=0
store_empty() { # the statistics, asked for again each time, say so
	signal_bridge USR1
	USR1=$((USR1 + 1))
	wait_grep "$BRIDGE_LOG" "stats custody: " 5 "$USR1" &&
		grep "stats custody: " "$BRIDGE_LOG" | tail -1 | grep -q "waiting=0 "
}
wait_until 20 store_empty || notok "the store drained"
probe_check "st1 accepted again once the store drained" st1-again <<'EOF'
send CONNECT clean=1 duration=60 id=st1
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=full/st1
expect REGACK msg_id=1 rc=0 save=t1
send PUBLISH qos=1 type=normal topic_id=$t1 msg_id=2 data=a8
expect PUBACK msg_id=2 rc=0
EOF
probe_check "st2 accepted again once the store drained" st2-again <<EOF
send CONNECT clean=1 duration=60 id=st2
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=full/st2
expect REGACK msg_id=1 rc=0 save=t2
send PUBLISH qos=1 type=normal topic_id=\$t2 msg_id=2 data=b5-$PAD
expect PUBACK msg_id=2 rc=0
EOF
wait_lines "$SUB" 10 10 || notok "the two new messages at the subscriber"
check "everything accepted arrived, once ($(names))" \
	test "$(names)" = "a1 a2 a3 a4 a5 a8 b1 b2 b3 b5 "
stop_bridge || notok "sn-bridge exits 0 on SIGTERM"
check "no sanitizer report in the first bridge's log" \
	lacks "$BRIDGE_LOG" "AddressSanitizer\\|LeakSanitizer\\|runtime error:"

# ---------------------------------------------------------------- a write failure

# A new bridge on a new store, under a file size limit of 16 KiB: the store
# grows past it after a few messages of 2000 octets and its write() fails.
# Its log goes to a file of its own, at info level, to stay under the limit.
rm -f "$T/extra.conf"
bridge_conf "store_dir $T/store2" "log_level info"
BRIDGE_LOG=$T/sn-bridge-fsize.log
ulimit -S -f 16
start_bridge
ulimit -S -f unlimited
{
	echo "send CONNECT clean=1 duration=60 id=st3"
	echo "expect CONNACK rc=0"
	echo "send REGISTER topic_id=0 msg_id=1 name=full/st3"
	echo "expect REGACK msg_id=1 rc=0 save=t3"
	for i in $(seq 2 13); do
		echo "send PUBLISH qos=1 type=normal topic_id=\$t3 msg_id=$i data=c$i-$PAD"
		echo "expect PUBACK msg_id=$i rc=* save_rc=rc"
		echo "echo puback $i \$rc"
	done
} >"$T/fsize.script"
probe_check "st3: twelve messages of 2000 octets, each answered" fsize <"$T/fsize.script"
grep '^puback ' "$T/probe-fsize.out" >"$T/pubacks"
accepted=$(awk '$3 == 0 {print "c" $2}' "$T/pubacks" | sort | tr '\n' ' ')
refused=$(awk '$3 == 1' "$T/pubacks" | wc -l)
note "accepted under the limit: $accepted; refused: $refused"
check "every PUBACK is an acceptance or congestion" \
	test "$(awk '$3 != 0 && $3 != 1' "$T/pubacks" | wc -l)" -eq 0
check "the first messages were accepted" test -n "$accepted"
check "past the file size limit the store refuses with congestion" test "$refused" -ge 1
check "the refusal is logged as a write failure" \
	grep -q "PUBACK congestion: store could not write" "$BRIDGE_LOG"
check "the bridge is still running" bridge_alive
n_acc=$(echo "$accepted" | wc -w)
st3_lines() { [ "$(grep -c '^full/st3 ' "$SUB")" -ge "$n_acc" ]; }
wait_until 20 st3_lines || notok "the $n_acc accepted messages at the subscriber"
got_st3=$(awk '$1 == "full/st3" {print $3}' "$SUB" | cut -d- -f1 | sort -u | tr '\n' ' ')
check "every accepted message arrived ($got_st3)" test "$got_st3" = "$accepted"
