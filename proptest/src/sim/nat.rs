//! A NAT as RFC 4787 describes it: a mapping behaviour, a filtering behaviour and a mapping
//! lifetime, for UDP.
//!
//! The four classic types are the RFC 4787 section 4.1 and 5 behaviours combined:
//!
//! | type (RFC 3489 name)   | mapping (4.1)               | filtering (5)               |
//! |------------------------|-----------------------------|-----------------------------|
//! | full cone              | endpoint-independent        | endpoint-independent        |
//! | (address-)restricted   | endpoint-independent        | address-dependent           |
//! | port-restricted cone   | endpoint-independent        | address-and-port-dependent  |
//! | symmetric              | address-and-port-dependent  | address-and-port-dependent  |
//!
//! A mapping and the permissions it opened live for [`NatConfig::lifetime`] after the last
//! datagram the inside sent through them; inbound traffic does not refresh them (RFC 4787
//! REQ-6 requires outbound refresh and leaves inbound refresh optional; a NAT without it is
//! the harder case, and ICE consent checks every 5 s keep a real session alive either way).
//! Ports are handed out in sequence from [`NatConfig::first_port`] (no port preservation, no
//! port parity), so a symmetric NAT's mappings are as unpredictable to the peer as ICE
//! assumes: it never guesses ports.

use core::net::{IpAddr, SocketAddr};
use core::time::Duration;
use std::vec::Vec;

use peerless_base::Instant;

/// How a NAT reuses a mapping for datagrams from one inside endpoint (RFC 4787 section 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// The same external port for every destination.
    EndpointIndependent,
    /// A new external port for each destination IP address.
    AddressDependent,
    /// A new external port for each destination IP address and port (a "symmetric" NAT).
    AddressAndPortDependent,
}

/// Which unsolicited inbound datagrams a NAT lets through a mapping (RFC 4787 section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filtering {
    /// Any sender (a "full cone").
    EndpointIndependent,
    /// Senders at an IP address the inside endpoint has sent to through this mapping.
    AddressDependent,
    /// Senders at an IP address and port the inside endpoint has sent to through this mapping.
    AddressAndPortDependent,
}

/// A NAT's behaviour and its public side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatConfig {
    /// Mapping behaviour.
    pub mapping: Mapping,
    /// Filtering behaviour.
    pub filtering: Filtering,
    /// The NAT's one public address; its mappings are ports on it.
    pub public_ip: IpAddr,
    /// How long a mapping (and each permission it opened) lives after the last outbound
    /// datagram through it. RFC 4787 REQ-5 asks for at least 2 minutes; many home NATs use
    /// 30 s to 60 s, which is what hurts.
    pub lifetime: Duration,
    /// The first external port handed out; later mappings take the next free port.
    pub first_port: u16,
}

impl NatConfig {
    /// A NAT with `mapping` and `filtering`, a 2-minute lifetime (RFC 4787 REQ-5's minimum)
    /// and ports from 40000.
    #[must_use]
    pub fn new(public_ip: IpAddr, mapping: Mapping, filtering: Filtering) -> Self {
        NatConfig {
            mapping,
            filtering,
            public_ip,
            lifetime: Duration::from_secs(120),
            first_port: 40_000,
        }
    }

    /// Endpoint-independent mapping and filtering.
    #[must_use]
    pub fn full_cone(public_ip: IpAddr) -> Self {
        Self::new(
            public_ip,
            Mapping::EndpointIndependent,
            Filtering::EndpointIndependent,
        )
    }

    /// Endpoint-independent mapping, address-dependent filtering.
    #[must_use]
    pub fn restricted_cone(public_ip: IpAddr) -> Self {
        Self::new(
            public_ip,
            Mapping::EndpointIndependent,
            Filtering::AddressDependent,
        )
    }

    /// Endpoint-independent mapping, address-and-port-dependent filtering.
    #[must_use]
    pub fn port_restricted_cone(public_ip: IpAddr) -> Self {
        Self::new(
            public_ip,
            Mapping::EndpointIndependent,
            Filtering::AddressAndPortDependent,
        )
    }

    /// Address-and-port-dependent mapping and filtering.
    #[must_use]
    pub fn symmetric(public_ip: IpAddr) -> Self {
        Self::new(
            public_ip,
            Mapping::AddressAndPortDependent,
            Filtering::AddressAndPortDependent,
        )
    }

