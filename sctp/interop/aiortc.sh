#!/usr/bin/env bash
# Interop: peerless-sctp against aiortc's SCTP stack over loopback UDP in a lo-only namespace
# (SCTP packets carried bare instead of in DTLS; see aiortc_sctp.py):
#   - both DTLS roles with an INIT collision (both sides connect, as WebRTC peers do);
#   - 10 % loss each way, with peerless as DTLS client and colliding INITs, and with peerless as
#     the SCTP server (passive: it never sends INIT, it answers aiortc's);
#   - 100 channels each way, each side closing all of its own at once (stream resets in bulk).
# A failed check on either side (including inside aiortc's event handlers) fails the run.
# Meant to be linked as scripts/interop/sctp-aiortc.sh.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"
need_pip aiortc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
cargo build -q --release -p peerless-sctp --features std --example sctp_udp
bin="$CARGO_TARGET_DIR/release/examples/sctp_udp"
status=0
for run in "client 0 -" "server 0 -" "client 0.1 -" "server 0.1 passive" "client 0 channels" \
    "server 0.1 channels"; do
    set -- $run
    ours=$1 loss=$2 mode=$3
    theirs=$([ "$ours" = client ] && echo server || echo client)
    rust_args="" py_args=""
    case "$mode" in
    passive) rust_args=passive ;;
    channels) rust_args=channels py_args=channels ;;
    esac
    section "sctp: peerless ($ours${rust_args:+, $rust_args}) <-> aiortc ($theirs), loss $loss each way"
    if ! in_netns sh -c "
        '$VENV/bin/python' '$ROOT/sctp/interop/aiortc_sctp.py' $theirs 6001 6002 $loss $py_args & py=\$!
        '$bin' $ours 127.0.0.1:6002 127.0.0.1:6001 $rust_args; rust=\$?
        wait \$py; pyst=\$?
        echo \"exit status: peerless \$rust, aiortc \$pyst\"
        exit \$((rust | pyst))"; then
        echo "FAILED: peerless $ours $mode vs aiortc $theirs, loss $loss"; status=1
    fi
done
exit $status
