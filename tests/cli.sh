#!/bin/bash
# Command-line behaviour a user relies on: exit statuses, one-line errors
# naming the file, records kept when a capture is cut off, stdin input,
# -o DIR, and byte-identical output across runs.
set -u
bin=$1 samples=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {	# check NAME EXPECTED-STATUS ACTUAL-STATUS
	if [ "$2" != "$3" ]; then echo "FAIL $1: exit status $3, expected $2"; fail=1; else echo "ok $1"; fi
}
oneline() {	# oneline NAME FILE PATTERN: stderr is one line matching PATTERN
	local n; n=$(wc -l < "$2")
	if [ "$n" != 1 ] || ! grep -q -- "$3" "$2"; then
		echo "FAIL $1: stderr should be one line matching '$3':"; cat "$2"; fail=1
	fi
}

"$bin" -r "$samples/login-fetch.pcap" >/dev/null 2>"$tmp/e"; check "success" 0 $?
[ -s "$tmp/e" ] && { echo "FAIL success: stderr not empty"; cat "$tmp/e"; fail=1; }

"$bin" --no-such-option 2>"$tmp/e"; check "unknown option" 2 $?
oneline "unknown option" "$tmp/e" "no-such-option"

"$bin" 2>"$tmp/e"; check "no input" 2 $?
oneline "no input" "$tmp/e" "no input"

"$bin" -r "$tmp/missing.pcap" 2>"$tmp/e"; check "missing file" 2 $?
oneline "missing file" "$tmp/e" "missing.pcap"

echo "this is not a capture" > "$tmp/text.pcap"
"$bin" -r "$tmp/text.pcap" 2>"$tmp/e"; check "not a capture" 2 $?
oneline "not a capture" "$tmp/e" "text.pcap"

# cut off mid-record: the sessions read so far are still reported
head -c 3000 "$samples/append.pcap" > "$tmp/cut.pcap"
"$bin" -r "$tmp/cut.pcap" --json >"$tmp/cut.json" 2>"$tmp/e"; check "cut-off capture" 1 $?
oneline "cut-off capture" "$tmp/e" "cut.pcap.*byte offset 3000"
grep -q '"dataset":"imap.session"' "$tmp/cut.json" || { echo "FAIL cut-off capture: no session record"; fail=1; }
grep -q '"command":"LOGIN"' "$tmp/cut.json" || { echo "FAIL cut-off capture: LOGIN before the cut not reported"; fail=1; }

# stdin gives the same records as the file
"$bin" -r "$samples/append.pcap" --json > "$tmp/a1"
"$bin" -r - --json < "$samples/append.pcap" > "$tmp/a2"; check "stdin" 0 $?
cmp -s "$tmp/a1" "$tmp/a2" || { echo "FAIL stdin: records differ from the file's"; fail=1; }

# deterministic: byte-identical across runs
"$bin" -r "$samples/append.pcap" --json > "$tmp/a3"
cmp -s "$tmp/a1" "$tmp/a3" || { echo "FAIL determinism: two runs differ"; fail=1; }

# -o DIR: imap.json and one transcript per session, named by session id
"$bin" -r "$samples/login-fetch.pcap" -o "$tmp/out"; check "-o DIR" 0 $?
id=$(grep -o '"session_id":"[0-9a-f]*"' "$tmp/out/imap.json" | head -1 | cut -d'"' -f4)
[ -n "$id" ] && [ -s "$tmp/out/transcripts/$id.txt" ] || { echo "FAIL -o DIR: no transcripts/$id.txt"; fail=1; }
"$bin" -r "$samples/login-fetch.pcap" --color=never > "$tmp/t1"
cmp -s "$tmp/t1" "$tmp/out/transcripts/$id.txt" || { echo "FAIL -o DIR: transcript differs from stdout's"; fail=1; }

# secrets: redacted by default, shown on request
if "$bin" -r "$samples/login-fetch.pcap" | grep -q tanstaaf1; then echo "FAIL redaction: password printed"; fail=1; fi
"$bin" -r "$samples/login-fetch.pcap" --show-secrets | grep -q tanstaaf1 || { echo "FAIL --show-secrets: password not shown"; fail=1; }

[ $fail = 0 ] && echo "all cli checks passed"
exit $fail
