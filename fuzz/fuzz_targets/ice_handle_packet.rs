//! `ice::Agent::handle_packet` with arbitrary datagrams, half of them signed with the agent's
//! credentials so the fuzzer reaches past authentication (roles, nomination, prflx, 420).
#![no_main]

use core::net::SocketAddr;
use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use peerless_base::Instant;
use peerless_ice::{Agent, Config, Credentials, Role};
use peerless_stun::{AttrType, Attribute, Builder, Class, Method, TransactionId};

const PWD: &str = "fuzzPassword0123456789xx";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let role = if flags & 1 == 0 {
        Role::Controlling
    } else {
        Role::Controlled
    };
    let mut config =
        Config::new(role, [flags; 32]).with_credentials(Credentials::new("fuzz", PWD).unwrap());
    if flags & 2 != 0 {
        config = config.with_lite();
    }
    let mut agent: Agent<4, 8, 4> = Agent::new(config, Instant::ZERO);
    let local: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    agent.add_local_candidate(local).unwrap();
    agent
        .set_remote_credentials("peer", "peerPassword0123456789xx")
        .unwrap();
    let _ = agent.add_remote_candidate("candidate:1 1 udp 2130706431 192.0.2.2 6000 typ host");
    let mut now = Instant::ZERO;
    let mut out = [0u8; 1500];
    for (i, chunk) in rest.split(|b| *b == 0xff).enumerate().take(16) {
        let from: SocketAddr = if i % 3 == 0 {
            "192.0.2.2:6000"
        } else {
            "198.51.100.7:7000"
        }
        .parse()
        .unwrap();
        let packet = if chunk.first().is_some_and(|b| b & 1 == 1) {
            signed(chunk)
        } else {
            chunk.to_vec()
        };
        let _ = agent.accepts(from, &packet);
        agent.handle_packet(now, from, local, &packet);
        agent.handle_timeout(now);
        while let Ok(Some(_)) = agent.poll_transmit(&mut out) {}
        while agent.poll_event().is_some() {}
        now += Duration::from_millis(u64::from(chunk.len() as u8) * 40);
    }
});

/// A request built from the fuzz bytes as (type, length, value) attributes, with a valid
/// USERNAME first and MESSAGE-INTEGRITY/FINGERPRINT computed with the agent's password.
fn signed(bytes: &[u8]) -> Vec<u8> {
    let mut b = Builder::<'_, 24>::new(
        Class::Request,
        Method::BINDING,
        TransactionId([bytes.len() as u8; 12]),
    )
    .username("fuzz:peer");
    let mut rest = bytes.get(1..).unwrap_or_default();
    while rest.len() >= 3 {
        let typ = AttrType(u16::from_be_bytes([rest[0], rest[1]]));
        let len = usize::from(rest[2]).min(rest.len() - 3);
        b = b.attr(Attribute::Other {
            typ,
            value: &rest[3..3 + len],
        });
        rest = &rest[3 + len..];
    }
    let mut buf = vec![0u8; 2048];
    match b
        .integrity_sha1(PWD.as_bytes())
        .fingerprint()
        .emit(&mut buf)
    {
        Ok(n) => buf[..n].to_vec(),
        Err(_) => bytes.to_vec(),
    }
}
