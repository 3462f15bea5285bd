//! SRTP and SRTCP packet protection (RFC 3711, RFC 7714): the keyed context.
//!
//! ```text
//!   sender                                                    receiver
//!   RTP  ─► estimate index (ROC‖SEQ) ─► encrypt payload ─►    estimate index ─► replay check
//!           replay check (no reuse)     tag header+payload    ─► verify tag ─► decrypt
//!                                       (+ROC), append tag    ─► slide window
//!   RTCP ─► SRTCP index += 1 ─► encrypt after 8 bytes ─►      index from trailer ─► replay
//!           append E‖index, tag                               check ─► verify ─► decrypt
//! ```
//!
//! One context protects one direction: the local context (our keys) protects what we send,
//! the remote context (the peer's keys) unprotects what we receive; [`crate::SessionKeys`]
//! builds both from the DTLS exporter. Keys are derived and the AES key schedules and HMAC
//! pads computed once, in [`Context::new`]; a packet costs its cipher and MAC passes only.

use core::slice::SliceIndex;
use peerless_crypto::{Aes128Gcm, Aes256Gcm, AesCtr128, HmacSha1};

use crate::kdf::{self, Label};
use crate::replay::{Window, estimate_index};
use peerless_rtp::packet::{FIXED_HEADER_LEN, HeaderView};
use peerless_rtp::rtcp;

use crate::{Error, Profile};

/// The highest SRTCP index (31 bits).
const MAX_SRTCP_INDEX: u32 = 0x7fff_ffff;

/// Settings of a [`Context`]. `Config::default()` is what WebRTC peers expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Packets the replay window remembers below the highest index received (RFC 3711
    /// §3.3.2; at least 64 is required, 128 is libsrtp's default). At most
    /// `64 * WINDOW_WORDS` of the context.
    pub replay_window: u32,
    /// Let `protect_rtp` reuse a packet index (the same SSRC and sequence number twice).
    /// Off by default: reusing an index reuses keystream, which reveals the XOR of the two
    /// payloads. Turn it on only to re-send a packet bit for bit.
    pub allow_repeat_tx: bool,
    /// Encrypt SRTCP payloads (the E flag, RFC 3711 §3.4). On by default; off still
    /// authenticates.
    pub encrypt_rtcp: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            replay_window: 128,
            allow_repeat_tx: false,
            encrypt_rtcp: true,
        }
    }
}

impl Config {
    /// Sets [`Config::replay_window`].
    #[must_use]
    pub const fn with_replay_window(mut self, packets: u32) -> Self {
        self.replay_window = packets;
        self
    }

    /// Sets [`Config::allow_repeat_tx`].
    #[must_use]
    pub const fn with_allow_repeat_tx(mut self, allow: bool) -> Self {
        self.allow_repeat_tx = allow;
        self
    }

    /// Sets [`Config::encrypt_rtcp`].
    #[must_use]
    pub const fn with_encrypt_rtcp(mut self, encrypt: bool) -> Self {
        self.encrypt_rtcp = encrypt;
        self
    }
}

/// Counters of what a context did; unprotect failures are counted here as well as returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// SRTP packets protected.
    pub rtp_protected: u64,
    /// SRTP packets that authenticated and were decrypted.
    pub rtp_unprotected: u64,
    /// SRTCP packets protected.
    pub rtcp_protected: u64,
    /// SRTCP packets that authenticated and were decrypted.
    pub rtcp_unprotected: u64,
    /// Packets whose tag did not verify.
    pub dropped_auth: u64,
    /// Packets rejected as replays or as older than the window.
    pub dropped_replayed: u64,
    /// Packets too short or not RTP/RTCP.
    pub dropped_malformed: u64,
    /// New SSRCs dropped because the table was full.
    pub dropped_ssrc_table_full: u64,
    /// SRTCP packets refused because their E flag disagreed with [`Config::encrypt_rtcp`].
    pub dropped_encryption_mismatch: u64,
}

/// The keyed transform of one packet kind (SRTP or SRTCP): expanded AES key schedule plus
/// HMAC pads, or an AES-GCM instance, and the session salt.
// The variants differ most on aws-lc-rs (its CM context is ~1.8 KB); without an allocator a
// box is not an option, and a context lives in place in the Peer for its whole session.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Transform {
    Cm {
        aes: AesCtr128,
        mac: HmacSha1,
        /// The 112-bit session salt times 2^16: the IV before SSRC and index are mixed in.
        salt: u128,
    },
    Gcm128 {
        aead: Aes128Gcm,
        /// The 96-bit session salt as a number, ready to XOR into the nonce.
        salt: u128,
    },
    Gcm256 {
        aead: Aes256Gcm,
        /// As for `Gcm128`.
        salt: u128,
    },
}

