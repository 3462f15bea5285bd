#!/usr/bin/env bash
# The Peer through a TURN server (coturn, Debian `coturn`) on loopback, against aiortc, in a
# lo-only namespace. coturn runs with long-term credentials (alice/secret), relays on
# 127.0.0.1 (--allow-loopback-peers: it refuses loopback peers otherwise) and UDP only.
#   1. our offer, both relay-only: the CLI's data channel, 40 text/binary messages echoed by
#      aiortc; both descriptions carry only relayed candidates; the selected pair is
#      relay/relay;
#   2. aiortc's offer, both relay-only: aiortc sends, the CLI echoes and greets;
#   3. our offer with every candidate type, aiortc relay-only: the pair is our host socket to
#      aiortc's relayed address (host/relay);
#   4. as 1, with both sides on TCP to coturn (`?transport=tcp`; our host opens the stream);
#   5. the CLI against itself, both relay-only, over UDP, TCP and TLS (`turns:`, rustls, a
#      self-signed certificate made here with openssl) to coturn; and a `turns:` server whose
#      certificate the CLI was not told to trust must be refused;
#   6. media through the relay: the CLI sends clip.vp8.ivf to another CLI, both relay-only;
#      ffprobe must decode the 30 VP8 frames the receiver wrote.
# Each case prints the connect time, the selected pair and its candidate types; at the end
# coturn's (verbose) log gives the allocations, channel binds and permissions it granted, and
# must show the CLIs' allocations released (Refresh with lifetime 0) when they close.
. "$(dirname "$0")/../lib.sh"

section "peer: TURN relay through coturn (aiortc and peerless)"
need_apt coturn ffmpeg openssl
need_pip aiortc

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# coturn's TLS certificate (for 127.0.0.1) and one nobody signed it with.
for n in cert other; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -keyout "$WORK/$n-key.pem" -out "$WORK/$n.pem" -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE 2>/dev/null
done

