# Run by scripts/interop/embedded-host-aiortc.sh inside its fresh network namespace:
#   bash embedded-host-aiortc-netns.sh HOST_APP WORK PYTHON CLIENT_PY
set -eu
BIN=$1 WORK=$2 PY=$3 CLIENT=$4
ip tuntap add dev tap0 mode tap
ip addr add 192.0.2.1/24 dev tap0
ip link set tap0 up
# Nothing here may leave the namespace: no default route, only lo and tap0.
"$BIN" --tap tap0 --address 192.0.2.2/24 --duration 120 >"$WORK/host.log" 2>&1 &
host=$!
for _ in $(seq 50); do
    (exec 3<>/dev/tcp/192.0.2.2/8080) 2>/dev/null && break
    sleep 0.1
done
rc=0
timeout 110 "$PY" "$CLIENT" || rc=$?
kill "$host" 2>/dev/null || true
wait "$host" 2>/dev/null || true
echo "--- host application log (tail)"
tail -n 25 "$WORK/host.log"
if ! grep -q "a new offer replaces the session" "$WORK/host.log"; then
    echo "FAIL the third offer did not replace the running session" >&2
    rc=1
fi
if ! grep -q "session deleted" "$WORK/host.log"; then
    echo "FAIL the DELETE did not end the session" >&2
    rc=1
fi
exit $rc
