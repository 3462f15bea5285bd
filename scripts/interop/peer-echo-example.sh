#!/usr/bin/env bash
# The smallest host (peer/examples/echo.rs) and the same host on tokio (tokio_echo.rs) against
# the interop CLI: the CLI offers, sends text and binary messages (one of 60 000 bytes) and
# checks every echo; the host answers from stdin and echoes. Loopback only, in a fresh network
# namespace, once per host.
. "$(dirname "$0")/../lib.sh"
cd "$ROOT"
cargo build -q --release -p peerless --example echo --example tokio_echo --example cli
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples"
failed=0
for host in echo tokio_echo; do
dir=$(mktemp -d)
in_netns sh -c '
    bin=$1 dir=$2
    timeout 60 "$bin/cli" offer --offer-out "$dir/offer" --answer-in "$dir/answer" --count 20 \
        --duration 30 --summary "$dir/summary.json" & cli=$!
    # Every wait is bounded: 20 s for the offer (the CLI writes it at once), 20 s for the
    # answer; a host that never answers fails the run instead of hanging CI.
    i=0
    while [ ! -s "$dir/offer" ]; do
        i=$((i + 1)); [ $i -le 200 ] || { echo "no offer from the CLI in 20 s"; kill $cli; exit 1; }
        sleep 0.1
    done
    sleep 0.2
    timeout 40 "$bin/$3" < "$dir/offer" > "$dir/answer.tmp" & echo=$!
    # The CLI reads the answer once it stops changing; hand it over whole.
    i=0
    while ! grep -q "^a=end-of-candidates" "$dir/answer.tmp" 2>/dev/null; do
        i=$((i + 1))
        [ $i -le 400 ] || { echo "no complete answer from $3 in 20 s"; kill $cli $echo 2>/dev/null; exit 1; }
        sleep 0.05
    done
    mv "$dir/answer.tmp" "$dir/answer"
    wait $cli; status=$?
    kill $echo 2>/dev/null
    exit $status
' sh "$bin" "$dir" "$host"
status=$?
cat "$dir/summary.json" 2>/dev/null; echo
if [ $status -eq 0 ]; then echo "peer-echo-example ($host): OK"; else echo "peer-echo-example ($host): FAILED ($status)"; fi
rm -rf "$dir"
[ $status -eq 0 ] || failed=1
done
exit $failed
