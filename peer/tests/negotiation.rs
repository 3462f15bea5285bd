//! JSEP between two Peers in memory: the signaling states with provisional answers, pending and
//! current descriptions, rollback of either side's offer, glare with a polite and an impolite
//! Peer, `NegotiationNeeded`, the gathering state and candidate errors, and what a candidate
//! event says about where it belongs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{A, B, Pair, addr, areas, certs, peer};
use peerless::{
    ChannelInit, Config, ConnectionState, Event, IceGatheringState, IceState, Peer, SdpError,
    SdpType, SignalingState,
};
use peerless_base::Instant;

use SignalingState::{
    HaveLocalOffer, HaveLocalPranswer, HaveRemoteOffer, HaveRemotePranswer, Stable,
};

/// The events this file asserts on, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum N {
    Signaling(SignalingState),
    Needed,
    Gathering(IceGatheringState),
    Candidate {
        mid: String,
        index: u16,
        ufrag: String,
    },
    CandidateError {
        code: u16,
    },
    Conn(ConnectionState),
    Other,
}

fn events(p: &mut Peer) -> Vec<N> {
    let mut out = Vec::new();
    while let Some(e) = p.poll_event() {
        out.push(match e {
            Event::SignalingState(s) => N::Signaling(s),
            Event::NegotiationNeeded => N::Needed,
            Event::IceGatheringState(s) => N::Gathering(s),
            Event::LocalCandidate {
                sdp_mid,
                sdp_mline_index,
                username_fragment,
                candidate,
                text,
            } => {
                // Not hidden by default: the signalled text is the candidate's own.
                assert_eq!(text.to_string(), candidate.to_string());
                assert_eq!(text.mdns_name(), None);
                assert_eq!(
                    candidate.ufrag.map(|u| u.as_str().to_string()).as_deref(),
                    Some(username_fragment)
                );
                N::Candidate {
                    mid: sdp_mid.to_string(),
                    index: sdp_mline_index,
                    ufrag: username_fragment.to_string(),
                }
            }
            Event::IceCandidateError { error_code, .. } => N::CandidateError { code: error_code },
            Event::ConnectionState(s) => N::Conn(s),
            _ => N::Other,
        });
    }
    out
}

fn signaling(evs: &[N]) -> Vec<SignalingState> {
    evs.iter()
        .filter_map(|e| match e {
            N::Signaling(s) => Some(*s),
            _ => None,
        })
        .collect()
}

fn needed(evs: &[N]) -> usize {
    evs.iter().filter(|e| **e == N::Needed).count()
}

fn offer(p: &mut Peer) -> String {
    let mut buf = vec![0u8; 4096];
    p.create_offer(&mut buf).unwrap().to_string()
}

fn answer(p: &mut Peer) -> String {
    let mut buf = vec![0u8; 4096];
    p.create_answer(&mut buf).unwrap().to_string()
}

fn ufrag_of(sdp: &str) -> &str {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .trim()
}

fn pair() -> Pair {
    let (ca, cb) = certs();
    let mut p = Pair::new(peer(ca, 1), peer(cb, 2));
    p.a.add_local_candidate(addr(A)).unwrap();
    p.b.add_local_candidate(addr(B)).unwrap();
    p
}

fn connected(p: &mut Pair) -> bool {
    p.run_until(Duration::from_secs(10), |p| {
        p.a.connection_state() == ConnectionState::Connected
            && p.b.connection_state() == ConnectionState::Connected
            && p.opened(false)
            && p.opened(true)
    })
}

