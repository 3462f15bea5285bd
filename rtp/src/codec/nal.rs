//! What H.264 (RFC 6184) and H.265 (RFC 7798) payloads share: NAL units sent whole, several
//! small ones aggregated, a large one fragmented, and the parameter sets repeated before each
//! keyframe. The two formats differ only in their NAL header (1 or 2 bytes), their type
//! numbers and how an aggregate's and a fragment's header are made: [`NalSyntax`].
//!
//! ```text
//!   Annex-B frame ──NalUnits──▶ unit, unit, …  (+ stored parameter sets before the first keyframe unit)
//!        unit ≤ max, next ones fit too ──▶ aggregate: hdr | len | unit | len | unit …
//!        unit ≤ max                    ──▶ single:    unit
//!        unit > max                    ──▶ fragments: hdr | fu(S) | part, hdr | fu | part, …, hdr | fu(E) | part
//!   payloads ──NalDepacketizer──▶ 00 00 00 01 unit 00 00 00 01 unit … (Annex-B)
//! ```
//!
//! Aggregation is greedy: a unit joins the aggregate when it still fits within the maximum
//! payload, the units' order is kept, and a lone unit goes as a single unit packet.

use core::marker::PhantomData;

use peerless_base::{Reader, Writer};

use super::annexb::{NalUnits, START_CODE};
use super::{CodecError, FrameInfo, Payload, PayloadInfo};

/// The parameter set kinds a format repeats before keyframes (H.264: SPS, PPS; H.265: VPS,
/// SPS, PPS); unused slots stay empty.
pub(crate) const PARAM_SLOTS: usize = 3;

/// What one payload carries, as its header says.
pub(crate) enum PayloadKind<'a> {
    /// A whole NAL unit (the payload itself).
    Single,
    /// Aggregated units: what follows the aggregation header (16-bit size, unit, …).
    Aggregate(&'a [u8]),
    /// Part of a fragmented unit.
    Fragment {
        /// The rebuilt NAL unit header (the first `HEADER_LEN` bytes are used).
        header: [u8; 2],
        start: bool,
        end: bool,
        part: &'a [u8],
    },
}

/// One format's NAL header syntax.
pub(crate) trait NalSyntax: Copy {
    /// Bytes of the NAL unit header.
    const HEADER_LEN: usize;
    /// NAL unit type of `unit` (at least `HEADER_LEN` bytes).
    fn unit_type(unit: &[u8]) -> u8;
    /// The parameter set slot of a unit type, if it is one to repeat before keyframes.
    fn param_slot(unit_type: u8) -> Option<usize>;
    /// The unit starts a keyframe (H.264 IDR, H.265 IRAP).
    fn is_keyframe(unit_type: u8) -> bool;
    /// The aggregation header for `units` (each at least `HEADER_LEN` bytes).
    fn aggregate_header<'a>(units: impl Iterator<Item = &'a [u8]>) -> [u8; 2];
    /// The fragmentation header (`HEADER_LEN + 1` bytes used) for a part of `unit`.
    fn fragment_header(unit: &[u8], start: bool, end: bool) -> [u8; 3];
    /// Reads a payload's header.
    fn classify(payload: &[u8]) -> Result<PayloadKind<'_>, CodecError>;
}

/// Packetization modes (RFC 6184 §6.2; RFC 7798 has only the second).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PacketizationMode {
    /// Mode 0: every payload is one whole NAL unit; a unit over the maximum payload is an
    /// error ([`CodecError::PayloadTooSmall`]), the encoder must make smaller slices.
    SingleNal,
    /// Mode 1: single units, aggregates of small units (STAP-A / AP) and fragments of large
    /// ones (FU-A / FU), in decoding order.
    #[default]
    NonInterleaved,
}

/// The state a NAL packetizer keeps across frames: the last parameter sets seen.
#[derive(Clone, Debug)]
pub(crate) struct NalPacketizer<S, const CAP: usize> {
    mode: PacketizationMode,
    params: [[u8; CAP]; PARAM_SLOTS],
    param_lens: [usize; PARAM_SLOTS],
    _syntax: PhantomData<S>,
}

