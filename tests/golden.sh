#!/bin/bash
# Golden end-to-end test: runs imapscope on a capture and compares both
# outputs with the reviewed expected files beside it:
#   samples/NAME.pcap -> samples/NAME.transcript (transcript)
#                        samples/NAME.ndjson     (--json)
# With --update, rewrites the expected files instead (review the diff!).
set -u
update=0
if [ "${1:-}" = "--update" ]; then update=1; shift; fi
bin=$1 pcap=$2
base=${pcap%.pcap}
base=${base%.pcapng}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$bin" -r "$pcap" --color=never >"$tmp/transcript" 2>"$tmp/err1"; rc1=$?
"$bin" -r "$pcap" --json >"$tmp/ndjson" 2>"$tmp/err2"; rc2=$?
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
	echo "FAIL $pcap: exit status $rc1/$rc2"; cat "$tmp/err1" "$tmp/err2"; exit 1
fi
if [ $update = 1 ]; then
	cp "$tmp/transcript" "$base.transcript"
	cp "$tmp/ndjson" "$base.ndjson"
	echo "updated $base.transcript $base.ndjson"
	exit 0
fi
fail=0
for k in transcript ndjson; do
	if [ ! -f "$base.$k" ]; then
		echo "FAIL $pcap: no expected $base.$k (make update-golden, then review it)"
		fail=1
	elif ! diff -u "$base.$k" "$tmp/$k"; then
		echo "FAIL $pcap: $k differs from $base.$k"
		fail=1
	fi
done
[ $fail = 0 ] && echo "ok $pcap"
exit $fail