impl Transform {
    /// Derives the session keys for one packet kind and keys the ciphers.
    fn derive(
        profile: Profile,
        master_key: &[u8],
        master_salt: &[u8],
        labels: [Label; 3],
    ) -> Result<Self, Error> {
        let [enc_label, auth_label, salt_label] = labels;
        let mut key = [0u8; 32];
        let key = key
            .get_mut(..profile.master_key_len())
            .ok_or(Error::InvalidKeyLength)?;
        kdf::derive(master_key, master_salt, enc_label, key)?;
        let mut salt = [0u8; 14];
        let salt = salt
            .get_mut(..profile.master_salt_len())
            .ok_or(Error::InvalidKeyLength)?;
        kdf::derive(master_key, master_salt, salt_label, salt)?;
        let mut auth = [0u8; 20];
        let auth = auth
            .get_mut(..profile.auth_key_len())
            .ok_or(Error::InvalidKeyLength)?;
        kdf::derive(master_key, master_salt, auth_label, auth)?;
        let transform = Self::from_session_keys(profile, key, auth, salt);
        // The session keys now live only inside the keyed ciphers (which wipe themselves).
        zeroize::Zeroize::zeroize(key);
        zeroize::Zeroize::zeroize(auth);
        zeroize::Zeroize::zeroize(salt);
        transform
    }

    fn from_session_keys(
        profile: Profile,
        key: &[u8],
        auth: &[u8],
        salt: &[u8],
    ) -> Result<Self, Error> {
        let bad = |_| Error::InvalidKeyLength;
        if auth.len() != profile.auth_key_len() {
            return Err(Error::InvalidKeyLength);
        }
        let number = |salt: &[u8], shift: u32| {
            let n = salt.iter().fold(0u128, |acc, &b| acc << 8 | u128::from(b));
            n << shift
        };
        if salt.len() != profile.master_salt_len() {
            return Err(Error::InvalidKeyLength);
        }
        Ok(match profile {
            Profile::AesCm128HmacSha1_80 | Profile::AesCm128HmacSha1_32 => Transform::Cm {
                aes: AesCtr128::from_slice(key).map_err(bad)?,
                mac: HmacSha1::new(auth),
                salt: number(salt, 16),
            },
            Profile::AeadAes128Gcm => Transform::Gcm128 {
                aead: Aes128Gcm::from_slice(key).map_err(bad)?,
                salt: number(salt, 0),
            },
            Profile::AeadAes256Gcm => Transform::Gcm256 {
                aead: Aes256Gcm::from_slice(key).map_err(bad)?,
                salt: number(salt, 0),
            },
        })
    }
}

/// AES-CM (RFC 3711 §4.1.1): XORs `data` with the keystream for (SSRC, index).
///
/// IV = (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16), computed on a 128-bit number.
/// Packets are far below 2^16 blocks, so a 32-bit block counter never carries into the IV's
/// upper bits.
fn cm_crypt(aes: &AesCtr128, salt: u128, ssrc: u32, index: u64, data: &mut [u8]) {
    let iv = salt ^ u128::from(ssrc) << 64 ^ u128::from(index) << 16;
    aes.apply_keystream(&iv.to_be_bytes(), data);
}

/// HMAC-SHA1 over `data` followed by the ROC when there is one (SRTP; SRTCP has none),
/// from the keyed state (the pads are not rehashed per packet).
fn cm_mac(mac: &HmacSha1, data: &[u8], roc: Option<u32>) -> HmacSha1 {
    let mut mac = mac.clone();
    mac.update(data);
    if let Some(roc) = roc {
        mac.update(&roc.to_be_bytes());
    }
    mac
}

/// The full tag (protect truncates it to the profile's length).
fn cm_tag(mac: &HmacSha1, data: &[u8], roc: Option<u32>) -> [u8; 20] {
    cm_mac(mac, data, roc).finalize()
}

/// The GCM nonce (RFC 7714 §8.1 / §9.1), as a 96-bit number: `00 00 ‖ SSRC ‖ ROC ‖ SEQ`
/// for SRTP (`word` = ROC, `low` = SEQ), `00 00 ‖ SSRC ‖ 00 00 ‖ 0 ‖ index` for SRTCP
/// (`word` = 0, `low` = index), XOR the salt.
fn gcm_nonce(salt: u128, ssrc: u32, word: u32, low: u32) -> [u8; 12] {
    let n = salt ^ u128::from(ssrc) << 48 ^ u128::from(word) << 16 ^ u128::from(low);
    let bytes = n.to_be_bytes();
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&bytes[4..]);
    nonce
}

