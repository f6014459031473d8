#!/usr/bin/python3
"""IMAP client sessions recorded into the imapscope sample captures.

Run by samples/make-samples.sh against a throwaway Dovecot on loopback.
Every session is deterministic: fixed message text, fixed internal dates and
fixed command tags (imaplib draws its tag prefix from the `random` module,
which is seeded per session), so re-recording yields the same IMAP content;
only TCP ports, sequence numbers, timestamps and Dovecot's command timing
figures change.

Usage: clients.py [--host H] [--port P] [--user U] [--password PW]
                  [--doveadm CMD] [-v] SESSION
Sessions: setup, login-fetch, append, fetch-large, login-failed, port220,
          auth-plain, auth-login, idle, starttls, compress, id-namespace,
          acl-quota, mailboxes, literal-plus, ipv6,
          message (print one canned message to stdout)

Most sessions use imaplib.  idle drives IMAP4 IDLE over an imaplib
connection by hand; compress and literal-plus use the small raw client
below, because imaplib can neither compress nor send LITERAL+ literals.
With -v the raw client prints what the server said to stderr.
"""

import argparse
import hashlib
import imaplib
import random
import re
import shlex
import socket
import ssl
import subprocess
import sys
import zlib

# --------------------------------------------------------------------------
# Deterministic text

WORDS = (
    "packet segment window stream literal mailbox folder message header body "
    "server client tag untagged tagged response command greeting capability "
    "select examine fetch store search expunge append noop logout login idle "
    "flag seen answered flagged deleted draft recent uid sequence range set "
    "octet byte line boundary quote atom string number list envelope "
    "structure section partial peek internal date size charset encoding "
    "loopback socket port address checksum retransmit acknowledge offset "
    "queue buffer parser state machine continuation synchronizing counted "
    "the a of to and in on for with from by as at is was be it this that "
    "quiet morning river stone lantern harbour orchard meadow ledger copper "
    "violet amber slate cedar willow marble canvas thread needle compass"
).split()


