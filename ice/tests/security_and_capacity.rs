//! The agent against hand-made packets: every security rule of RFC 8445 §7.3 / RFC 8489 §9,
//! role conflicts, 420, capacity, candidate text from real browsers, and no panic on any input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::Instant;
use peerless_ice::{
    Agent, Candidate, CandidatePairState, CandidateType, Config, Credentials, Event, IceState, Role,
};
use peerless_stun::{AttrType, Attribute, Class, ErrorCode, Message, Method, TransactionId};
use proptest::prelude::*;

const OURS: (&str, &str) = ("ourU", "ourPassword0123456789xy");
const THEIRS: (&str, &str) = ("peer", "peerPassword987654321ab");

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn local() -> SocketAddr {
    addr("192.0.2.1:5000")
}

fn remote() -> SocketAddr {
    addr("192.0.2.2:6000")
}

fn agent(role: Role) -> Agent {
    let creds = Credentials::new(OURS.0, OURS.1).unwrap();
    let mut a: Agent = Agent::new(
        Config::new(role, [1; 32]).with_credentials(creds),
        Instant::ZERO,
    );
    a.add_local_candidate(local()).unwrap();
    a.set_remote_credentials(THEIRS.0, THEIRS.1).unwrap();
    a
}

/// A binding request as the peer would send it (USERNAME ours:theirs, signed with our pwd).
fn request(tid: u8, user: &str, key: &[u8], extra: &[Attribute<'_>]) -> Vec<u8> {
    let mut b = Message::builder(Class::Request, Method::BINDING, TransactionId([tid; 12]))
        .username(user)
        .priority(1_845_501_695);
    for a in extra {
        b = b.attr(*a);
    }
    let mut buf = vec![0u8; 512];
    let n = b.integrity_sha1(key).fingerprint().emit(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn drain<const C: usize, const P: usize, const T: usize, const R: usize>(
    a: &mut Agent<C, P, T, R>,
) -> Vec<(SocketAddr, SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
        out.push((t.source, t.destination, t.payload.to_vec()));
    }
    out
}

fn user() -> String {
    format!("{}:{}", OURS.0, THEIRS.0)
}

#[test]
fn a_valid_request_gets_a_signed_response_without_username() {
    let mut a = agent(Role::Controlled);
    let req = request(
        1,
        &user(),
        OURS.1.as_bytes(),
        &[Attribute::IceControlling(5)],
    );
    a.handle_packet(Instant::ZERO, remote(), local(), &req);
    let out = drain(&mut a);
    let (src, dst, resp) = out
        .iter()
        .find(|(_, _, p)| p[0] == 0x01)
        .expect("a response");
    assert_eq!((*src, *dst), (local(), remote()));
    let msg = Message::parse(resp).unwrap();
    assert_eq!(msg.class(), Class::Success);
    assert_eq!(msg.transaction_id(), TransactionId([1; 12]));
    assert_eq!(msg.xor_mapped_address(), Some(remote()));
    assert!(msg.verify_integrity(OURS.1.as_bytes()));
    assert_eq!(msg.check_fingerprint(), Some(true));
    assert!(
        msg.get(AttrType::USERNAME).is_none(),
        "USERNAME is never echoed"
    );
    assert_eq!(a.stats().requests_answered, 1);
}

#[test]
fn unauthenticated_requests_are_dropped_without_a_response() {
    let mut a = agent(Role::Controlled);
    let cases: Vec<Vec<u8>> = vec![
        request(1, &user(), b"wrong password", &[]),
        request(2, &format!("other:{}", THEIRS.0), OURS.1.as_bytes(), &[]),
        request(3, &format!("{}:intruder", OURS.0), OURS.1.as_bytes(), &[]),
        request(4, OURS.0, OURS.1.as_bytes(), &[]),
        {
            // No MESSAGE-INTEGRITY at all.
            let mut buf = vec![0u8; 128];
            let n = Message::builder(Class::Request, Method::BINDING, TransactionId([5; 12]))
                .username(&user())
                .fingerprint()
                .emit(&mut buf)
                .unwrap();
            buf.truncate(n);
            buf
        },
        {
            // No USERNAME.
            let mut buf = vec![0u8; 128];
            let n = Message::builder(Class::Request, Method::BINDING, TransactionId([6; 12]))
                .integrity_sha1(OURS.1.as_bytes())
                .emit(&mut buf)
                .unwrap();
            buf.truncate(n);
            buf
        },
    ];
    for c in cases {
        a.handle_packet(Instant::ZERO, remote(), local(), &c);
    }
    // A flipped bit after signing breaks the integrity (and the fingerprint).
    let mut tampered = request(7, &user(), OURS.1.as_bytes(), &[]);
    tampered[27] ^= 1;
    a.handle_packet(Instant::ZERO, remote(), local(), &tampered);
    assert!(
        drain(&mut a)
            .iter()
            .all(|(_, _, p)| p[0] != 0x01 && p[0] != 0x01 | 0x10)
    );
    assert_eq!(a.stats().requests_answered, 0);
    assert_eq!(a.stats().dropped_unauthenticated, 6);
    assert_eq!(a.stats().dropped_malformed, 1);
    assert!(
        a.remote_candidates().next().is_none(),
        "no peer-reflexive candidate from a forgery"
    );
}

#[test]
fn unknown_comprehension_required_attributes_get_420_after_authentication() {
    let mut a = agent(Role::Controlled);
    let odd = Attribute::Other {
        typ: AttrType(0x7f01),
        value: b"?",
    };
    let req = request(1, &user(), OURS.1.as_bytes(), &[odd]);
    a.handle_packet(Instant::ZERO, remote(), local(), &req);
    let out = drain(&mut a);
    let msg = Message::parse(&out[0].2).unwrap();
    assert_eq!(msg.class(), Class::Error);
    assert_eq!(msg.error_code().unwrap().code, ErrorCode::UNKNOWN_ATTRIBUTE);
    assert_eq!(
        msg.unknown_attributes().unwrap().iter().collect::<Vec<_>>(),
        [AttrType(0x7f01)]
    );
    assert!(msg.verify_integrity(OURS.1.as_bytes()));
    // Unauthenticated, the same request gets nothing.
    let req = request(2, &user(), b"bad", &[odd]);
    a.handle_packet(Instant::ZERO, remote(), local(), &req);
    assert!(drain(&mut a).is_empty());
}

#[test]
fn role_conflicts_follow_the_tie_breakers() {
    // Controlling with a larger tie-breaker than the peer's: 487.
    let mut a = agent(Role::Controlling);
    let low = a.tie_breaker().saturating_sub(1);
    let req = request(
        1,
        &user(),
        OURS.1.as_bytes(),
        &[Attribute::IceControlling(low)],
    );
    a.handle_packet(Instant::ZERO, remote(), local(), &req);
    let out = drain(&mut a);
    let msg = Message::parse(&out[0].2).unwrap();
    assert_eq!(msg.error_code().unwrap().code, ErrorCode::ROLE_CONFLICT);
    assert_eq!(a.role(), Role::Controlling);
    // With a smaller one it switches to controlled and answers.
    let high = a.tie_breaker().saturating_add(1);
    let req = request(
        2,
        &user(),
        OURS.1.as_bytes(),
        &[Attribute::IceControlling(high)],
    );
    a.handle_packet(Instant::ZERO, remote(), local(), &req);
    assert_eq!(a.role(), Role::Controlled);
    let out = drain(&mut a);
    assert!(
        out.iter()
            .any(|(_, _, p)| Message::parse(p).unwrap().class() == Class::Success)
    );
    let mut events = Vec::new();
    while let Some(e) = a.poll_event() {
        events.push(e);
    }
    assert!(events.contains(&Event::RoleChanged(Role::Controlled)));
}

/// Starts a check from a fresh controlling agent and returns it with the request.
fn agent_with_check() -> (Agent, Vec<u8>) {
    let mut a = agent(Role::Controlling);
    a.add_remote_candidate("candidate:1 1 udp 2130706431 192.0.2.2 6000 typ host")
        .unwrap();
    a.handle_timeout(Instant::ZERO);
    let out = drain(&mut a);
    let (src, dst, check) = out.into_iter().next().expect("a check");
    assert_eq!((src, dst), (local(), remote()));
    (a, check)
}

fn response_to(check: &[u8], key: &[u8], mapped: SocketAddr) -> Vec<u8> {
    let req = Message::parse(check).unwrap();
    let mut buf = vec![0u8; 256];
    let n = Message::builder(Class::Success, Method::BINDING, req.transaction_id())
        .xor_mapped_address(mapped)
        .integrity_sha1(key)
        .fingerprint()
        .emit(&mut buf)
        .unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn checks_carry_what_rfc_8445_asks_and_responses_must_match() {
    let (mut a, check) = agent_with_check();
    let msg = Message::parse(&check).unwrap();
    assert_eq!(
        msg.username(),
        Some(format!("{}:{}", THEIRS.0, OURS.0).as_str())
    );
    assert!(msg.verify_integrity(THEIRS.1.as_bytes()));
    assert_eq!(msg.ice_controlling(), Some(a.tie_breaker()));
    assert!(
        msg.priority().is_some_and(|p| p >> 24 == 110),
        "PRIORITY is the peer-reflexive one"
    );
    assert_eq!(msg.check_fingerprint(), Some(true));

    // Right id, wrong source: not a match. Right id and address, wrong key: dropped.
    let wrong_from = response_to(&check, THEIRS.1.as_bytes(), local());
    a.handle_packet(Instant::ZERO, addr("192.0.2.99:6000"), local(), &wrong_from);
    let wrong_key = response_to(&check, b"not the password", local());
    a.handle_packet(Instant::ZERO, remote(), local(), &wrong_key);
    let other_socket = response_to(&check, THEIRS.1.as_bytes(), local());
    a.handle_packet(
        Instant::ZERO,
        remote(),
        addr("192.0.2.1:5001"),
        &other_socket,
    );
    assert_eq!(a.stats().dropped_unmatched, 2);
    assert_eq!(a.stats().dropped_unauthenticated, 1);
    assert_eq!(a.state(), IceState::Checking);
    assert!(a.accepts(remote(), &check_response_bytes(&check)));
    assert!(!a.accepts(addr("192.0.2.99:6000"), &check_response_bytes(&check)));

    // The real response validates the pair; the agent nominates it with USE-CANDIDATE.
    let good = response_to(&check, THEIRS.1.as_bytes(), local());
    a.handle_packet(Instant::from_millis(10), remote(), local(), &good);
    let mut now = Instant::from_millis(10);
    let mut nomination = None;
    for _ in 0..100 {
        a.handle_timeout(now);
        if let Some((_, _, p)) = drain(&mut a)
            .into_iter()
            .find(|(_, _, p)| Message::parse(p).unwrap().use_candidate())
        {
            nomination = Some(p);
            break;
        }
        now = a.poll_timeout().unwrap();
    }
    let nomination = nomination.expect("a USE-CANDIDATE check");
    let ok = response_to(&nomination, THEIRS.1.as_bytes(), local());
    a.handle_packet(now, remote(), local(), &ok);
    assert_eq!(a.selected_pair(), Some((local(), remote())));
    assert_eq!(a.state(), IceState::Connected);
    a.end_of_remote_candidates();
    assert_eq!(a.state(), IceState::Completed);
}

fn check_response_bytes(check: &[u8]) -> Vec<u8> {
    response_to(check, THEIRS.1.as_bytes(), local())
}

#[test]
fn accepts_looks_at_the_ufrag_only() {
    let a = agent(Role::Controlled);
    assert!(a.accepts(remote(), &request(1, &user(), b"whatever", &[])));
    assert!(!a.accepts(
        remote(),
        &request(1, &format!("else:{}", THEIRS.0), b"x", &[])
    ));
    assert!(!a.accepts(remote(), b"\x16\xfe\xfd not stun at all, a DTLS record"));
}

#[test]
fn a_controlled_agent_accepts_nomination_before_and_after_its_check() {
    let mut a = agent(Role::Controlled);
    a.add_remote_candidate("candidate:1 1 udp 2130706431 192.0.2.2 6000 typ host")
        .unwrap();
    // USE-CANDIDATE arrives before our own check succeeded: remembered, then selected.
    let req = request(
        1,
        &user(),
        OURS.1.as_bytes(),
        &[Attribute::IceControlling(1), Attribute::UseCandidate],
    );
    a.handle_packet(Instant::ZERO, remote(), local(), &req);
    assert!(a.selected_pair().is_none());
    let mut now = Instant::ZERO;
    let mut selected = false;
    for _ in 0..50 {
        a.handle_timeout(now);
        for (_, _, p) in drain(&mut a) {
            let m = Message::parse(&p).unwrap();
            if m.class() == Class::Request {
                let resp = response_to(&p, THEIRS.1.as_bytes(), local());
                a.handle_packet(now, remote(), local(), &resp);
            }
        }
        if a.selected_pair().is_some() {
            selected = true;
            break;
        }
        now = a.poll_timeout().unwrap_or(now + Duration::from_millis(50));
    }
    assert!(selected);
    assert_eq!(a.selected_pair(), Some((local(), remote())));
    // The statistics report: the peer's one request arrived on the pair and was answered.
    let p = a.pairs().find(|p| p.selected).unwrap();
    assert_eq!((p.requests_received, p.responses_sent), (1, 1));
}

/// Feeds `a` the peer's request from `from` (tid `tid`, `extra` attributes) and answers every
/// check the agent sends, for the next 200 ms of its wake-ups (at most 20).
fn peer_checks(
    a: &mut Agent,
    now: &mut Instant,
    from: SocketAddr,
    tid: u8,
    extra: &[Attribute<'_>],
) {
    let req = request(tid, &user(), OURS.1.as_bytes(), extra);
    a.handle_packet(*now, from, local(), &req);
    for _ in 0..20 {
        for (_, dst, p) in drain(a) {
            if Message::parse(&p).unwrap().class() == Class::Request {
                let resp = response_to(&p, THEIRS.1.as_bytes(), local());
                a.handle_packet(*now, dst, local(), &resp);
            }
        }
        let Some(next) = a.poll_timeout() else { break };
        if next > *now + Duration::from_millis(200) {
            break;
        }
        *now = next.max(*now);
        a.handle_timeout(*now);
    }
}

#[test]
fn a_controlled_agent_follows_the_latest_nomination() {
    let mut a = agent(Role::Controlled);
    let (best, cheaper) = (remote(), addr("192.0.2.3:6000"));
    a.add_remote_candidate("candidate:1 1 udp 2130706431 192.0.2.2 6000 typ host")
        .unwrap();
    a.add_remote_candidate("candidate:2 1 udp 1694498815 192.0.2.3 6000 typ host")
        .unwrap();
    let mut now = Instant::ZERO;
    let nominate = [Attribute::IceControlling(1), Attribute::UseCandidate];
    peer_checks(&mut a, &mut now, best, 1, &nominate);
    assert_eq!(a.selected_pair(), Some((local(), best)));
    // The peer moves to the lower-priority pair (a cheaper network): we follow, though the
    // pair we selected first is still valid and of higher priority.
    now += Duration::from_millis(300);
    peer_checks(&mut a, &mut now, cheaper, 2, &nominate);
    assert_eq!(a.selected_pair(), Some((local(), cheaper)));
    let changes = std::iter::from_fn(|| a.poll_event())
        .filter(|e| matches!(e, Event::SelectedPair { .. }))
        .count();
    assert_eq!(changes, 2, "one SelectedPair per nomination");
    // A check without USE-CANDIDATE on the old pair does not move it back; a new
    // nomination of it does.
    now += Duration::from_millis(300);
    peer_checks(&mut a, &mut now, best, 3, &[Attribute::IceControlling(1)]);
    assert_eq!(a.selected_pair(), Some((local(), cheaper)));
    peer_checks(&mut a, &mut now, best, 4, &nominate);
    assert_eq!(a.selected_pair(), Some((local(), best)));
}

#[test]
fn a_controlled_agent_ignores_stale_nominations() {
    let mut a = agent(Role::Controlled);
    let (best, cheaper) = (remote(), addr("192.0.2.3:6000"));
    a.add_remote_candidate("candidate:1 1 udp 2130706431 192.0.2.2 6000 typ host")
        .unwrap();
    a.add_remote_candidate("candidate:2 1 udp 1694498815 192.0.2.3 6000 typ host")
        .unwrap();
    let mut now = Instant::ZERO;
    let nominate = [Attribute::IceControlling(1), Attribute::UseCandidate];
    peer_checks(&mut a, &mut now, best, 1, &nominate);
    now += Duration::from_millis(300);
    peer_checks(&mut a, &mut now, cheaper, 2, &nominate);
    assert_eq!(a.selected_pair(), Some((local(), cheaper)));
    // A retransmission of the first nomination (the same transaction), late: not a new one.
    now += Duration::from_millis(300);
    peer_checks(&mut a, &mut now, best, 1, &nominate);
    assert_eq!(a.selected_pair(), Some((local(), cheaper)));
    assert_eq!(a.stats().stale_nominations, 1);
    // NOMINATION (0xC001) orders the peer's nominations by its count, not by arrival: 5 on
    // the best pair, then 4 on the cheaper one (sent earlier, swapped by the network).
    let (five, four, six) = (5u32.to_be_bytes(), 4u32.to_be_bytes(), 6u32.to_be_bytes());
    fn nomination(v: &[u8; 4]) -> Attribute<'_> {
        Attribute::Other {
            typ: AttrType(0xC001),
            value: v.as_slice(),
        }
    }
    now += Duration::from_millis(300);
    let with = |v| [Attribute::IceControlling(1), Attribute::UseCandidate, v];
    peer_checks(&mut a, &mut now, best, 3, &with(nomination(&five)));
    assert_eq!(a.selected_pair(), Some((local(), best)));
    peer_checks(&mut a, &mut now, cheaper, 4, &with(nomination(&four)));
    assert_eq!(a.selected_pair(), Some((local(), best)));
    assert_eq!(a.stats().stale_nominations, 2);
    // The same count again (a consent check repeating it) confirms, it does not reorder.
    peer_checks(&mut a, &mut now, best, 5, &with(nomination(&five)));
    assert_eq!(a.selected_pair(), Some((local(), best)));
    // NOMINATION without USE-CANDIDATE (libwebrtc's form under renomination) nominates.
    peer_checks(
        &mut a,
        &mut now,
        cheaper,
        6,
        &[Attribute::IceControlling(1), nomination(&six)],
    );
    assert_eq!(a.selected_pair(), Some((local(), cheaper)));
    let changes = std::iter::from_fn(|| a.poll_event())
        .filter(|e| matches!(e, Event::SelectedPair { .. }))
        .count();
    assert_eq!(changes, 4, "best, cheaper, best (5), cheaper (6)");
}

#[test]
fn a_full_remote_table_keeps_relayed_candidates_and_refuses_the_surplus_hosts() {
    let mut a: Agent<2, 16, 2, 4> =
        Agent::new(Config::new(Role::Controlling, [3; 32]), Instant::ZERO);
    a.add_local_candidate(addr("192.0.2.1:1")).unwrap();
    a.set_remote_credentials(THEIRS.0, THEIRS.1).unwrap();
    let host = |i: u32, prio: u32| format!("candidate:h{i} 1 udp {prio} 198.51.100.{i} 9 typ host");
    for i in 1..=4 {
        a.add_remote_candidate(&host(i, 2_000_000_000 + i)).unwrap();
    }
    // By priority alone the relay would be refused; it is the candidate that works when the
    // others fail, so the crowded type (host) gives up its lowest member instead.
    a.add_remote_candidate(
        "candidate:r1 1 udp 16777215 203.0.113.9 3478 typ relay raddr 0.0.0.0 rport 0",
    )
    .unwrap();
    let kinds = |a: &Agent<2, 16, 2, 4>| {
        let mut k: Vec<_> = a
            .remote_candidates()
            .map(|c| (c.kind, c.priority))
            .collect();
        k.sort_unstable_by_key(|(_, p)| *p);
        k
    };
    assert_eq!(
        kinds(&a).iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [
            CandidateType::Relayed,
            CandidateType::Host,
            CandidateType::Host,
            CandidateType::Host
        ]
    );
    assert!(!a.remote_candidates().any(|c| c.priority == 2_000_000_001));
    // A host candidate below every host kept is refused, and says so.
    assert_eq!(
        a.add_remote_candidate(&host(9, 1_000)),
        Err(peerless_ice::AddCandidateError::Full)
    );
    // A better one replaces the lowest host; the relay stays.
    a.add_remote_candidate(&host(10, 2_100_000_000)).unwrap();
    assert!(kinds(&a).iter().any(|(k, _)| *k == CandidateType::Relayed));
    assert!(a.remote_candidates().any(|c| c.priority == 2_100_000_000));
    assert!(a.stats().dropped_full >= 1);
    assert!(a.stats().evicted >= 2);
}

#[test]
fn tables_evict_the_lowest_priority_and_never_panic() {
    let mut a: Agent<2, 4, 2, 2> =
        Agent::new(Config::new(Role::Controlling, [3; 32]), Instant::ZERO);
    a.add_local_candidate(addr("192.0.2.1:1")).unwrap();
    a.set_remote_credentials(THEIRS.0, THEIRS.1).unwrap();
    for (i, prio) in [(1, 100u32), (2, 200), (3, 50), (4, 300)] {
        let line = format!("candidate:{i} 1 udp {prio} 192.0.2.{i} 9 typ host");
        let r = a.add_remote_candidate(&line);
        if prio == 50 {
            assert_eq!(r, Err(peerless_ice::AddCandidateError::Full));
        } else {
            assert!(r.is_ok());
        }
    }
    let mut prios: Vec<_> = a.remote_candidates().map(|c| c.priority).collect();
    prios.sort_unstable();
    assert_eq!(prios, [200, 300]);
    assert!(a.stats().evicted >= 1);
    let mut now = Instant::ZERO;
    for _ in 0..200 {
        a.handle_timeout(now);
        drain(&mut a);
        now = a.poll_timeout().unwrap_or(now + Duration::from_secs(1));
    }
}

#[test]
fn every_fixture_candidate_parses_and_round_trips() {
    let text = include_str!("fixtures/candidates.txt");
    let mut n = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (_, cand) = line.split_once(' ').unwrap();
        let c = Candidate::parse(cand).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        assert_eq!(Candidate::parse(&c.to_string()), Ok(c), "{line}");
        n += 1;
    }
    assert!(n >= 50);
    // The shared fixture directory, when present, has no line this file lacks.
    if let Ok(dir) = std::fs::read_dir("../../shared/fixtures/sdp")
        .or_else(|_| std::fs::read_dir("/work/shared/fixtures/sdp"))
    {
        for entry in dir.flatten() {
            let sdp = std::fs::read_to_string(entry.path()).unwrap();
            for line in sdp.lines().filter(|l| l.starts_with("a=candidate")) {
                Candidate::parse(line).unwrap_or_else(|e| panic!("{line}: {e:?}"));
            }
        }
    }
}

#[test]
fn local_candidates_are_reported_with_our_ufrag() {
    let mut a = agent(Role::Controlling);
    let mut cands = Vec::new();
    while let Some(e) = a.poll_event() {
        if let Event::LocalCandidate(c) = e {
            cands.push(c);
        }
    }
    assert_eq!(cands.len(), 1);
    assert_eq!(cands[0].kind, CandidateType::Host);
    assert_eq!(cands[0].address, local());
    assert_eq!(cands[0].ufrag.unwrap().as_str(), OURS.0);
    assert_eq!(cands[0].priority >> 24, 126);
}

/// `PROPTEST_CASES` (or the older `PEERLESS_PROPTEST_CASES`) for a longer run (default 512).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .or_else(|_| std::env::var("PEERLESS_PROPTEST_CASES"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_never_panic_the_agent(packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..8)) {
        let mut a = agent(Role::Controlling);
        a.add_remote_candidate("candidate:1 1 udp 2130706431 192.0.2.2 6000 typ host").unwrap();
        let mut now = Instant::ZERO;
        for mut p in packets {
            // Half the time make it look like STUN so deeper code runs.
            if p.len() >= 20 && p[0] & 1 == 0 {
                p[0] &= 0x3f;
                let len = ((p.len() - 20) & !3) as u16;
                p[2..4].copy_from_slice(&len.to_be_bytes());
                p[4..8].copy_from_slice(&0x2112_a442u32.to_be_bytes());
                p.truncate(20 + usize::from(len));
            }
            let _ = a.accepts(remote(), &p);
            a.handle_packet(now, remote(), local(), &p);
            a.handle_timeout(now);
            drain(&mut a);
            while a.poll_event().is_some() {}
            now += Duration::from_millis(30);
        }
    }
}

