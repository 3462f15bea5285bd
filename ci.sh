#!/usr/bin/env bash
# The one test command: everything CI checks, in the order a failure is cheapest to find.
#   ./ci.sh            all steps
#   ./ci.sh STEP...    only these (setup fmt clippy test doc firmware interop fuzz bench)
# Installs what a fresh Debian machine lacks (rustup targets, llvm-tools, apt packages, a Python
# venv); every network test runs on loopback inside a fresh network namespace.
. "$(dirname "$0")/scripts/lib.sh"
cd "$ROOT"
set +e
export CARGO_TERM_COLOR=never

steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(setup fmt clippy test doc firmware interop fuzz bench)
passed=0 failed=0 failures=()

run() { # NAME CMD...: one checked step
    local name=$1 start=$SECONDS
    shift
    section "$name"
    if "$@"; then
        passed=$((passed + 1))
        echo "--- $name: ok ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "--- $name: FAILED ($((SECONDS - start)) s)"
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

for step in "${steps[@]}"; do
    case "$step" in
    setup) run setup setup ;;
    fmt) run fmt cargo fmt --all -- --check ;;
    clippy)
        run clippy cargo clippy --workspace --all-targets -- -D warnings
        run "clippy base+log" cargo clippy -p peerless-base --all-targets --features log -- -D warnings
        run "clippy base+defmt (thumbv7em)" cargo clippy -p peerless-base --features defmt \
            --target thumbv7em-none-eabihf -- -D warnings
        run "defmt (thumbv7em, every library crate)" scripts/defmt.sh ;;
    test)
        run test cargo test --workspace
        run "test base+log+std" cargo test -p peerless-base --features log,std
        # The release soak: 1000 random links and NAT pairings, about a minute once built.
        run "sim soak" env PEERLESS_SIM_SEEDS=1000 cargo test --release -p peerless --test sim \
            --test sim_nat ;;
    doc) run doc env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q ;;
    firmware)
        run firmware scripts/firmware.sh
        [ -x scripts/boards.sh ] && run boards scripts/boards.sh ;;
    interop) for s in scripts/interop/*.sh; do [ -e "$s" ] && run "interop $(basename "$s" .sh)" "$s"; done ;;
    fuzz) run fuzz scripts/fuzz.sh ;;
    bench) for s in scripts/bench/*.sh; do [ -e "$s" ] && run "bench $(basename "$s" .sh)" "$s"; done ;;
    *) echo "unknown step: $step"; failed=$((failed + 1)); failures+=("$step") ;;
    esac
done

section "summary"
[ ${#failures[@]} -gt 0 ] && printf 'failed step: %s\n' "${failures[@]}"
echo "ci: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
