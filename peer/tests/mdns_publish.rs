//! Publishing our own host candidates as `.local` names (`Config::obfuscate_host_addresses`,
//! what browsers do): B hides 10.0.0.2 behind a random UUID-v4 name in its real answer and its
//! trickled candidate events, and answers queries for it through its own Responder on the mDNS
//! socket it was lent (the same socket its querier uses). A resolves the name through its mDNS
//! socket. The network carries every mDNS datagram sent to the group to the other peer's mDNS
//! socket, as a link does. B's binding requests are dropped until A has checked B's real address
//! itself, so A cannot learn B as peer-reflexive: only the published name can connect. The
//! control: A without an mDNS socket does not connect in the same network.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{A, B, Ev, addr, areas, certs, drain};
use peerless::{ChannelInit, Config, Event, Peer, SdpType};
use peerless_base::Instant;
use peerless_mdns::{GROUP_V4, Message};

const A_MDNS: &str = "10.0.0.1:5353";
const B_MDNS: &str = "10.0.0.2:5353";

/// mDNS datagrams take this long on the link (B's own checks go out and are dropped meanwhile).
const MDNS_DELAY: Duration = Duration::from_millis(100);

fn is_binding_request(d: &[u8]) -> bool {
    d.len() >= 20 && d[0] == 0 && d[1] == 1
}

struct Net {
    a: Peer,
    b: Peer,
    now: Instant,
    events_a: Vec<Ev>,
    events_b: Vec<Ev>,
    /// B's binding requests dropped before A checked B's real address.
    blocked: u64,
    a_checked: bool,
    /// mDNS datagrams A sent to the group (queries) and B sent to the group (answers).
    queries_from_a: u64,
    answers_from_b: u64,
    /// mDNS datagrams on the link: (arrival, to A?, source, datagram).
    link: Vec<(Instant, bool, SocketAddr, Vec<u8>)>,
}

