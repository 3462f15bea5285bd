//! VP9 over RTP (RFC 9628).
//!
//! ```text
//!   frame (as in IVF) ──Vp9Packetizer──▶ [descriptor (+SS on a keyframe's first) | slice] … (marker on the last)
//!
//!   payload descriptor (§4.2):
//!         0 1 2 3 4 5 6 7
//!        +-+-+-+-+-+-+-+-+
//!        |I|P|L|F|B|E|V|Z|  P: inter-picture predicted  F: flexible mode  B/E: first/last
//!        +-+-+-+-+-+-+-+-+     payload of a layer frame  V: SS follows  Z: no upper-layer reference
//!   I:   |M| PICTURE ID  |
//!   M:   | EXTENDED PID  |
//!   L:   | TID |U| SID |D|  temporal and spatial layer, switching up point, inter-layer dependency
//!        |   TL0PICIDX   |  (non-flexible mode only)
//!   P,F: | P_DIFF      |N|  up to 3 reference differences (flexible mode, P set)
//!   V:   | SS            |  scalability structure (§4.2.1)
//!
//!   SS:  | N_S |Y|G|-|-|-|  N_S + 1 spatial layers; Y: their resolutions follow; G: a picture group
//!        | WIDTH  HEIGHT |  × (N_S + 1), 16 bits each, when Y
//!        |      N_G      |  when G
//!        | TID |U| R |-|-|  × N_G, each followed by R P_DIFF octets
//! ```
//!
//! A picture (one RTP timestamp, the marker on its last payload) holds one layer frame per
//! spatial layer; the depacketizer appends them in order and reports which layers came. It
//! does not build a VP9 superframe index for several spatial layers: a decoder fed one layer
//! (the common single-layer stream) gets exactly the encoder's frame.
//!
//! A keyframe is a picture whose first payload has P clear and whose frame header says
//! KEY_FRAME: senders that never set P (ffmpeg's) are read right.
//!
//! The packetizer sends one spatial and one temporal layer, as GStreamer's `rtpvp9pay` and
//! ffmpeg do: non-flexible mode with a scalability structure on each keyframe (the frame's
//! resolution, one picture group referring to the previous picture), or flexible mode with a
//! reference difference of one on each inter picture. All payloads of a frame carry the same
//! amount of media, sized for the frame's largest descriptor.

use peerless_base::Writer;

use super::vp8::PictureIdMode;
use super::{
    CodecError, Depacketizer, FrameBuf, FrameInfo, Packetizer, Packets, Payload, PayloadInfo,
};

/// The layer indices of a payload (L bit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9Layers {
    /// TID: the temporal layer.
    pub temporal: u8,
    /// U: switching up point: a higher temporal layer may start from here.
    pub switching_up: bool,
    /// SID: the spatial layer.
    pub spatial: u8,
    /// D: the layer frame depends on the lower spatial layer of the same picture.
    pub inter_layer_dependency: bool,
    /// TL0PICIDX, in non-flexible mode.
    pub tl0_pic_idx: Option<u8>,
}

/// The payload descriptor of one VP9 payload (RFC 9628 §4.2), without the SS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9Descriptor {
    /// P: the frame uses inter-picture prediction (clear on a keyframe's base layer).
    pub inter_picture: bool,
    /// F: flexible mode (references in the descriptor, no TL0PICIDX).
    pub flexible: bool,
    /// B: the first payload of a layer frame.
    pub start_of_frame: bool,
    /// E: the last payload of a layer frame.
    pub end_of_frame: bool,
    /// V: a scalability structure follows the descriptor.
    pub has_scalability_structure: bool,
    /// Z: upper spatial layers of this picture do not refer to this frame.
    pub not_upper_reference: bool,
    /// I: the picture id, 7 or 15 bits as `long_picture_id` says.
    pub picture_id: Option<u16>,
    /// M: the picture id is 15 bits wide.
    pub long_picture_id: bool,
    /// L: the layer indices.
    pub layers: Option<Vp9Layers>,
    /// P_DIFF: in flexible mode, how many pictures back each reference is (the first
    /// `reference_count`).
    pub reference_diffs: [u8; 3],
    /// How many of `reference_diffs` are present.
    pub reference_count: u8,
}

