//! What the agent shows of its candidate pairs, read only: the Peer's statistics report
//! (`RTCIceCandidatePairStats`) walks every pair through [`Agent::pairs`].
//!
//! ```text
//!   pairs table --pairs()--> PairView { local, remote, state, nominated, selected, priority }
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
            })
        })
    }
}
