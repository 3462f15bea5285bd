//! Two Peers over an in-memory link, `no_std` and without an allocator: from `Peer::new` to an
//! open data channel and an echoed message. This is what the firmware runs on the emulated
//! Cortex-M4 to count the instructions of a whole connect.
//!
//! ```text
//!   offerer                          memory link                      answerer
//!   create_data_channel("selftest")
//!   create_offer -> set_local ---------- offer -----------> set_remote -> create_answer
//!   set_remote  <---------------------- answer ------------ set_local
//!   ICE checks  <======== datagrams shuttled through `buf`, virtual clock ========> ICE
//!   DTLS (server: the answerer is active)  <============>  DTLS client
//!   SCTP INIT/COOKIE, DCEP OPEN  <=======================>  ChannelOpen (remote)
//!   send "peerless selftest" ------------------------------> echo it back
//!   Message == sent: done
//! ```
//!
//! Every call on one Peer runs inside `measure(side, call)`, so the caller can read a cycle or
//! instruction counter around it and sum per side.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;

use peerless_base::Instant;
use peerless_dtls::Certificate;

use crate::peer::{Area, ChannelId, Config, Event, MessageKind, Peer, SdpType};

/// Which Peer a measured call ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Side {
    /// The offerer (creates the channel, sends the probe).
    Offerer,
    /// The answerer (echoes).
    Answerer,
}

/// Why the self-test did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SelftestError {
    /// A description could not be written or applied.
    Signalling,
    /// A buffer is too small for a datagram.
    BufferTooSmall,
    /// No open channel and echo within the virtual time limit.
    Stalled,
    /// The echo differed from what was sent (must never happen).
    EchoDiffers,
    /// A connection failed.
    Failed,
}

/// What the self-test measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Report {
    /// Datagrams moved across the link.
    pub datagrams: u32,
    /// Bytes moved across the link.
    pub bytes: u64,
    /// Virtual time from the start to the open channel on the offerer, in microseconds.
    pub open_us: u64,
    /// Virtual time from the start to the echo, in microseconds.
    pub echo_us: u64,
    /// The offerer's DTLS cipher suite id.
    pub dtls_cipher: u16,
    /// The SRTP profile's DTLS id (0 if none).
    pub srtp_profile: u16,
}

/// The offerer's address on the in-memory link.
pub const OFFERER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 5000);
/// The answerer's address on the in-memory link.
pub const ANSWERER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 5000);

const PROBE: &[u8] = b"peerless selftest";

/// Runs the whole exchange between two fresh Peers (made with [`Peer::new`] by the caller,
/// e.g. from [`config`]). `sdp` holds one description at a time (2 KiB is plenty), `buf` one
/// datagram (at least the MTU).
///
/// ```
/// use peerless::{selftest, Peer, Storage};
/// use peerless_base::Instant;
/// let mut sa = Box::new(Storage::<16384, 16384>::new());
/// let mut sb = Box::new(Storage::<16384, 16384>::new());
/// let (a_send, a_recv) = sa.areas();
/// let (b_send, b_recv) = sb.areas();
/// let (ca, cb) = selftest::certificates().unwrap();
/// let mut a: Peer<&mut [u8]> = Peer::new(selftest::config(ca, 1), Instant::ZERO, a_send, a_recv);
/// let mut b: Peer<&mut [u8]> = Peer::new(selftest::config(cb, 2), Instant::ZERO, b_send, b_recv);
/// let (mut sdp, mut buf) = ([0u8; 2048], [0u8; 1500]);
/// let report = selftest::run(&mut a, &mut b, &mut sdp, &mut buf, |_, call| call()).unwrap();
/// assert!(report.echo_us >= report.open_us);
/// ```
pub fn run<
    S: Area,
    const K: usize,
    const C: usize,
    const D: usize,
    const L: usize,
    const R: usize,
    const N: usize,
    const T: usize,
