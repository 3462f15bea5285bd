//! A STUN client transaction over UDP with RFC 8489 §6.2.1 retransmission.
//!
//! ```text
//!   start(now) --send--> AwaitResponse --response (tid + address match)--> Completed(Response)
//!                         |  resend at RTO, 2*RTO, 4*RTO ... (Rc sends in all)
//!                         +- no response Rm*RTO after the last send --> Completed(TimedOut)
//!
//!   RTO = 500 ms, Rc = 7, Rm = 16: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; gives up at 39.5 s
//! ```
//!
//! [`Retransmit`] is the schedule alone (the ICE agent rebuilds its checks instead of storing
//! them); [`ClientTransaction`] adds the stored request and the matched response.

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Instant, Transmit};

use crate::message::{Class, HEADER_LEN, Message, TransactionId, is_stun};

/// The retransmission parameters of RFC 8489 §6.2.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RetransmitConfig {
    /// The initial retransmission timeout (RTO; RFC default 500 ms).
    pub rto: Duration,
    /// Total number of sends (Rc; default 7).
    pub max_sends: u8,
    /// How many RTOs to wait after the last send (Rm; default 16).
    pub last_wait: u32,
    /// A ceiling for the doubling interval (`None`, RFC 8489's default: no ceiling). ICE uses
    /// one so that a check is retried often enough on a lossy path.
    pub max_rto: Option<Duration>,
}

impl Default for RetransmitConfig {
    fn default() -> Self {
        RetransmitConfig {
            rto: Duration::from_millis(500),
            max_sends: 7,
            last_wait: 16,
            max_rto: None,
        }
    }
}

/// What a [`Retransmit`] schedule says when its deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RetransmitStep {
    /// Not due yet.
    Wait,
    /// Send the request (again).
    Send,
    /// No response came: the transaction failed.
    TimedOut,
}

/// The send schedule of one client transaction: when to (re)send, when to give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Retransmit {
    config: RetransmitConfig,
    sends: u8,
    interval: Duration,
    next: Instant,
}

impl Retransmit {
    /// A schedule whose first send is due at `now`.
    #[must_use]
    pub fn new(now: Instant, config: RetransmitConfig) -> Self {
        Retransmit {
            config,
            sends: 0,
            interval: config.rto,
            next: now,
        }
    }

    /// How many times the request has been sent.
    #[must_use]
    pub fn sends(&self) -> u8 {
        self.sends
    }

    /// When [`Retransmit::step`] next has something to say.
    #[must_use]
    pub fn deadline(&self) -> Instant {
        self.next
    }

    /// Whether every send has been made (only the final wait remains).
    #[must_use]
    pub fn is_last_wait(&self) -> bool {
        self.sends >= self.config.max_sends
    }

    /// Stops retransmitting but keeps waiting for a response until the transaction would have
    /// timed out (RFC 8445 §7.3.1.4 cancellation).
    pub fn cancel(&mut self, now: Instant) {
        if !self.is_last_wait() {
            self.sends = self.config.max_sends;
            self.next = now + self.config.rto * self.config.last_wait;
        }
    }

    /// Advances the schedule at `now`.
    pub fn step(&mut self, now: Instant) -> RetransmitStep {
        if now < self.next {
            return RetransmitStep::Wait;
        }
        if self.sends >= self.config.max_sends {
            return RetransmitStep::TimedOut;
        }
        self.sends += 1;
        if self.sends >= self.config.max_sends {
            self.next = now + self.config.rto * self.config.last_wait;
        } else {
            self.next = now + self.interval;
            self.interval = self.interval.saturating_mul(2);
            if let Some(max) = self.config.max_rto {
                self.interval = self.interval.min(max);
            }
        }
        RetransmitStep::Send
    }
}

/// What a [`ClientTransaction`] reports, once.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event<'a> {
    /// A success or error response matched the transaction.
    Response(Message<'a>),
    /// No response within the retransmission schedule.
    TimedOut,
}

/// Why a [`ClientTransaction`] could not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StartError {
    /// The request does not fit the transaction's `MAX` bytes.
    TooLarge(BufferTooSmall),
    /// The bytes are not a STUN request.
    NotARequest,
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::TooLarge(e) => write!(f, "STUN request too large for the transaction: {e}"),
            StartError::NotARequest => f.write_str("not a STUN request"),
        }
    }
}