fn gcm_seal(
    t: &Transform,
    nonce: &[u8; 12],
    aad: &[u8],
    body: &mut [u8],
) -> Result<[u8; 16], Error> {
    let tag = match t {
        Transform::Gcm128 { aead, .. } => aead.seal_in_place_detached(nonce, aad, body),
        Transform::Gcm256 { aead, .. } => aead.seal_in_place_detached(nonce, aad, body),
        Transform::Cm { .. } => return Err(Error::Malformed),
    };
    // GCM refuses only inputs beyond 2^36 bytes, which no datagram reaches.
    tag.map_err(|_| Error::Malformed)
}

fn gcm_open(
    t: &Transform,
    nonce: &[u8; 12],
    aad: &[u8],
    body: &mut [u8],
    tag: &[u8; 16],
) -> Result<(), Error> {
    let ok = match t {
        Transform::Gcm128 { aead, .. } => aead.open_in_place_detached(nonce, aad, body, tag),
        Transform::Gcm256 { aead, .. } => aead.open_in_place_detached(nonce, aad, body, tag),
        Transform::Cm { .. } => return Err(Error::AuthenticationFailed),
    };
    ok.map_err(|_| Error::AuthenticationFailed)
}

fn gcm_salt(t: &Transform) -> u128 {
    match t {
        Transform::Gcm128 { salt, .. } | Transform::Gcm256 { salt, .. } => *salt,
        Transform::Cm { .. } => 0,
    }
}

fn be32(bytes: &[u8], at: usize) -> Result<u32, Error> {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk)
        .map(|b| u32::from_be_bytes(*b))
        .ok_or(Error::Malformed)
}

/// `buf[range]`, or [`Error::Malformed`]: every range below is within the lengths checked
/// first, so the error is never seen, but a mistake costs a dropped packet, not a panic.
fn at<R: SliceIndex<[u8], Output = [u8]>>(buf: &[u8], range: R) -> Result<&[u8], Error> {
    buf.get(range).ok_or(Error::Malformed)
}

/// `&mut buf[range]`, or [`Error::Malformed`] (see [`at`]).
fn at_mut<R: SliceIndex<[u8], Output = [u8]>>(
    buf: &mut [u8],
    range: R,
) -> Result<&mut [u8], Error> {
    buf.get_mut(range).ok_or(Error::Malformed)
}

/// `buf.split_at_mut(mid)`, or [`Error::Malformed`] (see [`at`]).
fn split(buf: &mut [u8], mid: usize) -> Result<(&mut [u8], &mut [u8]), Error> {
    buf.split_at_mut_checked(mid).ok_or(Error::Malformed)
}

/// What a context remembers about one SSRC.
#[derive(Clone, Copy, Debug)]
struct Stream<const W: usize> {
    ssrc: u32,
    /// Highest SRTP index protected or received, and the replay window below it.
    rtp: Option<Window<W>>,
    /// Highest SRTCP index received, and the replay window below it.
    rtcp: Option<Window<W>>,
    /// The last SRTCP index sent (0: none yet, so the first packet carries 1, as libsrtp's).
    rtcp_sent: u32,
}

impl<const W: usize> Stream<W> {
    const fn new(ssrc: u32) -> Self {
        Stream {
            ssrc,
            rtp: None,
            rtcp: None,
            rtcp_sent: 0,
        }
    }

    /// The stream of a retired SSRC that comes back: every index it used stays used.
    fn revived(t: &Tombstone) -> Self {
        Stream {
            ssrc: t.ssrc,
            rtp: t
                .has_rtp
                .then(|| Window::all_seen_up_to(u64::from(t.rtp_roc) << 16 | u64::from(t.rtp_seq))),
            rtcp: t
                .has_rtcp
                .then(|| Window::all_seen_up_to(u64::from(t.rtcp_top))),
            rtcp_sent: t.rtcp_sent,
        }
    }
}

/// What a context keeps of a removed SSRC: the highest indices it used under this key.
///
/// (SSRC, packet index) is the AES-GCM nonce (RFC 7714 §8.1) and the AES-CM IV (RFC 3711
/// §4.1.1): were a removed SSRC to start over at index 0 under the same key, its packets
/// would reuse nonces, which reveals the XOR of plaintexts and, for GCM, the authentication
/// key. libsrtp leaves this to the caller; a tombstone makes it impossible instead.
///
/// Packed into 20 bytes (the 48-bit SRTP index as ROC and SEQ, the flags as the niche of its
/// `Option`): a 128 KiB microcontroller holds two Peers with two contexts each.
#[derive(Clone, Copy, Debug)]
struct Tombstone {
    ssrc: u32,
    rtp_roc: u32,
    rtcp_top: u32,
    rtcp_sent: u32,
    rtp_seq: u16,
    has_rtp: bool,
    has_rtcp: bool,
}

