#!/bin/bash
# Regenerate the bundled sample captures (samples/*.pcap).
#
# Starts a throwaway Dovecot on loopback (ports 143 and 220), drives real IMAP
# sessions with Python's imaplib (samples/clients.py) and curl, and records
# each session with tcpdump into its own pcap.  Must run as root: it binds
# ports 143/220, captures on lo, creates the vmail system user/group if they
# are missing, and lowers the lo MTU to 1500 (with GSO off) while recording so
# large transfers travel as many ordinary-sized segments.  Everything it
# starts or changes is undone on exit, including on failure.
#
# Usage: sudo samples/make-samples.sh [NAME...]
#   With no NAME, records every capture.  With names (e.g. "idle compress" or
#   "idle.pcap"), records and replaces only those.  Every session still runs,
#   in the same order, the others unrecorded, so each capture sees the same
#   mailbox state either way.
# Environment: WORK=/tmp/imapscope-samples   scratch directory (wiped)
#              KEEP_WORK=1                   keep the scratch directory
set -euo pipefail

SAMPLES=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-/tmp/imapscope-samples}
CONF=$WORK/dovecot.conf
PY=/usr/bin/python3
CLIENTS=$SAMPLES/clients.py

USER1=mrc   PASS1=tanstaaf1
USER2=ada   PASS2=n0tebook-7
FILTER='tcp port 143 or tcp port 220'
# Every session, in the order they run (later ones see earlier ones' changes).
CAPTURES=(login-fetch append fetch-large login-failed port220 curl-fetch
          auth-plain auth-login idle starttls compress id-namespace acl-quota
          mailboxes literal-plus ipv6)

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'make-samples: %s\n' "$*" >&2; exit 1; }