in_netns bash -c '
    BIN="$1"; WORK="$2"; PY="$3"; DRIVER="$4"; MEDIA="$5"
    URL="turn:127.0.0.1:3478?transport=udp"
    turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=3478 \
        --tls-listening-port=5349 --cert="$WORK/cert.pem" --pkey="$WORK/cert-key.pem" \
        --min-port=49160 --max-port=49400 --lt-cred-mech --user=alice:secret --realm=test \
        --fingerprint --allow-loopback-peers --no-multicast-peers \
        --denied-peer-ip=0.0.0.0-126.255.255.255 --denied-peer-ip=128.0.0.0-255.255.255.255 \
        --no-dtls --no-cli --verbose --log-file=stdout --simple-log > "$WORK/coturn.log" 2>&1 &
    server=$!
    for _ in $(seq 50); do grep -q "listener opened on" "$WORK/coturn.log" 2>/dev/null && break; sleep 0.1; done
    status=0
    timeout 240 "$PY" "$DRIVER" "$BIN" "$WORK" "$URL" || status=1

    # 5. peerless against peerless, both relay-only, over UDP and over TCP to the server.
    for transport in udp tcp tls; do
        case $transport in
            tls) URL5="turns:127.0.0.1:5349" ;;
            *) URL5="turn:127.0.0.1:3478?transport=$transport" ;;
        esac
        ICE="--ice-server $URL5 --ice-username alice --ice-credential secret --relay-only --ice-ca $WORK/cert.pem"
        p="$WORK/p-$transport"
        timeout 60 "$BIN" answer --json --offer "$p-o.json" --answer-out "$p-a.json" \
            --duration 30 --summary "$p-s2.json" $ICE > "$p-answer.log" 2>&1 &
        answerer=$!
        timeout 60 "$BIN" offer --json --offer-out "$p-o.json" --answer-in "$p-a.json" \
            --count 40 --duration 30 --summary "$p-s1.json" $ICE > "$p-offer.log" 2>&1
        offer_rc=$?
        wait $answerer; answer_rc=$?
        if [ $offer_rc -eq 0 ] && [ $answer_rc -eq 0 ] \
            && grep -q "\"selected_types\":\[\"relay\",\"relay\"\]" "$p-s1.json" \
            && grep -q "\"selected_types\":\[\"relay\",\"relay\"\]" "$p-s2.json"; then
            echo "ok   peerless-peerless over $transport: both relay-only, 40 echoes checked, relay/relay"
        else
            echo "FAIL peerless-peerless over $transport: offer exit $offer_rc, answer exit $answer_rc"
            tail -5 "$p-offer.log" "$p-answer.log"
            status=1
        fi
        cat "$p-s1.json" 2>/dev/null
    done
    # A turns: server whose certificate is not trusted: the CLI must refuse it.
    timeout 20 "$BIN" offer --json --offer-out "$WORK/x-o.json" --answer-in "$WORK/x-a.json" \
        --duration 5 --ice-server turns:127.0.0.1:5349 --ice-username alice --ice-credential secret \
        --relay-only --ice-ca "$WORK/other.pem" > "$WORK/x.log" 2>&1
    if [ $? -ne 0 ] && grep -qi "certificate" "$WORK/x.log"; then
        echo "ok   turns: an untrusted certificate is refused: $(grep -i certificate "$WORK/x.log" | head -1)"
    else
        echo "FAIL turns: an untrusted certificate was not refused"; cat "$WORK/x.log"; status=1
    fi
    # 6. VP8 through the relay, decoded by ffprobe.
    ICE="--ice-server turn:127.0.0.1:3478?transport=udp --ice-username alice --ice-credential secret --relay-only"
    timeout 60 "$BIN" answer --json --offer "$WORK/m-o.json" --answer-out "$WORK/m-a.json" --duration 20 \
        --no-data --recv-video "$WORK/rec.ivf" --min-frames 30 --summary "$WORK/m-s2.json" $ICE > "$WORK/m-answer.log" 2>&1 &
    answerer=$!
    timeout 60 "$BIN" offer --json --offer-out "$WORK/m-o.json" --answer-in "$WORK/m-a.json" --duration 20 \
        --no-data --video "$MEDIA/clip.vp8.ivf" --min-frames 30 --summary "$WORK/m-s1.json" $ICE > "$WORK/m-offer.log" 2>&1
    offer_rc=$?
    wait $answerer; answer_rc=$?
    decoded="$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=codec_name,nb_read_frames -of csv=p=0 "$WORK/rec.ivf" 2>&1)"
    echo "     media: ffprobe decoded $decoded (codec,frames) from what came through the relay"
    if [ $offer_rc -eq 0 ] && [ $answer_rc -eq 0 ] && [ "${decoded%%,*}" = vp8 ] && [ "${decoded##*,}" -ge 30 ] 2>/dev/null \
        && grep -q "\"selected_types\":\[\"relay\",\"relay\"\]" "$WORK/m-s2.json"; then
        echo "ok   media: 30 VP8 frames through coturn, relay/relay, decoded by ffprobe"
    else
        echo "FAIL media: offer exit $offer_rc, answer exit $answer_rc, decoded $decoded"
        tail -5 "$WORK/m-offer.log" "$WORK/m-answer.log"
        status=1
    fi
    echo "coturn: $(grep -c "ALLOCATE processed, success" "$WORK/coturn.log") allocations," \
        "$(grep -c "CHANNEL_BIND processed, success" "$WORK/coturn.log") channel binds," \
        "$(grep -c "CREATE_PERMISSION processed, success" "$WORK/coturn.log") permissions," \
        "$(grep -c "refreshed, .*lifetime=0" "$WORK/coturn.log") released (Refresh lifetime 0)"
    # Each CLI closes its Peer at the end: its allocation is released, over UDP, TCP and TLS
    # (2 CLIs each) and after the media (2).
    released="$(grep -c "refreshed, .*lifetime=0" "$WORK/coturn.log")"
    if [ "$released" -ge 8 ]; then
        echo "ok   the CLIs released their allocations on close ($released Refresh lifetime=0)"
    else
        echo "FAIL only $released allocations released with Refresh lifetime=0 (want >= 8)"; status=1
    fi
    kill $server 2>/dev/null; wait $server 2>/dev/null
    [ $status -eq 0 ] || { echo "--- coturn log"; tail -30 "$WORK/coturn.log"; }
    exit $status' sh "$BIN" "$WORK" "$VENV/bin/python" "$ROOT/scripts/interop/peers/peer-turn-coturn.py" \
    "$ROOT/peer/tests/media"