impl Tombstone {
    fn of<const W: usize>(stream: &Stream<W>) -> Self {
        let rtp = stream.rtp.map(|w| w.top());
        let rtcp = stream.rtcp.map(|w| w.top());
        Tombstone {
            ssrc: stream.ssrc,
            // An SRTP index has 48 bits (ROC and SEQ), an SRTCP index 31.
            rtp_roc: rtp.map_or(0, |t| (t >> 16) as u32),
            rtp_seq: rtp.map_or(0, |t| t as u16),
            rtcp_top: rtcp.map_or(0, |t| t as u32),
            rtcp_sent: stream.rtcp_sent,
            has_rtp: rtp.is_some(),
            has_rtcp: rtcp.is_some(),
        }
    }
}

/// An SRTP/SRTCP crypto context for one direction of one DTLS-SRTP session.
///
/// `SSRCS` is the capacity of the per-SSRC table (rollover counter, highest sequence number,
/// replay windows, SRTCP index); `WINDOW_WORDS` sizes each replay window's storage in
/// 64-packet words (the default, 2, holds a 128-packet window). A context with the defaults
/// takes about 1.6 KiB (1664 bytes on x86_64, bounded by a test; the tombstones of removed
/// SSRCs are 160 of them), all inline: no allocation, ever.
///
/// ```
/// use peerless_srtp::{Config, Context, Profile};
/// let key = [7u8; 16];
/// let salt = [9u8; 14];
/// let mut sender: Context = Context::new(Profile::AesCm128HmacSha1_80, &key, &salt, Config::default())?;
/// let mut receiver: Context = Context::new(Profile::AesCm128HmacSha1_80, &key, &salt, Config::default())?;
///
/// let mut buf = [0u8; 1500];
/// let rtp = [0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0xca, 0xfe, 0xba, 0xbe, b'h', b'i'];
/// buf[..rtp.len()].copy_from_slice(&rtp);
/// let n = sender.protect_rtp(&mut buf, rtp.len())?;     // in place, tag appended
/// let m = receiver.unprotect_rtp(&mut buf[..n])?;       // verified, decrypted
/// assert_eq!(&buf[..m], &rtp);
/// assert_eq!(receiver.unprotect_rtp(&mut buf[..n]), Err(peerless_srtp::Error::Replayed));
/// # Ok::<(), peerless_srtp::Error>(())
/// ```
///
/// A context is not `Clone`: two copies of a sending context would protect the same
/// (SSRC, index) twice, a reused AES-GCM nonce or AES-CM keystream (RFC 7714 §8.1).
///
/// ```compile_fail
/// let ctx: peerless_srtp::Context = peerless_srtp::Context::new(
///     peerless_srtp::Profile::AeadAes128Gcm, &[0; 16], &[0; 12], Default::default()).unwrap();
/// let copy = ctx.clone(); // a Context cannot be cloned
/// ```
#[cfg_attr(fuzzing, derive(Clone))]
pub struct Context<const SSRCS: usize = 8, const WINDOW_WORDS: usize = 2> {
    profile: Profile,
    config: Config,
    rtp: Transform,
    rtcp: Transform,
    streams: [Option<Stream<WINDOW_WORDS>>; SSRCS],
    /// Removed SSRCs and the last indices they used (see [`Context::remove_ssrc`]).
    tombstones: [Option<Tombstone>; SSRCS],
    /// Slot of the last SSRC used: most packets belong to the same stream as the previous.
    last: usize,
    stats: Stats,
}

impl<const SSRCS: usize, const WINDOW_WORDS: usize> core::fmt::Debug
    for Context<SSRCS, WINDOW_WORDS>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print keys.
        f.debug_struct("Context")
            .field("profile", &self.profile)
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// As `Debug`: never the keys.
#[cfg(feature = "defmt")]
impl<const SSRCS: usize, const WINDOW_WORDS: usize> defmt::Format for Context<SSRCS, WINDOW_WORDS> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Context {{ profile: {}, config: {}, stats: {}, .. }}",
            self.profile,
            self.config,
            self.stats
        );
    }
}