/// The scalability structure (SS) of a payload: a view over its octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9ScalabilityStructure<'a> {
    spatial_layers: u8,
    resolutions: Option<&'a [u8]>,
    groups: Option<(u8, &'a [u8])>,
}

/// One entry of the SS's picture group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9PictureGroupEntry<'a> {
    /// The picture's temporal layer.
    pub temporal: u8,
    /// A switching up point.
    pub switching_up: bool,
    /// How many pictures back each reference is.
    pub reference_diffs: &'a [u8],
}

impl<'a> Vp9ScalabilityStructure<'a> {
    fn parse(input: &'a [u8]) -> Result<(Self, usize), CodecError> {
        let first = *input.first().ok_or(CodecError::Malformed)?;
        let spatial_layers = (first >> 5) + 1;
        let mut at = 1usize;
        let resolutions = if first & 0x10 != 0 {
            let len = usize::from(spatial_layers) * 4;
            let r = input.get(at..at + len).ok_or(CodecError::Malformed)?;
            at += len;
            Some(r)
        } else {
            None
        };
        let groups = if first & 0x08 != 0 {
            let count = *input.get(at).ok_or(CodecError::Malformed)?;
            at += 1;
            let start = at;
            for _ in 0..count {
                let entry = *input.get(at).ok_or(CodecError::Malformed)?;
                at += 1 + usize::from((entry >> 2) & 0x03);
            }
            let g = input.get(start..at).ok_or(CodecError::Malformed)?;
            Some((count, g))
        } else {
            None
        };
        Ok((
            Vp9ScalabilityStructure {
                spatial_layers,
                resolutions,
                groups,
            },
            at,
        ))
    }

    /// How many spatial layers the stream has (N_S + 1).
    #[must_use]
    pub fn spatial_layers(&self) -> u8 {
        self.spatial_layers
    }

    /// The width and height of spatial layer `index`, when the SS gives them (Y).
    #[must_use]
    pub fn resolution(&self, index: u8) -> Option<(u16, u16)> {
        let at = usize::from(index) * 4;
        let r = self.resolutions?.get(at..at + 4)?;
        let mut b = [0u8; 4];
        b.copy_from_slice(r);
        Some((
            u16::from_be_bytes([b[0], b[1]]),
            u16::from_be_bytes([b[2], b[3]]),
        ))
    }

    /// How many entries the picture group has, when the SS describes one (G).
    #[must_use]
    pub fn picture_group_len(&self) -> Option<u8> {
        self.groups.map(|(n, _)| n)
    }

    /// The picture group's entries.
    pub fn picture_group(&self) -> impl Iterator<Item = Vp9PictureGroupEntry<'a>> + 'a {
        let mut rest = self.groups.map_or(&[][..], |(_, g)| g);
        core::iter::from_fn(move || {
            let (&entry, tail) = rest.split_first()?;
            let refs = usize::from((entry >> 2) & 0x03);
            let diffs = tail.get(..refs)?;
            rest = tail.get(refs..).unwrap_or_default();
            Some(Vp9PictureGroupEntry {
                temporal: entry >> 5,
                switching_up: entry & 0x10 != 0,
                reference_diffs: diffs,
            })
        })
    }
}

/// A parsed payload: the descriptor, the SS if present, and the media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9Payload<'a> {
    /// The descriptor.
    pub descriptor: Vp9Descriptor,
    /// The scalability structure (V).
    pub scalability_structure: Option<Vp9ScalabilityStructure<'a>>,
    /// The VP9 bitstream octets.
    pub media: &'a [u8],
}