impl Net {
    fn shuttle(&mut self) {
        let mut buf = vec![0u8; 2048];
        loop {
            let mut any = false;
            let now = self.now;
            let (due, later) = self.link.drain(..).partition(|(at, ..)| *at <= now);
            self.link = later;
            for (_, to_a, from, mut d) in due {
                any = true;
                if to_a {
                    self.a.handle_packet(now, from, addr(A_MDNS), &mut d);
                } else {
                    self.b.handle_packet(now, from, addr(B_MDNS), &mut d);
                }
            }
            while let Some(t) = self.a.poll_transmit(&mut buf).unwrap() {
                any = true;
                let (from, to, n) = (t.source, t.destination, t.payload.len());
                if to == GROUP_V4 {
                    assert_eq!(from, addr(A_MDNS));
                    self.queries_from_a += 1;
                    let d = buf[..n].to_vec();
                    self.link.push((self.now + MDNS_DELAY, false, from, d));
                } else if to == addr(B) {
                    self.a_checked |= is_binding_request(&buf[..n]);
                    self.b.handle_packet(self.now, from, to, &mut buf[..n]);
                }
            }
            while let Some(t) = self.b.poll_transmit(&mut buf).unwrap() {
                any = true;
                let (from, to, n) = (t.source, t.destination, t.payload.len());
                if to == GROUP_V4 {
                    assert_eq!(from, addr(B_MDNS));
                    let m = Message::parse(&buf[..n]).unwrap();
                    assert!(m.is_response(), "B only answers: it has nothing to ask");
                    self.answers_from_b += 1;
                    let d = buf[..n].to_vec();
                    self.link.push((self.now + MDNS_DELAY, true, from, d));
                    continue;
                }
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
                .chain(self.link.iter().map(|(at, ..)| Some(*at)))
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

/// `<8>-<4>-4<3>-[89ab]<3>-<12>.local`, lower-case hex.
fn is_uuid_v4_name(s: &str) -> bool {
    let Some(uuid) = s.strip_suffix(".local") else {
        return false;
    };
    let parts: Vec<&str> = uuid.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && uuid
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && parts[2].starts_with('4')
        && matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b')
}

/// B publishes; A resolves if `a_mdns`. Returns the net and the name B signalled.
fn setup(a_mdns: bool, trickle: bool) -> (Net, String) {
    let (ca, cb) = certs();
    let (s, r) = areas();
    let mut a = Peer::new(Config::new(ca, [1; 32]), Instant::ZERO, s, r);
    let mut config = Config::new(cb, [2; 32]);
    config.obfuscate_host_addresses = true;
    let (s, r) = areas();
    let mut b = Peer::new(config, Instant::ZERO, s, r);
    if a_mdns {
        a.add_mdns_socket(addr(A_MDNS)).unwrap();
    }
    b.add_mdns_socket(addr(B_MDNS)).unwrap();
    a.add_local_candidate(addr(A)).unwrap();
    b.add_local_candidate(addr(B)).unwrap();
    // B's candidate event: the text to signal carries the name, the candidate its address.
    let mut signalled = Vec::new();
    while let Some(e) = b.poll_event() {
        if let Event::LocalCandidate {
            candidate, text, ..
        } = e
        {
            assert_eq!(candidate.address, addr(B));
            let line = text.to_string();
            let name = text.mdns_name().expect("B hides its host address");
            assert!(is_uuid_v4_name(name), "{name}");
            assert!(line.contains(&format!(" {name} 5000 typ host")), "{line}");
            assert!(!line.contains("10.0.0.2"), "{line}");
            signalled.push((line, name.to_string()));
        }
    }
    assert_eq!(signalled.len(), 1);
    let (line, name) = signalled.pop().unwrap();
    a.create_data_channel("chat", ChannelInit::default())
        .unwrap();
    let mut buf = vec![0u8; 16384];
    let offer = a.create_offer(&mut buf).unwrap().to_string();
    a.set_local_description(SdpType::Offer, &offer).unwrap();
    b.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = b.create_answer(&mut buf).unwrap().to_string();
    b.set_local_description(SdpType::Answer, &answer).unwrap();
    // B's real answer, unedited: the name in the candidate, no address anywhere.
    // (The event's text also carries `ufrag`, which descriptions leave out.)
    let bare = line.split(" ufrag ").next().unwrap();
    assert!(
        answer.contains(&format!("a={bare}\r\n")),
        "{bare} not in\n{answer}"
    );
    assert!(!answer.contains("10.0.0.2"), "{answer}");
    assert!(answer.contains("c=IN IP4 0.0.0.0"), "{answer}");
    let remote = if trickle {
        // The answer without its candidates; the event's text is trickled instead.
        answer
            .lines()
            .filter(|l| !l.starts_with("a=candidate:") && !l.starts_with("a=end-of-candidates"))
            .map(|l| format!("{l}\r\n"))
            .collect()
    } else {
        answer
    };
    a.set_remote_description(SdpType::Answer, &remote).unwrap();
    if trickle {
        let r = a.add_remote_candidate(&format!("a={line}"));
        assert_eq!(r.is_ok(), a_mdns, "{r:?}");
        a.add_remote_candidate("").unwrap();
    }
    let net = Net {
        a,
        b,
        now: Instant::ZERO,
        events_a: Vec::new(),
        events_b: Vec::new(),
        blocked: 0,
        a_checked: false,
        queries_from_a: 0,
        answers_from_b: 0,
        link: Vec::new(),
    };
    (net, name)
}

fn connects_through_the_published_name(trickle: bool) {
    let (mut net, name) = setup(true, trickle);
    let ok = net.run_until(Duration::from_secs(10), |n| {
        opened(&n.events_a) && opened(&n.events_b)
    });
    let s = net.a.stats();
    println!(
        "trickle={trickle}: {name}: connected={ok} at {} ms, A's queries={}, B's answers={}, \
         blocked checks from B={}, A mdns queried/resolved/failed={}/{}/{}, B answered={}",
        net.now.as_millis(),
        net.queries_from_a,
        net.answers_from_b,
        net.blocked,
        s.mdns_queried,
        s.mdns_resolved,
        s.mdns_failed,
        net.b.stats().mdns_answered
    );
    assert!(ok, "the channel did not open through the published name");
    assert_eq!((s.mdns_queried, s.mdns_resolved, s.mdns_failed), (1, 1, 0));
    // One A and one AAAA query; B has an IPv4 address only, so it answers the A one.
    assert_eq!((net.queries_from_a, net.answers_from_b), (2, 1));
    assert_eq!(net.b.stats().mdns_answered, 1);
    assert!(net.blocked > 0, "B's own checks were dropped");
    let pair: Option<(SocketAddr, SocketAddr)> = net.a.selected_pair();
    assert_eq!(pair, Some((addr(A), addr(B))));
    // B keeps answering for the connection's life: a later query (a third party, or A
    // again) still gets the address.
    let mut q = [0u8; 512];
    let n = peerless_mdns::emit_query(&mut q, &name, peerless_mdns::RecordType::A, false).unwrap();
    net.now += Duration::from_secs(30);
    net.b
        .handle_packet(net.now, addr(A_MDNS), addr(B_MDNS), &mut q[..n]);
    let mut buf = vec![0u8; 2048];
    let mut answered = None;
    while let Some(t) = net.b.poll_transmit(&mut buf).unwrap() {
        if t.destination == GROUP_V4 {
            let m = Message::parse(t.payload).unwrap();
            answered = m.records().find_map(|r| r.address());
        }
    }
    assert_eq!(answered, Some(addr(B).ip()));
}

#[test]
fn a_published_name_in_the_answer_connects_only_through_mdns() {
    connects_through_the_published_name(false);
}

#[test]
fn a_published_name_trickled_connects_only_through_mdns() {
    connects_through_the_published_name(true);
}

/// The control: A without an mDNS socket cannot use the name, and B's checks are dropped, so
/// the same network never connects.
#[test]
fn without_a_resolver_the_published_name_does_not_connect() {
    let (mut net, _) = setup(false, false);
    let ok = net.run_until(Duration::from_secs(10), |n| opened(&n.events_a));
    assert!(!ok);
    assert_eq!(net.queries_from_a, 0);
    assert_eq!(net.answers_from_b, 0);
    assert_eq!(net.a.stats().remote_candidates_unusable, 1);
}

/// Each host address gets its own name, drawn from the Peer's DRBG: another seed, another
/// name; the same seed, the same name (deterministic, as every other random choice).
#[test]
fn names_are_per_address_and_come_from_the_seed() {
    let names = |seed: u8| {
        let (_, cb) = certs();
        let mut config = Config::new(cb, [seed; 32]);
        config.obfuscate_host_addresses = true;
        let (s, r) = areas();
        let mut b: Peer = Peer::new(config, Instant::ZERO, s, r);
        b.add_mdns_socket(addr(B_MDNS)).unwrap();
        b.add_local_candidate(addr(B)).unwrap();
        b.add_local_candidate(addr("10.0.0.2:5001")).unwrap();
        b.add_local_candidate(addr("10.0.0.3:5000")).unwrap();
        let mut out = Vec::new();
        while let Some(e) = b.poll_event() {
            if let Event::LocalCandidate { text, .. } = e {
                out.push(text.mdns_name().unwrap().to_string());
            }
        }
        out
    };
    let one = names(2);
    assert_eq!(one.len(), 3);
    assert_eq!(one[0], one[1], "two sockets on one address share its name");
    assert_ne!(one[0], one[2]);
    assert!(one.iter().all(|n| is_uuid_v4_name(n)), "{one:?}");
    assert_eq!(names(2), one);
    assert_ne!(names(3)[0], one[0]);
}
