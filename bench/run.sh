#!/usr/bin/env bash
# bench/run.sh: imapscope throughput and memory benchmark (`make bench`).
#
# Builds imapscope (Release, in build-bench/) and the bench tools (gen,
# baseline, in build-bench/bench/), generates one capture per profile with
# bench/gen (kept in bench/data/ and reused while gen.c and its arguments
# stay the same), warms the page cache, then for every profile runs RUNS
# rounds of, back to back:
#   baseline F                         bare libpcap read loop
#   imapscope -r F --json >/dev/null   NDJSON
#   imapscope -r F -o TMPDIR           transcripts (TMPDIR deleted after)
#   imapscope -r F --json --ports 1    reading and decoding only: no
#                                      packet is on port 1
#   imapscope -r F --json --session none
#                                      all but the records: no session
#                                      has that id
# and prints wall-clock throughput and peak RSS (from /usr/bin/time),
# and how the time of the --json run splits into those stages.
# With tshark installed it also times tshark on a 10 MB prefix, and it
# compares imapscope's RSS on a 100 MB prefix with the whole file.
#
# Environment:
#   PROFILES="mixed small many-flows"  profiles to run
#   SCALE=1        multiplies every size (SCALE=0.02 for a quick check)
#   RUNS=3         rounds per profile
#   SEED=1         generator seed
#   DATA=bench/data    where captures and results go
#   OUTDIR=        where the -o runs write (default /dev/shm when it has
#                  8 GB free, else $DATA)
#   BUILD=build-bench  build tree of imapscope (tools in $BUILD/bench)
#   JOBS=2         parallel build jobs
#   KEEP_OUTPUT=1  keep the -o directories (under $DATA/out.*)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
BUILD=${BUILD:-$ROOT/build-bench}
DATA=${DATA:-$BENCH/data}
PROFILES=${PROFILES:-"mixed small many-flows"}
SCALE=${SCALE:-1}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
JOBS=${JOBS:-2}
KEEP_OUTPUT=${KEEP_OUTPUT:-0}

IMAPSCOPE=$BUILD/imapscope
GEN=$BUILD/bench/gen
BASELINE=$BUILD/bench/baseline
TIME=/usr/bin/time

log() { printf '== %s\n' "$*" >&2; }
warn() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
awk -v s="$SCALE" 'BEGIN { exit !(s + 0 > 0) }' || die "SCALE must be > 0"
for p in $PROFILES; do
    case $p in mixed|small|many-flows) ;; *) die "unknown profile '$p'";; esac
done

# ------------------------------------------------------------------ tools
if [[ ! -x $TIME ]]; then
    SUDO=
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    log "installing GNU time"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null ||
        die "cannot install package 'time' (/usr/bin/time is needed)"
fi

log "building imapscope (Release) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target imapscope >/dev/null
REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')
log "building gen and baseline in $BUILD/bench"
cmake -S "$BENCH" -B "$BUILD/bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD/bench" -j"$JOBS" >/dev/null

mkdir -p "$DATA"
GEN_HASH=$(sha256sum "$BENCH/gen.c" | cut -d' ' -f1)
LOGDIR=$DATA/logs
mkdir -p "$LOGDIR"

# The -o runs write to tmpfs when there is room, so that they measure
# imapscope rather than the disk, and removing a million transcripts of
# many-flows takes seconds, not many minutes.
if [[ -z ${OUTDIR:-} ]]; then
    OUTDIR=$DATA
    if [[ -d /dev/shm && -w /dev/shm ]] &&
       (($(df -Pk /dev/shm | awk 'NR == 2 { print $4 }') > 8 * 1024 * 1024)); then
        OUTDIR=/dev/shm
    fi
fi
OUT=
trap '[[ -z $OUT || $KEEP_OUTPUT == 1 ]] || rm -rf "$OUT"' EXIT

# ------------------------------------------------------------- captures
# Size arguments of a profile at this SCALE.
gen_args() {
    case $1 in
    mixed)      awk -v s="$SCALE" 'BEGIN { printf "--bytes %.0f", 1e9 * s }' ;;
    small)      awk -v s="$SCALE" 'BEGIN { printf "--bytes %.0f", 3e8 * s }' ;;
    many-flows) awk -v s="$SCALE" 'BEGIN { n = int(1e6 * s); if (n < 1) n = 1; printf "--sessions %d", n }' ;;
    esac
}

