//! What the agent writes: STUN requests rebuilt from their transaction on every send,
//! responses to the peer's checks, and the queued events.
//!
//! ```text
//!  Txn { kind, tid, addresses } --emit_request--> Binding request (gather: FINGERPRINT only;
//!      check/consent: USERNAME PRIORITY ICE-CONTROLL(ING|ED) [USE-CANDIDATE] MI(their pwd) FP)
//!  PendingResponse --emit_response--> Success XOR-MAPPED | 487 | 420 UNKNOWN-ATTRIBUTES,
//!      MI(our pwd) FP, never USERNAME
//! ```

use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) enum ResponseKind {
    Success,
    RoleConflict,
    UnknownAttributes { types: [AttrType; 4], count: usize },
}

#[derive(Clone, Copy, Debug)]
pub(super) struct PendingResponse {
    pub(super) tid: TransactionId,
    pub(super) source: SocketAddr,
    pub(super) destination: SocketAddr,
    pub(super) kind: ResponseKind,
    pub(super) old: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum PendingEvent {
    LocalCandidate(usize, SocketAddr),
    GatheringComplete,
    State(IceState),
    Selected,
    Cleared,
    Role(Role),
    /// The local candidate's index (its base is the socket) and the server's index in
    /// `Config::stun_servers`: indices keep the event queue's entries as small as before.
    ServerUnreachable(usize, usize),
    /// A TURN allocation failed (its index): `icecandidateerror`.
    CandidateError(usize),
}

/// USERNAME for a request from us to them: `theirs:ours`.
pub(super) fn username(buf: &mut [u8; 65], theirs: &Credentials, ours: &Credentials) -> usize {
    let mut w = peerless_base::Writer::new(buf);
    w.bytes(theirs.ufrag.as_str().as_bytes());
    w.u8(b':');
    w.bytes(ours.ufrag.as_str().as_bytes());
    w.finish().unwrap_or(0)
}

/// A too-small buffer is the caller's to fix; the other emit errors (too many attributes, a
/// message over 64 KiB) cannot happen with the few short attributes ICE sends, and would
/// drop the message rather than send a broken one.
pub(super) fn finish(
    r: Result<usize, peerless_stun::EmitError>,
) -> Result<Option<usize>, BufferTooSmall> {
    match r {
        Ok(n) => Ok(Some(n)),
        Err(peerless_stun::EmitError::BufferTooSmall(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    /// Queues a response; `false` if the queue was full (dropped and counted).
    pub(super) fn respond(
        &mut self,
        tid: TransactionId,
        source: SocketAddr,
        destination: SocketAddr,
        kind: ResponseKind,
        old: bool,
    ) -> bool {
        let r = PendingResponse {
            tid,
            source,
            destination,
            kind,
            old,
        };
        if self.responses.push(r).is_ok() {
            self.stats.requests_answered += 1;
            true
        } else {
            self.stats.dropped_full += 1;
            false
        }
    }

    pub(super) fn emit(&mut self, e: PendingEvent) {
        if self.events.push(e).is_err() {
            self.stats.dropped_full += 1;
        }
    }

    pub(super) fn emit_request(
        &self,
        t: &Txn,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let b = Message::builder(Class::Request, Method::BINDING, t.tid);
        let (local, remote, nominate, controlling, pair) = match t.kind {
            TxnKind::Gather { .. } => {
                return finish(b.fingerprint().emit(buf));
            }
            TxnKind::Turn { alloc, request } => {
                return self.emit_turn_request(t, usize::from(alloc), request, buf);
            }
            TxnKind::Check {
                nominate,
                controlling,
                pair,
            } => match self.remote_creds {
                Some(r) => (self.local_creds, r, nominate, controlling, Some(pair)),
                None => return Ok(None),
            },
            TxnKind::Consent { old } => {
                let creds = if old {
                    self.old_creds
                        .or(self.remote_creds.map(|r| (self.local_creds, r)))
                } else {
                    self.remote_creds.map(|r| (self.local_creds, r))
                };
                // The controlling agent repeats USE-CANDIDATE on the selected pair's consent
                // checks (as libwebrtc does): when its NAT rebinds, the peer sees the
                // nomination arrive from the new address and can follow it.
                let controlling = self.role == Role::Controlling;
                match creds {
                    Some((l, r)) => (
                        l,
                        r,
                        controlling && !old,
                        controlling,
                        self.selected.and_then(|s| s.pair),
                    ),
                    None => return Ok(None),
                }
            }
        };
        let mut user = [0u8; 65];
        let n = username(&mut user, &remote, &local);
        let user = core::str::from_utf8(user.get(..n).unwrap_or_default()).unwrap_or_default();
        let mut b = b.username(user).priority(t.prflx_priority);
        b = if controlling {
            b.ice_controlling(self.tie_breaker)
        } else {
            b.ice_controlled(self.tie_breaker)
        };
        let value = self.nomination_value(pair).unwrap_or(0).to_be_bytes();
        if nominate {
            b = b.use_candidate();
            if value != [0; 4] {
                b = b.attr(Attribute::Other {
                    typ: super::nomination::NOMINATION,
                    value: &value,
                });
            }
        }
        finish(
            b.integrity_sha1(remote.pwd.as_str().as_bytes())
                .fingerprint()
                .emit(buf),
        )
    }

    pub(super) fn emit_response(
        &self,
        r: &PendingResponse,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let local = if r.old {
            self.old_creds.map_or(self.local_creds, |(l, _)| l)
        } else {
            self.local_creds
        };
        let key = local.pwd;
        // USERNAME is never echoed: a response carries only what the peer needs.
        let out = match r.kind {
            ResponseKind::Success => Message::builder(Class::Success, Method::BINDING, r.tid)
                .xor_mapped_address(r.destination)
                .integrity_sha1(key.as_str().as_bytes())
                .fingerprint()
                .emit(buf),
            ResponseKind::RoleConflict => Message::builder(Class::Error, Method::BINDING, r.tid)
                .error_code(ErrorCode::ROLE_CONFLICT, "Role Conflict")
                .integrity_sha1(key.as_str().as_bytes())
                .fingerprint()
                .emit(buf),
            ResponseKind::UnknownAttributes { types, count } => {
                Message::builder(Class::Error, Method::BINDING, r.tid)
                    .error_code(ErrorCode::UNKNOWN_ATTRIBUTE, "Unknown Attribute")
                    .unknown_attributes(types.get(..count).unwrap_or_default())
                    .integrity_sha1(key.as_str().as_bytes())
                    .fingerprint()
                    .emit(buf)
            }
        };
        finish(out)
    }
}
