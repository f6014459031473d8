#!/bin/bash
# Reassembly memory bounds, measured on generated captures (written at test
# time into a temporary directory by tests/tools/mangle, never committed):
#
#   syn-flood  1,000,000 flows of one SYN each, read with --max-flows 10000:
#              peak RSS stays under SYN_RSS_KIB, the --stats counters show
#              990,000 evictions and a peak of 10,000 open flows; and
#              100,000 of them with --max-flows 1000 --json give a stats
#              record with flows.evicted 99,000.
#   hole       4 connections, each answering a FETCH with a 16 MB literal of
#              which the first segment, and one in every 50 after it, was
#              never captured, with ACKs that never pass the first hole:
#              held data that can only leave as gaps. With --max-ooo 256 KiB
#              and --memcap 1 MiB peak RSS stays under HOLE_RSS_KIB and
#              every session reports its server gaps; the same capture with
#              bounds larger than its data peaks above 64 MiB, which shows
#              the bounds are what keeps the first run small.
#
# Peak RSS is the child's own ru_maxrss (tests/reasm/peakrss.py, wait4).
# Under AddressSanitizer RSS says nothing about our allocations (shadow
# memory, quarantine), so with SANITIZED=1 the RSS limits are reported but
# not enforced, and the floods are 200,000 and 20,000 SYNs to keep the run
# short.
#
#   memory.sh IMAPSCOPE MANGLE SANITIZED {syn-flood|hole}
set -u
if [ $# -ne 4 ]; then
	echo "usage: $0 IMAPSCOPE MANGLE SANITIZED {syn-flood|hole}" >&2
	exit 2
fi
bin=$1 mangle=$2 sanitized=$3 which=$4
here=$(cd "$(dirname "$0")" && pwd)
peakrss="/usr/bin/python3 $here/peakrss.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Measured on x86-64, glibc 2.36, RelWithDebInfo (docs/reassembly.md):
# the flood peaks at about 85 MiB (10,000 open sessions at about 8 KiB
# each, 640 bytes of it reassembly), the hole at about 8.4 MiB.
SYN_RSS_KIB=$((160 * 1024))
HOLE_RSS_KIB=$((16 * 1024))

fail=0
# rss_check WHAT LINE LIMIT: LINE is peakrss.py's output
rss_check() {
	local what=$1 line=$2 limit=$3 rss
	rss=$(echo "$line" | sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p')
	if ! echo "$line" | grep -q 'status=0 '; then
		echo "FAIL $what: $line"
		fail=1
	elif [ "$sanitized" = 1 ]; then
		echo "$what: peak RSS ${rss} KiB (sanitized build: limit ${limit} KiB not enforced)"
	elif [ "$rss" -gt "$limit" ]; then
		echo "FAIL $what: peak RSS ${rss} KiB over ${limit} KiB"
		fail=1
	else
		echo "$what: peak RSS ${rss} KiB (limit ${limit} KiB)"
	fi
}

# stat FILE GROUP FIELD: a counter of the stats record in FILE
stat() {
	/usr/bin/python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event"]["dataset"] == "imapscope.stats":
        print(r["imapscope"][sys.argv[2]][sys.argv[3]])' "$1" "$2" "$3"
}

# expect WHAT GOT WANT
expect() {
	if [ "$2" != "$3" ]; then
		echo "FAIL $1: $2, expected $3"
		fail=1
	fi
}

syn_flood() {
	local n=1000000 nj=100000 line
	if [ "$sanitized" = 1 ]; then
		n=200000
		nj=20000
	fi
	"$mangle" -S $n "$tmp/syns.pcap" 2>/dev/null || { echo "FAIL: mangle -S"; exit 1; }
	line=$($peakrss /dev/null "$tmp/flood.err" -- "$bin" -r "$tmp/syns.pcap" \
		--max-flows 10000 --color=never --stats)
	rss_check "$n SYN-only flows, --max-flows 10000" "$line" $SYN_RSS_KIB
	# "flows: total 1000000 evicted 990000 open_peak 10000" (--stats
	# prints the non-zero counters of each group)
	expect "flows line" "$(grep '^flows:' "$tmp/flood.err")" \
		"flows: total $n evicted $((n - 10000)) open_peak 10000"
	# the same bound seen in the NDJSON stats record (smaller: JSON
	# records cost 25 us each)
	"$mangle" -S $nj "$tmp/syns-json.pcap" 2>/dev/null || { echo "FAIL: mangle -S"; exit 1; }
	"$bin" -r "$tmp/syns-json.pcap" --max-flows 1000 --json >"$tmp/flood.ndjson" ||
		{ echo "FAIL: imapscope --json"; fail=1; }
	expect "flows.total" "$(stat "$tmp/flood.ndjson" flows total)" $nj
	expect "flows.evicted" "$(stat "$tmp/flood.ndjson" flows evicted)" $((nj - 1000))
	expect "flows.open_peak" "$(stat "$tmp/flood.ndjson" flows open_peak)" 1000
	expect "evicted sessions" "$(grep -c '"end_reason":"evicted"' "$tmp/flood.ndjson")" $((nj - 1000))
}

hole() {
	local line
	"$mangle" -s 1 -H 4:16000000:50 "$tmp/hole.pcap" 2>/dev/null || { echo "FAIL: mangle -H"; exit 1; }
	line=$($peakrss "$tmp/hole.ndjson" "$tmp/hole.err" -- "$bin" -r "$tmp/hole.pcap" \
		--json --max-ooo 262144 --memcap 1048576)
	rss_check "64 MB held behind holes, --max-ooo 256 KiB --memcap 1 MiB" "$line" $HOLE_RSS_KIB
	# 16,000,000 bytes in 11,050 segments: 221 never captured in each
	expect "reassembly.gaps" "$(stat "$tmp/hole.ndjson" reassembly gaps)" 884
	expect "reassembly.gap_bytes" "$(stat "$tmp/hole.ndjson" reassembly gap_bytes)" 1280032
	expect "sessions with 221 server gaps" "$(grep -c '"server":{"count":221,"bytes":320008}' "$tmp/hole.ndjson")" 4
	# the control: bounds above the data, so it is all held
	line=$($peakrss /dev/null /dev/null -- "$bin" -r "$tmp/hole.pcap" --json \
		--max-ooo 67108864 --memcap 268435456)
	local rss
	rss=$(echo "$line" | sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p')
	echo "control, --max-ooo 64 MiB --memcap 256 MiB: peak RSS ${rss} KiB"
	if [ "$sanitized" != 1 ] && [ "${rss:-0}" -lt $((64 * 1024)) ]; then
		echo "FAIL control: ${rss} KiB; the capture should hold over 64 MiB"
		fail=1
	fi
}

case $which in
syn-flood) syn_flood ;;
hole) hole ;;
*) echo "usage: $0 IMAPSCOPE MANGLE SANITIZED {syn-flood|hole}" >&2; exit 2 ;;
esac
[ $fail = 0 ] && echo "ok memory $which"
exit $fail