# make_capture FILE ARGS...: runs gen unless FILE exists and was made by
# this gen.c with these arguments.
make_capture() {
    local f=$1; shift
    local stamp="gen.c $GEN_HASH; gen $*"
    if [[ -f $f && -f $f.stamp && $(cat "$f.stamp") == "$stamp" ]]; then
        log "reusing $f"
        return
    fi
    rm -f "$f" "$f.stamp"
    log "generating $f (gen $*)"
    local t0=$EPOCHREALTIME
    "$GEN" "$@" -o "$f.tmp" 2> >(sed 's/^/   /' >&2)
    mv "$f.tmp" "$f"
    printf '%s\n' "$stamp" > "$f.stamp"
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "   took %.1f s\n", b - a }' >&2
}

declare -A FILE PFX10 PFX100 PFX100_MB
for p in $PROFILES; do
    args="-p $p --seed $SEED $(gen_args "$p")"
    f=$DATA/$p-x$SCALE-s$SEED.pcap
    # shellcheck disable=SC2086
    make_capture "$f" $args
    FILE[$p]=$f
    size=$(stat -c %s "$f")
    # prefixes: exact first packets of the same capture
    # shellcheck disable=SC2086
    make_capture "$DATA/$p-x$SCALE-s$SEED.10MB.pcap" $args --prefix 10000000
    PFX10[$p]=$DATA/$p-x$SCALE-s$SEED.10MB.pcap
    # 100 MB, or a fifth of the file when the file is under 200 MB
    pb=$(( size >= 200000000 ? 100000000 : size / 5 ))
    # shellcheck disable=SC2086
    make_capture "$DATA/$p-x$SCALE-s$SEED.prefix.pcap" $args --prefix $pb
    PFX100[$p]=$DATA/$p-x$SCALE-s$SEED.prefix.pcap
    PFX100_MB[$p]=$(awk -v b="$pb" 'BEGIN { printf "%.0f", b / 1e6 }')
done

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "warming the page cache"
for p in $PROFILES; do
    cat "${FILE[$p]}" "${PFX10[$p]}" "${PFX100[$p]}" > /dev/null
done

# ------------------------------------------------------------ measuring
# measure NAME STDOUT CMD...: runs CMD under /usr/bin/time with stdout to
# the file STDOUT and stderr to $LOGDIR/NAME.err. Sets WALL (seconds, from
# the shell's clock), CPU (user + system seconds), RSS (KiB) and RC (exit
# status, or 128+signal).
measure() {
    local name=$1 stdout=$2; shift 2
    local tf=$LOGDIR/$name.time t0 t1
    t0=$EPOCHREALTIME
    set +e
    "$TIME" -f '%e %M %U %S' -o "$tf" "$@" > "$stdout" 2> "$LOGDIR/$name.err"
    RC=$?
    set -e
    t1=$EPOCHREALTIME
    WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    RSS=$(tail -n 1 "$tf" | awk '{ print $2 }')
    CPU=$(tail -n 1 "$tf" | awk '{ printf "%.2f", $3 + $4 }')
    if grep -q 'terminated by signal' "$tf"; then
        RC=$((128 + $(grep -o 'signal [0-9]*' "$tf" | awk '{ print $2 }')))
    fi
}

# stats LIST: "median min max" of whitespace-separated numbers
stats() {
    # shellcheck disable=SC2086  # split on purpose
    printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 }
        END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%s %s %s", m, v[1], v[NR] }'
}

FAILURES=()
declare -A R_DEC R_NOREC R_NRRATIO
declare -A R_BASE R_JSON R_OUT R_RATIO R_CRATIO R_SLOW R_RSSB R_RSSJ R_RSSO R_PKTS R_MB R_PFXRSS R_TSHARK

