#!/usr/bin/env bash
# IPv6 relayed candidates through coturn (Debian `coturn`) on loopback, in a lo-only namespace,
# CLI against CLI, both relay-only (RFC 8656 §7.1, RFC 6156):
#   1. coturn listening on ::1 with --relay-ip ::1 only: both CLIs on [::1] allocate with
#      REQUESTED-ADDRESS-FAMILY IPv6 (without it coturn's default is IPv4, which it cannot
#      relay on, and it answers 440); both relayed candidates are on ::1, the pair is relay/relay;
#   2. dual allocation: coturn on 127.0.0.1 and ::1 relaying on both; the offerer sits on
#      127.0.0.1 and asks its IPv4 server for ADDITIONAL-ADDRESS-FAMILY IPv6
#      (--turn-dual-stack): it signals an IPv4 and an IPv6 relayed candidate; the answerer on
#      [::1] has only an IPv6 relay; they meet IPv6 relay to IPv6 relay, the offerer's IPv4
#      socket carrying it to the server.
# Each case checks the 40 echoes, the relayed addresses signalled, the selected pair and
# coturn's log (the allocations it made and the family refusals).
. "$(dirname "$0")/../lib.sh"

section "peer: IPv6 TURN allocations through coturn (REQUESTED- and ADDITIONAL-ADDRESS-FAMILY)"
need_apt coturn

cd "$ROOT"
cargo build -q --release -p peerless --example cli
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/cli"
[ -x "$BIN" ] || { echo "cli not built at $BIN" >&2; exit 1; }

WORK="$(mktemp -d)"
[ -n "${KEEP_WORK:-}" ] || trap 'rm -rf "$WORK"' EXIT; echo "work: $WORK"

in_netns bash -c '
    BIN="$1"; WORK="$2"
    coturn() { # name port listening/relay options...
        local name="$1" port="$2"; shift 2
        turnserver -n "$@" --listening-port="$port" --min-port=49160 --max-port=49400 \
            --lt-cred-mech --user=alice:secret --realm=test --fingerprint \
            --allow-loopback-peers --no-multicast-peers --no-tls --no-dtls --no-cli \
            --verbose --log-file=stdout --simple-log > "$WORK/$name.log" 2>&1 &
        echo $!
    }
    s6=$(coturn v6 3478 --listening-ip=::1 --relay-ip=::1)
    sd=$(coturn dual 3479 --listening-ip=127.0.0.1 --listening-ip=::1 --relay-ip=127.0.0.1 --relay-ip=::1 --min-port=49401 --max-port=49600)
    for n in v6 dual; do
        for _ in $(seq 50); do grep -q "listener opened on" "$WORK/$n.log" 2>/dev/null && break; sleep 0.1; done
    done
    status=0
    run() { # case offerer-bind offerer-url offerer-extra answerer-bind answerer-url
        local c="$1" ob="$2" ou="$3" ox="$4" ab="$5" au="$6"
        local p="$WORK/$c" ICE="--ice-username alice --ice-credential secret --relay-only"
        timeout 60 "$BIN" answer --json --bind "$ab" --offer "$p-o.json" --answer-out "$p-a.json" \
            --duration 30 --summary "$p-s2.json" --ice-server "$au" $ICE > "$p-answer.log" 2>&1 &
        local answerer=$!
        timeout 60 "$BIN" offer --json --bind "$ob" --offer-out "$p-o.json" --answer-in "$p-a.json" \
            --count 40 --duration 30 --summary "$p-s1.json" --ice-server "$ou" $ICE $ox > "$p-offer.log" 2>&1
        offer_rc=$?
        wait $answerer; answer_rc=$?
        offer_relays="$(grep -o "typ relay" "$p-o.json" | wc -l)"
        offer_v6="$(grep -oE "udp [0-9]+ ::1 [0-9]+ typ relay" "$p-o.json" | wc -l)"
        offer_v4="$(grep -oE "udp [0-9]+ 127\.0\.0\.1 [0-9]+ typ relay" "$p-o.json" | wc -l)"
        answer_v6="$(grep -oE "udp [0-9]+ ::1 [0-9]+ typ relay" "$p-a.json" | wc -l)"
        pair="$(sed -n "s/.*\"selected_pair\":\"\([^\"]*\)\".*/\1/p" "$p-s1.json")"
        echo "     $c: offer has $offer_relays relayed candidates ($offer_v4 IPv4, $offer_v6 IPv6), answer $answer_v6 IPv6; offerer selected $pair"
        cat "$p-s1.json" 2>/dev/null
    }
    pair_ok() { [ $offer_rc -eq 0 ] && [ $answer_rc -eq 0 ] \
        && grep -q "\"selected_types\":\[\"relay\",\"relay\"\]" "$WORK/$1-s1.json" \
        && grep -q "\"selected_types\":\[\"relay\",\"relay\"\]" "$WORK/$1-s2.json" \
        && echo "$pair" | grep -q "\[::1\]:[0-9]*.*\[::1\]:[0-9]*"; }

    # 1. IPv6 only.
    run v6 "[::1]:0" "turn:[::1]:3478" "" "[::1]:0" "turn:[::1]:3478"
    if pair_ok v6 && [ "$offer_v6" -eq 1 ] && [ "$answer_v6" -eq 1 ]; then
        echo "ok   IPv6 allocations on ::1 (REQUESTED-ADDRESS-FAMILY): relay/relay on ::1, 40 echoes"
    else
        echo "FAIL IPv6 allocations: offer exit $offer_rc, answer exit $answer_rc"; tail -n 5 "$WORK/v6-offer.log" "$WORK/v6-answer.log"; status=1
    fi
    # 2. Dual allocation from an IPv4 socket.
    run dual "127.0.0.1:0" "turn:127.0.0.1:3479" "--turn-dual-stack" "[::1]:0" "turn:[::1]:3479"
    if pair_ok dual && [ "$offer_v4" -eq 1 ] && [ "$offer_v6" -eq 1 ] && [ "$answer_v6" -eq 1 ]; then
        echo "ok   dual allocation (ADDITIONAL-ADDRESS-FAMILY) from 127.0.0.1: IPv4 + IPv6 relayed candidates, IPv6 relay/relay, 40 echoes"
    else
        echo "FAIL dual allocation: offer exit $offer_rc, answer exit $answer_rc"; tail -n 5 "$WORK/dual-offer.log" "$WORK/dual-answer.log"; status=1
    fi
    for n in v6 dual; do
        echo "coturn $n: $(grep -c "ALLOCATE processed, success" "$WORK/$n.log") allocations," \
            "$(grep -c "CHANNEL_BIND processed, success" "$WORK/$n.log") channel binds," \
            "$(grep -ci "error 440\|address family" "$WORK/$n.log") address-family refusals"
    done
    kill $s6 $sd 2>/dev/null; wait $s6 $sd 2>/dev/null
    [ $status -eq 0 ] || { echo "--- coturn logs"; tail -n 20 "$WORK/v6.log" "$WORK/dual.log"; }
    exit $status' sh "$BIN" "$WORK"
