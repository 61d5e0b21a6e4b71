#!/usr/bin/env bash
# Runs every test: the cmocka unit tests, then the system tests, and ends
# with one line "N passed, N failed". Exit status 0 only if nothing failed.
#   BUILD   build directory (default build)
#   ONLY    run only tests whose file name contains this
set -u
BUILD=${BUILD:-build}
export BUILD
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 1

passed=0 failed=0
failures=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # name status: fold one program's output into the totals
	local name=$1 status=$2 p f
	p=$(grep -Ec '^(\[       OK \]|ok - )' "$log")
	f=$(grep -Ec '^(\[  FAILED  \] [^0-9]|\[  ERROR   \]|not ok - )' "$log")
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then failures+=("$name"); fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$(basename "$t")" in *"${ONLY:-}"*) ;; *) continue ;; esac
	echo "== $(basename "$t")"
	"$t" >"$log" 2>&1
	status=$?
	cat "$log"
	count "$(basename "$t")" "$status"
done

for t in tests/system/*.sh; do
	[ -f "$t" ] || continue
	case "$(basename "$t")" in lib.sh) continue ;; *"${ONLY:-}"*) ;; *) continue ;; esac
	echo "== $(basename "$t")"
	timeout 600 bash "$t" >"$log" 2>&1
	status=$?
	cat "$log"
	count "$(basename "$t")" "$status"
done

echo
if [ ${#failures[@]} -ne 0 ]; then
	echo "failing: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
