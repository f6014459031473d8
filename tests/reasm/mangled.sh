#!/bin/bash
# Reassembly on a bad network: what the capture says must not depend on
# the order segments arrived in, or on how often. For one capture, with
# tests/tools/mangle and two seeds each, checks that
#   - reordered (shuffled within runs of 8 data segments),
#   - duplicated (30% of data segments), and
#   - reordered and duplicated with different bytes in the copies (first
#     data wins: the copies must change nothing)
# versions give the same transcript and the same NDJSON records, byte for
# byte, as the clean capture (bar the imapscope.stats record, which counts
# packets). With --lossy FROM:TO it also drops 10% of the server's data
# segments lying inside server stream offsets [FROM, TO) (pick a big
# literal) and checks that the records are the same apart from gap and
# byte counts, and that the gaps are reported (tests/reasm/ndjson_cmp.py).
#
#   mangled.sh IMAPSCOPE MANGLE PCAP [--lossy FROM:TO]
set -u
if [ $# -ne 3 ] && { [ $# -ne 5 ] || [ "$4" != --lossy ]; }; then
	echo "usage: $0 IMAPSCOPE MANGLE PCAP [--lossy FROM:TO]" >&2
	exit 2
fi
bin=$1 mangle=$2 pcap=$3 lossy=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
cmp_py="/usr/bin/python3 $here/ndjson_cmp.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME FILE: $tmp/NAME.txt (transcript), $tmp/NAME.ndjson (all
# records), $tmp/NAME.rc (exit statuses)
run() {
	local name=$1 file=$2 rc1 rc2
	"$bin" -r "$file" --color=never >"$tmp/$name.txt" 2>"$tmp/$name.err1"
	rc1=$?
	"$bin" -r "$file" --json >"$tmp/$name.ndjson" 2>"$tmp/$name.err2"
	rc2=$?
	echo "$rc1 $rc2" >"$tmp/$name.rc"
}

# stat NAME GROUP FIELD: a counter of NAME's stats record
stat() {
	/usr/bin/python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event"]["dataset"] == "imapscope.stats":
        print(r["imapscope"][sys.argv[2]][sys.argv[3]])' "$tmp/$1.ndjson" "$2" "$3"
}

run clean "$pcap"
if [ "$(cat "$tmp/clean.rc")" != "0 0" ]; then
	echo "FAIL $pcap: exit status $(cat "$tmp/clean.rc") on the clean capture"
	cat "$tmp/clean.err1" "$tmp/clean.err2"
	exit 1
fi

fail=0
summary=""
# check NAME MODE: compares NAME with the clean run
check() {
	local name=$1 mode=$2 what
	what="$pcap $name ($(sed 's/^mangle: //' "$tmp/$name.mangle"))"
	if [ "$(cat "$tmp/$name.rc")" != "0 0" ]; then
		echo "FAIL $what: exit status $(cat "$tmp/$name.rc")"
		head -n 20 "$tmp/$name.err1" "$tmp/$name.err2"
		fail=1
		return
	fi
	if [ "$mode" = exact ] && ! cmp -s "$tmp/clean.txt" "$tmp/$name.txt"; then
		echo "FAIL $what: the transcript differs"
		diff -u --label clean --label "$name" "$tmp/clean.txt" "$tmp/$name.txt" | head -n 40
		fail=1
	fi
	if ! $cmp_py "$mode" "$tmp/clean.ndjson" "$tmp/$name.ndjson"; then
		echo "FAIL $what: the NDJSON differs"
		fail=1
	fi
	summary="$summary $name:ooo=$(stat "$name" reassembly out_of_order),rexmit=$(stat "$name" reassembly retransmitted),incons=$(stat "$name" reassembly inconsistent),gaps=$(stat "$name" reassembly gaps)"
}

# mangled NAME MODE ARGS...: mangles the capture with ARGS, runs, checks
mangled() {
	local name=$1 mode=$2
	shift 2
	if ! "$mangle" "$@" "$pcap" "$tmp/$name.pcap" 2>"$tmp/$name.mangle"; then
		echo "FAIL $pcap: mangle $* failed"
		cat "$tmp/$name.mangle"
		fail=1
		return
	fi
	run "$name" "$tmp/$name.pcap"
	check "$name" "$mode"
}

for seed in 1 2; do
	mangled "reorder$seed" exact -s $seed -r 8
	mangled "dup$seed" exact -s $seed -d 30
	mangled "dupdiff$seed" exact -s $seed -r 8 -d 40 -x
done

# Some mangling must have happened, or the test proves nothing: every
# capture has data segments to duplicate; reordering needs two data
# segments in a row from one side, which interactive sessions may lack.
moved=$(cat "$tmp"/reorder*.mangle "$tmp"/dupdiff*.mangle | sed -n 's/.* read, \([0-9]*\) moved.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
dups=$(cat "$tmp"/dup*.mangle | sed -n 's/.* moved, \([0-9]*\) duplicated.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
if [ "${dups:-0}" -eq 0 ]; then
	echo "FAIL $pcap: mangle duplicated nothing"
	fail=1
fi

if [ -n "$lossy" ]; then
	for seed in 1 2; do
		mangled "loss$seed" lossy -s $seed -l 10 -L "$lossy"
		if ! grep -q ' [1-9][0-9]* dropped' "$tmp/loss$seed.mangle"; then
			echo "FAIL $pcap: mangle dropped nothing in $lossy"
			fail=1
		fi
	done
fi

[ $fail = 0 ] && echo "ok $pcap: same records (moved $moved, duplicated $dups):$summary"
exit $fail
