#!/bin/sh
# fuzz/run.sh: builds and runs the libFuzzer targets (see docs/security.md).
#
#   fuzz/run.sh build            configure and build build-fuzz/ (clang)
#   fuzz/run.sh fuzz [TARGET..]  each target for FUZZ_SECONDS (default 300)
#                                over fuzz/corpus/<t> and fuzz/corpus-new/<t>;
#                                new inputs go to fuzz/corpus-new/<t>, crashes
#                                to fuzz/artifacts/
#   fuzz/run.sh smoke [TARGET..] each target over its seeds, then a fixed
#                                number of mutations (fixed random seed, so a
#                                failure repeats; at most FUZZ_SMOKE_SECONDS,
#                                default 20, each) into a scratch corpus; then
#                                the regression inputs (tests/regress/run.sh).
#                                Fails on any crash, leak, timeout or
#                                sanitizer report.
#
# Environment: FUZZ_BUILD (default build-fuzz), JOBS (default 2), and any
# extra libFuzzer flags in FUZZ_FLAGS. One target runs at a time, in one
# process.
set -eu
cd "$(dirname "$0")/.."

BUILD=${FUZZ_BUILD:-build-fuzz}
JOBS=${JOBS:-2}
ALL="imap reasm decode pipeline"
mode=${1:-}
[ $# -gt 0 ] && shift
targets=${*:-$ALL}

# Longest input per target: room for a few real sessions or packets.
max_len() {
	case $1 in
	imap) echo 16384 ;;
	reasm) echo 8192 ;;
	decode) echo 4096 ;;
	pipeline) echo 65536 ;;
	esac
}

# Sanitizer reports are fatal and come with a stack; leaks are reported.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

build() {
	if [ ! -f "$BUILD/CMakeCache.txt" ]; then
		cmake -S fuzz -B "$BUILD" -DCMAKE_C_COMPILER=clang
	fi
	cmake --build "$BUILD" -j"$JOBS"
}

# Executions of a smoke run: 10 to 20 s each on one free core.
smoke_runs() {
	case $1 in
	imap) echo 20000 ;;
	reasm) echo 30000 ;;
	decode) echo 400000 ;;
	pipeline) echo 12000 ;;
	esac
}

# common_flags TARGET
common_flags() {
	echo "-max_len=$(max_len "$1") -timeout=10 -rss_limit_mb=2048" \
	     "-dict=fuzz/$1.dict -artifact_prefix=fuzz/artifacts/$1- -print_final_stats=1"
}

case $mode in
build)
	build
	;;
fuzz)
	build
	mkdir -p fuzz/artifacts
	for t in $targets; do
		mkdir -p "fuzz/corpus-new/$t"
		echo "== fuzz_$t: ${FUZZ_SECONDS:-300} s"
		# shellcheck disable=SC2046
		"$BUILD/fuzz_$t" $(common_flags "$t") ${FUZZ_FLAGS:-} \
			-max_total_time="${FUZZ_SECONDS:-300}" \
			"fuzz/corpus-new/$t" "fuzz/corpus/$t"
	done
	;;
smoke)
	build
	mkdir -p fuzz/artifacts
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' EXIT
	for t in $targets; do
		mkdir -p "$scratch/$t"
		echo "== fuzz_$t: seeds, then $(smoke_runs "$t") runs"
		# shellcheck disable=SC2046
		if ! "$BUILD/fuzz_$t" $(common_flags "$t") ${FUZZ_FLAGS:-} \
			-seed=1 -runs="$(smoke_runs "$t")" \
			-max_total_time="${FUZZ_SMOKE_SECONDS:-20}" \
			"$scratch/$t" "fuzz/corpus/$t" >"$scratch/$t.log" 2>&1; then
			tail -n 60 "$scratch/$t.log"
			echo "fuzz_$t: FAILED (input saved under fuzz/artifacts/)" >&2
			exit 1
		fi
		grep -E '^Done [0-9]+ runs|^#[0-9]+ +DONE' "$scratch/$t.log" || true
	done
	tests/regress/run.sh "$BUILD"
	;;
*)
	sed -n '2,/^set -eu/p' "$0" | grep '^#' >&2
	exit 2
	;;
esac