#[test]
fn provisional_answers_walk_both_pranswer_states_and_the_final_answer_commits() {
    let mut p = pair();
    p.a.create_data_channel("chat", ChannelInit::default())
        .unwrap();
    let o = offer(&mut p.a);
    p.a.set_local_description(SdpType::Offer, &o).unwrap();
    assert_eq!(p.a.pending_local_description(), Some(o.as_str()));
    assert_eq!(p.a.current_local_description(), None);
    assert_eq!(p.a.local_description(), Some(o.as_str()));

    p.b.set_remote_description(SdpType::Offer, &o).unwrap();
    assert_eq!(p.b.pending_remote_description(), Some(o.as_str()));
    let pr = answer(&mut p.b);
    p.b.set_local_description(SdpType::Pranswer, &pr).unwrap();
    assert_eq!(p.b.signaling_state(), HaveLocalPranswer);
    assert_eq!(p.b.pending_local_description(), Some(pr.as_str()));
    assert_eq!(
        p.b.pending_remote_description(),
        Some(o.as_str()),
        "a provisional answer leaves the offer pending"
    );
    p.a.set_remote_description(SdpType::Pranswer, &pr).unwrap();
    assert_eq!(p.a.signaling_state(), HaveRemotePranswer);
    assert_eq!(p.a.pending_remote_description(), Some(pr.as_str()));
    assert_eq!(p.a.pending_local_description(), Some(o.as_str()));
    // A provisional answer starts the transport: the connection comes up before the final one.
    assert!(connected(&mut p));
    assert_eq!(p.a.signaling_state(), HaveRemotePranswer);

    let fin = answer(&mut p.b);
    p.b.set_local_description(SdpType::Answer, &fin).unwrap();
    p.a.set_remote_description(SdpType::Answer, &fin).unwrap();
    for (peer, local, remote) in [(&p.a, &o, &fin), (&p.b, &fin, &o)] {
        assert_eq!(peer.signaling_state(), Stable);
        assert_eq!(peer.current_local_description(), Some(local.as_str()));
        assert_eq!(peer.current_remote_description(), Some(remote.as_str()));
        assert_eq!(peer.pending_local_description(), None);
        assert_eq!(peer.pending_remote_description(), None);
        assert_eq!(peer.local_description(), Some(local.as_str()));
        assert_eq!(peer.remote_description(), Some(remote.as_str()));
    }
    let evs_a = events(&mut p.a);
    let evs_b = events(&mut p.b);
    assert_eq!(signaling(&evs_a), [Stable]);
    assert_eq!(signaling(&evs_b), [Stable]);
    assert_eq!(p.a.connection_state(), ConnectionState::Connected);
}

#[test]
fn every_signaling_change_is_an_event_in_order() {
    let mut p = pair();
    let o = offer(&mut p.a);
    p.a.set_local_description(SdpType::Offer, &o).unwrap();
    p.b.set_remote_description(SdpType::Offer, &o).unwrap();
    let pr = answer(&mut p.b);
    p.b.set_local_description(SdpType::Pranswer, &pr).unwrap();
    p.a.set_remote_description(SdpType::Pranswer, &pr).unwrap();
    let a = answer(&mut p.b);
    p.b.set_local_description(SdpType::Answer, &a).unwrap();
    p.a.set_remote_description(SdpType::Answer, &a).unwrap();
    assert_eq!(
        signaling(&events(&mut p.a)),
        [HaveLocalOffer, HaveRemotePranswer, Stable]
    );
    assert_eq!(
        signaling(&events(&mut p.b)),
        [HaveRemoteOffer, HaveLocalPranswer, Stable]
    );
}

#[test]
fn descriptions_in_the_wrong_state_are_refused_and_change_nothing() {
    let mut p = pair();
    let o = offer(&mut p.a);
    for kind in [SdpType::Answer, SdpType::Pranswer] {
        assert_eq!(
            p.a.set_local_description(kind, &o),
            Err(SdpError::WrongState)
        );
        assert_eq!(
            p.a.set_remote_description(kind, &o),
            Err(SdpError::WrongState)
        );
    }
    for side in [true, false] {
        let r = if side {
            p.a.set_local_description(SdpType::Rollback, "")
        } else {
            p.a.set_remote_description(SdpType::Rollback, "")
        };
        assert_eq!(r, Err(SdpError::WrongState), "no rollback in stable");
    }
    p.a.set_local_description(SdpType::Offer, &o).unwrap();
    assert_eq!(
        p.a.set_remote_description(SdpType::Rollback, ""),
        Err(SdpError::WrongState),
        "only our own offer can be rolled back in have-local-offer"
    );
    assert_eq!(
        p.a.set_local_description(SdpType::Pranswer, &o),
        Err(SdpError::WrongState)
    );
    let mut buf = vec![0u8; 4096];
    assert_eq!(p.a.create_answer(&mut buf), Err(SdpError::WrongState));
    assert_eq!(p.a.signaling_state(), HaveLocalOffer);
    assert_eq!(p.a.pending_local_description(), Some(o.as_str()));
    assert_eq!(signaling(&events(&mut p.a)), [HaveLocalOffer]);
}

