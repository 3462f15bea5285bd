#!/usr/bin/env bash
# Interop: peerless-sctp against usrsctp (Firefox's SCTP stack, Debian libusrsctp), both DTLS
# roles, clean and with 10 % loss each way, over loopback UDP in a lo-only namespace (SCTP
# packets carried bare instead of in DTLS; see usrsctp_peer.c). Meant to be linked as
# scripts/interop/sctp-usrsctp.sh.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"
need_apt libusrsctp-dev gcc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
cargo build -q --release -p peerless-sctp --features std --example sctp_udp
bin="$CARGO_TARGET_DIR/release/examples/sctp_udp"
peer="$CARGO_TARGET_DIR/usrsctp_peer"
gcc -O2 -Wall -o "$peer" "$ROOT/sctp/interop/usrsctp_peer.c" -lusrsctp -lpthread
status=0
for run in "client 0" "server 0" "client 0.1" "server 0.1"; do
    set -- $run
    ours=$1 loss=$2
    theirs=$([ "$ours" = client ] && echo server || echo client)
    section "sctp: peerless ($ours) <-> usrsctp ($theirs), loss $loss each way"
    if ! in_netns sh -c "
        '$peer' $theirs 6001 6002 $loss & c=\$!
        '$bin' $ours 127.0.0.1:6002 127.0.0.1:6001; rust=\$?
        wait \$c; cst=\$?
        exit \$((rust | cst))"; then
        echo "FAILED: peerless $ours vs usrsctp $theirs (loss $loss)"; status=1
    fi
done
exit $status
