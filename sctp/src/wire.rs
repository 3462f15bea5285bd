//! SCTP packets, chunks and parameters: checked views and emitters (RFC 9260 §3, RFC 3758,
//! RFC 6525, RFC 9653).
//!
//! ```text
//!  packet = common header (12 B: src port, dst port, verification tag, CRC32c)
//!           chunk* : type(1) flags(1) length(2) value(length-4) pad-to-4
//!  chunk value of INIT/INIT-ACK/RE-CONFIG = fixed fields + parameter*
//!           parameter : type(2) length(2) value(length-4) pad-to-4
//! ```
//!
//! Every view is checked once at `parse`; its accessors cannot fail afterwards. Unknown chunk
//! and parameter types are kept as their newtype codepoint, so they round-trip, and the upper
//! two bits of the codepoint say what a receiver does with them ([`UnknownAction`]).

use core::fmt;

use peerless_base::{ReadError, Reader, Writer};

/// Length of the SCTP common header.
pub const COMMON_HEADER_LEN: usize = 12;
/// Length of a DATA chunk header (type, flags, length, TSN, stream, SSN, PPID).
pub const DATA_HEADER_LEN: usize = 16;

/// Why bytes are not a well-formed SCTP packet, chunk or parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The input ends inside a header or field.
    Truncated,
    /// A length field is smaller than its header or runs past the input.
    BadLength,
    /// A field has a value the RFC forbids (zero stream count, zero verification tag...).
    Invalid,
}

impl From<ReadError> for Error {
    fn from(_: ReadError) -> Self {
        Error::Truncated
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated SCTP packet",
            Error::BadLength => "bad SCTP length field",
            Error::Invalid => "invalid SCTP field value",
        })
    }
}

impl core::error::Error for Error {}

/// What a receiver does with a chunk or parameter type it does not know: the two upper bits of
/// the codepoint (RFC 9260 §3.2, §3.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum UnknownAction {
    /// `00`: stop processing and discard the packet (or the rest of the parameters).
    Stop,
    /// `01`: stop, discard, and report it in an ERROR (or an Unrecognized Parameter).
    StopAndReport,
    /// `10`: skip it and go on.
    Skip,
    /// `11`: skip it, go on, and report it.
    SkipAndReport,
}

impl UnknownAction {
    fn from_top_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b00 => UnknownAction::Stop,
            0b01 => UnknownAction::StopAndReport,
            0b10 => UnknownAction::Skip,
            _ => UnknownAction::SkipAndReport,
        }
    }

    /// Whether the receiver carries on after it.
    #[must_use]
    pub fn continues(self) -> bool {
        matches!(self, UnknownAction::Skip | UnknownAction::SkipAndReport)
    }

    /// Whether the receiver reports it to the sender.
    #[must_use]
    pub fn reports(self) -> bool {
        matches!(
            self,
            UnknownAction::StopAndReport | UnknownAction::SkipAndReport
        )
    }
}

/// A chunk type codepoint (RFC 9260 §3.2; RFC 3758; RFC 6525).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChunkType(pub u8);

impl ChunkType {
    /// Payload data.
    pub const DATA: ChunkType = ChunkType(0);
    /// Initiation.
    pub const INIT: ChunkType = ChunkType(1);
    /// Initiation acknowledgement.
    pub const INIT_ACK: ChunkType = ChunkType(2);
    /// Selective acknowledgement.
    pub const SACK: ChunkType = ChunkType(3);
    /// Heartbeat request.
    pub const HEARTBEAT: ChunkType = ChunkType(4);
    /// Heartbeat acknowledgement.
    pub const HEARTBEAT_ACK: ChunkType = ChunkType(5);
    /// Abort.
    pub const ABORT: ChunkType = ChunkType(6);
    /// Shutdown.
    pub const SHUTDOWN: ChunkType = ChunkType(7);
    /// Shutdown acknowledgement.
    pub const SHUTDOWN_ACK: ChunkType = ChunkType(8);
    /// Operation error.
    pub const ERROR: ChunkType = ChunkType(9);
    /// State cookie.
    pub const COOKIE_ECHO: ChunkType = ChunkType(10);
    /// Cookie acknowledgement.
    pub const COOKIE_ACK: ChunkType = ChunkType(11);
    /// Shutdown complete.
    pub const SHUTDOWN_COMPLETE: ChunkType = ChunkType(14);
    /// Stream reconfiguration (RFC 6525).
    pub const RE_CONFIG: ChunkType = ChunkType(0x82);
    /// Forward cumulative TSN (RFC 3758).
    pub const FORWARD_TSN: ChunkType = ChunkType(0xC0);

    /// What to do with this type if it is unknown.
    #[must_use]
    pub fn unknown_action(self) -> UnknownAction {
        UnknownAction::from_top_bits(self.0 >> 6)
    }

    /// Whether this implementation understands the type.
    #[must_use]
    pub fn is_known(self) -> bool {
        matches!(self.0, 0..=11 | 14 | 0x82 | 0xC0)
    }
}

/// A parameter type codepoint (INIT/INIT-ACK parameters, RE-CONFIG parameters, RFC 9653).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParamType(pub u16);

impl ParamType {
    /// Heartbeat information (HEARTBEAT and HEARTBEAT-ACK).
    pub const HEARTBEAT_INFO: ParamType = ParamType(1);
    /// IPv4 address (meaningless over DTLS: ignored).
    pub const IPV4_ADDRESS: ParamType = ParamType(5);
    /// IPv6 address (meaningless over DTLS: ignored).
    pub const IPV6_ADDRESS: ParamType = ParamType(6);
    /// The state cookie in an INIT-ACK.
    pub const STATE_COOKIE: ParamType = ParamType(7);
    /// Unrecognized parameter, reported in an INIT-ACK.
    pub const UNRECOGNIZED_PARAMETER: ParamType = ParamType(8);
    /// Cookie preservative (ignored).
    pub const COOKIE_PRESERVATIVE: ParamType = ParamType(9);
    /// Host name address (deprecated; ignored).
    pub const HOST_NAME_ADDRESS: ParamType = ParamType(11);
    /// Supported address types (ignored).
    pub const SUPPORTED_ADDRESS_TYPES: ParamType = ParamType(12);
    /// RE-CONFIG: outgoing SSN reset request (RFC 6525 §4.1).
    pub const OUTGOING_SSN_RESET_REQUEST: ParamType = ParamType(13);
    /// RE-CONFIG: incoming SSN reset request (RFC 6525 §4.2).
    pub const INCOMING_SSN_RESET_REQUEST: ParamType = ParamType(14);
    /// RE-CONFIG: SSN/TSN reset request (RFC 6525 §4.3).
    pub const SSN_TSN_RESET_REQUEST: ParamType = ParamType(15);
    /// RE-CONFIG: response (RFC 6525 §4.4).
    pub const RECONFIGURATION_RESPONSE: ParamType = ParamType(16);
    /// RE-CONFIG: add outgoing streams (RFC 6525 §4.5).
    pub const ADD_OUTGOING_STREAMS_REQUEST: ParamType = ParamType(17);
    /// RE-CONFIG: add incoming streams (RFC 6525 §4.6).
    pub const ADD_INCOMING_STREAMS_REQUEST: ParamType = ParamType(18);
    /// ECN capable (RFC 9260 appendix A; ignored).
    pub const ECN_CAPABLE: ParamType = ParamType(0x8000);
    /// Zero checksum acceptable (RFC 9653 §4).
    pub const ZERO_CHECKSUM_ACCEPTABLE: ParamType = ParamType(0x8001);
    /// Supported extensions (RFC 5061 §4.2.7).
    pub const SUPPORTED_EXTENSIONS: ParamType = ParamType(0x8008);
    /// Forward-TSN supported (RFC 3758 §3.1).
    pub const FORWARD_TSN_SUPPORTED: ParamType = ParamType(0xC000);

