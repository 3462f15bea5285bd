//! The responder: answers A/AAAA questions for names we publish (what a browser does for its
//! obfuscated host candidates). No probing or announcing: the names are random UUIDs, so a
//! conflict is not expected (RFC 6762 §8 is out of scope).
//!
//! ```text
//!  publish(name, addr)
//!  handle_packet(query) -- question for a published name, matching type (A: IPv4, AAAA: IPv6,
//!     |                    ANY: either) --> queue a reply
//!     |   from port 5353: multicast to the group (unicast to the querier if QU)
//!     '   from another port (legacy one-shot, §6.7): unicast, id and question echoed
//!  poll_transmit hands the replies out
//! ```

use core::net::{IpAddr, SocketAddr};

use peerless_base::{BufferTooSmall, Instant, Queue, Transmit};

use crate::message::{
    EmitError, Message, NameError, RecordType, emit_legacy_response, emit_response,
};
use crate::querier::{HostName, MDNS_PORT, SOCKETS, SocketsFull, group_for};

/// TTL of our host records (RFC 6762 §10: 120 s for records with a host name).
const HOST_TTL: u32 = 120;
/// Replies waiting for `poll_transmit`.
const REPLIES: usize = 8;

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ResponderStats {
    /// Datagrams received.
    pub packets_received: u64,
    /// Not a well-formed DNS message.
    pub dropped_malformed: u64,
    /// Replies not queued because the queue was full.
    pub dropped_full: u64,
    /// Replies sent.
    pub replies_sent: u64,
}

/// Why [`Responder::publish`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PublishError {
    /// Not a `.local` name.
    Name(NameError),
    /// The table of names is full.
    Full,
    /// Longer than the responder's room for a name (its `L`).
    TooLong,
}

impl core::fmt::Display for PublishError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PublishError::Name(e) => e.fmt(f),
            PublishError::Full => f.write_str("mdns: published name table full"),
            PublishError::TooLong => f.write_str("mdns: name longer than the responder's room"),
        }
    }
}

impl core::error::Error for PublishError {}

/// A queued reply: which socket sends it and which name it answers are indexes (a reply
/// queue of full addresses cost 80 B a slot; it is part of every Peer).
#[derive(Clone, Copy, Debug)]
struct Reply {
    destination: SocketAddr,
    source: u8,
    record: u8,
    legacy: Option<(u16, RecordType)>,
}

/// A published name in `L` bytes: a [`HostName`] has room for any name (255 bytes), a
/// publisher of UUID names (42 bytes) needs far less in each slot.
#[derive(Clone, Copy, Debug)]
struct Name<const L: usize> {
    bytes: [u8; L],
    len: u8,
}

impl<const L: usize> Name<L> {
    fn new(host: &HostName) -> Option<Self> {
        let text = host.as_str().as_bytes();
        let mut bytes = [0u8; L];
        bytes.get_mut(..text.len())?.copy_from_slice(text);
        Some(Name {
            bytes,
            len: u8::try_from(text.len()).ok()?,
        })
    }

    fn as_str(&self) -> &str {
        // Copied from a HostName's text, so it is UTF-8; "" is unreachable.
        self.bytes
            .get(..usize::from(self.len))
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    fn eq_ignore_case(&self, other: &str) -> bool {
        self.as_str().eq_ignore_ascii_case(other)
    }
}

/// A sans-IO responder for up to `N` published names of up to `L` bytes each.
#[derive(Clone, Debug)]
pub struct Responder<const N: usize = 4, const L: usize = { crate::MAX_NAME_LEN }> {
    now: Instant,
    sockets: [Option<SocketAddr>; SOCKETS],
    names: [Option<(Name<L>, IpAddr)>; N],
    replies: Queue<Reply, REPLIES>,
    stats: ResponderStats,
}

impl<const N: usize, const L: usize> Responder<N, L> {
    /// A responder with nothing published.
    #[must_use]
    pub fn new(now: Instant) -> Self {
        Responder {
            now,
            sockets: [None; SOCKETS],
            names: [None; N],
            replies: Queue::new(),
            stats: ResponderStats::default(),
        }
    }

    /// The host's mDNS socket at `local` (bound to 5353, joined to the group).
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

