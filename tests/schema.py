#!/usr/bin/python3
"""Checks imapscope's NDJSON against docs/imapscope.schema.json.

    schema.py IMAPSCOPE SCHEMA PCAP...

For every capture, runs `IMAPSCOPE -r PCAP --json` and checks that
  - it exits 0 and every line ends with a newline,
  - each line is valid UTF-8 and one JSON object on its own (no duplicate
    keys, no NaN/Infinity, no lone surrogates in strings),
  - each record validates against the schema (draft 2020-12, with the
    ipv4/ipv6 formats checked),
  - the records agree with each other: @timestamp is event.start,
    event.duration is end - start (to the microsecond), a session's
    summary counts the command and auth records written for it, and the
    final imapscope.stats record counts them all.
On a failure it prints the capture, the line number, the record and every
error, and exits 1. Run it with Debian's /usr/bin/python3, which has the
python3-jsonschema package.
"""
import collections
import datetime
import json
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    sys.exit("schema.py: the jsonschema module is missing "
             "(Debian: apt-get install python3-jsonschema; run with /usr/bin/python3)")


class Bad(Exception):
    pass


def no_dup_keys(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Bad("duplicate key %r" % k)
        d[k] = v
    return d


def no_constants(name):
    raise Bad("non-standard JSON constant %s" % name)


def check_strings(v, path="$"):
    """Every string (and key) must encode as UTF-8: no lone surrogates."""
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as e:
            raise Bad("%s: string is not valid Unicode: %s" % (path, e))
    elif isinstance(v, dict):
        for k, x in v.items():
            check_strings(k, path)
            check_strings(x, "%s.%s" % (path, k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            check_strings(x, "%s[%d]" % (path, i))


def ns(ts):
    """RFC 3339 '...T..:..:...ffffffZ' to integer nanoseconds."""
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    t = t.replace(tzinfo=datetime.timezone.utc)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    d = t - epoch
    return (d.days * 86400 + d.seconds) * 10**9 + d.microseconds * 1000


def parse_line(raw):
    if not raw.endswith(b"\n"):
        raise Bad("the line does not end with a newline")
    try:
        text = raw[:-1].decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise Bad("not valid UTF-8: %s" % e)
    if "\n" in text or "\r" in text:
        raise Bad("raw line break inside the record")
    try:
        rec = json.loads(text, object_pairs_hook=no_dup_keys,
                         parse_constant=no_constants)
    except ValueError as e:
        raise Bad("not JSON: %s" % e)
    if not isinstance(rec, dict):
        raise Bad("not a JSON object")
    check_strings(rec)
    return rec


def record_checks(rec):
    """Cross-field rules that a JSON Schema cannot state."""
    errs = []
    ev = rec.get("event", {})
    if ev.get("dataset") == "imapscope.stats":
        return errs
    if "start" in ev and rec.get("@timestamp") != ev["start"]:
        errs.append("@timestamp %r is not event.start %r"
                    % (rec.get("@timestamp"), ev["start"]))
    if "end" in ev and "start" in ev and "duration" in ev:
        # start and end are printed cut to microseconds, duration is exact
        want = ns(ev["end"]) - ns(ev["start"])
        if not isinstance(ev["duration"], int) or abs(ev["duration"] - want) >= 1000:
            errs.append("event.duration %r is not end - start (%d ns)"
                        % (ev["duration"], want))
    return errs


def file_checks(recs):
    """Rules across the records of one run. recs: [(lineno, rec)]."""
    errs = []
    stats = [(n, r) for n, r in recs
             if r["event"]["dataset"] == "imapscope.stats"]
    if len(stats) != 1 or stats[0][0] != recs[-1][0]:
        errs.append("expected exactly one imapscope.stats record, the last one; "
                    "found %d" % len(stats))
    by_sess = collections.defaultdict(lambda: {"cmd": [], "auth": [], "sess": []})
    for n, r in recs:
        ds = r["event"]["dataset"]
        if ds == "imapscope.stats":
            continue
        key = {"imap.command": "cmd", "imap.auth": "auth",
               "imap.session": "sess"}[ds]
        by_sess[r["imap"]["session_id"]][key].append((n, r))

    for sid, s in sorted(by_sess.items()):
        if len(s["sess"]) != 1:
            errs.append("session %s: %d imap.session records" % (sid, len(s["sess"])))
            continue
        n_sess, sess = s["sess"][0]
        im = sess["imap"]
        flow = (sess["network"]["community_id"], sess["source"]["ip"],
                sess["source"]["port"], sess["destination"]["ip"],
                sess["destination"]["port"])
        for n, r in s["cmd"] + s["auth"]:
            if n > n_sess:
                errs.append("session %s: line %d comes after its imap.session "
                            "record (line %d)" % (sid, n, n_sess))
            f = (r["network"]["community_id"], r["source"]["ip"],
                 r["source"]["port"], r["destination"]["ip"],
                 r["destination"]["port"])
            if f != flow:
                errs.append("session %s: line %d names another flow" % (sid, n))
        nums = sorted(r["imap"]["command_number"] for _, r in s["cmd"])
        if nums != list(range(1, len(nums) + 1)):
            errs.append("session %s: command numbers %s are not 1..%d"
                        % (sid, nums, len(nums)))
        if im["commands"]["total"] != len(s["cmd"]):
            errs.append("session %s: commands.total %d but %d imap.command records"
                        % (sid, im["commands"]["total"], len(s["cmd"])))
        if sum(im["commands"]["by_name"].values()) != im["commands"]["total"]:
            errs.append("session %s: commands.by_name does not add up to total" % sid)
        if im["auth"]["attempts"] != len(s["auth"]):
            errs.append("session %s: auth.attempts %d but %d imap.auth records"
                        % (sid, im["auth"]["attempts"], len(s["auth"])))
        fails = sum(1 for _, r in s["auth"] if r["imap"]["auth"]["status"] != "OK")
        if im["auth"]["failures"] != fails:
            errs.append("session %s: auth.failures %d but %d failed imap.auth records"
                        % (sid, im["auth"]["failures"], fails))

    if len(stats) == 1:
        st = stats[0][1]["imapscope"]["imap"]
        cmds = [r for _, r in recs if r["event"]["dataset"] == "imap.command"]
        auths = [r for _, r in recs if r["event"]["dataset"] == "imap.auth"]
        status = collections.Counter(r["imap"]["status"] for r in cmds)
        want = {
            "sessions": sum(1 for _, r in recs
                            if r["event"]["dataset"] == "imap.session"),
            "commands": len(cmds),
            "commands_ok": status["OK"],
            "commands_no": status["NO"],
            "commands_bad": status["BAD"],
            "commands_unanswered": status[None],
            "auth_failures": sum(1 for r in auths
                                 if r["imap"]["auth"]["status"] != "OK"),
        }
        for k, v in want.items():
            if st.get(k) != v:
                errs.append("imapscope.stats: imap.%s is %r, the records say %d"
                            % (k, st.get(k), v))
    return errs


def main(argv):
    if len(argv) < 4:
        sys.exit("usage: schema.py IMAPSCOPE SCHEMA PCAP...")
    binary, schema_path, pcaps = argv[1], argv[2], argv[3:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=jsonschema.FormatChecker())

    failures = 0
    total = 0
    for pcap in pcaps:
        p = subprocess.run([binary, "-r", pcap, "--json"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            print("FAIL %s: exit status %d\n%s" % (pcap, p.returncode,
                                                  p.stderr.decode("utf-8", "replace")))
            failures += 1
            continue
        lines = p.stdout.splitlines(keepends=True)
        if not lines:
            print("FAIL %s: no records" % pcap)
            failures += 1
            continue
        recs = []
        bad_here = 0
        for n, raw in enumerate(lines, 1):
            errs = []
            rec = None
            try:
                rec = parse_line(raw)
            except Bad as e:
                errs.append(str(e))
            if rec is not None:
                for e in sorted(validator.iter_errors(rec), key=lambda e: list(e.path)):
                    where = "/".join(str(x) for x in e.absolute_path) or "(record)"
                    msg = e.message
                    if len(msg) > 300:  # some messages quote the whole record
                        msg = msg[:300] + "..."
                    errs.append("%s: %s [schema: %s]" % (
                        where, msg,
                        "/".join(str(x) for x in e.absolute_schema_path)))
                if not errs:
                    errs.extend(record_checks(rec))
            if errs:
                bad_here += 1
                print("FAIL %s line %d:\n  record: %s" % (
                    pcap, n, raw.decode("utf-8", "backslashreplace").rstrip("\n")))
                for e in errs:
                    print("  error: " + e)
            else:
                recs.append((n, rec))
        total += len(lines)
        if not bad_here:
            for e in file_checks(recs):
                print("FAIL %s: %s" % (pcap, e))
                bad_here += 1
        if bad_here:
            failures += 1
        else:
            print("ok %s: %d records" % (pcap, len(lines)))
    print("%d records from %d captures; %d captures failed"
          % (total, len(pcaps), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
