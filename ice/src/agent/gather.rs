//! Server-reflexive gathering: a Binding request from each host socket to each STUN server.
//!
//! ```text
//!  add_local_candidate(host) -> gather_queue (host, server) --Ta slot--> Binding request
//!      <-- Success XOR-MAPPED-ADDRESS (new address) -> srflx candidate -> LocalCandidate
//!  queue empty and no request in flight -> GatheringComplete
//! ```

use super::*;

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    pub(super) fn add_srflx(
        &mut self,
        local: usize,
        base: SocketAddr,
        mapped: SocketAddr,
        server: SocketAddr,
    ) {
        if mapped == base
            || self.config.relay_only
            || self
                .locals
                .iter()
                .flatten()
                .any(|l| l.cand.address == mapped)
        {
            return;
        }
        let pref = self
            .locals
            .get(local)
            .copied()
            .flatten()
            .map_or(65535, |l| ((l.cand.priority >> 8) & 0xffff) as u16);
        let cand = self.make_local(
            CandidateType::ServerReflexive,
            mapped,
            base,
            pref,
            Some(server),
        );
        if let Ok(i) = self.insert_local(Local { cand, base }) {
            debug!("ice: server-reflexive candidate, port {}", mapped.port());
            self.emit(PendingEvent::LocalCandidate(i, mapped));
        }
    }

    pub(super) fn check_gathering_done(&mut self) {
        let pending = self.allocating()
            || !self.gather_queue.is_empty()
            || self
                .txns
                .iter()
                .flatten()
                .any(|t| matches!(t.kind, TxnKind::Gather { .. }));
        if !pending && !self.gathering_reported && self.locals.iter().any(Option::is_some) {
            self.gathering_reported = true;
            self.emit(PendingEvent::GatheringComplete);
        }
    }
}