#[test]
fn the_default_agent_has_a_documented_size() {
    // Documented in the crate docs; a change here is a change of the memory budget.
    let size = core::mem::size_of::<Agent>();
    println!("size_of::<Agent>() = {size}");
    // The crate docs quote these numbers for x86-64: with the `turn` feature (the default) and
    // without it (the firmware's build: TURN's tables are empty).
    #[cfg(all(target_arch = "x86_64", feature = "turn"))]
    assert_eq!(size, 15_760);
    #[cfg(all(target_arch = "x86_64", not(feature = "turn")))]
    assert_eq!(size, 13_440);
    assert!(size <= 16 * 1024, "{size} bytes");
}

#[test]
fn a_small_buffer_is_reported_and_nothing_is_lost() {
    let mut a = agent(Role::Controlled);
    let req = request(
        1,
        &user(),
        OURS.1.as_bytes(),
        &[Attribute::IceControlling(5)],
    );
    a.handle_packet(Instant::ZERO, remote(), local(), &req);
    let mut small = [0u8; 10];
    let needed = match a.poll_transmit(&mut small) {
        Err(e) => e.needed,
        other => panic!("{other:?}"),
    };
    let mut buf = [0u8; 1500];
    let t = a
        .poll_transmit(&mut buf)
        .unwrap()
        .expect("the response is still there");
    assert_eq!(t.payload.len(), needed);
    assert_eq!(
        Message::parse(t.payload).unwrap().transaction_id(),
        TransactionId([1; 12])
    );
}