def word_stream(seed):
    """Endless pseudo-random words drawn from WORDS, keyed by `seed`."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
        for i in range(0, len(digest), 2):
            yield WORDS[int.from_bytes(digest[i:i + 2], "big") % len(WORDS)]


def prose(seed, nbytes, width=70, numbered=False):
    """Lines of filler text (CRLF-terminated) totalling at least nbytes."""
    words = word_stream(seed)
    out, total, lineno = [], 0, 0
    while total < nbytes:
        lineno += 1
        line = f"{lineno:05d} " if numbered else ""
        first = True
        while True:
            w = next(words)
            if len(line) + len(w) + 1 > width:
                break
            line += w if first else " " + w
            first = False
        if not numbered:
            line = line[:1].upper() + line[1:] + "."
        out.append(line + "\r\n")
        total += len(line) + 2
    return "".join(out)


def message(frm, to, subject, date, msgid, body):
    head = (
        f"From: {frm}\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {date}\r\n"
        f"Message-ID: <{msgid}>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
    )
    return (head + body).encode("ascii")


MRC = "Mark R. Carter <mrc@example.org>"
ADA = "Ada Quill <ada@example.org>"
ROBIN = "Robin Marsh <robin@example.net>"
BUILD = "Build Robot <builds@example.com>"

# (mailbox owner, flags, internal date, message) -- stored before recording.
SEED_MESSAGES = [
    ("mrc", None, '"02-Jan-2024 09:15:00 +0000"', message(
        ROBIN, MRC, "Welcome to the test mailbox",
        "Tue, 02 Jan 2024 09:14:31 +0000", "welcome.1@example.net",
        "Hello Mark,\r\n\r\nThis mailbox is used for protocol samples.\r\n"
        "Nothing in here is important.\r\n\r\n-- Robin\r\n")),
    ("mrc", None, '"03-Jan-2024 12:02:10 +0000"', message(
        ADA, MRC, "Re: Lunch on Thursday?",
        "Wed, 03 Jan 2024 12:01:55 +0000", "lunch.2@example.org",
        "Thursday works for me. The usual place at half past twelve?\r\n\r\n"
        "Ada\r\n")),
    ("mrc", r"(\Seen \Flagged)", '"04-Jan-2024 03:30:00 +0000"', message(
        BUILD, MRC, "Build report for r1042: all tests passed",
        "Thu, 04 Jan 2024 03:29:58 +0000", "build.r1042@example.com",
        "Revision: r1042\r\nTarget: x86_64-linux-gnu\r\nTests: 318 passed, "
        "0 failed, 4 skipped\r\nDuration: 6m 41s\r\n")),
    ("mrc", None, '"05-Jan-2024 23:59:00 +0000"', message(
        BUILD, MRC, "Nightly log archive (large)",
        "Fri, 05 Jan 2024 23:58:47 +0000", "logs.20240105@example.com",
        prose("nightly-log-archive", 210_000, width=72, numbered=True))),
    ("ada", None, '"06-Jan-2024 08:00:00 +0000"', message(
        MRC, ADA, "Notes from the planning meeting",
        "Sat, 06 Jan 2024 07:59:12 +0000", "planning.3@example.org",
        "Ada,\r\n\r\nMinutes are attached to the wiki page.\r\n\r\nMark\r\n")),
]

APPEND_MESSAGE = message(
    MRC, ROBIN, "Quarterly notes (draft)",
    "Mon, 08 Jan 2024 10:20:30 +0000", "quarterly.4@example.org",
    "Robin,\r\n\r\nHere is the draft of the quarterly notes.\r\n\r\n"
    + prose("quarterly-notes", 3_900) + "\r\nMark\r\n")
APPEND_DATE = '"08-Jan-2024 10:20:31 +0000"'

# Delivered by a second connection while the idle session waits.
IDLE_MESSAGE = message(
    ADA, MRC, "Are you there?",
    "Tue, 09 Jan 2024 16:45:02 +0000", "ping.5@example.org",
    "Mark,\r\n\r\nPing me when you are back at your desk.\r\n\r\nAda\r\n")
IDLE_DATE = '"09-Jan-2024 16:45:03 +0000"'

# Stored with one MULTIAPPEND in the literal-plus session, expunged again.
MINUTES = [
    message(ADA, MRC, f"Minutes ({part} of 2)",
            f"Wed, 10 Jan 2024 11:0{part}:00 +0000",
            f"minutes.{part}@example.org",
            prose(f"minutes-{part}", 240) + "\r\nAda\r\n")
    for part in (1, 2)
]
MINUTES_DATES = ['"10-Jan-2024 11:01:05 +0000"', '"10-Jan-2024 11:02:05 +0000"']
REJECTED_MESSAGE = message(
    MRC, ADA, "Filed in the wrong place",
    "Wed, 10 Jan 2024 11:30:00 +0000", "misfiled.6@example.org",
    "This message is never stored.\r\n")

# Fixed UIDVALIDITY given to the mailbox that the mailboxes session creates.
NEW_MAILBOX_UIDVALIDITY = 1704067201

# --------------------------------------------------------------------------
# Sessions


def connect(args, session):
    random.seed("imapscope:" + session)   # fixes imaplib's tag prefix
    return imaplib.IMAP4(args.host, args.port, timeout=30)


class Raw:
    """A bare IMAP client on a socket: it writes commands exactly as given
    and reads responses line by line, taking in the literals they announce.
    After start_compress() both directions go through raw DEFLATE
    (RFC 4978), with a sync flush after every command."""

    def __init__(self, host, port, verbose=False):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.verbose = verbose
        self.buf = b""
        self.count = 0
        self.deflate = self.inflate = None
        self.greeting = self.response()

    def tag(self):
        self.count += 1
        return f"a{self.count:03d}"

    def send(self, data):
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise SystemExit("server closed the connection")
        if self.inflate:
            data = self.inflate.decompress(data)
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        return self._take(self.buf.index(b"\r\n") + 2)

    def response(self):
        """One server response: a line plus the literals it announces."""
        resp = self._line()
        while (m := re.search(rb"\{(\d+)\}\r\n$", resp)):
            resp += self._take(int(m[1])) + self._line()
        if self.verbose:
            sys.stderr.write("S: " + resp.decode("utf-8", "replace"))
        return resp

    def finish(self, tag, expect="OK"):
        """Read responses up to the tagged one; return them all."""
        out = []
        while True:
            out.append(self.response())
            if out[-1].startswith(tag.encode() + b" "):
                status = out[-1].split(b" ", 2)[1].decode()
                if status != expect:
                    raise SystemExit(f"{tag}: expected {expect}, got {out[-1]!r}")
                return out

    def command(self, text, expect="OK"):
        tag = self.tag()
        self.send(f"{tag} {text}\r\n".encode())
        return self.finish(tag, expect)

    def start_compress(self):
        self.command("COMPRESS DEFLATE")
        self.deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION,
                                        zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.buf = self.inflate.decompress(self.buf)

    def close(self):
        self.sock.close()


def fetched_literals(responses):
    """The literal payloads in a list of FETCH responses."""
    out = []
    for resp in responses:
        for m in re.finditer(rb"\{(\d+)\}\r\n", resp):
            out.append(resp[m.end():m.end() + int(m[1])])
    return out


def check(result, what):
    typ, data = result
    if typ != "OK":
        raise SystemExit(f"{what}: {typ} {data!r}")
    return data


def s_setup(args):
    """Unrecorded: store the seed messages for one user."""
    m = connect(args, "setup")
    check(m.login(args.user, args.password), "LOGIN")
    for owner, flags, date, msg in SEED_MESSAGES:
        if owner == args.user:
            check(m.append("INBOX", flags, date, msg), "APPEND")
    m.logout()


def s_login_fetch(args):
    m = connect(args, "login-fetch")
    check(m.login(args.user, args.password), "LOGIN")
    check(m.capability(), "CAPABILITY")
    check(m.list(), "LIST")
    check(m.select("INBOX"), "SELECT")
    check(m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"),
          "FETCH")
    check(m.fetch("2", "(UID RFC822.SIZE BODY[])"), "FETCH")
    m.logout()


def s_append(args):
    m = connect(args, "append")
    check(m.login(args.user, args.password), "LOGIN")
    check(m.select("INBOX"), "SELECT")
    check(m.append("INBOX", None, APPEND_DATE, APPEND_MESSAGE), "APPEND")
    check(m.noop(), "NOOP")
    m.logout()


def s_fetch_large(args):
    m = connect(args, "fetch-large")
    check(m.login(args.user, args.password), "LOGIN")
    check(m.select("INBOX"), "SELECT")
    data = check(m.fetch("4", "(BODY[])"), "FETCH")
    size = len(data[0][1])
    if size < 200_000:
        raise SystemExit(f"FETCH 4 returned only {size} bytes")
    m.logout()


def s_login_failed(args):
    m = connect(args, "login-failed")
    try:
        m.login(args.user, args.password + "-wrong")
    except imaplib.IMAP4.error:
        pass
    else:
        raise SystemExit("LOGIN with a wrong password succeeded")
    m.logout()


def s_port220(args):
    m = connect(args, "port220")
    check(m.login(args.user, args.password), "LOGIN")
    check(m.select("INBOX"), "SELECT")
    m.logout()


def s_auth_plain(args):
    m = connect(args, "auth-plain")
    secret = f"\0{args.user}\0{args.password}".encode()
    check(m.authenticate("PLAIN", lambda challenge: secret), "AUTHENTICATE")
    check(m.select("INBOX"), "SELECT")
    m.logout()


def s_auth_login(args):
    m = connect(args, "auth-login")
    answers = {b"Username:": args.user.encode(),
               b"Password:": args.password.encode()}

    def respond(challenge):
        if challenge not in answers:
            raise SystemExit(f"unexpected AUTH LOGIN challenge {challenge!r}")
        return answers[challenge]

    check(m.authenticate("LOGIN", respond), "AUTHENTICATE")
    m.logout()


def s_idle(args):
    """IDLE in one connection; a second one (same capture) appends a message."""
    m = connect(args, "idle")
    check(m.login(args.user, args.password), "LOGIN")
    exists = int(check(m.select("INBOX"), "SELECT")[0])
    tag = m._new_tag()              # imaplib (3.11) has no IDLE of its own
    m.send(tag + b" IDLE\r\n")
    line = m.readline()
    if not line.startswith(b"+ "):
        raise SystemExit(f"IDLE: {line!r}")

    other = connect(args, "idle-append")
    check(other.login(args.user, args.password), "LOGIN")
    check(other.append("INBOX", None, IDLE_DATE, IDLE_MESSAGE), "APPEND")
    other.logout()

    want = f"* {exists + 1} EXISTS\r\n".encode()
    while (line := m.readline()) != want:
        if not line.startswith(b"* "):
            raise SystemExit(f"IDLE: {line!r}")
    m.send(b"DONE\r\n")
    while not (line := m.readline()).startswith(tag + b" "):
        if not line.startswith(b"* "):
            raise SystemExit(f"IDLE: {line!r}")
    if not line.startswith(tag + b" OK"):
        raise SystemExit(f"IDLE: {line!r}")
    del m.tagged_commands[tag]
    m.logout()


def s_starttls(args):
    m = connect(args, "starttls")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE   # the server's certificate is self-signed
    check(m.starttls(ctx), "STARTTLS")
    check(m.login(args.user, args.password), "LOGIN")
    check(m.select("INBOX"), "SELECT")
    m.logout()


def s_compress(args):
    c = Raw(args.host, args.port, args.verbose)
    c.command(f"LOGIN {args.user} {args.password}")
    c.start_compress()
    c.command("SELECT INBOX")
    body = fetched_literals(c.command("FETCH 1 (BODY[])"))
    if body != [SEED_MESSAGES[0][3]]:
        raise SystemExit(f"COMPRESS: FETCH 1 returned {body!r}")
    c.command("LOGOUT")
    c.close()


def s_id_namespace(args):
    m = connect(args, "id-namespace")
    check(m.login(args.user, args.password), "LOGIN")
    check(m.xatom("ID", '("name" "imapscope-sample" "version" "1.0")'), "ID")
    check(m.namespace(), "NAMESPACE")
    check(m.enable("UTF8=ACCEPT CONDSTORE"), "ENABLE")
    m.logout()


def s_acl_quota(args):
    m = connect(args, "acl-quota")
    check(m.login(args.user, args.password), "LOGIN")
    roots = check(m.getquotaroot("INBOX"), "GETQUOTAROOT")[0]
    # [b'INBOX "User quota"']: the mailbox, then its quota root(s)
    root = re.match(rb'\S+ ("[^"]*"|\S+)', roots[0])[1].decode()
    check(m.getquota(root), "GETQUOTA")
    check(m.myrights("INBOX"), "MYRIGHTS")
    check(m.getacl("INBOX"), "GETACL")
    check(m.xatom("LISTRIGHTS", "INBOX", args.user), "LISTRIGHTS")
    check(m.setacl("INBOX", "ada", "lr"), "SETACL")
    check(m.deleteacl("INBOX", "ada"), "DELETEACL")
    m.logout()


def s_mailboxes(args):
    if not args.doveadm:
        raise SystemExit("mailboxes: --doveadm is required")
    m = connect(args, "mailboxes")
    check(m.login(args.user, args.password), "LOGIN")
    # "Entwürfe" and "日本語 2024" in modified UTF-7 (RFC 3501 5.1.3).
    drafts, renamed = "Entw&APw-rfe", '"&ZeVnLIqe- 2024"'
    check(m.create(drafts), "CREATE")
    # A new mailbox's UIDVALIDITY comes from the clock: fix it, as for INBOX.
    subprocess.run(shlex.split(args.doveadm) + [
        "mailbox", "update", "-u", args.user, "--uid-validity",
        str(NEW_MAILBOX_UIDVALIDITY), "Entwürfe"], check=True)
    check(m.select(drafts), "SELECT")
    check(m.close(), "CLOSE")
    check(m.rename(drafts, renamed), "RENAME")
    # Only the new name: the order of a full listing follows the directory.
    check(m.list('""', '"&ZeVnLIqe-*"'), "LIST")
    check(m.status("INBOX", "(MESSAGES UNSEEN)"), "STATUS")
    check(m.delete(renamed), "DELETE")
    m.logout()


def s_literal_plus(args):
    c = Raw(args.host, args.port, args.verbose)
    u, p = args.user.encode(), args.password.encode()
    # LOGIN with two non-synchronizing literals (RFC 7888).
    tag = c.tag()
    c.send(b"%s LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n"
           % (tag.encode(), len(u), u, len(p), p))
    c.finish(tag)

    # MULTIAPPEND (RFC 3502) of two messages, both as LITERAL+ literals.
    tag = c.tag()
    c.send(b"%s APPEND INBOX (\\Seen) %s {%d+}\r\n%s (\\Flagged) %s {%d+}\r\n%s\r\n"
           % (tag.encode(), MINUTES_DATES[0].encode(), len(MINUTES[0]), MINUTES[0],
              MINUTES_DATES[1].encode(), len(MINUTES[1]), MINUTES[1]))
    done = c.finish(tag)[-1]
    uids = re.search(rb"\[APPENDUID \d+ \d+[:,](\d+)\]", done)
    if not uids:
        raise SystemExit(f"MULTIAPPEND: {done!r}")
    uid2 = int(uids[1])

    # A synchronizing literal that the server refuses before it is sent:
    # Dovecot answers NO [TRYCREATE] instead of "+", so the client must not
    # send the message.
    tag = c.tag()
    c.send(b"%s APPEND Nonexistent {%d}\r\n" % (tag.encode(), len(REJECTED_MESSAGE)))
    reply = c.response()
    if not reply.startswith(tag.encode() + b" NO [TRYCREATE]"):
        raise SystemExit(f"APPEND Nonexistent: {reply!r}")
    # The same with LITERAL+: the literal is sent anyway, then refused.
    tag = c.tag()
    c.send(b"%s APPEND Nonexistent {%d+}\r\n%s\r\n"
           % (tag.encode(), len(REJECTED_MESSAGE), REJECTED_MESSAGE))
    c.finish(tag, "NO")

    exists = int(re.search(rb"^\* (\d+) EXISTS", b"".join(c.command("SELECT INBOX")),
                           re.M)[1])
    first, second = exists - 1, exists
    bodies = fetched_literals(c.command(f"FETCH 1,{first}:{second} (UID FLAGS BODY[])"))
    if bodies != [SEED_MESSAGES[0][3]] + MINUTES:
        raise SystemExit(f"FETCH returned {[len(b) for b in bodies]} bytes")
    # SEARCH with a synchronizing literal that the server accepts ("+ OK").
    key = b"Minutes"
    tag = c.tag()
    c.send(b"%s SEARCH SUBJECT {%d}\r\n" % (tag.encode(), len(key)))
    cont = c.response()
    if not cont.startswith(b"+"):
        raise SystemExit(f"SEARCH literal: {cont!r}")
    c.send(key + b"\r\n")
    found = c.finish(tag)[0]
    if found != b"* SEARCH %d %d\r\n" % (first, second):
        raise SystemExit(f"SEARCH: {found!r}")
    c.command(f"STORE {first} +FLAGS (\\Deleted)")
    c.command("EXPUNGE")
    c.command(f"UID STORE {uid2} +FLAGS (\\Deleted)")
    c.command(f"UID EXPUNGE {uid2}")
    c.command("LOGOUT")
    c.close()


def s_ipv6(args):
    m = connect(args, "ipv6")
    check(m.login(args.user, args.password), "LOGIN")
    check(m.select("INBOX"), "SELECT")
    m.logout()


def s_message(args):
    sys.stdout.buffer.write(SEED_MESSAGES[0][3])


SESSIONS = {
    "setup": s_setup,
    "login-fetch": s_login_fetch,
    "append": s_append,
    "fetch-large": s_fetch_large,
    "login-failed": s_login_failed,
    "port220": s_port220,
    "auth-plain": s_auth_plain,
    "auth-login": s_auth_login,
    "idle": s_idle,
    "starttls": s_starttls,
    "compress": s_compress,
    "id-namespace": s_id_namespace,
    "acl-quota": s_acl_quota,
    "mailboxes": s_mailboxes,
    "literal-plus": s_literal_plus,
    "ipv6": s_ipv6,
    "message": s_message,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=143)
    ap.add_argument("--user", default="mrc")
    ap.add_argument("--password", default="tanstaaf1")
    ap.add_argument("--doveadm", help="doveadm command line for the server "
                    "(mailboxes: fixes the new mailbox's UIDVALIDITY)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="raw client: print the server's responses to stderr")
    ap.add_argument("session", choices=sorted(SESSIONS))
    args = ap.parse_args()
    SESSIONS[args.session](args)


if __name__ == "__main__":
    main()
