#!/usr/bin/env bash
# Every library crate builds for a microcontroller with its `defmt` feature (each public type has
# a `defmt::Format` form and the feature reaches the crate's dependencies), and with `log` and
# `defmt` together (defmt wins: see base/src/log.rs). Prints ok/FAIL per build; exits non-zero on
# any failure.
. "$(dirname "$0")/lib.sh"
section "defmt: every library crate for thumbv7em-none-eabihf"
cd "$ROOT"
rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

failed=0
build() {
    local crate="$1" features="$2"
    if cargo build -q --target thumbv7em-none-eabihf -p "$crate" --features "$features"; then
        echo "ok   $crate --features $features"
    else
        echo "FAIL $crate --features $features"
        failed=$((failed + 1))
    fi
}

for crate in peerless-base peerless-stun peerless-ice peerless-dtls peerless-srtp peerless-sctp \
    peerless-sdp peerless-rtp peerless-cc peerless; do
    build "$crate" defmt
done
# The Peer's `log` and `defmt` reach every crate below it, so one build covers them all.
build peerless-base log,defmt
build peerless log,defmt

[ "$failed" -eq 0 ] || { echo "defmt: $failed build(s) failed"; exit 1; }