/// Runs `a` from time zero to `until`, waking at every `poll_timeout`, and returns when each
/// new transaction first went out and where to.
fn first_sends(a: &mut Agent, until: Instant) -> Vec<(Instant, SocketAddr)> {
    let mut now = Instant::ZERO;
    let mut sends: Vec<(Instant, SocketAddr)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while now < until {
        a.handle_timeout(now);
        for (_, dst, p) in drain(a) {
            if seen.insert(Message::parse(&p).unwrap().transaction_id()) {
                sends.push((now, dst));
            }
        }
        now = a.poll_timeout().unwrap().min(until);
    }
    sends
}

#[test]
fn the_first_check_of_every_new_pair_goes_out_at_once_in_pair_priority_order() {
    let mut a = agent(Role::Controlling);
    for (i, prio) in [(2, 1000u32), (3, 3000), (4, 2000), (5, 4000)] {
        a.add_remote_candidate(&format!(
            "candidate:{i} 1 udp {prio} 192.0.2.{i} 9 typ host"
        ))
        .unwrap();
    }
    let sends = first_sends(&mut a, Instant::from_millis(400));
    let order: Vec<_> = sends.iter().map(|(_, d)| d.ip().to_string()).collect();
    // Each remote has its own foundation, so all four start Waiting: highest priority first,
    // none of them waiting for a Ta slot (RFC 8445 §6.1.4.2).
    assert_eq!(order, ["192.0.2.5", "192.0.2.3", "192.0.2.4", "192.0.2.2"]);
    assert!(sends.iter().all(|(t, _)| *t == Instant::ZERO), "{sends:?}");
}

