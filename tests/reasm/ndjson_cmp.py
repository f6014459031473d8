#!/usr/bin/python3
"""Compares the NDJSON of a capture with that of a mangled copy of it.

    ndjson_cmp.py exact CLEAN MANGLED
    ndjson_cmp.py lossy CLEAN MANGLED

exact: every record except imapscope.stats must be the same, in the same
order, once each session's imap.tcp (the packet counters) is set aside.

lossy: the same after dropping, from every record, what loss is allowed to
change: the gap counts (imap.gaps) and the delivered byte counts
(source.bytes, destination.bytes). On top of that the mangled capture must
report gaps: in the session records, in the server direction only, and in
the stats record.

Prints one line per difference (at most 20) and exits 1 if there is any,
0 if none, 2 on bad usage or unreadable input.
"""
import json
import sys


def records(path):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out, stats = [], None
    for n, line in enumerate(lines, 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise SystemExit("%s:%d: not JSON: %s" % (path, n, e))
        if rec.get("event", {}).get("dataset") == "imapscope.stats":
            stats = rec
        else:
            # a session's imap.tcp counts the packets (retransmissions,
            # reordering, overlaps): what mangling changes by design
            if "tcp" in rec.get("imap", {}):
                del rec["imap"]["tcp"]
                line = json.dumps(rec).encode()
            out.append((line, rec))
    return out, stats


def strip_loss(rec):
    rec = json.loads(json.dumps(rec))
    rec.get("imap", {}).pop("gaps", None)
    for side in ("source", "destination"):
        rec.get(side, {}).pop("bytes", None)
    return json.dumps(rec, sort_keys=True)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("exact", "lossy"):
        sys.stderr.write(__doc__)
        return 2
    mode, a_path, b_path = argv[1:]
    a, _ = records(a_path)
    b, b_stats = records(b_path)
    problems = []
    if not a:
        problems.append("no records from the clean capture")
    if len(a) != len(b):
        problems.append("%d records, mangled %d" % (len(a), len(b)))
    for i, ((la, ra), (lb, rb)) in enumerate(zip(a, b), 1):
        if mode == "exact":
            if la != lb:
                problems.append("record %d differs:\n  clean:   %s\n  mangled: %s"
                                % (i, la.decode(errors="replace")[:300],
                                   lb.decode(errors="replace")[:300]))
        elif strip_loss(ra) != strip_loss(rb):
            problems.append("record %d differs beyond gaps and byte counts:"
                            "\n  clean:   %s\n  mangled: %s"
                            % (i, strip_loss(ra)[:300], strip_loss(rb)[:300]))
    if mode == "lossy":
        sessions = [r for _, r in b
                    if r.get("event", {}).get("dataset") == "imap.session"]
        gaps = [s["imap"]["gaps"] for s in sessions]
        if not any(g["server"]["count"] > 0 for g in gaps):
            problems.append("no session reports a server gap")
        if any(g["client"]["count"] for g in gaps):
            problems.append("a client gap, but only server bytes were lost")
        if not b_stats or b_stats["imapscope"]["reassembly"]["gaps"] <= 0:
            problems.append("the stats record reports no gap")
    for p in problems[:20]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