#[test]
fn our_offer_rolled_back_leaves_the_agreed_descriptions_and_the_connection() {
    let mut p = pair();
    p.a.create_data_channel("chat", ChannelInit::default())
        .unwrap();
    p.signal();
    assert!(connected(&mut p));
    let current = p.a.current_local_description().unwrap().to_string();
    let current_remote = p.a.current_remote_description().unwrap().to_string();
    events(&mut p.a);

    p.a.restart_ice();
    assert_eq!(
        needed(&events(&mut p.a)),
        1,
        "an ICE restart needs an offer"
    );
    let o = offer(&mut p.a);
    assert_ne!(ufrag_of(&o), ufrag_of(&current));
    p.a.set_local_description(SdpType::Offer, &o).unwrap();
    p.a.set_local_description(SdpType::Rollback, "").unwrap();
    assert_eq!(p.a.signaling_state(), Stable);
    assert_eq!(p.a.pending_local_description(), None);
    assert_eq!(p.a.local_description(), Some(current.as_str()));
    assert_eq!(p.a.remote_description(), Some(current_remote.as_str()));
    let evs = events(&mut p.a);
    assert_eq!(signaling(&evs), [HaveLocalOffer, Stable]);
    assert_eq!(
        needed(&evs),
        1,
        "the restart still wants an offer after the rollback: asked again"
    );

    // The restart goes through on the next exchange, and the traffic never stopped.
    let o = offer(&mut p.a);
    p.a.set_local_description(SdpType::Offer, &o).unwrap();
    p.b.set_remote_description(SdpType::Offer, &o).unwrap();
    let a = answer(&mut p.b);
    p.b.set_local_description(SdpType::Answer, &a).unwrap();
    p.a.set_remote_description(SdpType::Answer, &a).unwrap();
    assert_eq!(needed(&events(&mut p.a)), 0, "settled");
    let ch = peerless::ChannelId(0);
    p.a.send_text(ch, "after the restart").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.events_b.iter().any(
            |e| matches!(e, common::Ev::Message { data, .. } if data == b"after the restart")
        ))
    );
    assert_eq!(p.a.connection_state(), ConnectionState::Connected);
}

