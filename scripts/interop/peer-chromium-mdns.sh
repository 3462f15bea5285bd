#!/usr/bin/env bash
# mDNS (.local) host candidates with Chromium (Debian's build), both directions, each with a test
# where only the mDNS path can connect. Chromium hides its host address behind <uuid>.local by
# default (a page without camera/microphone permission) and answers mDNS queries for it from its
# network service; it resolves a remote .local candidate through its own mDNS client.
#   1. Chromium offers, the CLI answers with --mdns. nft drops every STUN Binding request that
#      reaches the CLI's port before the CLI has sent one itself: Chromium's checks cannot
#      reveal its address (no peer-reflexive rescue), so the CLI's first check, and the call,
#      can only come from resolving Chromium's name. Checked: the CLI counts the name resolved,
#      its selected pair is host -> host, 20 echoes.
#   2. The CLI offers with --mdns-publish (its host hidden behind its own <uuid>.local name),
#      Chromium answers with its host hidden too. nft drops every Binding request the CLI sends
#      before one from Chromium has arrived: our checks cannot reveal our address, so
#      Chromium's first check can only come from resolving our name through our responder.
#      Checked: our responder answered, Chromium's getStats shows its selected pair's remote
#      (us) as a host candidate (not prflx), 20 echoes.
# Chromium never binds its mDNS sockets to loopback, so the namespace holds a veth pair (both
# ends inside it: it reaches nothing but itself) with 10.255.0.1 and the default route; the CLI
# binds 10.255.0.1 too and joins 224.0.0.251 there (peers/browser-mdns-netns.sh, which prints
# the nft drop counts at the end).
. "$(dirname "$0")/../lib.sh"

section "peer: mDNS .local candidates with Chromium, both directions"
need_chromium
need_apt nftables

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ROOT="$ROOT" bash "$ROOT/scripts/interop/peers/browser-mdns-netns.sh" "$BIN" "$NPM_DIR" "$WORK" chromium
