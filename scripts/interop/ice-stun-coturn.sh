#!/usr/bin/env bash
# Interop: peerless-stun's client transaction, long-term credentials (MD5 key), TURN attributes
# and ChannelData framing against coturn (Debian `coturn`) on loopback, in a lo-only namespace:
# Binding, 401 then authenticated Allocate, CreatePermission, ChannelBind, ChannelData both
# ways through the relay, a Send indication, Refresh to zero.
. "$(dirname "$0")/../lib.sh"

section "stun: coturn interop"
need_apt coturn
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build -q -p peerless-stun --example turn_client
BIN="$CARGO_TARGET_DIR/debug/examples/turn_client"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

in_netns sh -c '
    turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=3478 \
        --min-port=49160 --max-port=49200 --lt-cred-mech --user=alice:secret --realm=test \
        --fingerprint --allow-loopback-peers --no-multicast-peers \
        --denied-peer-ip=0.0.0.0-126.255.255.255 --denied-peer-ip=128.0.0.0-255.255.255.255 \
        --no-tls --no-dtls --no-cli --log-file=stdout --simple-log > "$2" 2>&1 &
    server=$!
    for _ in $(seq 50); do grep -q "listener opened on" "$2" 2>/dev/null && break; sleep 0.1; done
    timeout 30 "$1" 127.0.0.1:3478 alice secret; status=$?
    kill $server 2>/dev/null; wait $server 2>/dev/null
    exit $status' sh "$BIN" "$log" || { echo "--- coturn log"; tail -40 "$log"; exit 1; }
