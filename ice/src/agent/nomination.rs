//! Nomination, selection and consent freshness (RFC 8445 §8, RFC 7675).
//!
//! ```text
//!  controlling: first valid pair -> wait nomination_delay (or no better pair pending)
//!               -> check again with USE-CANDIDATE -> success -> nominated
//!               (USE-CANDIDATE + NOMINATION n, n counting our nominations)
//!  controlled:  USE-CANDIDATE or NOMINATION on a valid pair (or when its check succeeds)
//!               -> nominated; the latest valid nomination is selected (renomination):
//!               latest by the peer's NOMINATION value, else by arrival; a retransmitted
//!               transaction or a lower value is stale (counted, changes nothing)
//!  best nominated valid pair -> selected (SelectedPair); the rest of the checklist goes
//!  selected: consent request every 4-6 s; response refreshes; 10 s silent Disconnected,
//!            30 s Failed (sending stops); silent but another pair fresh -> renominate/follow
//!  controlling, 10 s silent, no other pair fresh -> re-check the other pairs at once
//!            -> the first to answer is renominated (NOMINATION n+1) -> the peer follows
//!  restart: the selected pair keeps running under the old credentials until a new selection
//! ```

use super::*;

/// A transaction id folded to 32 bits (its three words xored), for [`Pair::nomination_tid`].
pub(super) fn tid_fold(tid: &TransactionId) -> u32 {
    tid.0
        .chunks_exact(4)
        .filter_map(|w| <[u8; 4]>::try_from(w).ok())
        .fold(0, |acc, w| acc ^ u32::from_be_bytes(w))
}

/// NOMINATION (draft-thatcher-ice-renomination, libwebrtc's 0xC001): the controlling agent's
/// count of its nominations, so the controlled agent can tell the latest from a late copy.
/// Comprehension-optional: agents that do not know it go by USE-CANDIDATE alone.
pub(super) const NOMINATION: AttrType = AttrType(0xC001);

