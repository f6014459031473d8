#!/bin/bash
# tests/live/live_sighup.sh: log rotation of a long-running sensor.
#
# imapscope captures on lo as user nobody (-Z), with --json-file, -w and a
# pidfile in a directory that user owns. One IMAP session (a small python
# server and client on a free port) goes to the first files; they are then
# moved away as logrotate does and SIGHUP makes imapscope create new ones;
# a second session must land in the new files only, and the first in the
# old ones. SIGUSR1 must print the counters; SIGINT must end the run with
# status 0 and remove the pidfile.
#
# Usage: live_sighup.sh path/to/imapscope   (as root; exit 77 otherwise)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT=$(free_port) || fail "no free port"
OUT=$T/log
mkdir -p "$OUT" && chown nobody "$OUT" || fail "cannot prepare $OUT"
JSON=$OUT/imap.json
PCAP=$OUT/imap.pcap
PIDFILE=$OUT/imapscope.pid

start_imapscope -i lo --ports "$PORT" --json-file "$JSON" -w "$PCAP" \
	-Z nobody --pidfile "$PIDFILE"
[[ $(cat "$PIDFILE" 2>/dev/null) == "$ISC_PID" ]] || fail "the pidfile does not hold $ISC_PID"
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$ISC_PID/status")
[[ $uids == "65534 65534 65534 65534" ]] || fail "not running as nobody after -Z: Uid $uids"
[[ $(stat -c %U "$JSON") == nobody ]] || fail "$JSON is not owned by nobody"

"$PY" "$LIVE_DIR/imap_session.py" pair "$PORT" alice || fail "first session failed"
wait_for 10 "alice's session record" has_record "$JSON" imap.session alice

# what logrotate does: move the files away, then signal
mv "$JSON" "$JSON.1" && mv "$PCAP" "$PCAP.1" || fail "mv"
kill -HUP "$ISC_PID"
wait_for 10 "a new $JSON" test -f "$JSON"
wait_for 10 "a new $PCAP" test -f "$PCAP"

"$PY" "$LIVE_DIR/imap_session.py" pair "$PORT" bob || fail "second session failed"
wait_for 10 "bob's session record" has_record "$JSON" imap.session bob

kill -USR1 "$ISC_PID"
wait_for 10 "counters on stderr after SIGUSR1" grep -q 'sessions 2, commands [0-9]' "$T/imapscope.err"

stop_imapscope INT
[[ $ISC_RC -eq 0 ]] || fail "imapscope exited with status $ISC_RC after SIGINT, not 0"
[[ ! -e $PIDFILE ]] || fail "the pidfile was not removed"

"$PY" "$LIVE_DIR/check_records.py" rotated "$JSON.1" "$JSON" "$PORT" alice bob ||
	fail "the records are not where they should be"
# each pcap holds its own session, and reads back as a capture
for f in "$PCAP.1:alice" "$PCAP:bob"; do
	"$BIN" -q -r "${f%%:*}" --ports "$PORT" --json >"$T/replay.json" || fail "imapscope -r ${f%%:*} failed"
	"$PY" "$LIVE_DIR/check_records.py" has "$T/replay.json" imap.session "${f#*:}" ||
		fail "${f%%:*} does not hold ${f#*:}'s session"
	[[ $(grep -c '"imap.session"' "$T/replay.json") -eq 1 ]] ||
		fail "${f%%:*} holds more than one session"
done
echo "PASS: live_sighup"
