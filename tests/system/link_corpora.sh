#!/usr/bin/env bash
# link_corpora.sh - both telemetry corpora through link frames, end to end,
# with the real tools: stations with sn-pub --frames (encrypted with
# sn-keygen's keys, compressed with sn-dict's dictionaries) publish the
# weather records and the earthquake events (about 713 octets each: more
# than one 340-octet frame holds uncompressed) at QoS 1, over UDP and over
# a serial line (a pseudo-terminal relay, tests/tools/serial-relay.c), to
# the real sn-bridge and a real mosquitto. Every message must arrive intact
# at a subscriber, in order; a plain MQTT-SN client on the same UDP port
# meanwhile is unaffected.
. "$(dirname "$0")/lib.sh"

SNPUB=$BUILD_DIR/bin/sn-pub
KEYGEN=$BUILD_DIR/bin/sn-keygen
DICT=$BUILD_DIR/bin/sn-dict
RELAY=$BUILD_DIR/tests/serial-relay
for b in "$SNPUB" "$KEYGEN" "$DICT" "$RELAY"; do
	[ -x "$b" ] || bail "$b is missing: build with make BUILD=$BUILD build"
done
DATA=${SNBRIDGE_DATA:-$ROOT/../shared/data}/telemetry
WEATHER_CSV=$DATA/seattle-weather-hourly-normals.csv
QUAKES=$DATA/usgs-earthquakes-2018w05.jsonl
[ -r "$WEATHER_CSV" ] && [ -r "$QUAKES" ] || bail "the corpora are missing under $DATA"

# The weather CSV as the JSON a station sends (LINKS.md); messages are the
# first records, dictionaries are built from the last ones (not sent).
awk -F, 'NR > 1 { printf "{\"ts\":\"%s\",\"pressure_hpa\":%s,\"temp_c\":%s,\"wind_ms\":%s}\n", $1, $2, $3, $4 }' \
	"$WEATHER_CSV" >"$T/weather.all"
head -n 300 "$T/weather.all" >"$T/weather.txt"
tail -n 400 "$T/weather.all" | "$DICT" -o "$T/weather.dict" --id 1 -l >/dev/null || bail "sn-dict weather"
head -n 60 "$QUAKES" >"$T/quakes.txt"
tail -n 100 "$QUAKES" | "$DICT" -o "$T/quakes.dict" --id 2 -l >/dev/null || bail "sn-dict quakes"

for id in udp-w udp-q ser-w ser-q; do
	"$KEYGEN" -i "$id" -o "$T/keys" -a >/dev/null || bail "sn-keygen $id"
done

# relay NAME: a serial line (two pseudo-terminal pairs back to back); sets
# STATION (the station's device) and GROUND (the bridge's).
relay() {
	"$RELAY" >"$T/$1.out" 2>"$T/$1.err" &
	track "$!"
	wait_grep "$T/$1.out" '^ground ' 10 || bail "serial-relay $1 did not start"
	STATION=$(awk '$1 == "station" { print $2 }' "$T/$1.out")
	GROUND=$(awk '$1 == "ground" { print $2 }' "$T/$1.out")
}
relay line-w
LINE_W=$STATION GROUND_W=$GROUND
relay line-q
LINE_Q=$STATION GROUND_Q=$GROUND

start_broker
SUB_FORMAT='%t %p' sub_start "$T/sub.txt" 'corpora/#'
bridge_conf "link_keys $T/keys" "link_dict $T/weather.dict" "link_dict $T/quakes.dict" \
	"link_state_dir $T/state" "link_mtu 340" "serial $GROUND_W" "serial $GROUND_Q"
start_bridge

# framed NAME TOPIC DICT FILE [sn-pub options]: a station streaming FILE
# through its on-disk queue (which keeps a window of messages in flight),
# in the background.
declare -A PUB_PIDS=()
framed() {
	local name=$1 topic=$2 dict=$3 file=$4
	shift 4
	"$SNPUB" -i "$name" --frames --key-file "$T/keys" --dict "$dict" --link-state "$T/$name.state" \
		-t "$topic" -q 1 -l --queue "$T/q-$name" --rto 2000 --timeout 60 "$@" <"$file" \
		>"$T/$name.out" 2>&1 &
	PUB_PIDS[$name]=$!
	track "$!"
}

framed udp-w corpora/udp/weather "$T/weather.dict" "$T/weather.txt" -h 127.0.0.1 -p "$BRIDGE_PORT"
framed udp-q corpora/udp/quakes "$T/quakes.dict" "$T/quakes.txt" -h 127.0.0.1 -p "$BRIDGE_PORT"
# A plain station on the same port meanwhile.
seq 1 50 | sed 's/^/plain reading /' >"$T/plain.txt"
"$SNPUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -i plain-1 -t corpora/plain -q 1 -l --timeout 60 \
	<"$T/plain.txt" >"$T/plain.out" 2>&1 &
PUB_PIDS[plain]=$!
track "$!"
# A serial line each.
framed ser-w corpora/serial/weather "$T/weather.dict" "$T/weather.txt" --serial "$LINE_W"
framed ser-q corpora/serial/quakes "$T/quakes.dict" "$T/quakes.txt" --serial "$LINE_Q"

finished() { # NAME: wait for the station's sn-pub; check it exited 0
	local pid=${PUB_PIDS[$1]} rc
	gone() { ! kill -0 "$pid" 2>/dev/null; }
	wait_until 120 gone || kill -TERM "$pid"
	wait "$pid"
	rc=$?
	untrack "$pid"
	check "$1: sn-pub exits 0" test "$rc" -eq 0 || show "$1" "$T/$1.out"
}
for n in udp-w udp-q plain ser-w ser-q; do finished "$n"; done

# arrived TOPIC FILE: the subscriber has FILE's lines on TOPIC, in order, intact, once.
arrived() {
	local topic=$1 file=$2 n
	n=$(wc -l <"$file")
	have() { [ "$(grep -c "^$topic " "$T/sub.txt")" -ge "$n" ]; }
	wait_until 30 have
	grep "^$topic " "$T/sub.txt" | cut -d' ' -f2- >"$T/got.txt"
	if cmp -s "$T/got.txt" "$file"; then
		ok "$topic: all $n messages arrived intact, in order, once"
	else
		notok "$topic: what arrived differs from what was sent ($(wc -l <"$T/got.txt") of $n lines)"
		diff "$file" "$T/got.txt" | head -n 5 | sed 's/^/#   /'
	fi
}
arrived corpora/udp/weather "$T/weather.txt"
arrived corpora/udp/quakes "$T/quakes.txt"
arrived corpora/serial/weather "$T/weather.txt"
arrived corpora/serial/quakes "$T/quakes.txt"
arrived corpora/plain "$T/plain.txt"

# The frames were compressed and encrypted: the bridge's statistics say so.
before=$(grep -c 'stats link:' "$BRIDGE_LOG")
signal_bridge USR1
wait_grep "$BRIDGE_LOG" 'stats link:' 5 $((before + 1))
line=$(grep 'stats link:' "$BRIDGE_LOG" | tail -n 1)
note "bridge: $line"
num_of() { echo "$line" | grep -o "$1=[0-9]*" | head -n 1 | cut -d= -f2; }
check "the bridge opened frames and refused none" \
	test "${line:+x}" = x -a "$(num_of frames_in)" -gt 0 -a "$(num_of bad_auth)" = 0
