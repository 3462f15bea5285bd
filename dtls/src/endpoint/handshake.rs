//! The handshake steps of the DTLS 1.2 endpoint, both roles (RFC 6347 §4.2,
//! RFC 5246 §7.3) with the WebRTC profile (mutual certificate authentication, use_srtp, EMS).
//! Our certificate is always ECDSA P-256; the peer's may also be RSA (feature `rsa`): as a
//! client we then accept an ECDHE_RSA suite and an RSA-signed ServerKeyExchange, as a server
//! an RSA client certificate and its RSA CertificateVerify.
//!
//! ```text
//!   Client                                              Server
//!   ------                                              ------
//!   SendClientHello
//!   ClientHello (flight 1) ----------------------------> AwaitClientHello
//!                          <---------------------------- HelloVerifyRequest (flight 2, only with cookies)
//!   ClientHello + cookie (flight 3) ------------------->
//!   AwaitServerHello       <---------------------------- ServerHello         (flight 4)
//!   AwaitServerCertificate <---------------------------- Certificate
//!   AwaitServerKeyExchange <---------------------------- ServerKeyExchange (ECDHE, ECDSA- or RSA-signed)
//!   AwaitServerHelloDone   <---------------------------- CertificateRequest
//!                          <---------------------------- ServerHelloDone
//!   Certificate (flight 5) ---------------------------> AwaitClientCertificate
//!   ClientKeyExchange      ---------------------------> AwaitClientKeyExchange
//!   CertificateVerify      ---------------------------> AwaitCertificateVerify
//!   [ChangeCipherSpec]     --------------------------->
//!   Finished (epoch 1)     ---------------------------> AwaitClientFinished
//!   AwaitServerFinished    <---------------------------- [ChangeCipherSpec] (flight 6)
//!                          <---------------------------- Finished (epoch 1)
//!   Connected  <======== application data, epoch 1 ========>  Connected
//! ```
//!
//! Flights are retransmitted whole when the timer fires (doubling up to a maximum) or when
//! the peer retransmits its previous flight (RFC 6347 §4.2.4). The server's last flight has
//! no timer: it is sent again when the client's Finished arrives again (at most 8 times).
//!
//! Each `on_*` method handles one message of the peer's flight in protocol order; `send_*`
//! methods build our next flight into the flight buffer (and the transcript).

use peerless_base::{BufferTooSmall, Instant, Writer, ct_eq, debug, trace, warn};
use peerless_crypto::{Sha256, Sha384};
use zeroize::Zeroize;

use super::buffers::{Entry, EntryKind, Flight};
use super::{CloseReason, Core, MAX_SEQ, Role, SealError, SrtpKeyingMaterial, State};
use crate::cert::{Fingerprint, HashAlgorithm, PeerKey, VERIFY_SCHEMES, scheme_hash};
use crate::crypto::{
    self, KeyShare, MAX_PUBLIC_LEN, PrfHash, RecordCipher, Transcript, key_iv_len,
};
use crate::wire::{
    ALERT_FATAL, ALERT_WARNING, Alert, AlertDescription, CertificateRequest, CertificateVerify,
    CipherSuite, ClientHello, ContentType, ExtensionType, HANDSHAKE_HEADER_LEN, HandshakeType,
    HelloVerifyRequest, NamedGroup, ProtocolVersion, RECORD_HEADER_LEN, ServerHello,
    ServerKeyExchange, SignatureScheme, UseSrtp, emit_extension, emit_handshake_header,
    emit_record_header, emit_u16_vector, parse_certificate_list, parse_client_key_exchange,
    parse_u16_vector,
};

/// A handshake step failed: the alert to send.
pub(super) type Step = Result<(), AlertDescription>;

impl Core {
    pub(super) fn advance(&mut self, now: Instant) -> Instant {
        self.now.advance(now)
    }

    /// Ends the connection once: the first reason is the one reported (a second fatal alert
    /// in the same datagram changes nothing).
    pub(super) fn close(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        debug!("dtls: closed in {:?}: {:?}", self.state, reason);
        self.state = State::Closed;
        self.retransmit_at = None;
        self.closed_pending = Some(reason);
    }

    /// Aborts with a fatal alert; `reason` defaults to HandshakeFailed(alert).
    pub(super) fn fail(&mut self, alert: AlertDescription, reason: Option<CloseReason>) {
        if self.state == State::Closed {
            return;
        }
        self.pending_alert = Some((ALERT_FATAL, alert));
        self.close(reason.unwrap_or(CloseReason::HandshakeFailed(alert)));
    }

    pub(super) fn retransmits_on_peer_retransmit(&self) -> bool {
        match self.state {
            // Still waiting for the peer's answer to our flight, or (server) our last flight
            // was lost and the client sends its flight 5 again.
            State::AwaitServerHello
            | State::AwaitServerCertificate
            | State::AwaitServerFinished
            | State::AwaitClientCertificate
            | State::AwaitClientKeyExchange
            | State::AwaitCertificateVerify
            | State::AwaitClientFinished => true,
            State::Connected => self.role == Role::Server,
            _ => false,
        }
    }