impl<'a> Vp9Payload<'a> {
    /// Reads a payload.
    ///
    /// # Errors
    ///
    /// [`CodecError::Malformed`] when it ends inside the descriptor or the SS, or has more
    /// than three reference differences.
    pub fn parse(payload: &'a [u8]) -> Result<Self, CodecError> {
        let mut at = 0usize;
        let octet = |at: &mut usize| -> Result<u8, CodecError> {
            let b = payload.get(*at).copied().ok_or(CodecError::Malformed)?;
            *at += 1;
            Ok(b)
        };
        let first = octet(&mut at)?;
        let mut d = Vp9Descriptor {
            inter_picture: first & 0x40 != 0,
            flexible: first & 0x10 != 0,
            start_of_frame: first & 0x08 != 0,
            end_of_frame: first & 0x04 != 0,
            has_scalability_structure: first & 0x02 != 0,
            not_upper_reference: first & 0x01 != 0,
            ..Vp9Descriptor::default()
        };
        if first & 0x80 != 0 {
            let high = octet(&mut at)?;
            if high & 0x80 != 0 {
                d.long_picture_id = true;
                d.picture_id = Some(u16::from(high & 0x7f) << 8 | u16::from(octet(&mut at)?));
            } else {
                d.picture_id = Some(u16::from(high));
            }
        }
        if first & 0x20 != 0 {
            let l = octet(&mut at)?;
            d.layers = Some(Vp9Layers {
                temporal: l >> 5,
                switching_up: l & 0x10 != 0,
                spatial: (l >> 1) & 0x07,
                inter_layer_dependency: l & 0x01 != 0,
                tl0_pic_idx: if d.flexible {
                    None
                } else {
                    Some(octet(&mut at)?)
                },
            });
        }
        if d.flexible && d.inter_picture {
            loop {
                let diff = octet(&mut at)?;
                let slot = d
                    .reference_diffs
                    .get_mut(usize::from(d.reference_count))
                    .ok_or(CodecError::Malformed)?;
                *slot = diff >> 1;
                d.reference_count += 1;
                if diff & 0x01 == 0 {
                    break;
                }
            }
        }
        let rest = payload.get(at..).ok_or(CodecError::Malformed)?;
        let (scalability_structure, media) = if d.has_scalability_structure {
            let (ss, len) = Vp9ScalabilityStructure::parse(rest)?;
            (Some(ss), rest.get(len..).ok_or(CodecError::Malformed)?)
        } else {
            (None, rest)
        };
        Ok(Vp9Payload {
            descriptor: d,
            scalability_structure,
            media,
        })
    }
}

/// What a [`Vp9Packetizer`] writes besides the media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9Config {
    /// The picture id's width (RFC 9628 recommends 15 bits).
    pub picture_id: PictureIdMode,
    /// The first frame's picture id; each frame adds one.
    pub first_picture_id: u16,
    /// Flexible mode (references in every inter picture's descriptor) instead of
    /// non-flexible mode (a picture group in the keyframe's SS).
    pub flexible: bool,
    /// Send the scalability structure on each keyframe's first payload.
    pub scalability_structure: bool,
}

impl Default for Vp9Config {
    fn default() -> Self {
        Vp9Config {
            picture_id: PictureIdMode::Bits15,
            first_picture_id: 0,
            flexible: false,
            scalability_structure: true,
        }
    }
}

/// What the packetizer reads from a frame's uncompressed header (VP9 bitstream §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FrameHeader {
    keyframe: bool,
    /// Width and height, on keyframes.
    size: Option<(u16, u16)>,
}

/// An MSB-first bit reader that fails past the end.
struct Bits<'a> {
    input: &'a [u8],
    bit: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = self.input.get(self.bit / 8)?;
            v = v << 1 | u32::from(byte >> (7 - self.bit % 8) & 1);
            self.bit += 1;
        }
        Some(v)
    }
}