    /// What to do with this type if it is unknown.
    #[must_use]
    pub fn unknown_action(self) -> UnknownAction {
        UnknownAction::from_top_bits((self.0 >> 14) as u8)
    }
}

/// An error cause code (RFC 9260 §3.3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CauseCode(pub u16);

impl CauseCode {
    /// Invalid stream identifier.
    pub const INVALID_STREAM_IDENTIFIER: CauseCode = CauseCode(1);
    /// Missing mandatory parameter.
    pub const MISSING_MANDATORY_PARAMETER: CauseCode = CauseCode(2);
    /// Stale cookie.
    pub const STALE_COOKIE: CauseCode = CauseCode(3);
    /// Out of resource.
    pub const OUT_OF_RESOURCE: CauseCode = CauseCode(4);
    /// Unrecognized chunk type.
    pub const UNRECOGNIZED_CHUNK_TYPE: CauseCode = CauseCode(6);
    /// Invalid mandatory parameter.
    pub const INVALID_MANDATORY_PARAMETER: CauseCode = CauseCode(7);
    /// Unrecognized parameters.
    pub const UNRECOGNIZED_PARAMETERS: CauseCode = CauseCode(8);
    /// No user data.
    pub const NO_USER_DATA: CauseCode = CauseCode(9);
    /// Cookie received while shutting down.
    pub const COOKIE_RECEIVED_WHILE_SHUTTING_DOWN: CauseCode = CauseCode(10);
    /// User-initiated abort.
    pub const USER_INITIATED_ABORT: CauseCode = CauseCode(12);
    /// Protocol violation.
    pub const PROTOCOL_VIOLATION: CauseCode = CauseCode(13);
}

/// The result code of a RE-CONFIG response (RFC 6525 §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReconfigResult(pub u32);

impl ReconfigResult {
    /// Success, nothing to do.
    pub const SUCCESS_NOTHING_TO_DO: ReconfigResult = ReconfigResult(0);
    /// Success, performed.
    pub const SUCCESS_PERFORMED: ReconfigResult = ReconfigResult(1);
    /// Denied.
    pub const DENIED: ReconfigResult = ReconfigResult(2);
    /// Error: wrong SSN.
    pub const ERROR_WRONG_SSN: ReconfigResult = ReconfigResult(3);
    /// Error: a request is already in progress.
    pub const ERROR_REQUEST_IN_PROGRESS: ReconfigResult = ReconfigResult(4);
    /// Error: bad sequence number.
    pub const ERROR_BAD_SEQUENCE_NUMBER: ReconfigResult = ReconfigResult(5);
    /// In progress: ask again later.
    pub const IN_PROGRESS: ReconfigResult = ReconfigResult(6);
}

/// The Error Detection Method Identifier for SCTP over DTLS (RFC 9653 §6).
pub const EDMID_DTLS: u32 = 1;

// ---------------------------------------------------------------------------------------------
// CRC32c
// ---------------------------------------------------------------------------------------------

// Two ways to one answer (RFC 9260 appendix A, the Castagnoli polynomial):
//
//   feature std on x86-64 or AArch64 --> crc-fast: SSE4.2 `crc32` with PCLMULQDQ/VPCLMULQDQ
//                                        folding on x86-64, the ARMv8 CRC and PMULL
//                                        instructions on AArch64, asked of the running CPU
//                                        once; its own table on a CPU without them
//   everything else                  --> crc::Table: slice-by-16 on hosts, 1 KiB on firmware
//
// Why a dependency: the intrinsics are `#[target_feature]` functions, and calling one is
// `unsafe` outside a function carrying the same attribute, even when the whole build enables
// the feature (rustc E0133), while our crates forbid unsafe; asking the CPU at run time needs
// std (`is_x86_feature_detected!`). crc-fast does both, but only with std (its no_std build
// fails on x86-64 in 1.10), so `-C target-cpu=native` alone changes nothing here: the fast path
// is a std host's, with no RUSTFLAGS. Firmware (thumbv7em, riscv32imc) never links it.

/// The table path: the CRC32c of every build without the fast path, and the reference the fast
/// path is tested against.
#[cfg(any(
    test,
    not(all(feature = "std", any(target_arch = "x86_64", target_arch = "aarch64")))
))]
mod crc_table {
    // Slice-by-16 on hosts for throughput; a 1 KiB table on microcontrollers to save flash.
    #[cfg(not(target_os = "none"))]
    type CrcTable = crc::Table<16>;
    #[cfg(target_os = "none")]
    type CrcTable = crc::Table<1>;

    pub(super) static CRC32C: crc::Crc<u32, CrcTable> =
        crc::Crc::<u32, CrcTable>::new(&crc::CRC_32_ISCSI);

    /// The CRC32c of the concatenation of `parts`.
    pub(super) fn crc32c(parts: &[&[u8]]) -> u32 {
        let mut digest = CRC32C.digest();
        for part in parts {
            digest.update(part);
        }
        digest.finalize()
    }
}

/// The instruction path (std on x86-64 and AArch64).
#[cfg(all(feature = "std", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod crc_fast_path {
    use crc_fast::CrcAlgorithm::Crc32Iscsi;

    /// The CRC32c of the concatenation of `parts`.
    pub(super) fn crc32c(parts: &[&[u8]]) -> u32 {
        let mut digest = crc_fast::Digest::new(Crc32Iscsi);
        for part in parts {
            digest.update(part);
        }
        // A 32-bit CRC in crc-fast's 64-bit register: the high half is zero.
        digest.finalize() as u32
    }

    /// The CRC32c of one piece, in one call (the fastest form: no digest state).
    pub(super) fn crc32c_whole(bytes: &[u8]) -> u32 {
        crc_fast::checksum(Crc32Iscsi, bytes) as u32
    }
}