for p in $PROFILES; do
    f=${FILE[$p]}
    bytes=$(stat -c %s "$f")
    mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
    R_MB[$p]=$mb
    tb=() tj=() to=() ratio=() cratio=() slow=() rb=() rj=() ro=()
    td=() tn=() nrratio=()
    cpu_ok=1
    for ((i = 1; i <= RUNS; i++)); do
        log "$p: run $i/$RUNS"
        measure "$p.baseline.$i" "$LOGDIR/$p.baseline.$i.out" "$BASELINE" "$f"
        [[ $RC -eq 0 ]] || { warn "baseline failed on $f (exit $RC)"; exit 1; }
        R_PKTS[$p]=$(awk '{ print $2 }' "$LOGDIR/$p.baseline.$i.out")
        wb=$WALL cb=$CPU; tb+=("$WALL"); rb+=("$RSS")

        measure "$p.json.$i" /dev/null "$IMAPSCOPE" -r "$f" --json
        if [[ $RC -ne 0 ]]; then
            FAILURES+=("$p (seed $SEED, SCALE $SCALE): '$IMAPSCOPE -r $f --json' exited $RC; stderr in $LOGDIR/$p.json.$i.err")
        fi
        wj=$WALL; tj+=("$WALL"); rj+=("$RSS")
        ratio+=("$(awk -v a="$wb" -v b="$wj" 'BEGIN { printf "%.4f", a / b }')")
        cratio+=("$(awk -v a="$cb" -v b="$CPU" 'BEGIN { printf "%.4f", (b > 0) ? a / b : 0 }')")
        # CPU times come in 10 ms steps: too coarse below 0.1 s
        awk -v a="$cb" 'BEGIN { exit !(a < 0.1) }' && cpu_ok=0

        # the stages: options that make imapscope stop after one
        measure "$p.decode.$i" /dev/null "$IMAPSCOPE" -r "$f" --json --ports 1
        [[ $RC -eq 0 ]] || FAILURES+=("$p (seed $SEED, SCALE $SCALE): '$IMAPSCOPE -r $f --json --ports 1' exited $RC")
        td+=("$WALL")
        measure "$p.norecords.$i" /dev/null "$IMAPSCOPE" -r "$f" --json --session none
        [[ $RC -eq 0 ]] || FAILURES+=("$p (seed $SEED, SCALE $SCALE): '$IMAPSCOPE -r $f --json --session none' exited $RC")
        tn+=("$WALL")
        nrratio+=("$(awk -v a="$wb" -v b="$WALL" 'BEGIN { printf "%.4f", a / b }')")

        OUT=$(mktemp -d "$OUTDIR/imapscope-bench.XXXXXX")
        measure "$p.output.$i" /dev/null "$IMAPSCOPE" -r "$f" -o "$OUT"
        if [[ $RC -ne 0 ]]; then
            FAILURES+=("$p (seed $SEED, SCALE $SCALE): '$IMAPSCOPE -r $f -o DIR' exited $RC; stderr in $LOGDIR/$p.output.$i.err")
        fi
        if [[ $i -eq 1 ]]; then
            ntr=$(find "$OUT/transcripts" -type f | wc -l)
            log "$p: $ntr transcripts written in $OUTDIR"
        fi
        [[ $KEEP_OUTPUT == 1 ]] || rm -rf "$OUT"
        OUT=
        to+=("$WALL"); ro+=("$RSS")
        slow+=("$(awk -v a="$wj" -v b="$WALL" 'BEGIN { printf "%.4f", b / a }')")
    done
    R_BASE[$p]=$(stats "${tb[*]}")
    R_JSON[$p]=$(stats "${tj[*]}")
    R_OUT[$p]=$(stats "${to[*]}")
    R_RATIO[$p]=$(stats "${ratio[*]}")
    R_CRATIO[$p]=$( ((cpu_ok)) && stats "${cratio[*]}" || echo "-")
    R_SLOW[$p]=$(stats "${slow[*]}")
    R_RSSB[$p]=$(stats "${rb[*]}")
    R_RSSJ[$p]=$(stats "${rj[*]}")
    R_RSSO[$p]=$(stats "${ro[*]}")
    R_DEC[$p]=$(stats "${td[*]}")
    R_NOREC[$p]=$(stats "${tn[*]}")
    R_NRRATIO[$p]=$(stats "${nrratio[*]}")

    # memory on a prefix: must track open sessions, not file size
    measure "$p.prefix" /dev/null "$IMAPSCOPE" -r "${PFX100[$p]}" --json
    [[ $RC -eq 0 ]] || FAILURES+=("$p (seed $SEED, SCALE $SCALE): '$IMAPSCOPE -r ${PFX100[$p]} --json' exited $RC")
    R_PFXRSS[$p]=$RSS

    if command -v tshark > /dev/null; then
        tt=()
        for ((i = 1; i <= RUNS; i++)); do
            log "$p: tshark run $i/$RUNS (10 MB prefix)"
            measure "$p.tshark.$i" /dev/null tshark -r "${PFX10[$p]}" -Y imap -T fields -e imap.request.command
            tt+=("$WALL")
        done
        R_TSHARK[$p]=$(stats "${tt[*]}")
    fi
