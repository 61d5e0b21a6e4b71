#!/usr/bin/env bash
# Runs each libFuzzer binary given on the command line for FUZZ_SECONDS, on a
# corpus kept in $BUILD/fuzz/corpus-<name> (seeded from tests/fuzz/seeds/<name>/
# and growing from run to run). One line per target:
#   ok - fuzz <name> (<runs> runs, <secs> s)
#   not ok - fuzz <name>: <what>, input saved as <file>
# Exit status non-zero if any target crashed, leaked, timed out or ran out of
# memory; the input that did it stays in $BUILD/fuzz, the log next to it.
#   BUILD          build directory (default build)
#   FUZZ_SECONDS   time per target (default 60)
set -u
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
here=$(cd "$(dirname "$0")" && pwd)

if [ $# -eq 0 ]; then
	echo "usage: BUILD=dir FUZZ_SECONDS=n $0 fuzz-binary..." >&2
	exit 2
fi

failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	out=$BUILD/fuzz
	corpus=$out/corpus-$name
	log=$out/$name.log
	mkdir -p "$corpus"
	if [ -d "$here/seeds/$name" ]; then
		# -n: keep whatever the corpus has learnt under the same name.
		cp -n "$here/seeds/$name"/* "$corpus"/ 2>/dev/null
	fi
	# Artifacts of an earlier run would be taken for this run's crash.
	rm -f "$out/$name"-crash-* "$out/$name"-leak-* "$out/$name"-timeout-* \
		"$out/$name"-oom-* "$out/$name"-slow-unit-*

	start=$(date +%s)
	"$bin" -max_total_time="$FUZZ_SECONDS" -timeout=5 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/$name-" "$corpus" >"$log" 2>&1
	status=$?
	secs=$(($(date +%s) - start))

	runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -n 1)
	[ -n "$runs" ] || runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	artifact=$(find "$out" -maxdepth 1 -type f \( -name "$name-crash-*" -o -name "$name-leak-*" \
		-o -name "$name-timeout-*" -o -name "$name-oom-*" \) | head -n 1)

	if [ "$status" -eq 0 ] && [ -z "$artifact" ]; then
		echo "ok - fuzz $name (${runs:-?} runs, $secs s)"
	else
		failed=1
		what=$(grep -m 1 -E '^==[0-9]+==ERROR|SUMMARY|deadly signal|runtime error' "$log")
		echo "not ok - fuzz $name: ${what:-exit status $status}, input saved as ${artifact:-(none)}, log $log"
		# The frames of our code, for whoever reads the CI log.
		grep -E '^ +#[0-9]+ ' "$log" | grep -vE 'fuzzer::|__sanitizer|libc|_start' |
			head -n 10 | sed 's/^ */#   /'
	fi
done
exit "$failed"
