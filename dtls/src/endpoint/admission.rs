//! What the endpoint admits before it can authenticate anything: the server's stateless
//! HelloVerifyRequest cookie (RFC 6347 §4.2.1) and its secret's rotation; which handshake
//! fragments may take a reassembly slot at each step; and what handshake records after the
//! handshake may do (a retransmitted Finished, a renegotiation we decline).

use peerless_base::ct_eq;
use zeroize::Zeroize;

use super::{Core, Role, State};
use crate::wire::{
    ALERT_WARNING, AlertDescription, ClientHello, ExtensionType, HandshakeFragment, HandshakeType,
};

use peerless_crypto::HmacSha256;

impl Core {
    /// The HelloVerifyRequest cookie for `ch` under `secret`: HMAC-SHA-256 over every
    /// ClientHello field but the cookie (RFC 6347 §4.2.1 "Cookie = HMAC(Secret, Client-IP,
    /// Client-Parameters)"), truncated to 20 bytes. A cookie therefore admits only the
    /// ClientHello that earned it. The endpoint does not see addresses (the host demultiplexes
    /// by path), so the address is bound by the host owning one endpoint per path.
    ///
    /// The padding extension (RFC 7685) is left out: a client sizes it from the whole hello,
    /// cookie included, so it may change between the two ClientHellos.
    pub(super) fn cookie_for(ch: &ClientHello<'_>, secret: &[u8; 32]) -> [u8; 20] {
        let mut out = [0u8; 20];
        let mut mac = HmacSha256::new(secret);
        mac.update(&ch.version().0.to_be_bytes());
        mac.update(ch.random());
        mac.update(&[ch.session_id().len() as u8]);
        mac.update(ch.session_id());
        mac.update(&(ch.cipher_suites().count() as u16).to_be_bytes());
        for suite in ch.cipher_suites() {
            mac.update(&suite.0.to_be_bytes());
        }
        mac.update(&[ch.compression_methods().len() as u8]);
        mac.update(ch.compression_methods());
        for (ty, body) in ch.extensions() {
            if ty != ExtensionType::PADDING {
                mac.update(&ty.0.to_be_bytes());
                mac.update(&(body.len() as u16).to_be_bytes());
                mac.update(body);
            }
        }
        // The cookie is the HMAC truncated to its first 20 bytes.
        for (o, b) in out.iter_mut().zip(mac.finalize()) {
            *o = b;
        }
        out
    }

    /// Whether `ch` carries a cookie we made, with the current secret or the one before.
    pub(super) fn cookie_valid(&self, ch: &ClientHello<'_>) -> bool {
        let mut current = Self::cookie_for(ch, &self.cookie_secret);
        let mut ok = ct_eq(ch.cookie(), &current);
        if let Some(previous) = &self.previous_cookie_secret {
            let mut old = Self::cookie_for(ch, previous);
            ok |= ct_eq(ch.cookie(), &old);
            old.zeroize();
        }
        current.zeroize();
        ok
    }

    /// A fresh cookie secret; the current one stays valid until the next rotation, so a
    /// client between its two ClientHellos is not turned away.
    pub(super) fn rotate_cookie_secret(&mut self) {
        let mut next = [0u8; 32];
        self.rng.fill(&mut next);
        if let Some(old) = &mut self.previous_cookie_secret {
            old.zeroize();
        }
        self.previous_cookie_secret = Some(self.cookie_secret);
        self.cookie_secret = next;
        next.zeroize();
    }

    /// Whether the peer may send a message of type `ty` in `epoch`, `ahead` messages after the
    /// one we wait for. A fragment that fails this would otherwise open the reassembly slot
    /// of the message that belongs there and keep the real one out.
    pub(super) fn may_come(&self, ahead: u16, ty: HandshakeType, epoch: u16) -> bool {
        // Finished is the only handshake message protected by the new epoch.
        if (epoch == 1) != (ty == HandshakeType::FINISHED) {
            return false;
        }
        let expected: &[HandshakeType] = if ahead == 0 {
            match self.state {
                State::AwaitServerHello => &[
                    HandshakeType::SERVER_HELLO,
                    HandshakeType::HELLO_VERIFY_REQUEST,
                ],
                State::AwaitServerCertificate | State::AwaitClientCertificate => {
                    &[HandshakeType::CERTIFICATE]
                }
                State::AwaitServerKeyExchange => &[HandshakeType::SERVER_KEY_EXCHANGE],
                State::AwaitServerHelloDone => &[
                    HandshakeType::CERTIFICATE_REQUEST,
                    HandshakeType::SERVER_HELLO_DONE,
                ],
                State::AwaitServerFinished | State::AwaitClientFinished => {
                    &[HandshakeType::FINISHED]
                }
                State::AwaitClientHello => &[HandshakeType::CLIENT_HELLO],
                State::AwaitClientKeyExchange => &[HandshakeType::CLIENT_KEY_EXCHANGE],
                State::AwaitCertificateVerify => &[HandshakeType::CERTIFICATE_VERIFY],
                State::SendClientHello | State::Connected | State::Closed => &[],
            }
        } else {
            match self.role {
                Role::Client => &[
                    HandshakeType::CERTIFICATE,
                    HandshakeType::SERVER_KEY_EXCHANGE,
                    HandshakeType::CERTIFICATE_REQUEST,
                    HandshakeType::SERVER_HELLO_DONE,
                    HandshakeType::FINISHED,
                ],
                Role::Server => &[
                    HandshakeType::CERTIFICATE,
                    HandshakeType::CLIENT_KEY_EXCHANGE,
                    HandshakeType::CERTIFICATE_VERIFY,
                    HandshakeType::FINISHED,
                ],
            }
        };
        expected.contains(&ty)
    }

    /// Handshake records after the handshake: the peer's last flight again (ours was lost),
    /// or a renegotiation, which we decline.
    pub(super) fn handshake_after_completion(&mut self, mut payload: &[u8], epoch: u16) {
        while !payload.is_empty() {
            let Ok(frag) = HandshakeFragment::parse(payload) else {
                self.stats.dropped_fragments += 1;
                return;
            };
            payload = payload.get(frag.wire_len()..).unwrap_or_default();
            let renegotiation = match self.role {
                Role::Server => frag.msg_type() == HandshakeType::CLIENT_HELLO,
                Role::Client => frag.msg_type() == HandshakeType::HELLO_REQUEST,
            };
            if renegotiation && epoch == 1 {
                // RFC 5246 §7.2.2 / §7.4.1.1: a peer that does not renegotiate answers with a
                // no_renegotiation warning and carries on (what Pion and BoringSSL send). An
                // epoch-0 one is unauthenticated and not a renegotiation: dropped below.
                self.pending_alert
                    .get_or_insert((ALERT_WARNING, AlertDescription::NO_RENEGOTIATION));
                self.stats.renegotiations_refused += 1;
            } else if !renegotiation && frag.message_seq() < self.recv_msg_seq {
                // The peer's last flight again: our answer to it was lost. Only its Finished
                // counts: it is authenticated and, with its fresh record number, passed the
                // replay window, so each time is one real retransmission by the peer. Its
                // plaintext companions (epoch 0) would let anyone make us send.
                if epoch == 1 && frag.msg_type() == HandshakeType::FINISHED {
                    self.peer_retransmitted = true;
                }
            } else {
                self.stats.dropped_fragments += 1;
            }
        }
    }
}
