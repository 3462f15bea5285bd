#!/usr/bin/env bash
# The CLI resolves a `.local` candidate through avahi-daemon 0.8 (an independent mDNS responder):
# in a lo-only network namespace with multicast on lo (and a mount namespace, for avahi's hosts
# file), avahi publishes <uuid>.local -> 127.0.0.1; the offering CLI's offer has its host
# candidate's address replaced by that name (c= by 0.0.0.0), as a browser hides it; the answering
# CLI runs with --mdns, asks 224.0.0.251:5353 from its socket on 0.0.0.0:5353 and must count the
# name resolved, and both must open the channel and check the echoes. The offerer gets the answer
# 1.5 s late, so its checks cannot teach the answerer its address as peer-reflexive first: the
# answerer's selected pair must be host -> host, the remote being the resolved candidate.
. "$(dirname "$0")/../lib.sh"

section "peer: a .local candidate resolved through avahi-daemon"
need_apt avahi-daemon

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
NAME="7c2e5b1a-3f4d-4e6a-9b8c-1d2e3f4a5b6c.local"
echo "127.0.0.1 $NAME" > "$WORK/hosts"
cp "$ROOT/mdns/tests/fixtures/avahi/avahi.conf" "$WORK/avahi.conf"
cat > "$WORK/run.sh" <<'INNER'
set -e
W=$1; BIN=$2; NAME=$3
ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo
mount --bind "$W/hosts" /etc/avahi/hosts
mkdir -p /run/avahi-daemon
avahi-daemon --no-drop-root --no-chroot -f "$W/avahi.conf" --no-rlimits > "$W/avahi.log" 2>&1 &
A=$!
for _ in $(seq 50); do grep -q "successfully established" "$W/avahi.log" && break; sleep 0.1; done
"$BIN" offer --offer-out "$W/offer.sdp" --answer-in "$W/answer-late.sdp" --count 10 --big 2000 \
    --duration 20 --summary "$W/offer.json" 2> "$W/offer.log" &
O=$!
for _ in $(seq 100); do [ -s "$W/offer.sdp" ] && break; sleep 0.1; done
sleep 0.3
sed -e "s/^\(a=candidate:[^ ]* [^ ]* [^ ]* [^ ]*\) 127\.0\.0\.1 /\1 $NAME /" \
    -e 's/^c=IN IP4 127\.0\.0\.1/c=IN IP4 0.0.0.0/' "$W/offer.sdp" > "$W/hidden.tmp"
mv "$W/hidden.tmp" "$W/hidden.sdp"
grep '^a=candidate' "$W/hidden.sdp" | sed 's/^/offer (hidden): /'
"$BIN" answer --mdns --offer "$W/hidden.sdp" --answer-out "$W/answer.sdp" --duration 20 \
    --summary "$W/answer.json" 2> "$W/answer.log" &
B=$!
# The offerer sees the answer 1.5 s late: until then nothing of it reaches the answerer, which
# has only the name to go on (avahi answers within that; its checks then start from the
# resolved host candidate, not from a peer-reflexive one).
for _ in $(seq 100); do [ -s "$W/answer.sdp" ] && break; sleep 0.1; done
sleep 1.5
cp "$W/answer.sdp" "$W/answer-late.tmp"
mv "$W/answer-late.tmp" "$W/answer-late.sdp"
rc=0
wait $O || rc=1
wait $B || rc=1
kill $A 2>/dev/null || true
exit $rc
INNER
rc=0
timeout 60 unshare --net --mount -- sh "$WORK/run.sh" "$WORK" "$BIN" "$NAME" || rc=1
echo "offerer:  $(cat "$WORK/offer.json" 2>/dev/null)"
echo "answerer: $(cat "$WORK/answer.json" 2>/dev/null)"
grep -q "127\.0\.0\.1" <(grep '^a=candidate' "$WORK/hidden.sdp") && { echo "FAIL the offer still shows 127.0.0.1"; rc=1; }
grep -q "\"mdns\":{\"queried\":1,\"resolved\":1,\"failed\":0," "$WORK/answer.json" \
    && echo "ok   the answering CLI resolved $NAME through avahi" \
    || { echo "FAIL the name was not resolved"; tail -5 "$WORK/answer.log"; rc=1; }
grep -q '"selected_types":\["host","host"\]' "$WORK/answer.json" \
    && echo "ok   the answerer's selected pair is host -> host (the resolved candidate)" \
    || { echo "FAIL the answerer's selected pair is not the resolved host candidate"; rc=1; }
grep -q '"ok":true' "$WORK/offer.json" && grep -q '"ok":true' "$WORK/answer.json" \
    && echo "ok   the channel opened and every echo matched" \
    || { echo "FAIL the call did not complete"; tail -5 "$WORK/offer.log" "$WORK/answer.log"; rc=1; }
exit $rc