impl FrameHeader {
    fn parse(frame: &[u8]) -> Option<FrameHeader> {
        let mut b = Bits {
            input: frame,
            bit: 0,
        };
        if b.read(2)? != 2 {
            return None; // frame_marker
        }
        let low = b.read(1)?;
        let profile = b.read(1)? << 1 | low;
        if profile == 3 {
            b.read(1)?; // reserved_zero
        }
        if b.read(1)? == 1 {
            // show_existing_frame: a repeat of a decoded frame, never a keyframe
            return Some(FrameHeader {
                keyframe: false,
                size: None,
            });
        }
        let keyframe = b.read(1)? == 0;
        b.read(2)?; // show_frame, error_resilient_mode
        if !keyframe {
            return Some(FrameHeader {
                keyframe,
                size: None,
            });
        }
        if b.read(24)? != 0x49_83_42 {
            return None; // sync code
        }
        if profile >= 2 {
            b.read(1)?; // ten_or_twelve_bit
        }
        let colour_space = b.read(3)?;
        let odd_profile = profile == 1 || profile == 3;
        if colour_space != 7 {
            b.read(1)?; // colour range
            if odd_profile {
                b.read(3)?; // subsampling x and y, reserved_zero
            }
        } else if odd_profile {
            b.read(1)?; // reserved_zero
        }
        let width = b.read(16)? + 1;
        let height = b.read(16)? + 1;
        Some(FrameHeader {
            keyframe,
            size: Some((
                u16::try_from(width).unwrap_or(u16::MAX),
                u16::try_from(height).unwrap_or(u16::MAX),
            )),
        })
    }
}

/// Turns VP9 frames into RTP payloads: one spatial and one temporal layer.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9Packetizer {
    config: Vp9Config,
    next_picture_id: u16,
}

fn wrap(mode: PictureIdMode, id: u16) -> u16 {
    match mode {
        PictureIdMode::Bits7 => id & 0x7f,
        PictureIdMode::Bits15 => id & 0x7fff,
        _ => 0,
    }
}

impl Vp9Packetizer {
    /// A packetizer whose first frame gets `config.first_picture_id`.
    #[must_use]
    pub fn new(config: Vp9Config) -> Self {
        Vp9Packetizer {
            config,
            next_picture_id: wrap(config.picture_id, config.first_picture_id),
        }
    }

    /// The picture id the next frame will carry (`None` without picture ids).
    #[must_use]
    pub fn next_picture_id(&self) -> Option<u16> {
        (self.config.picture_id != PictureIdMode::None).then_some(self.next_picture_id)
    }
}

impl Default for Vp9Packetizer {
    fn default() -> Self {
        Vp9Packetizer::new(Vp9Config::default())
    }
}

impl Packetizer for Vp9Packetizer {
    type Packets<'a> = Vp9Packets<'a>;

    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<Vp9Packets<'a>, CodecError> {
        let header = FrameHeader::parse(frame).ok_or(CodecError::Malformed)?;
        let mode = self.config.picture_id;
        let picture_id = (mode != PictureIdMode::None).then_some(self.next_picture_id);
        let ss = match header.size {
            Some(size) if self.config.scalability_structure => Some(size),
            _ => None,
        };
        let first = FirstPayload {
            picture_id,
            long_picture_id: mode == PictureIdMode::Bits15,
            keyframe: header.keyframe,
            flexible: self.config.flexible,
            ss,
        };
        let media_per_payload = max_payload
            .checked_sub(first.descriptor_len(true))
            .filter(|&n| n > 0)
            .ok_or(CodecError::PayloadTooSmall)?;
        self.next_picture_id = wrap(mode, self.next_picture_id.wrapping_add(1));
        Ok(Vp9Packets {
            frame,
            offset: 0,
            media_per_payload,
            first,
        })
    }
}

/// The descriptor fields fixed for a frame.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct FirstPayload {
    picture_id: Option<u16>,
    long_picture_id: bool,
    keyframe: bool,
    flexible: bool,
    ss: Option<(u16, u16)>,
}

/// The SS for one layer: its resolution and one picture group entry (TID 0, one reference
/// to the previous picture): octets N_S/Y/G, width, height, N_G, the entry, its P_DIFF.
const SS_LEN: usize = 8;

impl FirstPayload {
    fn descriptor_len(&self, start: bool) -> usize {
        let pid = match self.picture_id {
            None => 0,
            Some(_) if self.long_picture_id => 2,
            Some(_) => 1,
        };
        let refs = usize::from(self.flexible && !self.keyframe);
        let ss = if start && self.ss.is_some() {
            SS_LEN
        } else {
            0
        };
        1 + pid + refs + ss
    }