    /// The same NAT with another mapping lifetime.
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }
}

/// What a NAT did so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatStats {
    /// Mappings created (a mapping that expired and is needed again counts again).
    pub mappings_created: u64,
    /// Mappings that expired.
    pub mappings_expired: u64,
    /// Outbound datagrams translated.
    pub outbound: u64,
    /// Inbound datagrams let through.
    pub inbound: u64,
    /// Inbound datagrams dropped: no live mapping on the port.
    pub dropped_no_mapping: u64,
    /// Inbound datagrams dropped by the filtering behaviour.
    pub dropped_filtered: u64,
    /// Outbound datagrams dropped because every port is in use.
    pub dropped_no_port: u64,
}

#[derive(Clone, Debug)]
struct Entry {
    internal: SocketAddr,
    external: SocketAddr,
    /// The destination of the datagram that created it (the key for dependent mappings).
    created_for: SocketAddr,
    last_out: Instant,
    /// Remote endpoints the inside sent to through this mapping, with when it last did.
    sent_to: Vec<(SocketAddr, Instant)>,
}

/// One NAT's state: its mapping table and counters.
#[derive(Clone, Debug)]
pub struct Nat {
    config: NatConfig,
    entries: Vec<Entry>,
    next_port: u16,
    stats: NatStats,
}

impl Nat {
    /// A NAT with no mappings yet.
    #[must_use]
    pub fn new(config: NatConfig) -> Self {
        Nat {
            config,
            entries: Vec::new(),
            next_port: config.first_port,
            stats: NatStats::default(),
        }
    }