#[test]
fn a_first_remote_offer_rolled_back_leaves_a_peer_that_can_offer_itself() {
    let mut p = pair();
    let o = offer(&mut p.a);
    p.a.set_local_description(SdpType::Offer, &o).unwrap();
    // B takes A's offer (becoming ICE-controlled), then withdraws it.
    p.b.set_remote_description(SdpType::Offer, &o).unwrap();
    assert_eq!(p.b.can_trickle_ice_candidates(), Some(true));
    assert_ne!(p.b.ice_state(), IceState::New, "B checks A's candidate");
    p.b.set_remote_description(SdpType::Rollback, "").unwrap();
    assert_eq!(p.b.signaling_state(), Stable);
    assert_eq!(p.b.remote_description(), None);
    assert_eq!(p.b.can_trickle_ice_candidates(), None);
    let evs = events(&mut p.b);
    assert_eq!(signaling(&evs), [HaveRemoteOffer, Stable]);
    // The offer's credentials and candidates are gone: no more checks toward A.
    assert_eq!(p.b.ice_state(), IceState::New);
    assert_eq!(p.b.connection_state(), ConnectionState::New);
    assert_eq!(p.b.selected_pair(), None);
    let mut buf = vec![0u8; 2048];
    let mut now = Instant::ZERO;
    while let Some(t) =
        p.b.poll_timeout()
            .filter(|t| *t < Instant::ZERO + Duration::from_secs(5))
    {
        assert!(
            p.b.poll_transmit(&mut buf).unwrap().is_none(),
            "nothing to send"
        );
        now = t.max(now);
        p.b.handle_timeout(now);
    }
    assert!(p.b.poll_transmit(&mut buf).unwrap().is_none());

    // A withdraws its offer too; B offers instead and the roles come out of B's offer.
    p.a.set_local_description(SdpType::Rollback, "").unwrap();
    p.b.create_data_channel("from-b", ChannelInit::default())
        .unwrap();
    let o = offer(&mut p.b);
    p.b.set_local_description(SdpType::Offer, &o).unwrap();
    p.a.set_remote_description(SdpType::Offer, &o).unwrap();
    let a = answer(&mut p.a);
    p.a.set_local_description(SdpType::Answer, &a).unwrap();
    p.b.set_remote_description(SdpType::Answer, &a).unwrap();
    assert!(connected(&mut p), "B (controlling again) and A connect");
}

#[test]
fn a_remote_restart_offer_rolled_back_restores_the_agreed_remote_credentials() {
    let mut p = pair();
    p.a.create_data_channel("chat", ChannelInit::default())
        .unwrap();
    p.signal();
    assert!(connected(&mut p));
    let agreed = p.b.current_remote_description().unwrap().to_string();
    p.a.restart_ice();
    let o = offer(&mut p.a);
    p.a.set_local_description(SdpType::Offer, &o).unwrap();
    p.b.set_remote_description(SdpType::Offer, &o).unwrap();
    p.b.set_remote_description(SdpType::Rollback, "").unwrap();
    p.a.set_local_description(SdpType::Rollback, "").unwrap();
    assert_eq!(p.b.remote_description(), Some(agreed.as_str()));
    // Every check B sends from now on names the agreed remote ufrag, not the withdrawn one.
    let withdrawn = format!("{}:", ufrag_of(&o));
    let mut buf = vec![0u8; 2048];
    let mut stun = 0;
    let mut now = p.now;
    while now < p.now + Duration::from_secs(12) {
        while let Some(t) = p.b.poll_transmit(&mut buf).unwrap() {
            if t.payload[0] < 4 {
                stun += 1;
                let has = |n: &[u8]| t.payload.windows(n.len()).any(|w| w == n);
                assert!(
                    !has(withdrawn.as_bytes()),
                    "a check under the withdrawn ufrag"
                );
            }
        }
        now = p.b.poll_timeout().unwrap().max(now);
        p.b.handle_timeout(now);
    }
    assert!(stun > 0, "B kept checking (consent at least)");
    p.now = now;
    p.a.handle_timeout(now);
    // B's answer to the restart offer gave it new credentials too: B asks for an offer.
    assert_eq!(needed(&events(&mut p.b)), 1);
    // Traffic goes on over the pair chosen under the agreed credentials.
    p.a.send_text(peerless::ChannelId(0), "still here").unwrap();
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.events_b.iter().any(
            |e| matches!(e, common::Ev::Message { data, .. } if data == b"still here")
        ))
    );
}

