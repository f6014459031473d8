#!/usr/bin/python3
"""IMAP traffic on 127.0.0.1 for the live capture tests.

Usage:
  imap_session.py dovecot PORT USER PASSWORD
      against a real server: LOGIN, SELECT, APPEND (a synchronizing
      literal), FETCH, LOGOUT; then a second session whose LOGIN fails
      (wrong password), then LOGOUT.
  imap_session.py pair PORT USER [--hold SECONDS]
      a tiny IMAP-speaking server and an imaplib client in one process,
      one session: LOGIN, NOOP, LOGOUT. With --hold the client stops after
      NOOP and keeps the connection open, silent, for SECONDS, then closes
      it without LOGOUT.

Exits 0 when every step got the answer it should, else prints why and
exits 1. Every socket has a timeout, so nothing here hangs.
"""

import imaplib
import socket
import sys
import threading
import time

TIMEOUT = 10
MESSAGE = (b"From: Live Test <live@example.org>\r\n"
           b"To: Sensor <sensor@example.net>\r\n"
           b"Subject: captured live\r\n"
           b"\r\n"
           b"This message travelled over loopback while imapscope listened.\r\n")


def check(cond, what):
    if not cond:
        sys.exit(f"imap_session: {what}")


def dovecot(port, user, password):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    typ, _ = m.login(user, password)
    check(typ == "OK", "LOGIN failed")
    typ, data = m.select("INBOX")
    check(typ == "OK", "SELECT failed")
    typ, data = m.append("INBOX", None, None, MESSAGE)
    check(typ == "OK", f"APPEND failed: {data}")
    typ, data = m.fetch("1", "(BODY[])")
    check(typ == "OK" and MESSAGE in data[0][1], "FETCH did not return the message")
    typ, _ = m.logout()
    check(typ == "BYE", "LOGOUT failed")

    m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    try:
        m.login(user, password + "-wrong")
    except imaplib.IMAP4.error:
        pass
    else:
        sys.exit("imap_session: LOGIN with a wrong password succeeded")
    m.logout()


def serve(listener, errors):
    """Answers one connection: greeting, then OK to every command; BYE and
    close after LOGOUT, close when the client closes."""
    try:
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        with conn:
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1] test server ready\r\n")
            buf = b""
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    tag, _, rest = line.partition(b" ")
                    cmd = rest.split(b" ", 1)[0].upper()
                    if cmd == b"LOGOUT":
                        conn.sendall(b"* BYE logging out\r\n" + tag + b" OK LOGOUT completed\r\n")
                        conn.shutdown(socket.SHUT_WR)
                        return
                    conn.sendall(tag + b" OK " + cmd + b" completed\r\n")
    except OSError as e:
        errors.append(e)


def pair(port, user, hold):
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(TIMEOUT)
    errors = []
    t = threading.Thread(target=serve, args=(listener, errors))
    t.start()
    try:
        m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
        typ, _ = m.login(user, "secret")
        check(typ == "OK", "LOGIN failed")
        typ, _ = m.noop()
        check(typ == "OK", "NOOP failed")
        if hold is None:
            typ, _ = m.logout()
            check(typ == "BYE", "LOGOUT failed")
        else:
            time.sleep(hold)
            m.shutdown()
    finally:
        t.join(TIMEOUT)
        listener.close()
    check(not t.is_alive(), "the server did not finish")
    check(not errors, f"server: {errors}")


def main(argv):
    if len(argv) >= 5 and argv[1] == "dovecot":
        dovecot(int(argv[2]), argv[3], argv[4])
    elif len(argv) in (4, 6) and argv[1] == "pair":
        hold = float(argv[5]) if len(argv) == 6 and argv[4] == "--hold" else None
        check(len(argv) == 4 or hold is not None, "bad arguments")
        pair(int(argv[2]), argv[3], hold)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
