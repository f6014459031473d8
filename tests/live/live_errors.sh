#!/bin/bash
# tests/live/live_errors.sh: what imapscope does when live capture can't
# start. Each case must exit with status 2, print exactly one line on
# stderr that names the problem, and leave nothing behind: no -o
# directory, no JSON or pcap file, no pidfile.
#
# Usage: live_errors.sh path/to/imapscope   (as root; exit 77 otherwise)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_tools setpriv

OUT=$T/out		# must never be created
PCAP=$T/cap.pcap	# likewise
PIDFILE=$T/imapscope.pid
RUN=("$BIN")

# expect_error PATTERN ARGS...: runs "${RUN[@]}" ARGS (at most 10 s) and
# checks the status, the one line on stderr, and that nothing was created.
expect_error() {
	local pattern=$1 rc lines
	shift
	timeout 10 "${RUN[@]}" "$@" >"$T/stdout" 2>"$T/stderr"
	rc=$?
	[[ $rc -eq 2 ]] || fail "imapscope $*: status $rc, not 2 (stderr: $(cat "$T/stderr"))"
	lines=$(wc -l <"$T/stderr")
	[[ $lines -eq 1 ]] || fail "imapscope $*: $lines lines on stderr, not 1: $(cat "$T/stderr")"
	grep -q -- "$pattern" "$T/stderr" || fail "imapscope $*: stderr does not say '$pattern': $(cat "$T/stderr")"
	[[ ! -s $T/stdout ]] || fail "imapscope $*: wrote to stdout"
	for f in "$OUT" "$PCAP" "$PIDFILE" "$T/imap.json"; do
		[[ ! -e $f ]] || fail "imapscope $*: left $f behind"
	done
	echo "ok: $(cat "$T/stderr")"
}

NOIF=isc-none0		# no such interface (a valid name: at most 15 bytes)
ip link show "$NOIF" >/dev/null 2>&1 && fail "an interface $NOIF exists"

expect_error "$NOIF: no such interface" -i "$NOIF" -o "$OUT" --pidfile "$PIDFILE"
expect_error "$NOIF: no such interface" -i lo -i "$NOIF" -o "$OUT"
expect_error "bad filter 'tcp prot 143'.*syntax error" -i lo -o "$OUT" tcp prot 143
expect_error "bad filter 'port 99999'" -i lo -o "$OUT" port 99999
expect_error "$T/nodir/imap.json: No such file or directory" \
	-i lo --json-file "$T/nodir/imap.json" -w "$PCAP" --pidfile "$PIDFILE"
expect_error "$T/nodir/out: No such file or directory" -i lo -o "$T/nodir/out" -w "$PCAP"
expect_error "$T/nodir/cap.pcap: No such file or directory" -i lo -o "$OUT" -w "$T/nodir/cap.pcap"
# a failing last step removes what the earlier ones created
expect_error "$T/nodir/x.pid: No such file or directory" \
	-i lo -o "$OUT" -w "$PCAP" --pidfile "$T/nodir/x.pid"
expect_error "either -r FILE or -i IFACE" -i lo -r "$LIVE_DIR/../../samples/append.pcap" -o "$OUT"
expect_error "needs live capture (-i): '-w'" -r "$LIVE_DIR/../../samples/append.pcap" -w "$PCAP"
expect_error "a filter expression needs -i" -r "$LIVE_DIR/../../samples/append.pcap" tcp port 143
expect_error "no such user 'isc-nouser'" -i lo -o "$OUT" -Z isc-nouser
# without root and without CAP_NET_RAW
RUN=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$BIN")
expect_error "lo: permission denied" -i lo -o "$OUT"
echo "PASS: live_errors"
