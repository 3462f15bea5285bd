//! A candidate's text (`Candidate::write_to`, which its `Display` is) is byte-identical to what
//! the `format!`-built writer it replaced produced, for random candidates of every shape (IPv4,
//! IPv6 and IPv4-mapped addresses, related addresses, TCP types, every optional extension), and
//! parses back to the same candidate.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use peerless_ice::{Candidate, CandidateType, Str, TcpType, Transport};
use proptest::prelude::*;

/// The writer before `core::fmt` left it, kept here as the reference.
fn reference(c: &Candidate) -> String {
    let mut s = format!(
        "candidate:{} {} {} {} {} {} typ {}",
        c.foundation.as_str(),
        c.component,
        match c.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        },
        c.priority,
        c.address.ip(),
        c.address.port(),
        c.kind.as_str()
    );
    if let Some(r) = c.related {
        s += &format!(" raddr {} rport {}", r.ip(), r.port());
    }
    if let Some(t) = c.tcp_type {
        s += match t {
            TcpType::Active => " tcptype active",
            TcpType::Passive => " tcptype passive",
            _ => " tcptype so",
        };
    }
    if let Some(g) = c.generation {
        s += &format!(" generation {g}");
    }
    if let Some(u) = &c.ufrag {
        s += &format!(" ufrag {}", u.as_str());
    }
    if let Some(n) = c.network_id {
        s += &format!(" network-id {n}");
    }
    if let Some(n) = c.network_cost {
        s += &format!(" network-cost {n}");
    }
    s
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<u128>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        // Mostly-zero groups: every "::" shape.
        proptest::array::uniform8(prop_oneof![3 => Just(0u16), 1 => any::<u16>()])
            .prop_map(|g| IpAddr::V6(Ipv6Addr::from(g))),
        any::<u32>().prop_map(|b| IpAddr::V6(Ipv4Addr::from(b).to_ipv6_mapped())),
    ]
}

prop_compose! {
    fn candidate()(
        foundation in "[a-zA-Z0-9+/]{1,32}",
        component in 1u16..=256,
        tcp in any::<bool>(),
        priority in any::<u32>(),
        address in (ip(), any::<u16>()),
        kind in 0u8..4,
        related in proptest::option::of((ip(), any::<u16>())),
        tcp_type in proptest::option::of(0u8..3),
        generation in proptest::option::of(any::<u32>()),
        ufrag in proptest::option::of("[a-zA-Z0-9+/]{4,32}"),
        network_id in proptest::option::of(any::<u32>()),
        network_cost in proptest::option::of(any::<u32>()),
    ) -> Candidate {
        Candidate {
            foundation: Str::copy_from(&foundation).unwrap(),
            component,
            transport: if tcp { Transport::Tcp } else { Transport::Udp },
            priority,
            address: SocketAddr::new(address.0, address.1),
            kind: [
                CandidateType::Host,
                CandidateType::ServerReflexive,
                CandidateType::PeerReflexive,
                CandidateType::Relayed,
            ][usize::from(kind)],
            related: related.map(|(ip, port)| SocketAddr::new(ip, port)),
            tcp_type: tcp_type.map(|t| [TcpType::Active, TcpType::Passive, TcpType::So][usize::from(t)]),
            generation,
            ufrag: ufrag.map(|u| Str::copy_from(&u).unwrap()),
            network_id,
            network_cost,
        }
    }
}

proptest! {
    #[test]
    fn text_equals_the_format_writer(c in candidate()) {
        let mut written = String::new();
        c.write_to(&mut written).unwrap();
        prop_assert_eq!(&written, &reference(&c));
        prop_assert_eq!(&c.to_string(), &written);
        prop_assert_eq!(Candidate::parse(&written), Ok(c));
    }
}

#[test]
fn known_answers() {
    for line in [
        "candidate:3440189946 1 udp 2122260223 127.0.0.1 49259 typ host generation 0 network-id 1 network-cost 50",
        "candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 rport 52000 generation 0 ufrag EsAw",
        "candidate:1 1 udp 2122252543 2001:db8::1:0:0:1 36489 typ host",
        "candidate:2 1 tcp 1518280447 ::ffff:192.0.2.1 9 typ host tcptype active",
        "candidate:3 2 udp 255 fe80::1 3478 typ relay raddr :: rport 0 network-cost 999",
    ] {
        let c = Candidate::parse(line).unwrap();
        let mut written = String::new();
        c.write_to(&mut written).unwrap();
        assert_eq!(written, line);
    }
}