#[test]
fn glare_the_polite_peer_rolls_back_and_the_impolite_one_refuses() {
    let (ca, cb) = certs();
    let (s, r) = areas();
    let polite = Peer::new(
        Config::new(cb, [2; 32]).with_polite(true),
        Instant::ZERO,
        s,
        r,
    );
    let mut p = Pair::new(peer(ca, 1), polite);
    p.a.add_local_candidate(addr(A)).unwrap();
    p.b.add_local_candidate(addr(B)).unwrap();
    p.a.create_data_channel("from-a", ChannelInit::default())
        .unwrap();
    p.b.create_data_channel("from-b", ChannelInit::default())
        .unwrap();
    assert_eq!(needed(&events(&mut p.a)), 1);
    assert_eq!(needed(&events(&mut p.b)), 1);
    let oa = offer(&mut p.a);
    let ob = offer(&mut p.b);
    p.a.set_local_description(SdpType::Offer, &oa).unwrap();
    p.b.set_local_description(SdpType::Offer, &ob).unwrap();
    events(&mut p.a);
    events(&mut p.b);

    assert_eq!(
        p.a.set_remote_description(SdpType::Offer, &ob),
        Err(SdpError::OfferCollision)
    );
    assert_eq!(p.a.signaling_state(), HaveLocalOffer);
    assert_eq!(p.a.pending_local_description(), Some(oa.as_str()));
    assert_eq!(p.a.remote_description(), None);

    p.b.set_remote_description(SdpType::Offer, &oa).unwrap();
    assert_eq!(p.b.pending_local_description(), None, "rolled back");
    assert_eq!(p.b.pending_remote_description(), Some(oa.as_str()));
    assert_eq!(
        signaling(&events(&mut p.b)),
        [Stable, HaveRemoteOffer],
        "the implicit rollback is seen as a change to stable"
    );
    let a = answer(&mut p.b);
    p.b.set_local_description(SdpType::Answer, &a).unwrap();
    p.a.set_remote_description(SdpType::Answer, &a).unwrap();
    assert_eq!(
        needed(&events(&mut p.b)),
        0,
        "B's channel rides on A's offer"
    );
    assert_eq!(needed(&events(&mut p.a)), 0);
    assert!(p.run_until(Duration::from_secs(10), |p| {
        let labels = |evs: &[common::Ev]| {
            let mut l: Vec<String> = evs
                .iter()
                .filter_map(|e| match e {
                    common::Ev::Open { label, .. } => Some(label.clone()),
                    _ => None,
                })
                .collect();
            l.sort();
            l
        };
        labels(&p.events_a) == ["from-a", "from-b"] && labels(&p.events_b) == ["from-a", "from-b"]
    }));
}

#[test]
fn negotiation_needed_is_raised_in_stable_once_per_need() {
    let mut p = pair();
    p.a.create_data_channel("one", ChannelInit::default())
        .unwrap();
    p.a.create_data_channel("two", ChannelInit::default())
        .unwrap();
    assert_eq!(needed(&events(&mut p.a)), 1, "one need, one event");

    // Queued, then an offer applied before the host drained: not announced (not stable).
    let mut q = pair();
    q.a.create_data_channel("one", ChannelInit::default())
        .unwrap();
    let o = offer(&mut q.a);
    q.a.set_local_description(SdpType::Offer, &o).unwrap();
    assert_eq!(needed(&events(&mut q.a)), 0);

    p.signal();
    assert!(connected(&mut p));
    events(&mut p.a);
    events(&mut p.b);
    p.a.create_data_channel("three", ChannelInit::default())
        .unwrap();
    p.b.create_data_channel("four", ChannelInit::default())
        .unwrap();
    assert_eq!(
        needed(&events(&mut p.a)) + needed(&events(&mut p.b)),
        0,
        "the data section exists: new channels need no offer"
    );
    // While an exchange is open a need waits for stable.
    let o = offer(&mut p.a);
    p.a.set_local_description(SdpType::Offer, &o).unwrap();
    p.a.restart_ice();
    assert_eq!(needed(&events(&mut p.a)), 0);
    p.b.set_remote_description(SdpType::Offer, &o).unwrap();
    let a = answer(&mut p.b);
    p.b.set_local_description(SdpType::Answer, &a).unwrap();
    p.a.set_remote_description(SdpType::Answer, &a).unwrap();
    assert_eq!(
        needed(&events(&mut p.a)),
        1,
        "the offer before the restart did not settle it"
    );
}

