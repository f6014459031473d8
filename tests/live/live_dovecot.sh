#!/bin/bash
# tests/live/live_dovecot.sh: imapscope capturing live on lo while a real
# Dovecot serves two sessions, driven by python's imaplib: one full session
# (LOGIN, SELECT, APPEND with a literal, FETCH, LOGOUT) and one whose LOGIN
# fails. SIGINT must end the run with status 0, and the records in -o DIR
# must describe both sessions, their commands and authentications, with no
# kernel drops; each session must have its transcript.
#
# Dovecot gets a throwaway configuration in the scratch directory: 127.0.0.1
# on a free non-standard port, plaintext logins, users from a passwd-file,
# maildirs in the scratch directory, no TLS. The vmail user is created if
# missing (as samples/make-samples.sh does).
#
# Usage: live_dovecot.sh path/to/imapscope   (as root; exit 77 otherwise)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_tools dovecot doveadm

USER1=carol PASS1=live-test-5
PORT=$(free_port) || fail "no free port"
CONF=$T/dovecot.conf

stop_dovecot() {
	local pid i
	[[ -f $T/run/master.pid ]] || return 0
	pid=$(cat "$T/run/master.pid")
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}
CLEANUP_HOOKS+=(stop_dovecot)

getent group vmail >/dev/null || groupadd --system vmail || fail "groupadd vmail"
getent passwd vmail >/dev/null ||
	useradd --system --gid vmail --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "virtual mail owner" vmail ||
	fail "useradd vmail"
VMAIL_UID=$(id -u vmail)

mkdir -p "$T"/{run,state,log,etc,mail,out} || fail "mkdir"
chown vmail:vmail "$T/mail"
printf '%s:{PLAIN}%s::::::\n' "$USER1" "$PASS1" >"$T/etc/passwd"
chown root:dovecot "$T/etc/passwd"
chmod 640 "$T/etc/passwd"
cat >"$CONF" <<CONF
# written by tests/live/live_dovecot.sh, removed with its scratch directory
instance_name = imapscope-live-$$
base_dir = $T/run
state_dir = $T/state
log_path = $T/log/dovecot.log
info_log_path = $T/log/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $T/etc/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%n $T/etc/passwd
  default_fields = uid=vmail gid=vmail home=$T/mail/%n
}
first_valid_uid = $VMAIL_UID
last_valid_uid = $VMAIL_UID
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
CONF

dovecot -c "$CONF" || fail "dovecot did not start: $(tail -n 5 "$T/log/dovecot.log" 2>/dev/null)"
greets() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && head -c 4 <&3" 2>/dev/null |
		grep -q '^\* OK'
}
wait_for 10 "Dovecot's greeting on port $PORT" greets

start_imapscope -i lo --ports "$PORT" -o "$T/out"
"$PY" "$LIVE_DIR/imap_session.py" dovecot "$PORT" "$USER1" "$PASS1" ||
	fail "the IMAP sessions failed"
# both sessions end with LOGOUT; their records are written as they end
wait_for 10 "two session records" \
	eval '[[ $(grep -c "\"imap.session\"" "$T/out/imap.json") -eq 2 ]]'
stop_imapscope INT
[[ $ISC_RC -eq 0 ]] || fail "imapscope exited with status $ISC_RC after SIGINT, not 0"

"$PY" "$LIVE_DIR/check_records.py" dovecot "$T/out/imap.json" "$PORT" "$USER1" ||
	fail "the records are not as expected"
n=$(find "$T/out/transcripts" -name '*.txt' | wc -l)
[[ $n -eq 2 ]] || fail "expected 2 transcripts, found $n"
grep -q "LOGIN $USER1" "$T/out/transcripts/"*.txt || fail "no LOGIN in the transcripts"
grep -q "session ends: logout" "$T/out/transcripts/"*.txt || fail "no session end in the transcripts"
grep -q '0 dropped by the kernel' "$T/imapscope.err" || fail "no drop summary on stderr"
echo "PASS: live_dovecot"
