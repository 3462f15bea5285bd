//! The querier: resolves `.local` host names to addresses (RFC 6762 §5.2 continuous querying,
//! cut short after a bounded number of tries because ICE wants an answer or a failure).
//!
//! ```text
//!  query(name) --> Asking: an A and an AAAA query on every socket at once (sent = 1)
//!      |   handle_timeout: resend at +1 s, +2 s more, ... (doubling) until `tries` sent
//!      |-- handle_packet: a response holds an A/AAAA record for the name --> Resolved(addr)
//!      '-- `timeout` after the first query, no answer ----------------------> Failed
//!  poll_event hands out Resolved{name, addr} / Failed{name} and frees the slot
//! ```
//!
//! The host lends one UDP socket per family ([`Querier::add_socket`]); a query goes to
//! `224.0.0.251:5353` or `[ff02::fb]:5353` from it. Responses arrive there as multicast (socket
//! bound to 5353 and joined to the group) or as unicast (QU bit, or a one-shot socket on another
//! port, §5.1 and §6.7): both are fed to [`Querier::handle_packet`].

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use core::time::Duration;

use peerless_base::{BufferTooSmall, Instant, Transmit};

use crate::message::{EmitError, Message, NameError, RecordType, check_local_name, emit_query};

/// The mDNS port.
pub const MDNS_PORT: u16 = 5353;
/// The IPv4 group (RFC 6762 §3).
pub const GROUP_V4: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)), MDNS_PORT);
/// The IPv6 link-local group.
pub const GROUP_V6: SocketAddr = SocketAddr::new(
    IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb)),
    MDNS_PORT,
);

/// The group to send to from `local`.
#[must_use]
pub fn group_for(local: SocketAddr) -> SocketAddr {
    if local.is_ipv4() { GROUP_V4 } else { GROUP_V6 }
}

/// Sockets a querier or responder sends from: one per family is what a host has.
pub const SOCKETS: usize = 2;

/// Record types a querier asks for per try ([`QuerierConfig::qtypes`]).
pub const QTYPES: usize = 2;

/// A host name held without allocation (at most 255 bytes of dotted text).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HostName {
    bytes: [u8; crate::MAX_NAME_LEN],
    len: u8,
}

impl HostName {
    /// Copies a checked `.local` name (a trailing dot is dropped).
    ///
    /// # Errors
    /// [`NameError`] as [`check_local_name`].
    pub fn new(name: &str) -> Result<HostName, NameError> {
        check_local_name(name)?;
        let name = name.strip_suffix('.').unwrap_or(name);
        let mut bytes = [0u8; crate::MAX_NAME_LEN];
        let dst = bytes.get_mut(..name.len()).ok_or(NameError::Malformed)?;
        dst.copy_from_slice(name.as_bytes());
        let len = u8::try_from(name.len()).map_err(|_| NameError::Malformed)?;
        Ok(HostName { bytes, len })
    }

    /// The dotted text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Built from a &str and never changed, so it is UTF-8; "" is unreachable.
        self.bytes
            .get(..usize::from(self.len))
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Whether this is `other`, ignoring ASCII case.
    #[must_use]
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.as_str()
            .eq_ignore_ascii_case(other.strip_suffix('.').unwrap_or(other))
    }
}

impl fmt::Debug for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for HostName {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str());
    }
}

/// How a querier asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct QuerierConfig {
    /// The gap between the first two queries; each later gap doubles (RFC 6762 §5.2: at least
    /// one second).
    pub first_interval: Duration,
    /// Queries sent per name before waiting out the timeout.
    pub tries: u8,
    /// From the first query to [`Event::Failed`].
    pub timeout: Duration,
    /// The record types asked for, one query each per try: A and AAAA by default, so a name
    /// that hides only an IPv6 address resolves too. Not one ANY question: Firefox's responder
    /// answers A questions only, and not one message with both questions: some responders read
    /// only the first. Any A or AAAA record for the name resolves it (whichever comes first).
    pub qtypes: [Option<RecordType>; QTYPES],
    /// Set the QU bit (§5.4) on the first query: the answer comes unicast to our socket.
    pub unicast_response: bool,
}

impl Default for QuerierConfig {
    fn default() -> Self {
        QuerierConfig {
            first_interval: Duration::from_secs(1),
            tries: 3,
            timeout: Duration::from_secs(5),
            qtypes: [Some(RecordType::A), Some(RecordType::AAAA)],
            unicast_response: false,
        }
    }
}

/// What the querier reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// `name` has address `addr`.
    Resolved {
        /// The name asked for (as asked).
        name: HostName,
        /// Its address.
        addr: IpAddr,
    },
    /// No answer for `name` within the timeout.
    Failed {
        /// The name asked for.
        name: HostName,
    },
}

