# Run by scripts/interop/embedded-host-aiortc-media.sh inside its fresh network namespace:
#   bash embedded-host-aiortc-media-netns.sh HOST_APP WORK PYTHON CLIENT_PY CLIP [NPM_DIR]
# With NPM_DIR (puppeteer-core), Chromium then opens the app's page as a second session.
set -eu
BIN=$1 WORK=$2 PY=$3 CLIENT=$4 CLIP=$5 NPM=${6:-}
ip tuntap add dev tap0 mode tap
ip addr add 192.0.2.1/24 dev tap0
ip link set tap0 up
# Nothing here may leave the namespace: no default route, only lo and tap0.
"$BIN" --tap tap0 --address 192.0.2.2/24 --duration 60 >"$WORK/host.log" 2>&1 &
host=$!
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/192.0.2.2/8080) 2>/dev/null && break
    sleep 0.1
done
rc=0
timeout 50 "$PY" "$CLIENT" "$CLIP" || rc=$?
if [ -n "$NPM" ]; then
    timeout 70 node "$(dirname "$0")/embedded-host-chromium-media.mjs" "$NPM" "$WORK" || rc=1
fi
# The app logs its tally when the session ends (the client's DELETE).
sessions=$([ -n "$NPM" ] && echo 2 || echo 1)
for _ in $(seq 30); do [ "$(grep -c "media: sent" "$WORK/host.log")" -ge "$sessions" ] && break; sleep 0.1; done
kill "$host" 2>/dev/null || true
wait "$host" 2>/dev/null || true
echo "--- host application log (media lines and tail)"
grep "media:" "$WORK/host.log" || true
tail -n 8 "$WORK/host.log"
if ! grep -q "media: sent [1-9][0-9]* video frames" "$WORK/host.log"; then
    echo "FAIL the app did not report video frames sent" >&2
    rc=1
fi
if ! grep -m1 "media: sent" "$WORK/host.log" | grep -q " 1 keyframe requests"; then
    echo "FAIL the app did not count the one keyframe request (PLI) aiortc sent" >&2
    rc=1
fi
exit $rc