impl<S: NalSyntax, const CAP: usize> NalPacketizer<S, CAP> {
    pub(crate) fn new(mode: PacketizationMode) -> Self {
        NalPacketizer {
            mode,
            params: [[0; CAP]; PARAM_SLOTS],
            param_lens: [0; PARAM_SLOTS],
            _syntax: PhantomData,
        }
    }

    pub(crate) fn mode(&self) -> PacketizationMode {
        self.mode
    }

    pub(crate) fn stored_param(&self, slot: usize) -> &[u8] {
        let len = self.param_lens.get(slot).copied().unwrap_or(0);
        self.params
            .get(slot)
            .and_then(|p| p.get(..len))
            .unwrap_or_default()
    }

    pub(crate) fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<NalPackets<'a, S>, CodecError> {
        let aggregate = self.mode == PacketizationMode::NonInterleaved;
        // Mode 1 must at least carry a fragment's headers and one byte; mode 0 a unit header.
        let smallest = if aggregate {
            S::HEADER_LEN + 2
        } else {
            S::HEADER_LEN
        };
        if max_payload < smallest {
            return Err(CodecError::PayloadTooSmall);
        }
        // One pass that refuses the frame before anything is remembered or sent.
        let mut present = [false; PARAM_SLOTS];
        // The last of each parameter set kind, remembered once the frame is accepted.
        let mut latest: [&[u8]; PARAM_SLOTS] = [&[]; PARAM_SLOTS];
        let mut has_keyframe = false;
        let mut any = false;
        for unit in NalUnits::new(frame)? {
            any = true;
            if unit.len() < S::HEADER_LEN {
                return Err(CodecError::Malformed);
            }
            if !aggregate && unit.len() > max_payload {
                return Err(CodecError::PayloadTooSmall);
            }
            let unit_type = S::unit_type(unit);
            if let Some(slot) = S::param_slot(unit_type) {
                if unit.len() > CAP {
                    return Err(CodecError::BufferTooSmall { needed: unit.len() });
                }
                if let (Some(p), Some(l)) = (present.get_mut(slot), latest.get_mut(slot)) {
                    *p = true;
                    *l = unit;
                }
            }
            has_keyframe |= S::is_keyframe(unit_type);
        }
        if !any {
            return Err(CodecError::Malformed);
        }
        if !aggregate && has_keyframe {
            for (slot, _) in present.iter().enumerate().filter(|(_, p)| !**p) {
                if self.stored_param(slot).len() > max_payload {
                    return Err(CodecError::PayloadTooSmall);
                }
            }
        }
        for (slot, unit) in latest.iter().enumerate().filter(|(_, u)| !u.is_empty()) {
            if let (Some(store), Some(len)) =
                (self.params.get_mut(slot), self.param_lens.get_mut(slot))
                && let Some(room) = store.get_mut(..unit.len())
            {
                room.copy_from_slice(unit);
                *len = unit.len();
            }
        }
        let mut inject: [&[u8]; PARAM_SLOTS] = [&[]; PARAM_SLOTS];
        if has_keyframe {
            for (slot, (dst, present)) in inject.iter_mut().zip(present).enumerate() {
                if !present {
                    *dst = self.stored_param(slot);
                }
            }
        }
        Ok(NalPackets {
            units: Units {
                nals: NalUnits::new(frame)?,
                inject,
                pending_inject: inject.iter().any(|p| !p.is_empty()),
                injecting: None,
                _syntax: PhantomData,
            },
            fragment: None,
            max_payload,
            aggregate,
        })
    }
}

/// The frame's units in sending order, with the stored parameter sets the frame lacks put
/// just before its first keyframe unit (like rtph264pay's config-interval=-1).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Units<'a, S> {
    nals: NalUnits<'a>,
    inject: [&'a [u8]; PARAM_SLOTS],
    pending_inject: bool,
    injecting: Option<usize>,
    _syntax: PhantomData<S>,
}