#[derive(Clone, Copy, Debug)]
pub(super) struct Selected {
    pub(super) local: Candidate,
    pub(super) remote: Candidate,
    pub(super) base: SocketAddr,
    /// Index in the pair table; `None` once an ICE restart moved the table on.
    pub(super) pair: Option<usize>,
    /// Chosen under the credentials an ICE restart replaced.
    pub(super) old: bool,
    pub(super) last_consent: Instant,
    pub(super) next_consent: Instant,
    /// Controlling: the other pairs were checked again during this silence (once per
    /// silence; a consent answer ends it).
    pub(super) rechecked: bool,
}

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    /// Before the checks start over: the selected pair goes on under the credentials it was
    /// chosen with (kept as `old_creds`) until a new pair is selected. A second restart before
    /// that keeps the credentials of the pair that actually carries the traffic.
    pub(super) fn keep_selected_pair_running(&mut self) {
        match (self.selected, self.remote_creds) {
            (Some(sel), _) if sel.old => {}
            (Some(sel), Some(remote)) if !self.consent_expired => {
                self.old_creds = Some((self.local_creds, remote));
                self.selected = Some(Selected {
                    pair: None,
                    old: true,
                    ..sel
                });
            }
            _ => {
                if self.selected.take().is_some() {
                    self.emit(PendingEvent::Cleared);
                }
                self.old_creds = None;
                self.consent_expired = false;
            }
        }
    }

    /// Queues a triggered check on pair `idx` that carries USE-CANDIDATE, and NOMINATION with
    /// the next count (the pair's consent checks repeat both while it is selected).
    pub(super) fn queue_nomination(&mut self, idx: usize) {
        let seq = self.next_trigger();
        self.nominations = self.nominations.saturating_add(1);
        let count = self.nominations;
        if let Some(p) = self.pairs.get_mut(idx).and_then(|p| p.as_mut()) {
            p.nominate_next = true;
            p.triggered = Some(seq);
            p.nomination = count;
        }
    }

    /// The NOMINATION value our USE-CANDIDATE on pair `idx` carries (controlling); `None`
    /// before the pair was nominated.
    pub(super) fn nomination_value(&self, idx: Option<usize>) -> Option<u32> {
        let p = self.pairs.get(idx?).copied().flatten()?;
        (p.nomination != 0).then_some(p.nomination)
    }

    /// Controlled: whether the peer's request on pair `idx` nominates it, and if it is a new
    /// nomination, records it as the latest. A USE-CANDIDATE (or NOMINATION) is new unless it
    /// is a retransmission (or a network copy) of the transaction already counted on the
    /// pair; with NOMINATION, unless its value is below the highest seen, which also catches
    /// two nominations the network swapped. A stale one does not nominate.
    pub(super) fn nomination_in(&mut self, msg: &Message<'_>, idx: usize) -> bool {
        let value = msg
            .get(NOMINATION)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(u32::from_be_bytes)
            .filter(|v| *v != 0);
        if self.role != Role::Controlled || !(msg.use_candidate() || value.is_some()) {
            return false;
        }
        let Some(p) = self.pairs.get(idx).copied().flatten() else {
            return false;
        };
        let tid = tid_fold(&msg.transaction_id());
        let repeat = match value {
            Some(v) if v < self.peer_nomination => {
                self.stats.stale_nominations += 1;
                return false;
            }
            Some(v) => v == self.peer_nomination && p.nomination != 0,
            None => p.nomination != 0 && p.nomination_tid == tid,
        };
        if repeat {
            // Already counted: it confirms the pair, it does not make it the latest again.
            if value.is_none() {
                self.stats.stale_nominations += 1;
            }
            return true;
        }
        self.nominations = self.nominations.saturating_add(1);
        let count = self.nominations;
        if let Some(v) = value {
            self.peer_nomination = v;
        }
        if let Some(p) = self.pairs.get_mut(idx).and_then(|p| p.as_mut()) {
            // The latest nomination wins once its pair is valid (see `update_selection`).
            p.nomination = count;
            p.nomination_tid = tid;
        }
        true
    }

    /// RFC 8445 §8.1.1: the controlling agent nominates the best valid pair once no better
    /// pair can still succeed, or after `nomination_delay`.
    pub(super) fn maybe_nominate(&mut self, now: Instant) {
        if self.role != Role::Controlling || self.config.lite || self.remote_creds.is_none() {
            return;
        }
        let pairs = self.pairs.iter().flatten();
        if pairs.clone().any(|p| p.nominated || p.nominate_next) {
            return;
        }
        let Some((best_idx, best)) = self.best_pair(|_, p| p.state == PairState::Succeeded) else {
            // The pair that armed the nomination timer has failed since: the timer is spent
            // (a deadline left in the past would make `poll_timeout` ask to be woken at once,
            // forever). The next pair to succeed arms it again.
            if self.nominate_at.is_some_and(|at| at <= now) {
                self.nominate_at = None;
            }
            return;
        };
        let better_pending = pairs.clone().any(|p| {
            p.priority > best.priority
                && matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                )
        });
        if better_pending && self.nominate_at.is_some_and(|at| now < at) {
            return;
        }
        debug!("ice: nominating pair {}", best_idx);
        self.queue_nomination(best_idx);
    }

    /// The selected pair stopped answering (a NAT rebinding, a dead interface) while another
    /// pair has just been validated, typically to a peer-reflexive address the peer's checks
    /// revealed, or by [`Self::recheck_other_pairs`]: as controlling, nominate that one
    /// instead (the controlled agent follows the latest nomination).
    pub(super) fn maybe_renominate(&mut self, now: Instant) {
        let Some(sel) = self.selected else { return };
        if self.role != Role::Controlling
            || self.config.lite
            || sel.old
            || self.consent_expired
            || now.saturating_duration_since(sel.last_consent) < self.config.disconnected_after
            || self.pairs.iter().flatten().any(|p| p.nominate_next)
        {
            return;
        }
        let Some(old) = sel.pair else { return };
        let fresh = self
            .best_pair(|i, p| {
                i != old && p.state == PairState::Succeeded && p.last_success > sel.last_consent
            })
            .map(|(i, _)| i);
        let Some(new) = fresh else {
            self.recheck_other_pairs(old, sel);
            return;
        };
        debug!("ice: selected pair unresponsive, renominating pair {}", new);
        if let Some(p) = self.pairs.get_mut(old).and_then(|p| p.as_mut()) {
            p.nominated = false;
            p.state = PairState::Failed;
        }
        self.queue_nomination(new);
    }

    /// Controlling, the selected pair silent for `disconnected_after` and no other pair heard
    /// from since: check every other pair again, at once (as triggered checks), so a path
    /// that still works (our other interface, the peer's other address) is found and
    /// renominated, as libwebrtc moves to another network when one goes down. The pairs were
    /// pruned at selection and nothing checks them otherwise; once per silence.
    fn recheck_other_pairs(&mut self, old: usize, sel: Selected) {
        if sel.rechecked {
            return;
        }
        if let Some(s) = self.selected.as_mut() {
            s.rechecked = true;
        }
        debug!("ice: selected pair unresponsive, checking the other pairs again");
        // Best first, and no more than the transaction table takes with one slot to spare
        // (for consent): a burst larger than the table would evict its own checks.
        let room = self.txns.iter().filter(|t| t.is_none()).count();
        for _ in 0..room.saturating_sub(1).max(1) {
            let next = self
                .best_pair(|i, p| {
                    i != old && p.state != PairState::InProgress && p.triggered.is_none()
                })
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let seq = self.next_trigger();
            if let Some(p) = self.pairs.get_mut(i).and_then(|p| p.as_mut()) {
                p.state = PairState::Waiting;
                p.triggered = Some(seq);
            }
        }
    }

    /// Controlled: the selected pair stopped answering consent while the peer nominated
    /// another pair that works (its NAT rebound, so its checks come from a new address):
    /// follow the peer's latest nomination, as the controlling side's own renomination does.
    pub(super) fn follow_renomination(&mut self, now: Instant) {
        let Some(sel) = self.selected else { return };
        if self.role != Role::Controlled
            || self.config.lite
            || sel.old
            || now.saturating_duration_since(sel.last_consent) < self.config.consent_interval
        {
            return;
        }
        let Some(old) = sel.pair else { return };
        let fresh = self
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(i, p)| {
                *i != old
                    && p.nominated
                    && p.state == PairState::Succeeded
                    && p.last_success > sel.last_consent
            })
            .max_by_key(|(_, p)| p.last_success);
        if fresh.is_none() {
            return;
        }
        debug!("ice: selected pair unresponsive, following the peer's nomination");
        if let Some(p) = self.pairs.get_mut(old).and_then(|p| p.as_mut()) {
            p.nominated = false;
            p.state = PairState::Failed;
        }
        self.update_selection(now);
    }

    /// Picks the peer's latest nomination among the valid nominated pairs (the controlling
    /// agent may renominate, as libwebrtc does when it moves to a cheaper network, and both
    /// ends must then use the one path), the best of them by priority when that does not
    /// decide; reports a change.
    pub(super) fn update_selection(&mut self, now: Instant) {
        let best = self
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(_, p)| p.nominated && p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| (p.nomination, p.priority));
        let Some((idx, pair)) = best else { return };
        if self.selected.is_some_and(|s| s.pair == Some(idx)) {
            return;
        }
        let (Some(local), Some(remote)) = (
            self.locals.get(pair.local).copied().flatten(),
            self.remotes.get(pair.remote).copied().flatten(),
        ) else {
            return;
        };
        debug!(
            "ice: selected pair {}, remote port {}",
            idx,
            remote.address.port()
        );
        let jitter = self.consent_jitter();
        self.selected = Some(Selected {
            local: local.cand,
            remote,
            base: local.base,
            pair: Some(idx),
            old: false,
            last_consent: now,
            next_consent: now + jitter,
            rechecked: false,
        });
        // A restart is complete once a new pair carries the traffic. The previous pair's
        // consent requests go too: a late answer must not count as consent on the new pair,
        // and (controlling) their USE-CANDIDATE must not reach the peer after our
        // renomination, were the old path to come back.
        self.old_creds = None;
        self.txns.iter_mut().for_each(|t| {
            if t.is_some_and(|t| matches!(t.kind, TxnKind::Consent { .. })) {
                *t = None;
            }
        });
        self.consent_expired = false;
        self.emit(PendingEvent::Selected);
        // RFC 8445 §8.1.2: with a nominated pair for the (one) component, the rest of the
        // checklist goes: waiting and frozen pairs are removed, in-progress checks cancelled
        // (a late response still validates its pair).
        for p in self.pairs.iter_mut().flatten() {
            if matches!(
                p.state,
                PairState::Frozen | PairState::Waiting | PairState::InProgress
            ) && !p.nominate_next
            {
                p.state = PairState::Failed;
                p.triggered = None;
            }
        }
        for t in self.txns.iter_mut().flatten() {
            if let TxnKind::Check { pair, .. } = t.kind
                && Some(pair) != self.selected.and_then(|s| s.pair)
            {
                t.cancelled = true;
                t.schedule.cancel(now);
            }
        }
    }

    /// Consent freshness (RFC 7675) on the selected pair: a new request every 4-6 s, and
    /// sending stops once no response came for `consent_timeout`.
    pub(super) fn refresh_consent(&mut self, now: Instant) {
        if let Some(sel) = self.selected
            && !self.config.lite
            && !self.consent_expired
        {
            if now.saturating_duration_since(sel.last_consent) >= self.config.consent_timeout {
                debug!("ice: consent expired");
                self.consent_expired = true;
                self.txns.iter_mut().for_each(|t| {
                    if t.is_some_and(|t| matches!(t.kind, TxnKind::Consent { .. })) {
                        *t = None;
                    }
                });
            } else if now >= sel.next_consent {
                let jitter = self.consent_jitter();
                if let Some(s) = self.selected.as_mut() {
                    s.next_consent = now + jitter;
                }
                // A new consent request supersedes the previous one's retransmissions.
                for t in self.txns.iter_mut().flatten() {
                    if matches!(t.kind, TxnKind::Consent { .. }) {
                        t.cancelled = true;
                        t.schedule.cancel(now);
                    }
                }
                let prflx = priority(
                    CandidateType::PeerReflexive,
                    ((sel.local.priority >> 8) & 0xffff) as u16,
                    1,
                );
                self.start_txn(
                    now,
                    TxnKind::Consent { old: sel.old },
                    sel.base,
                    sel.remote.address,
                    prflx,
                );
                self.stats.consent_checks += 1;
                self.count_consent_request(sel.pair);
            }
        }
    }

    /// RFC 7675 §5.1: a random interval in [0.8, 1.2] x the consent interval.
    pub(super) fn consent_jitter(&mut self) -> Duration {
        let base = self.config.consent_interval;
        let spread = u64::try_from((base * 2 / 5).as_micros()).unwrap_or(0);
        base * 4 / 5 + Duration::from_micros(self.rng.below(spread.max(1)))
    }
}
