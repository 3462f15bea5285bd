//! Zero checksum (RFC 9653): each direction follows what its receiver announced.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn zero_checksum_is_one_directional() {
    // `b` accepts zero checksums, `a` does not: a sends zeros to b, b sends CRCs to a.
    let (mut a, mut b, mut sa, mut sb) = established(false, true);
    let ch = a.open_channel("z", "", ChannelOptions::default()).unwrap();
    a.send(ch, MessageKind::Binary, b"to b").unwrap();
    let to_b = drain(&mut a);
    assert!(
        to_b.iter()
            .all(|p| wire::check_checksum(p) == wire::Checksum::Zero)
    );
    for p in to_b {
        b.handle_packet(Instant::ZERO, &p);
    }
    let to_a = drain(&mut b);
    assert!(!to_a.is_empty());
    assert!(
        to_a.iter()
            .all(|p| wire::check_checksum(p) == wire::Checksum::Valid)
    );
    for p in to_a {
        a.handle_packet(Instant::ZERO, &p);
    }
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    events(&mut b, &mut sb);
    assert_eq!(sb.messages.len(), 1);
    // A zero checksum sent to `a`, which never announced it, is dropped.
    let ch_b = b
        .open_channel("back", "", ChannelOptions::default())
        .unwrap();
    b.send(ch_b, MessageKind::Binary, b"x").unwrap();
    let mut p = drain(&mut b).remove(0);
    wire::seal(&mut p, true);
    a.handle_packet(Instant::ZERO, &p);
    assert_eq!(a.stats().dropped_checksum, 1);
}