/// Why [`Querier::query`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum QueryError {
    /// Not a `.local` name we can ask for.
    Name(NameError),
    /// Every slot holds a pending name or an unpolled event.
    Full,
    /// No socket was added: nothing to send from.
    NoSocket,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Name(e) => e.fmt(f),
            QueryError::Full => f.write_str("mdns: every query slot is in use"),
            QueryError::NoSocket => f.write_str("mdns: no socket to query from"),
        }
    }
}

impl core::error::Error for QueryError {}

/// Why [`Querier::add_socket`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SocketsFull;

impl fmt::Display for SocketsFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mdns: socket table full")
    }
}

impl core::error::Error for SocketsFull {}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct QuerierStats {
    /// Queries sent (one per name, record type, socket and try).
    pub queries_sent: u64,
    /// Datagrams received.
    pub packets_received: u64,
    /// Datagrams that were not a well-formed DNS message.
    pub dropped_malformed: u64,
    /// Queries (other hosts asking) seen on the socket.
    pub dropped_not_response: u64,
    /// Address records for names we were not asking about.
    pub answers_unmatched: u64,
    /// Names resolved.
    pub resolved: u64,
    /// Names that timed out.
    pub failed: u64,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Asking {
        sent: u8,
        next_send: Option<Instant>,
        deadline: Instant,
        /// Bit `t * SOCKETS + i`: the query for `qtypes[t]` is due on socket i.
        due: u8,
    },
    /// Resolved (`Some`) or failed, waiting for `poll_event`.
    Done(Option<IpAddr>),
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    name: HostName,
    state: State,
}

/// A sans-IO mDNS querier with room for `N` names in flight (or awaiting `poll_event`).
#[derive(Clone, Debug)]
pub struct Querier<const N: usize = 8> {
    config: QuerierConfig,
    now: Instant,
    sockets: [Option<SocketAddr>; SOCKETS],
    slots: [Option<Slot>; N],
    stats: QuerierStats,
}

impl<const N: usize> Querier<N> {
    /// A querier with no socket and nothing to ask.
    #[must_use]
    pub fn new(config: QuerierConfig, now: Instant) -> Self {
        Querier {
            config,
            now,
            sockets: [None; SOCKETS],
            slots: [None; N],
            stats: QuerierStats::default(),
        }
    }

    /// The host's socket at `local` (its own address: 0.0.0.0:5353 if bound to the wildcard
    /// is fine; the host picks the interface). Adding the same address twice is a no-op.
    ///
    /// # Errors
    /// [`SocketsFull`] beyond [`SOCKETS`].
    pub fn add_socket(&mut self, local: SocketAddr) -> Result<(), SocketsFull> {
        if self.sockets.contains(&Some(local)) {
            return Ok(());
        }
        let slot = self
            .sockets
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(SocketsFull)?;
        *slot = Some(local);
        Ok(())
    }

    /// Whether a socket was added.
    #[must_use]
    pub fn has_socket(&self) -> bool {
        self.sockets.iter().any(Option::is_some)
    }

    /// Starts resolving `name`; asking again for a name in flight is a no-op.
    ///
    /// # Errors
    /// [`QueryError`]: a bad name, no socket, or no free slot.
    pub fn query(&mut self, now: Instant, name: &str) -> Result<(), QueryError> {
        let now = self.now.advance(now);
        let host = HostName::new(name).map_err(QueryError::Name)?;
        if !self.has_socket() {
            return Err(QueryError::NoSocket);
        }
        if self.slots.iter().flatten().any(|s| {
            matches!(s.state, State::Asking { .. }) && s.name.eq_ignore_case(host.as_str())
        }) {
            return Ok(());
        }
        let all = self.all_sockets();
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(QueryError::Full)?;
        *slot = Some(Slot {
            name: host,
            state: State::Asking {
                sent: 1,
                next_send: (self.config.tries > 1)
                    .then(|| now.saturating_add(self.config.first_interval)),
                deadline: now.saturating_add(self.config.timeout),
                due: all,
            },
        });
        Ok(())
    }

    /// The `due` bits of every (record type, socket) pair.
    fn all_sockets(&self) -> u8 {
        let mut bits = 0;
        for (t, qtype) in self.config.qtypes.iter().enumerate() {
            for (i, socket) in self.sockets.iter().enumerate() {
                if qtype.is_some() && socket.is_some() {
                    bits |= 1 << (t * SOCKETS + i);
                }
            }
        }
        bits
    }

