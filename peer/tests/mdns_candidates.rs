//! `.local` remote candidates: the answerer hides its host address behind `<uuid>.local` (as a
//! browser does) and publishes it with a real `peerless_mdns::Responder`; the offerer resolves
//! it through its mDNS socket. The answerer's own checks toward the offerer are dropped until
//! the offerer has checked the answerer's real address itself, so peer-reflexive discovery
//! cannot rescue the connection (B's triggered checks after that are let through: the
//! controlled side needs them to see the pair valid): only the mDNS path can connect, and
//! without the mDNS socket the same setup does not. An unanswered name fails cleanly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{A, B, Ev, addr, certs, drain, peer};
use peerless::{ChannelInit, Peer, SdpType};
use peerless_base::Instant;
use peerless_mdns::{GROUP_V4, Responder};

const NAME: &str = "2f1e7c3a-9d4b-4e8a-b6c5-0a1b2c3d4e5f.local";
const A_MDNS: &str = "10.0.0.1:5353";
const B_MDNS: &str = "10.0.0.2:5353";
/// The responder's answer takes this long (B's checks go out and are dropped meanwhile).
const MDNS_DELAY: Duration = Duration::from_millis(100);

/// A STUN Binding request (RFC 8489: type 0x0001).
fn is_binding_request(d: &[u8]) -> bool {
    d.len() >= 20 && d[0] == 0 && d[1] == 1
}

struct Net {
    a: Peer,
    b: Peer,
    responder: Responder<2>,
    now: Instant,
    events_a: Vec<Ev>,
    events_b: Vec<Ev>,
    /// B's binding requests that were dropped: every one until A has sent a check of its own
    /// to B, so A cannot learn B as a peer-reflexive candidate from them.
    blocked: u64,
    /// A sent a binding request to B's real address.
    a_checked: bool,
    /// mDNS queries A sent.
    queries: u64,
    /// The responder's answers on their way to A: (arrival, source, datagram).
    answers: Vec<(Instant, SocketAddr, Vec<u8>)>,
}

impl Net {
    fn shuttle(&mut self) {
        let mut buf = vec![0u8; 2048];
        let mut reply = vec![0u8; 512];
        loop {
            let mut any = false;
            let now = self.now;
            let (due, later) = self.answers.drain(..).partition(|(at, _, _)| *at <= now);
            self.answers = later;
            for (_, from, mut packet) in due {
                any = true;
                self.a.handle_packet(now, from, addr(A_MDNS), &mut packet);
            }
            while let Some(t) = self.a.poll_transmit(&mut buf).unwrap() {
                any = true;
                let (from, to, n) = (t.source, t.destination, t.payload.len());
                if to == GROUP_V4 {
                    assert_eq!(from, addr(A_MDNS));
                    self.queries += 1;
                    // The group reaches B's host, whose responder answers.
                    self.responder
                        .handle_packet(self.now, from, addr(B_MDNS), &buf[..n]);
                    while let Some(r) = self.responder.poll_transmit(&mut reply).unwrap() {
                        assert_eq!(r.destination, GROUP_V4);
                        // Delivered after MDNS_DELAY: B's own checks go out meanwhile.
                        self.answers
                            .push((self.now + MDNS_DELAY, r.source, r.payload.to_vec()));
                    }
                } else if to == addr(B) {
                    self.a_checked |= is_binding_request(&buf[..n]);
                    self.b.handle_packet(self.now, from, to, &mut buf[..n]);
                }
            }
            while let Some(t) = self.b.poll_transmit(&mut buf).unwrap() {
                any = true;
                let (from, to, n) = (t.source, t.destination, t.payload.len());
                if is_binding_request(&buf[..n]) && !self.a_checked {
                    self.blocked += 1;
                    continue;
                }
                if to == addr(A) {
                    self.a.handle_packet(self.now, from, to, &mut buf[..n]);
                }
            }
            self.events_a.extend(drain(&mut self.a));
            self.events_b.extend(drain(&mut self.b));
            if !any {
                break;
            }
        }
    }

    fn run_until(&mut self, limit: Duration, done: impl Fn(&Net) -> bool) -> bool {
        let end = self.now + limit;
        loop {
            self.shuttle();
            if done(self) {
                return true;
            }
            let Some(next) = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .chain(self.answers.iter().map(|(at, _, _)| Some(*at)))
                .flatten()
                .min()
            else {
                return false;
            };
            let next = next.max(self.now + Duration::from_micros(1));
            if next > end {
                return false;
            }
            self.now = next;
            self.a.handle_timeout(next);
            self.b.handle_timeout(next);
        }
    }
}

fn opened(evs: &[Ev]) -> bool {
    evs.iter().any(|e| matches!(e, Ev::Open { .. }))
}