impl<'a, S: NalSyntax> Iterator for Units<'a, S> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if let Some(slot) = self.injecting {
                self.injecting = (slot + 1 < PARAM_SLOTS).then_some(slot + 1);
                match self.inject.get(slot) {
                    Some(unit) if !unit.is_empty() => return Some(unit),
                    _ => continue,
                }
            }
            let mut ahead = self.nals;
            let unit = ahead.next()?;
            if self.pending_inject && S::is_keyframe(S::unit_type(unit)) {
                self.pending_inject = false;
                self.injecting = Some(0);
                continue;
            }
            self.nals = ahead;
            return Some(unit);
        }
    }
}

impl<S: NalSyntax> Units<'_, S> {
    /// No unit is left (the cursor itself does not move).
    fn is_done(&self) -> bool {
        let mut ahead = *self;
        ahead.next().is_none()
    }
}

/// One frame's payloads.
#[derive(Clone, Debug)]
pub(crate) struct NalPackets<'a, S> {
    units: Units<'a, S>,
    /// A unit being fragmented, and how much of it was sent.
    fragment: Option<(&'a [u8], usize)>,
    max_payload: usize,
    aggregate: bool,
}

impl<S: NalSyntax> NalPackets<'_, S> {
    pub(crate) fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        if let Some((unit, sent)) = self.fragment {
            return Some(self.write_fragment(unit, sent, out).map(|(len, end)| {
                self.fragment = match end {
                    true => None,
                    false => Some((unit, sent + len - (S::HEADER_LEN + 1))),
                };
                let marker = end && self.units.is_done();
                Payload { len, marker }
            }));
        }

        let mut units = self.units;
        let unit = units.next()?;
        if unit.len() > self.max_payload {
            // Too large to go whole: the first fragment, and never the last (a fragment holds
            // at most max_payload - HEADER_LEN - 1 bytes of the rest).
            return Some(
                self.write_fragment(unit, S::HEADER_LEN, out)
                    .map(|(len, _)| {
                        self.units = units;
                        self.fragment = Some((unit, S::HEADER_LEN + len - (S::HEADER_LEN + 1)));
                        Payload { len, marker: false }
                    }),
            );
        }

        // How many of the following units fit with this one into one aggregate.
        let mut count = 1;
        let mut size = S::HEADER_LEN + 2 + unit.len();
        let mut after = units;
        if self.aggregate && unit.len() <= usize::from(u16::MAX) {
            let mut ahead = units;
            while let Some(next) = ahead.next() {
                if size + 2 + next.len() > self.max_payload || next.len() > usize::from(u16::MAX) {
                    break;
                }
                size += 2 + next.len();
                count += 1;
                after = ahead;
            }
        }
        let written = if count == 1 {
            write(out, &[unit])
        } else {
            let list = self.units.take(count);
            let header = S::aggregate_header(list.clone());
            let mut w = Writer::new(out);
            w.bytes(header.get(..S::HEADER_LEN).unwrap_or_default());
            for u in list {
                // Only units of at most 16 bits' size are aggregated (checked above).
                w.u16(u16::try_from(u.len()).unwrap_or(u16::MAX));
                w.bytes(u);
            }
            w.finish()
                .map_err(|_| CodecError::BufferTooSmall { needed: size })
        };
        Some(written.map(|len| {
            self.units = after;
            let marker = self.units.is_done();
            Payload { len, marker }
        }))
    }

    /// Writes the fragment of `unit` from `sent`: returns the payload length and whether it
    /// ends the unit.
    fn write_fragment(
        &self,
        unit: &[u8],
        sent: usize,
        out: &mut [u8],
    ) -> Result<(usize, bool), CodecError> {
        let overhead = S::HEADER_LEN + 1;
        let rest = unit.get(sent..).unwrap_or_default();
        let part_len = rest.len().min(self.max_payload - overhead);
        let end = part_len == rest.len();
        let part = rest.get(..part_len).unwrap_or_default();
        let header = S::fragment_header(unit, sent == S::HEADER_LEN, end);
        let len = write(out, &[header.get(..overhead).unwrap_or_default(), part])?;
        Ok((len, end))
    }
}

/// Writes `parts` one after the other at the start of `out`.
fn write(out: &mut [u8], parts: &[&[u8]]) -> Result<usize, CodecError> {
    let needed = parts.iter().map(|p| p.len()).sum();
    let mut w = Writer::new(out);
    for part in parts {
        w.bytes(part);
    }
    w.finish()
        .map_err(|_| CodecError::BufferTooSmall { needed })
}