impl<const SSRCS: usize, const WINDOW_WORDS: usize> Context<SSRCS, WINDOW_WORDS> {
    /// Derives the SRTP and SRTCP session keys from a master key and salt (RFC 3711 §4.3)
    /// and keys the ciphers.
    ///
    /// Fails with [`Error::InvalidKeyLength`] if the key or salt length does not match
    /// `profile`, and [`Error::InvalidConfig`] if `config.replay_window` is 0 or larger
    /// than `64 * WINDOW_WORDS`.
    pub fn new(
        profile: Profile,
        master_key: &[u8],
        master_salt: &[u8],
        config: Config,
    ) -> Result<Self, Error> {
        if master_key.len() != profile.master_key_len()
            || master_salt.len() != profile.master_salt_len()
        {
            return Err(Error::InvalidKeyLength);
        }
        let rtp = Transform::derive(
            profile,
            master_key,
            master_salt,
            [Label::RTP_ENCRYPTION, Label::RTP_AUTH, Label::RTP_SALT],
        )?;
        let rtcp = Transform::derive(
            profile,
            master_key,
            master_salt,
            [Label::RTCP_ENCRYPTION, Label::RTCP_AUTH, Label::RTCP_SALT],
        )?;
        Self::with_transforms(profile, config, rtp, rtcp)
    }

    /// A context keyed with session keys directly, skipping the KDF (RFC 7714's test
    /// vectors are given this way). AEAD profiles only.
    #[cfg(test)]
    pub(crate) fn with_session_keys(
        profile: Profile,
        key: &[u8],
        salt: &[u8],
        config: Config,
    ) -> Result<Self, Error> {
        let rtp = Transform::from_session_keys(profile, key, &[], salt)?;
        let rtcp = rtp.clone();
        Self::with_transforms(profile, config, rtp, rtcp)
    }

    fn with_transforms(
        profile: Profile,
        config: Config,
        rtp: Transform,
        rtcp: Transform,
    ) -> Result<Self, Error> {
        let capacity = 64 * WINDOW_WORDS as u64;
        if config.replay_window == 0 || u64::from(config.replay_window) > capacity {
            return Err(Error::InvalidConfig);
        }
        Ok(Context {
            profile,
            config,
            rtp,
            rtcp,
            streams: [None; SSRCS],
            tombstones: [None; SSRCS],
            last: 0,
            stats: Stats::default(),
        })
    }

    /// The profile this context was built for.
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The configuration this context was built with.
    #[must_use]
    pub fn config(&self) -> Config {
        self.config
    }