    /// Its behaviour.
    #[must_use]
    pub fn config(&self) -> &NatConfig {
        &self.config
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> NatStats {
        self.stats
    }

    /// Live mappings at `now`, as (inside, outside) addresses.
    #[must_use]
    pub fn mappings(&self, now: Instant) -> Vec<(SocketAddr, SocketAddr)> {
        self.entries
            .iter()
            .filter(|e| self.alive(e.last_out, now))
            .map(|e| (e.internal, e.external))
            .collect()
    }

    /// Forgets every mapping at once (a NAT reboot, or a carrier NAT rebinding everyone): the
    /// next outbound datagram of each inside endpoint gets a new port.
    pub fn rebind(&mut self) {
        self.stats.mappings_expired += self.entries.len() as u64;
        self.entries.clear();
    }

    /// An inside endpoint sends to `remote`: returns the external address the datagram leaves
    /// with, creating or refreshing the mapping and the permission for `remote`. `None`: no
    /// port is free (the datagram is dropped).
    pub fn outbound(
        &mut self,
        now: Instant,
        internal: SocketAddr,
        remote: SocketAddr,
    ) -> Option<SocketAddr> {
        self.expire(now);
        let mapping = self.config.mapping;
        let found = self.entries.iter().position(|e| {
            e.internal == internal
                && match mapping {
                    Mapping::EndpointIndependent => true,
                    Mapping::AddressDependent => e.created_for.ip() == remote.ip(),
                    Mapping::AddressAndPortDependent => e.created_for == remote,
                }
        });
        let index = match found {
            Some(i) => i,
            None => {
                let Some(port) = self.free_port() else {
                    self.stats.dropped_no_port += 1;
                    return None;
                };
                self.stats.mappings_created += 1;
                self.entries.push(Entry {
                    internal,
                    external: SocketAddr::new(self.config.public_ip, port),
                    created_for: remote,
                    last_out: now,
                    sent_to: Vec::new(),
                });
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[index];
        entry.last_out = now;
        match entry.sent_to.iter_mut().find(|(r, _)| *r == remote) {
            Some(p) => p.1 = now,
            None => entry.sent_to.push((remote, now)),
        }
        self.stats.outbound += 1;
        Some(entry.external)
    }

    /// A datagram from `remote` reaches the NAT's `external` address: returns the inside
    /// endpoint it goes to, or `None` when there is no live mapping or the filter refuses it.
    pub fn inbound(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        external: SocketAddr,
    ) -> Option<SocketAddr> {
        let lifetime = self.config.lifetime;
        let live = |t: Instant| now < t + lifetime;
        let Some(entry) = self
            .entries
            .iter()
            .find(|e| e.external == external && live(e.last_out))
        else {
            self.stats.dropped_no_mapping += 1;
            return None;
        };
        let allowed = match self.config.filtering {
            Filtering::EndpointIndependent => true,
            Filtering::AddressDependent => entry
                .sent_to
                .iter()
                .any(|(r, t)| r.ip() == remote.ip() && live(*t)),
            Filtering::AddressAndPortDependent => {
                entry.sent_to.iter().any(|(r, t)| *r == remote && live(*t))
            }
        };
        if !allowed {
            self.stats.dropped_filtered += 1;
            return None;
        }
        self.stats.inbound += 1;
        Some(entry.internal)
    }

    fn alive(&self, last_out: Instant, now: Instant) -> bool {
        now < last_out + self.config.lifetime
    }

    fn expire(&mut self, now: Instant) {
        let lifetime = self.config.lifetime;
        let before = self.entries.len();
        self.entries.retain(|e| now < e.last_out + lifetime);
        self.stats.mappings_expired += (before - self.entries.len()) as u64;
        for e in &mut self.entries {
            e.sent_to.retain(|(_, t)| now < *t + lifetime);
        }
    }

    /// The next port from the sequence that no live mapping holds (ports below 1024 are
    /// skipped, as NATs keep them for their own services).
    fn free_port(&mut self) -> Option<u16> {
        for _ in 0..=u16::MAX {
            let port = self.next_port;
            self.next_port = if port == u16::MAX { 1024 } else { port + 1 };
            if port >= 1024 && !self.entries.iter().any(|e| e.external.port() == port) {
                return Some(port);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    const INSIDE: &str = "10.0.0.1:5000";
    const R1: &str = "198.51.100.1:3478";
    const R1_OTHER_PORT: &str = "198.51.100.1:9999";
    const R2: &str = "198.51.100.2:3478";

    fn at(secs: u64) -> Instant {
        Instant::from_secs(secs)
    }

    fn nat(config: fn(IpAddr) -> NatConfig) -> Nat {
        Nat::new(config("203.0.113.1".parse().unwrap()))
    }

    /// The external addresses one inside endpoint gets toward R1, R1 on another port and R2.
    fn mappings_toward_three(n: &mut Nat) -> [SocketAddr; 3] {
        let i = addr(INSIDE);
        [
            n.outbound(at(0), i, addr(R1)).unwrap(),
            n.outbound(at(0), i, addr(R1_OTHER_PORT)).unwrap(),
            n.outbound(at(0), i, addr(R2)).unwrap(),
        ]
    }

    #[test]
    fn endpoint_independent_mapping_keeps_one_port_for_every_destination() {
        for config in [
            NatConfig::full_cone,
            NatConfig::restricted_cone,
            NatConfig::port_restricted_cone,
        ] {
            let mut n = nat(config);
            let [a, b, c] = mappings_toward_three(&mut n);
            assert_eq!(a, addr("203.0.113.1:40000"));
            assert_eq!((a, a), (b, c));
            assert_eq!(n.stats().mappings_created, 1);
        }
    }

    #[test]
    fn address_dependent_mapping_changes_port_with_the_destination_ip_only() {
        let mut n =
            nat(|ip| NatConfig::new(ip, Mapping::AddressDependent, Filtering::AddressDependent));
        let [a, b, c] = mappings_toward_three(&mut n);
        assert_eq!(a, b, "same IP, another port: same mapping");
        assert_ne!(a, c);
    }

    #[test]
    fn symmetric_mapping_changes_port_with_every_destination() {
        let mut n = nat(NatConfig::symmetric);
        let [a, b, c] = mappings_toward_three(&mut n);
        assert_eq!(
            [a, b, c],
            [
                addr("203.0.113.1:40000"),
                addr("203.0.113.1:40001"),
                addr("203.0.113.1:40002")
            ]
        );
        // Each mapping is a separate hole: R2 cannot use the mapping made for R1.
        assert_eq!(n.inbound(at(1), addr(R2), a), None);
        assert_eq!(n.inbound(at(1), addr(R2), c), Some(addr(INSIDE)));
    }

    /// Which of R1 (the endpoint sent to), R1 on another port and R2 get in through the
    /// mapping made by sending to R1 only.
    fn who_gets_in(config: fn(IpAddr) -> NatConfig) -> [bool; 3] {
        let mut n = nat(config);
        let ext = n.outbound(at(0), addr(INSIDE), addr(R1)).unwrap();
        [R1, R1_OTHER_PORT, R2].map(|r| n.inbound(at(1), addr(r), ext).is_some())
    }

    #[test]
    fn filtering_lets_in_what_rfc_4787_section_5_says() {
        assert_eq!(who_gets_in(NatConfig::full_cone), [true, true, true]);
        assert_eq!(who_gets_in(NatConfig::restricted_cone), [true, true, false]);
        assert_eq!(
            who_gets_in(NatConfig::port_restricted_cone),
            [true, false, false]
        );
        assert_eq!(who_gets_in(NatConfig::symmetric), [true, false, false]);
    }

    #[test]
    fn nothing_gets_in_before_the_inside_sends() {
        for config in [
            NatConfig::full_cone,
            NatConfig::restricted_cone,
            NatConfig::port_restricted_cone,
            NatConfig::symmetric,
        ] {
            let mut n = nat(config);
            assert_eq!(n.inbound(at(0), addr(R1), addr("203.0.113.1:40000")), None);
            assert_eq!(n.stats().dropped_no_mapping, 1);
        }
    }

    #[test]
    fn a_mapping_expires_after_its_lifetime_without_outbound_traffic() {
        let mut n = Nat::new(
            NatConfig::full_cone("203.0.113.1".parse().unwrap())
                .with_lifetime(Duration::from_secs(30)),
        );
        let i = addr(INSIDE);
        let ext = n.outbound(at(0), i, addr(R1)).unwrap();
        // Inbound traffic does not keep it alive.
        assert_eq!(n.inbound(at(29), addr(R2), ext), Some(i));
        assert_eq!(n.inbound(at(30), addr(R2), ext), None);
        // Outbound traffic does; a new datagram after expiry gets a new port.
        let again = n.outbound(at(31), i, addr(R1)).unwrap();
        assert_ne!(again, ext);
        assert_eq!(n.outbound(at(60), i, addr(R1)), Some(again));
        assert_eq!(n.inbound(at(89), addr(R1), again), Some(i));
        assert_eq!(n.inbound(at(90), addr(R1), again), None);
        assert_eq!(n.stats().mappings_created, 2);
        assert_eq!(n.stats().mappings_expired, 1);
    }

    #[test]
    fn a_permission_expires_with_its_own_last_outbound_datagram() {
        let mut n = Nat::new(
            NatConfig::port_restricted_cone("203.0.113.1".parse().unwrap())
                .with_lifetime(Duration::from_secs(30)),
        );
        let i = addr(INSIDE);
        let ext = n.outbound(at(0), i, addr(R1)).unwrap();
        // Keep the mapping alive by talking to R2 only: R1's permission lapses.
        assert_eq!(n.outbound(at(20), i, addr(R2)), Some(ext));
        assert_eq!(n.inbound(at(40), addr(R2), ext), Some(i));
        assert_eq!(n.inbound(at(40), addr(R1), ext), None);
        assert_eq!(n.stats().dropped_filtered, 1);
    }

    #[test]
    fn rebinding_hands_out_new_ports() {
        let mut n = nat(NatConfig::full_cone);
        let i = addr(INSIDE);
        let ext = n.outbound(at(0), i, addr(R1)).unwrap();
        n.rebind();
        assert_eq!(n.inbound(at(1), addr(R1), ext), None);
        assert_ne!(n.outbound(at(1), i, addr(R1)), Some(ext));
    }

    #[test]
    fn two_inside_endpoints_never_share_a_port() {
        let mut n = nat(NatConfig::full_cone);
        let a = n.outbound(at(0), addr("10.0.0.1:5000"), addr(R1)).unwrap();
        let b = n.outbound(at(0), addr("10.0.0.2:5000"), addr(R1)).unwrap();
        assert_ne!(a, b);
        assert_eq!(n.inbound(at(1), addr(R1), b), Some(addr("10.0.0.2:5000")));
    }
}
