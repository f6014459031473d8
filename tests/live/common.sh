# tests/live/common.sh: sourced by the live capture tests (tests/live/*.sh).
#
# Gives each test a scratch directory, a free TCP port on 127.0.0.1, and
# start/stop helpers for imapscope that wait for it to be capturing and
# bound every wait in time. Whatever a test starts is stopped at exit and
# the scratch directory removed, on success and on failure alike.
# Tests that need root print "SKIPPED: needs root" and exit 77 without it
# (ctest's SKIP_RETURN_CODE); anything else that is missing is a failure.
# KEEP_T=1 in the environment keeps the scratch directory for a look.

set -uo pipefail

LIVE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
SKIP_CODE=77

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

need_root() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "SKIPPED: needs root"
		exit "$SKIP_CODE"
	fi
}

need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || fail "missing tool: $t"
	done
}

[[ $# -ge 1 && -x $1 ]] || fail "usage: $0 path/to/imapscope"
BIN=$1
need_root
need_tools "$PY" ip
ip link show lo >/dev/null 2>&1 || fail "no loopback interface"

T=$(mktemp -d /tmp/imapscope-live.XXXXXX) || fail "mktemp"
chmod 755 "$T"			# the daemons' own users must get through
ISC_PID=
ISC_RC=
BG_PIDS=()			# other background processes of the test
CLEANUP_HOOKS=()		# commands run at exit, before the rest

# True while the child pid runs (a zombie counts as exited).
running() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

# stop_pid PID SIGNAL SECONDS: signals a child, waits for it at most
# SECONDS, then kills it. Sets STOP_RC to its exit status.
stop_pid() {
	local pid=$1 sig=$2 secs=$3 i
	STOP_RC=
	kill "-$sig" "$pid" 2>/dev/null
	for ((i = 0; i < secs * 10; i++)); do
		running "$pid" || break
		sleep 0.1
	done
	if running "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		STOP_RC=timeout
		return 1
	fi
	wait "$pid" 2>/dev/null
	STOP_RC=$?
	return 0
}

cleanup() {
	local rc=$? h p
	trap - EXIT INT TERM
	for h in "${CLEANUP_HOOKS[@]}"; do
		eval "$h" || true
	done
	if [[ -n $ISC_PID ]] && running "$ISC_PID"; then
		stop_pid "$ISC_PID" KILL 5 || true
	fi
	for p in "${BG_PIDS[@]}"; do
		if running "$p"; then stop_pid "$p" TERM 5 || stop_pid "$p" KILL 5; fi
	done
	if [[ $rc -ne 0 && $rc -ne $SKIP_CODE && -f $T/imapscope.err ]]; then
		echo "---- imapscope's stderr:" >&2
		cat "$T/imapscope.err" >&2
	fi
	[[ -n ${KEEP_T:-} ]] || rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A TCP port nobody listens on now.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_imapscope ARGS...: starts imapscope in the background, stderr in
# $T/imapscope.err, and waits (at most 10 s) until it says it is listening.
start_imapscope() {
	local i
	"$BIN" "$@" 2>"$T/imapscope.err" &
	ISC_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -qs 'listening on' "$T/imapscope.err" && return 0
		running "$ISC_PID" || fail "imapscope exited at start: $(cat "$T/imapscope.err")"
		sleep 0.1
	done
	fail "imapscope did not start capturing within 10 s"
}

# stop_imapscope [SIGNAL]: stops it (SIGINT by default, at most 15 s) and
# sets ISC_RC to its exit status.
stop_imapscope() {
	stop_pid "$ISC_PID" "${1:-INT}" 15 || fail "imapscope did not exit within 15 s of SIG${1:-INT}"
	ISC_RC=$STOP_RC
	ISC_PID=
}

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.1 s.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	fail "timed out after ${secs} s waiting for $what"
}

# has_record FILE DATASET [USER]: FILE holds such a record.
has_record() {
	"$PY" "$LIVE_DIR/check_records.py" has "$@" 2>/dev/null
}
