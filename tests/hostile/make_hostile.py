#!/usr/bin/python3
"""Writes the hostile captures of the test suite into a directory.

    make_hostile.py DIR

Each capture is one IMAP connection on port 143 (Ethernet, IPv4, TCP, with
a handshake), built here byte by byte so that nothing but this file decides
what is on the wire. The cases are the ones a sensor must survive: sizes
that overflow, lines without end, nesting without end, bytes that do not
belong in IMAP, protocol out of order, and TCP overlaps that rewrite a
command. Prints the names it wrote.
"""
import os
import struct
import sys

MSS = 1448


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Capture:
    """One TCP connection 10.1.0.1:40000 -> 10.1.0.2:143 in a pcap file."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.t = 1_700_000_000_000_000  # microseconds
        self.seq = {"C": 1000, "S": 5000}
        self.frame("C", b"", 0x02)                # SYN
        self.seq["C"] += 1
        self.frame("S", b"", 0x12)                # SYN+ACK
        self.seq["S"] += 1
        self.frame("C", b"", 0x10)

    def frame(self, who, payload, flags=0x18, seq=None):
        src, dst = (b"\x0a\x01\x00\x01", b"\x0a\x01\x00\x02")
        sport, dport = 40000, 143
        peer = "S" if who == "C" else "C"
        if who == "S":
            src, dst, sport, dport = dst, src, dport, sport
        s = self.seq[who] if seq is None else seq
        tcp = struct.pack("!HHIIBBHHH", sport, dport, s & 0xFFFFFFFF,
                          self.seq[peer] & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload),
                         1, 0, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
        pkt = eth + ip + tcp + payload
        self.t += 100
        self.f.write(struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000,
                                 len(pkt), len(pkt)))
        self.f.write(pkt)

    def send(self, who, data):
        """Sends data in MSS-sized segments, in order."""
        for i in range(0, len(data), MSS):
            self.frame(who, data[i:i + MSS])
            self.seq[who] += len(data[i:i + MSS])

    def close(self):
        self.frame("C", b"", 0x11)
        self.seq["C"] += 1
        self.frame("S", b"", 0x11)
        self.seq["S"] += 1
        self.frame("C", b"", 0x10)
        self.f.close()


GREETING = b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hostile test server ready\r\n"


def case(directory, name, fn):
    c = Capture(os.path.join(directory, name + ".pcap"))
    fn(c)
    c.close()
    print(name)


def literal_u64_max(c):
    c.send("S", GREETING)
    c.send("C", b"a1 APPEND INBOX {18446744073709551615}\r\n")
    c.send("S", b"a1 BAD literal too big\r\n")
    c.send("C", b"a2 APPEND INBOX {99999999999999999999999}\r\n")
    c.send("S", b"a2 BAD literal too big\r\n")
    c.send("C", b"a3 LOGOUT\r\n")
    c.send("S", b"* BYE\r\na3 OK\r\n")


def line_100mb(c):
    c.send("S", GREETING)
    chunk = b"A" * (1 << 20)
    for _ in range(100):
        c.send("C", chunk)
    c.send("C", b"\r\na2 NOOP\r\n")
    c.send("S", b"a2 OK still here\r\n")


def nested_parens(c):
    c.send("S", GREETING)
    c.send("C", b"a1 SEARCH " + b"(" * 100000 + b")" * 100000 + b"\r\n")
    c.send("S", b"a1 BAD too deep\r\n")
    c.send("C", b"a2 NOOP\r\n")
    c.send("S", b"a2 OK\r\n")


def nul_and_8bit(c):
    c.send("S", GREETING)
    c.send("C", b"a1 LOGIN \x00root\x00 \xff\xfe\x1b[2J\r\n")
    c.send("S", b"a1 NO \x1b]0;owned\x07 bad \xc3\x28\r\n")
    c.send("C", b"a2 NOOP\r\n")
    c.send("S", b"a2 OK\r\n")


def tag_10kb(c):
    c.send("S", GREETING)
    tag = b"T" * 10240
    c.send("C", tag + b" NOOP\r\n")
    c.send("S", tag + b" OK\r\n")


def unasked_literal(c):
    c.send("S", GREETING)
    c.send("C", b"a1 NOOP\r\n")
    c.send("S", b"* 1 FETCH (BODY[] {12}\r\nhello world!)\r\na1 OK\r\n")


def plus_without_command(c):
    c.send("S", GREETING + b"+ nobody asked\r\n+\r\n")
    c.send("C", b"a1 NOOP\r\n")
    c.send("S", b"a1 OK\r\n")


def commands_before_greeting(c):
    c.send("C", b"a1 LOGIN mrc secret\r\n")
    c.send("S", GREETING + b"a1 OK\r\n")


def overlap_rewrite(c):
    """The client's bytes "a1 LOGIN alice password" are sent, then a
    retransmission of the same range says "a1 LOGIN mallory passwd!!":
    a receiver keeps the first copy; so must the analyzer, and say so."""
    c.send("S", GREETING)
    first = b"a1 LOGIN alice password\r\n"
    other = b"a1 LOGIN mallory passwd\r\n"
    assert len(first) == len(other)
    s = c.seq["C"]
    c.frame("C", first, seq=s)
    c.frame("C", other, seq=s)
    c.seq["C"] += len(first)
    c.send("S", b"a1 OK\r\n")


CASES = [
    ("literal-u64-max", literal_u64_max),
    ("line-100mb", line_100mb),
    ("nested-parens", nested_parens),
    ("nul-and-8bit", nul_and_8bit),
    ("tag-10kb", tag_10kb),
    ("unasked-literal", unasked_literal),
    ("plus-without-command", plus_without_command),
    ("commands-before-greeting", commands_before_greeting),
    ("overlap-rewrite", overlap_rewrite),
]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    for name, fn in CASES:
        case(argv[1], name, fn)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