impl core::error::Error for StartError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum State {
    AwaitResponse,
    Responded,
    TimedOut,
    Reported,
}

/// One STUN request to one server, retransmitted until a response matches it by transaction
/// id and source address. Stores the request (then the response) in `MAX` bytes.
///
/// The drain rule: after `start`, `handle_packet` or `handle_timeout`, drain `poll_transmit`
/// and `poll_event` until `None`, then wake at `poll_timeout()`.
#[derive(Clone, Debug)]
pub struct ClientTransaction<const MAX: usize = 576> {
    buf: [u8; MAX],
    len: usize,
    tid: TransactionId,
    source: SocketAddr,
    destination: SocketAddr,
    schedule: Retransmit,
    send_due: bool,
    state: State,
}

/// Where it stands, not the stored datagram.
#[cfg(feature = "defmt")]
impl<const MAX: usize> defmt::Format for ClientTransaction<MAX> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "ClientTransaction {{ tid: {}, destination: {}, schedule: {}, state: {} }}",
            self.tid,
            self.destination,
            self.schedule,
            self.state
        );
    }
}

impl<const MAX: usize> ClientTransaction<MAX> {
    /// Starts sending `request` from the local address `source` (the socket's own address) to
    /// `destination` at `now`.
    pub fn start(
        now: Instant,
        request: &[u8],
        source: SocketAddr,
        destination: SocketAddr,
        config: RetransmitConfig,
    ) -> Result<Self, StartError> {
        let msg = Message::parse(request).map_err(|_| StartError::NotARequest)?;
        if msg.class() != Class::Request {
            return Err(StartError::NotARequest);
        }
        let mut buf = [0u8; MAX];
        buf.get_mut(..request.len())
            .ok_or(StartError::TooLarge(BufferTooSmall {
                needed: request.len(),
            }))?
            .copy_from_slice(request);
        let mut schedule = Retransmit::new(now, config);
        schedule.step(now);
        Ok(ClientTransaction {
            buf,
            len: request.len(),
            tid: msg.transaction_id(),
            source,
            destination,
            schedule,
            send_due: true,
            state: State::AwaitResponse,
        })
    }

    /// The transaction id.
    #[must_use]
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }

    /// Whether the transaction is over (responded or timed out).
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.state != State::AwaitResponse
    }

    /// Offers a received datagram; returns whether it was this transaction's response. A
    /// response from another address than the request went to is not a match.
    pub fn handle_packet(&mut self, _now: Instant, from: SocketAddr, packet: &[u8]) -> bool {
        if self.state != State::AwaitResponse || from != self.destination || !is_stun(packet) {
            return false;
        }
        let Ok(msg) = Message::parse(packet) else {
            return false;
        };
        if msg.transaction_id() != self.tid || !matches!(msg.class(), Class::Success | Class::Error)
        {
            return false;
        }
        let Some(store) = self.buf.get_mut(..packet.len()) else {
            // A response larger than we can keep still ends the transaction.
            self.state = State::TimedOut;
            return true;
        };
        store.copy_from_slice(packet);
        self.len = packet.len();
        self.state = State::Responded;
        self.send_due = false;
        true
    }

    /// A deadline passed: retransmit or give up.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state != State::AwaitResponse {
            return;
        }
        match self.schedule.step(now) {
            RetransmitStep::Wait => {}
            RetransmitStep::Send => self.send_due = true,
            RetransmitStep::TimedOut => self.state = State::TimedOut,
        }
    }

    /// The request, when a (re)send is due.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        if !self.send_due {
            return Ok(None);
        }
        let request = self.buf.get(..self.len).unwrap_or_default();
        let out = buf.get_mut(..request.len()).ok_or(BufferTooSmall {
            needed: request.len(),
        })?;
        out.copy_from_slice(request);
        self.send_due = false;
        Ok(Some(Transmit::between(self.source, self.destination, out)))
    }

    /// The outcome, once.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        match self.state {
            State::Responded => {
                self.state = State::Reported;
                Message::parse(self.buf.get(..self.len)?)
                    .ok()
                    .map(Event::Response)
            }
            State::TimedOut => {
                self.state = State::Reported;
                Some(Event::TimedOut)
            }
            State::AwaitResponse | State::Reported => None,
        }
    }

    /// When to call `handle_timeout` next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.state == State::AwaitResponse).then(|| self.schedule.deadline())
    }
}