>(
    offerer: &mut Peer<S, K, C, D, L, R, N, T>,
    answerer: &mut Peer<S, K, C, D, L, R, N, T>,
    sdp: &mut [u8],
    buf: &mut [u8],
    mut measure: impl FnMut(Side, &mut dyn FnMut()),
) -> Result<Report, SelftestError> {
    let mut ok = true;
    let mut channel = None;
    measure(Side::Offerer, &mut || {
        channel = offerer
            .create_data_channel("selftest", Default::default())
            .ok();
        ok &= offerer.add_local_candidate(OFFERER).is_ok();
    });
    measure(Side::Answerer, &mut || {
        ok &= answerer.add_local_candidate(ANSWERER).is_ok();
    });
    let channel = channel.ok_or(SelftestError::Signalling)?;
    // Offer.
    let mut len = 0;
    measure(Side::Offerer, &mut || {
        len = offerer.create_offer(sdp).map_or(0, str::len);
    });
    let text = sdp_text(sdp, len)?;
    measure(Side::Offerer, &mut || {
        ok &= offerer.set_local_description(SdpType::Offer, text).is_ok();
    });
    measure(Side::Answerer, &mut || {
        ok &= answerer
            .set_remote_description(SdpType::Offer, text)
            .is_ok();
    });
    // Answer.
    measure(Side::Answerer, &mut || {
        len = answerer.create_answer(sdp).map_or(0, str::len);
    });
    let text = sdp_text(sdp, len)?;
    measure(Side::Answerer, &mut || {
        ok &= answerer
            .set_local_description(SdpType::Answer, text)
            .is_ok();
    });
    measure(Side::Offerer, &mut || {
        ok &= offerer
            .set_remote_description(SdpType::Answer, text)
            .is_ok();
    });
    if !ok {
        return Err(SelftestError::Signalling);
    }
    exchange(offerer, answerer, channel, buf, &mut measure)
}

fn sdp_text(sdp: &[u8], len: usize) -> Result<&str, SelftestError> {
    if len == 0 {
        return Err(SelftestError::Signalling);
    }
    sdp.get(..len)
        .and_then(|b| core::str::from_utf8(b).ok())
        .ok_or(SelftestError::Signalling)
}

/// What one side saw while its events were drained.
#[derive(Default)]
struct Seen {
    open: bool,
    failed: bool,
    echo_ok: Option<bool>,
    /// A message to echo: (channel, kind, length) in `echo`.
    to_echo: Option<(ChannelId, MessageKind, usize)>,
}

fn drain<
    S: Area,
    const K: usize,
    const C: usize,
    const D: usize,
    const L: usize,
    const R: usize,
    const N: usize,
    const T: usize,
>(
    peer: &mut Peer<S, K, C, D, L, R, N, T>,
    echo: &mut [u8; 64],
) -> Seen {
    let mut seen = Seen::default();
    while let Some(ev) = peer.poll_event() {
        match ev {
            Event::ChannelOpen { .. } => seen.open = true,
            Event::ConnectionState(crate::ConnectionState::Failed) => seen.failed = true,
            Event::Message {
                channel,
                kind,
                data,
            } => {
                seen.echo_ok = Some(data == PROBE);
                if let Some(dst) = echo.get_mut(..data.len()) {
                    dst.copy_from_slice(data);
                    seen.to_echo = Some((channel, kind, data.len()));
                }
            }
            _ => {}
        }
    }
    seen
}

fn exchange<
    S: Area,
    const K: usize,
    const C: usize,
    const D: usize,
    const L: usize,
    const R: usize,
    const N: usize,
    const T: usize,
