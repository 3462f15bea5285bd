#!/usr/bin/env bash
# Receiver statistics against aiortc (an independent implementation of RFC 3550 A.3 and A.8):
# aiortc's StreamStatistics runs over a seeded arrival trace (sequence wrap, random and burst
# loss, jittered delay); the trace must regenerate byte for byte as checked in, and our
# ReceiverStats must report the same cumulative loss, extended highest sequence, jitter and
# (from the second report on: RFC 3550's probation starts counting one packet later than
# aiortc) fraction lost. No network is involved.
. "$(dirname "$0")/../lib.sh"

section "rtp: receiver statistics against aiortc"
need_pip aiortc
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd "$ROOT"
failures=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
"$VENV/bin/python" scripts/interop/rtp/receiver_stats_aiortc.py >"$fresh"
if cmp -s "$fresh" rtp/tests/data/receiver_stats_aiortc.txt; then
    ok "aiortc regenerates rtp/tests/data/receiver_stats_aiortc.txt byte for byte"
else
    fail "aiortc's statistics differ from rtp/tests/data/receiver_stats_aiortc.txt"
fi
if RTP_STATS_TRACE="$fresh" cargo test -q -p peerless-rtp --test receiver_stats >/dev/null 2>&1; then
    ok "ReceiverStats agrees with aiortc on $(grep -c '^r' "$fresh") reports"
else
    fail "ReceiverStats disagrees with aiortc (cargo test -p peerless-rtp --test receiver_stats)"
fi
[ "$failures" -eq 0 ] || exit 1
