#!/usr/bin/python3
"""Assertions on the NDJSON that imapscope wrote during a live test.

Usage:
  check_records.py has FILE DATASET [USER]     exit 0 if FILE has such a record
  check_records.py dovecot FILE PORT USER      the records of live_dovecot.sh
  check_records.py rotated OLD NEW PORT USER1 USER2
                                               the records of live_sighup.sh
  check_records.py idle FILE PORT USER         the records of live_idle.sh

Prints every failed expectation and exits 1 if there was one.
"""

import json
import sys

problems = []


def expect(cond, what):
    if not cond:
        problems.append(what)
    return cond


def load(path):
    """The records of path; every line must be one whole JSON object."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        problems.append(f"{path}: last record is not whole")
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        try:
            records.append(json.loads(line))
        except ValueError as e:
            problems.append(f"{path}:{n}: not JSON: {e}")
    return records


def dataset(r):
    return r.get("event", {}).get("dataset")


def user(r):
    return r.get("user", {}).get("name")


def of(records, ds, name=None):
    return [r for r in records
            if dataset(r) == ds and (name is None or user(r) == name)]


def check_ports(records, port):
    for r in records:
        if dataset(r) != "imapscope.stats":
            expect(r.get("destination", {}).get("port") == port,
                   f"record not on port {port}: {json.dumps(r)[:200]}")


def check_stats(records, where):
    """The last record is the stats record, with the capture group."""
    if not expect(records and dataset(records[-1]) == "imapscope.stats",
                  f"{where}: the last record is not imapscope.stats"):
        return None
    st = records[-1]["imapscope"]
    cap = st.get("capture", {})
    expect(cap.get("received", 0) > 0, f"{where}: capture.received is not > 0: {cap}")
    expect(cap.get("dropped_kernel") == 0, f"{where}: kernel drops: {cap}")
    expect("dropped_interface" in cap, f"{where}: no capture.dropped_interface")
    expect(len(of(records, "imapscope.stats")) == 1, f"{where}: more than one stats record")
    return st


def commands(records):
    return [(r["imap"]["command"], r["imap"]["status"], r)
            for r in of(records, "imap.command")]


def cmd_dovecot(path, port, name):
    recs = load(path)
    check_ports(recs, port)
    sessions = of(recs, "imap.session")
    expect(len(sessions) == 2, f"expected 2 sessions, got {len(sessions)}")
    for s in sessions:
        expect(user(s) == name, f"session user.name {user(s)!r}, not {name!r}")
        expect(s["imap"].get("end_reason") == "logout",
               f"session ended by {s['imap'].get('end_reason')!r}, not logout")
    expect(sorted(s["imap"].get("authenticated") for s in sessions) == [False, True],
           "expected one authenticated and one unauthenticated session")
    cmds = commands(recs)
    seen = {(c, st) for c, st, _ in cmds}
    for want in [("LOGIN", "OK"), ("LOGIN", "NO"), ("SELECT", "OK"),
                 ("APPEND", "OK"), ("FETCH", "OK"), ("LOGOUT", "OK")]:
        expect(want in seen, f"no {want[0]} {want[1]} command record (have {sorted(seen)})")
    for c, st, r in cmds:
        if c == "APPEND":
            lit = r["imap"].get("literals", {})
            expect(lit.get("count") == 1 and lit.get("bytes", 0) > 100,
                   f"APPEND without its literal: {lit}")
        if c == "LOGIN":
            expect(user(r) == name, f"LOGIN record user.name {user(r)!r}")
    auths = of(recs, "imap.auth")
    outcomes = sorted(a["event"].get("outcome") for a in auths)
    expect(outcomes == ["failure", "success"], f"auth outcomes {outcomes}")
    for a in auths:
        expect(user(a) == name, f"auth user.name {user(a)!r}")
        au = a["imap"]["auth"]
        expect("LOGIN" in (au.get("command"), au.get("mechanism")),
               f"auth record not of a LOGIN: {au}")
    st = check_stats(recs, path)
    if st:
        expect(st["imap"]["sessions"] == 2, f"stats: {st['imap']['sessions']} sessions")
        expect(st["flows"]["total"] == 2, f"stats: {st['flows']['total']} flows")
        expect(st["reassembly"]["gaps"] == 0, f"stats: {st['reassembly']['gaps']} gaps")


def cmd_rotated(old, new, port, user1, user2):
    a, b = load(old), load(new)
    check_ports(a + b, port)
    expect(len(of(a, "imap.session", user1)) == 1, f"{old}: no session of {user1}")
    expect(not of(a, "imap.session", user2), f"{old}: has a session of {user2}")
    expect(not of(a, "imapscope.stats"), f"{old}: has the stats record")
    expect(len(of(b, "imap.session", user2)) == 1, f"{new}: no session of {user2}")
    expect(not [r for r in b if user(r) == user1], f"{new}: has records of {user1}")
    expect(of(b, "imap.command", user2), f"{new}: no command records of {user2}")
    st = check_stats(b, new)
    if st:
        expect(st["imap"]["sessions"] == 2, f"stats: {st['imap']['sessions']} sessions")


def cmd_idle(path, port, name):
    recs = load(path)
    check_ports(recs, port)
    sessions = of(recs, "imap.session", name)
    if expect(len(sessions) == 1, f"expected 1 session of {name}, got {len(sessions)}"):
        expect(sessions[0]["imap"].get("end_reason") == "idle",
               f"end_reason {sessions[0]['imap'].get('end_reason')!r}, not idle")


def main(argv):
    if len(argv) in (4, 5) and argv[1] == "has":
        recs = load(argv[2])
        sys.exit(0 if not problems and of(recs, argv[3], argv[4] if len(argv) == 5 else None) else 1)
    if len(argv) == 5 and argv[1] == "dovecot":
        cmd_dovecot(argv[2], int(argv[3]), argv[4])
    elif len(argv) == 7 and argv[1] == "rotated":
        cmd_rotated(argv[2], argv[3], int(argv[4]), argv[5], argv[6])
    elif len(argv) == 5 and argv[1] == "idle":
        cmd_idle(argv[2], int(argv[3]), argv[4])
    else:
        sys.exit(__doc__)
    for p in problems:
        print(f"check_records: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv)
