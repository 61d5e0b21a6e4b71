#!/usr/bin/env bash
# custody_basic.sh - issue #7, custody of the uplink: with store_dir set,
# QoS 1 and 2 PUBLISHes are acknowledged while the broker is down, kept on
# disk, and reach a subscriber in order (QoS 2 once) when it is back; the
# store's one-line summary at start, MQTT 5 properties and expiry, and a
# second bridge on the same store refused.
. "$(dirname "$0")/lib.sh"

SNPUB=$BUILD_DIR/bin/sn-pub
[ -x "$SNPUB" ] || bail "$SNPUB is missing"

# A broker that keeps sessions across its restart, and a subscriber with a
# lasting session: what the bridge forwards while the subscriber is
# reconnecting waits for it at the broker.
start_broker "persistence true" "persistence_location $T/" "autosave_interval 1"
SUB=$T/sub.txt
: >"$SUB"
stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -i "cust-sub-$$" -c -q 2 \
	-t 'cust/#' -F '%t %q %p' >"$SUB" 2>>"$T/sub.err" &
track $!
wait_grep "$T/mosquitto.log" "Sending SUBACK to cust-sub-$$" 10 || bail "subscriber not subscribed"

bridge_conf "store_dir $T/store" "mode transparent" "mqtt_version 5" "message_ttl_s 3600"
start_bridge
check "the store's summary is logged at start" grep -q "custody store $T/store: " "$BRIDGE_LOG"

# The broker goes away; the stations publish all the same.
stop_broker
wait_grep "$BRIDGE_LOG" "custody: broker connection lost" 10 || notok "bridge saw the broker go"

publish() { # NAME QOS N
	seq 1 "$3" | sed "s/^/$1-/" |
		timeout 30 "$SNPUB" -h 127.0.0.1 -p "$BRIDGE_PORT" -i "$1" -t "cust/$1" -q "$2" \
			-l --queue "$T/q-$1" --window 4 --timeout 20 >"$T/pub-$1.out" 2>&1
}
check "QoS 1 publishes acknowledged while the broker is down" publish st1 1 30
check "QoS 2 publishes acknowledged while the broker is down" publish st2 2 30
check "nothing reached the subscriber yet" test ! -s "$SUB"

# A second bridge on the same store is refused, clearly.
cp "$BRIDGE_CONF" "$T/second.conf"
sed -i "s/^listen .*/listen 127.0.0.1:$(freeport udp)/" "$T/second.conf"
"$BRIDGE_BIN" -c "$T/second.conf" >"$T/second.log" 2>&1
rc=$?
check "a second bridge on the same store exits 1" test "$rc" -eq 1
check "... saying the store is in use" grep -q "in use by another process" "$T/second.log"

# The broker is back: the backlog drains, in order, QoS 2 once.
start_broker "persistence true" "persistence_location $T/" "autosave_interval 1"
wait_lines "$SUB" 60 20 || notok "all 60 messages at the subscriber (got $(wc -l <"$SUB"))"
in_order() { # NAME QOS N
	local want got
	want=$(seq 1 "$3" | sed "s|^|cust/$1 $2 $1-|")
	got=$(grep "^cust/$1 " "$SUB")
	[ "$want" = "$got" ] || { diff <(echo "$want") <(echo "$got") | head | sed 's/^/#   /'; return 1; }
}
check "QoS 1 messages arrive in order, each once" in_order st1 1 30
check "QoS 2 messages arrive in order, exactly once" in_order st2 2 30
# The subscriber can have the last messages before the bridge has the
# broker's acks for them: ask for the statistics until they say so.
USR1=0
all_forwarded() {
	signal_bridge USR1
	USR1=$((USR1 + 1))
	wait_grep "$BRIDGE_LOG" "stats custody: " 5 "$USR1" &&
		grep "stats custody: " "$BRIDGE_LOG" | tail -1 | grep -q "waiting=0 .*stored=60 forwarded=60"
}
check "the statistics count what was stored and forwarded" wait_until 10 all_forwarded

# MQTT 5: the station, the receive time and the seq as user properties,
# and what is left of message_ttl_s as the expiry interval.
PROPS=$T/props.txt
stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$BROKER_PORT" -V 5 -q 1 -t 'cust/st3' -C 1 -W 20 \
	-F '%t %p %E %P' >"$PROPS" 2>>"$T/sub.err" &
PROPS_PID=$!
track "$PROPS_PID"
wait_grep "$T/mosquitto.log" "SUBSCRIBE" 10 3
check "one more QoS 1 message" publish st3 1 1
wait_lines "$PROPS" 1 10
check "MQTT 5 user properties: station, received time, seq" \
	grep -Eq '^cust/st3 st3-1 .*snb-station:st3.*snb-received:20[0-9-]+T[0-9:.]+Z.*snb-seq:[0-9]+' "$PROPS"
expiry=$(awk '{print $3}' "$PROPS")
check "the message-expiry interval is what is left of message_ttl_s ($expiry)" \
	test "${expiry:-0}" -ge 3590 -a "${expiry:-0}" -le 3600
