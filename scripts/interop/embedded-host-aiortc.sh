#!/usr/bin/env bash
# The embassy application (examples-embedded/embassy) against aiortc, over a TAP device:
# the same no_std code that runs on the boards, on embassy-executor platform-std with
# embassy-net's own TCP/IP stack behind a TAP device, inside a fresh network namespace whose
# only interfaces are lo and that TAP device (192.0.2.0/24, TEST-NET-1, exists only there).
#
#   aiortc (kernel, 192.0.2.1) --POST /whip offer--> app (embassy-net, 192.0.2.2:8080)
#                              <--201 answer--------
#                              ==ICE/DTLS/SCTP UDP==> app :5000, echoes every message
#
# Checks: GET / serves the demo page; a non-SDP POST gets 415 and a broken offer 400; three
# sessions, the first closed by aiortc before the second, the third offered while the second
# is still connected (its offer replaces the running Peer), the third ended by a WHIP DELETE
# of the session URL; each echoes text and binary messages (one exactly as large as the
# app's a=max-message-size) in order, byte for byte. A fourth session offers audio + data:
# the app's Peer has no transceivers (it links no media code), so the answer must carry no
# media (port 0, or inactive for the BUNDLE tag) and still satisfy aiortc, which wants ICE
# credentials, a DTLS role and rtcp-mux in every section of an answer, rejected ones too, and the channel must still open and echo
# (DTLS still negotiates use_srtp: aiortc fails a handshake without an SRTP profile).
. "$(dirname "$0")/../lib.sh"

section "embassy application on a TAP device: interop with aiortc"
need_apt iproute2 util-linux python3-venv
need_pip aiortc

EMB="$ROOT/examples-embedded/embassy"
export CARGO_TARGET_DIR="${EMBASSY_TARGET_DIR:-$ROOT/target/embassy}"
(cd "$EMB" && cargo build -q --profile host -p peerless-embassy-host)
BIN="$CARGO_TARGET_DIR/host/peerless-embassy-host"
[ -x "$BIN" ] || { echo "host application not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

start=$SECONDS
in_netns bash "$ROOT/scripts/interop/peers/embedded-host-aiortc-netns.sh" "$BIN" "$WORK" "$VENV/bin/python" \
    "$ROOT/scripts/interop/peers/embedded-host-aiortc.py"
echo "embedded-host-aiortc: ok ($((SECONDS - start)) s)"
