#!/usr/bin/env bash
# link_bridge.sh - link frames at the real sn-bridge (bridge/link.h): a
# station speaking frames (sn-probe's "frames" mode) publishes at QoS 1
# through a private mosquitto, batched, compressed and sealed; a plain
# client on the same port is unaffected; a listener with link_require
# refuses plain MQTT-SN; a wrong key, a replayed and a tampered frame are
# refused and counted (the SIGUSR1 "stats link:" line); a key speaks only
# for its own client id; the counters survive a restart of the bridge (a
# frame from before it is refused, and the bridge's own frames never reuse
# a counter the station saw); SIGHUP reloads the keys; a key file open to
# others is refused at start.
. "$(dirname "$0")/lib.sh"

KEYGEN=$BUILD_DIR/bin/sn-keygen
DICT=$BUILD_DIR/bin/sn-dict
SNPUB=$BUILD_DIR/bin/sn-pub
[ -x "$KEYGEN" ] || bail "$KEYGEN is missing: build with make BUILD=$BUILD build"
[ -x "$DICT" ] || bail "$DICT is missing: build with make BUILD=$BUILD build"

# ---------------------------------------------------------------- keys and dictionary

"$KEYGEN" -i st-1 -o "$T/keys" >/dev/null || bail "sn-keygen st-1"
"$KEYGEN" -i st-2 -o "$T/keys" -a >/dev/null || bail "sn-keygen st-2"
# st-4 is sn-pub's: each station keeps its own counters, so its own key.
"$KEYGEN" -i st-4 -o "$T/keys" -a >/dev/null || bail "sn-keygen st-4"
"$KEYGEN" -i st-1 -o "$T/wrong" >/dev/null || bail "sn-keygen (a wrong key for st-1)"
for i in $(seq 1 200); do
	printf '{"ts":"2010-01-01T%02d:00:00","pressure_hpa":1016.%d,"temp_c":4.%d,"wind_ms":3.8}\n' \
		$((i % 24)) $((i % 10)) $((i % 7))
done | "$DICT" -o "$T/w.dict" --id 7 -l >/dev/null || bail "sn-dict"

start_broker
sub_start "$T/sub.out" 'stations/#'
REQ_PORT=$(freeport udp) || bail "no free UDP port"
bridge_conf "listen 127.0.0.1:$REQ_PORT link_require" \
	"link_keys $T/keys" "link_dict $T/w.dict" "link_state_dir $T/state" \
	"link_hold_ms 300" "link_mtu 340" "log_interval_ms 0"
start_bridge

# stats_has NAME=VALUE: after SIGUSR1, a "stats link:" line logged since shows it.
stats_match() {
	tail -n +"$1" "$BRIDGE_LOG" | grep "stats link: " | grep -q -E -- "(: | )$2( |\$)"
}
stats_has() {
	local from
	from=$(($(wc -l <"$BRIDGE_LOG") + 1))
	signal_bridge USR1
	wait_until 5 stats_match "$from" "$1"
}