    pub(super) fn handle_alert(&mut self, payload: &[u8], epoch: u16) {
        let Ok(alert) = Alert::parse(payload) else {
            self.stats.dropped_unexpected += 1;
            return;
        };
        if epoch == 0 && self.handshake_complete {
            // Unauthenticated alerts cannot end an authenticated connection.
            self.stats.dropped_unexpected += 1;
            return;
        }
        if alert.description == AlertDescription::CLOSE_NOTIFY {
            if self.state != State::Closed {
                self.pending_alert = Some((ALERT_WARNING, AlertDescription::CLOSE_NOTIFY));
                self.close(CloseReason::PeerClosed);
            }
        } else if alert.level == ALERT_FATAL {
            self.close(CloseReason::PeerAlert(alert.description));
        }
    }

    /// Writes a whole record with `payload`, encrypting in epoch 1.
    pub(super) fn seal_record(
        &mut self,
        buf: &mut [u8],
        ctype: ContentType,
        epoch: u16,
        payload: &[u8],
    ) -> Result<usize, SealError> {
        let explicit = if epoch == 1 {
            self.write_cipher
                .as_ref()
                .map_or(0, RecordCipher::explicit_nonce_len)
        } else {
            0
        };
        let at = RECORD_HEADER_LEN + explicit;
        let need = at + payload.len() + if epoch == 1 { crypto::TAG_LEN } else { 0 };
        let dst = buf
            .get_mut(at..at + payload.len())
            .ok_or(BufferTooSmall { needed: need })?;
        dst.copy_from_slice(payload);
        self.seal_in_place(buf, ctype, epoch, payload.len())
    }