#[test]
fn frozen_pairs_are_unfrozen_one_per_ta() {
    let mut a = agent(Role::Controlling);
    // One foundation: the first pair waits, the other three are frozen and get a Ta each.
    for (i, prio) in [(2, 1000u32), (3, 3000), (4, 2000), (5, 4000)] {
        a.add_remote_candidate(&format!("candidate:7 1 udp {prio} 192.0.2.{i} 9 typ host"))
            .unwrap();
    }
    let sends = first_sends(&mut a, Instant::from_millis(400));
    assert_eq!(sends.len(), 4, "{sends:?}");
    assert_eq!(sends[0].0, Instant::ZERO, "{sends:?}");
    for w in sends.windows(2) {
        assert!(w[1].0 - w[0].0 >= Duration::from_millis(50), "{sends:?}");
    }
}

#[test]
fn a_trickled_candidate_is_checked_at_once_even_inside_a_ta() {
    let mut a = agent(Role::Controlling);
    a.add_remote_candidate("candidate:2 1 udp 1000 192.0.2.2 9 typ host")
        .unwrap();
    a.handle_timeout(Instant::ZERO);
    assert_eq!(drain(&mut a).len(), 1);
    // 10 ms later, well inside the Ta that the first check started.
    let t = Instant::from_millis(10);
    a.add_remote_candidate("candidate:3 1 udp 2000 192.0.2.3 9 typ host")
        .unwrap();
    // The wake-up is due now, not at the next Ta slot (50 ms).
    assert!(
        a.poll_timeout().is_some_and(|w| w <= t),
        "{:?}",
        a.poll_timeout()
    );
    a.handle_timeout(t);
    let out = drain(&mut a);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].1, addr("192.0.2.3:9"));
}

