//! The closing step of a data channel (RFC 8831 §6.7): the side whose peer resets its outgoing
//! stream first hears `ChannelClosing`, then `ChannelClosed` once its own reset is done; the
//! side that closed hears only the close (the browser's `closing`, then `close`).

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn a_peer_reset_is_reported_as_closing_before_closed() {
    let (mut a, mut b, mut sa, mut sb) = established(false, false);
    let ch = a
        .open_channel("chat", "", ChannelOptions::default())
        .unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!(sb.opened, [(ch, "chat".to_string())]);
    a.close_channel(ch);
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!(sb.channel_ends, [("closing", ch), ("closed", ch)]);
    assert_eq!(sa.channel_ends, [("closed", ch)]);
}
