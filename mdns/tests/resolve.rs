//! The querier against the responder through the five verbs: resolution, the RFC 6762 §5.2
//! schedule (1 s, then doubling, 3 tries, failure at 5 s), a full table, and answers for other
//! names counted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::net::SocketAddr;

use peerless_base::Instant;
use peerless_mdns::{
    Event, GROUP_V4, Message, PublishError, Querier, QuerierConfig, QueryError, RecordType,
    Responder, emit_response,
};

const NAME: &str = "5f0b8f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b.local";

fn ours() -> SocketAddr {
    "127.0.0.1:5353".parse().unwrap()
}

fn drain(q: &mut Querier<4>, now: Instant) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    q.handle_timeout(now);
    while let Some(t) = q.poll_transmit(&mut buf).unwrap() {
        assert_eq!((t.source, t.destination), (ours(), GROUP_V4));
        out.push(t.payload.to_vec());
    }
    out
}

#[test]
fn resolves_through_a_responder() {
    let mut q = Querier::<4>::new(QuerierConfig::default(), Instant::ZERO);
    q.add_socket(ours()).unwrap();
    let theirs: SocketAddr = "127.0.0.2:5353".parse().unwrap();
    let mut r = Responder::<2>::new(Instant::ZERO);
    r.add_socket(theirs).unwrap();
    r.publish(NAME, "127.0.0.2".parse().unwrap()).unwrap();
    r.publish("other.local", "127.0.0.3".parse().unwrap())
        .unwrap();
    q.query(Instant::ZERO, &NAME.to_uppercase()).unwrap();
    let sent = drain(&mut q, Instant::ZERO);
    assert_eq!(sent.len(), 2, "an A and an AAAA query");
    for query in &sent {
        r.handle_packet(Instant::ZERO, ours(), GROUP_V4, query);
    }
    let mut buf = [0u8; 512];
    let t = r.poll_transmit(&mut buf).unwrap().unwrap();
    assert_eq!(
        t.destination, GROUP_V4,
        "a query from port 5353 is answered by multicast"
    );
    q.handle_packet(Instant::from_millis(3), theirs, t.payload);
    assert!(
        r.poll_transmit(&mut buf).unwrap().is_none(),
        "one name asked, one answer (no AAAA record: the AAAA query goes unanswered)"
    );
    match q.poll_event() {
        Some(Event::Resolved { name, addr }) => {
            assert!(name.eq_ignore_case(NAME));
            assert_eq!(addr, "127.0.0.2".parse::<core::net::IpAddr>().unwrap());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(q.poll_event(), None);
    assert_eq!(q.poll_timeout(), None, "nothing left to do");
    assert_eq!(q.stats().resolved, 1);
}

/// A responder with room for UUID names only (42 bytes, what a Peer publishes) answers for
/// one, refuses a longer name, and says which name hides an address.
#[test]
fn a_responder_sized_for_uuid_names_answers_and_refuses_longer_ones() {
    let theirs: SocketAddr = "127.0.0.2:5353".parse().unwrap();
    let mut r = Responder::<2, 42>::new(Instant::ZERO);
    r.add_socket(theirs).unwrap();
    assert!(!r.is_publishing());
    assert_eq!(
        r.publish(
            "5f0b8f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b-x.local",
            "127.0.0.4".parse().unwrap()
        ),
        Err(PublishError::TooLong)
    );
    r.publish(NAME, "127.0.0.2".parse().unwrap()).unwrap();
    assert!(r.is_publishing());
    assert_eq!(r.name_for("127.0.0.2".parse().unwrap()), Some(NAME));
    assert_eq!(r.name_for("127.0.0.4".parse().unwrap()), None);
    let mut q = Querier::<4>::new(QuerierConfig::default(), Instant::ZERO);
    q.add_socket(ours()).unwrap();
    q.query(Instant::ZERO, NAME).unwrap();
    for query in drain(&mut q, Instant::ZERO) {
        r.handle_packet(Instant::ZERO, ours(), theirs, &query);
    }
    let mut buf = [0u8; 512];
    let t = r.poll_transmit(&mut buf).unwrap().unwrap();
    assert_eq!((t.source, t.destination), (theirs, GROUP_V4));
    q.handle_packet(Instant::ZERO, theirs, t.payload);
    assert!(matches!(q.poll_event(), Some(Event::Resolved { .. })));
}

#[test]
fn retransmits_at_one_then_two_seconds_and_fails_at_five() {
    let mut q = Querier::<4>::new(QuerierConfig::default(), Instant::ZERO);
    q.add_socket(ours()).unwrap();
    q.query(Instant::ZERO, NAME).unwrap();
    let mut sends = Vec::new();
    let mut now = Instant::ZERO;
    let mut failed_at = None;
    for _ in 0..20 {
        for _ in drain(&mut q, now) {
            sends.push(now.as_millis());
        }
        if let Some(Event::Failed { name }) = q.poll_event() {
            assert_eq!(name.as_str(), NAME);
            failed_at = Some(now.as_millis());
            break;
        }
        let Some(next) = q.poll_timeout() else { break };
        now = next;
    }
    // Each try is an A and an AAAA query.
    assert_eq!(sends, vec![0, 0, 1000, 1000, 3000, 3000]);
    assert_eq!(failed_at, Some(5000));
    assert_eq!((q.stats().failed, q.stats().queries_sent), (1, 6));
}

#[test]
fn answers_for_other_names_and_garbage_are_counted() {
    let mut q = Querier::<4>::new(QuerierConfig::default(), Instant::ZERO);
    q.add_socket(ours()).unwrap();
    q.query(Instant::ZERO, NAME).unwrap();
    let mut buf = [0u8; 512];
    let n = emit_response(
        &mut buf,
        "someone-else.local",
        "127.0.0.9".parse().unwrap(),
        120,
    )
    .unwrap();
    q.handle_packet(Instant::ZERO, ours(), &buf[..n]);
    q.handle_packet(Instant::ZERO, ours(), &[1, 2, 3]);
    // A goodbye (TTL 0) for our name is not an address.
    let n = emit_response(&mut buf, NAME, "127.0.0.9".parse().unwrap(), 0).unwrap();
    q.handle_packet(Instant::ZERO, ours(), &buf[..n]);
    assert_eq!(q.poll_event(), None);
    let s = q.stats();
    assert_eq!(
        (s.answers_unmatched, s.dropped_malformed, s.resolved),
        (1, 1, 0)
    );
}

#[test]
fn table_full_and_no_socket_are_errors() {
    let mut q = Querier::<2>::new(QuerierConfig::default(), Instant::ZERO);
    assert_eq!(q.query(Instant::ZERO, "a.local"), Err(QueryError::NoSocket));
    q.add_socket(ours()).unwrap();
    q.query(Instant::ZERO, "a.local").unwrap();
    q.query(Instant::ZERO, "A.local").unwrap(); // the same name: no new slot
    q.query(Instant::ZERO, "b.local").unwrap();
    assert_eq!(q.query(Instant::ZERO, "c.local"), Err(QueryError::Full));
    assert!(matches!(
        q.query(Instant::ZERO, "c.example"),
        Err(QueryError::Name(_))
    ));
    assert_eq!(q.pending(), 2);
}

#[test]
fn legacy_one_shot_query_gets_a_unicast_reply() {
    let theirs: SocketAddr = "127.0.0.2:5353".parse().unwrap();
    let one_shot: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let mut q = Querier::<4>::new(QuerierConfig::default(), Instant::ZERO);
    q.add_socket(one_shot).unwrap();
    let mut r = Responder::<2>::new(Instant::ZERO);
    r.add_socket(theirs).unwrap();
    r.publish(NAME, "127.0.0.2".parse().unwrap()).unwrap();
    q.query(Instant::ZERO, NAME).unwrap();
    let mut buf = [0u8; 512];
    let t = q.poll_transmit(&mut buf).unwrap().unwrap();
    let payload = t.payload.to_vec();
    r.handle_packet(Instant::ZERO, one_shot, GROUP_V4, &payload);
    let t = r.poll_transmit(&mut buf).unwrap().unwrap();
    assert_eq!(t.destination, one_shot);
    q.handle_packet(Instant::ZERO, theirs, t.payload);
    assert!(matches!(q.poll_event(), Some(Event::Resolved { .. })));
}

/// A peer that hides only an IPv6 address behind its name: its responder answers AAAA
/// questions only (A has no record), so the querier's AAAA query resolves it. The control: a
/// querier that asks A only gets nothing and fails at 5 s.
fn resolve_v6_only(qtypes: [Option<RecordType>; 2]) -> (Vec<RecordType>, Option<Event>) {
    let mut config = QuerierConfig::default();
    config.qtypes = qtypes;
    let mut q = Querier::<4>::new(config, Instant::ZERO);
    q.add_socket(ours()).unwrap();
    let theirs: SocketAddr = "127.0.0.2:5353".parse().unwrap();
    let mut r = Responder::<2>::new(Instant::ZERO);
    r.add_socket(theirs).unwrap();
    r.publish(NAME, "fd00::2".parse().unwrap()).unwrap();
    q.query(Instant::ZERO, NAME).unwrap();
    let mut asked = Vec::new();
    let mut now = Instant::ZERO;
    let mut buf = [0u8; 512];
    for _ in 0..20 {
        for query in drain(&mut q, now) {
            let m = Message::parse(&query).unwrap();
            asked.extend(m.questions().map(|qq| qq.qtype));
            r.handle_packet(now, ours(), theirs, &query);
        }
        while let Some(t) = r.poll_transmit(&mut buf).unwrap() {
            q.handle_packet(now, theirs, t.payload);
        }
        if let Some(e) = q.poll_event() {
            return (asked, Some(e));
        }
        let Some(next) = q.poll_timeout() else { break };
        now = next;
    }
    (asked, None)
}

#[test]
fn a_name_with_only_an_ipv6_address_resolves_through_aaaa() {
    let (asked, event) = resolve_v6_only(QuerierConfig::default().qtypes);
    assert_eq!(asked, vec![RecordType::A, RecordType::AAAA]);
    match event {
        Some(Event::Resolved { addr, .. }) => {
            assert_eq!(addr, "fd00::2".parse::<core::net::IpAddr>().unwrap());
        }
        other => panic!("{other:?}"),
    }
    // Asking A only (the old default): the IPv6-only name never resolves.
    let (asked, event) = resolve_v6_only([Some(RecordType::A), None]);
    assert_eq!(asked, vec![RecordType::A; 3]);
    assert!(matches!(event, Some(Event::Failed { .. })), "{event:?}");
}
