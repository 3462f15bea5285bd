#!/usr/bin/env bash
# Interop: aioice (PyPI; the ICE library under aiortc) connects to peerless's ICE agent over
# loopback UDP, once with each side controlling. Credentials and candidates go through files;
# both sides must select the same pair and receive the other's datagrams on it.
. "$(dirname "$0")/../lib.sh"

section "ice: aioice interop"
need_pip aioice
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build -q -p peerless-ice --example ice_udp
BIN="$CARGO_TARGET_DIR/debug/examples/ice_udp"
PY="$ROOT/scripts/interop/peers/ice-aioice.py"

run_case() {
    local ours="$1" theirs="$2" dir
    dir="$(mktemp -d)"
    echo "--- peerless $ours, aioice $theirs"
    # Both in one lo-only namespace: nothing can leave the machine.
    if in_netns sh -c '
        "$1" "$2" "$4" > "$4/rust.log" 2>&1 & rust=$!
        timeout 40 "$5" "$6" "$3" "$4" > "$4/py.log" 2>&1; py=$?
        wait $rust; rs=$?
        exit $(( py != 0 || rs != 0 ))' sh "$BIN" "$ours" "$theirs" "$dir" "$VENV/bin/python" "$PY"; then
        grep -h "OK\|selected\|nominated" "$dir/rust.log" "$dir/py.log"
        # The same pair on both sides: ours local->remote is aioice's remote<-local.
        local ours_pair theirs_pair
        ours_pair="$(grep -o 'selected 127.0.0.1:[0-9]* -> 127.0.0.1:[0-9]*' "$dir/rust.log" | tail -1 | sed 's/selected //; s/ -> /,/')"
        theirs_pair="$(grep -o "nominated CandidatePair(('127.0.0.1', [0-9]*) -> ('127.0.0.1', [0-9]*))" "$dir/py.log" \
            | sed -E "s/.*'127.0.0.1', ([0-9]+)\) -> \('127.0.0.1', ([0-9]+).*/127.0.0.1:\2,127.0.0.1:\1/")"
        if [ -z "$ours_pair" ] || [ "$ours_pair" != "$theirs_pair" ]; then
            echo "FAILED: pairs differ: peerless [$ours_pair] aioice [$theirs_pair]"; exit 1
        fi
        echo "same pair on both sides: $ours_pair"
        rm -rf "$dir"
    else
        echo "FAILED: peerless $ours / aioice $theirs"
        echo "--- rust"; cat "$dir/rust.log"; echo "--- aioice"; cat "$dir/py.log"
        exit 1
    fi
}

run_case controlling controlled
run_case controlled controlling
echo "ice-aioice: both roles OK"
