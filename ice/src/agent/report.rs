//! What the agent shows of its candidate pairs, read only: the Peer's statistics report
//! (`RTCIceCandidatePairStats`) walks every pair through [`Agent::pairs`].
//!
//! ```text
//!   pairs table --pairs()--> PairView { local, remote, state, nominated, selected, priority,
//!                                        requests, responses, consent requests, RTTs }
//!   check sent --------> requests_sent          consent sent --> requests_sent, consent_requests_sent
//!   peer's check ------> requests_received, responses_sent (if the response queue had room)
//!   success response --> responses_received, total RTT (from the first send),
//!                        current RTT (only if the request went once: Karn)
//! ```

use super::*;

/// A pair's check state (RFC 8445 §6.1.2.6), as the W3C's `RTCStatsIceCandidatePairState`
/// names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CandidatePairState {
    /// Waits for a pair of its foundation to be checked first.
    Frozen,
    /// Ready to be checked.
    Waiting,
    /// A check is in flight.
    InProgress,
    /// A check succeeded: the pair is valid.
    Succeeded,
    /// Checks failed.
    Failed,
}

impl CandidatePairState {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            CandidatePairState::Frozen => "frozen",
            CandidatePairState::Waiting => "waiting",
            CandidatePairState::InProgress => "in-progress",
            CandidatePairState::Succeeded => "succeeded",
            CandidatePairState::Failed => "failed",
        }
    }
}

/// One candidate pair of the agent's table, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct PairView<'a> {
    /// Our candidate.
    pub local: &'a Candidate,
    /// Theirs.
    pub remote: &'a Candidate,
    /// Where its checks are.
    pub state: CandidatePairState,
    /// Nominated (by our USE-CANDIDATE check or by the peer's).
    pub nominated: bool,
    /// The pair traffic goes over now.
    pub selected: bool,
    /// The pair priority (RFC 8445 §6.1.2.3).
    pub priority: u64,
    /// Binding requests sent on it, checks and consent, each once (not its retransmissions).
    pub requests_sent: u64,
    /// Success responses received to them.
    pub responses_received: u64,
    /// Consent requests (RFC 7675) sent on it while it was the selected pair.
    pub consent_requests_sent: u64,
    /// Authenticated Binding requests (checks and consent) the peer sent on it.
    pub requests_received: u64,
    /// Success responses we sent to them.
    pub responses_sent: u64,
    /// The sum of the round-trip times of those responses, each from its request's first
    /// send: divided by `responses_received` it is the average.
    pub total_round_trip_time: Duration,
    /// The latest round-trip time of a request answered without a retransmission.
    pub current_round_trip_time: Option<Duration>,
}

/// A pair's request and response counters. `u32` keeps the pair table small (a check every
/// Ta and consent every 5 s never reach 2^32 on one pair); the RTT sum is in microseconds.
#[derive(Clone, Copy, Debug)]
pub(super) struct PairCounters {
    pub(super) requests_sent: u32,
    pub(super) responses_received: u32,
    pub(super) consent_requests_sent: u32,
    requests_received: u32,
    responses_sent: u32,
    /// The latest Karn-valid RTT in microseconds, `u32::MAX` for none.
    current_rtt: u32,
    total_rtt: u64,
}

impl PairCounters {
    pub(super) const ZERO: PairCounters = PairCounters {
        requests_sent: 0,
        responses_received: 0,
        consent_requests_sent: 0,
        requests_received: 0,
        responses_sent: 0,
        current_rtt: u32::MAX,
        total_rtt: 0,
    };

    /// An authenticated check from the peer on this pair; `answered` if its success response
    /// found room in the response queue.
    pub(super) fn request_received(&mut self, answered: bool) {
        self.requests_received = self.requests_received.saturating_add(1);
        if answered {
            self.responses_sent = self.responses_sent.saturating_add(1);
        }
    }
}

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    /// Every pair in the table, in table order. A pair whose candidate was evicted meanwhile
    /// is not in the table any more, so each view's candidates are current.
    pub fn pairs(&self) -> impl Iterator<Item = PairView<'_>> {
        let selected = self.selected.and_then(|s| s.pair);
        self.pairs.iter().enumerate().filter_map(move |(i, p)| {
            let p = p.as_ref()?;
            let local = &self.locals.get(p.local)?.as_ref()?.cand;
            let remote = self.remotes.get(p.remote)?.as_ref()?;
            let state = match p.state {
                PairState::Frozen => CandidatePairState::Frozen,
                PairState::Waiting => CandidatePairState::Waiting,
                PairState::InProgress => CandidatePairState::InProgress,
                PairState::Succeeded => CandidatePairState::Succeeded,
                PairState::Failed => CandidatePairState::Failed,
            };
            Some(PairView {
                local,
                remote,
                state,
                nominated: p.nominated,
                selected: selected == Some(i),
                priority: p.priority,
                requests_sent: u64::from(p.counters.requests_sent),
                responses_received: u64::from(p.counters.responses_received),
                consent_requests_sent: u64::from(p.counters.consent_requests_sent),
                requests_received: u64::from(p.counters.requests_received),
                responses_sent: u64::from(p.counters.responses_sent),
                total_round_trip_time: Duration::from_micros(p.counters.total_rtt),
                current_round_trip_time: (p.counters.current_rtt != u32::MAX)
                    .then(|| Duration::from_micros(u64::from(p.counters.current_rtt))),
            })
        })
    }

    /// A success response to `txn` (a check on `pair`, or consent on the selected pair).
    pub(super) fn count_response(&mut self, now: Instant, pair: Option<usize>, txn: &Txn) {
        let Some(p) = pair
            .and_then(|i| self.pairs.get_mut(i))
            .and_then(|p| p.as_mut())
        else {
            return;
        };
        let rtt = u64::try_from(now.saturating_duration_since(txn.started).as_micros())
            .unwrap_or(u64::MAX);
        let c = &mut p.counters;
        c.responses_received = c.responses_received.saturating_add(1);
        c.total_rtt = c.total_rtt.saturating_add(rtt);
        // Karn: a retransmitted request's response does not say which send it answers.
        if txn.schedule.sends() == 1 {
            c.current_rtt = u32::try_from(rtt).unwrap_or(u32::MAX - 1);
        }
    }

    /// A consent request went out on the selected pair (`pair`, if it is still in the table).
    pub(super) fn count_consent_request(&mut self, pair: Option<usize>) {
        if let Some(p) = pair
            .and_then(|i| self.pairs.get_mut(i))
            .and_then(|p| p.as_mut())
        {
            let c = &mut p.counters;
            c.requests_sent = c.requests_sent.saturating_add(1);
            c.consent_requests_sent = c.consent_requests_sent.saturating_add(1);
        }
    }
}
