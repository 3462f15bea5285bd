#!/usr/bin/env bash
# Cross-check peerless-srtp against libsrtp2 (Debian libsrtp2-dev): random packets (random
# SSRCs, sequence numbers across a rollover, with and without CSRCs and one-/two-byte header
# extensions, padding, RTCP) for all four profiles. Our protected bytes must equal libsrtp's,
# and each side must unprotect the other's. No network is involved.
# SRTP_CROSSCHECK_PACKETS (default 600 per profile) and SRTP_CROSSCHECK_SEED tune the run.
. "$(dirname "$0")/../lib.sh"

section "srtp: cross-check with libsrtp2"
need_apt libsrtp2-dev pkg-config gcc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Wextra -o "$work/harness" "$ROOT/bench/srtp/harness.c" \
    $(pkg-config --cflags --libs libsrtp2)
cd "$ROOT"
cargo run -q -p peerless-srtp --example libsrtp_crosscheck -- "$work/harness" \
    "${SRTP_CROSSCHECK_PACKETS:-600}" "${SRTP_CROSSCHECK_SEED:-1577058601}"
