#!/bin/bash
# Segmentation test: where the sender's TCP segments end must not change
# what imapscope reports. Re-cuts a capture with tests/tools/rechunk into
# 1-byte segments and into random-size segments (two seeds), then checks
# that each version gives
#   - the same transcript as the original, byte for byte, and
#   - the same NDJSON, except the imapscope.stats record and each session's
#     imap.tcp counters (they count packets).
#
#   rechunk.sh IMAPSCOPE RECHUNK PCAP
set -u
if [ $# -ne 3 ]; then
	echo "usage: $0 IMAPSCOPE RECHUNK PCAP" >&2
	exit 2
fi
bin=$1 rechunk=$2 pcap=$3
modes="1 random:1 random:20240229"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME FILE: transcript and NDJSON of FILE into $tmp/NAME.{txt,ndjson};
# the exit statuses into $tmp/NAME.rc
run() {
	local name=$1 file=$2 rc1 rc2
	"$bin" -q -r "$file" --color=never >"$tmp/$name.txt" 2>"$tmp/$name.err1"
	rc1=$?
	"$bin" -q -r "$file" --json >"$tmp/$name.json.all" 2>"$tmp/$name.err2"
	rc2=$?
	echo "$rc1 $rc2" >"$tmp/$name.rc"
	# the stats record counts packets, and a session's imap.tcp counts its
	# segments: both describe the packets, not the conversation
	grep -v '"dataset":"imapscope.stats"' "$tmp/$name.json.all" |
		sed -e 's/,"tcp":{"client":{[^}]*},"server":{[^}]*}}//' >"$tmp/$name.ndjson"
}

run orig "$pcap"
if [ "$(cat "$tmp/orig.rc")" != "0 0" ]; then
	echo "FAIL $pcap: imapscope exit status $(cat "$tmp/orig.rc") on the original"
	cat "$tmp/orig.err1" "$tmp/orig.err2"
	exit 1
fi
if [ ! -s "$tmp/orig.ndjson" ] || [ ! -s "$tmp/orig.txt" ]; then
	echo "FAIL $pcap: no records or no transcript from the original"
	exit 1
fi

fail=0
i=0
for mode in $modes; do
	i=$((i + 1))
	name=v$i
	if ! "$rechunk" "$mode" "$pcap" "$tmp/$name.pcap" 2>"$tmp/$name.rechunk"; then
		echo "FAIL $pcap: rechunk $mode failed"
		cat "$tmp/$name.rechunk"
		fail=1
		continue
	fi
	# "rechunk: N packets read, S split, W written": a run that split
	# nothing would make this test pass for nothing
	split=$(sed -n 's/.* read, \([0-9]*\) split.*/\1/p' "$tmp/$name.rechunk")
	if [ -z "$split" ] || [ "$split" -eq 0 ]; then
		echo "FAIL $pcap: rechunk $mode split no segment"
		cat "$tmp/$name.rechunk"
		fail=1
		continue
	fi
	run "$name" "$tmp/$name.pcap"
	what="$pcap rechunked ($mode: $(sed 's/^rechunk: //' "$tmp/$name.rechunk"))"
	if [ "$(cat "$tmp/$name.rc")" != "0 0" ]; then
		echo "FAIL $what: imapscope exit status $(cat "$tmp/$name.rc")"
		head -n 20 "$tmp/$name.err1" "$tmp/$name.err2"
		fail=1
	fi
	if ! cmp -s "$tmp/orig.txt" "$tmp/$name.txt"; then
		echo "FAIL $what: the transcript differs"
		diff -u --label original --label rechunked "$tmp/orig.txt" "$tmp/$name.txt" | head -n 40
		fail=1
	fi
	if ! cmp -s "$tmp/orig.ndjson" "$tmp/$name.ndjson"; then
		echo "FAIL $what: the NDJSON differs"
		diff -u --label original --label rechunked "$tmp/orig.ndjson" "$tmp/$name.ndjson" | head -n 40
		fail=1
	fi
done
[ $fail = 0 ] && echo "ok $pcap: same output with $modes"
exit $fail
