#!/usr/bin/env bash
# Media through a TURN server (coturn, Debian `coturn`) between the Peer and aiortc, both
# relay-only, in a lo-only namespace (issue 17: "a data channel and media through the relay").
# coturn runs as in peer-turn-coturn.sh: long-term credentials (alice/secret), relays on
# 127.0.0.1 (--allow-loopback-peers), listening on 127.0.0.1:3478 over UDP and TCP. Each side
# is given only that server (aiortc-media.py --ice-server/--relay-only; its default list is
# empty). Four calls, each with our VP8 clip and Opus tone one way, aiortc's test pattern (VP8)
# and silence (Opus) the other, and a data channel:
#   offer-udp, offer-tcp:   our offer; aiortc answers, echoes 100 messages and sends back;
#   answer-udp, answer-tcp: aiortc's offer; we answer, echo and greet;
# over UDP, then over TCP (`?transport=tcp`, both sides open a stream to coturn). Every call
# checks that both descriptions carry only relayed candidates, that the selected pair is
# relay/relay on both sides (our summary's "selected_types", aioice's nominated pair), that
# aiortc decoded >= 30 frames of each kind we sent (a 320x240 picture, our clip's), and that
# ffprobe decodes >= 30 VP8 and Opus frames from what we received of aiortc's, without an
# error. At the end each CLI's allocation (found in coturn's verbose log by the relayed port
# it signalled) must have been released by a Refresh with lifetime 0, and the log's totals of
# allocations, channel binds, permissions and releases are printed (aiortc's included).
# The descriptions, summaries, logs and received files stay in $KEEP if it is set.
. "$(dirname "$0")/../lib.sh"

section "peer: media through coturn with aiortc (both relay-only, UDP and TCP)"
need_apt coturn ffmpeg
need_pip aiortc

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="${KEEP:-$(mktemp -d)}"
mkdir -p "$WORK"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

in_netns bash -c '
    BIN="$1"; WORK="$2"; PY="$3"; DRIVER="$4"; MEDIA="$5"
    turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=3478 \
        --min-port=49160 --max-port=49400 --lt-cred-mech --user=alice:secret --realm=test \
        --fingerprint --allow-loopback-peers --no-multicast-peers --no-tls --no-dtls \
        --denied-peer-ip=0.0.0.0-126.255.255.255 --denied-peer-ip=128.0.0.0-255.255.255.255 \
        --no-cli --verbose --log-file=stdout --simple-log > "$WORK/coturn.log" 2>&1 &
    server=$!
    for _ in $(seq 50); do grep -q "listener opened on" "$WORK/coturn.log" 2>/dev/null && break; sleep 0.1; done
    status=0
    timeout 300 "$PY" "$DRIVER" "$BIN" "$MEDIA" "$WORK" || status=1
    echo "coturn: $(grep -c "ALLOCATE processed, success" "$WORK/coturn.log") allocations," \
        "$(grep -c "CHANNEL_BIND processed, success" "$WORK/coturn.log") channel binds," \
        "$(grep -c "CREATE_PERMISSION processed, success" "$WORK/coturn.log") permissions," \
        "$(grep -c "refreshed, .*lifetime=0" "$WORK/coturn.log") released (Refresh lifetime 0)"
    kill $server 2>/dev/null; wait $server 2>/dev/null
    [ $status -eq 0 ] || { echo "--- coturn log"; tail -30 "$WORK/coturn.log"; }
    exit $status' sh "$BIN" "$WORK" "$VENV/bin/python" "$ROOT/scripts/interop/peers/peer-turn-aiortc-media.py" \
    "$ROOT/peer/tests/media"