#[cfg(all(feature = "std", any(target_arch = "x86_64", target_arch = "aarch64")))]
use crc_fast_path::{crc32c as crc32c_parts, crc32c_whole};
#[cfg(not(all(feature = "std", any(target_arch = "x86_64", target_arch = "aarch64"))))]
use crc_table::crc32c as crc32c_parts;
#[cfg(not(all(feature = "std", any(target_arch = "x86_64", target_arch = "aarch64"))))]
fn crc32c_whole(bytes: &[u8]) -> u32 {
    crc_table::crc32c(&[bytes])
}

/// The CRC32c of a packet with its checksum field taken as zero (RFC 9260 appendix A).
#[must_use]
pub fn crc32c(packet: &[u8]) -> u32 {
    match (packet.first_chunk::<8>(), packet.get(COMMON_HEADER_LEN..)) {
        // The header with a zeroed field in one piece: one short update instead of two.
        (Some(head), Some(rest)) => {
            let mut header = [0; COMMON_HEADER_LEN];
            if let Some(h) = header.first_chunk_mut::<8>() {
                *h = *head;
            }
            crc32c_parts(&[&header, rest])
        }
        // Shorter than a common header: no checksum field to skip (such a packet is dropped).
        _ => crc32c_parts(&[packet.get(..8).unwrap_or(packet)]),
    }
}

/// What a packet's checksum field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Checksum {
    /// A correct CRC32c.
    Valid,
    /// Zero (valid only if we announced Zero Checksum Acceptable, RFC 9653).
    Zero,
    /// Anything else.
    Bad,
}

/// Checks a packet's checksum field.
#[must_use]
pub fn check_checksum(packet: &[u8]) -> Checksum {
    let Some(field) = packet.get(8..).and_then(<[u8]>::first_chunk::<4>) else {
        return Checksum::Bad;
    };
    let stored = u32::from_le_bytes(*field);
    if crc32c(packet) == stored {
        Checksum::Valid
    } else if stored == 0 {
        Checksum::Zero
    } else {
        Checksum::Bad
    }
}

/// Writes the CRC32c of `packet` into its checksum field (or zero, when `zero` is set).
///
/// The CRC is stored least significant byte first: RFC 9260 appendix A computes it over the
/// bit-reflected stream, and every SCTP stack puts the reflected register in the field as is.
pub fn seal(packet: &mut [u8], zero: bool) {
    let Some(field) = packet.get_mut(8..COMMON_HEADER_LEN) else {
        return;
    };
    // Zeroed first, so that the CRC runs over the packet in one piece (RFC 9260 appendix A
    // computes it with the field zero).
    field.fill(0);
    if !zero {
        let sum = crc32c_whole(packet);
        if let Some(field) = packet.get_mut(8..COMMON_HEADER_LEN) {
            field.copy_from_slice(&sum.to_le_bytes());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Packet and chunks
// ---------------------------------------------------------------------------------------------

/// A checked view of one SCTP packet: a common header and well-framed chunks.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Packet<'a> {
    bytes: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Checks the common header and every chunk's framing (not the checksum: see
    /// [`check_checksum`]). A packet without chunks is valid framing; the machine drops it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.len() < COMMON_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let packet = Packet { bytes };
        let mut chunks = packet.chunks();
        for chunk in chunks.by_ref() {
            chunk?;
        }
        Ok(packet)
    }

    /// The whole packet.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn field(&self, at: usize) -> u32 {
        self.bytes
            .get(at..)
            .and_then(<[u8]>::first_chunk::<4>)
            .map_or(0, |b| u32::from_be_bytes(*b))
    }

    /// The source port.
    #[must_use]
    pub fn source_port(&self) -> u16 {
        (self.field(0) >> 16) as u16
    }

    /// The destination port.
    #[must_use]
    pub fn destination_port(&self) -> u16 {
        self.field(0) as u16
    }

    /// The verification tag.
    #[must_use]
    pub fn verification_tag(&self) -> u32 {
        self.field(4)
    }

    /// The chunks, in order. Framing was checked by `parse`, so on a parsed packet every item
    /// is `Ok`.
    #[must_use]
    pub fn chunks(&self) -> Chunks<'a> {
        Chunks {
            reader: Reader::new(self.bytes.get(COMMON_HEADER_LEN..).unwrap_or_default()),
        }
    }
}

/// Iterator over the chunks of a packet.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Chunks<'a> {
    reader: Reader<'a>,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<Chunk<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.is_empty() {
            return None;
        }
        let result = read_tlv_chunk(&mut self.reader);
        if result.is_err() {
            // Stop after the first framing error: nothing after it can be trusted.
            self.reader.rest();
        }
        Some(result)
    }
}

fn read_tlv_chunk<'a>(r: &mut Reader<'a>) -> Result<Chunk<'a>, Error> {
    let chunk_type = ChunkType(r.u8()?);
    let flags = r.u8()?;
    let length = usize::from(r.u16()?);
    if length < 4 {
        return Err(Error::BadLength);
    }
    let value = r.take(length - 4).map_err(|_| Error::BadLength)?;
    // The last chunk's padding may be missing (some stacks omit it); tolerate that.
    let pad = (4 - length % 4) % 4;
    let pad = pad.min(r.remaining());
    r.skip(pad)?;
    Ok(Chunk {
        chunk_type,
        flags,
        value,
    })
}

/// One chunk: its type, flags and value (without header and padding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Chunk<'a> {
    /// The chunk type.
    pub chunk_type: ChunkType,
    /// The chunk flags.
    pub flags: u8,
    /// The value, without the 4-byte header and without padding.
    pub value: &'a [u8],
}

/// Iterator over TLV parameters (INIT, INIT-ACK, RE-CONFIG, HEARTBEAT, error causes).
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Params<'a> {
    reader: Reader<'a>,
}

impl<'a> Params<'a> {
    /// Parameters packed in `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        Params {
            reader: Reader::new(bytes),
        }
    }
}

/// One parameter (or error cause): type, value, and the raw bytes with header (for reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Param<'a> {
    /// The parameter type.
    pub param_type: ParamType,
    /// The value without header and padding.
    pub value: &'a [u8],
    /// Header and value, without padding: what an Unrecognized Parameter report echoes.
    pub raw: &'a [u8],
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.is_empty() {
            return None;
        }
        let start = self.reader.peek_rest();
        let result = (|| {
            let param_type = ParamType(self.reader.u16()?);
            let length = usize::from(self.reader.u16()?);
            if length < 4 {
                return Err(Error::BadLength);
            }
            let value = self.reader.take(length - 4).map_err(|_| Error::BadLength)?;
            let pad = ((4 - length % 4) % 4).min(self.reader.remaining());
            self.reader.skip(pad)?;
            Ok(Param {
                param_type,
                value,
                raw: start.get(..length).unwrap_or_default(),
            })
        })();
        if result.is_err() {
            self.reader.rest();
        }
        Some(result)
    }
}

