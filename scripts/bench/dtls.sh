#!/usr/bin/env bash
# DTLS handshake CPU time: peerless-dtls vs dimpl (RustCrypto provider), both sides in memory,
# pre-made certificates, printed from one run with the ratio. Prints; never gates (except that it
# first checks peerless and dimpl interoperate in memory: both roles, all three suites, equal
# SRTP keying material and application data both ways).
# Then the same on aws-lc-rs: peerless on peerless-crypto's aws-lc-rs backend against dimpl with
# its aws-lc-rs provider (a separate build; aws-lc-sys needs only the C compiler here).
# BENCH_ITERATIONS (default 50) sets the number of handshakes per implementation.
. "$(dirname "$0")/../lib.sh"
target="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT/bench/dtls-vs-dimpl"

# run LABEL TARGET_SUBDIR [CARGO FEATURE FLAGS...]
run() {
    local label="$1" dir="$2"
    shift 2
    section "bench: dtls handshake, peerless vs dimpl ($label)"
    export CARGO_TARGET_DIR="$target/$dir"
    cargo build -q --release "$@"
    "$CARGO_TARGET_DIR/release/dtls-vs-dimpl"
    # Wall time on a shared machine is noisy; instruction counts are not. With valgrind present,
    # count instructions per handshake (both sides) for each implementation: (runs 1+N) - (runs 1).
    if command -v valgrind >/dev/null; then
        count() {
            BENCH_ONLY="$1" BENCH_ITERATIONS="$2" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                "$CARGO_TARGET_DIR/release/dtls-vs-dimpl" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
        }
        local n=5 ours theirs
        ours=$(( ($(count peerless $((n + 1))) - $(count peerless 1)) / n ))
        theirs=$(( ($(count dimpl $((n + 1))) - $(count dimpl 1)) / n ))
        echo "instructions per full handshake (client + server, callgrind, $label): peerless $ours, dimpl $theirs," \
            "ratio $(python3 -c "print(f'{$ours / $theirs:.2f}')")"
    fi
}

run "RustCrypto" bench-dtls-vs-dimpl
need_apt gcc
run "aws-lc-rs" bench-dtls-vs-dimpl-aws-lc --features aws-lc-rs
