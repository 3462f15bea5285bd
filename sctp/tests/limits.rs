//! Limits: the size of the machine, messages larger than the peer or the storage allows,
//! and any clock the host passes.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn size_of_an_association_with_the_default_configuration() {
    let size = core::mem::size_of::<Association>();
    println!("size_of::<Association>() = {size} bytes");
    // The target: at most 16 KiB beyond the message storage the user lends.
    assert!(size <= 16 * 1024, "{size}");
}

#[test]
fn messages_beyond_the_limits_are_refused_cleanly() {
    // The sender refuses what is larger than the peer's max-message-size or its storage.
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    let ch = a
        .open_channel("big", "", ChannelOptions::default())
        .unwrap();
    a.set_remote_max_message_size(1000);
    assert_eq!(
        a.send(ch, MessageKind::Binary, &[0; 1001]),
        Err(SendError::TooLarge)
    );
    a.set_remote_max_message_size(0);
    assert_eq!(
        a.send(ch, MessageKind::Binary, &vec![0; 200 * 1024]),
        Err(SendError::TooLarge)
    );
    assert_eq!(
        a.send(StreamId(9999), MessageKind::Binary, b"x"),
        Err(SendError::UnknownChannel)
    );
    // Empty messages use the empty PPIDs and arrive empty.
    a.send(ch, MessageKind::Binary, b"").unwrap();
    a.send(ch, MessageKind::Text, b"").unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!(
        sb.messages,
        vec![
            (ch, MessageKind::Binary, vec![]),
            (ch, MessageKind::Text, vec![])
        ]
    );

    // A receiver whose storage is smaller than a message it is sent: ABORT, never a panic.
    let (mut a, mut small) = (
        assoc(DtlsRole::Client, 7, 8192),
        assoc(DtlsRole::Server, 8, 4096),
    );
    let (mut sa, mut ss) = (Seen::default(), Seen::default());
    a.connect(Instant::ZERO);
    exchange(&mut a, &mut small, &mut sa, &mut ss, Instant::ZERO);
    let ch = a.open_channel("c", "", ChannelOptions::default()).unwrap();
    exchange(&mut a, &mut small, &mut sa, &mut ss, Instant::ZERO);
    a.send(ch, MessageKind::Binary, &[7; 10_000]).unwrap();
    let mut now = Instant::ZERO;
    for _ in 0..40 {
        exchange(&mut a, &mut small, &mut sa, &mut ss, now);
        if ss.closed.is_some() {
            break;
        }
        now = [a.poll_timeout(), small.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
        a.handle_timeout(now);
        small.handle_timeout(now);
    }
    assert_eq!(ss.closed, Some(CloseReason::MessageTooLarge));
    exchange(&mut a, &mut small, &mut sa, &mut ss, now);
    assert_eq!(sa.closed, Some(CloseReason::PeerAbort));
}

#[test]
fn any_clock_the_host_passes_is_survived() {
    // Time jumping far ahead, standing still, or going backwards never panics (overflow
    // checks are on in this build) and leaves a working association.
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    let ch = a.open_channel("t", "", ChannelOptions::default()).unwrap();
    a.send(ch, MessageKind::Binary, &[1; 5000]).unwrap();
    let far = Instant::from_secs(1 << 40);
    for now in [far, Instant::ZERO, Instant::MAX, far] {
        for p in drain(&mut a) {
            b.handle_packet(now, &p);
        }
        for p in drain(&mut b) {
            a.handle_packet(now, &p);
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
        events(&mut a, &mut sa);
        events(&mut b, &mut sb);
    }
    assert!(sb.messages.iter().any(|m| m.2.len() == 5000));
    assert!(a.stats().rto <= core::time::Duration::from_secs(10));
}