>(
    a: &mut Peer<S, K, C, D, L, R, N, T>,
    b: &mut Peer<S, K, C, D, L, R, N, T>,
    channel: ChannelId,
    buf: &mut [u8],
    measure: &mut impl FnMut(Side, &mut dyn FnMut()),
) -> Result<Report, SelftestError> {
    let start = Instant::ZERO;
    let mut now = start;
    let mut report = Report::default();
    let mut sent_probe = false;
    let mut echo = [0u8; 64];
    let limit = start + Duration::from_secs(60);
    while now < limit {
        let mut moved = false;
        for side in [Side::Offerer, Side::Answerer] {
            loop {
                let mut out = None;
                let mut too_small = false;
                measure(side, &mut || {
                    let r = match side {
                        Side::Offerer => a.poll_transmit(buf),
                        Side::Answerer => b.poll_transmit(buf),
                    };
                    match r {
                        Ok(Some(t)) => {
                            out = Some((t.source, t.destination, t.payload.len()));
                        }
                        Ok(None) => {}
                        Err(_) => too_small = true,
                    }
                });
                if too_small {
                    return Err(SelftestError::BufferTooSmall);
                }
                let Some((source, destination, n)) = out else {
                    break;
                };
                let (from, to) = (source, destination);
                let Some(datagram) = buf.get_mut(..n) else {
                    return Err(SelftestError::BufferTooSmall);
                };
                report.datagrams += 1;
                report.bytes += n as u64;
                moved = true;
                match side {
                    Side::Offerer if to == ANSWERER => measure(Side::Answerer, &mut || {
                        b.handle_packet(now, from, to, datagram);
                    }),
                    Side::Answerer if to == OFFERER => measure(Side::Offerer, &mut || {
                        a.handle_packet(now, from, to, datagram);
                    }),
                    // Addressed elsewhere (no such host on this link): lost.
                    _ => {}
                }
            }
        }
        let mut seen_a = Seen::default();
        let mut seen_b = Seen::default();
        measure(Side::Offerer, &mut || seen_a = drain(a, &mut echo));
        measure(Side::Answerer, &mut || seen_b = drain(b, &mut echo));
        if seen_a.failed || seen_b.failed {
            return Err(SelftestError::Failed);
        }
        if let Some((ch, kind, n)) = seen_b.to_echo {
            let data = echo.get(..n).unwrap_or_default();
            measure(Side::Answerer, &mut || {
                let _ = b.send(ch, kind, data);
            });
            moved = true;
        }
        if seen_a.open && !sent_probe {
            report.open_us = now.saturating_duration_since(start).as_micros() as u64;
            let mut sent = false;
            measure(Side::Offerer, &mut || {
                sent = a.send(channel, MessageKind::Text, PROBE).is_ok();
            });
            sent_probe = sent;
            moved = true;
        }
        match seen_a.echo_ok {
            Some(true) => {
                report.echo_us = now.saturating_duration_since(start).as_micros() as u64;
                let stats = a.stats();
                report.dtls_cipher = stats.dtls_cipher.map_or(0, |c| c.0);
                report.srtp_profile = stats.srtp_profile.map_or(0, |p| p.dtls_id());
                return Ok(report);
            }
            Some(false) => return Err(SelftestError::EchoDiffers),
            None => {}
        }
        if !moved {
            // Nothing in flight: jump to the earliest deadline.
            let next = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(limit)
                .max(now + Duration::from_micros(1));
            now = next;
            measure(Side::Offerer, &mut || a.handle_timeout(now));
            measure(Side::Answerer, &mut || b.handle_timeout(now));
        }
    }
    Err(SelftestError::Stalled)
}

/// A configuration for the self-test: a fixed seed per side (`1`, `2`...) and the given
/// certificate.
#[must_use]
pub fn config(certificate: Certificate, seed_byte: u8) -> Config {
    Config::new(certificate, [seed_byte; 32])
}

/// Two certificates made once with `Certificate::generate` and stored here, so the self-test
/// spends no key generation (the firmware counts the connect, not the setup).
pub fn certificates() -> Result<(Certificate, Certificate), peerless_dtls::CertificateError> {
    Ok((
        Certificate::from_der(CERT_A, &KEY_A)?,
        Certificate::from_der(CERT_B, &KEY_B)?,
    ))
}

include!("selftest_certs.rs");
