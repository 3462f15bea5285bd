#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (default 15), or the named ones.
#   scripts/fuzz.sh [TARGET...]        CI's pass: 15 s per target, from the committed corpus
#   FUZZ_SECONDS=600 scripts/fuzz.sh   the long mode: ten minutes per target, millions of runs
#   scripts/fuzz.sh cmin [TARGET...]   fold what the runs found into the committed corpus,
#                                      minimized (cargo fuzz cmin), for a commit
# Corpora: fuzz/seeds/TARGET is committed, minimized, and read only here; fuzz/corpus/TARGET
# (ignored by git) collects what each run adds. The seed changes per run (FUZZ_SEED fixes it)
# and is printed with the command that replays the run.
# This machine has only a stable toolchain; RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the sanitizer
# flags it needs. A crash fails the run and leaves the input in fuzz/artifacts/TARGET/.
# -O -a: optimized, with debug assertions and overflow checks (cargo-fuzz turns them off with
# -O alone), so an arithmetic overflow on hostile input is a crash here too.
. "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"
seconds="${FUZZ_SECONDS:-15}"
# libFuzzer's seed is 32 bits; 0 would mean "pick one" and not be printable, so never 0.
seed="${FUZZ_SEED:-$(($(od -An -N4 -tu4 /dev/urandom) % 4294967295 + 1))}"
export RUSTC_BOOTSTRAP=1
cmin=0
if [ "${1:-}" = cmin ]; then
    cmin=1
    shift
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*_.*\)"$/\1/p' Cargo.toml)
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "no fuzz targets yet"
    exit 0
fi
command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz --locked
cargo fuzz build -O -a || exit 1

if [ $cmin -eq 1 ]; then
    for t in "${targets[@]}"; do
        # Everything known (committed seeds and this machine's runs), minimized afresh.
        work=$(mktemp -d)
        cp -r "seeds/$t/." "$work/" 2>/dev/null || true
        cp -r "corpus/$t/." "$work/" 2>/dev/null || true
        before=$(find "$work" -type f | wc -l)
        cargo fuzz cmin -O -a "$t" "$work" -- -rss_limit_mb=2048 >"/tmp/fuzz-cmin-$t.log" 2>&1 || {
            echo "FAILED: cmin $t"; tail -20 "/tmp/fuzz-cmin-$t.log"; rm -rf "$work"; exit 1
        }
        rm -rf "seeds/$t"
        mkdir -p "seeds/$t"
        cp -r "$work/." "seeds/$t/"
        rm -rf "$work"
        echo "cmin: $t: $before inputs -> $(find "seeds/$t" -type f | wc -l) ($(du -sk "seeds/$t" | cut -f1) KiB)"
    done
    exit 0
fi

echo "fuzz seed: $seed, $seconds s per target (replay one: FUZZ_SEED=$seed FUZZ_SECONDS=$seconds scripts/fuzz.sh TARGET)"
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "seeds/$t"
    log="/tmp/fuzz-$t.log"
    # New inputs go to corpus/ (the first directory); seeds/ is read.
    if cargo fuzz run -O -a "$t" "corpus/$t" "seeds/$t" -- -max_total_time="$seconds" -seed="$seed" \
        -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "ok: $t (${runs:-?} runs in ${seconds} s, $(( ${runs:-0} / seconds )) runs/s, seed $seed)"
    else
        echo "FAILED: $t (seed $seed)"; tail -30 "$log"; status=1
        echo "replay: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a $t artifacts/$t/<crash-file>"
    fi
done
exit $status
