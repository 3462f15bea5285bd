//! Connectivity checks: the Ta pacer, our requests and their responses, the peer's requests
//! and the triggered checks they cause, role conflicts.
//!
//! ```text
//!  at once: triggered pairs, first check of each Waiting pair (RFC 8445 §6.1.4.2)
//!  every Ta: triggered pair | TURN request | gather job | best Waiting (else Frozen) pair
//!      --start_txn-->
//!      Request USERNAME theirs:ours PRIORITY ICE-CONTROLL(ING|ED) [USE-CANDIDATE] MI FP
//!      <-- Success (MI their pwd, XOR-MAPPED) : pair Succeeded, unfreeze its foundation,
//!                                               unknown mapped address -> local prflx
//!      <-- 487 Role Conflict                  : switch role if unchanged, check again
//!      timeout                                : pair Failed
//!  peer's Request (MI our pwd) --> Success | 487 | 420 ; unknown source -> remote prflx;
//!      pair Waiting/Frozen/Failed/InProgress -> triggered check; USE-CANDIDATE -> nominated
//! ```

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TxnKind {
    Check {
        pair: usize,
        nominate: bool,
        controlling: bool,
    },
    Gather {
        local: usize,
    },
    Consent {
        old: bool,
    },
    /// A TURN request (RFC 8656) on allocation `alloc` (indices as `u8`: the transaction
    /// table stays as small as before TURN).
    Turn {
        alloc: u8,
        request: super::turn::TurnRequest,
    },
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Txn {
    pub(super) tid: TransactionId,
    pub(super) kind: TxnKind,
    pub(super) source: SocketAddr,
    pub(super) destination: SocketAddr,
    pub(super) schedule: Retransmit,
    pub(super) due: bool,
    /// Superseded: no retransmissions and no failure on timeout, a response still counts.
    pub(super) cancelled: bool,
    /// The PRIORITY the request carries (for a local peer-reflexive candidate).
    pub(super) prflx_priority: u32,
    /// When the request was first sent (round-trip time of unretransmitted requests).
    pub(super) started: Instant,
}

impl TxnKind {
    pub(super) fn check_pair(&self) -> Option<usize> {
        match self {
            TxnKind::Check { pair, .. } => Some(*pair),
            _ => None,
        }
    }
}

/// The value of the first attribute of type `t`, by walking the TLVs without checking more.
pub(super) fn find_attr(packet: &[u8], t: AttrType) -> Option<&[u8]> {
    let mut r = peerless_base::Reader::new(packet.get(peerless_stun::HEADER_LEN..)?);
    while !r.is_empty() {
        let typ = r.u16().ok()?;
        let len = usize::from(r.u16().ok()?);
        let v = r.take(len).ok()?;
        r.skip((4 - len % 4) % 4).ok()?;
        if typ == t.0 {
            return Some(v);
        }
    }
    None
}

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    pub(super) fn handle_request(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        msg: &Message<'_>,
    ) {
        // RFC 8445 §7.3 / RFC 8489 §9.1.3: USERNAME and MESSAGE-INTEGRITY on every request,
        // failures dropped silently (no 400/401 that would help a prober).
        let Some(user) = msg.username() else {
            self.stats.dropped_unauthenticated += 1;
            return;
        };
        let (ours, theirs) = user.split_once(':').unwrap_or((user, ""));
        let (local, remote, old) = if ours == self.local_creds.ufrag.as_str() {
            (self.local_creds, self.remote_creds, false)
        } else if let Some((l, r)) = self.old_creds.filter(|(l, _)| ours == l.ufrag.as_str()) {
            (l, Some(r), true)
        } else {
            self.stats.dropped_unauthenticated += 1;
            return;
        };
        if remote.is_some_and(|r| r.ufrag.as_str() != theirs)
            || !msg.verify_integrity(local.pwd.as_str().as_bytes())
        {
            self.stats.dropped_unauthenticated += 1;
            return;
        }
        let tid = msg.transaction_id();
        let unknown = msg.unknown_required();
        let mut types = [AttrType(0); 4];
        let mut count = 0;
        for (slot, t) in types.iter_mut().zip(unknown) {
            *slot = t;
            count += 1;
        }
        if count > 0 {
            self.respond(
                tid,
                to,
                from,
                ResponseKind::UnknownAttributes { types, count },
                old,
            );
            return;
        }
        let Some(local_idx) = self.locals.iter().position(|l| {
            l.is_some_and(|l| {
                l.base == to
                    && match l.cand.kind {
                        // iceTransportPolicy "relay": the host socket answers no checks.
                        CandidateType::Host => !self.config.relay_only,
                        CandidateType::Relayed => true,
                        _ => false,
                    }
            })
        }) else {
            self.stats.dropped_unknown_local += 1;
            return;
        };
        if old {
            // The old pair's consent: answer, nothing else.
            self.respond(tid, to, from, ResponseKind::Success, true);
            return;
        }
        // RFC 8445 §7.3.1.1: role conflicts.
        match (self.role, msg.ice_controlling(), msg.ice_controlled()) {
            (Role::Controlling, Some(theirs), _) => {
                self.stats.role_conflicts += 1;
                if self.tie_breaker >= theirs {
                    self.respond(tid, to, from, ResponseKind::RoleConflict, false);
                    return;
                }
                self.switch_role(Role::Controlled);
            }
            (Role::Controlled, _, Some(theirs)) => {
                self.stats.role_conflicts += 1;
                // A lite agent is always controlled (RFC 8445 §6.1.1): the full peer must
                // take the controlling role, whatever the tie-breakers say.
                if self.tie_breaker >= theirs && !self.config.lite {
                    self.switch_role(Role::Controlling);
                } else {
                    self.respond(tid, to, from, ResponseKind::RoleConflict, false);
                    return;
                }
            }
            _ => {}
        }
        let answered = self.respond(tid, to, from, ResponseKind::Success, false);

        // RFC 8445 §7.3.1.3: a source we do not know is a peer-reflexive candidate. Over TCP:
        // the peer's active candidate, at the port it connected from (its UDP candidate may
        // have the same address and port, yet is another candidate).
        let (transport, tcp_type) = self.prflx_transport(local_idx);
        let remote_idx = match self
            .remotes
            .iter()
            .position(|r| r.is_some_and(|r| r.address == from && r.transport == transport))
        {
            Some(i) => i,
            None => {
                let prio = msg
                    .priority()
                    .unwrap_or_else(|| priority(CandidateType::PeerReflexive, 65535, 1));
                let cand = Candidate {
                    foundation: decimal(self.rng.u32()),
                    component: 1,
                    transport,
                    priority: prio,
                    address: from,
                    kind: CandidateType::PeerReflexive,
                    related: None,
                    tcp_type,
                    generation: None,
                    ufrag: None,
                    network_id: None,
                    network_cost: None,
                };
                debug!("ice: peer-reflexive remote candidate, port {}", from.port());
                let Ok(i) = self.insert_remote(cand) else {
                    return;
                };
                i
            }
        };
        let Some(pair_idx) = self.find_or_add_pair(local_idx, remote_idx) else {
            return;
        };
        let use_candidate = self.nomination_in(msg, pair_idx);
        let Some(pair) = self.pairs.get_mut(pair_idx).and_then(|p| p.as_mut()) else {
            return;
        };
        pair.counters.request_received(answered);
        if self.config.lite {
            // A lite agent's pairs are valid as soon as a check arrives (RFC 8445 §7.3.1.5 note).
            pair.state = PairState::Succeeded;
            if use_candidate {
                pair.nominated = true;
            }
            self.update_selection(now);
            return;
        }
        // RFC 8445 §7.3.1.4: triggered checks.
        match pair.state {
            PairState::Succeeded => {
                if use_candidate {
                    pair.nominated = true;
                }
            }
            PairState::InProgress => {
                if use_candidate {
                    pair.nominate_on_success = true;
                }
                let seq = self.next_trigger();
                if let Some(p) = self.pairs.get_mut(pair_idx).and_then(|p| p.as_mut()) {
                    p.state = PairState::Waiting;
                    p.triggered = Some(seq);
                }
                for t in self.txns.iter_mut().flatten() {
                    if t.kind.check_pair() == Some(pair_idx) {
                        t.cancelled = true;
                        t.schedule.cancel(now);
                    }
                }
            }
            PairState::Frozen | PairState::Waiting | PairState::Failed => {
                if use_candidate {
                    pair.nominate_on_success = true;
                }
                let seq = self.next_trigger();
                if let Some(p) = self.pairs.get_mut(pair_idx).and_then(|p| p.as_mut()) {
                    p.state = PairState::Waiting;
                    p.triggered = Some(seq);
                }
            }
        }
        self.update_selection(now);
    }

    pub(super) fn next_trigger(&mut self) -> u32 {
        self.trigger_seq = self.trigger_seq.wrapping_add(1);
        self.trigger_seq
    }

    pub(super) fn handle_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        msg: &Message<'_>,
    ) {
        let tid = msg.transaction_id();
        let Some(ti) = self.txns.iter().position(|t| {
            t.is_some_and(|t| t.tid == tid && t.destination == from && t.source == to)
        }) else {
            self.stats.dropped_unmatched += 1;
            return;
        };
        let Some(txn) = self.txns.get(ti).copied().flatten() else {
            return;
        };
        // Checks and consent are authenticated with the peer's password; gathering responses
        // from a STUN server are not.
        let pwd = match txn.kind {
            TxnKind::Gather { .. } | TxnKind::Turn { .. } => None,
            TxnKind::Consent { old: true } => match self.old_creds {
                Some((_, r)) => Some(r.pwd),
                None => self.remote_creds.map(|r| r.pwd),
            },
            TxnKind::Check { .. } | TxnKind::Consent { old: false } => {
                self.remote_creds.map(|r| r.pwd)
            }
        };
        if let Some(pwd) = pwd
            && !msg.verify_integrity(pwd.as_str().as_bytes())
        {
            self.stats.dropped_unauthenticated += 1;
            return;
        }
        if let Some(slot) = self.txns.get_mut(ti) {
            *slot = None;
        }
        let failed = msg.unknown_required().next().is_some();
        let error = msg.class() == Class::Error || failed;
        match txn.kind {
            TxnKind::Gather { local } => {
                if let (false, Some(mapped)) = (
                    error,
                    msg.xor_mapped_address().or_else(|| msg.mapped_address()),
                ) {
                    self.add_srflx(local, txn.source, mapped, from);
                }
                self.check_gathering_done();
            }
            // Routed to `handle_turn_response` by method before this.
            TxnKind::Turn { .. } => {}
            TxnKind::Consent { .. } => {
                if !error {
                    self.count_response(now, self.selected.and_then(|s| s.pair), &txn);
                }
                if !error && let Some(sel) = self.selected.as_mut() {
                    sel.last_consent = now;
                    sel.rechecked = false;
                    // Karn: a retransmitted request's response says nothing about the RTT.
                    if txn.schedule.sends() == 1 {
                        self.rtt = Some(now.saturating_duration_since(txn.started));
                    }
                }
            }
            TxnKind::Check {
                pair,
                nominate,
                controlling,
            } => {
                if error {
                    let code = msg.error_code().map(|e| e.code);
                    if code == Some(ErrorCode::ROLE_CONFLICT) {
                        self.stats.role_conflicts += 1;
                        // RFC 8445 §7.2.5.1: switch only if our role is still the one we sent.
                        let sent = if controlling {
                            Role::Controlling
                        } else {
                            Role::Controlled
                        };
                        if self.role == sent {
                            self.switch_role(if controlling {
                                Role::Controlled
                            } else {
                                Role::Controlling
                            });
                        }
                        let seq = self.next_trigger();
                        if let Some(p) = self.pairs.get_mut(pair).and_then(|p| p.as_mut()) {
                            p.state = PairState::Waiting;
                            p.triggered = Some(seq);
                        }
                    } else {
                        self.fail_pair(pair);
                    }
                    return;
                }
                self.count_response(now, Some(pair), &txn);
                if let Some(mapped) = msg.xor_mapped_address() {
                    self.learn_local_prflx(txn.source, mapped, txn.prflx_priority);
                }
                // Checks stop once a pair is selected (the list is pruned), so the last
                // answered check is the selected pair's until consent takes over.
                if txn.schedule.sends() == 1 {
                    self.rtt = Some(now.saturating_duration_since(txn.started));
                }
                self.pair_succeeded(now, pair, nominate);
            }
        }
    }

    pub(super) fn pair_succeeded(&mut self, now: Instant, idx: usize, nominate: bool) {
        let Some(p) = self.pairs.get_mut(idx).and_then(|p| p.as_mut()) else {
            return;
        };
        p.state = PairState::Succeeded;
        // A nomination still waiting for its slot must go out even though an earlier check
        // of the pair has just succeeded.
        if nominate || !p.nominate_next {
            p.triggered = None;
        }
        p.last_success = now;
        if (nominate && self.role == Role::Controlling)
            || (p.nominate_on_success && self.role == Role::Controlled)
        {
            p.nominated = true;
        }
        if nominate {
            p.nominate_next = false;
        }
        // RFC 8445 §7.2.5.3.3: unfreeze pairs of the same foundation.
        let found = self.pair_foundation(idx);
        for j in 0..PAIRS {
            if j != idx
                && self
                    .pairs
                    .get(j)
                    .copied()
                    .flatten()
                    .is_some_and(|q| q.state == PairState::Frozen)
                && self.pair_foundation(j) == found
                && let Some(q) = self.pairs.get_mut(j).and_then(|q| q.as_mut())
            {
                q.state = PairState::Waiting;
            }
        }
        if self.role == Role::Controlling && self.nominate_at.is_none() {
            self.nominate_at = Some(now + self.config.nomination_delay);
        }
        self.update_selection(now);
        self.maybe_nominate(now);
        // A pair answering while the selected one is silent: renominate without waiting for
        // the next timeout.
        self.maybe_renominate(now);
    }

    pub(super) fn switch_role(&mut self, role: Role) {
        if self.role == role || (self.config.lite && role == Role::Controlling) {
            return;
        }
        debug!("ice: role conflict, now {:?}", role);
        self.role = role;
        self.nominate_at = None;
        self.reprioritise();
        self.emit(PendingEvent::Role(role));
    }

    /// The checks that owe nothing to the pacer (RFC 8445 §6.1.4.2 lets an agent start the
    /// first check at once): every queued triggered check (the peer is waiting on it, and a
    /// nomination rides on one), and the first check of every Waiting pair never checked.
    /// Later checks of a pair, unfrozen pairs and gathering keep to one per Ta; whatever goes
    /// out here pushes the next paced slot a Ta away.
    pub(super) fn start_unpaced(&mut self, now: Instant) {
        if self.config.lite || self.remote_creds.is_none() {
            return;
        }
        let mut started = false;
        while let Some(i) = self.next_triggered() {
            if !self.start_check(now, i) {
                // Its candidates are gone: the pair cannot be checked, so it is dropped from
                // the queue rather than tried forever.
                if let Some(p) = self.pairs.get_mut(i).and_then(|p| p.as_mut()) {
                    p.triggered = None;
                }
                continue;
            }
            started = true;
        }
        // A burst larger than the transaction table would evict its own checks before they
        // went out: what does not fit waits for the pacer.
        while self.txn_slot_free()
            && let Some(i) = self.next_first_check()
        {
            if !self.start_check(now, i) {
                if let Some(p) = self.pairs.get_mut(i).and_then(|p| p.as_mut()) {
                    p.state = PairState::Failed;
                }
                continue;
            }
            started = true;
        }
        if started {
            self.next_pace = self.next_pace.max(now + self.config.ta);
        }
    }

    /// The best Waiting pair that has never been checked.
    pub(super) fn next_first_check(&self) -> Option<usize> {
        self.remote_creds?;
        if self.role == Role::Controlling && self.selected.is_some_and(|s| !s.old) {
            return None;
        }
        self.best_pair(|_, p| p.state == PairState::Waiting && p.counters.requests_sent == 0)
            .map(|(i, _)| i)
    }

    /// Whether [`Self::start_unpaced`] has work now.
    pub(super) fn unpaced_work(&self) -> bool {
        !self.config.lite
            && (self.next_triggered().is_some()
                || (self.txn_slot_free() && self.next_first_check().is_some()))
    }

    fn txn_slot_free(&self) -> bool {
        self.txns.iter().any(Option::is_none)
    }

    /// One Ta slot: a triggered check, else a TURN request, else a gathering request, else an
    /// ordinary check.
    pub(super) fn pace(&mut self, now: Instant) {
        if self.config.lite {
            return;
        }
        let started = if let Some(i) = self.next_triggered() {
            self.start_check(now, i)
        } else if let Some((alloc, request)) = self.next_turn_request() {
            self.send_turn(now, alloc, request);
            true
        } else if let Some((local, server)) = self.gather_queue.pop() {
            match self.locals.get(local).copied().flatten() {
                Some(l) => {
                    self.start_txn(now, TxnKind::Gather { local }, l.base, server, 0);
                    true
                }
                None => false,
            }
        } else if let Some(i) = self.next_ordinary() {
            self.start_check(now, i)
        } else {
            false
        };
        if started {
            self.next_pace = now + self.config.ta;
        }
    }

    pub(super) fn next_triggered(&self) -> Option<usize> {
        self.remote_creds?;
        self.pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.and_then(|p| p.triggered.map(|s| (i, s))))
            .min_by_key(|(_, s)| *s)
            .map(|(i, _)| i)
    }

    pub(super) fn next_ordinary(&mut self) -> Option<usize> {
        self.remote_creds?;
        if self.role == Role::Controlling && self.selected.is_some_and(|s| !s.old) {
            return None;
        }
        let best = |state: PairState| self.best_pair(|_, p| p.state == state).map(|(i, _)| i);
        // RFC 8445 §6.1.4.2: with nothing waiting, unfreeze the best frozen pair.
        best(PairState::Waiting).or_else(|| best(PairState::Frozen))
    }

    pub(super) fn start_check(&mut self, now: Instant, idx: usize) -> bool {
        let Some(p) = self.pairs.get(idx).copied().flatten() else {
            return false;
        };
        let (Some(l), Some(r)) = (
            self.locals.get(p.local).copied().flatten(),
            self.remotes.get(p.remote).copied().flatten(),
        ) else {
            return false;
        };
        let nominate = p.nominate_next && self.role == Role::Controlling;
        if let Some(q) = self.pairs.get_mut(idx).and_then(|q| q.as_mut()) {
            q.state = PairState::InProgress;
            q.triggered = None;
            q.counters.requests_sent = q.counters.requests_sent.saturating_add(1);
        }
        let prflx = priority(
            CandidateType::PeerReflexive,
            ((l.cand.priority >> 8) & 0xffff) as u16,
            1,
        );
        let kind = TxnKind::Check {
            pair: idx,
            nominate,
            controlling: self.role == Role::Controlling,
        };
        self.start_txn(now, kind, l.base, r.address, prflx);
        self.stats.checks_sent += 1;
        true
    }

    pub(super) fn start_txn(
        &mut self,
        now: Instant,
        kind: TxnKind,
        source: SocketAddr,
        destination: SocketAddr,
        prio: u32,
    ) {
        let mut tid = [0u8; 12];
        self.rng.fill(&mut tid);
        let mut config = match kind {
            TxnKind::Gather { .. } => self.config.retransmit,
            TxnKind::Turn { alloc, .. } => self.turn_retransmit(usize::from(alloc)),
            TxnKind::Check { .. } | TxnKind::Consent { .. } => self.check_retransmit(source),
        };
        if matches!(kind, TxnKind::Check { .. }) {
            // RFC 8445 §14.3: RTO = max(500 ms, Ta x active pairs).
            let active = self
                .pairs
                .iter()
                .flatten()
                .filter(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
                .count();
            config.rto = config
                .rto
                .max(self.config.ta * u32::try_from(active).unwrap_or(u32::MAX));
        }
        let mut schedule = Retransmit::new(now, config);
        schedule.step(now);
        let txn = Txn {
            tid: TransactionId(tid),
            kind,
            source,
            destination,
            schedule,
            due: true,
            cancelled: false,
            prflx_priority: prio,
            started: now,
        };
        if let Some(free) = self.txns.iter_mut().find(|t| t.is_none()) {
            *free = Some(txn);
            return;
        }
        // Full: the oldest cancelled transaction goes, else the one closest to giving up.
        let victim = self
            .txns
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .min_by_key(|(_, t)| (!t.cancelled, core::cmp::Reverse(t.schedule.sends())))
            .map(|(i, _)| i);
        if let Some(slot) = victim.and_then(|v| self.txns.get_mut(v)) {
            if let Some(TxnKind::Check { pair, .. }) = slot.map(|t| t.kind) {
                // Its pair will be checked again rather than left in progress forever.
                if let Some(p) = self.pairs.get_mut(pair).and_then(|p| p.as_mut())
                    && p.state == PairState::InProgress
                {
                    p.state = PairState::Waiting;
                }
            }
            *slot = Some(txn);
            self.stats.evicted += 1;
        }
    }
}
