#!/bin/sh
# scripts/lint.sh: static analysis of the sources (make lint).
#
# Runs clang-tidy (checks in .clang-tidy) and cppcheck (warning,
# portability and performance; suppressions, each justified, in
# scripts/cppcheck.supp) over capture/ reassembly/ dissector/ output/ cli/
# common/. Prints a count of findings per check at the end and exits 1 if
# either tool found anything, 2 if a tool is missing.
#
# clang-tidy needs compile_commands.json: the build is configured (not
# built) in LINT_BUILD (default build-lint) to get it.
#
#   scripts/lint.sh              both tools, every file
#   scripts/lint.sh FILE...      both tools, those files
#   TIDY=0 / CPPCHECK=0          skip one tool
set -u
cd "$(dirname "$0")/.."

DIRS="capture reassembly dissector output cli common"
BUILD=${LINT_BUILD:-build-lint}
JOBS=${JOBS:-2}
TIDY_BIN=${CLANG_TIDY:-clang-tidy}

if [ $# -gt 0 ]; then
	files="$*"
else
	files=$(find $DIRS -maxdepth 1 -name '*.c' | sort)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0

need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "lint: $1 not found (Debian: apt-get install $2)" >&2
	exit 2
}

if [ "${TIDY:-1}" != 0 ]; then
	need "$TIDY_BIN" clang-tidy
	need cmake cmake
	cmake -S . -B "$BUILD" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null ||
		exit 2
	echo "== clang-tidy ($("$TIDY_BIN" --version | grep -o 'version [0-9.]*'))"
	# one process per file, JOBS at a time; findings only, no statistics
	echo "$files" | tr ' ' '\n' | grep . |
		xargs -P "$JOBS" -I{} sh -c \
		'"$0" -p "$1" --quiet "$2" >"$3/tidy.$(echo "$2" | tr / _).txt" 2>/dev/null; exit 0' \
		"$TIDY_BIN" "$BUILD" {} "$out"
	cat "$out"/tidy.*.txt 2>/dev/null | grep -E '^/.*: (warning|error): ' |
		sed "s|^$(pwd)/||" | sort -u >"$out/tidy"
	cat "$out/tidy"
	if [ -s "$out/tidy" ]; then
		status=1
	fi
fi

if [ "${CPPCHECK:-1}" != 0 ]; then
	need cppcheck cppcheck
	echo "== cppcheck ($(cppcheck --version))"
	# shellcheck disable=SC2086
	cppcheck --enable=warning,portability,performance --error-exitcode=1 \
		--std=c11 --inline-suppr --quiet -D_GNU_SOURCE \
		--suppressions-list=scripts/cppcheck.supp \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
		$files 2>"$out/cppcheck" || status=1
	cat "$out/cppcheck"
fi

echo "== findings per check"
cat "$out/tidy" "$out/cppcheck" 2>/dev/null |
	grep -oE '\[[A-Za-z0-9_.,-]+\]$' | sort | uniq -c | sort -rn
[ $status = 0 ] && echo "lint: clean"
exit $status
