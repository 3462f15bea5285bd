#!/usr/bin/env bash
# SCTP benchmark: two associations in memory, one reliable ordered data channel, 1 KiB and
# 16 KiB messages, MB of user data per CPU-second (both ends on one thread), with zero checksum
# and with CRC32c, against the floor (CRC32c + two copies of the same bytes) and the reference:
# usrsctp (Firefox's SCTP stack) as an in-memory AF_CONN pair, measured in the same run (its
# packets cross a socketpair between its threads; process CPU time). Goal: at least 300 MB per
# CPU-second at 16 KiB. Prints, never gates. SCTP_BENCH_MB (default 256) sets the data per size.
. "$(dirname "$0")/../lib.sh"

section "sctp: in-memory association pair, reliable ordered channel"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
mb="${SCTP_BENCH_MB:-256}"
if need_apt libusrsctp-dev gcc && gcc -O2 -o "$CARGO_TARGET_DIR/usrsctp_bench" \
        "$ROOT/sctp/interop/usrsctp_bench.c" -lusrsctp -lpthread; then
    for size in 1024 16384; do
        export "SCTP_BENCH_REFERENCE_$size=$(timeout 300 "$CARGO_TARGET_DIR/usrsctp_bench" "$size" "$mb" || true)"
    done
else
    echo "usrsctp reference unavailable: printing ours only"
fi
cargo run -q --release -p peerless-sctp --features std --example bench -- "$mb"
