#!/usr/bin/env bash
# One UDP socket, many Peers (peer/examples/one_socket.rs): 100 client Peers on their own
# sockets connect to 100 server Peers behind one socket, routed by Peer::accepts; every client
# must get its echo. Loopback only, in a fresh network namespace.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
section "peer: 100 Peers on one socket"
cargo build -q --release -p peerless --example one_socket
in_netns timeout 60 "${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/one_socket" 100
