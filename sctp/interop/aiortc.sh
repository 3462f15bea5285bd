#!/usr/bin/env bash
# Interop: peerless-sctp against aiortc's SCTP stack, both DTLS roles, over loopback UDP in a
# lo-only namespace (SCTP packets carried bare instead of in DTLS; see aiortc_sctp.py).
# Meant to be linked as scripts/interop/sctp-aiortc.sh.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"
need_pip aiortc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
cargo build -q --release -p peerless-sctp --features std --example sctp_udp
bin="$CARGO_TARGET_DIR/release/examples/sctp_udp"
status=0
for ours in client server; do
    theirs=$([ "$ours" = client ] && echo server || echo client)
    section "sctp: peerless ($ours) <-> aiortc ($theirs)"
    if ! in_netns sh -c "
        '$VENV/bin/python' '$ROOT/sctp/interop/aiortc_sctp.py' $theirs 6001 6002 & py=\$!
        '$bin' $ours 127.0.0.1:6002 127.0.0.1:6001; rust=\$?
        wait \$py; pyst=\$?
        exit \$((rust | pyst))"; then
        echo "FAILED: peerless $ours vs aiortc $theirs"; status=1
    fi
done
exit $status
