#!/usr/bin/env bash
# SCTP benchmark: two associations in memory, one reliable ordered data channel, 1 KiB and
# 16 KiB messages, MB of user data per CPU-second (both ends on one thread, that thread's CPU
# time), MTU 1200, with zero checksum and with CRC32c, against the floor (CRC32c + two copies
# of the same bytes) and the reference measured the same way in the same run: usrsctp
# (Firefox's SCTP stack) as an AF_CONN pair in one thread (usrsctp_init_nothreads, packets
# queued in memory by conn_output and fed back by the same thread to usrsctp_conninput,
# timers driven by usrsctp_handle_timers only when nothing moves, path MTU pinned at 1200),
# with CRC32c on both ends and with none (usrsctp's CRC32c offload: neither computed nor
# checked, as RFC 9653's zero checksum). Goal: at least 300 MB per CPU-second at 16 KiB.
# Prints, never gates. SCTP_BENCH_MB (default 256) sets the data per size and mode.
. "$(dirname "$0")/../lib.sh"

section "sctp: in-memory association pair, reliable ordered channel, vs usrsctp in one thread"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
mb="${SCTP_BENCH_MB:-256}"
if need_apt libusrsctp-dev gcc && gcc -O2 -o "$CARGO_TARGET_DIR/usrsctp_bench" \
        "$ROOT/sctp/interop/usrsctp_bench.c" -lusrsctp; then
    echo "reference: usrsctp $(dpkg-query -W -f='${Version}' libusrsctp2) (Debian), one thread, in-memory queue, gcc -O2 harness"
    for mode in crc32c none; do
        for size in 1024 16384; do
            out="$(timeout 300 "$CARGO_TARGET_DIR/usrsctp_bench" "$size" "$mb" "$mode" || true)"
            read -r rate mtu <<<"$out"
            echo "  usrsctp $size B messages, checksum $mode: ${rate:-failed} MB/CPU-s, path MTU ${mtu:-?}"
            export "SCTP_BENCH_REFERENCE_${size}_${mode}=${rate:-}"
        done
    done
else
    echo "usrsctp reference unavailable: printing ours only"
fi
cargo run -q --release -p peerless-sctp --features std --example bench -- "$mb"
