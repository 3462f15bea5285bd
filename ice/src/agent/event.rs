//! What the agent tells its host: events, `iceConnectionState`, command errors, counters.
//!
//! ```text
//!  New -> Checking -> Connected -> Completed        (poll_event: StateChanged(..))
//!                        |  ^
//!                        v  |  consent 10 s silent / back
//!                   Disconnected -> Failed (30 s)   close() -> Closed from anywhere
//!  LocalCandidate.. (ServerUnreachable) GatheringComplete   SelectedPair / SelectedPairCleared
//!  RoleChanged
//! ```

use super::*;

/// The browser's `iceConnectionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IceState {
    /// Nothing to check yet.
    New,
    /// Checks are running; no pair selected.
    Checking,
    /// A pair is selected; checks may still run or more candidates may come.
    Connected,
    /// A pair is selected, checks are done and the remote said end-of-candidates.
    Completed,
    /// Consent responses stopped coming (10 s); may come back.
    Disconnected,
    /// Every pair failed after end-of-candidates, or consent expired (30 s).
    Failed,
    /// [`Agent::close`] was called.
    Closed,
}

impl IceState {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            IceState::New => "new",
            IceState::Checking => "checking",
            IceState::Connected => "connected",
            IceState::Completed => "completed",
            IceState::Disconnected => "disconnected",
            IceState::Failed => "failed",
            IceState::Closed => "closed",
        }
    }
}

/// What the agent reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// A local candidate to signal to the peer (trickle): `a=` + its `Display`.
    LocalCandidate(Candidate),
    /// Every local candidate has been reported (signal end-of-candidates).
    GatheringComplete,
    /// `iceConnectionState` changed.
    StateChanged(IceState),
    /// Traffic now goes over this pair: emitted on every change of the selected pair, so a
    /// host keeps its copy of [`Agent::selected_pair`] by acting on this event and
    /// [`Event::SelectedPairCleared`] alone.
    SelectedPair {
        /// Our candidate (its base is the socket to send from).
        local: Candidate,
        /// The peer's candidate.
        remote: Candidate,
    },
    /// There is no selected pair any more: an ICE restart found no pair it could keep
    /// running (none was working, or consent had expired).
    SelectedPairCleared,
    /// A role conflict switched our role.
    RoleChanged(Role),
    /// A STUN server did not answer the binding request sent from `local` (every
    /// retransmission timed out): no server-reflexive candidate comes from that pair.
    ServerUnreachable {
        /// The host socket the request left from.
        #[cfg_attr(feature = "defmt", defmt(Display2Format))]
        local: SocketAddr,
        /// The STUN server.
        #[cfg_attr(feature = "defmt", defmt(Display2Format))]
        server: SocketAddr,
    },
    /// `icecandidateerror`: a TURN server refused or never answered the allocation made from
    /// `local` (or lost it later); gathering goes on without its relayed candidate.
    CandidateError {
        /// The host socket the allocation started from (`address`/`port` of the event).
        #[cfg_attr(feature = "defmt", defmt(Display2Format))]
        local: SocketAddr,
        /// The TURN server.
        #[cfg_attr(feature = "defmt", defmt(Display2Format))]
        server: SocketAddr,
        /// The server's URL as configured (`url`).
        url: Str<96>,
        /// The STUN error code (`errorCode`): 300 to 699 from the server, 701 when it never
        /// answered.
        code: u16,
        /// The server's reason phrase, or ours (`errorText`).
        text: Str<64>,
    },
}

/// Why a command failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AddCandidateError {
    /// The candidate string did not parse.
    Parse(crate::candidate::ParseError),
    /// TCP, a component other than 1, or a relayed local candidate: not handled.
    Unsupported,
    /// The candidate carries a ufrag of another generation.
    StaleGeneration,
    /// The table is full of candidates of higher priority.
    Full,
    /// The agent is closed.
    Closed,
}

impl core::fmt::Display for AddCandidateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AddCandidateError::Parse(e) => core::fmt::Display::fmt(e, f),
            AddCandidateError::Unsupported => {
                f.write_str("candidate not handled (TCP, component other than 1, or relayed)")
            }
            AddCandidateError::StaleGeneration => {
                f.write_str("candidate of another ICE generation (ufrag)")
            }
            AddCandidateError::Full => f.write_str("candidate table full"),
            AddCandidateError::Closed => f.write_str("ICE agent closed"),
        }
    }
}

impl core::error::Error for AddCandidateError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            AddCandidateError::Parse(e) => Some(e),
            _ => None,
        }
    }
}

/// Counters (network input that was dropped never fails a call: it is counted here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// STUN packets handed to `handle_packet`.
    pub packets_received: u64,
    /// Dropped: not STUN or malformed.
    pub dropped_malformed: u64,
    /// Dropped: missing or wrong USERNAME, MESSAGE-INTEGRITY or FINGERPRINT.
    pub dropped_unauthenticated: u64,
    /// Dropped: a response matching no transaction (id or addresses).
    pub dropped_unmatched: u64,
    /// Dropped: arrived on an address that is no local candidate's base.
    pub dropped_unknown_local: u64,
    /// Dropped: a queue or table was full.
    pub dropped_full: u64,
    /// Dropped: arrived after [`Agent::close`](crate::Agent::close).
    pub dropped_closed: u64,
    /// Binding requests answered.
    pub requests_answered: u64,
    /// Connectivity checks started (each transaction once).
    pub checks_sent: u64,
    /// Retransmissions of checks, consent and gathering requests.
    pub retransmits: u64,
    /// Consent requests started.
    pub consent_checks: u64,
    /// Role conflicts seen (487 sent or received, or a switch).
    pub role_conflicts: u64,
    /// Candidates or pairs evicted for higher-priority ones.
    pub evicted: u64,
    /// USE-CANDIDATE or NOMINATION requests from the controlling peer that did not move our
    /// selection because they were older than its latest nomination: a retransmission of a
    /// nomination already counted, or a NOMINATION value below the highest seen.
    pub stale_nominations: u64,
    /// Datagrams sent through a TURN relay (ChannelData or Send indications).
    pub relayed_sent: u64,
    /// Datagrams received through a TURN relay (ChannelData or Data indications).
    pub relayed_received: u64,
}