/// A offers with its host address; B answers hiding 10.0.0.2 behind NAME (in the answer, or
/// trickled afterwards with `add_remote_candidate`).
fn setup(mdns_socket: bool, publish: bool, trickle: bool) -> Net {
    let (ca, cb) = certs();
    let mut a = peer(ca, 1);
    let mut b = peer(cb, 2);
    if mdns_socket {
        a.add_mdns_socket(addr(A_MDNS)).unwrap();
    }
    a.add_local_candidate(addr(A)).unwrap();
    b.add_local_candidate(addr(B)).unwrap();
    a.create_data_channel("chat", ChannelInit::default())
        .unwrap();
    let mut buf = vec![0u8; 16384];
    let offer = a.create_offer(&mut buf).unwrap().to_string();
    a.set_local_description(SdpType::Offer, &offer).unwrap();
    b.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = b.create_answer(&mut buf).unwrap().to_string();
    b.set_local_description(SdpType::Answer, &answer).unwrap();
    let ip = addr(B).ip().to_string();
    let mut hidden = String::new();
    let mut trickled = Vec::new();
    for line in answer.lines() {
        if line.starts_with("a=candidate:") {
            let line = line.replace(&format!(" {ip} "), &format!(" {NAME} "));
            assert!(line.contains(NAME), "{line}");
            if trickle {
                trickled.push(line);
                continue;
            }
            hidden.push_str(&line);
        } else if trickle && line.starts_with("a=end-of-candidates") {
            continue;
        } else if line.starts_with("c=") {
            hidden.push_str("c=IN IP4 0.0.0.0");
        } else {
            hidden.push_str(line);
        }
        hidden.push_str("\r\n");
    }
    assert!(
        !hidden.contains(&ip),
        "the answer still shows B's address:\n{hidden}"
    );
    a.set_remote_description(SdpType::Answer, &hidden).unwrap();
    for line in &trickled {
        let r = a.add_remote_candidate(line);
        assert_eq!(r.is_ok(), mdns_socket, "{line}: {r:?}");
    }
    if trickle {
        // End-of-candidates while the name is pending: held back from ICE until it settles.
        a.add_remote_candidate("").unwrap();
    }
    let mut responder = Responder::new(Instant::ZERO);
    responder.add_socket(addr(B_MDNS)).unwrap();
    if publish {
        responder.publish(NAME, addr(B).ip()).unwrap();
    }
    Net {
        a,
        b,
        responder,
        now: Instant::ZERO,
        events_a: Vec::new(),
        events_b: Vec::new(),
        blocked: 0,
        a_checked: false,
        queries: 0,
        answers: Vec::new(),
    }
}

fn connects_only_through_mdns(trickle: bool) {
    let mut net = setup(true, true, trickle);
    let ok = net.run_until(Duration::from_secs(10), |n| {
        opened(&n.events_a) && opened(&n.events_b)
    });
    let s = net.a.stats();
    println!(
        "trickle={trickle}: connected={ok} at {} ms, queries={}, blocked checks from B={}, \
         mdns queried/resolved/failed={}/{}/{}",
        net.now.as_millis(),
        net.queries,
        net.blocked,
        s.mdns_queried,
        s.mdns_resolved,
        s.mdns_failed
    );
    assert!(
        ok,
        "the channel did not open through the resolved candidate"
    );
    assert_eq!((s.mdns_queried, s.mdns_resolved, s.mdns_failed), (1, 1, 0));
    assert_eq!(
        net.queries, 2,
        "answered at once: one A and one AAAA query, no retransmission"
    );
    assert!(
        net.blocked > 0,
        "B did try its own checks (and they were dropped)"
    );
    let pair: Option<(SocketAddr, SocketAddr)> = net.a.selected_pair();
    assert_eq!(pair, Some((addr(A), addr(B))));
}

#[test]
fn a_local_name_in_the_answer_connects_only_through_mdns() {
    connects_only_through_mdns(false);
}

#[test]
fn a_trickled_local_name_connects_only_through_mdns() {
    connects_only_through_mdns(true);
}

/// The control: the same network without A's mDNS socket never connects (the `.local`
/// candidate is unusable and B's checks are dropped), so the test above proves the mDNS path.
#[test]
fn without_an_mdns_socket_the_same_setup_does_not_connect() {
    let mut net = setup(false, true, false);
    let ok = net.run_until(Duration::from_secs(10), |n| opened(&n.events_a));
    assert!(!ok);
    assert_eq!(net.queries, 0);
    assert_eq!(net.a.stats().remote_candidates_unusable, 1);
    assert_eq!(net.a.stats().mdns_queried, 0);
}

/// Nobody answers: three tries of an A and an AAAA query (0, 1, 3 s), the candidate dropped at
/// 5 s and counted, and
/// no timer left spinning for it.
#[test]
fn an_unanswered_name_fails_cleanly() {
    let mut net = setup(true, false, false);
    let ok = net.run_until(Duration::from_secs(8), |n| opened(&n.events_a));
    assert!(!ok);
    let s = net.a.stats();
    assert_eq!((s.mdns_queried, s.mdns_resolved, s.mdns_failed), (1, 0, 1));
    assert_eq!(net.queries, 6);
}
