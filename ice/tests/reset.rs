//! `Agent::reset`: an agent started over in place is the agent `Agent::new` makes from the
//! same configuration, byte for byte, with nothing of its previous life (candidates, pairs,
//! checks in flight, queued events, credentials, counters).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::Instant;
use peerless_ice::{Agent, Config, IceState, Role};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Every datagram the agent has to send now, with both addresses.
fn transmits(a: &mut Agent) -> Vec<(SocketAddr, SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
        out.push((t.source, t.destination, t.payload.to_vec()));
    }
    out
}

fn events(a: &mut Agent) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(e) = a.poll_event() {
        out.push(format!("{e:?}"));
    }
    out
}

#[test]
fn a_reset_agent_is_a_new_one() {
    // An agent in the middle of its checks: candidates, remote credentials, pairs, checks
    // sent and waiting for answers, events not yet polled.
    let mut old = Agent::new(Config::new(Role::Controlling, [1; 32]), Instant::ZERO);
    old.add_local_candidate(addr("10.0.0.1:5000")).unwrap();
    old.set_remote_credentials("abcd", "0123456789abcdef0123456789")
        .unwrap();
    old.add_remote_candidate("candidate:1 1 udp 2130706431 10.0.0.2 6000 typ host")
        .unwrap();
    old.handle_timeout(Instant::from_millis(50));
    let old_creds = *old.local_credentials();

    let now = Instant::from_millis(700);
    let config = Config::new(Role::Controlled, [2; 32]);
    old.reset(config, now);
    let mut new = Agent::new(config, now);

    assert_eq!(old.local_credentials(), new.local_credentials());
    assert_ne!(*old.local_credentials(), old_creds);
    assert_eq!(old.tie_breaker(), new.tie_breaker());
    assert_eq!(old.role(), Role::Controlled);
    assert_eq!(old.state(), IceState::New);
    assert_eq!(old.local_candidates().count(), 0);
    assert_eq!(old.selected_pair(), None);
    assert_eq!(old.stats(), new.stats());
    assert_eq!(events(&mut old), Vec::<String>::new(), "no old event");
    assert!(transmits(&mut old).is_empty(), "no old check");
    assert_eq!(old.poll_timeout(), new.poll_timeout());

    // From here on the two behave alike.
    for a in [&mut old, &mut new] {
        a.add_local_candidate(addr("10.0.0.3:5000")).unwrap();
        a.set_remote_credentials("wxyz", "fedcba9876543210fedcba9876")
            .unwrap();
        a.add_remote_candidate("candidate:1 1 udp 2130706431 10.0.0.4 6000 typ host")
            .unwrap();
    }
    let later = now + Duration::from_millis(100);
    old.handle_timeout(later);
    new.handle_timeout(later);
    assert_eq!(events(&mut old), events(&mut new));
    let sent = transmits(&mut old);
    assert!(!sent.is_empty(), "checks start");
    assert_eq!(sent, transmits(&mut new));
    assert_eq!(old.poll_timeout(), new.poll_timeout());
}