#[test]
fn a_triggered_check_is_not_delayed_by_the_pacer() {
    let mut a = agent(Role::Controlled);
    a.add_remote_candidate("candidate:2 1 udp 1000 192.0.2.9 9 typ host")
        .unwrap();
    a.handle_timeout(Instant::ZERO);
    assert_eq!(drain(&mut a).len(), 1, "the ordinary check");
    // A request from an address we do not know, 5 ms into the Ta: the answer and the
    // triggered check to the new peer-reflexive candidate both go out now.
    let t = Instant::from_millis(5);
    let req = request(
        9,
        &user(),
        OURS.1.as_bytes(),
        &[Attribute::IceControlling(5)],
    );
    a.handle_packet(t, remote(), local(), &req);
    let out = drain(&mut a);
    let classes: Vec<_> = out
        .iter()
        .map(|(_, d, p)| (*d, Message::parse(p).unwrap().class()))
        .collect();
    assert!(classes.contains(&(remote(), Class::Success)), "{classes:?}");
    assert!(classes.contains(&(remote(), Class::Request)), "{classes:?}");
}

#[test]
fn close_stops_everything() {
    let (mut a, _check) = agent_with_check();
    a.close(Instant::ZERO);
    assert!(a.is_closed() && !a.can_send());
    assert_eq!(a.state(), IceState::Closed);
    let mut events = Vec::new();
    while let Some(e) = a.poll_event() {
        events.push(e);
    }
    assert_eq!(events.last(), Some(&Event::StateChanged(IceState::Closed)));
    assert_eq!(a.poll_timeout(), None);
    let req = request(
        1,
        &user(),
        OURS.1.as_bytes(),
        &[Attribute::IceControlled(1)],
    );
    a.handle_packet(Instant::ZERO, remote(), local(), &req);
    assert_eq!(a.stats().dropped_closed, 1, "counted, not lost silently");
    a.handle_timeout(Instant::from_secs(10));
    assert!(drain(&mut a).is_empty());
    assert!(a.send_to_selected(b"x").is_none());
    assert_eq!(
        a.add_remote_candidate("candidate:7 1 udp 1 192.0.2.7 9 typ host"),
        Err(peerless_ice::AddCandidateError::Closed)
    );
}

