#!/usr/bin/env bash
# Interop: peerless-sctp against aiortc's SCTP stack, both DTLS roles, then with 10 % loss each
# way, over loopback UDP in a lo-only namespace (SCTP packets carried bare instead of in DTLS;
# see aiortc_sctp.py).
# Meant to be linked as scripts/interop/sctp-aiortc.sh.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"
need_pip aiortc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
cargo build -q --release -p peerless-sctp --features std --example sctp_udp
bin="$CARGO_TARGET_DIR/release/examples/sctp_udp"
status=0
for run in "client 0" "server 0" "client 0.1"; do
    set -- $run
    ours=$1 loss=$2
    theirs=$([ "$ours" = client ] && echo server || echo client)
    section "sctp: peerless ($ours) <-> aiortc ($theirs), loss $loss each way"
    if ! in_netns sh -c "
        '$VENV/bin/python' '$ROOT/sctp/interop/aiortc_sctp.py' $theirs 6001 6002 $loss & py=\$!
        '$bin' $ours 127.0.0.1:6002 127.0.0.1:6001; rust=\$?
        wait \$py; pyst=\$?
        exit \$((rust | pyst))"; then
        echo "FAILED: peerless $ours vs aiortc $theirs"; status=1
    fi
done
exit $status