/// The transaction id inside a STUN datagram, without parsing the rest.
#[must_use]
pub fn peek_transaction_id(packet: &[u8]) -> Option<TransactionId> {
    let tid = packet.get(8..HEADER_LEN)?;
    let mut out = [0u8; 12];
    out.copy_from_slice(tid);
    Some(TransactionId(out))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::message::Method;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_schedule_is_rfc_8489s() {
        let mut s = Retransmit::new(Instant::ZERO, RetransmitConfig::default());
        let mut sends = std::vec::Vec::new();
        let mut t = Instant::ZERO;
        loop {
            match s.step(t) {
                RetransmitStep::Send => sends.push(t.as_millis()),
                RetransmitStep::TimedOut => break,
                RetransmitStep::Wait => unreachable!(),
            }
            t = s.deadline();
        }
        assert_eq!(sends, [0, 500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!(t.as_millis(), 39_500);

        let capped = RetransmitConfig {
            max_rto: Some(Duration::from_millis(1600)),
            max_sends: 5,
            ..RetransmitConfig::default()
        };
        let mut s = Retransmit::new(Instant::ZERO, capped);
        let mut sends = std::vec::Vec::new();
        let mut t = Instant::ZERO;
        while s.step(t) == RetransmitStep::Send {
            sends.push(t.as_millis());
            t = s.deadline();
        }
        assert_eq!(sends, [0, 500, 1500, 3100, 4700]);
        assert_eq!(t.as_millis(), 4_700 + 8_000);
    }

    #[test]
    fn a_transaction_retransmits_matches_and_times_out() {
        let server = addr("192.0.2.1:3478");
        let client = addr("192.0.2.9:50000");
        let mut req = [0u8; 64];
        let tid = TransactionId([3; 12]);
        let n = Message::builder(Class::Request, Method::BINDING, tid)
            .fingerprint()
            .emit(&mut req)
            .unwrap();
        let mut tx = ClientTransaction::<128>::start(
            Instant::ZERO,
            &req[..n],
            client,
            server,
            RetransmitConfig::default(),
        )
        .unwrap();
        let mut out = [0u8; 128];
        let sent = tx.poll_transmit(&mut out).unwrap().unwrap();
        assert_eq!(
            (sent.source, sent.destination, sent.payload.len()),
            (client, server, n)
        );
        assert!(tx.poll_transmit(&mut out).unwrap().is_none());
        assert_eq!(tx.poll_timeout(), Some(Instant::from_millis(500)));
        tx.handle_timeout(Instant::from_millis(500));
        assert!(tx.poll_transmit(&mut out).unwrap().is_some());

        // A response from elsewhere or with another id is not ours.
        let mut resp = [0u8; 64];
        let mapped = addr("203.0.113.4:5000");
        let m = Message::builder(Class::Success, Method::BINDING, tid)
            .xor_mapped_address(mapped)
            .emit(&mut resp)
            .unwrap();
        assert!(!tx.handle_packet(Instant::ZERO, addr("192.0.2.2:3478"), &resp[..m]));
        let mut other = resp;
        other[8] ^= 1;
        assert!(!tx.handle_packet(Instant::ZERO, server, &other[..m]));
        assert!(tx.handle_packet(Instant::ZERO, server, &resp[..m]));
        match tx.poll_event() {
            Some(Event::Response(msg)) => assert_eq!(msg.xor_mapped_address(), Some(mapped)),
            other => panic!("{other:?}"),
        }
        assert!(tx.poll_event().is_none());
        assert!(tx.is_done() && tx.poll_timeout().is_none());

        let mut tx = ClientTransaction::<128>::start(
            Instant::ZERO,
            &req[..n],
            client,
            server,
            RetransmitConfig::default(),
        )
        .unwrap();
        let mut sends = 0;
        while let Some(t) = tx.poll_timeout() {
            while tx.poll_transmit(&mut out).unwrap().is_some() {
                sends += 1;
            }
            tx.handle_timeout(t);
        }
        assert_eq!(sends, 7);
        assert!(matches!(tx.poll_event(), Some(Event::TimedOut)));
        assert_eq!(
            ClientTransaction::<8>::start(
                Instant::ZERO,
                &req[..n],
                client,
                server,
                RetransmitConfig::default()
            )
            .err(),
            Some(StartError::TooLarge(BufferTooSmall { needed: n }))
        );
    }
}
