#!/usr/bin/env bash
# mDNS (.local) host candidates with Firefox ESR, both directions, each with a test where only
# the mDNS path can connect: as peer-chromium-mdns.sh (which says what is checked), with
# media.peerconnection.ice.obfuscate_host_addresses on. Firefox registers its names with its
# mDNS service only when ICE checks start (PeerConnectionImpl keeps them in
# mMDNSHostnamesToRegister until StartIceChecks, i.e. after setRemoteDescription), and starts
# that service (one socket on 0.0.0.0:5353, joined on each address) only with non-loopback IPv4
# addresses (StunAddrsRequestParent::SendStunAddrs_m): hence the veth pair of
# peers/browser-mdns-netns.sh, and nothing to see on 5353 before the remote description.
. "$(dirname "$0")/../lib.sh"

section "peer: mDNS .local candidates with Firefox, both directions"
need_firefox
need_apt nftables

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ROOT="$ROOT" bash "$ROOT/scripts/interop/peers/browser-mdns-netns.sh" "$BIN" "$NPM_DIR" "$WORK" firefox
