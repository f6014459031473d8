#!/bin/bash
# Day-to-day use: the progress line on a terminal, --version, the man page,
# bash completion, and what `cmake --install` puts where.
#   usability.sh IMAPSCOPE RECHUNK SAMPLES SOURCE_DIR BUILD_DIR
set -u
bin=$1 rechunk=$2 samples=$3 src=$4 build=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL $*"; fail=1; }

# progress: on a terminal (script(1) gives stderr a pseudo-terminal), a
# progress line appears and is erased; stdout is unchanged by it
"$rechunk" 1 "$samples/fetch-large.pcap" "$tmp/big.pcap" >/dev/null || bad "rechunk"
"$bin" -r "$tmp/big.pcap" --json >"$tmp/plain.json" 2>"$tmp/plain.err"
script -qec "$bin -r $tmp/big.pcap --json >$tmp/tty.json" "$tmp/typescript" >/dev/null
grep -q 'elapsed' "$tmp/typescript" || bad "progress: no progress line on a terminal"
grep -q 'elapsed' "$tmp/plain.err" && bad "progress: shown although stderr is not a terminal"
# the last progress line is erased (CR, erase-line) before the summary
tr '\r' '\n' <"$tmp/typescript" | grep -q '^.\[Kimapscope: 1 capture' ||
	bad "progress: the line is not erased before the summary"
cmp -s "$tmp/plain.json" "$tmp/tty.json" || bad "progress: stdout differs on a terminal"
script -qec "$bin -q -r $tmp/big.pcap --json >/dev/null" "$tmp/quiet" >/dev/null
grep -Eq 'elapsed|sessions:' "$tmp/quiet" && bad "progress: -q still writes to the terminal"

# --version names the libraries it runs with
"$bin" --version >"$tmp/v"
for w in imapscope libpcap json-c zlib; do
	grep -q "$w" "$tmp/v" || bad "--version: no $w"
done

# --help fits a screen of 60 lines and groups the options
"$bin" --help >"$tmp/h"
[ "$(wc -l <"$tmp/h")" -le 60 ] || bad "--help: $(wc -l <"$tmp/h") lines"
for g in Input: Output: "Analysis limits:" "Live capture"; do
	grep -q "^$g" "$tmp/h" || bad "--help: no group $g"
done

# the man page renders without a warning, and names every long option
groff -man -Tascii -ww "$src/docs/imapscope.1" >"$tmp/man.txt" 2>"$tmp/man.err"
[ -s "$tmp/man.err" ] && { bad "man page: groff warnings"; cat "$tmp/man.err"; }
for o in $(grep -o -- '--[a-z][a-z-]*' "$tmp/h" | sort -u); do
	sed 's/.\x08//g' "$tmp/man.txt" | grep -q -- "$o" || bad "man page: $o not documented"
done

# bash completion completes options and their values
out=$(bash -c "source '$src/scripts/imapscope-completion.bash'
	COMP_WORDS=(imapscope --col); COMP_CWORD=1; _imapscope; echo \${COMPREPLY[*]}
	COMP_WORDS=(imapscope --color al); COMP_CWORD=2; _imapscope; echo \${COMPREPLY[*]}")
[ "$out" = $'--color\nalways' ] || bad "completion: got '$out'"

# install: binary, man page, completion, under DESTDIR and the prefix
DESTDIR="$tmp/root" cmake --install "$build" --prefix /opt/isc >/dev/null || bad "cmake --install"
for f in bin/imapscope share/man/man1/imapscope.1 \
	 share/bash-completion/completions/imapscope share/doc/imapscope/json.md; do
	[ -f "$tmp/root/opt/isc/$f" ] || bad "install: no $f"
done

[ $fail = 0 ] && echo "all usability checks passed"
exit $fail