# Which captures to record: the named ones, or all.
declare -A WANT=()
for arg in "$@"; do
    name=${arg%.pcap}
    name=${name##*/}
    [[ " ${CAPTURES[*]} " == *" $name "* ]] ||
        die "unknown capture '$arg' (known: ${CAPTURES[*]})"
    WANT[$name]=1
done
if [[ ${#WANT[@]} -eq 0 ]]; then
    for name in "${CAPTURES[@]}"; do WANT[$name]=1; done
fi
wanted() { [[ -n ${WANT[$1]:-} ]]; }

[[ $(id -u) -eq 0 ]] || die "must run as root (sudo $0)"
for tool in dovecot doveadm tcpdump openssl curl ip ss "$PY"; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done

# ---------------------------------------------------------------- cleanup
DOVECOT_STARTED=0
TCPDUMP_PID=
LO_MTU=$(cat /sys/class/net/lo/mtu)
LO_GSO_SEGS=$(ip -d link show dev lo | sed -n 's/.*gso_max_segs \([0-9]*\).*/\1/p')
LO_CHANGED=0

stop_tcpdump() {
    if [[ -n $TCPDUMP_PID ]]; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
        TCPDUMP_PID=
    fi
}

stop_dovecot() {
    local pidfile=$WORK/run/master.pid pid i
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    kill -0 "$pid" 2>/dev/null || return 0
    doveadm -c "$CONF" stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

restore_lo() {
    if [[ $LO_CHANGED -eq 1 ]]; then
        ip link set dev lo mtu "$LO_MTU" ${LO_GSO_SEGS:+gso_max_segs "$LO_GSO_SEGS"} || true
        LO_CHANGED=0
    fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_tcpdump
    if [[ $DOVECOT_STARTED -eq 1 ]]; then stop_dovecot; fi
    restore_lo
    if [[ $rc -ne 0 && -f $WORK/log/dovecot.log ]]; then
        echo "---- last lines of the Dovecot log:" >&2
        tail -n 20 "$WORK/log/dovecot.log" >&2
    fi
    if [[ ${KEEP_WORK:-0} != 1 ]]; then rm -rf "$WORK"; fi
    if [[ $rc -ne 0 ]]; then echo "make-samples: FAILED (exit $rc)" >&2; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- prepare
# A run that was killed hard may have left its server behind.
if [[ -f $CONF ]]; then stop_dovecot; fi
if ss -Hltn '( sport = :143 or sport = :220 )' | grep -q .; then
    die "something already listens on port 143 or 220"
fi
rm -rf "$WORK"
mkdir -p "$WORK"/{run,state,log,etc,tls,mail,pcap}

getent group vmail >/dev/null || groupadd --system vmail
getent passwd vmail >/dev/null ||
    useradd --system --gid vmail --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --comment "virtual mail owner" vmail
VMAIL_UID=$(id -u vmail)
chown vmail:vmail "$WORK/mail"

LISTEN=127.0.0.1
HAVE_IPV6=0
if [[ -f /proc/net/if_inet6 ]] && ip -6 addr show dev lo | grep -q 'inet6 ::1/'; then
    LISTEN="127.0.0.1, ::1"
    HAVE_IPV6=1
fi
if wanted ipv6 && [[ $HAVE_IPV6 -eq 0 ]]; then
    die "ipv6.pcap needs ::1 on lo (IPv6 is off here; name the other captures)"
fi

log "self-signed certificate"
openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -keyout "$WORK/tls/server.key" -out "$WORK/tls/server.crt" 2>/dev/null
chmod 600 "$WORK/tls/server.key"

cat >"$WORK/etc/passwd" <<EOF
$USER1:{PLAIN}$PASS1::::::
$USER2:{PLAIN}$PASS2::::::
EOF
chown root:dovecot "$WORK/etc/passwd"
chmod 640 "$WORK/etc/passwd"   # read by the auth process (user dovecot)

cat >"$CONF" <<EOF
# imapscope sample server: written by samples/make-samples.sh, removed afterwards.
instance_name = imapscope-samples
base_dir = $WORK/run
state_dir = $WORK/state
log_path = $WORK/log/dovecot.log
info_log_path = $WORK/log/dovecot.log
protocols = imap
listen = $LISTEN
login_greeting = Dovecot ready.
auth_verbose = yes

## Logins: plaintext LOGIN and AUTHENTICATE PLAIN/LOGIN, TLS optional.
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $WORK/etc/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%n $WORK/etc/passwd
  default_fields = uid=vmail gid=vmail home=$WORK/mail/%n
}
first_valid_uid = $VMAIL_UID
last_valid_uid = $VMAIL_UID

## STARTTLS with a certificate made for this run.
ssl = yes
ssl_cert = <$WORK/tls/server.crt
ssl_key = <$WORK/tls/server.key
ssl_min_protocol = TLSv1.2

## Mail: one maildir per user, "/" as hierarchy separator.
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    auto = subscribe
    special_use = \Drafts
  }
  mailbox Sent {
    auto = subscribe
    special_use = \Sent
  }
  mailbox Trash {
    auto = subscribe
    special_use = \Trash
  }
}

## Extensions: ACL, QUOTA and COMPRESS=DEFLATE.
mail_plugins = \$mail_plugins acl quota
protocol imap {
  mail_plugins = \$mail_plugins imap_acl imap_quota imap_zlib
}
plugin {
  acl = vfile
  quota = maildir:User quota
  quota_rule = *:storage=256M
}

## Listeners: 143 and 220, nothing else.
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imap-220 {
    port = 220
  }
  inet_listener imaps {
    port = 0
  }
}
EOF

# ---------------------------------------------------------------- server
log "starting Dovecot $(dovecot --version | cut -d' ' -f1) on $LISTEN"
DOVECOT_STARTED=1
dovecot -c "$CONF"

greets() {  # greets PORT: true once the server sends its greeting
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 4 <&3" 2>/dev/null |
        grep -q '^\* OK'
}
for port in 143 220; do
    for i in $(seq 100); do
        greets "$port" && break
        [[ $i -lt 100 ]] || die "Dovecot does not answer on port $port"
        sleep 0.1
    done
done
if [[ $HAVE_IPV6 -eq 1 ]]; then
    ss -Hltn '( sport = :143 )' | grep -qF '[::1]:143' ||
        die "Dovecot does not listen on [::1]:143"
fi

log "storing the seed messages (not recorded)"
for u in "$USER1" "$USER2"; do
    # Fixed UIDVALIDITY, so SELECT responses do not depend on the clock.
    doveadm -c "$CONF" mailbox update -u "$u" --uid-validity 1704067200 INBOX
done
"$PY" "$CLIENTS" --user "$USER1" --password "$PASS1" setup
"$PY" "$CLIENTS" --user "$USER2" --password "$PASS2" setup

# ---------------------------------------------------------------- record
LO_CHANGED=1
ip link set dev lo mtu 1500 gso_max_segs 1

record() {  # record NAME COMMAND...: capture COMMAND's traffic into NAME.pcap
    local name=$1 pcap=$WORK/pcap/$1.pcap err=$WORK/pcap/$1.tcpdump i
    shift
    if ! wanted "$name"; then   # run it anyway: later sessions depend on it
        log "session $name (not recorded)"
        "$@"
        return
    fi
    log "recording $name.pcap"
    # -B: with -s 0 and lo's offloads on, each slot of the capture ring is
    # sized for 256 KB, so the default 2 MB ring holds about eight packets
    # and a quick burst (e.g. literal-plus) can lose some.
    tcpdump -i lo -n -s 0 -B 65536 -U --immediate-mode -Z root -w "$pcap" "$FILTER" 2>"$err" &
    TCPDUMP_PID=$!
    for i in $(seq 100); do
        grep -q 'listening on' "$err" && break
        kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump failed: $(cat "$err")"
        [[ $i -lt 100 ]] || die "tcpdump did not start"
        sleep 0.1
    done
    "$@"
    sleep 1
    stop_tcpdump
    grep -q '^0 packets dropped by kernel' "$err" || die "tcpdump dropped packets: $(cat "$err")"
    grep -q '^[1-9][0-9]* packets captured' "$err" || die "$name.pcap is empty"
}

imap() { "$PY" "$CLIENTS" --user "$USER1" --password "$PASS1" "$@"; }
imap_ada() { "$PY" "$CLIENTS" --user "$USER2" --password "$PASS2" "$@"; }

record login-fetch  imap login-fetch
record append       imap append
record fetch-large  imap fetch-large
record login-failed imap login-failed
record port220      imap_ada --port 220 port220
record curl-fetch   curl -s -o "$WORK/curl-fetch.eml" \
                         'imap://127.0.0.1/INBOX;UID=1' -u "$USER1:$PASS1"
record auth-plain   imap auth-plain
record auth-login   imap_ada auth-login
record idle         imap idle             # both connections in one capture
record starttls     imap starttls
record compress     imap compress
record id-namespace imap id-namespace
record acl-quota    imap acl-quota
record mailboxes    imap --doveadm "doveadm -c $CONF" mailboxes
record literal-plus imap literal-plus
if [[ $HAVE_IPV6 -eq 1 ]]; then           # the last session: nothing needs it
    record ipv6     imap --host ::1 ipv6
fi

restore_lo

# curl must have received exactly the first seed message.
cmp -s "$WORK/curl-fetch.eml" <("$PY" "$CLIENTS" message) ||
    die "curl did not fetch the expected message"

# ---------------------------------------------------------------- install
owner=$(stat -c %u:%g "$SAMPLES")
for name in "${CAPTURES[@]}"; do
    wanted "$name" || continue
    install -m 0644 -o "${owner%:*}" -g "${owner#*:}" "$WORK/pcap/$name.pcap" "$SAMPLES/$name.pcap"
    printf '%-18s %8d bytes\n' "$name.pcap" "$(stat -c %s "$SAMPLES/$name.pcap")"
done
log "done; review the golden outputs (make update-golden)"
