#!/bin/bash
# tests/live/live_idle.sh: capturing live, idle sessions are closed by the
# wall clock. A client logs in and then keeps its connection open, silent;
# with --idle-timeout 1 the session's record (end_reason "idle") must be
# written while the connection is still open and no packet arrives at all.
#
# Usage: live_idle.sh path/to/imapscope   (as root; exit 77 otherwise)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT=$(free_port) || fail "no free port"
JSON=$T/imap.json

start_imapscope -i lo --ports "$PORT" --json-file "$JSON" --idle-timeout 1
"$PY" "$LIVE_DIR/imap_session.py" pair "$PORT" dave --hold 8 &
BG_PIDS+=($!)
# idle after 1 s, noticed within the next once-a-second check
wait_for 6 "the idle session's record" has_record "$JSON" imap.session dave
running "${BG_PIDS[0]}" || fail "the connection was closed before the record came"
stop_pid "${BG_PIDS[0]}" TERM 5
stop_imapscope TERM
[[ $ISC_RC -eq 0 ]] || fail "imapscope exited with status $ISC_RC after SIGTERM, not 0"
"$PY" "$LIVE_DIR/check_records.py" idle "$JSON" "$PORT" dave || fail "the records are not as expected"
echo "PASS: live_idle"
