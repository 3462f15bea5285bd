#!/usr/bin/env bash
# rtp's typed header extensions against GStreamer and aiortc (independent implementations):
# GStreamer's rtphdrext elements (mid, rid, repaired-rid, transport-cc, client audio level) and
# aiortc's HeaderExtensionsMap (mid, rid, repaired-rid, abs-send-time, audio level,
# transport-cc, in the one- and two-byte forms) write packets afresh; they must equal the
# checked-in known answers byte for byte, and rtp's tests run against the fresh copies
# (PEERLESS_RTP_DATA): every value reads back, and our writer gives the same bytes.
# No network is involved. RTP_EXT_REGENERATE=1 copies the fresh files over rtp/tests/data.
. "$(dirname "$0")/../lib.sh"

section "rtp: typed header extensions against GStreamer and aiortc"
need_apt gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
need_pip aiortc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
failures=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
/usr/bin/python3 scripts/interop/rtp/hdrext_gst.py "$data/hdrext_gst.rtp" || fail "GStreamer capture"
"$VENV/bin/python" scripts/interop/rtp/hdrext_aiortc.py >"$data/hdrext_aiortc.txt" || fail "aiortc packets"
for f in hdrext_gst.rtp hdrext_aiortc.txt; do
    if cmp -s "$data/$f" "rtp/tests/data/$f"; then
        ok "$f regenerates byte for byte"
    else
        fail "$f differs from rtp/tests/data/$f"
    fi
    [ "${RTP_EXT_REGENERATE:-0}" = 1 ] && cp "$data/$f" "rtp/tests/data/$f"
done
if PEERLESS_RTP_DATA="$data" cargo test -q -p peerless-rtp --test extension >"$data/test.log" 2>&1; then
    ok "typed extensions read GStreamer's and aiortc's packets and write the same bytes"
else
    fail "cargo test -p peerless-rtp --test extension on the fresh packets"; tail -30 "$data/test.log"
fi
[ "$failures" -eq 0 ] || exit 1
