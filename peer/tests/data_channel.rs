//! `RTCDataChannel` through its handle: every init property readable, readyState through the
//! channel's life, sending and closing from the handle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Ev, Pair, certs, peer};
use peerless::{ChannelId, ChannelInit, ChannelOptions, MessageKind, ReadyState, Reliability};

fn connected() -> Pair {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    pair.signal();
    pair
}

fn remote_id(pair: &Pair, label: &str) -> ChannelId {
    pair.events_b
        .iter()
        .find_map(|e| match e {
            Ev::Open {
                channel,
                label: l,
                remote: true,
            } if l == label => Some(ChannelId(*channel)),
            _ => None,
        })
        .unwrap()
}

#[test]
fn every_init_property_is_readable_on_both_sides() {
    let mut pair = connected();
    let init = ChannelInit {
        options: ChannelOptions {
            ordered: false,
            reliability: Reliability::MaxRetransmits(3),
            priority: 512,
            negotiated: None,
        },
        protocol: "chat-v2",
    };
    let id = pair.a.create_data_channel("lossy", init).unwrap();
    let timed = ChannelInit {
        options: ChannelOptions {
            reliability: Reliability::MaxLifetime(1500),
            ..ChannelOptions::default()
        },
        protocol: "",
    };
    let timed_id = pair.a.create_data_channel("timed", timed).unwrap();
    {
        let c = pair.a.channel(id).unwrap();
        assert_eq!(c.ready_state(), ReadyState::Connecting);
        assert_eq!((c.label(), c.protocol()), ("lossy", "chat-v2"));
        assert!(!c.ordered());
        assert_eq!(c.max_retransmits(), Some(3));
        assert_eq!(c.max_packet_life_time(), None);
        assert!(!c.negotiated() && !c.is_remote());
        assert_eq!(c.priority(), 512);
    }
    assert!(pair.run_until(Duration::from_secs(10), |p| {
        p.a.channel(id).unwrap().ready_state() == ReadyState::Open
            && p.events_b
                .iter()
                .filter(|e| matches!(e, Ev::Open { .. }))
                .count()
                == 2
    }));
    let stream = pair.a.channel(id).unwrap().stream_id().unwrap();
    // The DTLS client (the answerer here) uses even stream ids, so the offerer's are odd.
    assert_eq!(stream % 2, 1);
    let rid = remote_id(&pair, "lossy");
    let r = pair.b.channel(rid).unwrap();
    assert_eq!(r.ready_state(), ReadyState::Open);
    assert_eq!((r.label(), r.protocol()), ("lossy", "chat-v2"));
    assert!(!r.ordered() && r.is_remote());
    assert_eq!(r.max_retransmits(), Some(3));
    assert_eq!(r.priority(), 512);
    assert_eq!(r.stream_id(), Some(stream));
    let rt = remote_id(&pair, "timed");
    assert_eq!(
        pair.b.channel(rt).unwrap().max_packet_life_time(),
        Some(1500)
    );
    assert_eq!(pair.a.channel(timed_id).unwrap().max_retransmits(), None);
}

#[test]
fn the_handle_sends_closes_and_reports_each_ready_state() {
    let mut pair = connected();
    let id = pair
        .a
        .create_data_channel("chat", ChannelInit::default())
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.a.is_open(id)));
    let rid = remote_id(&pair, "chat");
    {
        let mut c = pair.a.channel(id).unwrap();
        c.send_text("hello").unwrap();
        c.send(&[1, 2, 3]).unwrap();
        c.send_message(MessageKind::Text, b"again").unwrap();
        assert_eq!(c.stats().messages_sent, 3);
    }
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_b
            .iter()
            .filter(|e| matches!(e, Ev::Message { .. }))
            .count()
            == 3
    }));
    let got: Vec<(bool, Vec<u8>)> = pair
        .events_b
        .iter()
        .filter_map(|e| match e {
            Ev::Message { binary, data, .. } => Some((*binary, data.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        [
            (false, b"hello".to_vec()),
            (true, vec![1, 2, 3]),
            (false, b"again".to_vec())
        ]
    );
    assert_eq!(pair.b.channel(rid).unwrap().stats().messages_received, 3);

    pair.a.channel(id).unwrap().close().unwrap();
    assert_eq!(
        pair.a.channel(id).unwrap().ready_state(),
        ReadyState::Closing
    );
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_a.contains(&Ev::Closed(id.0)) && p.events_b.contains(&Ev::Closed(rid.0))
    }));
    // Once its close is handed out, the channel is gone: no handle.
    assert!(pair.a.channel(id).is_none());
    assert!(pair.b.channel(rid).is_none());
}