    /// Completes a record whose plaintext is already at its place in `buf` (after the header
    /// and explicit nonce): header, then AEAD in epoch 1. Takes the next sequence number.
    pub(super) fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        ctype: ContentType,
        epoch: u16,
        plain_len: usize,
    ) -> Result<usize, SealError> {
        let cipher = if epoch == 1 {
            self.write_cipher.as_ref()
        } else {
            None
        };
        let overhead = cipher.map_or(0, RecordCipher::overhead);
        let frag_len = plain_len + overhead;
        let total = RECORD_HEADER_LEN + frag_len;
        let Some((header, fragment)) = buf
            .get_mut(..total)
            .and_then(<[u8]>::split_first_chunk_mut::<RECORD_HEADER_LEN>)
        else {
            return Err(BufferTooSmall { needed: total }.into());
        };
        let [epoch0_seq, epoch1_seq] = &mut self.write_seq;
        let next_seq = if epoch == 0 { epoch0_seq } else { epoch1_seq };
        let seq = *next_seq;
        if seq > MAX_SEQ {
            return Err(SealError::Exhausted);
        }
        *next_seq = seq + 1;
        let mut w = Writer::new(header);
        emit_record_header(
            &mut w,
            ctype,
            ProtocolVersion::DTLS_1_2,
            epoch,
            seq,
            frag_len,
        );
        if let Some(c) = cipher
            && c.seal(header, fragment).is_err()
        {
            return Err(BufferTooSmall { needed: total }.into());
        }
        Ok(total)
    }

    // -----------------------------------------------------------------------------------------
    // Building flights.

    /// Appends one handshake message (header + body from `body`) to the flight and the
    /// transcript.
    pub(super) fn push_message<const N: usize>(
        &mut self,
        tx: &mut Flight<N>,
        ty: HandshakeType,
        epoch: u16,
        body: impl FnOnce(&mut Self, &mut Writer<'_>),
    ) -> Step {
        let start = tx.len;
        let area = tx
            .buf
            .get_mut(start..)
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        let mut w = Writer::new(area);
        w.fill(0, HANDSHAKE_HEADER_LEN);
        body(self, &mut w);
        let len = w.finish().map_err(|_| AlertDescription::INTERNAL_ERROR)?;
        let body_len = len - HANDSHAKE_HEADER_LEN;
        let message = tx
            .buf
            .get_mut(start..start + len)
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        // The header goes over the zeros left for it at the start of the message.
        emit_handshake_header(
            &mut Writer::new(message),
            ty,
            body_len,
            self.send_msg_seq,
            0,
            body_len,
        );
        self.send_msg_seq = self.send_msg_seq.wrapping_add(1);
        self.transcript.update(message);
        if !tx.push_entry(Entry {
            kind: EntryKind::Handshake,
            epoch,
            start,
            len,
        }) {
            return Err(AlertDescription::INTERNAL_ERROR);
        }
        tx.len = start + len;
        Ok(())
    }

    pub(super) fn new_flight<const N: usize>(&mut self, tx: &mut Flight<N>, expects_reply: bool) {
        tx.clear();
        self.rto = self.config.retransmit_initial;
        self.retransmit_at = expects_reply.then(|| self.now + self.rto);
    }

    /// Flight 1 (no cookie) or 3 (echoing a HelloVerifyRequest's cookie). The cookie is not
    /// kept: the ClientHello in the flight buffer is what a retransmission sends, so a
    /// 255-byte cookie (the field's limit, RFC 6347 §4.2.1) costs no memory of its own.
    pub(super) fn send_client_hello<const N: usize>(
        &mut self,
        tx: &mut Flight<N>,
        cookie: &[u8],
    ) -> Step {
        let cookie_len =
            u8::try_from(cookie.len()).map_err(|_| AlertDescription::ILLEGAL_PARAMETER)?;
        self.new_flight(tx, true);
        self.transcript = Transcript::new();
        self.push_message(tx, HandshakeType::CLIENT_HELLO, 0, |c, w| {
            w.u16(ProtocolVersion::DTLS_1_2.0);
            w.bytes(&c.client_random);
            w.u8(0);
            w.u8(cookie_len);
            w.bytes(cookie);
            emit_u16_vector(w, c.config.cipher_suites.iter().map(|s| s.0));
            w.bytes(&[1, 0]);
            let at = w.position();
            w.u16(0);
            emit_extension(w, ExtensionType::SUPPORTED_GROUPS, |w| {
                // In TLS 1.2 this list also says which curves we can verify ECDSA on (RFC 8422
                // §5.1.1): secp256r1 is always in it, or a server with a P-256 certificate
                // (all of WebRTC) finds no shared suite.
                emit_u16_vector(w, c.offered_groups());
            });
            emit_extension(w, ExtensionType::EC_POINT_FORMATS, |w| w.bytes(&[1, 0]));
            emit_extension(w, ExtensionType::SIGNATURE_ALGORITHMS, |w| {
                // The schemes we can verify: the server signs its ServerKeyExchange with one.
                emit_u16_vector(w, VERIFY_SCHEMES.iter().map(|s| s.0));
            });
            if !c.config.srtp_profiles.is_empty() {
                emit_extension(w, ExtensionType::USE_SRTP, |w| {
                    emit_u16_vector(w, c.config.srtp_profiles.iter().map(|p| p.0));
                    w.u8(0);
                });
            }
            emit_extension(w, ExtensionType::EXTENDED_MASTER_SECRET, |_| {});
            emit_extension(w, ExtensionType::RENEGOTIATION_INFO, |w| w.u8(0));
            let len = w.position() - at - 2;
            w.patch_u16(at, len as u16);
        })
    }

    /// The groups a ClientHello offers: the configured ones, then secp256r1 if missing.
    pub(super) fn offered_groups(&self) -> impl Iterator<Item = u16> + Clone + '_ {
        let extra = (!self.config.groups.contains(&NamedGroup::SECP256R1))
            .then_some(NamedGroup::SECP256R1.0);
        self.config.groups.iter().map(|g| g.0).chain(extra)
    }

    // -----------------------------------------------------------------------------------------
    // Receiving handshake messages, in order.

    pub(super) fn handle_message<const N: usize>(
        &mut self,
        ty: HandshakeType,
        seq: u16,
        body: &[u8],
        epoch: u16,
        tx: &mut Flight<N>,
    ) {
        // Finished is the only message protected by the new epoch.
        let want_epoch = u16::from(ty == HandshakeType::FINISHED);
        let result = if epoch != want_epoch {
            Err(AlertDescription::UNEXPECTED_MESSAGE)
        } else {
            let mut header = [0u8; HANDSHAKE_HEADER_LEN];
            let mut hw = Writer::new(&mut header);
            emit_handshake_header(&mut hw, ty, body.len(), seq, 0, body.len());
            self.dispatch(ty, &header, body, tx)
        };
        trace!("dtls: {:?} handled {:?} (seq {})", self.role, ty, seq);
        if let Err(alert) = result {
            warn!("dtls: handshake failed on {:?}: {:?}", ty, alert);
            self.fail(alert, None);
        }
    }

    pub(super) fn dispatch<const N: usize>(
        &mut self,
        ty: HandshakeType,
        header: &[u8; HANDSHAKE_HEADER_LEN],
        body: &[u8],
        tx: &mut Flight<N>,
    ) -> Step {
        let unexpected = Err(AlertDescription::UNEXPECTED_MESSAGE);
        // Messages whose processing signs or verifies the transcript before them see it
        // without themselves.
        let before = self.transcript.clone();
        if ty != HandshakeType::HELLO_VERIFY_REQUEST && ty != HandshakeType::CLIENT_HELLO {
            self.transcript.update(header);
            self.transcript.update(body);
        }
        match (self.state, ty) {
            (State::AwaitServerHello, HandshakeType::HELLO_VERIFY_REQUEST) => {
                self.on_hello_verify_request(body, tx)
            }
            (State::AwaitServerHello, HandshakeType::SERVER_HELLO) => self.on_server_hello(body),
            (State::AwaitServerCertificate, HandshakeType::CERTIFICATE) => {
                self.on_certificate(body)?;
                self.state = State::AwaitServerKeyExchange;
                Ok(())
            }
            (State::AwaitServerKeyExchange, HandshakeType::SERVER_KEY_EXCHANGE) => {
                self.on_server_key_exchange(body)
            }
            (State::AwaitServerHelloDone, HandshakeType::CERTIFICATE_REQUEST)
                if !self.cert_requested =>
            {
                let cr =
                    CertificateRequest::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
                if !cr.certificate_types.contains(&64)
                    || !cr
                        .schemes()
                        .any(|s| s == SignatureScheme::ECDSA_SECP256R1_SHA256)
                {
                    return Err(AlertDescription::HANDSHAKE_FAILURE);
                }
                self.cert_requested = true;
                Ok(())
            }
            (State::AwaitServerHelloDone, HandshakeType::SERVER_HELLO_DONE) => {
                if !body.is_empty() {
                    return Err(AlertDescription::DECODE_ERROR);
                }
                self.send_client_flight(tx)
            }
            (State::AwaitServerFinished, HandshakeType::FINISHED) => {
                self.verify_finished(&before, body, b"server finished")?;
                self.handshake_complete = true;
                self.retransmit_at = None;
                self.state = State::Connected;
                self.maybe_connected();
                Ok(())
            }
            (State::AwaitClientHello, HandshakeType::CLIENT_HELLO) => {
                self.on_client_hello(header, body, tx)
            }
            (State::AwaitClientCertificate, HandshakeType::CERTIFICATE) => {
                self.on_certificate(body)?;
                self.state = State::AwaitClientKeyExchange;
                Ok(())
            }
            (State::AwaitClientKeyExchange, HandshakeType::CLIENT_KEY_EXCHANGE) => {
                let public =
                    parse_client_key_exchange(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
                self.agree(public)?;
                self.derive_keys()?;
                self.state = State::AwaitCertificateVerify;
                Ok(())
            }
            (State::AwaitCertificateVerify, HandshakeType::CERTIFICATE_VERIFY) => {
                let cv =
                    CertificateVerify::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
                let key = self
                    .peer_key
                    .as_ref()
                    .ok_or(AlertDescription::INTERNAL_ERROR)?;
                // The client signs the transcript hashed with its scheme's hash (RFC 5246
                // §7.4.8), whatever the suite's PRF hash is; the transcript keeps both.
                let mut digest = [0u8; 48];
                let digest = match scheme_hash(cv.scheme) {
                    Some(HashAlgorithm::Sha256) => before.snapshot(PrfHash::Sha256, &mut digest),
                    Some(HashAlgorithm::Sha384) => {
                        digest = before.sha384();
                        digest.as_slice()
                    }
                    _ => return Err(AlertDescription::ILLEGAL_PARAMETER),
                };
                if !key.verify(cv.scheme, digest, cv.signature) {
                    return Err(AlertDescription::DECRYPT_ERROR);
                }
                self.state = State::AwaitClientFinished;
                Ok(())
            }
            (State::AwaitClientFinished, HandshakeType::FINISHED) => {
                self.verify_finished(&before, body, b"client finished")?;
                self.new_flight(tx, false);
                self.push_ccs(tx)?;
                self.push_finished(tx, b"server finished")?;
                self.handshake_complete = true;
                self.state = State::Connected;
                self.maybe_connected();
                Ok(())
            }
            _ => unexpected,
        }
    }

    pub(super) fn on_hello_verify_request<const N: usize>(
        &mut self,
        body: &[u8],
        tx: &mut Flight<N>,
    ) -> Step {
        // Any version is fine here: RFC 6347 §4.2.1 lets servers answer with DTLS 1.0.
        let hvr = HelloVerifyRequest::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
        if self.hello_verify_count >= 4 {
            return Err(AlertDescription::ILLEGAL_PARAMETER);
        }
        self.hello_verify_count += 1;
        // Any cookie up to the field's 255 bytes (RFC 6347 §4.2.1) goes straight into the
        // new ClientHello.
        self.send_client_hello(tx, hvr.cookie)
    }

    pub(super) fn on_server_hello(&mut self, body: &[u8]) -> Step {
        let sh = ServerHello::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
        if sh.version() != ProtocolVersion::DTLS_1_2 {
            return Err(AlertDescription::PROTOCOL_VERSION);
        }
        if !self.config.cipher_suites.contains(&sh.cipher_suite()) || sh.compression_method() != 0 {
            return Err(AlertDescription::ILLEGAL_PARAMETER);
        }
        if sh
            .extension(ExtensionType::EXTENDED_MASTER_SECRET)
            .is_none()
        {
            // RFC 7627 is required: without it the exported SRTP keys are not bound to this
            // handshake (triple handshake attack).
            return Err(AlertDescription::HANDSHAKE_FAILURE);
        }
        if let Some(ri) = sh.extension(ExtensionType::RENEGOTIATION_INFO)
            && ri != [0]
        {
            return Err(AlertDescription::HANDSHAKE_FAILURE);
        }
        self.srtp = None;
        if let Some(ext) = sh.extension(ExtensionType::USE_SRTP) {
            let srtp = UseSrtp::parse(ext).map_err(|_| AlertDescription::DECODE_ERROR)?;
            // RFC 5764 §4.1.1: an MKI other than the one offered (we offer none) aborts.
            if !srtp.mki.is_empty() {
                return Err(AlertDescription::ILLEGAL_PARAMETER);
            }
            let mut profiles = srtp.profiles();
            let chosen = profiles.next();
            if profiles.next().is_some()
                || !chosen.is_some_and(|p| self.config.srtp_profiles.contains(&p))
            {
                return Err(AlertDescription::ILLEGAL_PARAMETER);
            }
            self.srtp = chosen;
        }
        self.suite = sh.cipher_suite();
        self.server_random.copy_from_slice(sh.random());
        self.state = State::AwaitServerCertificate;
        Ok(())
    }

    pub(super) fn on_certificate(&mut self, body: &[u8]) -> Step {
        let der = parse_certificate_list(body)
            .map_err(|_| AlertDescription::DECODE_ERROR)?
            // WebRTC needs the peer's certificate on both sides (RFC 8827 §6.5).
            .ok_or(AlertDescription::HANDSHAKE_FAILURE)?;
        let key = PeerKey::from_certificate(der).map_err(|e| match e {
            crate::cert::CertificateError::UnsupportedKey => {
                AlertDescription::UNSUPPORTED_CERTIFICATE
            }
            _ => AlertDescription::BAD_CERTIFICATE,
        })?;
        // A server's key must be the one its suite signs with (ECDHE_RSA: RSA); a client's
        // may be either, its CertificateVerify says which scheme it used.
        if self.role == Role::Client && key.is_rsa() != crypto::suite_is_rsa(self.suite) {
            return Err(AlertDescription::UNSUPPORTED_CERTIFICATE);
        }
        self.peer_key = Some(key);
        self.peer_fingerprints = Some([
            Fingerprint::of(der, HashAlgorithm::Sha256),
            Fingerprint::of(der, HashAlgorithm::Sha1),
            Fingerprint::of(der, HashAlgorithm::Sha384),
            Fingerprint::of(der, HashAlgorithm::Sha512),
        ]);
        self.check_fingerprint();
        if self.state == State::Closed {
            // Already failed with FingerprintMismatch; stop the handshake here.
            return Err(AlertDescription::BAD_CERTIFICATE);
        }
        Ok(())
    }

    pub(super) fn check_fingerprint(&mut self) {
        let (Some(expected), Some(fps)) = (self.remote_fingerprint, self.peer_fingerprints) else {
            return;
        };
        let ok = fps
            .iter()
            .any(|f| f.algorithm() == expected.algorithm() && ct_eq(f.digest(), expected.digest()));
        if !ok {
            self.fail(
                AlertDescription::BAD_CERTIFICATE,
                Some(CloseReason::FingerprintMismatch),
            );
        }
    }

    pub(super) fn maybe_connected(&mut self) {
        if self.handshake_complete
            && self.state == State::Connected
            && !self.connected_reported
            && self.remote_fingerprint.is_some()
        {
            self.connected_reported = true;
            self.connected_pending = true;
        }
    }

    pub(super) fn on_server_key_exchange(&mut self, body: &[u8]) -> Step {
        let ske = ServerKeyExchange::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
        if !self.config.groups.contains(&ske.group) || !VERIFY_SCHEMES.contains(&ske.scheme) {
            return Err(AlertDescription::ILLEGAL_PARAMETER);
        }
        // RFC 8422 §5.4: the signature covers both randoms and the ECDH parameters, hashed
        // with the scheme's hash.
        let parts = [
            self.client_random.as_slice(),
            self.server_random.as_slice(),
            ske.params,
        ];
        let mut digest = [0u8; 48];
        let digest = match scheme_hash(ske.scheme) {
            Some(HashAlgorithm::Sha256) => {
                let mut h = Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                let d = digest
                    .get_mut(..32)
                    .ok_or(AlertDescription::INTERNAL_ERROR)?;
                d.copy_from_slice(&h.finalize());
                d
            }
            Some(HashAlgorithm::Sha384) => {
                let mut h = Sha384::new();
                parts.iter().for_each(|p| h.update(p));
                digest = h.finalize();
                digest.as_mut_slice()
            }
            _ => return Err(AlertDescription::ILLEGAL_PARAMETER),
        };
        let key = self
            .peer_key
            .as_ref()
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        if !key.verify(ske.scheme, digest, ske.signature) {
            return Err(AlertDescription::DECRYPT_ERROR);
        }
        self.group = ske.group;
        self.key_share = KeyShare::generate(ske.group, &mut self.rng);
        self.agree(ske.public)?;
        self.state = State::AwaitServerHelloDone;
        Ok(())
    }

    pub(super) fn agree(&mut self, peer_public: &[u8]) -> Step {
        let share = self
            .key_share
            .as_ref()
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        share
            .agree(peer_public, &mut self.pre_master)
            .ok_or(AlertDescription::ILLEGAL_PARAMETER)
    }

    /// Flight 5: [Certificate] ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished.
    pub(super) fn send_client_flight<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.new_flight(tx, true);
        if self.cert_requested {
            self.push_certificate(tx)?;
        }
        let share = self
            .key_share
            .clone()
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        let mut public = [0u8; MAX_PUBLIC_LEN];
        let n = share.public(&mut public);
        let public = public.get(..n).ok_or(AlertDescription::INTERNAL_ERROR)?;
        self.push_message(tx, HandshakeType::CLIENT_KEY_EXCHANGE, 0, |_, w| {
            w.u8(n as u8);
            w.bytes(public);
        })?;
        // The session hash for EMS ends with ClientKeyExchange (RFC 7627 §3).
        self.derive_keys()?;
        if self.cert_requested {
            let digest = self.transcript.sha256();
            let mut sig = [0u8; 72];
            let sig_len =
                crypto::sign_sha256(self.config.certificate.signing_key(), &digest, &mut sig)
                    .ok_or(AlertDescription::INTERNAL_ERROR)?;
            let sig = sig.get(..sig_len).ok_or(AlertDescription::INTERNAL_ERROR)?;
            self.push_message(tx, HandshakeType::CERTIFICATE_VERIFY, 0, |_, w| {
                w.u16(SignatureScheme::ECDSA_SECP256R1_SHA256.0);
                w.u16(sig_len as u16);
                w.bytes(sig);
            })?;
        }
        self.push_ccs(tx)?;
        self.push_finished(tx, b"client finished")?;
        self.state = State::AwaitServerFinished;
        Ok(())
    }

    pub(super) fn push_certificate<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.push_message(tx, HandshakeType::CERTIFICATE, 0, |c, w| {
            let der = c.config.certificate.der();
            w.u24((der.len() + 3) as u32);
            w.u24(der.len() as u32);
            w.bytes(der);
        })
    }

    pub(super) fn push_ccs<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.write_epoch = 1;
        if tx.push_entry(Entry {
            kind: EntryKind::ChangeCipherSpec,
            epoch: 0,
            start: tx.len,
            len: 0,
        }) {
            Ok(())
        } else {
            Err(AlertDescription::INTERNAL_ERROR)
        }
    }

    pub(super) fn finished_data(&self, transcript: &Transcript, label: &[u8]) -> [u8; 12] {
        let hash = PrfHash::of(self.suite);
        let mut h = [0u8; 48];
        let transcript_hash = transcript.snapshot(hash, &mut h);
        let mut out = [0u8; 12];
        crypto::prf(
            hash,
            &self.master_secret,
            label,
            &[transcript_hash],
            &mut out,
        );
        out
    }

    pub(super) fn push_finished<const N: usize>(
        &mut self,
        tx: &mut Flight<N>,
        label: &[u8],
    ) -> Step {
        let data = self.finished_data(&self.transcript, label);
        self.push_message(tx, HandshakeType::FINISHED, 1, |_, w| w.bytes(&data))
    }

    pub(super) fn verify_finished(&self, before: &Transcript, body: &[u8], label: &[u8]) -> Step {
        let expected = self.finished_data(before, label);
        if ct_eq(&expected, body) {
            Ok(())
        } else {
            Err(AlertDescription::DECRYPT_ERROR)
        }
    }

    /// Extended master secret, then the key block; installs both directions' ciphers.
    pub(super) fn derive_keys(&mut self) -> Step {
        let hash = PrfHash::of(self.suite);
        let mut session_hash = [0u8; 48];
        let session_hash = self.transcript.snapshot(hash, &mut session_hash);
        let mut pre_master = self.pre_master;
        crypto::prf(
            hash,
            &pre_master,
            b"extended master secret",
            &[session_hash],
            &mut self.master_secret,
        );
        pre_master.zeroize();
        self.pre_master.zeroize();
        let (kl, il) = key_iv_len(self.suite);
        let mut block = [0u8; 2 * (32 + 12)];
        let block = block
            .get_mut(..2 * (kl + il))
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        crypto::prf(
            hash,
            &self.master_secret,
            b"key expansion",
            &[&self.server_random, &self.client_random],
            block,
        );
        let (keys, ivs) = block.split_at(2 * kl);
        let (ck, sk) = keys.split_at(kl);
        let (civ, siv) = ivs.split_at(il);
        let client = RecordCipher::new(self.suite, ck, civ);
        let server = RecordCipher::new(self.suite, sk, siv);
        let (write, read) = match self.role {
            Role::Client => (client, server),
            Role::Server => (server, client),
        };
        self.write_cipher = write;
        self.read_cipher = read;
        block.zeroize();
        Ok(())
    }

    pub(super) fn srtp_keys(&self) -> Option<SrtpKeyingMaterial> {
        let profile = self.srtp?;
        let (key_len, salt_len) = profile.key_salt_len()?;
        // Written in place: a local copy would leave the keys on the stack.
        let mut keys = SrtpKeyingMaterial {
            profile,
            material: [0; 88],
            key_len,
            salt_len,
        };
        crypto::prf(
            PrfHash::of(self.suite),
            &self.master_secret,
            b"EXTRACTOR-dtls_srtp",
            &[&self.client_random, &self.server_random],
            keys.material.get_mut(..2 * (key_len + salt_len))?,
        );
        Some(keys)
    }

    // -----------------------------------------------------------------------------------------
    // The server side.

    pub(super) fn on_client_hello<const N: usize>(
        &mut self,
        header: &[u8; HANDSHAKE_HEADER_LEN],
        body: &[u8],
        tx: &mut Flight<N>,
    ) -> Step {
        let Ok(ch) = ClientHello::parse(body) else {
            if self.config.cookies {
                // Nothing has shown the sender can receive at its address yet: a stateless
                // server drops what it cannot read, with no alert (RFC 6347 §4.2.1), so a
                // forged datagram cannot end it.
                self.stats.dropped_hellos += 1;
                return Ok(());
            }
            return Err(AlertDescription::DECODE_ERROR);
        };
        let msg_seq = u16::from_be_bytes([header[4], header[5]]);
        if self.config.cookies && !self.cookie_valid(&ch) {
            // Stateless: answer and forget; the next ClientHello starts over. Whatever else is
            // wrong with this hello is judged once it comes back with the cookie.
            self.new_flight(tx, false);
            self.send_msg_seq = msg_seq;
            // RFC 6347 §4.2.1: the HelloVerifyRequest takes the ClientHello's record
            // sequence number, so a stateless server never repeats one.
            self.write_seq[0] = self.last_record_seq;
            let mut cookie = Self::cookie_for(&ch, &self.cookie_secret);
            let hvr = HelloVerifyRequest {
                version: ProtocolVersion::DTLS_1_0,
                cookie: &cookie,
            };
            let saved = self.transcript.clone();
            let result = self.push_message(tx, HandshakeType::HELLO_VERIFY_REQUEST, 0, |_, w| {
                hvr.emit(w);
            });
            cookie.zeroize();
            self.transcript = saved;
            return result;
        }
        if self.config.cookies {
            // Our epoch-0 numbers go on from the ClientHello that brought the cookie back, as
            // OpenSSL's DTLSv1_listen does: the HelloVerifyRequests before it took the numbers
            // of whatever (possibly forged) ClientHellos they answered, up to 2^48 - 1.
            self.write_seq[0] = self.last_record_seq;
        }
        // DTLS versions count down: 0xFEFD (1.2) or lower numbers are newer. A DTLS 1.3
        // client also says 0xFEFD here and lists 1.3 in supported_versions, which a 1.2 server
        // ignores (RFC 8446 §4.2.1).
        if ch.version().0 > ProtocolVersion::DTLS_1_2.0 {
            return Err(AlertDescription::PROTOCOL_VERSION);
        }
        // A server may wait long for its peer (ICE first): the handshake clock starts here.
        self.started = self.now;
        // RFC 5746 §3.6: in the initial handshake renegotiated_connection must be empty.
        if let Some(ri) = ch.extension(ExtensionType::RENEGOTIATION_INFO)
            && ri != [0]
        {
            return Err(AlertDescription::HANDSHAKE_FAILURE);
        }
        if !ch.compression_methods().contains(&0) {
            return Err(AlertDescription::ILLEGAL_PARAMETER);
        }
        // Our certificate is ECDSA: an ECDHE_RSA suite in our list is for the client role only,
        // and a client that offers nothing else is refused.
        let suite = self
            .config
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| !crypto::suite_is_rsa(*s))
            .find(|s| ch.cipher_suites().any(|o| o == *s))
            .ok_or(AlertDescription::HANDSHAKE_FAILURE)?;
        let group = match ch.extension(ExtensionType::SUPPORTED_GROUPS) {
            Some(ext) => {
                let offered = parse_u16_vector(ext).map_err(|_| AlertDescription::DECODE_ERROR)?;
                self.config
                    .groups
                    .iter()
                    .copied()
                    .find(|g| offered.clone().any(|o| o == g.0))
                    .ok_or(AlertDescription::HANDSHAKE_FAILURE)?
            }
            None => NamedGroup::SECP256R1,
        };
        if let Some(ext) = ch.extension(ExtensionType::SIGNATURE_ALGORITHMS) {
            let mut offered = parse_u16_vector(ext).map_err(|_| AlertDescription::DECODE_ERROR)?;
            if !offered.any(|s| s == SignatureScheme::ECDSA_SECP256R1_SHA256.0) {
                return Err(AlertDescription::HANDSHAKE_FAILURE);
            }
        }
        if ch
            .extension(ExtensionType::EXTENDED_MASTER_SECRET)
            .is_none()
        {
            return Err(AlertDescription::HANDSHAKE_FAILURE);
        }
        self.srtp = match ch.extension(ExtensionType::USE_SRTP) {
            Some(ext) => {
                let offered = UseSrtp::parse(ext).map_err(|_| AlertDescription::DECODE_ERROR)?;
                self.config
                    .srtp_profiles
                    .iter()
                    .copied()
                    .find(|p| offered.profiles().any(|o| o == *p))
            }
            None => None,
        };
        self.peer_offered_renegotiation_info =
            ch.extension(ExtensionType::RENEGOTIATION_INFO).is_some()
                || ch
                    .cipher_suites()
                    .any(|s| s == CipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV);
        self.peer_offered_point_formats = ch.extension(ExtensionType::EC_POINT_FORMATS).is_some();
        self.suite = suite;
        self.group = group;
        self.client_random.copy_from_slice(ch.random());
        let mut random = [0u8; 32];
        self.rng.fill(&mut random);
        self.server_random = random;

        // The transcript starts with the ClientHello that carried a valid cookie.
        self.transcript = Transcript::new();
        self.transcript.update(header);
        self.transcript.update(body);
        self.send_msg_seq = msg_seq;
        self.send_server_flight(tx)
    }

    /// Flight 4: ServerHello Certificate ServerKeyExchange CertificateRequest ServerHelloDone.
    pub(super) fn send_server_flight<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.new_flight(tx, true);
        self.push_message(tx, HandshakeType::SERVER_HELLO, 0, |c, w| {
            w.u16(ProtocolVersion::DTLS_1_2.0);
            w.bytes(&c.server_random);
            w.u8(0);
            w.u16(c.suite.0);
            w.u8(0);
            let at = w.position();
            w.u16(0);
            if c.peer_offered_renegotiation_info {
                emit_extension(w, ExtensionType::RENEGOTIATION_INFO, |w| w.u8(0));
            }
            emit_extension(w, ExtensionType::EXTENDED_MASTER_SECRET, |_| {});
            if let Some(p) = c.srtp {
                emit_extension(w, ExtensionType::USE_SRTP, |w| {
                    w.u16(2);
                    w.u16(p.0);
                    w.u8(0);
                });
            }
            if c.peer_offered_point_formats {
                emit_extension(w, ExtensionType::EC_POINT_FORMATS, |w| w.bytes(&[1, 0]));
            }
            let len = w.position() - at - 2;
            w.patch_u16(at, len as u16);
        })?;
        self.push_certificate(tx)?;
        let share = KeyShare::generate(self.group, &mut self.rng)
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        let mut public = [0u8; MAX_PUBLIC_LEN];
        let n = share.public(&mut public);
        let public = public.get(..n).ok_or(AlertDescription::INTERNAL_ERROR)?;
        self.key_share = Some(share);
        // ServerECDHParams (RFC 8422 §5.4): named_curve, the group, the point.
        let mut params = [0u8; 4 + MAX_PUBLIC_LEN];
        let mut pw = Writer::new(&mut params);
        pw.u8(3);
        pw.u16(self.group.0);
        pw.u8(n as u8);
        pw.bytes(public);
        if pw.is_overflowed() {
            return Err(AlertDescription::INTERNAL_ERROR);
        }
        let params = pw.written();
        let mut h = Sha256::new();
        h.update(&self.client_random);
        h.update(&self.server_random);
        h.update(params);
        let digest: [u8; 32] = h.finalize();
        let mut sig = [0u8; 72];
        let sig_len = crypto::sign_sha256(self.config.certificate.signing_key(), &digest, &mut sig)
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        let sig = sig.get(..sig_len).ok_or(AlertDescription::INTERNAL_ERROR)?;
        self.push_message(tx, HandshakeType::SERVER_KEY_EXCHANGE, 0, |_, w| {
            w.bytes(params);
            w.u16(SignatureScheme::ECDSA_SECP256R1_SHA256.0);
            w.u16(sig_len as u16);
            w.bytes(sig);
        })?;
        self.push_message(tx, HandshakeType::CERTIFICATE_REQUEST, 0, |_, w| {
            // certificate_types: ecdsa_sign (64), and rsa_sign (1) when we can verify RSA.
            if cfg!(feature = "rsa") {
                w.bytes(&[2, 64, 1]);
            } else {
                w.bytes(&[1, 64]);
            }
            emit_u16_vector(w, VERIFY_SCHEMES.iter().map(|s| s.0));
            w.u16(0);
        })?;
        self.push_message(tx, HandshakeType::SERVER_HELLO_DONE, 0, |_, _| {})?;
        self.state = State::AwaitClientCertificate;
        Ok(())
    }
}
