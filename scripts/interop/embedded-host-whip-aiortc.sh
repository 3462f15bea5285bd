#!/usr/bin/env bash
# The embassy application as a WHIP client (RFC 9725), over a TAP device, publishing to a WHIP
# endpoint made of aiohttp + aiortc (peers/embedded-host-whip-aiortc.py), inside a fresh
# network namespace whose only interfaces are lo and the TAP device (192.0.2.0/24 exists only
# there).
#
#   app (embassy-net, 192.0.2.2) --POST /redirect/whip, Bearer--> endpoint (kernel, 192.0.2.1:8080)
#                                <--307 Location: /whip----------
#                                --POST /whip (complete offer)-->
#                                <--201 Location, answer---------
#                                ==ICE/DTLS/SCTP UDP==> aiortc; the app echoes its messages
#                                --DELETE <Location>------------> (session closed, or stop)
#
# Checks: a wrong token gets 401 and the app reports it (exit 3) without a DELETE; with the
# right token every POST follows the 307, the first 201 (a body that is no answer) is refused
# and its relative Location DELETEd, the second session echoes text and binary messages and,
# closed by the endpoint, is DELETEd by the app, the third (absolute Location) echoes and is
# DELETEd when the app is told to stop, after which it exits 0. Every request carries the
# bearer token; the offers carry the app's host candidate and a=end-of-candidates. All of it
# twice: with the data-channel build, and with the media build (feature `media`), whose offers
# must also have sendonly audio and video that aiortc decodes (the VP8 clip at 320x240, the
# G.711 tone).
. "$(dirname "$0")/../lib.sh"

section "embassy application on a TAP device: WHIP client publishing to an aiortc endpoint"
need_apt iproute2 util-linux python3-venv
need_pip aiortc aiohttp

EMB="$ROOT/examples-embedded/embassy"
export CARGO_TARGET_DIR="${EMBASSY_TARGET_DIR:-$ROOT/target/embassy}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
BIN="$CARGO_TARGET_DIR/host/peerless-embassy-host"
# Both builds write the same binary: keep a copy of each.
for build in data media; do
    features=()
    [ "$build" = media ] && features=(--features media)
    (cd "$EMB" && cargo build -q --profile host -p peerless-embassy-host "${features[@]}")
    [ -x "$BIN" ] || { echo "host application not built at $BIN" >&2; exit 1; }
    cp "$BIN" "$WORK/host-$build"
done

for build in data media; do
    start=$SECONDS
    mkdir -p "$WORK/$build"
    echo "--- the $build build publishing"
    # Nothing may leave the namespace: no default route, only lo and tap0.
    in_netns bash -c 'ip tuntap add dev tap0 mode tap && ip addr add 192.0.2.1/24 dev tap0 &&
        ip link set tap0 up && exec timeout 170 "$@"' sh \
        "$VENV/bin/python" "$ROOT/scripts/interop/peers/embedded-host-whip-aiortc.py" \
        "$WORK/host-$build" "$WORK/$build" "$build"
    echo "embedded-host-whip-aiortc ($build build): ok ($((SECONDS - start)) s)"
done
