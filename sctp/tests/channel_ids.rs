//! Channel ids: negotiated channels, the DTLS-role parity of ids (RFC 8832 §6), and the
//! buffered-amount-low event.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn negotiated_channels_parity_and_buffered_amount_low() {
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    // Out-of-band channel with an agreed id: no DCEP, both ends just use it.
    let options = ChannelOptions {
        negotiated: Some(StreamId(7)),
        ..ChannelOptions::default()
    };
    assert_eq!(a.open_channel("n", "", options), Ok(StreamId(7)));
    assert_eq!(b.open_channel("n", "", options), Ok(StreamId(7)));
    assert_eq!(
        a.open_channel("dup", "", options),
        Err(peerless_sctp::ChannelError::IdUnavailable)
    );
    a.send(StreamId(7), MessageKind::Text, b"negotiated")
        .unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!(
        sb.messages,
        vec![(StreamId(7), MessageKind::Text, b"negotiated".to_vec())]
    );
    assert!(sb.opened.is_empty(), "no DCEP for negotiated channels");

    // Ids follow the DTLS role: the client picks even ids, the server odd ones.
    let even = a.open_channel("e", "", ChannelOptions::default()).unwrap();
    let odd = b.open_channel("o", "", ChannelOptions::default()).unwrap();
    assert_eq!((even.0 % 2, odd.0 % 2), (0, 1));
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert!(sb.opened.iter().any(|(id, l)| *id == even && l == "e"));
    assert!(sa.opened.iter().any(|(id, l)| *id == odd && l == "o"));

    // A DATA_CHANNEL_OPEN with the receiver's own parity is refused.
    let (mut c, mut d, mut sc, mut sd) = established(true, true);
    // `d` is the DTLS server, so it must not accept an odd id from its peer: make `c` open one
    // by negotiating the id on its side only and sending a DCEP OPEN by hand.
    let options = ChannelOptions {
        negotiated: Some(StreamId(3)),
        ..ChannelOptions::default()
    };
    c.open_channel("odd", "", options).unwrap();
    let mut open = [0u8; 64];
    let mut w = Writer::new(&mut open);
    peerless_sctp::dcep::Message::Open(peerless_sctp::dcep::Open {
        channel_type: peerless_sctp::dcep::ChannelType::RELIABLE,
        priority: 256,
        reliability: 0,
        label: "bad",
        protocol: "",
    })
    .emit(&mut w);
    let n = w.finish().unwrap();
    // Send it as a user message, then turn the DATA chunk's PPID into DCEP (50) on the wire:
    // the server sees a DATA_CHANNEL_OPEN for an odd id, which is its own parity.
    c.send(StreamId(3), MessageKind::Binary, &open[..n])
        .unwrap();
    let mut packet = drain(&mut c).remove(0);
    assert_eq!(first_chunk_type(&packet), ChunkType::DATA);
    packet[24..28].copy_from_slice(&50u32.to_be_bytes());
    wire::seal(&mut packet, false);
    d.handle_packet(Instant::ZERO, &packet);
    exchange(&mut c, &mut d, &mut sc, &mut sd, Instant::ZERO);
    events(&mut d, &mut sd);
    assert!(sd.opened.is_empty(), "wrong-parity OPEN accepted");
    assert_eq!(d.stats().refused_channels, 1, "{:?}", d.stats());
    assert_eq!(d.stats().messages_received, 0);
    assert_eq!(
        d.stats().local_rwnd,
        64 * 1024,
        "the refused OPEN was released"
    );

    // bufferedAmount counts bytes not yet sent; the low-threshold event fires as it drains.
    let ch = a
        .open_channel("bulk", "", ChannelOptions::default())
        .unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    a.set_buffered_amount_low_threshold(ch, 1000);
    for _ in 0..20 {
        a.send(ch, MessageKind::Binary, &[1; 1000]).unwrap();
    }
    assert_eq!(a.buffered_amount(ch), 20_000);
    let mut low = 0;
    for _ in 0..50 {
        let from_a = drain(&mut a);
        for p in from_a {
            b.handle_packet(Instant::ZERO, &p);
        }
        for p in drain(&mut b) {
            a.handle_packet(Instant::ZERO, &p);
        }
        while let Some(e) = a.poll_event() {
            if e == Event::BufferedAmountLow(ch) {
                low += 1;
            }
        }
        events(&mut b, &mut sb);
    }
    assert_eq!(a.buffered_amount(ch), 0);
    assert_eq!(low, 1);
}