    fn emit(&self, start: bool, end: bool, w: &mut Writer<'_>) {
        let ss = self.ss.filter(|_| start);
        w.u8(u8::from(self.picture_id.is_some()) << 7
            | u8::from(!self.keyframe) << 6
            | u8::from(self.flexible) << 4
            | u8::from(start) << 3
            | u8::from(end) << 2
            | u8::from(ss.is_some()) << 1);
        match self.picture_id {
            Some(id) if self.long_picture_id => w.u16(0x8000 | (id & 0x7fff)),
            Some(id) => w.u8((id & 0x7f) as u8),
            None => {}
        }
        if self.flexible && !self.keyframe {
            w.u8(1 << 1); // P_DIFF 1, no further reference
        }
        if let Some((width, height)) = ss {
            w.u8(0x18); // N_S = 0 (one layer), Y, G
            w.u16(width);
            w.u16(height);
            w.u8(1); // N_G
            w.u8(0x04); // TID 0, U 0, R 1
            w.u8(1); // P_DIFF
        }
    }
}

/// One VP9 frame's payloads; see [`Vp9Packetizer`].
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9Packets<'a> {
    frame: &'a [u8],
    offset: usize,
    media_per_payload: usize,
    first: FirstPayload,
}

impl Packets for Vp9Packets<'_> {
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        let rest = self.frame.get(self.offset..).filter(|r| !r.is_empty())?;
        let media = rest.get(..self.media_per_payload).unwrap_or(rest);
        let start = self.offset == 0;
        let end = media.len() == rest.len();
        let needed = self.first.descriptor_len(start) + media.len();
        if out.len() < needed {
            return Some(Err(CodecError::BufferTooSmall { needed }));
        }
        let mut w = Writer::new(out);
        self.first.emit(start, end, &mut w);
        w.bytes(media);
        Some(match w.finish() {
            Ok(len) => {
                self.offset += media.len();
                Ok(Payload { len, marker: end })
            }
            Err(e) => Err(CodecError::BufferTooSmall { needed: e.needed }),
        })
    }
}

/// What the depacketizer learned of the picture it last finished (or is building).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9PictureInfo {
    /// The picture id, if sent.
    pub picture_id: Option<u16>,
    /// Bit `n` set: a layer frame of spatial layer `n` came (bit 0 without layer indices).
    pub spatial_layers: u8,
    /// The picture's temporal layer (0 without layer indices).
    pub temporal_layer: u8,
    /// TL0PICIDX, in non-flexible mode with layer indices.
    pub tl0_pic_idx: Option<u8>,
    /// Flexible mode.
    pub flexible: bool,
}

/// The stream's layout from the last scalability structure seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9StreamLayout {
    /// Spatial layers (N_S + 1).
    pub spatial_layers: u8,
    /// Each spatial layer's width and height, when given.
    pub resolutions: [Option<(u16, u16)>; 8],
    /// Entries of the picture group, when given.
    pub picture_group_len: Option<u8>,
}

/// Rebuilds VP9 pictures from payloads, reporting layers and the scalability structure.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp9Depacketizer {
    building: Option<Building>,
    picture: Vp9PictureInfo,
    layout: Option<Vp9StreamLayout>,
}

#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Building {
    keyframe: bool,
    /// The last payload pushed ended its layer frame (E).
    layer_ended: bool,
    last_spatial: Option<u8>,
}

impl Vp9Depacketizer {
    /// A depacketizer waiting for a picture's first payload.
    #[must_use]
    pub fn new() -> Self {
        Vp9Depacketizer::default()
    }

    /// The picture last finished, or being built: picture id and layers received.
    #[must_use]
    pub fn picture(&self) -> Vp9PictureInfo {
        self.picture
    }

    /// The stream's layout from the last scalability structure received.
    #[must_use]
    pub fn layout(&self) -> Option<Vp9StreamLayout> {
        self.layout
    }
}

/// The payload can open a picture: a layer frame's start that needs no lower layer of the
/// picture (the base layer, or an upper one without inter-layer dependency, as an SFU that
/// dropped the lower layers forwards it).
fn opens_picture(d: &Vp9Descriptor) -> bool {
    d.start_of_frame
        && d.layers
            .is_none_or(|l| l.spatial == 0 || !l.inter_layer_dependency)
}