done

# ---------------------------------------------------------------- report
declare -A T_RATIO=([mixed]=0.70 [small]=0.50 [many-flows]=0.40)
declare -A T_RSS=([mixed]=64 [small]=64 [many-flows]=160)

# fmt_rate BYTES "med min max"(seconds) DIV: "med (lo-hi)" of BYTES/DIV/s
fmt_rate() {
    awk -v b="$1" -v d="$3" -v s="$2" 'BEGIN { split(s, t, " ")
        printf "%.0f (%.0f-%.0f)", b / d / t[1], b / d / t[3], b / d / t[2] }'
}
fmt_mpps() {
    awk -v b="$1" -v s="$2" 'BEGIN { split(s, t, " ")
        printf "%.2f (%.2f-%.2f)", b / 1e6 / t[1], b / 1e6 / t[3], b / 1e6 / t[2] }'
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
REPORT=$DATA/results-x$SCALE.txt
{
    printf 'imapscope benchmark: %s, %s, SCALE=%s RUNS=%s SEED=%s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "imapscope built from $REV" \
        "$SCALE" "$RUNS" "$SEED"
    printf '%s; %s cores; %s\n' "$(uname -srm)" "$(nproc)" \
        "$(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo)"
    printf 'load average (1, 5, 15 min): %s at the start, %s at the end\n' "$LOAD_START" "$LOAD_END"
    printf 'imapscope -o wrote to %s (%s)\n' "$OUTDIR" "$(df -PT "$OUTDIR" | awk 'NR == 2 { print $2 }')"
    printf 'MB = 10^6 bytes, MiB = 2^20 bytes; throughput = file bytes / wall time; median (min-max) of %s runs\n\n' "$RUNS"
    printf '%-10s %8s %9s | %-18s %-17s | %-18s %-17s %-6s | %-15s %-15s | %-18s %-16s %s\n' \
        profile "file MB" packets "baseline MB/s" "baseline Mpkt/s" "imapscope MB/s" "imapscope Mpkt/s" \
        ratio "RSS MiB base" "RSS MiB json" "transcripts MB/s" "slowdown vs json" "RSS MiB -o"
    for p in $PROFILES; do
        b=$(awk -v m="${R_MB[$p]}" 'BEGIN { printf "%.0f", m * 1e6 }')
        read -r rmed rlo rhi <<< "${R_RATIO[$p]}"
        read -r smed slo shi <<< "${R_SLOW[$p]}"
        printf '%-10s %8s %9s | %-18s %-17s | %-18s %-17s %-6s | %-15s %-15s | %-18s %-16s %s\n' \
            "$p" "${R_MB[$p]}" "${R_PKTS[$p]}" \
            "$(fmt_rate "$b" "${R_BASE[$p]}" 1e6)" "$(fmt_mpps "${R_PKTS[$p]}" "${R_BASE[$p]}")" \
            "$(fmt_rate "$b" "${R_JSON[$p]}" 1e6)" "$(fmt_mpps "${R_PKTS[$p]}" "${R_JSON[$p]}")" \
            "$(printf '%.2f' "$rmed")" \
            "$(mib "${R_RSSB[$p]%% *}")" "$(mib "${R_RSSJ[$p]%% *}")" \
            "$(fmt_rate "$b" "${R_OUT[$p]}" 1e6)" "$(printf '%.2fx (%.2f-%.2f)' "$smed" "$slo" "$shi")" \
            "$(mib "${R_RSSO[$p]%% *}")"
    done
    printf '\nratio = median over runs of baseline time / imapscope --json time, each pair run back to back\n'
    printf 'ratio by CPU = the same with user+system CPU time instead of wall time (less\n'
    printf '  sensitive to other load on the machine; the targets are on the wall-time ratio)\n'
    printf 'RSS = median peak resident set size (GNU time %%M)\n\n'

    printf '%-10s | %-32s | %-21s | %-20s | %s\n' profile "ratio (min-max) target" "ratio by CPU" "RSS MiB json target" "RSS of imapscope --json: prefix vs whole file"
    for p in $PROFILES; do
        read -r rmed rlo rhi <<< "${R_RATIO[$p]}"
        rss=$(mib "${R_RSSJ[$p]%% *}")
        okr=$(awk -v r="$rmed" -v t="${T_RATIO[$p]}" 'BEGIN { print (r >= t) ? "ok" : "MISS" }')
        okm=$(awk -v r="$rss" -v t="${T_RSS[$p]}" 'BEGIN { print (r <= t) ? "ok" : "MISS" }')
        read -r cmed clo chi <<< "${R_CRATIO[$p]}"
        if [[ $cmed == - ]]; then
            cratio_txt="n/a (too short)"
        else
            cratio_txt=$(printf '%.3f (%.3f-%.3f)' "$cmed" "$clo" "$chi")
        fi
        printf '%-10s | %-32s | %-21s | %-20s | %s MiB on the first %s MB, %s MiB on all %s MB\n' "$p" \
            "$(printf '%.3f (%.3f-%.3f) >=%s %s' "$rmed" "$rlo" "$rhi" "${T_RATIO[$p]}" "$okr")" \
            "$cratio_txt" \
            "$(printf '%s <=%s %s' "$rss" "${T_RSS[$p]}" "$okm")" \
            "$(mib "${R_PFXRSS[$p]}")" "${PFX100_MB[$p]}" "$rss" "${R_MB[$p]}"
    done
    if [[ $SCALE != 1 ]]; then
        printf '(targets are for SCALE=1; this run used SCALE=%s)\n' "$SCALE"
    fi

    printf '\nwhere the time of imapscope --json goes: median wall seconds of runs that\n'
    printf 'stop after a stage (--ports 1: no packet is on port 1; --session none: no\n'
    printf 'session has that id, so no record is written), and each stage'"'"'s share\n'
    printf '%-10s | %-8s | %-22s | %-31s | %-22s | %s\n' profile baseline \
        "read and decode" "+ flows, reassembly, IMAP" "+ records" "ratio without records"
    for p in $PROFILES; do
        read -r dmed _ <<< "${R_DEC[$p]}"
        read -r nmed _ <<< "${R_NOREC[$p]}"
        read -r jmed _ <<< "${R_JSON[$p]}"
        read -r bmed _ <<< "${R_BASE[$p]}"
        read -r qmed qlo qhi <<< "${R_NRRATIO[$p]}"
        printf '%-10s | %-8s | %-22s | %-31s | %-22s | %s\n' "$p" \
            "$(printf '%.3f' "$bmed")" \
            "$(awk -v d="$dmed" -v j="$jmed" 'BEGIN { printf "%.3f (%.0f%%)", d, 100 * d / j }')" \
            "$(awk -v d="$dmed" -v n="$nmed" -v j="$jmed" 'BEGIN { printf "%.3f (+%.3f, %.0f%%)", n, n - d, 100 * (n - d) / j }')" \
            "$(awk -v n="$nmed" -v j="$jmed" 'BEGIN { printf "%.3f (+%.3f, %.0f%%)", j, j - n, 100 * (j - n) / j }')" \
            "$(printf '%.3f (%.3f-%.3f)' "$qmed" "$qlo" "$qhi")"
    done

    if command -v tshark > /dev/null; then
        printf '\ntshark %s on a 10 MB prefix (-Y imap -T fields -e imap.request.command):\n' \
            "$(tshark --version 2>/dev/null | head -n 1 | awk '{ print $3 }')"
        for p in $PROFILES; do
            pb=$(stat -c %s "${PFX10[$p]}")
            printf '  %-10s %s MB/s\n' "$p" "$(fmt_rate "$pb" "${R_TSHARK[$p]}" 1e6)"
        done
    else
        printf '\ntshark not installed: no tshark comparison\n'
    fi

    if ((${#FAILURES[@]})); then
        printf '\nFAILURES:\n'
        printf '  %s\n' "${FAILURES[@]}"
    fi
} | tee "$REPORT"
log "results saved in $REPORT; logs in $LOGDIR"
((${#FAILURES[@]} == 0)) || exit 1