/// A controlling agent with its pair selected at the returned time.
fn selected_agent() -> (Agent, Instant) {
    let (mut a, check) = agent_with_check();
    let good = response_to(&check, THEIRS.1.as_bytes(), local());
    a.handle_packet(Instant::from_millis(10), remote(), local(), &good);
    let mut now = Instant::from_millis(10);
    for _ in 0..100 {
        a.handle_timeout(now);
        for (_, _, p) in drain(&mut a) {
            if Message::parse(&p).unwrap().use_candidate() {
                let ok = response_to(&p, THEIRS.1.as_bytes(), local());
                a.handle_packet(now, remote(), local(), &ok);
                return (a, now);
            }
        }
        now = a.poll_timeout().unwrap();
    }
    panic!("no nomination");
}

#[test]
fn consent_checks_are_randomised_around_5_s_and_expire_30_s_after_the_last_response() {
    let (mut a, t0) = selected_agent();
    assert!(a.selected_pair().is_some());
    // Answer every consent request for two minutes; record when each new one goes out.
    let mut now = t0;
    let mut sent = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while now < t0 + Duration::from_secs(120) {
        a.handle_timeout(now);
        for (_, _, p) in drain(&mut a) {
            let m = Message::parse(&p).unwrap();
            assert!(
                m.verify_integrity(THEIRS.1.as_bytes()),
                "consent requests are authenticated"
            );
            // The controlling agent repeats its nomination on consent checks, so a peer can
            // follow it to a new address after a NAT rebinding (peer/tests/sim.rs).
            assert!(m.use_candidate());
            if seen.insert(m.transaction_id()) {
                sent.push(now);
            }
            let ok = response_to(&p, THEIRS.1.as_bytes(), local());
            a.handle_packet(now, remote(), local(), &ok);
        }
        now = a.poll_timeout().unwrap();
    }
    let gaps: Vec<_> = sent.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.len() >= 19, "{gaps:?}");
    assert!(
        gaps.iter()
            .all(|g| *g >= Duration::from_secs(4) && *g <= Duration::from_secs(6)),
        "{gaps:?}"
    );
    assert!(gaps.windows(2).any(|w| w[0] != w[1]), "randomised");
    assert!(matches!(
        a.state(),
        IceState::Connected | IceState::Completed
    ));

    // Now the peer goes silent: disconnected at 10 s, failed at exactly 30 s after the last
    // response, and nothing more is sent after that.
    let last = *sent.last().unwrap();
    let mut failed_at = None;
    let mut disconnected_at = None;
    while failed_at.is_none() {
        a.handle_timeout(now);
        drain(&mut a);
        while let Some(e) = a.poll_event() {
            match e {
                Event::StateChanged(IceState::Disconnected) => disconnected_at = Some(now),
                Event::StateChanged(IceState::Failed) => failed_at = Some(now),
                _ => {}
            }
        }
        match a.poll_timeout() {
            Some(t) => now = t,
            None => break,
        }
    }
    assert_eq!(
        disconnected_at.map(|t| t - last),
        Some(Duration::from_secs(10))
    );
    assert_eq!(failed_at.map(|t| t - last), Some(Duration::from_secs(30)));
    assert!(a.send_to_selected(b"x").is_none());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn pairs_show_each_pair_with_its_state_and_the_selected_one() {
    let (mut a, _check) = agent_with_check();
    a.add_remote_candidate(
        "candidate:2 1 udp 1694498815 198.51.100.7 7000 typ srflx raddr 0.0.0.0 rport 0",
    )
    .unwrap();
    let before: Vec<_> = a
        .pairs()
        .map(|p| (p.local.address, p.remote.address, p.state, p.selected))
        .collect();
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(before.contains(&(local(), remote(), CandidatePairState::InProgress, false)));
    assert!(before.iter().all(|p| !p.3));
    // An agent that got as far as a nominated, selected pair.
    let (a, _) = selected_agent();
    let pairs: Vec<_> = a.pairs().collect();
    let sel: Vec<_> = pairs.iter().filter(|p| p.selected).collect();
    assert_eq!(sel.len(), 1);
    let p = sel[0];
    assert_eq!(
        (p.local.address, p.remote.address),
        a.selected_pair().unwrap()
    );
    assert_eq!(p.state, CandidatePairState::Succeeded);
    assert_eq!(p.state.as_str(), "succeeded");
    assert!(p.nominated);
    assert!(p.priority > 0);
    // Two checks went out (the plain one and the nominating one), both were answered.
    assert_eq!((p.requests_sent, p.responses_received), (2, 2));
    assert_eq!(p.consent_requests_sent, 0);
    assert_eq!((p.requests_received, p.responses_sent), (0, 0));
    let first_rtt = Duration::from_millis(10);
    assert_eq!(p.current_round_trip_time, Some(Duration::ZERO));
    assert_eq!(p.total_round_trip_time, first_rtt);
}