/// Rebuilds an Annex-B frame from one frame's payloads.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct NalDepacketizer<S> {
    in_fragment: bool,
    keyframe: bool,
    units: usize,
    _syntax: PhantomData<S>,
}

impl<S: NalSyntax> NalDepacketizer<S> {
    pub(crate) fn new() -> Self {
        NalDepacketizer {
            in_fragment: false,
            keyframe: false,
            units: 0,
            _syntax: PhantomData,
        }
    }

    pub(crate) fn inspect(
        payload: &[u8],
        is_keyframe_hint: fn(u8) -> bool,
    ) -> Result<PayloadInfo, CodecError> {
        Ok(match S::classify(payload)? {
            PayloadKind::Single => PayloadInfo {
                starts_frame: true,
                keyframe: is_keyframe_hint(S::unit_type(payload)),
            },
            PayloadKind::Aggregate(body) => {
                let mut keyframe = false;
                for unit in aggregated::<S>(body) {
                    keyframe |= is_keyframe_hint(S::unit_type(unit?));
                }
                PayloadInfo {
                    starts_frame: true,
                    keyframe,
                }
            }
            PayloadKind::Fragment { header, start, .. } => PayloadInfo {
                starts_frame: start,
                keyframe: start && is_keyframe_hint(S::unit_type(&header)),
            },
        })
    }

    pub(crate) fn push(
        &mut self,
        payload: &[u8],
        frame: &mut super::FrameBuf<'_>,
    ) -> Result<(), CodecError> {
        match S::classify(payload)? {
            PayloadKind::Single => {
                if self.in_fragment {
                    return Err(CodecError::Malformed);
                }
                self.unit(payload, frame)?;
            }
            PayloadKind::Aggregate(body) => {
                if self.in_fragment {
                    return Err(CodecError::Malformed);
                }
                // Checked whole first, so a bad aggregate adds nothing to the frame.
                for unit in aggregated::<S>(body) {
                    unit?;
                }
                for unit in aggregated::<S>(body).flatten() {
                    self.unit(unit, frame)?;
                }
            }
            PayloadKind::Fragment {
                header,
                start,
                end,
                part,
            } => {
                if start {
                    if self.in_fragment {
                        return Err(CodecError::Malformed);
                    }
                    let header = header.get(..S::HEADER_LEN).unwrap_or_default();
                    frame.extend(&START_CODE)?;
                    frame.extend(header)?;
                    self.note(header);
                } else if !self.in_fragment {
                    return Err(CodecError::Malformed);
                }
                frame.extend(part)?;
                self.in_fragment = !end;
            }
        }
        Ok(())
    }

    fn unit(&mut self, unit: &[u8], frame: &mut super::FrameBuf<'_>) -> Result<(), CodecError> {
        frame.extend(&START_CODE)?;
        frame.extend(unit)?;
        self.note(unit);
        Ok(())
    }

    fn note(&mut self, unit: &[u8]) {
        self.units += 1;
        self.keyframe |= S::is_keyframe(S::unit_type(unit));
    }

    pub(crate) fn finish(&mut self, frame: &super::FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        let done = !self.in_fragment && self.units > 0;
        let info = FrameInfo {
            len: frame.len(),
            keyframe: self.keyframe,
        };
        self.reset();
        if done {
            Ok(info)
        } else {
            Err(CodecError::Incomplete)
        }
    }

    pub(crate) fn reset(&mut self) {
        *self = Self::new();
    }
}

/// The units of an aggregate's body (16-bit size, unit, …); an error for an empty, short or
/// truncated unit.
fn aggregated<S: NalSyntax>(body: &[u8]) -> impl Iterator<Item = Result<&[u8], CodecError>> + '_ {
    let mut r = Reader::new(body);
    let mut failed = false;
    core::iter::from_fn(move || {
        if failed || r.is_empty() {
            return None;
        }
        let unit = r
            .u16()
            .ok()
            .and_then(|len| r.take(usize::from(len)).ok())
            .filter(|u| u.len() >= S::HEADER_LEN);
        failed = unit.is_none();
        Some(unit.ok_or(CodecError::Malformed))
    })
}
