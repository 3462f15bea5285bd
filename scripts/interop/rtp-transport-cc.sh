#!/usr/bin/env bash
# Transport-wide congestion control feedback against GStreamer 1.22's rtpsession (rtptwcc.c,
# an independent implementation), both ways. No network is involved: appsrc to appsink.
#  1. GStreamer as the receiver writes feedback for packets pushed in real time (losses, a
#     run of 20 lost, a reordered pair, an 80 ms pause); it stamps arrivals with its own
#     clock, so these bytes differ from run to run and are compared by meaning, not bytes.
#  2. Our CompoundBuilder::transport_cc writes feedback for fixed scenarios (the test writes
#     them: PEERLESS_RTP_OUT).
#  3. GStreamer as the sender reads every feedback of 1 and 2 (its RTPTWCCPackets event: lost
#     or the arrival time of each packet), and rtp's tests (PEERLESS_RTP_DATA) check that our
#     view reads each the same, that our builder still writes the bytes GStreamer read, and
#     that it rewrites GStreamer's feedback to the same meaning, never longer.
# RTP_TWCC_REGENERATE=1 copies the fresh file over rtp/tests/data/twcc_gst.txt.
. "$(dirname "$0")/../lib.sh"

section "rtp: transport-cc feedback against GStreamer's rtpsession"
need_apt gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
failures=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
if /usr/bin/python3 scripts/interop/rtp/twcc_gst.py generate "$data/gst.txt"; then
    ok "GStreamer wrote $(wc -l <"$data/gst.txt") transport-cc feedbacks"
else
    fail "GStreamer's receiver wrote no feedback"
fi
PEERLESS_RTP_OUT="$data" cargo test -q -p peerless-rtp --test transport_cc_gst our_feedback >/dev/null 2>&1 \
    || fail "our feedback (cargo test -p peerless-rtp --test transport_cc_gst)"
cat "$data/gst.txt" "$data/twcc_ours.txt" >"$data/all.txt" 2>/dev/null
if /usr/bin/python3 scripts/interop/rtp/twcc_gst.py parse "$data/all.txt" "$data/twcc_gst.txt"; then
    ok "GStreamer's sender read $(grep -c '^feedback' "$data/twcc_gst.txt") feedbacks ($(grep -c '^packet' "$data/twcc_gst.txt") packets)"
else
    fail "GStreamer's sender did not read every feedback"
fi
if grep '^feedback ours' "$data/twcc_gst.txt" | cmp -s - <(grep '^feedback ours' rtp/tests/data/twcc_gst.txt); then
    ok "our feedback is the same bytes as checked in"
else
    fail "our feedback differs from rtp/tests/data/twcc_gst.txt (RTP_TWCC_REGENERATE=1 after a deliberate change)"
fi
if PEERLESS_RTP_DATA="$data" cargo test -q -p peerless-rtp --test transport_cc_gst >"$data/test.log" 2>&1; then
    ok "GStreamer reads our feedback as we do, and we read GStreamer's as it does"
else
    fail "cargo test -p peerless-rtp --test transport_cc_gst on the fresh results"; tail -30 "$data/test.log"
fi
[ "${RTP_TWCC_REGENERATE:-0}" = 1 ] && cp "$data/twcc_gst.txt" rtp/tests/data/twcc_gst.txt
[ "$failures" -eq 0 ] || exit 1