#[test]
fn consent_requests_and_their_round_trips_count_on_the_selected_pair() {
    let (mut a, t0) = selected_agent();
    let before = a
        .pairs()
        .find(|p| p.selected)
        .map(|p| {
            (
                p.requests_sent,
                p.responses_received,
                p.total_round_trip_time,
            )
        })
        .unwrap();
    // Answer each consent request 30 ms after it goes out, for a minute.
    let mut now = t0;
    let mut consents = 0;
    while now < t0 + Duration::from_secs(60) {
        a.handle_timeout(now);
        for (_, _, p) in drain(&mut a) {
            consents += 1;
            let ok = response_to(&p, THEIRS.1.as_bytes(), local());
            a.handle_packet(now + Duration::from_millis(30), remote(), local(), &ok);
        }
        now = a.poll_timeout().unwrap();
    }
    assert!(consents >= 10, "{consents}");
    let after = a.pairs().find(|p| p.selected).unwrap();
    assert_eq!(after.consent_requests_sent, consents);
    assert_eq!(after.requests_sent, before.0 + consents);
    assert_eq!(after.responses_received, before.1 + consents);
    let rtt = Duration::from_millis(30);
    assert_eq!(after.current_round_trip_time, Some(rtt));
    let consent_rtts = u32::try_from(consents).unwrap() * rtt;
    assert_eq!(after.total_round_trip_time, before.2 + consent_rtts);
}