    /// Answers for `name` with `addr` from now on (replacing an earlier address of that name
    /// and family).
    ///
    /// # Errors
    /// [`PublishError`].
    pub fn publish(&mut self, name: &str, addr: IpAddr) -> Result<(), PublishError> {
        let host = HostName::new(name).map_err(PublishError::Name)?;
        let short = Name::<L>::new(&host).ok_or(PublishError::TooLong)?;
        if let Some(entry) = self
            .names
            .iter_mut()
            .flatten()
            .find(|(n, a)| n.eq_ignore_case(host.as_str()) && a.is_ipv4() == addr.is_ipv4())
        {
            entry.1 = addr;
            return Ok(());
        }
        let slot = self
            .names
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(PublishError::Full)?;
        *slot = Some((short, addr));
        Ok(())
    }

    /// A datagram that arrived on the socket at `to` from `from`.
    pub fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &[u8]) {
        self.now.advance(now);
        self.stats.packets_received += 1;
        let Ok(msg) = Message::parse(packet) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        if msg.is_response() {
            return;
        }
        // Reply from the socket the query came in on (or any of the same family).
        let Some((source_index, source)) =
            self.sockets
                .iter()
                .enumerate()
                .find_map(|(i, s)| s.filter(|s| *s == to).map(|s| (i, s)))
                .or_else(|| {
                    self.sockets.iter().enumerate().find_map(|(i, s)| {
                        s.filter(|s| s.is_ipv4() == from.is_ipv4()).map(|s| (i, s))
                    })
                })
        else {
            return;
        };
        let Ok(source_index) = u8::try_from(source_index) else {
            return;
        };
        let legacy = from.port() != MDNS_PORT;
        for q in msg.questions() {
            for (record, entry) in self.names.iter().enumerate() {
                let Some((name, addr)) = entry else { continue };
                let Ok(record) = u8::try_from(record) else {
                    break;
                };
                let type_ok = match q.qtype {
                    RecordType::A => addr.is_ipv4(),
                    RecordType::AAAA => addr.is_ipv6(),
                    RecordType::ANY => true,
                    _ => false,
                };
                if !type_ok || !q.name.eq_str(name.as_str()) {
                    continue;
                }
                let reply = Reply {
                    source: source_index,
                    destination: if legacy || q.unicast_response {
                        from
                    } else {
                        group_for(source)
                    },
                    record,
                    legacy: legacy.then(|| (msg.id(), q.qtype)),
                };
                if self.replies.push(reply).is_err() {
                    self.stats.dropped_full += 1;
                }
            }
        }
    }

    /// The next reply.
    ///
    /// # Errors
    /// [`BufferTooSmall`] (the reply stays queued).
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        while let Some(reply) = self.replies.peek().copied() {
            let (Some((name, addr)), Some(source)) = (
                self.names.get(usize::from(reply.record)).copied().flatten(),
                self.sockets
                    .get(usize::from(reply.source))
                    .copied()
                    .flatten(),
            ) else {
                self.replies.pop();
                continue;
            };
            let written = match reply.legacy {
                Some((id, qtype)) => {
                    emit_legacy_response(buf, id, qtype, name.as_str(), addr, HOST_TTL)
                }
                None => emit_response(buf, name.as_str(), addr, HOST_TTL),
            };
            let n = match written {
                Ok(n) => n,
                Err(EmitError::Buffer(e)) => return Err(e),
                Err(EmitError::Name(_)) => {
                    self.replies.pop();
                    continue;
                }
            };
            self.replies.pop();
            self.stats.replies_sent += 1;
            let payload = buf.get(..n).ok_or(BufferTooSmall { needed: n })?;
            return Ok(Some(Transmit::between(source, reply.destination, payload)));
        }
        Ok(None)
    }

    /// The name published for `addr` (the first, if several), so a caller need not keep its
    /// own copy of the table.
    #[must_use]
    pub fn name_for(&self, addr: IpAddr) -> Option<&str> {
        self.names
            .iter()
            .flatten()
            .find(|(_, a)| *a == addr)
            .map(|(n, _)| n.as_str())
    }

    /// Whether any name is published.
    #[must_use]
    pub fn is_publishing(&self) -> bool {
        self.names.iter().any(Option::is_some)
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> ResponderStats {
        self.stats
    }
}
