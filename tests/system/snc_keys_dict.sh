#!/usr/bin/env bash
# snc_keys_dict.sh - sn-dict (a compression dictionary file from sample
# payloads, in the format of codec/FRAMES.md) and sn-keygen (pre-shared key
# files, one "CLIENT_ID KEY_ID HEXKEY" line a key, mode 0600); their exit
# codes (0 done, 1 an error, 2 bad arguments).
. "$(dirname "$0")/lib.sh"

DICT=$BUILD_DIR/bin/sn-dict
KEYGEN=$BUILD_DIR/bin/sn-keygen
WEATHER=$ROOT/../shared/data/telemetry/seattle-weather-hourly-normals.csv
[ -x "$DICT" ] || bail "$DICT is missing: build with make BUILD=$BUILD build"
[ -x "$KEYGEN" ] || bail "$KEYGEN is missing: build with make BUILD=$BUILD build"
[ -r "$WEATHER" ] || bail "$WEATHER is missing (the weather samples)"

# status COMMAND...: run it quietly, print its exit status.
status() {
	"$@" >"$T/status.out" 2>"$T/status.err"
	echo $?
}

# ---------------------------------------------------------------- sn-dict

# 500 records as compact JSON, as the stations publish them.
awk -F, 'NR > 1 && NR <= 501 {
	printf "{\"ts\":\"%s\",\"pressure_hpa\":%s,\"temp_c\":%s,\"wind_ms\":%s}\n", $1, $2, $3, $4
}' "$WEATHER" >"$T/samples.jsonl"
check "500 weather samples" test "$(wc -l <"$T/samples.jsonl")" -eq 500