/// Starts a TLV (chunk or parameter) whose 2-byte length sits at `length_at`; [`end_tlv`]
/// patches the length and pads.
fn end_tlv(w: &mut Writer<'_>, start: usize) {
    let length = w.position() - start;
    w.patch_u16(start + 2, u16::try_from(length).unwrap_or(u16::MAX));
    w.fill(0, (4 - length % 4) % 4);
}

/// Emits the common header (checksum zero until [`seal`]).
pub fn emit_common_header(w: &mut Writer<'_>, src_port: u16, dst_port: u16, tag: u32) {
    w.u16(src_port);
    w.u16(dst_port);
    w.u32(tag);
    w.u32(0);
}

/// Emits a chunk whose value `body` writes; length and padding are filled in.
pub fn emit_chunk(
    w: &mut Writer<'_>,
    chunk_type: ChunkType,
    flags: u8,
    body: impl FnOnce(&mut Writer<'_>),
) {
    let start = w.position();
    w.u8(chunk_type.0);
    w.u8(flags);
    w.u16(0);
    body(w);
    end_tlv(w, start);
}

/// Emits a parameter whose value `body` writes; the length is filled in.
///
/// The padding of a parameter goes in front of the next one, not after it: RFC 9260 §3.2
/// counts the padding of every parameter but the last in the chunk length, and the chunk's own
/// padding covers the last. Parameters must be emitted at 4-byte aligned offsets from the start
/// of the buffer, which holds for every chunk in a packet (the common header is 12 bytes).
pub fn emit_param(w: &mut Writer<'_>, param_type: ParamType, body: impl FnOnce(&mut Writer<'_>)) {
    w.fill(0, (4 - w.position() % 4) % 4);
    let start = w.position();
    w.u16(param_type.0);
    w.u16(0);
    body(w);
    let length = w.position() - start;
    w.patch_u16(start + 2, u16::try_from(length).unwrap_or(u16::MAX));
}

// ---------------------------------------------------------------------------------------------
// DATA
// ---------------------------------------------------------------------------------------------

/// DATA chunk flags (RFC 9260 §3.3.1).
pub mod data_flags {
    /// Last fragment of a user message.
    pub const END: u8 = 0x01;
    /// First fragment of a user message.
    pub const BEGIN: u8 = 0x02;
    /// Unordered delivery.
    pub const UNORDERED: u8 = 0x04;
    /// Immediate: the receiver should SACK at once (RFC 7053).
    pub const IMMEDIATE: u8 = 0x08;
}

/// A Payload Protocol Identifier (RFC 9260 §3.3.1; WebRTC values from RFC 8831 §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ppid(pub u32);

impl Ppid {
    /// WebRTC DCEP (RFC 8832).
    pub const DCEP: Ppid = Ppid(50);
    /// WebRTC string.
    pub const STRING: Ppid = Ppid(51);
    /// WebRTC binary.
    pub const BINARY: Ppid = Ppid(53);
    /// WebRTC string, empty (one padding byte on the wire).
    pub const STRING_EMPTY: Ppid = Ppid(56);
    /// WebRTC binary, empty (one padding byte on the wire).
    pub const BINARY_EMPTY: Ppid = Ppid(57);
}

/// A checked DATA chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Data<'a> {
    /// B/E/U/I flags ([`data_flags`]).
    pub flags: u8,
    /// Transmission sequence number.
    pub tsn: u32,
    /// Stream identifier.
    pub stream: u16,
    /// Stream sequence number.
    pub ssn: u16,
    /// Payload protocol identifier.
    pub ppid: Ppid,
    /// User data (never empty: RFC 9260 §3.3.1 forbids empty DATA).
    pub payload: &'a [u8],
}

impl<'a> Data<'a> {
    /// Checks a DATA chunk's value.
    pub fn parse(chunk: &Chunk<'a>) -> Result<Self, Error> {
        let mut r = Reader::new(chunk.value);
        let data = Data {
            flags: chunk.flags,
            tsn: r.u32()?,
            stream: r.u16()?,
            ssn: r.u16()?,
            ppid: Ppid(r.u32()?),
            payload: r.rest(),
        };
        if data.payload.is_empty() {
            return Err(Error::Invalid);
        }
        Ok(data)
    }

    /// Emits this chunk.
    pub fn emit(&self, w: &mut Writer<'_>) {
        emit_chunk(w, ChunkType::DATA, self.flags, |w| {
            w.u32(self.tsn);
            w.u16(self.stream);
            w.u16(self.ssn);
            w.u32(self.ppid.0);
            w.bytes(self.payload);
        });
    }
}

// ---------------------------------------------------------------------------------------------
// INIT / INIT-ACK
// ---------------------------------------------------------------------------------------------

/// A checked INIT or INIT-ACK chunk: the fixed fields and the parameters that matter here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Init<'a> {
    /// The tag the sender wants on every packet sent to it.
    pub initiate_tag: u32,
    /// The sender's receive window.
    pub a_rwnd: u32,
    /// Outbound streams the sender asks for.
    pub outbound_streams: u16,
    /// Inbound streams the sender accepts.
    pub inbound_streams: u16,
    /// The sender's first TSN.
    pub initial_tsn: u32,
    /// The parameters, unparsed (iterate with [`Init::params`]).
    pub params: &'a [u8],
}

impl<'a> Init<'a> {
    /// Checks an INIT/INIT-ACK value (RFC 9260 §3.3.2: tag and stream counts nonzero).
    pub fn parse(chunk: &Chunk<'a>) -> Result<Self, Error> {
        let mut r = Reader::new(chunk.value);
        let init = Init {
            initiate_tag: r.u32()?,
            a_rwnd: r.u32()?,
            outbound_streams: r.u16()?,
            inbound_streams: r.u16()?,
            initial_tsn: r.u32()?,
            params: r.rest(),
        };
        if init.initiate_tag == 0 || init.outbound_streams == 0 || init.inbound_streams == 0 {
            return Err(Error::Invalid);
        }
        for p in init.params() {
            p?;
        }
        Ok(init)
    }

    /// The parameters.
    #[must_use]
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }

    /// The extensions this INIT announces, from Supported Extensions, Forward-TSN-Supported
    /// and Zero Checksum Acceptable.
    #[must_use]
    pub fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        for p in self.params().flatten() {
            match p.param_type {
                ParamType::FORWARD_TSN_SUPPORTED => caps.forward_tsn = true,
                ParamType::SUPPORTED_EXTENSIONS => {
                    for &t in p.value {
                        match ChunkType(t) {
                            ChunkType::FORWARD_TSN => caps.forward_tsn = true,
                            ChunkType::RE_CONFIG => caps.reconfig = true,
                            _ => {}
                        }
                    }
                }
                ParamType::ZERO_CHECKSUM_ACCEPTABLE => {
                    let mut r = Reader::new(p.value);
                    if r.u32() == Ok(EDMID_DTLS) {
                        caps.zero_checksum = true;
                    }
                }
                _ => {}
            }
        }
        caps
    }

    /// The State Cookie parameter (INIT-ACK only).
    #[must_use]
    pub fn state_cookie(&self) -> Option<&'a [u8]> {
        self.params()
            .flatten()
            .find(|p| p.param_type == ParamType::STATE_COOKIE)
            .map(|p| p.value)
    }
}