#[test]
fn gathering_state_and_candidates_say_where_they_belong() {
    let (ca, _) = certs();
    let mut a = peer(ca, 1);
    assert_eq!(a.ice_gathering_state(), IceGatheringState::New);
    a.add_local_candidate(addr(A)).unwrap();
    let evs = events(&mut a);
    assert_eq!(a.ice_gathering_state(), IceGatheringState::Complete);
    let o = offer(&mut a);
    let ufrag = ufrag_of(&o).to_string();
    assert_eq!(
        evs.iter()
            .filter(|e| !matches!(e, N::Other))
            .cloned()
            .collect::<Vec<_>>(),
        [
            N::Gathering(IceGatheringState::Gathering),
            N::Candidate {
                mid: "0".into(),
                index: 0,
                ufrag: ufrag.clone()
            },
            N::Gathering(IceGatheringState::Complete),
        ]
    );

    // Answering a browser's audio + video + data offer: the data section is the third.
    let (_, cb) = certs();
    let mut b = peer(cb, 2);
    let chromium = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sdp/tests/fixtures/chromium-offer-audio-video-datachannel.sdp"
    ))
    .unwrap();
    b.set_remote_description(SdpType::Offer, &chromium).unwrap();
    b.add_local_candidate(addr(B)).unwrap();
    let cand = events(&mut b)
        .into_iter()
        .find(|e| matches!(e, N::Candidate { .. }))
        .unwrap();
    let N::Candidate { mid, index, .. } = cand else {
        unreachable!()
    };
    let data_mid = chromium
        .split("m=application")
        .nth(1)
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("a=mid:")))
        .unwrap()
        .trim();
    assert_eq!(mid, data_mid);
    assert_eq!(index, 2);
    assert_eq!(b.can_trickle_ice_candidates(), Some(true));
}

#[test]
fn a_stun_server_that_never_answers_is_a_candidate_error_and_gathering_completes() {
    let (ca, _) = certs();
    let (s, r) = areas();
    let server = addr("198.51.100.7:3478");
    let mut a: Peer = Peer::new(
        Config::new(ca, [1; 32]).with_stun_server(server),
        Instant::ZERO,
        s,
        r,
    );
    a.add_local_candidate(addr(A)).unwrap();
    let mut evs = events(&mut a);
    assert_eq!(a.ice_gathering_state(), IceGatheringState::Gathering);
    let mut buf = vec![0u8; 2048];
    let mut errors = Vec::new();
    let mut now = Instant::ZERO;
    while let Some(t) = a.poll_timeout() {
        if t > Instant::ZERO + Duration::from_secs(120) {
            break;
        }
        while a.poll_transmit(&mut buf).unwrap().is_some() {}
        now = t.max(now);
        a.handle_timeout(now);
        while let Some(e) = a.poll_event() {
            if let Event::IceCandidateError {
                address,
                server: s,
                error_code,
                error_text,
                ..
            } = e
            {
                errors.push((address, s, error_code, error_text.to_string()));
            }
        }
        if a.ice_gathering_state() == IceGatheringState::Complete {
            break;
        }
    }
    evs.extend(events(&mut a));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].0, errors[0].1, errors[0].2),
        (addr(A), server, 701)
    );
    assert!(!errors[0].3.is_empty());
    assert_eq!(a.ice_gathering_state(), IceGatheringState::Complete);
    assert!(
        now > Instant::ZERO + Duration::from_secs(5),
        "after the retransmissions"
    );
}

#[test]
fn can_trickle_follows_the_remote_ice_options() {
    let (ca, cb) = certs();
    let mut a = peer(ca, 1);
    let (s, r) = areas();
    let mut cfg = Config::new(cb, [2; 32]);
    cfg.trickle = false;
    let mut b: Peer = Peer::new(cfg, Instant::ZERO, s, r);
    b.add_local_candidate(addr(B)).unwrap();
    let o = offer(&mut b);
    assert_eq!(a.can_trickle_ice_candidates(), None);
    a.set_remote_description(SdpType::Offer, &o).unwrap();
    assert_eq!(a.can_trickle_ice_candidates(), Some(false));
}