#[test]
fn can_send_and_knows_remote_follow_selection_consent_and_restart() {
    let stranger = addr("198.51.100.9:7000");
    let a = agent(Role::Controlling);
    assert!(!a.can_send() && !a.knows_remote(remote()));

    let (mut a, mut now) = selected_agent();
    let mut events = Vec::new();
    while let Some(e) = a.poll_event() {
        events.push(e);
    }
    let selected = events.iter().find_map(|e| match e {
        Event::SelectedPair { local, remote } => Some((local.address, remote.address)),
        _ => None,
    });
    assert_eq!(selected, Some((local(), remote())), "{events:?}");
    assert!(a.can_send());
    assert!(a.knows_remote(remote()) && !a.knows_remote(stranger));

    // The peer goes silent: consent expires, sending stops, the pair is still known.
    while a.state() != IceState::Failed {
        a.handle_timeout(now);
        drain(&mut a);
        now = a.poll_timeout().unwrap_or(now + Duration::from_secs(1));
    }
    assert!(!a.can_send() && a.send_to_selected(b"x").is_none());
    assert!(a.knows_remote(remote()));
    while a.poll_event().is_some() {}

    // A restart cannot keep a pair without consent: the selection goes, and says so.
    a.restart();
    let mut events = Vec::new();
    while let Some(e) = a.poll_event() {
        events.push(e);
    }
    assert!(events.contains(&Event::SelectedPairCleared), "{events:?}");
    assert_eq!(a.selected_pair(), None);
    assert!(!a.can_send() && !a.knows_remote(remote()));
}

#[test]
fn a_stun_server_that_never_answers_is_reported_once_then_gathering_completes() {
    let server = addr("198.51.100.7:3478");
    let mut a: Agent = Agent::new(
        Config::new(Role::Controlling, [3; 32]).with_stun_server(server),
        Instant::ZERO,
    );
    a.add_local_candidate(local()).unwrap();
    let mut requests = 0;
    let mut events = Vec::new();
    let mut now = Instant::ZERO;
    while now < Instant::ZERO + Duration::from_secs(120) {
        requests += drain(&mut a)
            .iter()
            .filter(|(_, to, _)| *to == server)
            .count();
        while let Some(e) = a.poll_event() {
            events.push(e);
        }
        let Some(next) = a.poll_timeout() else { break };
        now = next.max(now);
        a.handle_timeout(now);
    }
    assert!(requests > 1, "the request was retransmitted ({requests})");
    let unreachable: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::ServerUnreachable { .. }))
        .collect();
    assert_eq!(
        unreachable,
        [&Event::ServerUnreachable {
            local: local(),
            server
        }]
    );
    let at = |want: fn(&Event) -> bool| events.iter().position(want).unwrap();
    assert!(
        at(|e| matches!(e, Event::ServerUnreachable { .. }))
            < at(|e| matches!(e, Event::GatheringComplete))
    );
}

#[test]
fn a_dual_stack_agent_pairs_on_loopback_within_each_family_and_checks_both_at_once() {
    let (l4, l6) = (addr("127.0.0.1:5000"), addr("[::1]:5000"));
    let creds = Credentials::new(OURS.0, OURS.1).unwrap();
    let mut a: Agent = Agent::new(
        Config::new(Role::Controlling, [1; 32]).with_credentials(creds),
        Instant::ZERO,
    );
    a.add_local_candidate(l4).unwrap();
    a.add_local_candidate(l6).unwrap();
    a.set_remote_credentials(THEIRS.0, THEIRS.1).unwrap();
    for c in [
        "candidate:1 1 udp 2122260223 127.0.0.1 6000 typ host",
        "candidate:2 1 udp 2122262783 ::1 6000 typ host",
        "candidate:3 1 udp 2122260222 127.0.0.1 6001 typ host",
    ] {
        a.add_remote_candidate(c).unwrap();
    }
    let pairs: Vec<_> = a
        .pairs()
        .map(|p| (p.local.address, p.remote.address))
        .collect();
    // Two IPv4 remotes with the IPv4 local, one IPv6 remote with the IPv6 local; no pair
    // crosses families (a v4 socket cannot reach a v6 address).
    assert_eq!(pairs.len(), 3, "{pairs:?}");
    assert!(
        pairs.iter().all(|(l, r)| l.is_ipv4() == r.is_ipv4()),
        "{pairs:?}"
    );
    assert!(pairs.contains(&(l6, addr("[::1]:6000"))), "{pairs:?}");
    // Each family's first check goes out at once, from the socket of its family.
    a.handle_timeout(Instant::ZERO);
    let out = drain(&mut a);
    assert!(
        out.iter()
            .any(|(s, d, _)| *s == l6 && *d == addr("[::1]:6000")),
        "{out:?}"
    );
    assert!(
        out.iter().all(|(s, d, _)| s.is_ipv4() == d.is_ipv4()),
        "{out:?}"
    );
}
