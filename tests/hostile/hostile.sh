#!/bin/bash
# Hostile captures (tests/hostile/make_hostile.py writes them at test time):
# each must be analyzed to its end with exit status 0, give the anomaly it
# deserves in the session record, keep every record valid against the
# schema, and stay under a memory cap.
#   hostile.sh IMAPSCOPE SOURCE_DIR SANITIZED(0|1)
set -u
bin=$1 src=$2 sanitized=${3:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CAP_KIB=$((48 * 1024))	# default limits: 64 KiB lines, nothing held long
fail=0
/usr/bin/python3 "$src/tests/hostile/make_hostile.py" "$tmp" >/dev/null || { echo "FAIL: generator"; exit 1; }

# expect NAME JSON-FRAGMENT...: every fragment is in the session record
expect() {
	local name=$1; shift
	local pcap="$tmp/$name.pcap" out="$tmp/$name.json"
	local res
	res=$(/usr/bin/python3 "$src/tests/reasm/peakrss.py" "$out" "$tmp/$name.err" -- \
		"$bin" -q -r "$pcap" --json)
	local rc=$?
	if [ $rc != 0 ]; then echo "FAIL $name: exit status $rc"; cat "$tmp/$name.err"; fail=1; return; fi
	local kib=${res#peak_rss_kib=}; kib=${kib%% *}
	if [ "$sanitized" = 0 ] && [ "$kib" -gt $CAP_KIB ]; then
		echo "FAIL $name: peak RSS $kib KiB over $CAP_KIB KiB"; fail=1
	fi
	local sess; sess=$(grep '"dataset":"imap.session"' "$out")
	for frag in "$@"; do
		grep -qF -- "$frag" <<<"$sess" || { echo "FAIL $name: no $frag in $sess" | cut -c1-400; fail=1; }
	done
	/usr/bin/python3 "$src/tests/schema.py" "$bin" "$src/docs/imapscope.schema.json" \
		"$pcap" >"$tmp/$name.schema" 2>&1 || { echo "FAIL $name: schema"; cat "$tmp/$name.schema"; fail=1; }
	echo "ok $name (peak RSS $kib KiB)"
}

expect literal-u64-max '"literal_size_overflow"' '"commands":{"total":3'
expect line-100mb '"line_too_long"' '"NOOP":1'
expect nested-parens '"nesting_too_deep"' '"NOOP":1'
expect nul-and-8bit '"nul_in_line"' '"failures":1'
expect tag-10kb '"tag_too_long"' '"total":1'
expect unasked-literal '"unsolicited_literal"'
expect plus-without-command '"continuation_without_command"'
expect commands-before-greeting '"command_before_greeting"'
expect overlap-rewrite '"client":{"retransmitted":1,"out_of_order":0,"overlaps":0,"inconsistent":1}' '"name":"alice"'

# and the transcript of the rewrite shows what the server received
"$bin" -q -r "$tmp/overlap-rewrite.pcap" >"$tmp/t" && grep -q "LOGIN alice" "$tmp/t" &&
	! grep -q mallory "$tmp/t" || { echo "FAIL overlap-rewrite: transcript"; fail=1; }

[ $fail = 0 ] && echo "all hostile captures passed"
exit $fail