"$DICT" -o "$T/w.dict" --id 7 -l <"$T/samples.jsonl" >"$T/dict.out" 2>"$T/dict.err"
check "-l from standard input: exit 0" test $? -eq 0
# The header per FRAMES.md: "SNDI", version 1, id, length n (big-endian),
# n octets, a CRC-32C of 4: 14 octets around the dictionary.
hdr=$(od -An -tx1 -N10 "$T/w.dict" | tr -d ' \n')
n=$((16#${hdr:12:8}))
check "the file starts SNDI, version 1, id 7 ($hdr)" test "${hdr:0:12}" = "534e44490107"
check "... a length near 32 KiB, at most 32768 ($n)" test "$n" -le 32768 -a "$n" -gt 32000
check "... and the file is the dictionary plus 14 octets" test "$(stat -c %s "$T/w.dict")" -eq $((n + 14))
check "... prints the size and the id" grep -q "dictionary id 7, $n octets from 500 samples" "$T/dict.out"
# The newest samples come last, where deflate finds them nearest.
last=$(tail -n 1 "$T/samples.jsonl")
check "... the newest sample sits at the end of the dictionary" \
	test "$(tail -c $((${#last} + 4)) "$T/w.dict" | head -c "${#last}")" = "$last"

# Without -l each file is one sample: three of them, 40 octets each.
for i in 1 2 3; do printf 'sample-%s-%031d' "$i" 0 >"$T/s$i.bin"; done
"$DICT" -o "$T/f.dict" --id 255 --max 100 "$T/s1.bin" "$T/s2.bin" "$T/s3.bin" >"$T/f.out" 2>&1
check "sample files, --max 100, --id 255: exit 0" test $? -eq 0
hdr=$(od -An -tx1 -N10 "$T/f.dict" | tr -d ' \n')
check "... id 255, the two newest samples: 80 octets ($hdr)" test "$hdr" = "534e444901ff00000050"
check "... oldest first" test "$(tail -c +11 "$T/f.dict" | head -c 80)" = "$(cat "$T/s2.bin" "$T/s3.bin")"
check "no sample that fits --max: exit 1" \
	test "$(status "$DICT" -o "$T/x.dict" --id 1 --max 39 "$T/s1.bin")" -eq 1
check "... saying so" grep -q "^sn-dict: no sample fits in 39 octets" "$T/status.err"

check "no -o: exit 2" test "$(status "$DICT" --id 1 "$T/samples.jsonl")" -eq 2
check "no --id: exit 2" test "$(status "$DICT" -o "$T/x.dict" "$T/samples.jsonl")" -eq 2
check "--id 256: exit 2" test "$(status "$DICT" -o "$T/x.dict" --id 256 "$T/samples.jsonl")" -eq 2
check "--max 32769: exit 2" test "$(status "$DICT" -o "$T/x.dict" --id 1 --max 32769 -l)" -eq 2
check "no samples and no -l: exit 2" test "$(status "$DICT" -o "$T/x.dict" --id 1)" -eq 2
check "an unknown option: exit 2" test "$(status "$DICT" -o "$T/x.dict" --id 1 --bogus -l)" -eq 2
check "--help: exit 0" test "$(status "$DICT" --help)" -eq 0
check "... shows the usage" grep -q "^usage: sn-dict" "$T/status.out"

check "a missing sample file: exit 1" \
	test "$(status "$DICT" -o "$T/x.dict" --id 1 "$T/samples.jsonl" "$T/nope.txt")" -eq 1
check "... naming it and the cause" grep -q "^sn-dict: $T/nope.txt: No such file or directory" "$T/status.err"
check "... and writing nothing" test ! -e "$T/x.dict"
check "only empty input: exit 1" test "$(status "$DICT" -o "$T/x.dict" --id 1 -l </dev/null)" -eq 1
check "an unwritable output: exit 1" \
	test "$(status "$DICT" -o "$T/no/dir/x.dict" --id 1 "$T/s1.bin")" -eq 1
check "... naming it" grep -q "^sn-dict: $T/no/dir/x.dict: No such file or directory" "$T/status.err"

# ---------------------------------------------------------------- sn-keygen

"$KEYGEN" -i station-1 -o "$T/k1" >/dev/null 2>&1
check "a key for station-1: exit 0" test $? -eq 0
"$KEYGEN" -i station-1 -o "$T/k2" >/dev/null 2>&1
check "... another" test $? -eq 0
check "the file has mode 0600" test "$(stat -c %a "$T/k1")" = 600
check "one line: CLIENT_ID KEY_ID HEXKEY (64 hex digits)" \
	awk 'NF != 3 || $1 != "station-1" || $2 != "0" || $3 !~ /^[0-9a-f]+$/ || length($3) != 64 { bad = 1 }
	     END { exit bad || NR != 1 }' "$T/k1"
check "two keys differ" test "$(awk '{ print $3 }' "$T/k1")" != "$(awk '{ print $3 }' "$T/k2")"

before=$(cat "$T/k1")
check "an existing file without --force: exit 1" test "$(status "$KEYGEN" -i station-1 -o "$T/k1")" -eq 1
check "... saying it exists" grep -q "^sn-keygen: $T/k1: File exists" "$T/status.err"
check "... and the key is unchanged" test "$(cat "$T/k1")" = "$before"
chmod 644 "$T/k1"
check "--force: exit 0" test "$(status "$KEYGEN" -i station-1 -o "$T/k1" --force)" -eq 0
check "... a new key" test "$(cat "$T/k1")" != "$before"
check "... and the mode back to 0600" test "$(stat -c %a "$T/k1")" = 600

(umask 022 && "$KEYGEN" -i gw-a -k 0 -o "$T/bridge.keys" -a >/dev/null) &&
	"$KEYGEN" -i gw-b -k 3 -o "$T/bridge.keys" -a >/dev/null &&
	"$KEYGEN" -i gw-a --key-id 1 -o "$T/bridge.keys" -a >/dev/null
check "-a builds a key file of many stations" test $? -eq 0
check "... three lines: gw-a 0, gw-b 3, gw-a 1" \
	test "$(awk 'NF == 3 && length($3) == 64 { printf "%s/%s ", $1, $2 }' "$T/bridge.keys")" = "gw-a/0 gw-b/3 gw-a/1 "
check "... mode 0600" test "$(stat -c %a "$T/bridge.keys")" = 600
check "the same client id and key id again: exit 1" \
	test "$(status "$KEYGEN" -i gw-b -k 3 -o "$T/bridge.keys" -a)" -eq 1
check "... and the file keeps its three lines" test "$(wc -l <"$T/bridge.keys")" -eq 3
chmod 644 "$T/bridge.keys"
check "-a to a file others can read: exit 1" test "$(status "$KEYGEN" -i gw-c -o "$T/bridge.keys" -a)" -eq 1

check "a 24-octet client id: exit 2" \
	test "$(status "$KEYGEN" -i abcdefghijklmnopqrstuvwx -o "$T/k3")" -eq 2
check "a 23-octet one: exit 0" test "$(status "$KEYGEN" -i abcdefghijklmnopqrstuvw -o "$T/k3")" -eq 0
check "an empty client id: exit 2" test "$(status "$KEYGEN" -i "" -o "$T/k4")" -eq 2
check "a client id with a space: exit 2" test "$(status "$KEYGEN" -i "a b" -o "$T/k4")" -eq 2
check "a client id with a newline: exit 2" test "$(status "$KEYGEN" -i $'a\nb' -o "$T/k4")" -eq 2
check "... and no file" test ! -e "$T/k4"
check "--key-id 4: exit 2" test "$(status "$KEYGEN" -i s -k 4 -o "$T/k4")" -eq 2
check "no -o: exit 2" test "$(status "$KEYGEN" -i s)" -eq 2
check "no -i: exit 2" test "$(status "$KEYGEN" -o "$T/k4")" -eq 2
check "-f with -a: exit 2" test "$(status "$KEYGEN" -i s -o "$T/k4" -f -a)" -eq 2
check "--help: exit 0" test "$(status "$KEYGEN" --help)" -eq 0
check "... documents the format" grep -q "CLIENT_ID KEY_ID HEXKEY" "$T/status.out"
check "the key is never printed" \
	test "$(status "$KEYGEN" -i s -o "$T/k5")" -eq 0 -a -n "$(awk '{ print $3 }' "$T/k5")"
check "... (not on stdout)" lacks "$T/status.out" "$(awk '{ print $3 }' "$T/k5")"

