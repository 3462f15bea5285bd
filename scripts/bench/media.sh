#!/usr/bin/env bash
# The Peer's media paths against str0m (the published crate, RustCrypto provider), two pairs
# connected in memory, the same frames, in packets per CPU-second (this thread's CPU time) with
# the ratio, for the committed VP8 clip looped and a 720p-like 2.5 Mbit/s VP8 mix:
#   send:    write_frame + poll_transmit (str0m: Writer::write + poll_output);
#   receive: the send side's datagrams, each once, through handle_packet to Event::MediaData
#            (str0m: handle_input to Event::MediaData, frame mode);
#   server:  a raw-mode Peer's Event::Rtp forwarded with write_rtp on a second connection
#            (str0m: rtp_mode, Event::RtpPacket, StreamTx::write_rtp).
# Prints, never gates (issue 15's goal: at least 2x str0m). BENCH_SECONDS sets the seconds of
# video per run (default 1200 for the clip, 200 for the 720p mix); BENCH_ONLY=peerless|str0m,
# BENCH_PATH=send|server and BENCH_MIX=0|1 narrow a run (for perf).
. "$(dirname "$0")/../lib.sh"
section "bench: media paths, peerless vs str0m"
cd "$ROOT/bench/media-vs-str0m"
BENCH_TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/bench-str0m"  # shared with peer.sh and rtp.sh
CARGO_TARGET_DIR="$BENCH_TARGET" cargo build -q --release
ver() { awk -v p="$1" '$0 == "name = \"" p "\"" {getline; print $3}' Cargo.lock | tr -d '"'; }
aes() { awk -v p="$1" '$0 == "name = \"" p "\"" {f=1} f && /^$/ {exit} f && /"(aes|aes-gcm) /' Cargo.lock |
    tr -d ' ",' | sed 's/\([a-z-]*\)\([0-9]\)/\1 \2/' | paste -sd, - | sed 's/,/, /g'; }
echo "versions: str0m $(ver str0m), str0m-rust-crypto $(ver str0m-rust-crypto) on $(aes str0m-rust-crypto);" \
    "peerless-srtp on $(aes peerless-srtp)"
"$BENCH_TARGET/release/media-vs-str0m"