    /// A datagram from an mDNS socket (`from` is the sender; multicast or unicast alike).
    /// Anything that is not a response answering a pending name is counted and dropped.
    pub fn handle_packet(&mut self, now: Instant, from: SocketAddr, packet: &[u8]) {
        self.now.advance(now);
        let _ = from; // Any host on the link may answer (RFC 6762 §6); the source says nothing.
        self.stats.packets_received += 1;
        let msg = match Message::parse(packet) {
            Ok(m) => m,
            Err(_) => {
                self.stats.dropped_malformed += 1;
                return;
            }
        };
        if !msg.is_response() {
            self.stats.dropped_not_response += 1;
            return;
        }
        for rec in msg.records() {
            let Some(addr) = rec.address() else { continue };
            if rec.ttl == 0 {
                continue; // a goodbye (§10.1) is not an address to use
            }
            let mut matched = false;
            for slot in self.slots.iter_mut().flatten() {
                if matches!(slot.state, State::Asking { .. }) && rec.name.eq_str(slot.name.as_str())
                {
                    slot.state = State::Done(Some(addr));
                    self.stats.resolved += 1;
                    matched = true;
                }
            }
            if !matched {
                self.stats.answers_unmatched += 1;
            }
        }
    }

    /// Resends due queries and fails names whose time is up.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.now.advance(now);
        let all = self.all_sockets();
        let config = self.config;
        for slot in self.slots.iter_mut().flatten() {
            let State::Asking {
                sent,
                next_send,
                deadline,
                due,
            } = &mut slot.state
            else {
                continue;
            };
            if now >= *deadline {
                slot.state = State::Done(None);
                self.stats.failed += 1;
                continue;
            }
            if let Some(at) = *next_send
                && now >= at
            {
                *due |= all;
                *sent = sent.saturating_add(1);
                // Doubling: the gap after try k is first_interval * 2^(k-1).
                let gap = config
                    .first_interval
                    .saturating_mul(1u32 << u32::from(sent.saturating_sub(1)).min(16));
                *next_send = (*sent < config.tries).then(|| now.saturating_add(gap));
            }
        }
    }

    /// The next query to send into `buf`, from the socket it belongs to, to the group.
    ///
    /// # Errors
    /// [`BufferTooSmall`] (the query stays due).
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        let config = self.config;
        let sockets = self.sockets;
        for slot in self.slots.iter_mut().flatten() {
            let State::Asking { sent, due, .. } = &mut slot.state else {
                continue;
            };
            let Some((bit, local, qtype)) = config
                .qtypes
                .iter()
                .enumerate()
                .flat_map(|(t, q)| {
                    sockets
                        .iter()
                        .enumerate()
                        .map(move |(i, s)| (t * SOCKETS + i, *s, *q))
                })
                .find_map(|(bit, s, q)| match (s, q) {
                    (Some(s), Some(q)) if *due & (1 << bit) != 0 => Some((bit, s, q)),
                    _ => None,
                })
            else {
                *due = 0;
                continue;
            };
            let qu = config.unicast_response && *sent == 1;
            let n = match emit_query(buf, slot.name.as_str(), qtype, qu) {
                Ok(n) => n,
                Err(EmitError::Buffer(e)) => return Err(e),
                // The name was checked on entry; a failure here cannot happen, drop the try.
                Err(EmitError::Name(_)) => {
                    *due = 0;
                    continue;
                }
            };
            *due &= !(1 << bit);
            self.stats.queries_sent += 1;
            let payload = buf.get(..n).ok_or(BufferTooSmall { needed: n })?;
            return Ok(Some(Transmit::between(local, group_for(local), payload)));
        }
        Ok(None)
    }

    /// The next result; its slot is free again afterwards.
    pub fn poll_event(&mut self) -> Option<Event> {
        let slot = self.slots.iter_mut().find(|s| {
            matches!(
                s,
                Some(Slot {
                    state: State::Done(_),
                    ..
                })
            )
        })?;
        match slot.take() {
            Some(Slot {
                name,
                state: State::Done(Some(addr)),
            }) => Some(Event::Resolved { name, addr }),
            Some(Slot {
                name,
                state: State::Done(None),
            }) => Some(Event::Failed { name }),
            _ => None,
        }
    }

    /// When [`Querier::handle_timeout`] wants to run (`None`: nothing pending). A due query or
    /// an unpolled event is "now".
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.slots
            .iter()
            .flatten()
            .map(|s| match s.state {
                State::Asking {
                    next_send,
                    deadline,
                    due,
                    ..
                } => {
                    if due != 0 {
                        self.now
                    } else {
                        next_send.map_or(deadline, |n| n.min(deadline))
                    }
                }
                State::Done(_) => self.now,
            })
            .min()
    }

    /// Names in flight.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.slots
            .iter()
            .flatten()
            .filter(|s| matches!(s.state, State::Asking { .. }))
            .count()
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> QuerierStats {
        self.stats
    }
}