    /// Counters of packets protected, unprotected and dropped.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The rollover counter of `ssrc`'s highest SRTP index, if the context has seen it.
    #[must_use]
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        let stream = self.streams.iter().flatten().find(|s| s.ssrc == ssrc)?;
        stream.rtp.map(|w| (w.top() >> 16) as u32)
    }

    /// Retires `ssrc` (after an RTCP BYE, say), freeing its table slot. Returns whether the
    /// slot was freed: false if `ssrc` is unknown, or if `SSRCS` SSRCs are already retired.
    ///
    /// The context keeps a tombstone of a retired SSRC: the highest SRTP and SRTCP indices it
    /// used. Should the SSRC come back under the same key, it continues after them and no
    /// index is protected (or accepted) twice: (SSRC, index) is the AES-GCM nonce (RFC 7714
    /// §8.1) and the AES-CM IV, and a nonce used twice gives away plaintexts and, for GCM,
    /// the authentication key. Tombstones are a fixed table as large as the SSRC table; with
    /// none free the stream stays where it is (and keeps its slot) rather than be forgotten.
    /// A tombstone is freed when its SSRC comes back.
    pub fn remove_ssrc(&mut self, ssrc: u32) -> bool {
        let Some(slot) = self
            .streams
            .iter_mut()
            .find(|s| s.is_some_and(|s| s.ssrc == ssrc))
        else {
            return false;
        };
        let Some(grave) = self.tombstones.iter_mut().find(|t| t.is_none()) else {
            return false;
        };
        let Some(stream) = slot.take() else {
            return false;
        };
        *grave = Some(Tombstone::of(&stream));
        true
    }

    /// The tombstone of a retired `ssrc`, if it has one.
    fn tombstone(&self, ssrc: u32) -> Option<&Tombstone> {
        self.tombstones.iter().flatten().find(|t| t.ssrc == ssrc)
    }

    /// The state `ssrc` continues from in `slot`: its stream, else its tombstone's, else none
    /// (a new SSRC).
    fn state(&self, slot: usize, ssrc: u32) -> Option<Stream<WINDOW_WORDS>> {
        match self.stream(slot) {
            Some(s) => Some(*s),
            None => self.tombstone(ssrc).map(Stream::revived),
        }
    }

    /// The SSRCs the context currently tracks.
    pub fn ssrcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.streams.iter().flatten().map(|s| s.ssrc)
    }

    /// The table slot of `ssrc`, or a free one (not yet claimed) for a new SSRC.
    fn slot(&mut self, ssrc: u32) -> Result<usize, Error> {
        if matches!(self.streams.get(self.last), Some(Some(s)) if s.ssrc == ssrc) {
            return Ok(self.last);
        }
        let mut free = None;
        for (i, slot) in self.streams.iter().enumerate() {
            match slot {
                Some(s) if s.ssrc == ssrc => {
                    self.last = i;
                    return Ok(i);
                }
                None if free.is_none() => free = Some(i),
                _ => {}
            }
        }
        free.ok_or(Error::SsrcTableFull)
    }

    /// The stream in `slot`, if it is claimed.
    fn stream(&self, slot: usize) -> Option<&Stream<WINDOW_WORDS>> {
        self.streams.get(slot)?.as_ref()
    }

    /// The stream in `slot`, claimed for `ssrc` if it was free (from its tombstone, which is
    /// then freed, if it had one).
    fn claim(&mut self, slot: usize, ssrc: u32) -> Option<&mut Stream<WINDOW_WORDS>> {
        self.last = slot;
        let entry = self.streams.get_mut(slot)?;
        if entry.is_none() {
            let grave = self
                .tombstones
                .iter_mut()
                .find(|t| t.is_some_and(|t| t.ssrc == ssrc));
            *entry = Some(match grave.and_then(Option::take) {
                Some(t) => Stream::revived(&t),
                None => Stream::new(ssrc),
            });
        }
        entry.as_mut()
    }

    /// Records `index` in a replay window, starting the window if there is none.
    fn record(window: &mut Option<Window<WINDOW_WORDS>>, index: u64) {
        match window {
            Some(w) => w.accept(index),
            None => *window = Some(Window::starting_at(index)),
        }
    }

    fn window(&self) -> u64 {
        u64::from(self.config.replay_window)
    }

    fn count_failure(&mut self, e: Error) -> Error {
        match e {
            Error::AuthenticationFailed => self.stats.dropped_auth += 1,
            Error::Replayed | Error::TooOld => self.stats.dropped_replayed += 1,
            Error::Malformed => self.stats.dropped_malformed += 1,
            Error::SsrcTableFull => self.stats.dropped_ssrc_table_full += 1,
            Error::EncryptionMismatch => self.stats.dropped_encryption_mismatch += 1,
            _ => {}
        }
        e
    }

    /// Protects the RTP packet in `buf[..len]` in place and appends the tag; returns the
    /// SRTP packet length (`len + profile.rtp_overhead()`).
    ///
    /// The rollover counter is tracked per SSRC from the sequence numbers (RFC 3711
    /// Appendix A), so packets may be protected slightly out of order. Fails with
    /// [`Error::BufferTooSmall`] if `buf` has no room for the tag, [`Error::Malformed`] if
    /// `buf[..len]` is not an RTP packet, [`Error::Replayed`] if this SSRC and index were
    /// already protected (unless [`Config::allow_repeat_tx`]), [`Error::TooOld`],
    /// [`Error::SsrcTableFull`] or [`Error::KeyExhausted`]. On error `buf` is unchanged.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let tag_len = self.profile.rtp_tag_len();
        let out_len = len.saturating_add(tag_len);
        let packet = buf
            .get_mut(..out_len)
            .ok_or(Error::BufferTooSmall { needed: out_len })?;
        let header = HeaderView::parse(packet.get(..len).ok_or(Error::Malformed)?)?;
        let (header_len, seq, ssrc) = (header.len(), header.sequence_number(), header.ssrc());
        let slot = self.slot(ssrc)?;
        let index = match self.state(slot, ssrc).and_then(|s| s.rtp) {
            Some(w) => {
                let index = estimate_index(w.top(), seq).ok_or(Error::KeyExhausted)?;
                if !self.config.allow_repeat_tx {
                    w.check(index, self.window())?;
                }
                index
            }
            None => u64::from(seq),
        };
        let roc = (index >> 16) as u32;
        let (header_and_body, tag_out) = split(packet, len)?;
        match &self.rtp {
            Transform::Cm { aes, mac, salt } => {
                cm_crypt(
                    aes,
                    *salt,
                    ssrc,
                    index,
                    at_mut(header_and_body, header_len..)?,
                );
                let tag = cm_tag(mac, header_and_body, Some(roc));
                tag_out.copy_from_slice(at(&tag, ..tag_len)?);
            }
            t => {
                let nonce = gcm_nonce(gcm_salt(t), ssrc, roc, u32::from(seq));
                let (aad, body) = split(header_and_body, header_len)?;
                tag_out.copy_from_slice(&gcm_seal(t, &nonce, aad, body)?);
            }
        }
        if let Some(stream) = self.claim(slot, ssrc) {
            Self::record(&mut stream.rtp, index);
        }
        self.stats.rtp_protected += 1;
        Ok(out_len)
    }

    /// Verifies and decrypts the SRTP packet that fills `buf`, in place; returns the length
    /// of the RTP packet now at the start of `buf`.
    ///
    /// Errors ([`Error::AuthenticationFailed`], [`Error::Replayed`], [`Error::TooOld`],
    /// [`Error::Malformed`], [`Error::SsrcTableFull`]) mean: count and drop the packet. The
    /// context is unchanged by a packet that fails, and a new SSRC takes a table slot only
    /// once one of its packets authenticated.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.unprotect_rtp_inner(buf)
            .map_err(|e| self.count_failure(e))
    }

    fn unprotect_rtp_inner(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let tag_len = self.profile.rtp_tag_len();
        let len = buf
            .len()
            .checked_sub(tag_len)
            .filter(|&l| l >= FIXED_HEADER_LEN)
            .ok_or(Error::Malformed)?;
        let header = HeaderView::parse(buf.get(..len).ok_or(Error::Malformed)?)?;
        let (header_len, seq, ssrc) = (header.len(), header.sequence_number(), header.ssrc());
        let slot = self.slot(ssrc)?;
        let index = match self.state(slot, ssrc).and_then(|s| s.rtp) {
            Some(w) => {
                let index = estimate_index(w.top(), seq).ok_or(Error::KeyExhausted)?;
                w.check(index, self.window())?;
                index
            }
            None => u64::from(seq),
        };
        let roc = (index >> 16) as u32;
        let (header_and_body, tag) = split(buf, len)?;
        match &self.rtp {
            Transform::Cm { aes, mac, salt } => {
                // Constant-time comparison of the truncated tag (in peerless-crypto).
                if !cm_mac(mac, header_and_body, Some(roc)).verify(tag) {
                    return Err(Error::AuthenticationFailed);
                }
                cm_crypt(
                    aes,
                    *salt,
                    ssrc,
                    index,
                    at_mut(header_and_body, header_len..)?,
                );
            }
            t => {
                let nonce = gcm_nonce(gcm_salt(t), ssrc, roc, u32::from(seq));
                let tag: [u8; 16] = (&*tag).try_into().map_err(|_| Error::Malformed)?;
                let (aad, body) = split(header_and_body, header_len)?;
                gcm_open(t, &nonce, aad, body, &tag)?;
            }
        }
        if let Some(stream) = self.claim(slot, ssrc) {
            Self::record(&mut stream.rtp, index);
        }
        self.stats.rtp_unprotected += 1;
        Ok(len)
    }

    /// Protects the RTCP (compound) packet in `buf[..len]` in place: encrypts everything
    /// after the first 8 bytes (unless [`Config::encrypt_rtcp`] is off), appends the E flag
    /// and SRTCP index and the tag. Returns the SRTCP length
    /// (`len + profile.rtcp_overhead()`).
    ///
    /// The SRTCP index counts per sender SSRC (the SSRC of the first packet in the compound)
    /// from 1, as libsrtp does. Fails with [`Error::BufferTooSmall`], [`Error::Malformed`]
    /// (shorter than 8 bytes or not version 2), [`Error::SsrcTableFull`] or
    /// [`Error::KeyExhausted`] after 2^31 - 1 packets.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let tag_len = self.profile.rtcp_tag_len();
        let out_len = len.saturating_add(4 + tag_len);
        let packet = buf
            .get_mut(..out_len)
            .ok_or(Error::BufferTooSmall { needed: out_len })?;
        let ssrc = rtcp::sender_ssrc(packet.get(..len).ok_or(Error::Malformed)?)?;
        let slot = self.slot(ssrc)?;
        let sent = self.state(slot, ssrc).map_or(0, |s| s.rtcp_sent);
        if sent >= MAX_SRTCP_INDEX {
            return Err(Error::KeyExhausted);
        }
        let index = sent + 1;
        let encrypt = self.config.encrypt_rtcp;
        let trailer = (u32::from(encrypt) << 31 | index).to_be_bytes();
        match &self.rtcp {
            Transform::Cm { aes, mac, salt } => {
                if encrypt {
                    cm_crypt(aes, *salt, ssrc, u64::from(index), at_mut(packet, 8..len)?);
                }
                at_mut(packet, len..len + 4)?.copy_from_slice(&trailer);
                let tag = cm_tag(mac, at(packet, ..len + 4)?, None);
                at_mut(packet, len + 4..)?.copy_from_slice(at(&tag, ..tag_len)?);
            }
            t => {
                let nonce = gcm_nonce(gcm_salt(t), ssrc, 0, index);
                let tag = if encrypt {
                    // AAD: the first 8 octets and the E‖index word (RFC 7714 §9.2).
                    let mut aad = [0u8; 12];
                    aad[..8].copy_from_slice(at(packet, ..8)?);
                    aad[8..].copy_from_slice(&trailer);
                    gcm_seal(t, &nonce, &aad, at_mut(packet, 8..len)?)?
                } else {
                    // Authentication only: the whole packet and the E‖index word are AAD.
                    at_mut(packet, len..len + 4)?.copy_from_slice(&trailer);
                    gcm_seal(t, &nonce, at(packet, ..len + 4)?, &mut [])?
                };
                at_mut(packet, len..len + 16)?.copy_from_slice(&tag);
                at_mut(packet, len + 16..)?.copy_from_slice(&trailer);
            }
        }
        if let Some(stream) = self.claim(slot, ssrc) {
            stream.rtcp_sent = index;
        }
        self.stats.rtcp_protected += 1;
        Ok(out_len)
    }

    /// Verifies and decrypts the SRTCP packet that fills `buf`, in place; returns the length
    /// of the RTCP packet now at the start of `buf`. Errors mean: count and drop the packet,
    /// as for [`Context::unprotect_rtp`].
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        self.unprotect_rtcp_inner(buf)
            .map_err(|e| self.count_failure(e))
    }

    fn unprotect_rtcp_inner(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let tag_len = self.profile.rtcp_tag_len();
        let len = buf
            .len()
            .checked_sub(4 + tag_len)
            .filter(|&l| l >= 8)
            .ok_or(Error::Malformed)?;
        let ssrc = rtcp::sender_ssrc(buf.get(..len).ok_or(Error::Malformed)?)?;
        // AES-CM: packet ‖ E‖index ‖ tag; GCM: packet ‖ tag ‖ E‖index.
        let trailer_at = if self.profile.is_aead() {
            len + tag_len
        } else {
            len
        };
        let trailer = be32(buf, trailer_at)?;
        let encrypted = trailer >> 31 == 1;
        if encrypted != self.config.encrypt_rtcp {
            // RFC 3711 §3.4 lets each packet say; we hold the peer to the policy both sides
            // agreed on, so nobody can make us take plaintext where we expect ciphertext.
            return Err(Error::EncryptionMismatch);
        }
        let index = trailer & MAX_SRTCP_INDEX;
        let slot = self.slot(ssrc)?;
        if let Some(w) = self.state(slot, ssrc).and_then(|s| s.rtcp) {
            w.check(u64::from(index), self.window())?;
        }
        match &self.rtcp {
            Transform::Cm { aes, mac, salt } => {
                let (authenticated, tag) = split(buf, len + 4)?;
                if !cm_mac(mac, authenticated, None).verify(tag) {
                    return Err(Error::AuthenticationFailed);
                }
                if encrypted {
                    cm_crypt(aes, *salt, ssrc, u64::from(index), at_mut(buf, 8..len)?);
                }
            }
            t => {
                let nonce = gcm_nonce(gcm_salt(t), ssrc, 0, index);
                let tag: [u8; 16] = at(buf, len..len + 16)?
                    .try_into()
                    .map_err(|_| Error::Malformed)?;
                if encrypted {
                    let mut aad = [0u8; 12];
                    aad[..8].copy_from_slice(at(buf, ..8)?);
                    aad[8..].copy_from_slice(&trailer.to_be_bytes());
                    gcm_open(t, &nonce, &aad, at_mut(buf, 8..len)?, &tag)?;
                } else {
                    // The AAD is the packet followed by E‖index; the tag sits between them on
                    // the wire, so move the trailer next to the packet (the tag is copied out).
                    at_mut(buf, len..len + 4)?.copy_from_slice(&trailer.to_be_bytes());
                    gcm_open(t, &nonce, at(buf, ..len + 4)?, &mut [], &tag)?;
                }
            }
        }
        if let Some(stream) = self.claim(slot, ssrc) {
            Self::record(&mut stream.rtcp, u64::from(index));
        }
        self.stats.rtcp_unprotected += 1;
        Ok(len)
    }

    /// Sets the last SRTCP index sent for `ssrc` (tests reproduce mid-session vectors).
    #[cfg(test)]
    pub(crate) fn set_rtcp_sent(&mut self, ssrc: u32, last: u32) {
        if let Some(stream) = self.slot(ssrc).ok().and_then(|slot| self.claim(slot, ssrc)) {
            stream.rtcp_sent = last;
        }
    }
}

#[cfg(test)]
pub(crate) fn cm_keystream_for_test(key: &[u8; 16], salt: &[u8; 14], out: &mut [u8]) {
    let aes = AesCtr128::new(key);
    let salt = salt.iter().fold(0u128, |acc, &b| acc << 8 | u128::from(b)) << 16;
    out.fill(0);
    cm_crypt(&aes, salt, 0, 0, out);
}