/// A keyframe starts here: P clear, and the frame header agrees when it can be read (ffmpeg's
/// packetizer never sets P, so the bitstream's frame type decides for it).
fn keyframe_start(d: &Vp9Descriptor, media: &[u8]) -> bool {
    opens_picture(d) && keyframe_bits(d, media)
}

fn keyframe_bits(d: &Vp9Descriptor, media: &[u8]) -> bool {
    !d.inter_picture && FrameHeader::parse(media).is_none_or(|h| h.keyframe)
}

impl Depacketizer for Vp9Depacketizer {
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        let p = Vp9Payload::parse(payload)?;
        let d = p.descriptor;
        let base_layer = d.layers.is_none_or(|l| l.spatial == 0);
        Ok(PayloadInfo {
            starts_frame: d.start_of_frame && base_layer,
            keyframe: d.start_of_frame && base_layer && keyframe_bits(&d, p.media),
        })
    }

    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError> {
        let p = Vp9Payload::parse(payload)?;
        let d = p.descriptor;
        let spatial = d.layers.map(|l| l.spatial);
        let building = match self.building {
            None if opens_picture(&d) => {
                self.picture = Vp9PictureInfo {
                    picture_id: d.picture_id,
                    spatial_layers: 0,
                    temporal_layer: d.layers.map_or(0, |l| l.temporal),
                    tl0_pic_idx: d.layers.and_then(|l| l.tl0_pic_idx),
                    flexible: d.flexible,
                };
                Building {
                    keyframe: keyframe_start(&d, p.media),
                    layer_ended: false,
                    last_spatial: None,
                }
            }
            // A layer frame's start after the previous one ended, in a higher spatial layer of
            // the same picture; or a continuation of an unfinished layer frame.
            Some(b)
                if d.picture_id == self.picture.picture_id
                    && if d.start_of_frame {
                        b.layer_ended && spatial > b.last_spatial
                    } else {
                        !b.layer_ended && spatial == b.last_spatial
                    } =>
            {
                b
            }
            _ => return Err(CodecError::Malformed),
        };
        frame.extend(p.media)?;
        if let Some(ss) = p.scalability_structure {
            let mut layout = Vp9StreamLayout {
                spatial_layers: ss.spatial_layers(),
                picture_group_len: ss.picture_group_len(),
                ..Vp9StreamLayout::default()
            };
            for (i, r) in (0u8..).zip(layout.resolutions.iter_mut()) {
                *r = ss.resolution(i);
            }
            self.layout = Some(layout);
        }
        self.picture.spatial_layers |= 1 << spatial.unwrap_or(0);
        self.building = Some(Building {
            layer_ended: d.end_of_frame,
            last_spatial: spatial,
            ..building
        });
        Ok(())
    }

    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        let b = self.building.take().ok_or(CodecError::Incomplete)?;
        if !b.layer_ended {
            return Err(CodecError::Incomplete);
        }
        Ok(FrameInfo {
            len: frame.len(),
            keyframe: b.keyframe,
        })
    }

    fn reset(&mut self) {
        self.building = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_of_a_profile_0_keyframe() {
        // frame_marker 2, profile 0, show_existing 0, key, show, not resilient; sync code;
        // colour space 2 (BT.709), range 0; width-1 = 319, height-1 = 239.
        let mut out = std::vec![0x82, 0x49, 0x83, 0x42];
        let (mut bits, mut n) = (0u64, 0);
        for (v, w) in [(2u64, 3), (0, 1), (319, 16), (239, 16), (0, 4)] {
            bits = bits << w | v;
            n += w;
        }
        for i in (0..n / 8).rev() {
            out.push((bits >> (i * 8)) as u8);
        }
        assert_eq!(
            FrameHeader::parse(&out),
            Some(FrameHeader {
                keyframe: true,
                size: Some((320, 240))
            })
        );
        assert_eq!(FrameHeader::parse(&[0x86]).map(|h| h.keyframe), Some(false));
        assert_eq!(FrameHeader::parse(&[0x00]), None);
    }
}