/// Extensions a peer announced in its INIT or INIT-ACK.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capabilities {
    /// Partial reliability (RFC 3758).
    pub forward_tsn: bool,
    /// Stream reconfiguration (RFC 6525).
    pub reconfig: bool,
    /// It accepts a zero checksum over DTLS (RFC 9653).
    pub zero_checksum: bool,
}

/// The fields of an INIT or INIT-ACK this endpoint sends.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InitFields<'a> {
    /// INIT or INIT-ACK.
    pub chunk_type: ChunkType,
    /// Our verification tag.
    pub initiate_tag: u32,
    /// Our receive window.
    pub a_rwnd: u32,
    /// Outbound streams.
    pub outbound_streams: u16,
    /// Inbound streams.
    pub inbound_streams: u16,
    /// Our first TSN.
    pub initial_tsn: u32,
    /// Announce Zero Checksum Acceptable with the DTLS method.
    pub zero_checksum: bool,
    /// The state cookie (INIT-ACK only).
    pub cookie: Option<&'a [u8]>,
    /// Unrecognized parameters to echo (INIT-ACK only), each as its raw TLV.
    pub unrecognized: &'a [u8],
}

impl InitFields<'_> {
    /// Emits the chunk with Supported Extensions (RE-CONFIG, FORWARD-TSN) and
    /// Forward-TSN-Supported, which is what WebRTC stacks look for.
    pub fn emit(&self, w: &mut Writer<'_>) {
        emit_chunk(w, self.chunk_type, 0, |w| {
            w.u32(self.initiate_tag);
            w.u32(self.a_rwnd);
            w.u16(self.outbound_streams);
            w.u16(self.inbound_streams);
            w.u32(self.initial_tsn);
            if let Some(cookie) = self.cookie {
                emit_param(w, ParamType::STATE_COOKIE, |w| w.bytes(cookie));
            }
            emit_param(w, ParamType::SUPPORTED_EXTENSIONS, |w| {
                w.u8(ChunkType::RE_CONFIG.0);
                w.u8(ChunkType::FORWARD_TSN.0);
            });
            emit_param(w, ParamType::FORWARD_TSN_SUPPORTED, |_| {});
            if self.zero_checksum {
                emit_param(w, ParamType::ZERO_CHECKSUM_ACCEPTABLE, |w| {
                    w.u32(EDMID_DTLS)
                });
            }
            let mut rest = Params::new(self.unrecognized);
            while let Some(Ok(p)) = rest.next() {
                emit_param(w, ParamType::UNRECOGNIZED_PARAMETER, |w| {
                    w.bytes(p.raw);
                    w.fill(0, (4 - p.raw.len() % 4) % 4);
                });
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// SACK
// ---------------------------------------------------------------------------------------------

/// A checked SACK chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sack<'a> {
    /// Cumulative TSN acknowledged.
    pub cumulative_tsn: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    gaps: &'a [u8],
    dups: &'a [u8],
}

impl<'a> Sack<'a> {
    /// Checks a SACK value: the counts must match the length.
    pub fn parse(chunk: &Chunk<'a>) -> Result<Self, Error> {
        let mut r = Reader::new(chunk.value);
        let cumulative_tsn = r.u32()?;
        let a_rwnd = r.u32()?;
        let gap_count = usize::from(r.u16()?);
        let dup_count = usize::from(r.u16()?);
        let gaps = r.take(gap_count * 4)?;
        let dups = r.take(dup_count * 4)?;
        Ok(Sack {
            cumulative_tsn,
            a_rwnd,
            gaps,
            dups,
        })
    }

    /// Gap ack blocks as (start, end) offsets from the cumulative TSN, inclusive.
    pub fn gap_blocks(&self) -> impl Iterator<Item = (u16, u16)> + 'a {
        self.gaps
            .as_chunks::<4>()
            .0
            .iter()
            .map(|&[a, b, c, d]| (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])))
    }

    /// TSNs reported as received more than once.
    pub fn duplicate_tsns(&self) -> impl Iterator<Item = u32> + 'a {
        self.dups
            .as_chunks::<4>()
            .0
            .iter()
            .map(|b| u32::from_be_bytes(*b))
    }

    /// Emits a SACK.
    pub fn emit(
        w: &mut Writer<'_>,
        cumulative_tsn: u32,
        a_rwnd: u32,
        gaps: &[(u16, u16)],
        dups: &[u32],
    ) {
        emit_chunk(w, ChunkType::SACK, 0, |w| {
            w.u32(cumulative_tsn);
            w.u32(a_rwnd);
            w.u16(u16::try_from(gaps.len()).unwrap_or(0));
            w.u16(u16::try_from(dups.len()).unwrap_or(0));
            for &(s, e) in gaps {
                w.u16(s);
                w.u16(e);
            }
            for &d in dups {
                w.u32(d);
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// FORWARD-TSN
// ---------------------------------------------------------------------------------------------

/// A checked FORWARD-TSN chunk (RFC 3758 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ForwardTsn<'a> {
    /// The new cumulative TSN.
    pub new_cumulative_tsn: u32,
    streams: &'a [u8],
}

impl<'a> ForwardTsn<'a> {
    /// Checks a FORWARD-TSN value.
    pub fn parse(chunk: &Chunk<'a>) -> Result<Self, Error> {
        let mut r = Reader::new(chunk.value);
        let new_cumulative_tsn = r.u32()?;
        let streams = r.rest();
        if !streams.len().is_multiple_of(4) {
            return Err(Error::BadLength);
        }
        Ok(ForwardTsn {
            new_cumulative_tsn,
            streams,
        })
    }

    /// (stream, skipped SSN) pairs for ordered streams.
    pub fn streams(&self) -> impl Iterator<Item = (u16, u16)> + 'a {
        self.streams
            .as_chunks::<4>()
            .0
            .iter()
            .map(|&[a, b, c, d]| (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])))
    }

    /// Emits a FORWARD-TSN.
    pub fn emit(w: &mut Writer<'_>, new_cumulative_tsn: u32, streams: &[(u16, u16)]) {
        emit_chunk(w, ChunkType::FORWARD_TSN, 0, |w| {
            w.u32(new_cumulative_tsn);
            for &(s, n) in streams {
                w.u16(s);
                w.u16(n);
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// RE-CONFIG (RFC 6525)
// ---------------------------------------------------------------------------------------------

/// A RE-CONFIG parameter this implementation understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReconfigParam<'a> {
    /// Outgoing SSN Reset Request: the sender resets its outgoing `streams` (all if empty)
    /// after `last_tsn`.
    OutgoingReset {
        /// Request sequence number.
        request_seq: u32,
        /// The sequence number of the request this one answers, if any.
        response_seq: u32,
        /// The sender's last assigned TSN.
        last_tsn: u32,
        /// The stream identifiers (2 bytes each).
        streams: &'a [u8],
    },
    /// Incoming SSN Reset Request: the sender asks us to reset our outgoing `streams`.
    IncomingReset {
        /// Request sequence number.
        request_seq: u32,
        /// The stream identifiers (2 bytes each).
        streams: &'a [u8],
    },
    /// Re-configuration Response.
    Response {
        /// The request answered.
        response_seq: u32,
        /// The result.
        result: ReconfigResult,
    },
    /// Any other request (SSN/TSN reset, add streams): answered as denied.
    Other {
        /// The parameter type.
        param_type: ParamType,
        /// Its request sequence number (the first field of every request).
        request_seq: u32,
    },
}

impl<'a> ReconfigParam<'a> {
    /// Checks one RE-CONFIG parameter.
    pub fn parse(p: &Param<'a>) -> Result<Self, Error> {
        let mut r = Reader::new(p.value);
        Ok(match p.param_type {
            ParamType::OUTGOING_SSN_RESET_REQUEST => {
                let request_seq = r.u32()?;
                let response_seq = r.u32()?;
                let last_tsn = r.u32()?;
                let streams = r.rest();
                ReconfigParam::OutgoingReset {
                    request_seq,
                    response_seq,
                    last_tsn,
                    streams: streams.get(..streams.len() & !1).unwrap_or_default(),
                }
            }
            ParamType::INCOMING_SSN_RESET_REQUEST => {
                let request_seq = r.u32()?;
                let streams = r.rest();
                ReconfigParam::IncomingReset {
                    request_seq,
                    streams: streams.get(..streams.len() & !1).unwrap_or_default(),
                }
            }
            ParamType::RECONFIGURATION_RESPONSE => ReconfigParam::Response {
                response_seq: r.u32()?,
                result: ReconfigResult(r.u32()?),
            },
            param_type => ReconfigParam::Other {
                param_type,
                request_seq: r.u32()?,
            },
        })
    }

    /// Stream identifiers listed in a reset request.
    pub fn stream_ids(streams: &'a [u8]) -> impl Iterator<Item = u16> + 'a {
        streams
            .as_chunks::<2>()
            .0
            .iter()
            .map(|b| u16::from_be_bytes(*b))
    }

    /// Emits an Outgoing SSN Reset Request parameter.
    pub fn emit_outgoing_reset(
        w: &mut Writer<'_>,
        request_seq: u32,
        response_seq: u32,
        last_tsn: u32,
        streams: &[u16],
    ) {
        emit_param(w, ParamType::OUTGOING_SSN_RESET_REQUEST, |w| {
            w.u32(request_seq);
            w.u32(response_seq);
            w.u32(last_tsn);
            for &s in streams {
                w.u16(s);
            }
        });
    }

    /// Emits an Outgoing SSN Reset Request parameter for the streams `ids` yields.
    pub fn emit_outgoing_reset_ids(
        w: &mut Writer<'_>,
        request_seq: u32,
        response_seq: u32,
        last_tsn: u32,
        ids: impl Iterator<Item = u16>,
    ) {
        emit_param(w, ParamType::OUTGOING_SSN_RESET_REQUEST, |w| {
            w.u32(request_seq);
            w.u32(response_seq);
            w.u32(last_tsn);
            for s in ids {
                w.u16(s);
            }
        });
    }

    /// Emits a Re-configuration Response parameter.
    pub fn emit_response(w: &mut Writer<'_>, response_seq: u32, result: ReconfigResult) {
        emit_param(w, ParamType::RECONFIGURATION_RESPONSE, |w| {
            w.u32(response_seq);
            w.u32(result.0);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet_with(chunks: impl FnOnce(&mut Writer<'_>)) -> ([u8; 256], usize) {
        let mut buf = [0u8; 256];
        let mut w = Writer::new(&mut buf);
        emit_common_header(&mut w, 5000, 5000, 0x0102_0304);
        chunks(&mut w);
        let n = w.finish().unwrap();
        seal(&mut buf[..n], false);
        (buf, n)
    }

    /// A CRC32c path: the CRC of the concatenation of its pieces.
    pub(super) type CrcPath = fn(&[&[u8]]) -> u32;

    /// Every CRC32c path this build has, by name: the table always, the instructions (through
    /// crc-fast) with std on x86-64 and AArch64, both as a digest over pieces and in one call.
    pub(super) fn crc_paths() -> std::vec::Vec<(&'static str, CrcPath)> {
        #[allow(unused_mut)]
        let mut paths: std::vec::Vec<(&'static str, CrcPath)> =
            std::vec![("table", crc_table::crc32c)];
        #[cfg(all(feature = "std", any(target_arch = "x86_64", target_arch = "aarch64")))]
        paths.extend([
            ("crc-fast", crc_fast_path::crc32c as CrcPath),
            ("crc-fast in one call", |parts: &[&[u8]]| {
                crc_fast_path::crc32c_whole(&parts.concat())
            }),
        ]);
        let fast = cfg!(all(
            feature = "std",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ));
        assert_eq!(paths.len() > 1, fast);
        paths
    }

    #[test]
    fn crc32c_known_answers_on_every_path() {
        // RFC 3720 (iSCSI) appendix B.4, the CRC read as a little-endian word.
        let read_pdu = hex_literal::hex!(
            "01c00000000000000000000000000000"
            "14000000000004000000001400000018"
            "28000000000000000200000000000000"
        );
        let incrementing: std::vec::Vec<u8> = (0..32).collect();
        let decrementing: std::vec::Vec<u8> = (0..32).rev().collect();
        // Longer than the crc32c crate's interleaved blocks (3 x 256 B), odd lengths for the
        // unaligned tail; the answers come from a bit-at-a-time Python CRC32c (RFC 9260
        // appendix A's polynomial 0x82F63B78), independent of both paths.
        let pattern =
            |n: usize| -> std::vec::Vec<u8> { (0..n).map(|i| (i * 7 + 3) as u8).collect() };
        let cases: [(&[u8], u32); 8] = [
            (&[0u8; 32], 0x8a91_36aa),
            (&[0xffu8; 32], 0x62a8_ab43),
            (&incrementing, 0x46dd_794e),
            (&decrementing, 0x113f_db5c),
            (&read_pdu, 0xd996_3a56),
            (b"123456789", 0xe306_9283),
            (&pattern(1200), 0x5cfc_f641),
            (&pattern(8191), 0x5f91_213e),
        ];
        for (name, path) in crc_paths() {
            for (data, want) in cases {
                assert_eq!(path(&[data]), want, "{name} path, {} bytes", data.len());
                // The same bytes in pieces (a packet is three: header, zeroed field, rest).
                let (a, b) = data.split_at(data.len() / 3);
                let (b, c) = b.split_at(b.len() / 2);
                assert_eq!(path(&[a, b, c]), want, "{name} path in pieces");
            }
        }
        // The table path is what firmware and no_std hosts run: also through crc's own API.
        assert_eq!(crc_table::CRC32C.checksum(&[0u8; 32]), 0x8a91_36aa);
    }

    // Cases from PROPTEST_CASES (proptest's default config reads it), 256 without it.
    #[cfg(all(feature = "std", any(target_arch = "x86_64", target_arch = "aarch64")))]
    proptest::proptest! {
        /// The instruction path equals the table on any bytes cut anywhere, and `crc32c` (what
        /// `check_checksum` runs) and `seal` equal the table over a packet's three pieces.
        #[test]
        fn hardware_crc32c_equals_the_table(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..3000),
            cuts in (0usize..3000, 0usize..3000),
        ) {
            let (x, y) = (cuts.0.min(data.len()), cuts.1.min(data.len()));
            let (a, rest) = data.split_at(x.min(y));
            let (b, c) = rest.split_at(x.max(y) - x.min(y));
            let want = crc_table::crc32c(&[&data]);
            proptest::prop_assert_eq!(crc_fast_path::crc32c(&[a, b, c]), want);
            proptest::prop_assert_eq!(crc_fast_path::crc32c_whole(&data), want);
            if data.len() >= COMMON_HEADER_LEN {
                let want = crc_table::crc32c(&[&data[..8], &[0; 4], &data[12..]]);
                proptest::prop_assert_eq!(crc32c(&data), want);
                let mut sealed = data.clone();
                seal(&mut sealed, false);
                proptest::prop_assert_eq!(&sealed[12..], &data[12..]);
                proptest::prop_assert_eq!(u32::from_le_bytes(sealed[8..12].try_into().unwrap()), want);
            }
        }
    }

    #[test]
    fn a_sealed_packet_checks_and_a_flipped_bit_does_not() {
        let (mut buf, n) = packet_with(|w| emit_chunk(w, ChunkType::COOKIE_ACK, 0, |_| {}));
        assert_eq!(check_checksum(&buf[..n]), Checksum::Valid);
        buf[13] ^= 1;
        assert_eq!(check_checksum(&buf[..n]), Checksum::Bad);
        seal(&mut buf[..n], true);
        assert_eq!(check_checksum(&buf[..n]), Checksum::Zero);
    }

    #[test]
    fn unknown_codepoints_carry_their_action() {
        assert_eq!(ChunkType(0x3f).unknown_action(), UnknownAction::Stop);
        assert_eq!(
            ChunkType(0x40).unknown_action(),
            UnknownAction::StopAndReport
        );
        assert_eq!(ChunkType(0x80).unknown_action(), UnknownAction::Skip);
        assert_eq!(
            ChunkType(0xC1).unknown_action(),
            UnknownAction::SkipAndReport
        );
        assert_eq!(
            ParamType(0x4001).unknown_action(),
            UnknownAction::StopAndReport
        );
        assert_eq!(
            ParamType(0xC000).unknown_action(),
            UnknownAction::SkipAndReport
        );
        assert!(ChunkType::FORWARD_TSN.is_known() && !ChunkType(0x41).is_known());
    }

    #[test]
    fn init_round_trips_with_extensions() {
        let (buf, n) = packet_with(|w| {
            InitFields {
                chunk_type: ChunkType::INIT,
                initiate_tag: 0xdead_beef,
                a_rwnd: 131_072,
                outbound_streams: 1024,
                inbound_streams: 2048,
                initial_tsn: 7,
                zero_checksum: true,
                cookie: None,
                unrecognized: &[],
            }
            .emit(w);
        });
        let packet = Packet::parse(&buf[..n]).unwrap();
        assert_eq!(packet.verification_tag(), 0x0102_0304);
        assert_eq!(
            (packet.source_port(), packet.destination_port()),
            (5000, 5000)
        );
        let chunk = packet.chunks().next().unwrap().unwrap();
        assert_eq!(chunk.chunk_type, ChunkType::INIT);
        let init = Init::parse(&chunk).unwrap();
        assert_eq!(
            (
                init.initiate_tag,
                init.a_rwnd,
                init.outbound_streams,
                init.inbound_streams,
                init.initial_tsn
            ),
            (0xdead_beef, 131_072, 1024, 2048, 7)
        );
        assert_eq!(
            init.capabilities(),
            Capabilities {
                forward_tsn: true,
                reconfig: true,
                zero_checksum: true
            }
        );
        assert_eq!(init.state_cookie(), None);
        // The exact parameter bytes WebRTC stacks look for.
        assert_eq!(
            init.params,
            &[
                0x80, 0x08, 0x00, 0x06, 0x82, 0xc0, 0x00, 0x00, // Supported Extensions
                0xc0, 0x00, 0x00, 0x04, // Forward-TSN-Supported
                0x80, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, // Zero Checksum, DTLS
            ][..]
        );
    }

    #[test]
    fn framing_errors_are_reported() {
        assert_eq!(Packet::parse(&[0; 11]).unwrap_err(), Error::Truncated);
        let mut bad = [0u8; 16];
        bad[12..16].copy_from_slice(&[0, 0, 0, 3]); // chunk length 3 < 4
        assert_eq!(Packet::parse(&bad).unwrap_err(), Error::BadLength);
        bad[12..16].copy_from_slice(&[0, 0, 0, 9]); // runs past the end
        assert_eq!(Packet::parse(&bad).unwrap_err(), Error::BadLength);
        // An INIT with a zero tag is invalid.
        let chunk = Chunk {
            chunk_type: ChunkType::INIT,
            flags: 0,
            value: &[0; 16],
        };
        assert_eq!(Init::parse(&chunk).unwrap_err(), Error::Invalid);
        let empty = Chunk {
            chunk_type: ChunkType::DATA,
            flags: 3,
            value: &[0; 12],
        };
        assert_eq!(Data::parse(&empty).unwrap_err(), Error::Invalid);
    }

    #[test]
    fn sack_and_forward_tsn_round_trip() {
        let (buf, n) = packet_with(|w| {
            Sack::emit(w, 100, 5000, &[(2, 3), (5, 9)], &[99, 42]);
            ForwardTsn::emit(w, 200, &[(1, 7), (3, 0)]);
        });
        let packet = Packet::parse(&buf[..n]).unwrap();
        let mut chunks = packet.chunks();
        let sack = Sack::parse(&chunks.next().unwrap().unwrap()).unwrap();
        assert_eq!((sack.cumulative_tsn, sack.a_rwnd), (100, 5000));
        assert_eq!(
            sack.gap_blocks().collect::<std::vec::Vec<_>>(),
            [(2, 3), (5, 9)]
        );
        assert_eq!(
            sack.duplicate_tsns().collect::<std::vec::Vec<_>>(),
            [99, 42]
        );
        let fwd = ForwardTsn::parse(&chunks.next().unwrap().unwrap()).unwrap();
        assert_eq!(fwd.new_cumulative_tsn, 200);
        assert_eq!(
            fwd.streams().collect::<std::vec::Vec<_>>(),
            [(1, 7), (3, 0)]
        );
        assert!(chunks.next().is_none());
    }

    #[test]
    fn reconfig_params_round_trip() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        ReconfigParam::emit_outgoing_reset(&mut w, 5, 4, 1000, &[2, 4, 6]);
        ReconfigParam::emit_response(&mut w, 9, ReconfigResult::SUCCESS_PERFORMED);
        let n = w.finish().unwrap();
        let mut params = Params::new(&buf[..n]);
        let first = ReconfigParam::parse(&params.next().unwrap().unwrap()).unwrap();
        let ReconfigParam::OutgoingReset {
            request_seq,
            response_seq,
            last_tsn,
            streams,
        } = first
        else {
            panic!("{first:?}")
        };
        assert_eq!((request_seq, response_seq, last_tsn), (5, 4, 1000));
        assert_eq!(
            ReconfigParam::stream_ids(streams).collect::<std::vec::Vec<_>>(),
            [2, 4, 6]
        );
        assert_eq!(
            ReconfigParam::parse(&params.next().unwrap().unwrap()).unwrap(),
            ReconfigParam::Response {
                response_seq: 9,
                result: ReconfigResult::SUCCESS_PERFORMED
            }
        );
    }
}

/// Packets serialized by aiortc 1.16 (an independent SCTP implementation, Python), used as
/// known answers: we parse them, and our emitters produce the same bytes, CRC32c included.
#[cfg(test)]
mod aiortc_known_answers {
    use super::*;
    use hex_literal::hex;

    fn ours(tag: u32, body: impl FnOnce(&mut Writer<'_>)) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 128];
        let mut w = Writer::new(&mut buf);
        emit_common_header(&mut w, 5000, 5000, tag);
        body(&mut w);
        let n = w.finish().unwrap();
        seal(&mut buf[..n], false);
        buf[..n].to_vec()
    }

    fn chunk(bytes: &[u8]) -> Chunk<'_> {
        assert_eq!(check_checksum(bytes), Checksum::Valid);
        Packet::parse(bytes)
            .unwrap()
            .chunks()
            .next()
            .unwrap()
            .unwrap()
    }

    /// aiortc's packets carry their CRC32c in the checksum field: every path must compute it.
    #[test]
    fn aiortc_checksums_on_every_path() {
        let packets: [&[u8]; 5] = [
            &hex!(
                "1388138800000000778cb39c0100001e0102030400020000fffffffffffffff0c000000480080006c0820000"
            ),
            &hex!(
                "13881388deadbeefe305ec550300001c000000640000138800020001000200030005000900000063"
            ),
            &hex!("13881388deadbeef12a995a60003001500000065000100070000003368656c6c6f000000"),
            &hex!("13881388deadbeefd63d0547c0000010000000c80001000700030000"),
            &hex!(
                "13881388deadbeefbc837a868200001a000d00160000000500000004000003e80002000400060000"
            ),
        ];
        for (name, path) in super::tests::crc_paths() {
            for p in packets {
                let stored = u32::from_le_bytes(p[8..12].try_into().unwrap());
                assert_eq!(path(&[&p[..8], &[0; 4], &p[12..]]), stored, "{name} path");
            }
        }
    }

    #[test]
    fn init() {
        let theirs = hex!(
            "1388138800000000778cb39c0100001e0102030400020000fffffffffffffff0c000000480080006c0820000"
        );
        let init = Init::parse(&chunk(&theirs)).unwrap();
        assert_eq!(
            (
                init.initiate_tag,
                init.a_rwnd,
                init.outbound_streams,
                init.inbound_streams,
                init.initial_tsn
            ),
            (0x0102_0304, 131_072, 65535, 65535, 0xffff_fff0)
        );
        assert_eq!(
            init.capabilities(),
            Capabilities {
                forward_tsn: true,
                reconfig: true,
                zero_checksum: false
            }
        );
    }

    #[test]
    fn sack() {
        let theirs = hex!(
            "13881388deadbeefe305ec550300001c000000640000138800020001000200030005000900000063"
        );
        let sack = Sack::parse(&chunk(&theirs)).unwrap();
        assert_eq!((sack.cumulative_tsn, sack.a_rwnd), (100, 5000));
        assert_eq!(
            sack.gap_blocks().collect::<std::vec::Vec<_>>(),
            [(2, 3), (5, 9)]
        );
        assert_eq!(sack.duplicate_tsns().collect::<std::vec::Vec<_>>(), [99]);
        assert_eq!(
            ours(0xdead_beef, |w| Sack::emit(
                w,
                100,
                5000,
                &[(2, 3), (5, 9)],
                &[99]
            )),
            theirs
        );
    }

    #[test]
    fn data() {
        let theirs =
            hex!("13881388deadbeef12a995a60003001500000065000100070000003368656c6c6f000000");
        let d = Data::parse(&chunk(&theirs)).unwrap();
        let want = Data {
            flags: 3,
            tsn: 101,
            stream: 1,
            ssn: 7,
            ppid: Ppid::STRING,
            payload: b"hello",
        };
        assert_eq!(d, want);
        assert_eq!(ours(0xdead_beef, |w| want.emit(w)), theirs);
    }

    #[test]
    fn forward_tsn() {
        let theirs = hex!("13881388deadbeefd63d0547c0000010000000c80001000700030000");
        let f = ForwardTsn::parse(&chunk(&theirs)).unwrap();
        assert_eq!(f.new_cumulative_tsn, 200);
        assert_eq!(f.streams().collect::<std::vec::Vec<_>>(), [(1, 7), (3, 0)]);
        assert_eq!(
            ours(0xdead_beef, |w| ForwardTsn::emit(w, 200, &[(1, 7), (3, 0)])),
            theirs
        );
    }

    #[test]
    fn reconfig_outgoing_reset() {
        let theirs = hex!(
            "13881388deadbeefbc837a868200001a000d00160000000500000004000003e80002000400060000"
        );
        let c = chunk(&theirs);
        assert_eq!(c.chunk_type, ChunkType::RE_CONFIG);
        let p = Params::new(c.value).next().unwrap().unwrap();
        let ReconfigParam::OutgoingReset {
            request_seq,
            response_seq,
            last_tsn,
            streams,
        } = ReconfigParam::parse(&p).unwrap()
        else {
            panic!("not an outgoing reset")
        };
        assert_eq!((request_seq, response_seq, last_tsn), (5, 4, 1000));
        assert_eq!(
            ReconfigParam::stream_ids(streams).collect::<std::vec::Vec<_>>(),
            [2, 4, 6]
        );
        let mine = ours(0xdead_beef, |w| {
            emit_chunk(w, ChunkType::RE_CONFIG, 0, |w| {
                ReconfigParam::emit_outgoing_reset(w, 5, 4, 1000, &[2, 4, 6]);
            });
        });
        assert_eq!(mine, theirs);
    }
}
