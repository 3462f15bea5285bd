#!/usr/bin/env bash
# The one test command: everything CI checks, in the order a failure is cheapest to find.
#   ./ci.sh            all steps
#   ./ci.sh quick      what a contributor runs before pushing: fmt, clippy, test, doc (the
#                      workspace only: no thumbv7em lints, no release soak, no setup)
#   ./ci.sh STEP...    only these (setup fmt clippy test doc firmware interop fuzz bench)
# Installs what a fresh Debian machine lacks (rustup targets, llvm-tools, apt packages, a Python
# venv); every network test runs on loopback inside a fresh network namespace.
# Every step runs under a time limit (`timeout --kill-after`, on the step's whole process group):
# a hung step fails with its name and the limit instead of eating CI's 90 minutes.
# CI_TIMEOUT_SCALE multiplies every limit (a slower machine); PROPTEST_CASES is raised for the
# full run (a contributor's `quick` keeps each test's own default).
. "$(dirname "$0")/scripts/lib.sh"
cd "$ROOT"
set +e
export CARGO_TERM_COLOR=never

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(setup fmt clippy test doc firmware interop fuzz bench)
quick=0
if [ "${steps[*]}" = quick ]; then
    quick=1 steps=(fmt clippy test doc)
fi
# The full run's property tests: 512 cases each (2x the most common default, 20x the DTLS
# handshake properties' 24). Measured on this 2-core machine type, under other builds' load:
# at 1024 the crates with property tests went from 169 s (57 CPU-s) to 441 s (251 CPU-s), and
# the whole CI run to about 50 minutes of its 60; 512 keeps the margin. The Peer's tests
# (simulations, no proptest) are unchanged. A deeper run: PROPTEST_CASES=4096 ./ci.sh test.
[ $quick -eq 0 ] && export PROPTEST_CASES="${PROPTEST_CASES:-512}"
passed=0 failed=0 failures=()

run() { # NAME [LIMIT_SECONDS] CMD...: one checked step, killed past its limit (default 1800 s)
    local name=$1 limit=1800 start=$SECONDS status
    shift
    if [[ "$1" =~ ^[0-9]+$ ]]; then
        limit=$1
        shift
    fi
    limit=$((limit * ${CI_TIMEOUT_SCALE:-1}))
    section "$name"
    # A shell function (setup) runs in a fresh ci.sh, since `timeout` can only start programs.
    if declare -F "$1" >/dev/null; then set -- "$ROOT/ci.sh" --call "$@"; fi
    # In the background and waited for, so an interrupt of ci.sh (Ctrl-C, CI's TERM) reaches
    # the step too: `timeout` leads a process group of its own, which the terminal never signals.
    timeout --kill-after=30 "$limit" "$@" &
    step_pid=$!
    wait $step_pid
    status=$?
    step_pid=
    if [ $status -eq 0 ]; then
        passed=$((passed + 1))
        echo "--- $name: ok ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        # 124: the limit passed (TERM); 137: it still ran 30 s later (KILL).
        if [ $status -eq 124 ] || [ $status -eq 137 ]; then
            echo "--- $name: FAILED: timed out after ${limit} s"
        else
            echo "--- $name: FAILED ($((SECONDS - start)) s)"
        fi
    fi
}

setup() {
    rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed | grep -q '^clippy' || rustup component add clippy
    rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools
    need_rust_target thumbv7em-none-eabihf riscv32imc-unknown-none-elf
    need_apt qemu-system-arm qemu-system-misc iproute2 util-linux python3-venv
    # ffmpeg: the media tests decode what the Peer receives (they skip without it). Its own
    # call, so the QEMU workaround in need_apt never has to reason about ffmpeg's packages.
    need_apt ffmpeg
}

# ./ci.sh --call FUNCTION: one of the functions above, as its own process (see run).
if [ "${1:-}" = --call ]; then
    shift
    "$@"
    exit
fi
step_pid=
trap '[ -n "$step_pid" ] && kill -TERM -- "-$step_pid" 2>/dev/null; exit 130' INT TERM

for step in "${steps[@]}"; do
    case "$step" in
    setup) run setup 1800 setup ;;
    fmt) run fmt 300 cargo fmt --all -- --check ;;
    clippy)
        run clippy 1800 cargo clippy --workspace --all-targets -- -D warnings
        [ $quick -eq 1 ] && continue
        run "clippy base+log" 600 cargo clippy -p peerless-base --all-targets --features log -- -D warnings
        run "clippy dtls+crypto firmware features" 600 cargo clippy -p peerless-dtls -p peerless-crypto \
            --no-default-features --all-targets -- -D warnings
        run "clippy base+defmt (thumbv7em)" 600 cargo clippy -p peerless-base --features defmt \
            --target thumbv7em-none-eabihf -- -D warnings
        run "defmt (thumbv7em, every library crate)" 1200 scripts/defmt.sh ;;
    test)
        run test 2400 cargo test --workspace
        run "test base+log+std" 600 cargo test -p peerless-base --features log,std
        run "test sctp+std" 600 cargo test -p peerless-sctp --features std
        # The firmware's DTLS: no AES-256-GCM, ChaCha20-Poly1305 or x25519 (each a feature).
        run "test dtls+crypto firmware features" 900 cargo test -p peerless-dtls -p peerless-crypto \
            --no-default-features
        [ $quick -eq 1 ] && continue
        # The aws-lc-rs crypto backend (servers): the crates whose primitives go through
        # peerless-crypto, with their known answers, and the Peer's and ICE's whole suites (a second
        # build of most of the workspace: the full run only, not `quick`).
        run "test aws-lc-rs" 1800 cargo test -p peerless-crypto -p peerless-base -p peerless-stun \
            -p peerless-ice -p peerless-srtp -p peerless-sctp -p peerless-dtls -p peerless \
            --features peerless-crypto/aws-lc-rs,peerless/aws-lc-rs
        # The release soak: 1000 random links and NAT pairings, about a minute once built.
        run "sim soak" 1200 env PEERLESS_SIM_SEEDS=1000 cargo test --release -p peerless --test sim \
            --test sim_nat ;;
    doc) run doc 900 env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q ;;
    firmware)
        run firmware 1200 scripts/firmware.sh
        [ -x scripts/boards.sh ] && run boards 1200 scripts/boards.sh ;;
    # Each interop script: its installs (a browser, a Python venv) on a fresh machine, a build
    # and a run of at most two minutes today.
    interop) for s in scripts/interop/*.sh; do [ -e "$s" ] && run "interop $(basename "$s" .sh)" 900 "$s"; done ;;
    # The fuzz build, then every target for FUZZ_SECONDS (scripts/fuzz.sh), plus its cmin pass.
    # 6 s a target in CI (over 10 000 runs even for the stateful targets, from a new seed each
    # run): a smoke test that the corpus still runs clean; the hunt is FUZZ_SECONDS=600 by hand.
    fuzz) export FUZZ_SECONDS="${FUZZ_SECONDS:-6}"
        run fuzz "$((1200 + $(grep -c '^\[\[bin\]\]' fuzz/Cargo.toml) * (FUZZ_SECONDS + 60)))" scripts/fuzz.sh ;;
    bench) for s in scripts/bench/*.sh; do [ -e "$s" ] && run "bench $(basename "$s" .sh)" 900 "$s"; done ;;
    *) echo "unknown step: $step"; failed=$((failed + 1)); failures+=("$step") ;;
    esac
done

section "summary"
[ ${#failures[@]} -gt 0 ] && printf 'failed step: %s\n' "${failures[@]}"
echo "ci: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
