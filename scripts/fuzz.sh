#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (default 15), or the named ones.
# The seed is fixed (FUZZ_SEED, default 1) so a CI run explores the same inputs as a local one;
# FUZZ_SEED=0 lets libFuzzer pick one, for longer exploratory runs.
# This machine has only a stable toolchain; RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the sanitizer
# flags it needs. A crash fails the run and leaves the input in fuzz/artifacts/.
# -O -a: optimized, with debug assertions and overflow checks (cargo-fuzz turns them off with
# -O alone), so an arithmetic overflow on hostile input is a crash here too.
. "$(dirname "$0")/lib.sh"
cd "$ROOT/fuzz"
seconds="${FUZZ_SECONDS:-15}"
seed="${FUZZ_SEED:-1}"
export RUSTC_BOOTSTRAP=1
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
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    if cargo fuzz run -O -a "$t" -- -max_total_time="$seconds" -seed="$seed" -rss_limit_mb=2048 -print_final_stats=1 >"/tmp/fuzz-$t.log" 2>&1; then
        echo "ok: $t ($(grep -o 'stat::number_of_executed_units: [0-9]*' "/tmp/fuzz-$t.log" | awk '{print $2}') runs in ${seconds} s)"
    else
        echo "FAILED: $t"; tail -30 "/tmp/fuzz-$t.log"; status=1
    fi
done
exit $status
