#!/bin/sh
# tests/regress/run.sh: replays every regression input through every fuzz
# target, as libFuzzer does with file arguments (each file run once, no
# mutation). An input is named <target>-<what>: it once crashed that
# target, and all of them are given to every target because any byte
# string is a valid input for each. Fails when any run reports a crash, a
# leak or a sanitizer error.
#
#   tests/regress/run.sh [BUILD_DIR]     (default build-fuzz; see fuzz/run.sh)
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build-fuzz}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

inputs=$(find "$here" -maxdepth 1 -type f -name '*-*' ! -name '*.sh' ! -name '*.md' | sort)
if [ -z "$inputs" ]; then
	echo "regress: no inputs"
	exit 0
fi
n=$(echo "$inputs" | wc -l)
fail=0
for t in imap reasm decode pipeline; do
	bin="$build/fuzz_$t"
	if [ ! -x "$bin" ]; then
		echo "regress: $bin missing (build it with fuzz/run.sh build)" >&2
		exit 2
	fi
	bad=0
	log=$(mktemp)
	for f in $inputs; do
		if ! "$bin" -timeout=10 -rss_limit_mb=2048 "$f" >"$log" 2>&1; then
			echo "regress: fuzz_$t $(basename "$f"): FAILED" >&2
			grep -E 'ERROR|SUMMARY|check failed|runtime error|differ' "$log" |
				head -n 5 >&2
			bad=$((bad + 1))
		fi
	done
	rm -f "$log"
	echo "regress: fuzz_$t: $((n - bad)) of $n inputs ok"
	[ $bad -eq 0 ] || fail=1
done
exit $fail
