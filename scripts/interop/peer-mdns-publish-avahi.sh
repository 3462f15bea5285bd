#!/usr/bin/env bash
# The CLI publishes its own host address as a <uuid>.local name (--mdns-publish, i.e.
# Config::obfuscate_host_addresses, what browsers do), checked by two independent resolvers:
#   1. avahi-daemon 0.8 through `avahi-resolve -4 -n <name>` (its own querier, over D-Bus)
#      must return 127.0.0.1;
#   2. a second CLI with --mdns answers the offer that carries only the name, resolves it and
#      connects; the offerer sees the answer 1.5 s late, so its checks cannot teach the
#      answerer its address as peer-reflexive first: the answerer's selected pair must be
#      host -> host (the resolved candidate).
# All in a lo-only network namespace with multicast on lo, and a mount namespace for a private
# system D-Bus (avahi-resolve talks to avahi-daemon over it). The offering CLI, the answering
# CLI and avahi-daemon share 5353 (SO_REUSEADDR/SO_REUSEPORT); multicast reaches each of them.
. "$(dirname "$0")/../lib.sh"

section "peer: our host candidate published as a .local name, resolved by avahi and by the CLI"
need_apt avahi-daemon avahi-utils dbus

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
sed -e 's/^enable-dbus=no/enable-dbus=yes/' "$ROOT/mdns/tests/fixtures/avahi/avahi.conf" > "$WORK/avahi.conf"
cat > "$WORK/run.sh" <<'INNER'
set -e
W=$1; BIN=$2
ip link set lo up
ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo
# A private system bus for avahi-daemon and avahi-resolve.
mount -t tmpfs tmpfs /run/dbus 2>/dev/null || { mkdir -p /run/dbus && mount -t tmpfs tmpfs /run/dbus; }
mkdir -p /run/avahi-daemon
mount -t tmpfs tmpfs /run/avahi-daemon
dbus-daemon --system --fork --nopidfile
avahi-daemon --no-drop-root --no-chroot -f "$W/avahi.conf" --no-rlimits > "$W/avahi.log" 2>&1 &
A=$!
for _ in $(seq 50); do grep -q "successfully established" "$W/avahi.log" && break; sleep 0.1; done
"$BIN" offer --mdns-publish --offer-out "$W/offer.sdp" --answer-in "$W/answer-late.sdp" \
    --count 10 --big 2000 --duration 20 --summary "$W/offer.json" 2> "$W/offer.log" &
O=$!
for _ in $(seq 100); do [ -s "$W/offer.sdp" ] && break; sleep 0.1; done
sleep 0.3
grep '^a=candidate' "$W/offer.sdp" | sed 's/^/offer: /'
NAME=$(grep '^a=candidate' "$W/offer.sdp" | head -1 | awk '{print $5}')
echo "$NAME" > "$W/name"
start=$(date +%s%N)
timeout 10 avahi-resolve -4 -n "$NAME" > "$W/resolve.out" 2> "$W/resolve.err" || true
echo $(( ($(date +%s%N) - start) / 1000000 )) > "$W/resolve.ms"
"$BIN" answer --mdns --offer "$W/offer.sdp" --answer-out "$W/answer.sdp" --duration 20 \
    --summary "$W/answer.json" 2> "$W/answer.log" &
B=$!
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
timeout 60 unshare --net --mount -- sh "$WORK/run.sh" "$WORK" "$BIN" || rc=1
NAME="$(cat "$WORK/name" 2>/dev/null)"
echo "offerer:  $(cat "$WORK/offer.json" 2>/dev/null)"
echo "answerer: $(cat "$WORK/answer.json" 2>/dev/null)"
echo "avahi-resolve -4 -n $NAME: $(cat "$WORK/resolve.out" "$WORK/resolve.err" 2>/dev/null) ($(cat "$WORK/resolve.ms" 2>/dev/null) ms)"
echo "$NAME" | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.local$' \
    && echo "ok   the offer's host candidate is a UUID-v4 .local name" \
    || { echo "FAIL the offer's host candidate is not a UUID-v4 .local name: '$NAME'"; rc=1; }
grep -Eq '127\.0\.0\.1' <(grep -E '^(a=candidate|c=)' "$WORK/offer.sdp") \
    && { echo "FAIL the offer still shows 127.0.0.1"; rc=1; } \
    || echo "ok   the offer's candidates and c= do not show 127.0.0.1"
grep -Pq "^\Q$NAME\E\s+127\.0\.0\.1$" "$WORK/resolve.out" 2>/dev/null \
    && echo "ok   avahi-resolve returned 127.0.0.1 for $NAME" \
    || { echo "FAIL avahi-resolve did not return 127.0.0.1"; tail -5 "$WORK/avahi.log"; rc=1; }
grep -q '"mdns":{"queried":1,"resolved":1,"failed":0,' "$WORK/answer.json" \
    && echo "ok   the answering CLI resolved $NAME through the offerer's responder" \
    || { echo "FAIL the answering CLI did not resolve the name"; tail -5 "$WORK/answer.log"; rc=1; }
answered=$(grep -o '"answered":[0-9]*' "$WORK/offer.json" | cut -d: -f2)
[ "${answered:-0}" -ge 2 ] \
    && echo "ok   the offering CLI answered $answered queries (avahi's and the answerer's)" \
    || { echo "FAIL the offering CLI answered ${answered:-0} queries (want >= 2)"; rc=1; }
grep -q '"selected_types":\["host","host"\]' "$WORK/answer.json" \
    && echo "ok   the answerer's selected pair is host -> host (the resolved candidate)" \
    || { echo "FAIL the answerer's selected pair is not the resolved host candidate"; rc=1; }
grep -q '"ok":true' "$WORK/offer.json" && grep -q '"ok":true' "$WORK/answer.json" \
    && echo "ok   the channel opened and every echo matched" \
    || { echo "FAIL the call did not complete"; tail -5 "$WORK/offer.log" "$WORK/answer.log"; rc=1; }
exit $rc
