#!/usr/bin/env python3
"""fuzz/make-seeds.py: writes the seed corpora under fuzz/corpus/.

Run from anywhere; it reads samples/*.pcap and rewrites fuzz/corpus/{imap,
reasm,decode,pipeline}/ whole. The public captures among the pipeline seeds
(fuzz/corpus/README.md says where each comes from) are kept as they are,
or copied again from --corpus DIR, a directory laid out as that README
says. The seeds are committed; this script says how they were made. Input
formats are described at the top of each fuzz/fuzz_<name>.c.

Only the Python standard library is used: pcap files are parsed here
(classic pcap, Ethernet, IPv4/IPv6, TCP), not with a packet library.
"""
import argparse
import gzip
import os
import shutil
import struct
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")
IMAP_PORTS = (143, 220)

# ---- pcap reading --------------------------------------------------------


def read_pcap(path):
    """Yields (linktype, frame bytes, orig_len) of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError(path + ": not a classic pcap")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        yield linktype, data[off:off + incl], orig
        off += incl


def parse_tcp(frame):
    """Ethernet frame -> dict with addresses, ports, seq, ack, flags,
    payload; None if it is not TCP over IPv4/IPv6."""
    if len(frame) < 14:
        return None
    etype = struct.unpack(">H", frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0800:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        if ip[9] != 6:
            return None
        src, dst = ip[12:16], ip[16:20]
        tcp = ip[ihl:total]
    elif etype == 0x86DD:
        if ip[6] != 6:
            return None
        plen = struct.unpack(">H", ip[4:6])[0]
        src, dst = ip[8:24], ip[24:40]
        tcp = ip[40:40 + plen]
    else:
        return None
    sport, dport, seq, ack = struct.unpack(">HHII", tcp[:12])
    doff = (tcp[12] >> 4) * 4
    return dict(src=src, dst=dst, sport=sport, dport=dport, seq=seq, ack=ack,
                flags=tcp[13], payload=tcp[doff:])


def streams(path):
    """The first IMAP connection of a capture as a list of (dir, bytes),
    dir 0 client, 1 server, in capture order, retransmissions dropped."""
    out, nxt, conn = [], {}, None
    for _, frame, _ in read_pcap(path):
        t = parse_tcp(frame)
        if not t:
            continue
        if t["dport"] in IMAP_PORTS:
            d, key = 0, (t["src"], t["sport"], t["dst"], t["dport"])
        elif t["sport"] in IMAP_PORTS:
            d, key = 1, (t["dst"], t["dport"], t["src"], t["sport"])
        else:
            continue
        if conn is None:
            conn = key
        if key != conn:
            continue
        seq = t["seq"] + (1 if t["flags"] & 2 else 0)
        p = t["payload"]
        if not p:
            if t["flags"] & 2:
                nxt[d] = seq
            continue
        start = nxt.get(d, seq)
        skip = (start - seq) & 0xFFFFFFFF
        if skip >= len(p):
            continue
        p = p[skip:] if skip < 0x80000000 else p
        nxt[d] = (seq + skip + len(p)) & 0xFFFFFFFF
        out.append((d, p))
    return out

# ---- fuzz_imap scripts ---------------------------------------------------


def chunk(d, b, step=1):
    """One data chunk (several when longer than 65536 bytes)."""
    out = b""
    for i in range(0, len(b), 65536):
        part = b[i:i + 65536]
        if len(part) <= 256:
            out += bytes([(step << 5) | d, len(part) - 1]) + part
        else:
            out += bytes([(step << 5) | 2 | d]) + struct.pack(">H", len(part) - 1) + part
    return out


def gap(d, n, step=0):
    assert 1 <= n <= 65536
    return bytes([(step << 5) | 4 | d]) + struct.pack(">H", n - 1)


def imap_script(cfg0, cfg1, parts):
    return bytes([cfg0, cfg1]) + b"".join(parts)


def from_pcap(path, budget=6000, gap_literal_over=None):
    """A script of a sample's first connection, at most budget bytes of
    data; segments after that point are given as gaps when
    gap_literal_over is set (how a lost literal tail looks)."""
    parts, used = [], 0
    for d, p in streams(path):
        if used + len(p) > budget:
            if gap_literal_over:
                parts.append(gap(d, min(len(p), 65536)))
                continue
            p = p[:max(0, budget - used)]
            if p:
                parts.append(chunk(d, p))
            break
        parts.append(chunk(d, p))
        used += len(p)
    return parts


C, S = 0, 1


def sample_names():
    """samples/*.pcap but fetch-large (230 KB: cut versions are used)."""
    names = [f[:-5] for f in os.listdir(os.path.join(ROOT, "samples")) if f.endswith(".pcap")]
    return sorted(n for n in names if n != "fetch-large")

RFC3501_SESSION = [
    (S, b"* OK IMAP4rev1 Service Ready\r\n"),
    (C, b"a001 login mrc secret\r\n"),
    (S, b"a001 OK LOGIN completed\r\n"),
    (C, b"a002 select inbox\r\n"),
    (S, b"* 18 EXISTS\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        b"* 2 RECENT\r\n* OK [UNSEEN 17] Message 17 is the first unseen message\r\n"
        b"* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
        b"a002 OK [READ-WRITE] SELECT completed\r\n"),
    (C, b"a003 fetch 12 full\r\n"),
    (S, b"* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
        b"RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
        b"\"IMAP4rev1 WG mtg summary and minutes\" "
        b"((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) NIL NIL "
        b"((NIL NIL \"imap\" \"cac.washington.edu\")) NIL NIL NIL "
        b"\"<B27397-0100000@cac.washington.edu>\") "
        b"BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n"
        b"a003 OK FETCH completed\r\n"),
    (C, b"a004 fetch 12 body[header]\r\n"),
    (S, b"* 12 FETCH (BODY[HEADER] {342}\r\n" +
        (b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
         b"From: Terry Gray <gray@cac.washington.edu>\r\n"
         b"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
         b"To: imap@cac.washington.edu\r\n"
         b"cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
         b"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
         b"MIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
         b"\r\n").ljust(342, b"x") +
        b")\r\na004 OK FETCH completed\r\n"),
    (C, b"a005 store 12 +flags \\deleted\r\n"),
    (S, b"* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\na005 OK +FLAGS completed\r\n"),
    (C, b"a006 logout\r\n"),
    (S, b"* BYE IMAP4rev1 server terminating connection\r\na006 OK LOGOUT completed\r\n"),
]

APPEND_SYNC = [
    (S, b"* OK [CAPABILITY IMAP4rev1 LITERAL+ STARTTLS AUTH=PLAIN] ready\r\n"),
    (C, b"A003 APPEND saved-messages (\\Seen) {310}\r\n"),
    (S, b"+ Ready for literal data\r\n"),
    (C, (b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
         b"From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
         b"Subject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu\r\n"
         b"Message-Id: <B27397-0100000@Blurdybloop.COM>\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n"
         b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n").ljust(310, b" ") +
        b"\r\n"),
    (S, b"A003 OK APPEND completed\r\n"),
    (C, b"A004 APPEND INBOX {5+}\r\nhello APPEND2 ~{3+}\r\nabc\r\n"),
    (S, b"A004 OK done\r\n"),
    (C, b"A005 APPEND INBOX {20}\r\n"),
    (S, b"A005 NO [TOOBIG] too big\r\n"),
    (C, b"A006 LOGIN {3}\r\n"),
    (S, b"+ go\r\n"),
    (C, b"mrc {6}\r\n"),
    (S, b"+ go\r\n"),
    (C, b"secret\r\n"),
    (S, b"A006 OK [CAPABILITY IMAP4rev1 IDLE] logged in\r\n"),
    (C, b"A007 SELECT {0}\r\n"),
    (S, b"+ \r\n"),
    (C, b"\r\n"),
    (S, b"A007 BAD empty\r\n"),
]

SASL = [
    (S, b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=LOGIN AUTH=SCRAM-SHA-1 STARTTLS] hi\r\n"),
    (C, b"a1 AUTHENTICATE PLAIN\r\n"),
    (S, b"+ \r\n"),
    (C, b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"),
    (S, b"a1 NO [AUTHENTICATIONFAILED] nope\r\n"),
    (C, b"a2 AUTHENTICATE LOGIN\r\n"),
    (S, b"+ VXNlcm5hbWU6\r\n"),
    (C, b"bXJj\r\n"),
    (S, b"+ UGFzc3dvcmQ6\r\n"),
    (C, b"dGFuc3RhYWYx\r\n"),
    (S, b"a2 NO no\r\n"),
    (C, b"a3 AUTHENTICATE SCRAM-SHA-1 biwsbj1tcmMscj1meXtvK2QybGJiRmdPTlJ2OXFreGRhd0w=\r\n"),
    (S, b"+ cj1meXtvK2QybGJiRmdPTlJ2OXFreGRhd0wzcmZjTkhZSlkxWlZ2V1ZzN2oscz1RU1hDUitRNnNlazhiZjkyLGk9NDA5Ng==\r\n"),
    (C, b"Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdMM3JmY05IWUpZMVpWdldWczdqLHA9djBYOHYzQnoyVDBDSkdiSlF5RjBYK0hJNFRzPQ==\r\n"),
    (S, b"+ dj1ybUY5cHFWOFM3c3VBb1pXamE0ZEpSa0ZzS1E9\r\n"),
    (C, b"\r\n"),
    (S, b"a3 OK done\r\n"),
    (C, b"a4 AUTHENTICATE XOAUTH2 =\r\n"),
    (S, b"a4 BAD\r\n"),
    (C, b"a5 AUTHENTICATE OAUTHBEARER\r\n"),
    (S, b"+ \r\n"),
    (C, b"*\r\n"),
    (S, b"a5 BAD cancelled\r\n"),
    (C, b"a6 IDLE\r\n"),
    (S, b"+ idling\r\n* 4 EXISTS\r\n"),
    (C, b"DONE\r\n"),
    (S, b"a6 OK IDLE terminated\r\n"),
    (C, b"a7 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])\r\n"),
    (S, b"* 1 FETCH (UID 1 FLAGS () BODY[HEADER.FIELDS (FROM SUBJECT)] {12}\r\nFrom: a@b\r\n\r\n)\r\n"
        b"* 2 FETCH (BINARY[1] ~{4}\r\n\x00\x01\x02\x03)\r\na7 OK\r\n"),
    (C, b"a8 LOGOUT\r\n"),
    (S, b"* BYE\r\na8 OK\r\n"),
]

STARTTLS = [
    (S, b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"),
    (C, b". CAPABILITY\r\n"),
    (S, b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n. OK\r\n"),
    (C, b". STARTTLS\r\n"),
    (S, b". OK Begin TLS negotiation now\r\n"),
    (C, b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03" + bytes(32) + b"\x00\x00\x02\x13\x01\x01\x00"),
    (S, b"\x16\x03\x03\x00\x10" + bytes(16)),
]

STARTTLS_INJECT = [
    (S, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
    (C, b"a STARTTLS\r\nb LOGIN x y\r\n"),
    (S, b"a OK go\r\n* injected\r\n"),
]


def tls_hello(client, sni=b"imap.example.org"):
    """A TLS 1.3 ClientHello (with SNI) or ServerHello record."""
    versions = b"\x00\x2b" + (b"\x00\x03\x02\x03\x04" if client else b"\x00\x02\x03\x04")
    if client:
        name = b"\x00" + struct.pack(">H", len(sni)) + sni
        lst = struct.pack(">H", len(name)) + name
        ext = b"\x00\x00" + struct.pack(">H", len(lst)) + lst + versions
        body = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    else:
        ext = versions
        body = b"\x03\x03" + bytes(range(32, 64)) + b"\x00" + b"\x13\x01" + b"\x00"
    body += struct.pack(">H", len(ext)) + ext
    hs = (b"\x01" if client else b"\x02") + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


STARTTLS_SNI = [
    (S, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"),
    (C, b"s1 STARTTLS\r\n"),
    (S, b"s1 OK Begin TLS negotiation now\r\n"),
    (C, tls_hello(True)),
    (S, tls_hello(False)),
]

UTF8_NAMES = [
    (S, b"* OK [CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT] ready\r\n"),
    (C, b"u1 LOGIN mrc secret\r\n"),
    (S, b"u1 OK\r\n"),
    (C, b"u2 SELECT Caf&AOk-\r\n"),
    (S, b"u2 OK\r\n"),
    (C, b"u3 CREATE \"&ZeVnLIqe-\"\r\n"),
    (S, b"u3 OK\r\n"),
    (C, b"u4 ENABLE UTF8=ACCEPT\r\n"),
    (S, b"* ENABLED UTF8=ACCEPT\r\nu4 OK\r\n"),
    (C, "u5 SELECT \"Café\"\r\n".encode()),
    (S, b"u5 OK\r\n"),
    (C, b"u6 RENAME Caf&AOk- \"&Jjo!\"\r\n"),
    (S, b"u6 NO\r\n"),
]


def many_names():
    """More distinct command names than the per-session table holds."""
    parts = [(S, b"* PREAUTH ready\r\n")]
    for i in range(70):
        parts.append((C, b"n%d XCMD%d\r\n" % (i, i)))
        parts.append((S, b"n%d OK\r\n" % i))
    return parts


def compress_session():
    zc = zlib.compressobj(6, zlib.DEFLATED, -15)
    zs = zlib.compressobj(6, zlib.DEFLATED, -15)

    def cz(z, b):
        return z.compress(b) + z.flush(zlib.Z_SYNC_FLUSH)
    return [
        (S, b"* PREAUTH [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] hi\r\n"),
        (C, b"c1 COMPRESS DEFLATE\r\n"),
        (S, b"c1 OK DEFLATE active\r\n"),
        (C, cz(zc, b"c2 SELECT INBOX\r\n")),
        (S, cz(zs, b"* 1 EXISTS\r\nc2 OK [READ-WRITE] done\r\n")),
        (C, cz(zc, b"c3 FETCH 1 BODY[]\r\n")),
        (S, cz(zs, b"* 1 FETCH (BODY[] {11}\r\nhello world)\r\nc3 OK\r\n")),
        (C, cz(zc, b"c4 LOGOUT\r\n")),
    ]


HOSTILE = [
    (S, b"* OK \x1b[2J\xc2\x9b\xff\xfe hello\r\n"),
    (C, b"t1 LOGIN \"us\\\"er\" \"pa\\\\ss\"\r\n"),
    (S, b"t1 OK [ALERT] \x00nul\r\n"),
    (C, b"t2 SELECT ((((((((((((x))))))))))))\r\n"),
    (C, b"t3 FETCH 1 BODY[HEADER.FIELDS (A B)]<0.10>\r\n"),
    (S, b"t9 OK unmatched\r\n+ stray\r\n* 1 FETCH (BODY[] {99999999999999999999}\r\n"),
    (C, b"t4 x" + b"A" * 300 + b" {3}\r\n"),
    (C, b"abc\r\n"),
    (S, b"t2 BAD\r\nt3 NO\r\nt4 OK\r\n"),
]


def imap_seeds():
    seeds = {}
    for name in sample_names():
        seeds["sample-" + name] = imap_script(0x01, 0x00, from_pcap(
            os.path.join(ROOT, "samples", name + ".pcap")))
    seeds["sample-fetch-large-gaps"] = imap_script(0x01, 0x00, from_pcap(
        os.path.join(ROOT, "samples", "fetch-large.pcap"), 4000, True))
    seeds["sample-append-small"] = imap_script(0x04, 0x00, from_pcap(
        os.path.join(ROOT, "samples", "append.pcap")))
    seeds["sample-login-fetch-split"] = imap_script(0x01, 0x04, from_pcap(
        os.path.join(ROOT, "samples", "login-fetch.pcap"), 2500))

    def sc(parts, cfg0=0, cfg1=0):
        return imap_script(cfg0, cfg1, [chunk(d, b) for d, b in parts])
    seeds["rfc3501-session"] = sc(RFC3501_SESSION)
    seeds["rfc3501-session-show"] = sc(RFC3501_SESSION, 0x00, 0x05)
    seeds["rfc3501-session-small"] = sc(RFC3501_SESSION, 0x3d, 0x04)
    seeds["literals"] = sc(APPEND_SYNC)
    seeds["literals-small-caps"] = sc(APPEND_SYNC, 0xf2, 0x04)
    seeds["sasl-idle"] = sc(SASL)
    seeds["sasl-idle-show"] = sc(SASL, 0x00, 0x05)
    seeds["starttls"] = sc(STARTTLS, 0x00, 0x04)
    seeds["starttls-injection"] = sc(STARTTLS_INJECT)
    seeds["compress"] = sc(compress_session(), 0x00, 0x04)
    seeds["starttls-sni"] = sc(STARTTLS_SNI, 0x00, 0x04)
    seeds["utf8-mailboxes"] = sc(UTF8_NAMES, 0x00, 0x04)
    seeds["many-names"] = sc(many_names(), 0x31)
    seeds["hostile"] = sc(HOSTILE, 0x00, 0x04)
    seeds["hostile-small"] = sc(HOSTILE, 0xff, 0x04)
    # midstream: starts inside a literal, hunts for a plausible line
    seeds["midstream"] = imap_script(0x00, 0x06, [
        chunk(S, b"ld\r\n)\r\n* 3 FETCH (FLAGS (\\Seen))\r\na9 OK done\r\n"),
        chunk(C, b"garbage line\r\na10 NOOP\r\n"),
        chunk(S, b"a10 OK\r\n")])
    # gaps: inside a literal, inside a line, then in a deflate stream
    seeds["gaps"] = imap_script(0x00, 0x04, [
        chunk(S, b"* OK hi\r\n"), chunk(C, b"g1 APPEND INBOX {100+}\r\n0123456789"),
        gap(C, 50), chunk(C, b"x" * 40 + b"\r\n"), chunk(S, b"g1 OK\r\n"),
        chunk(C, b"g2 NOOP"), gap(C, 10), chunk(C, b"\r\ng3 NOOP\r\n"),
        gap(S, 4096), chunk(S, b"g3 OK\r\n"),
        bytes([0x1c | S]) + b"\x00\x10"])
    return seeds

# ---- fuzz_reasm segment lists --------------------------------------------

SYN, ACK, FIN, RST, CUT = 0x08, 0x10, 0x20, 0x40, 0x80


def seg(d, k, flags, dseq=0, dack=0, payload=b"", step=0, missing16=0, oracle=False, n=None,
        x=0, win=0):
    """One fuzz_reasm record; payload is appended unless oracle."""
    ln = len(payload) if n is None else n
    rec = bytes([flags | (k << 1) | d]) + struct.pack(">hbB", dseq, dack, ln) + \
        bytes([(missing16 << 4) | step, x, win])
    return rec + (b"" if oracle else payload)


def handshake(k, oracle=False):
    return [seg(C, k, SYN, oracle=oracle), seg(S, k, SYN | ACK, oracle=oracle),
            seg(C, k, ACK, oracle=oracle)]


def reasm_from_pcap(path, budget=3000):
    """Records from a real capture: each segment cut into 255-byte pieces,
    seq offsets relative to the highest sent, as the harness computes."""
    recs, used = [], 0
    for _, frame, _ in read_pcap(path):
        t = parse_tcp(frame)
        if not t or not (t["sport"] in IMAP_PORTS or t["dport"] in IMAP_PORTS):
            continue
        d = 0 if t["dport"] in IMAP_PORTS else 1
        flags = (SYN if t["flags"] & 2 else 0) | (ACK if t["flags"] & 16 else 0) | \
            (FIN if t["flags"] & 1 else 0) | (RST if t["flags"] & 4 else 0)
        p = t["payload"]
        pieces = [p[i:i + 255] for i in range(0, len(p), 255)] or [b""]
        for j, piece in enumerate(pieces):
            f = flags if j == len(pieces) - 1 else flags & ~(FIN)
            if j:
                f &= ~SYN
            recs.append(seg(d, 0, f, 0, 0, piece, step=1 if j == 0 else 0))
            used += len(piece) + 6
        if used > budget:
            break
    return recs


def reasm_seeds():
    s = {}
    s["sample-login-failed"] = bytes([0xff, 0]) + b"".join(
        reasm_from_pcap(os.path.join(ROOT, "samples", "login-failed.pcap")))
    s["sample-curl-fetch-small"] = bytes([0x50, 0]) + b"".join(
        reasm_from_pcap(os.path.join(ROOT, "samples", "curl-fetch.pcap"), 2000))
    body = bytes(range(65, 65 + 50))
    inorder = handshake(0) + [seg(C, 0, ACK, 0, 0, body[:20]), seg(S, 0, ACK, 0, 0, body),
                              seg(C, 0, ACK, 0, 0, body[20:]), seg(C, 0, FIN | ACK),
                              seg(S, 0, FIN | ACK), seg(C, 0, ACK)]
    s["inorder-fin"] = bytes([0xff, 0]) + b"".join(inorder)
    # reordered: second half first, then the first half, overlap, retransmit
    ooo = handshake(1) + [seg(C, 1, ACK, 20, 0, body[20:40]), seg(C, 1, ACK, -40, 0, body[:20]),
                          seg(C, 1, ACK, -25, 0, body[15:30]), seg(C, 1, ACK, -40, 0, b"X" * 40),
                          seg(S, 1, ACK, 0, 0), seg(C, 1, RST)]
    s["reorder-overlap"] = bytes([0xff, 0]) + b"".join(ooo)
    s["reorder-overlap-smallcaps"] = bytes([0x00, 0]) + b"".join(ooo)
    # a hole acknowledged by the peer becomes a gap; a cut segment
    hole = handshake(2) + [seg(C, 2, ACK, 100, 0, body), seg(S, 2, ACK, 0, 127),
                           seg(C, 2, ACK | CUT, 0, 0, body[:10], missing16=3),
                           seg(C, 2, ACK, 0, 0, body)]
    s["hole-ack-wrap"] = bytes([0xf5, 0]) + b"".join(hole)
    # oracle mode: the same shapes with self-checking payload
    o = [seg(C, 0, SYN, oracle=True), seg(S, 0, SYN | ACK, oracle=True)]
    o += [seg(C, 0, ACK, 60, 0, n=40, oracle=True), seg(C, 0, ACK, -100, 0, n=30, oracle=True),
          seg(C, 0, ACK, -70, 0, n=200, oracle=True), seg(S, 0, ACK, 300, 0, n=100, oracle=True),
          seg(C, 0, ACK, 0, 127, n=10, oracle=True), seg(C, 0, FIN | ACK, oracle=True)]
    s["oracle-reorder"] = bytes([0xfa, 1]) + b"".join(o)
    s["oracle-reorder-smallcaps"] = bytes([0x01, 1]) + b"".join(o)
    # many flows with one slot: eviction; idle timeout; clock going back
    ev = []
    for k in range(4):
        ev += [seg(C, k, ACK, 0, 0, b"a%d NOOP\r\n" % k, step=2),
               seg(S, k, ACK, 0, 0, b"a%d OK\r\n" % k)]
    ev += [seg(C, 0, ACK, 0, 0, b"late\r\n", step=14), seg(C, 1, ACK, 0, 0, b"back\r\n", step=15),
           seg(C, 1, SYN, 5000, 0), seg(C, 1, SYN, 0, 0)]
    s["evict-idle"] = bytes([0x00, 0]) + b"".join(ev)
    s["evict-idle-oracle"] = bytes([0x10, 1]) + b"".join(
        seg(C, k % 4, ACK, 0, 0, n=30, step=k % 16, oracle=True) for k in range(24))
    # more flows than the table's first 64 buckets, roles from content
    s["many-flows-hint"] = bytes([0xff, 3]) + b"".join(
        seg(S if x % 3 == 0 else C, x % 4, ACK, 0, 0, n=8, oracle=True, x=x) for x in range(90))
    # a zero window, then a 1-byte probe the peer acknowledges
    probe = handshake(0) + [seg(S, 0, ACK, 0, 0, b"* OK\r\n", win=1),
                            seg(C, 0, ACK, 0, 0, b"a", win=0), seg(S, 0, ACK, 0, 1, win=1),
                            seg(C, 0, ACK, 0, 0, b"1 NOOP\r\n"), seg(S, 0, ACK, 0, 0, win=3)]
    s["window-probe"] = bytes([0xff, 0]) + b"".join(probe)
    return s

# ---- fuzz_decode frames ---------------------------------------------------

LINKS = ["en10mb", "sll", "sll2", "null", "loop", "loop108", "raw12", "raw12b", "raw14",
         "raw101", "ipv4", "ipv6", "ppp", "ppp_serial", "ieee80211"]


def decode_seeds(public):
    s = {}
    frames = [f for _, f, _ in read_pcap(os.path.join(ROOT, "samples", "login-fetch.pcap"))]
    eth = [f for f in frames if parse_tcp(f) and parse_tcp(f)["payload"]][0]
    syn = frames[0]
    v6 = [f for _, f, _ in read_pcap(public["community-id-ipv6.pcap"])
          if f[12:14] == b"\x86\xdd" and f[20] == 6][0]
    ip4, ip6 = eth[14:], v6[14:]
    idx = {n: i for i, n in enumerate(LINKS)}

    def put(name, link, frame, cut=0):
        s[name] = bytes([idx[link], cut]) + frame
    put("eth-data", "en10mb", eth)
    put("eth-syn", "en10mb", syn)
    put("eth-data-cut", "en10mb", eth[:80], 20)
    put("eth-lies", "en10mb", eth, 255)
    put("eth-vlan-qinq", "en10mb", eth[:12] + b"\x88\xa8\x00\x01\x81\x00\x00\x02" + eth[12:])
    put("eth-ipv6", "en10mb", v6)
    put("sll-ipv4", "sll", b"\x00\x00\x03\x04\x00\x06" + eth[6:12] + b"\x00\x00\x08\x00" + ip4)
    put("sll2-ipv6", "sll2", b"\x86\xdd\x00\x00\x00\x00\x00\x01\x03\x04\x00\x00\x06" +
        b"\x00" * 7 + ip6)
    put("null-ipv4", "null", struct.pack("<I", 2) + ip4)
    put("null-ipv6-be", "null", struct.pack(">I", 30) + ip6)
    put("loop-ipv6", "loop", struct.pack(">I", 24) + ip6)
    put("raw-ipv4", "raw12", ip4)
    put("raw101-ipv6", "raw101", ip6)
    put("ipv4", "ipv4", ip4)
    put("ipv6", "ipv6", ip6)
    put("ppp-hdlc-ipv4", "ppp", b"\xff\x03\x00\x21" + ip4)
    put("ppp-serial-ipv6-pfc", "ppp_serial", b"\x57" + ip6)
    # IPv4 with options (IHL 6) and a fragment
    opt = bytes([0x46]) + ip4[1:2] + struct.pack(">H", len(ip4) + 4) + ip4[4:10] + \
        b"\x00\x00" + ip4[12:20] + b"\x01\x01\x01\x00" + ip4[20:]
    put("ipv4-options", "ipv4", opt)
    put("ipv4-fragment", "ipv4", ip4[:6] + b"\x20\x00" + ip4[8:])
    # IPv6 with hop-by-hop and fragment (atomic) extension headers
    tcp6 = ip6[40:]
    hbh = b"\x2c\x00\x01\x04\x00\x00\x00\x00"  # next: fragment
    frag = b"\x06\x00\x00\x00\x00\x00\x00\x01"  # next: TCP, offset 0, M=0
    ext = ip6[:4] + struct.pack(">H", len(tcp6) + 16) + b"\x00" + ip6[7:40] + hbh + frag + tcp6
    put("ipv6-ext", "ipv6", ext)
    put("ieee80211", "ieee80211", eth)
    # IP reassembly (several frames, fe ed fa ce between them)
    sep = b"\xfe\xed\xfa\xce"
    tcp4 = ip4[(ip4[0] & 15) * 4:]
    src4, dst4 = ip4[12:16], ip4[16:20]

    def v4(payload, proto=6, ident=7, off8=0, mf=False):
        fl = (0x2000 if mf else 0) | off8
        return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, fl, 64,
                           proto, 0, src4, dst4) + payload
    a, b, c = tcp4[:24], tcp4[24:48], tcp4[48:]
    put("frag4-reassembled", "ipv4", v4(a, mf=True) + sep + v4(c, off8=6) + sep +
        v4(b, off8=3, mf=True))
    put("frag4-overlap-conflict", "ipv4", v4(tcp4[:32], mf=True) + sep +
        v4(b"X" * 16 + tcp4[40:], off8=3))
    put("frag4-expire-refuse", "ipv4", sep.join(
        v4(tcp4[:16], ident=i, mf=True) for i in range(10)))

    def v6frag(payload, off8=0, m=False, ident=9):
        fh = struct.pack(">BBHI", 6, 0, (off8 << 3) | (1 if m else 0), ident)
        body = fh + payload
        return ip6[:4] + struct.pack(">H", len(body)) + b"\x2c" + ip6[7:40] + body
    put("frag6-reassembled", "ipv6", v6frag(tcp6[:16], m=True) + sep + v6frag(tcp6[16:], off8=2))
    put("frag6-atomic", "ipv6", v6frag(tcp6))
    # tunnels: IP in IP, GRE (IPv4 and Ethernet), VXLAN
    put("tunnel-ipip", "ipv4", v4(ip4, proto=4))
    put("tunnel-gre-ipv4", "ipv4", v4(b"\x00\x00\x08\x00" + ip4, proto=47))
    put("tunnel-gre-key-eth", "ipv4", v4(b"\x20\x00\x65\x58\x00\x00\x00\x2a" + eth, proto=47))
    vx = b"\x08\x00\x00\x00\x00\x00\x01\x00" + eth
    udp = struct.pack(">HHHH", 54321, 4789, 8 + len(vx), 0) + vx
    put("tunnel-vxlan", "ipv4", v4(udp, proto=17))
    return s

# ---- fuzz_pipeline captures ----------------------------------------------


def cut_pcap(src, n):
    """The first n packets of a classic pcap."""
    with open(src, "rb") as f:
        data = f.read()
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, out = 24, data[:24]
    for _ in range(n):
        if off + 16 > len(data):
            break
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        out += data[off:off + 16 + incl]
        off += 16 + incl
    return out


def with_options(pcap, opt):
    """The same capture with fuzz_pipeline's option bits in sigfigs."""
    return pcap[:12] + bytes([opt, 0, 0, 0]) + pcap[16:]


# Seed name -> path under the directory of public captures.
PUBLIC = {
    "arkime-imap.pcap": "arkime-imap.pcap",
    "arkime-imap-tag.pcap": "arkime-imap-tag.pcap",
    "ndpi-imap.pcap": "ndpi-imap.pcap",
    "zeek-imap-starttls.pcap": "zeek-imap-starttls.pcap",
    "peafowl-imap-ssl.pcapng": "peafowl-imap-ssl.pcapng",
    "community-id-ipv6.pcap": "community-id/ipv6.pcap",
    "community-id-tcp.pcap": "community-id/tcp.pcap",
}


def public_captures(corpus, tmpdir):
    """Copies the public captures to tmpdir (from corpus, or from the
    committed seeds) and returns seed name -> path there."""
    out = {}
    for name, rel in PUBLIC.items():
        src = os.path.join(corpus, rel) if corpus else os.path.join(OUT, "pipeline", name)
        dst = os.path.join(tmpdir, name)
        shutil.copyfile(src, dst)
        out[name] = dst
    return out


def pipeline_seeds(public):
    s = {}
    for name in sample_names():
        with open(os.path.join(ROOT, "samples", name + ".pcap"), "rb") as f:
            s["sample-" + name + ".pcap"] = f.read()
    s["sample-fetch-large-head.pcap"] = cut_pcap(os.path.join(ROOT, "samples", "fetch-large.pcap"), 14)
    s["sample-login-failed.pcap.gz"] = gzip.compress(s["sample-login-failed.pcap"], mtime=0)
    s["sample-login-fetch-small.pcap"] = with_options(s["sample-login-fetch.pcap"], 0x0f)
    s["sample-append-nolit.pcap"] = with_options(s["sample-append.pcap"], 0x10)
    for name, path in public.items():
        with open(path, "rb") as f:
            s[name] = f.read()
    return s


def write(target, seeds):
    d = os.path.join(OUT, target)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%-9s %2d seeds, %6d bytes" % (target, len(seeds), sum(map(len, seeds.values()))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", metavar="DIR",
                    help="copy the public captures again from DIR "
                         "(see fuzz/corpus/README.md)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        public = public_captures(a.corpus, tmp)
        write("imap", imap_seeds())
        write("reasm", reasm_seeds())
        write("decode", decode_seeds(public))
        write("pipeline", pipeline_seeds(public))


if __name__ == "__main__":
    main()
