//! The candidate tables and the checklist: pairing, priorities, pruning and eviction.
//!
//! ```text
//!  local host/relayed x remote (same family) --find_or_add_pair--> Pair { Frozen | Waiting }
//!    first pair of a foundation Waiting, the rest Frozen           (RFC 8445 §6.1.2.6)
//!    priority = 2^32 min(G, D) + 2 max(G, D) + (G > D)            (RFC 8445 §6.1.2.3)
//!  full candidate table --eviction_victim--> the crowded type's lowest (never the selected)
//!  full pair table ------------------------> the lowest-priority pair, not nominated
//! ```

use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) struct Local {
    pub(super) cand: Candidate,
    pub(super) base: SocketAddr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PairState {
    Frozen,
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Pair {
    pub(super) local: usize,
    pub(super) remote: usize,
    pub(super) priority: u64,
    pub(super) state: PairState,
    /// Waiting in the triggered-check queue; lower runs first.
    pub(super) triggered: Option<u32>,
    /// The pair's next check carries USE-CANDIDATE (controlling).
    pub(super) nominate_next: bool,
    /// Nominated: by our USE-CANDIDATE check succeeding, or by the peer's.
    pub(super) nominated: bool,
    /// The peer nominated it before our check succeeded (controlled).
    pub(super) nominate_on_success: bool,
    /// The order of the pair's latest nomination, 0 if never: controlled, the agent's count of
    /// the peer's nominations when this one came; controlling, the count when we made it (and
    /// the NOMINATION value we send with it). The highest valid one is the current choice.
    pub(super) nomination: u32,
    /// The transaction that carried the latest nomination counted (controlled), folded to 32
    /// bits ([`tid_fold`]): its retransmissions, or a copy the network delayed, are not a new
    /// nomination. The whole id would cost 16 B per pair; two different ids folding alike
    /// (odds 2^-32) only leave that nomination's order where the pair had it.
    pub(super) nomination_tid: u32,
    /// When a check on it last succeeded.
    pub(super) last_success: Instant,
    /// What the statistics report shows of its requests and responses.
    pub(super) counters: super::report::PairCounters,
}

/// RFC 8445 §6.1.2.3: pair priority from the controlling (g) and controlled (d) priorities.
pub(super) const fn pair_priority(g: u32, d: u32) -> u64 {
    let (g, d) = (g as u64, d as u64);
    let (min, max) = if g < d { (g, d) } else { (d, g) };
    (min << 32) + 2 * max + if g > d { 1 } else { 0 }
}

/// A small stable hash for foundations: equal inputs, equal foundations.
pub(super) fn foundation(
    kind: CandidateType,
    base: SocketAddr,
    server: Option<SocketAddr>,
) -> Str<32> {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    kind.as_str().bytes().for_each(&mut eat);
    match base.ip() {
        core::net::IpAddr::V4(ip) => ip.octets().into_iter().for_each(&mut eat),
        core::net::IpAddr::V6(ip) => ip.octets().into_iter().for_each(&mut eat),
    }
    if let Some(s) = server {
        match s.ip() {
            core::net::IpAddr::V4(ip) => ip.octets().into_iter().for_each(&mut eat),
            core::net::IpAddr::V6(ip) => ip.octets().into_iter().for_each(&mut eat),
        }
    }
    decimal(h)
}

/// `n` in decimal, as a foundation.
pub(super) fn decimal(mut n: u32) -> Str<32> {
    // u32::MAX has ten digits; they are written from the right.
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
        i -= 1;
        if n == 0 {
            break;
        }
    }
    Str::copy_from(core::str::from_utf8(digits.get(i..).unwrap_or_default()).unwrap_or_default())
        .unwrap_or_default()
}

/// Where a new candidate goes in a table (`entries`: each slot's type and priority): a free
/// slot, else the slot of the candidate to evict, else `None` (the newcomer is the one to go).
///
/// A full table keeps a mix of types rather than the highest priorities: the crowded type (the
/// one with the most entries, counting the newcomer; ties go against the higher type
/// preference) gives up its lowest-priority member. Pure priority would evict relayed
/// candidates first, yet they are the ones that work when every other pair fails (symmetric
/// NATs, UDP-blocking firewalls), and a browser lists several host and reflexive candidates
/// per interface before them. `protected` (the selected pair's entry) is never evicted.
pub(super) fn eviction_victim(
    entries: impl Iterator<Item = Option<(CandidateType, u32)>> + Clone,
    newcomer: (CandidateType, u32),
    protected: Option<usize>,
) -> Option<usize> {
    if let Some(free) = entries.clone().position(|e| e.is_none()) {
        return Some(free);
    }
    let count = |kind: CandidateType| {
        1 + entries
            .clone()
            .filter(|e| e.is_some_and(|(k, _)| k == kind))
            .count()
            - usize::from(kind != newcomer.0)
    };
    let kinds = [
        CandidateType::Relayed,
        CandidateType::ServerReflexive,
        CandidateType::PeerReflexive,
        CandidateType::Host,
    ];
    // `max_by_key` keeps the last of equals: the list runs from low to high type preference.
    let crowded = kinds.into_iter().max_by_key(|k| count(*k))?;
    let (victim, lowest) = entries
        .enumerate()
        .filter(|(i, _)| Some(*i) != protected)
        .filter_map(|(i, e)| e.filter(|(k, _)| *k == crowded).map(|(_, p)| (i, p)))
        .min_by_key(|(_, p)| *p)?;
    if newcomer.0 == crowded && newcomer.1 <= lowest {
        return None;
    }
    Some(victim)
}

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    pub(super) fn fail_pair(&mut self, idx: usize) {
        if let Some(p) = self.pairs.get_mut(idx).and_then(|p| p.as_mut()) {
            p.state = PairState::Failed;
            p.triggered = None;
            p.nominate_next = false;
        }
    }

    pub(super) fn pair_foundation(&self, idx: usize) -> Option<(Str<32>, Str<32>)> {
        let p = self.pairs.get(idx).copied().flatten()?;
        let l = self.locals.get(p.local).copied().flatten()?;
        let r = self.remotes.get(p.remote).copied().flatten()?;
        Some((l.cand.foundation, r.foundation))
    }

    pub(super) fn reprioritise(&mut self) {
        for i in 0..PAIRS {
            let Some(p) = self.pairs.get(i).copied().flatten() else {
                continue;
            };
            let (Some(l), Some(r)) = (
                self.locals.get(p.local).copied().flatten(),
                self.remotes.get(p.remote).copied().flatten(),
            ) else {
                continue;
            };
            let prio = self.priority_of(l.cand.priority, r.priority);
            if let Some(p) = self.pairs.get_mut(i).and_then(|p| p.as_mut()) {
                p.priority = prio;
            }
        }
    }

    pub(super) fn priority_of(&self, local: u32, remote: u32) -> u64 {
        match self.role {
            Role::Controlling => pair_priority(local, remote),
            Role::Controlled => pair_priority(remote, local),
        }
    }

    pub(super) fn make_local(
        &self,
        kind: CandidateType,
        address: SocketAddr,
        base: SocketAddr,
        local_pref: u16,
        server: Option<SocketAddr>,
    ) -> Candidate {
        Candidate {
            foundation: foundation(kind, base, server),
            component: 1,
            transport: Transport::Udp,
            priority: priority(kind, local_pref, 1),
            address,
            kind,
            related: (kind != CandidateType::Host).then_some(base),
            tcp_type: None,
            generation: None,
            ufrag: None,
            network_id: None,
            network_cost: None,
        }
    }

    /// Stores a local candidate; a full table makes room by [`eviction_victim`].
    pub(super) fn insert_local(&mut self, local: Local) -> Result<usize, AddCandidateError> {
        let in_use = self.selected_pair_indices().map(|(l, _)| l);
        let entries = self
            .locals
            .iter()
            .map(|l| l.map(|l| (l.cand.kind, l.cand.priority)));
        let Some(slot) = eviction_victim(entries, (local.cand.kind, local.cand.priority), in_use)
        else {
            self.stats.dropped_full += 1;
            return Err(AddCandidateError::Full);
        };
        if self.locals.get(slot).is_some_and(Option::is_some) {
            self.stats.evicted += 1;
            self.remove_pairs(|p| p.local == slot);
            self.txns.iter_mut().for_each(|t| {
                if t.is_some_and(|t| t.kind == TxnKind::Gather { local: slot }) {
                    *t = None;
                }
            });
            self.gather_queue.retain(|&(l, _)| l != slot);
        }
        if let Some(s) = self.locals.get_mut(slot) {
            *s = Some(local);
        }
        Ok(slot)
    }

    /// Stores a remote candidate; a full table makes room by [`eviction_victim`].
    pub(super) fn insert_remote(&mut self, cand: Candidate) -> Result<usize, AddCandidateError> {
        let in_use = self.selected_pair_indices().map(|(_, r)| r);
        let entries = self.remotes.iter().map(|r| r.map(|r| (r.kind, r.priority)));
        let Some(slot) = eviction_victim(entries, (cand.kind, cand.priority), in_use) else {
            self.stats.dropped_full += 1;
            return Err(AddCandidateError::Full);
        };
        if self.remotes.get(slot).is_some_and(Option::is_some) {
            self.stats.evicted += 1;
            self.remove_pairs(|p| p.remote == slot);
        }
        if let Some(s) = self.remotes.get_mut(slot) {
            *s = Some(cand);
        }
        Ok(slot)
    }

    /// The (local, remote) table indices of the selected pair, which no eviction may touch.
    /// The highest-priority pair `keep` accepts, and its index: the one question behind
    /// choosing the next check, the pair to nominate, and the pairs to re-check.
    pub(super) fn best_pair(&self, keep: impl Fn(usize, &Pair) -> bool) -> Option<(usize, Pair)> {
        self.pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(i, p)| keep(*i, p))
            .max_by_key(|(_, p)| p.priority)
    }

    pub(super) fn selected_pair_indices(&self) -> Option<(usize, usize)> {
        self.selected
            .and_then(|s| s.pair)
            .and_then(|p| self.pairs.get(p).copied().flatten())
            .map(|p| (p.local, p.remote))
    }

    pub(super) fn remove_pairs(&mut self, doomed: impl Fn(&Pair) -> bool) {
        for i in 0..PAIRS {
            if self
                .pairs
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|p| doomed(&p))
            {
                if let Some(slot) = self.pairs.get_mut(i) {
                    *slot = None;
                }
                self.txns.iter_mut().for_each(|t| {
                    if t.is_some_and(|t| t.kind.check_pair() == Some(i)) {
                        *t = None;
                    }
                });
            }
        }
    }

    /// Pairs a new host local with every remote of its family.
    pub(super) fn pair_local(&mut self, local: usize) {
        for r in 0..REMOTE_CANDIDATES {
            self.find_or_add_pair(local, r);
        }
    }

    pub(super) fn pair_remote(&mut self, remote: usize) {
        let controlling_done =
            self.role == Role::Controlling && self.selected.is_some_and(|s| !s.old);
        if controlling_done || self.config.lite {
            // Nothing more to check: the lite agent checks nothing, the controlling agent has
            // nominated already.
            return;
        }
        for l in 0..CANDIDATES {
            self.find_or_add_pair(l, remote);
        }
    }

    pub(super) fn find_or_add_pair(&mut self, local: usize, remote: usize) -> Option<usize> {
        let l = self.locals.get(local).copied().flatten()?;
        let r = self.remotes.get(remote).copied().flatten()?;
        // Only host (and, later, relayed) locals form pairs: a server-reflexive candidate
        // shares its base with its host candidate (RFC 8445 §6.1.2.4 pruning).
        if !matches!(l.cand.kind, CandidateType::Host | CandidateType::Relayed)
            || (self.config.relay_only && l.cand.kind != CandidateType::Relayed)
            || l.base.is_ipv4() != r.address.is_ipv4()
            || !Self::tcp_pairable(&l, &r)
        {
            return None;
        }
        if let Some(i) = self
            .pairs
            .iter()
            .position(|p| p.is_some_and(|p| p.local == local && p.remote == remote))
        {
            return Some(i);
        }
        let prio = self.priority_of(l.cand.priority, r.priority);
        let foundation = (l.cand.foundation, r.foundation);
        // RFC 8445 §6.1.2.6: the first pair of a foundation waits, the others are frozen.
        let sibling = (0..PAIRS).any(|j| self.pair_foundation(j) == Some(foundation));
        let pair = Pair {
            local,
            remote,
            priority: prio,
            state: if sibling {
                PairState::Frozen
            } else {
                PairState::Waiting
            },
            triggered: None,
            nominate_next: false,
            nominated: false,
            nominate_on_success: false,
            nomination: 0,
            nomination_tid: 0,
            last_success: Instant::ZERO,
            counters: super::report::PairCounters::ZERO,
        };
        if let Some(i) = self.pairs.iter().position(Option::is_none) {
            if let Some(slot) = self.pairs.get_mut(i) {
                *slot = Some(pair);
            }
            return Some(i);
        }
        let sel = self.selected.and_then(|s| s.pair);
        let (victim, low) = self
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(i, p)| Some(*i) != sel && !p.nominated)
            .map(|(i, p)| (i, p.priority))
            .min_by_key(|(_, p)| *p)?;
        if low >= prio {
            self.stats.dropped_full += 1;
            return None;
        }
        self.stats.evicted += 1;
        self.txns.iter_mut().for_each(|t| {
            if t.is_some_and(|t| t.kind.check_pair() == Some(victim)) {
                *t = None;
            }
        });
        if let Some(slot) = self.pairs.get_mut(victim) {
            *slot = Some(pair);
        }
        Some(victim)
    }

    /// RFC 8445 §7.2.5.3.1: a mapped address we do not know is a local peer-reflexive
    /// candidate (never signalled; it only tells us what the peer sees).
    pub(super) fn learn_local_prflx(&mut self, base: SocketAddr, mapped: SocketAddr, prio: u32) {
        if self
            .locals
            .iter()
            .flatten()
            .any(|l| l.cand.address == mapped)
        {
            return;
        }
        let mut cand = self.make_local(CandidateType::PeerReflexive, mapped, base, 0, None);
        cand.priority = prio;
        // A full table refuses it (counted in `dropped_full`): it is never signalled, and the
        // checks that found it work without it.
        if self.insert_local(Local { cand, base }).is_err() {
            debug!("ice: no room for a local peer-reflexive candidate");
        }
    }
}
