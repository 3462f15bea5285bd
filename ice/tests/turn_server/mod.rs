//! A TURN server (RFC 8656) for the simulator: a test fixture, the server side the agents'
//! relayed candidates need on a simulated network. It is not a stand-in for the peer (the
//! peers are real agents) and not for coturn (scripts/interop/peer-turn-coturn.sh runs the
//! agent against coturn on the wire).
//!
//! ```text
//!  Request without MESSAGE-INTEGRITY          -> 401 REALM NONCE
//!  Request with an old nonce                  -> 438 NONCE (the new one)
//!  wrong key                                  -> 401
//!  Allocate      -> 300 ALTERNATE-SERVER (signed) when `alternate` is set, else
//!                   XOR-RELAYED of the family asked for (REQUESTED-ADDRESS-FAMILY; IPv4 and
//!                   IPv6 with ADDITIONAL-ADDRESS-FAMILY; 440 when it has none) (one of the relay addresses) XOR-MAPPED LIFETIME
//!  Refresh       -> LIFETIME (0: the allocation is gone)
//!  CreatePermission / ChannelBind -> success
//!  client Send / ChannelData      -> from the relayed address to the peer (permission needed)
//!  peer -> relayed address        -> ChannelData (bound) or Data indication to the client
//! ```

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use peerless_base::{BufferTooSmall, Instant, Transmit};
use peerless_stun::{
    AddressFamily, AttrType, Attribute, ChannelData, Class, ErrorCode, Message, Method,
    TransactionId, long_term_key_md5,
};

pub const REALM: &str = "sim.test";

struct Allocation {
    client: SocketAddr,
    /// One relayed address, or an IPv4 and an IPv6 one (a dual allocation).
    relays: Vec<SocketAddr>,
    permissions: Vec<IpAddr>,
    channels: Vec<(u16, SocketAddr)>,
    expires: Instant,
}

/// What the server saw and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TurnCounters {
    pub unauthenticated: u32,
    pub stale: u32,
    pub allocations: u32,
    pub refreshes: u32,
    pub released: u32,
    pub redirected: u32,
    pub permissions: u32,
    pub binds: u32,
    /// Client -> peer through a Send indication / a ChannelData message.
    pub sent_by_indication: u32,
    pub sent_by_channel: u32,
    /// Peer -> client as a Data indication / a ChannelData message.
    pub delivered_by_indication: u32,
    pub delivered_by_channel: u32,
    /// Peer datagrams dropped for want of a permission.
    pub no_permission: u32,
    /// Allocates with REQUESTED-ADDRESS-FAMILY IPv6 / ADDITIONAL-ADDRESS-FAMILY IPv6, and
    /// those refused with 440 (no relay address of the family).
    pub requested_ipv6: u32,
    pub dual: u32,
    pub family_refused: u32,
}

pub struct TurnServer {
    pub addr: SocketAddr,
    free_relays: Vec<SocketAddr>,
    username: String,
    password: String,
    nonce: String,
    nonce_serial: u32,
    /// Answer the first authenticated request with 438 (a stale nonce), once.
    pub stale_once: bool,
    pub lifetime: u32,
    /// Answer every authenticated Allocate with 300 Try Alternate to this server (signed).
    pub alternate: Option<SocketAddr>,
    /// Refuse every ChannelBind (508): the client must keep to Send indications.
    pub refuse_binds: bool,
    allocations: Vec<Allocation>,
    outbox: VecDeque<(SocketAddr, SocketAddr, Vec<u8>)>,
    pub counters: TurnCounters,
    now: Instant,
}

impl TurnServer {
    /// A server at `addr` handing out `relays` (give the node these addresses too).
    pub fn new(addr: SocketAddr, relays: &[SocketAddr], username: &str, password: &str) -> Self {
        TurnServer {
            addr,
            free_relays: relays.iter().rev().copied().collect(),
            username: username.into(),
            password: password.into(),
            nonce: "nonce-0".into(),
            nonce_serial: 0,
            stale_once: false,
            lifetime: 600,
            alternate: None,
            refuse_binds: false,
            allocations: Vec::new(),
            outbox: VecDeque::new(),
            counters: TurnCounters::default(),
            now: Instant::ZERO,
        }
    }

    /// The allocations alive now: (client, relayed address).
    pub fn allocations(&self) -> Vec<(SocketAddr, SocketAddr)> {
        self.allocations
            .iter()
            .filter(|a| a.expires > self.now)
            .map(|a| (a.client, a.relays[0]))
            .collect()
    }

    fn key(&self) -> [u8; 16] {
        long_term_key_md5(&self.username, REALM, &self.password)
    }

