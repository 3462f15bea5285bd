#!/usr/bin/env bash
# ICE over TCP (RFC 6544) with Firefox ESR (pref media.peerconnection.ice.tcp on), in a
# lo-only namespace where UDP is dropped (nftables, when it can be installed and loaded):
#   1. Firefox offers a data channel; the CLI answers with `--tcp-listen 127.0.0.1:7443 --no-udp`,
#      a single passive TCP host candidate; Firefox's active candidate connects, the channel
#      opens, the CLI greets and echoes 40 messages (up to 3.8 kB, several TCP segments each).
#   2. The CLI offers the same way (listener 127.0.0.1:7444), Firefox answers and echoes 40
#      text and binary messages (one of 20 kB).
# Both: Firefox's selected pair is TCP to the listener (getStats), ours leaves from it, and
# datagrams went both ways over accepted connections (the CLI's --summary "ice_tcp").
# aiortc is not tested: aioice gathers and checks UDP candidates only (it drops TCP ones).
. "$(dirname "$0")/../lib.sh"

section "peer: ICE over TCP with Firefox"
need_firefox
# Dropping UDP proves no UDP path is used; without nft the CLI still offers no UDP candidate.
command -v nft >/dev/null || need_apt nftables || true

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
in_netns bash -c '
    ip route add default dev lo src 127.0.0.1
    if command -v nft >/dev/null && nft -f - <<NFT
table inet icetcp {
    chain out { type filter hook output priority 0; meta l4proto udp counter drop; }
}
NFT
    then echo "nft: every UDP datagram in the namespace is dropped"
    else echo "nft: not available, UDP not blocked (the CLI offers no UDP candidate anyway)"
    fi
    timeout 170 node "$1" "$2" "$NPM_DIR" "$3"; status=$?
    command -v nft >/dev/null && nft list table inet icetcp 2>/dev/null | grep -o "counter packets [0-9]*" | sed "s/^/nft: UDP dropped: /"
    exit $status' sh "$ROOT/scripts/interop/peers/peer-firefox-icetcp.mjs" "$BIN" "$WORK"
