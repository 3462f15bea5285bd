//! `peerless_base::text::Ascii` writes the same bytes as `core::fmt`: integers as `format!`
//! writes them, IPv4 and IPv6 addresses as `core::net`'s `Display` (RFC 5952), for random
//! values and for addresses built to hit every zero-run shape.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use peerless_base::text::Ascii;
use proptest::prelude::*;

fn text(a: Ascii) -> String {
    a.as_str().to_owned()
}

/// Groups that are mostly zero, so runs of every length and place come up often.
fn sparse_groups() -> impl Strategy<Value = [u16; 8]> {
    proptest::array::uniform8(prop_oneof![
        4 => Just(0u16),
        1 => Just(0xffffu16),
        2 => any::<u16>(),
        1 => 1u16..16,
    ])
}

proptest! {
    #[test]
    fn integers_equal_format(v in any::<u64>(), small in any::<u16>(), width in 0usize..20) {
        prop_assert_eq!(text(Ascii::decimal(v)), format!("{v}"));
        prop_assert_eq!(text(Ascii::decimal(u64::from(small))), format!("{small}"));
        prop_assert_eq!(text(Ascii::hex(v, width)), format!("{v:0width$x}"));
        prop_assert_eq!(text(Ascii::hex_upper(v, width)), format!("{v:0width$X}"));
        prop_assert_eq!(text(Ascii::hex(u64::from(small as u8), 2)), format!("{:02x}", small as u8));
    }

    #[test]
    fn ipv6_equals_core_net_display(bits in any::<u128>(), groups in sparse_groups()) {
        for ip in [Ipv6Addr::from(bits), Ipv6Addr::from(groups)] {
            prop_assert_eq!(text(Ascii::ipv6(ip)), ip.to_string());
            prop_assert_eq!(text(Ascii::ip(IpAddr::V6(ip))), ip.to_string());
        }
        // IPv4-mapped and IPv4-compatible forms of a random IPv4 address.
        let v4 = Ipv4Addr::from(bits as u32);
        for ip in [v4.to_ipv6_mapped(), v4.to_ipv6_compatible()] {
            prop_assert_eq!(text(Ascii::ipv6(ip)), ip.to_string());
        }
    }

    #[test]
    fn ipv4_equals_core_net_display(bits in any::<u32>()) {
        let ip = Ipv4Addr::from(bits);
        prop_assert_eq!(text(Ascii::ipv4(ip)), ip.to_string());
        prop_assert_eq!(text(Ascii::ip(IpAddr::V4(ip))), ip.to_string());
    }
}
