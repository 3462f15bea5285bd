#!/usr/bin/env bash
# peerless-mdns against avahi-daemon 0.8: regenerates the known answers of
# mdns/tests/fixtures/avahi live (avahi publishing a static <uuid>.local host inside a lo-only
# network namespace with multicast on lo; a mount namespace too, for its hosts file) and checks
# they are byte for byte the files the tests parse, which are also what our emitters write.
. "$(dirname "$0")/../lib.sh"

section "mdns: known answers from avahi-daemon"
need_apt avahi-daemon

FIX="$ROOT/mdns/tests/fixtures/avahi"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
timeout 60 unshare --net --mount -- sh -c 'ip link set lo up && exec sh "$0" "$1"' "$FIX/capture.sh" "$OUT"
fail=0
for f in avahi-response.bin avahi-legacy-response.bin; do
    if [ ! -s "$OUT/$f" ]; then
        echo "FAIL $f: avahi did not answer"; fail=1
    elif cmp -s "$OUT/$f" "$FIX/$f"; then
        echo "ok   $f: $(stat -c %s "$OUT/$f") bytes, identical to the checked-in known answer"
    else
        echo "FAIL $f differs:"; xxd "$OUT/$f"; xxd "$FIX/$f"; fail=1
    fi
done
exit $fail
