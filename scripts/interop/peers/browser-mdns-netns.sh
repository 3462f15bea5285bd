#!/usr/bin/env bash
# The network of scripts/interop/peer-chromium-mdns.sh and peer-firefox-mdns.sh: a fresh network
# namespace with a veth pair (both ends inside it: it reaches nothing but itself), 10.255.0.1 and
# the default route on pl0 (browsers start their mDNS sockets only on a non-loopback interface),
# and nft rules that make the mDNS path the only one (peers/peer-browser-mdns.mjs says which):
#   CLI port 40000 (the browser offers) and 40002 (the same without --mdns, the control): every
#     STUN Binding request reaching it is dropped until the CLI has sent one to that address;
#   CLI port 40001 (we offer): every Binding request the CLI sends is dropped until one from
#     that address has arrived.
# Usage: browser-mdns-netns.sh CLI NPM_DIR WORK chromium|firefox. Prints the nft drop counts.
set -u
ROOT="${ROOT:?}"
WORK=$3
if ! unshare --net -- sh -c 'ip link add pl0 type veth peer name pl1' 2>/dev/null; then
    echo "FAIL no veth pairs in a network namespace here: the browser cannot hide a host address"
    exit 1
fi
cat > "$WORK/rules.nft" <<'NFT'
table ip mdnstest {
    # Peers that have sent a STUN Binding request (first two payload bytes 0x0001).
    set checked_by_cli { type ipv4_addr; flags dynamic; }
    set checked_cli { type ipv4_addr; flags dynamic; }
    chain out {
        type filter hook output priority 0; policy accept;
        # 1 (and 0, the control): the CLI (port 40000, 40002) has sent a check to this address.
        udp sport { 40000, 40002 } @th,64,16 0x0001 add @checked_by_cli { ip daddr }
        # 2: the CLI's (port 40001) checks are dropped until the browser's check came in.
        udp sport 40001 @th,64,16 0x0001 ip daddr != @checked_cli counter name dropped2 drop
    }
    chain in {
        type filter hook input priority 0; policy accept;
        # 1: the browser's checks to the CLI are dropped until the CLI sent one.
        udp dport 40000 @th,64,16 0x0001 ip saddr != @checked_by_cli counter name dropped1 drop
        udp dport 40002 @th,64,16 0x0001 ip saddr != @checked_by_cli counter name dropped0 drop
        udp dport 40001 @th,64,16 0x0001 add @checked_cli { ip saddr }
    }
    counter dropped0 {}
    counter dropped1 {}
    counter dropped2 {}
}
NFT
# shellcheck disable=SC2016
unshare --net -- sh -c 'ip link set lo up && ip link add pl0 type veth peer name pl1 &&
    ip addr add 10.255.0.1/24 dev pl0 && ip link set pl0 up && ip link set pl1 up &&
    ip route add default dev pl0 && nft -f "$1" && shift &&
    timeout 150 node "$@"; r=$?;
    nft list counters table ip mdnstest | awk "/counter/ { n = \$2 } /packets/ { print \"nft: \" n \": \" \$2 \" Binding requests dropped\" }";
    exit $r' sh "$WORK/rules.nft" "$ROOT/scripts/interop/peers/peer-browser-mdns.mjs" "$@"