    pub fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &[u8]) {
        self.now = now;
        self.allocations.retain(|a| a.expires > now);
        if to != self.addr {
            self.relay_to_client(from, to, packet);
            return;
        }
        if let Some(&b) = packet.first()
            && (0x40..=0x4f).contains(&b)
        {
            let Ok(cd) = ChannelData::parse(packet) else {
                return;
            };
            let Some(a) = self.allocations.iter().find(|a| a.client == from) else {
                return;
            };
            if let Some(&(_, peer)) = a.channels.iter().find(|(n, _)| *n == cd.channel)
                && let Some(relay) = relay_for(&a.relays, peer)
            {
                self.counters.sent_by_channel += 1;
                self.outbox.push_back((relay, peer, cd.data.to_vec()));
            }
            return;
        }
        let Ok(msg) = Message::parse(packet) else {
            return;
        };
        match msg.class() {
            Class::Indication if msg.method() == Method::SEND => {
                let Some(a) = self.allocations.iter().find(|a| a.client == from) else {
                    return;
                };
                let (Some(peer), Some(data)) = (msg.xor_peer_addresses().next(), msg.data()) else {
                    return;
                };
                if a.permissions.contains(&peer.ip())
                    && let Some(relay) = relay_for(&a.relays, peer)
                {
                    self.counters.sent_by_indication += 1;
                    self.outbox.push_back((relay, peer, data.to_vec()));
                }
            }
            Class::Request => self.request(from, &msg),
            _ => {}
        }
    }

    fn error(&mut self, to: SocketAddr, msg: &Message<'_>, code: u16, reason: &str) {
        let mut buf = vec![0u8; 512];
        let n = Message::builder(Class::Error, msg.method(), msg.transaction_id())
            .error_code(code, reason)
            .realm(REALM)
            .nonce(&self.nonce)
            .fingerprint()
            .emit(&mut buf)
            .unwrap();
        buf.truncate(n);
        self.outbox.push_back((self.addr, to, buf));
    }

    fn request(&mut self, from: SocketAddr, msg: &Message<'_>) {
        let now = self.now;
        if !msg.has_integrity() {
            self.counters.unauthenticated += 1;
            self.error(from, msg, ErrorCode::UNAUTHENTICATED, "Unauthorized");
            return;
        }
        let key = self.key();
        if msg.username() != Some(self.username.as_str())
            || msg.realm() != Some(REALM)
            || !msg.verify_integrity(&key)
        {
            self.counters.unauthenticated += 1;
            self.error(from, msg, ErrorCode::UNAUTHENTICATED, "Unauthorized");
            return;
        }
        if msg.nonce() != Some(self.nonce.as_str()) || self.stale_once {
            if self.stale_once {
                // The nonce expires now: this request and every one with the old nonce get
                // 438 and the new one.
                self.stale_once = false;
                self.nonce_serial += 1;
                self.nonce = format!("nonce-{}", self.nonce_serial);
            }
            self.counters.stale += 1;
            self.error(from, msg, ErrorCode::STALE_NONCE, "Stale Nonce");
            return;
        }
        let tid: TransactionId = msg.transaction_id();
        let mut attrs: Vec<Attribute<'_>> = Vec::new();
        let method = msg.method();
        let idx = self.allocations.iter().position(|a| a.client == from);
        match method {
            Method::ALLOCATE if self.alternate.is_some() => {
                let alternate = self.alternate.unwrap();
                self.counters.redirected += 1;
                let mut buf = vec![0u8; 512];
                let n = Message::builder(Class::Error, method, tid)
                    .error_code(ErrorCode::TRY_ALTERNATE, "Try Alternate")
                    .attr(Attribute::AlternateServer(alternate))
                    .integrity_sha1(&key)
                    .fingerprint()
                    .emit(&mut buf)
                    .unwrap();
                buf.truncate(n);
                self.outbox.push_back((self.addr, from, buf));
                return;
            }
            Method::ALLOCATE => {
                if idx.is_some() {
                    self.error(from, msg, 437, "Allocation Mismatch");
                    return;
                }
                // RFC 8656 §7.2 / RFC 6156: the families asked for, IPv4 by default.
                let requested = match msg.get_decoded(AttrType::REQUESTED_ADDRESS_FAMILY) {
                    Some(Attribute::RequestedAddressFamily(f)) => Some(f),
                    _ => None,
                };
                let additional = matches!(
                    msg.get_decoded(AttrType::ADDITIONAL_ADDRESS_FAMILY),
                    Some(Attribute::AdditionalAddressFamily(AddressFamily::IPV6))
                );
                let families: Vec<bool> = if additional {
                    self.counters.dual += 1;
                    vec![true, false]
                } else if requested == Some(AddressFamily::IPV6) {
                    self.counters.requested_ipv6 += 1;
                    vec![false]
                } else {
                    vec![true]
                };
                let mut relays = Vec::new();
                for v4 in families {
                    if let Some(i) = self.free_relays.iter().rposition(|r| r.is_ipv4() == v4) {
                        relays.push(self.free_relays.remove(i));
                    }
                }
                if relays.is_empty() {
                    self.counters.family_refused += 1;
                    self.error(from, msg, 440, "Address Family not Supported");
                    return;
                }
                for r in &relays {
                    attrs.push(Attribute::XorRelayedAddress(*r));
                }
                let lifetime = msg.lifetime().unwrap_or(600).min(self.lifetime);
                self.allocations.push(Allocation {
                    client: from,
                    relays,
                    permissions: Vec::new(),
                    channels: Vec::new(),
                    expires: now + core::time::Duration::from_secs(lifetime.into()),
                });
                self.counters.allocations += 1;
                attrs.push(Attribute::XorMappedAddress(from));
                attrs.push(Attribute::Lifetime(lifetime));
            }
            _ if idx.is_none() => {
                self.error(from, msg, 437, "Allocation Mismatch");
                return;
            }
            Method::REFRESH => {
                let lifetime = msg.lifetime().unwrap_or(600).min(self.lifetime);
                let i = idx.unwrap();
                if lifetime == 0 {
                    let a = self.allocations.remove(i);
                    self.free_relays.extend(a.relays);
                    self.counters.released += 1;
                } else {
                    self.allocations[i].expires =
                        now + core::time::Duration::from_secs(lifetime.into());
                    self.counters.refreshes += 1;
                }
                attrs.push(Attribute::Lifetime(lifetime));
            }
            Method::CREATE_PERMISSION => {
                let a = &mut self.allocations[idx.unwrap()];
                for p in msg.xor_peer_addresses() {
                    if !a.permissions.contains(&p.ip()) {
                        a.permissions.push(p.ip());
                    }
                }
                self.counters.permissions += 1;
            }
            Method::CHANNEL_BIND if self.refuse_binds => {
                self.error(from, msg, 508, "Insufficient Capacity");
                return;
            }
            Method::CHANNEL_BIND => {
                let (Some(number), Some(peer)) =
                    (msg.channel_number(), msg.xor_peer_addresses().next())
                else {
                    self.error(from, msg, 400, "Bad Request");
                    return;
                };
                let a = &mut self.allocations[idx.unwrap()];
                a.channels.retain(|(n, p)| *n != number && *p != peer);
                a.channels.push((number, peer));
                if !a.permissions.contains(&peer.ip()) {
                    a.permissions.push(peer.ip());
                }
                self.counters.binds += 1;
            }
            _ => {
                self.error(from, msg, 400, "Bad Request");
                return;
            }
        }
        let mut b = Message::builder(Class::Success, method, tid);
        for a in attrs {
            b = b.attr(a);
        }
        let mut buf = vec![0u8; 512];
        let n = b.integrity_sha1(&key).fingerprint().emit(&mut buf).unwrap();
        buf.truncate(n);
        self.outbox.push_back((self.addr, from, buf));
    }

    fn relay_to_client(&mut self, from: SocketAddr, relay: SocketAddr, data: &[u8]) {
        let Some(a) = self.allocations.iter().find(|a| a.relays.contains(&relay)) else {
            return;
        };
        if !a.permissions.contains(&from.ip()) {
            self.counters.no_permission += 1;
            return;
        }
        let mut buf = vec![0u8; data.len() + 64];
        let n = if let Some(&(number, _)) = a.channels.iter().find(|(_, p)| *p == from) {
            self.counters.delivered_by_channel += 1;
            ChannelData {
                channel: number,
                data,
            }
            .emit(false, &mut buf)
            .unwrap()
        } else {
            self.counters.delivered_by_indication += 1;
            Message::builder(Class::Indication, Method::DATA, TransactionId([9; 12]))
                .attr(Attribute::XorPeerAddress(from))
                .attr(Attribute::Data(data))
                .emit(&mut buf)
                .unwrap()
        };
        buf.truncate(n);
        let client = a.client;
        self.outbox.push_back((self.addr, client, buf));
    }

    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        let Some((from, to, bytes)) = self.outbox.pop_front() else {
            return Ok(None);
        };
        if buf.len() < bytes.len() {
            let needed = bytes.len();
            self.outbox.push_front((from, to, bytes));
            return Err(BufferTooSmall { needed });
        }
        let out = &mut buf[..bytes.len()];
        out.copy_from_slice(&bytes);
        Ok(Some(Transmit::between(from, to, out)))
    }
}

/// The relayed address of `peer`'s family.
fn relay_for(relays: &[SocketAddr], peer: SocketAddr) -> Option<SocketAddr> {
    relays
        .iter()
        .copied()
        .find(|r| r.is_ipv4() == peer.is_ipv4())
}
