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

"$bin" -q -r "$samples/login-fetch.pcap" >/dev/null 2>"$tmp/e"; check "success" 0 $?
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
"$bin" -q -r "$tmp/cut.pcap" --json >"$tmp/cut.json" 2>"$tmp/e"; check "cut-off capture" 1 $?
oneline "cut-off capture" "$tmp/e" "cut.pcap.*byte offset 3000"
grep -q '"dataset":"imap.session"' "$tmp/cut.json" || { echo "FAIL cut-off capture: no session record"; fail=1; }
grep -q '"command":"LOGIN"' "$tmp/cut.json" || { echo "FAIL cut-off capture: LOGIN before the cut not reported"; fail=1; }

# stdin gives the same records as the file
"$bin" -q -r "$samples/append.pcap" --json > "$tmp/a1"
"$bin" -q -r - --json < "$samples/append.pcap" > "$tmp/a2"; check "stdin" 0 $?
cmp -s "$tmp/a1" "$tmp/a2" || { echo "FAIL stdin: records differ from the file's"; fail=1; }

# deterministic: byte-identical across runs
"$bin" -q -r "$samples/append.pcap" --json > "$tmp/a3"
cmp -s "$tmp/a1" "$tmp/a3" || { echo "FAIL determinism: two runs differ"; fail=1; }

# -o DIR: imap.json and one transcript per session, named by session id
"$bin" -q -r "$samples/login-fetch.pcap" -o "$tmp/out"; check "-o DIR" 0 $?
id=$(grep -o '"session_id":"[0-9a-f]*"' "$tmp/out/imap.json" | head -1 | cut -d'"' -f4)
[ -n "$id" ] && [ -s "$tmp/out/transcripts/$id.txt" ] || { echo "FAIL -o DIR: no transcripts/$id.txt"; fail=1; }
"$bin" -q -r "$samples/login-fetch.pcap" --color=never > "$tmp/t1"
cmp -s "$tmp/t1" "$tmp/out/transcripts/$id.txt" || { echo "FAIL -o DIR: transcript differs from stdout's"; fail=1; }

# secrets: redacted by default, shown on request
if "$bin" -q -r "$samples/login-fetch.pcap" | grep -q tanstaaf1; then echo "FAIL redaction: password printed"; fail=1; fi
"$bin" -q -r "$samples/login-fetch.pcap" --show-secrets | grep -q tanstaaf1 || { echo "FAIL --show-secrets: password not shown"; fail=1; }

# a capture split into rotated files, some gzip-compressed, read as a
# directory, gives the same records as the whole file
/usr/bin/python3 - "$samples/idle.pcap" "$tmp/rot" <<'PY'
import gzip, os, struct, sys
data = open(sys.argv[1], "rb").read()
os.mkdir(sys.argv[2])
hdr, off, recs = data[:24], 24, []
while off < len(data):
    n = struct.unpack("<I", data[off + 8:off + 12])[0]
    recs.append(data[off:off + 16 + n])
    off += 16 + n
for i in range(0, len(recs), 15):
    body = hdr + b"".join(recs[i:i + 15])
    name = os.path.join(sys.argv[2], "part%02d.pcap" % (i // 15))
    if (i // 15) % 2:
        with gzip.open(name + ".gz", "wb") as f:
            f.write(body)
    else:
        open(name, "wb").write(body)
PY
"$bin" -q -r "$samples/idle.pcap" --json | grep -v imapscope.stats >"$tmp/whole"
"$bin" -q -r "$tmp/rot" --json | grep -v imapscope.stats >"$tmp/parts"; check "rotated .gz directory" 0 $?
cmp -s "$tmp/whole" "$tmp/parts" || { echo "FAIL rotated files: records differ from the whole capture's"; fail=1; }
[ "$(ls "$tmp/rot" | grep -c gz)" -ge 1 ] || { echo "FAIL rotated files: no .gz part"; fail=1; }

# the run summary goes to stderr, not stdout, and -q silences it
"$bin" -r "$samples/login-fetch.pcap" --json >"$tmp/j" 2>"$tmp/e"
grep -q "sessions: 1 (1 complete, 0 closed idle or evicted, 0 open at the end" "$tmp/e" || { echo "FAIL summary: not on stderr"; cat "$tmp/e"; fail=1; }
cmp -s "$tmp/j" "$tmp/a1" 2>/dev/null || true
"$bin" -q -r "$samples/login-fetch.pcap" --json >"$tmp/j2" 2>"$tmp/e"
[ -s "$tmp/e" ] && { echo "FAIL -q: stderr not empty"; fail=1; }
cmp -s "$tmp/j" "$tmp/j2" || { echo "FAIL summary: stdout changed by -q"; fail=1; }

# filters: the analysis sees everything, the output shows the matching sessions
n() { grep -c '"dataset":"imap.session"' "$1"; }
"$bin" -q -r "$samples/idle.pcap" --json >"$tmp/all"
"$bin" -q -r "$samples/auth-login.pcap" -r "$samples/idle.pcap" --user ada --json >"$tmp/ada"
[ "$(n "$tmp/all")" = 2 ] && [ "$(n "$tmp/ada")" = 1 ] || { echo "FAIL --user: $(n "$tmp/ada") sessions"; fail=1; }
grep -q '"command":"CAPABILITY"' "$tmp/ada" || { echo "FAIL --user: records before the login not kept"; fail=1; }
grep '"dataset":"imap.session"' "$tmp/ada" | grep -q '"name":"ada"' || { echo "FAIL --user: wrong session"; fail=1; }
sid=$(grep '"dataset":"imap.session"' "$tmp/all" | head -1 | grep -o '"session_id":"[0-9a-f]*"' | cut -d'"' -f4)
"$bin" -q -r "$samples/idle.pcap" --session "$sid" --json >"$tmp/one"
[ "$(n "$tmp/one")" = 1 ] && ! grep -v "$sid" "$tmp/one" | grep -q '"dataset":"imap.command"' ||
	{ echo "FAIL --session"; fail=1; }
"$bin" -q -r "$samples/ipv6.pcap" --host ::1 --json >"$tmp/h6"
"$bin" -q -r "$samples/ipv6.pcap" --host 192.0.2.1 --json >"$tmp/h4"
[ "$(n "$tmp/h6")" = 1 ] && [ "$(n "$tmp/h4")" = 0 ] || { echo "FAIL --host"; fail=1; }
grep -q '"sessions":1' "$tmp/h4" || { echo "FAIL --host: the stats record should still count the session"; fail=1; }
"$bin" -r "$samples/ipv6.pcap" --host nonsense 2>"$tmp/e"; check "--host not an address" 2 $?

[ $fail = 0 ] && echo "all cli checks passed"
exit $fail
