#!/usr/bin/env bash
# bench-frames.sh - the link frame section of `make bench`: plain MQTT-SN
# against link frames over a 600 ms round trip at 9,600 bit/s (8N1), for
# the two corpora, with `sn-sim run --compare`: the real client core and
# gateway core, the real frame code at both ends, the link simulated in
# virtual time (so the figures are the same on every machine and every
# run). Nothing is asserted.
#
# Environment: BUILD (default build).
set -u
BUILD=${BUILD:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
SIM=$BUILD/bin/sn-sim
[ -x "$SIM" ] || {
	echo "bench-frames: $SIM is missing: make BUILD=$BUILD build" >&2
	exit 1
}
T=$(mktemp -d "${TMPDIR:-/tmp}/sn-bench-frames.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

# fig FILE NAME: the two values (plain, frames) of a --compare table row.
fig() {
	grep -E "^  $2 +[0-9]" "$1" | awk '{ print $(NF - 1), $NF }'
}

echo "== link frames: a backlog over 600 ms round trip and 9,600 bit/s (sn-sim run --compare,"
echo "   virtual time; frames 340 octets up, 270 down, compressed, encrypted)"
echo
echo "| corpus | messages | plain: octets up / down per message | frames: octets up / down per message | plain msg/s | frames msg/s | frames / plain | up capacity used (frames) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
run() { # NAME SCENARIO LABEL SETTINGS...
	local name=$1 scn=$2 label=$3
	shift 3
	if ! "$SIM" run --compare -q "$@" "$scn" >"$T/$name.txt" 2>"$T/$name.err"; then
		echo "| $label | failed: $(head -c 200 "$T/$name.err") | | | | | | |"
		return
	fi
	local up down rate cap d
	read -r d _ < <(fig "$T/$name.txt" published)
	up=($(fig "$T/$name.txt" "octets up per delivered message"))
	down=($(fig "$T/$name.txt" "octets down per delivered message"))
	rate=($(fig "$T/$name.txt" "delivered per second"))
	cap=$(grep -E '^  up capacity used' "$T/$name.txt" | awk '{ print $NF }')
	local ratio="-"
	if awk -v p="${rate[0]}" 'BEGIN { exit !(p > 0) }'; then
		ratio=$(awk -v p="${rate[0]}" -v f="${rate[1]}" 'BEGIN { printf "%.0f x", f / p }')
	fi
	local plain_b="${up[0]} / ${down[0]}"
	[ "$(fig "$T/$name.txt" delivered | awk '{ print $1 }')" = 0 ] && plain_b="cannot send (over the MTU)"
	echo "| $label | $d | $plain_b | ${up[1]} / ${down[1]} | ${rate[0]} | ${rate[1]} | $ratio | $cap |"
}
run weather sim/scenarios/backlog-9600.scn "weather records (77.5 B JSON), window 128, hold 200 ms"
run quakes sim/scenarios/quake-backlog-9600.scn "earthquake events (~713 B JSON), window 14, hold 500 ms" \
	--set frames.window=14 --set frames.hold=500ms
echo
echo "Octets are every octet on the link each way (frame headers, tags, batched"
echo "acknowledgements, CONNECT and REGISTER included) over the messages delivered."
echo "\"msg/s\" is delivered over the time from the first publish to the last first"
echo "receipt; capacity used is the up direction's octets over 960 a second in that time."
echo