W1='{"ts":"2010-01-01T01:00:00","pressure_hpa":1016.5,"temp_c":3.9,"wind_ms":3.8}'
W2='{"ts":"2010-01-01T02:00:00","pressure_hpa":1016.4,"temp_c":3.8,"wind_ms":3.6}'
W3='{"ts":"2010-01-01T03:00:00","pressure_hpa":1016.2,"temp_c":3.7,"wind_ms":3.5}'
# The same with their quotes escaped, for sn-probe's data="..." values.
E1=${W1//\"/\\\"}
E2=${W2//\"/\\\"}
E3=${W3//\"/\\\"}

# ---------------------------------------------------------------- framed QoS 1

probe_check "a framed station: CONNECT, REGISTER, three QoS 1 PUBLISHes in one frame, PUBACKs" st1 <<EOF
frames $T/keys st-1 dict=$T/w.dict state=$T/st1.state mtu=340
send CONNECT clean=1 will=0 duration=60 id=st-1
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=stations/st-1/weather
expect REGACK msg_id=1 rc=0 save=TID
send PUBLISH qos=1 type=normal topic_id=\$TID msg_id=2 data="$E1"
send PUBLISH qos=1 type=normal topic_id=\$TID msg_id=3 data="$E2"
send PUBLISH qos=1 type=normal topic_id=\$TID msg_id=4 data="$E3"
expect PUBACK msg_id=2 rc=0
expect PUBACK msg_id=3 rc=0
expect PUBACK msg_id=4 rc=0
# 3 frames up: CONNECT, REGISTER, the three PUBLISHes together
exec test \$frames_out -eq 3
# down: CONNACK, REGACK, and the PUBACKs batched in fewer than three frames
exec test \$frames_in -le 4
# three weather records of 84 octets, deflated against the dictionary, sealed
exec test \$frame_len -lt 150
save_frame $T/old.frame
resend
resend tamper=1
expect none within=0.5
EOF
check "... all three arrive at the subscriber intact" wait_lines "$T/sub.out" 3
check "... the first" test "$(count_exact "$T/sub.out" "stations/st-1/weather $W1")" -eq 1
check "... the third, once (the replay was not published)" \
	test "$(count_exact "$T/sub.out" "stations/st-1/weather $W3")" -eq 1
check "the replayed frame is counted" stats_has "bad_replayed=1"
check "the tampered frame is counted" stats_has "bad_auth=1"
check "the counters are in link_state_dir (st-1: 73742d31.link)" \
	grep -q "^snbridge-link 1 tx_mark=[0-9]* rx_floor=[1-9][0-9]* st-1$" "$T/state/73742d31.link"
check "... a private file" test "$(stat -c %a "$T/state/73742d31.link")" = 600

# ---------------------------------------------------------------- plain beside framed

probe_check "a plain client on the same port is unaffected" plain1 <<'EOF'
send CONNECT clean=1 will=0 duration=60 id=plain-1
expect CONNACK rc=0
send REGISTER topic_id=0 msg_id=1 name=stations/plain-1/x
expect REGACK msg_id=1 rc=0 save=TID
send PUBLISH qos=1 type=normal topic_id=$TID msg_id=2 data=plain-hello
expect PUBACK msg_id=2 rc=0
send DISCONNECT
expect DISCONNECT
EOF
check "... its message arrives" wait_grep "$T/sub.out" "^stations/plain-1/x plain-hello$"

probe_check "a plain client may not take a station's client id: CONNACK 0x03" plain2 <<'EOF'
send CONNECT clean=1 will=0 duration=60 id=st-2
expect CONNACK rc=3
EOF

# ---------------------------------------------------------------- keys and client ids

probe_check "st-1's key with a CONNECT as st-2: CONNACK 0x03 in a frame" st1b <<EOF
frames $T/keys st-1 state=$T/st1.state
send CONNECT clean=1 will=0 duration=60 id=st-2
expect CONNACK rc=3
EOF
check "... counted" stats_has "id_refused=2"

probe_check "a wrong key for st-1: nothing comes back" wrong <<EOF
frames $T/wrong st-1
send CONNECT clean=1 will=0 duration=60 id=st-1
expect none within=1
EOF
check "... counted as a frame no station's key opens" stats_has "unknown_station=1"
check "... and logged once, clearly" \
	grep -q "link: frame from 127.0.0.1:[0-9]* with key id 0 opens under no station's key" "$BRIDGE_LOG"

# ---------------------------------------------------------------- a listener that requires frames

probe_require() {
	"$PROBE" -d -n "$1" 127.0.0.1 "$REQ_PORT" - >"$T/probe-$1.out" 2>&1
}
if probe_require req-plain <<'EOF'
send CONNECT clean=1 will=0 duration=60 id=plain-3
expect none within=1
EOF
then ok "link_require: plain MQTT-SN gets no answer"; else notok "link_require: plain MQTT-SN gets no answer"; show probe "$T/probe-req-plain.out"; fi
check "... counted" stats_has "plain_refused=1"
check "... and logged" grep -q "on a listener that requires link frames: dropped" "$BRIDGE_LOG"
if probe_require req-framed <<EOF
frames $T/keys st-2 state=$T/st2.state
send CONNECT clean=1 will=0 duration=60 id=st-2
expect CONNACK rc=0
send DISCONNECT
expect DISCONNECT
EOF
then ok "... while frames are taken there"; else notok "... while frames are taken there"; show probe "$T/probe-req-framed.out"; fi

# ---------------------------------------------------------------- sn-pub --frames

"$SNPUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -i st-4 --frames --key-file "$T/keys" --dict "$T/w.dict" \
	--link-state "$T/st4.state" -t stations/st-4/weather -q 1 -m "$W1" >"$T/snpub.out" 2>&1
check "sn-pub --frames --key-file --dict: exit 0" test $? -eq 0 || show sn-pub "$T/snpub.out"
check "... its message arrives" wait_grep "$T/sub.out" "^stations/st-4/weather "

# ---------------------------------------------------------------- across a restart

check "the bridge stops cleanly" stop_bridge
start_bridge
check "after the restart, the keys are loaded" grep -q "loaded 3 station key(s)" "$BRIDGE_LOG"
probe_check "after a restart: a frame from before it is refused, the station goes on" st1c <<EOF
frames $T/keys st-1 state=$T/st1.state
resend file=$T/old.frame
expect none within=0.5
send CONNECT clean=1 will=0 duration=60 id=st-1
expect CONNACK rc=0
send PUBLISH qos=1 type=normal topic_id=1 msg_id=9 data=after-restart
expect PUBACK msg_id=9
EOF
check "... the old frame published nothing again" \
	test "$(count_exact "$T/sub.out" "stations/st-1/weather $W1")" -eq 1
check "... and is counted" stats_has "unknown_station=1"

# ---------------------------------------------------------------- reload and refusal

"$KEYGEN" -i st-3 -o "$T/keys" -a >/dev/null || bail "sn-keygen st-3"
signal_bridge HUP
check "SIGHUP reloads the keys" wait_grep "$BRIDGE_LOG" "reloaded 4 station key(s)"
probe_check "... and the new station connects" st3 <<EOF
frames $T/keys st-3 state=$T/st3.state
send CONNECT clean=1 will=0 duration=60 id=st-3
expect CONNACK rc=0
EOF

chmod 644 "$T/keys"
{
	echo "listen 127.0.0.1:$(freeport udp)"
	echo "broker 127.0.0.1:$BROKER_PORT"
	echo "link_keys $T/keys"
	echo "link_state_dir $T/state"
} >"$T/open.conf"
timeout 10 "$BRIDGE_BIN" -c "$T/open.conf" >"$T/open.out" 2>&1
check "a key file open to others: exit 2" test $? -eq 2
check "... saying why" grep -q "$T/keys: open to group or others (mode 0644)" "$T/open.out"

printf 'st-9 0 %s\nst-9 7 %s\n' "$(printf '%064d' 0)" "$(printf '%064d' 0)" >"$T/badkeys"
chmod 600 "$T/badkeys"
sed "s|^link_keys .*|link_keys $T/badkeys|" "$T/open.conf" >"$T/bad.conf"
timeout 10 "$BRIDGE_BIN" -c "$T/bad.conf" >"$T/bad.out" 2>&1
check "a damaged key file: exit 2" test $? -eq 2
check "... naming the file and line" grep -q "$T/badkeys:2: the key id must be 0, 1, 2 or 3" "$T/bad.out"
