#!/usr/bin/env bash
# The Peer and Firefox ESR, both with iceTransportPolicy "relay", through coturn (Debian
# `coturn`) on loopback in a lo-only namespace (long-term credentials):
#   1. Firefox offers a data channel, the CLI answers, echoes 40 messages and greets;
#   2. as 1 with both on TCP to coturn (`?transport=tcp`);
#   3. the CLI offers, Firefox answers and echoes 40 text and binary messages;
#   4. media: the CLI offers its VP8 clip, Firefox answers receive-only and must decode at
#      least 60 frames (getStats inbound-rtp framesDecoded), relay/relay on both ends.
# Both descriptions must carry relayed candidates only, and both ends must select relay/relay
# (Firefox's getStats and our --summary). Prints the connect time and the selected pairs.
. "$(dirname "$0")/../lib.sh"

section "peer: TURN relay through coturn with Firefox"
need_apt coturn
need_firefox

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
in_netns bash -c '
    ip route add default dev lo src 127.0.0.1
    BIN="$1"; WORK="$2"; DRIVER="$3"
    URL="turn:127.0.0.1:3478?transport=udp"
    turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=3478 \
        --min-port=49160 --max-port=49400 --lt-cred-mech --user=alice:secret --realm=test \
        --fingerprint --allow-loopback-peers --no-multicast-peers \
        --denied-peer-ip=0.0.0.0-126.255.255.255 --denied-peer-ip=128.0.0.0-255.255.255.255 \
        --no-tls --no-dtls --no-cli --verbose --log-file=stdout --simple-log > "$WORK/coturn.log" 2>&1 &
    server=$!
    for _ in $(seq 50); do grep -q "listener opened on" "$WORK/coturn.log" 2>/dev/null && break; sleep 0.1; done
    timeout 280 node "$DRIVER" "$BIN" "$NPM_DIR" "$WORK" "$URL"; status=$?
    echo "coturn: $(grep -c "ALLOCATE processed, success" "$WORK/coturn.log") allocations," \
        "$(grep -c "CHANNEL_BIND processed, success" "$WORK/coturn.log") channel binds"
    kill $server 2>/dev/null; wait $server 2>/dev/null
    [ $status -eq 0 ] || { echo "--- coturn log"; tail -30 "$WORK/coturn.log"; }
    exit $status' sh "$BIN" "$WORK" "$ROOT/scripts/interop/peers/peer-turn-firefox.mjs"
