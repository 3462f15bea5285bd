//! DNS messages as mDNS uses them (RFC 1035 §4, RFC 6762 §18): a checked view and two emitters.
//!
//! ```text
//!  header (12) | questions: name qtype qclass(QU bit)
//!              | answers, authority, additional: name type class(cache-flush bit) ttl rdlen rdata
//!  name = labels ending in a zero byte, or in a 2-byte pointer (0b11 + 14-bit offset) to a
//!         name earlier in the message (RFC 1035 §4.1.4)
//! ```
//!
//! [`Message::parse`] walks every section once, so the iterators afterwards cannot fail; a name
//! follows at most [`MAX_POINTER_HOPS`] pointers and each pointer must go strictly backwards,
//! which bounds the work on a hostile packet and rules out loops.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use peerless_base::{BufferTooSmall, Reader, Writer};

/// Length of the DNS header.
pub const HEADER_LEN: usize = 12;
/// The longest name on the wire (RFC 1035 §2.3.4), and so the longest dotted text form.
pub const MAX_NAME_LEN: usize = 255;
/// Compression pointers a name may follow before the packet is refused.
pub const MAX_POINTER_HOPS: usize = 16;

/// The top bit of QCLASS in a question: "unicast response requested" (RFC 6762 §5.4).
const QU_BIT: u16 = 0x8000;
/// The top bit of CLASS in a record: "cache flush" (RFC 6762 §10.2).
const CACHE_FLUSH_BIT: u16 = 0x8000;
/// Header flags of a response: QR set, AA set (RFC 6762 §18.2, §18.4).
const FLAGS_RESPONSE: u16 = 0x8400;

/// A resource record type (RFC 1035 §3.2.2); unknown values round-trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordType(pub u16);

impl RecordType {
    /// An IPv4 address.
    pub const A: RecordType = RecordType(1);
    /// An IPv6 address (RFC 3596).
    pub const AAAA: RecordType = RecordType(28);
    /// Which records exist (RFC 6762 §6.1 negative answers).
    pub const NSEC: RecordType = RecordType(47);
    /// Every record of the name (a question only).
    pub const ANY: RecordType = RecordType(255);
}

/// The Internet class.
pub const CLASS_IN: u16 = 1;

/// Why bytes are not one well-formed DNS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The message ends inside a field.
    Truncated,
    /// A label length byte uses the reserved 0b01/0b10 prefixes.
    BadLabel,
    /// A name is longer than 255 bytes.
    NameTooLong,
    /// A compression pointer points forwards, at itself, or past [`MAX_POINTER_HOPS`].
    BadPointer,
    /// The opcode is not a standard query (RFC 6762 §18.3: ignore others).
    Opcode,
    /// The response code is not zero (RFC 6762 §18.11: ignore).
    ResponseCode,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "dns: message ends inside a field",
            Error::BadLabel => "dns: reserved label type",
            Error::NameTooLong => "dns: name longer than 255 bytes",
            Error::BadPointer => "dns: compression pointer not strictly backwards or too many hops",
            Error::Opcode => "dns: not a standard query",
            Error::ResponseCode => "dns: non-zero response code",
        })
    }
}

impl core::error::Error for Error {}

impl From<peerless_base::ReadError> for Error {
    fn from(_: peerless_base::ReadError) -> Self {
        Error::Truncated
    }
}

/// A host name we can ask for or publish was not valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum NameError {
    /// Empty label (`a..local`), a label over 63 bytes, or more than 255 bytes in all.
    Malformed,
    /// Not under `.local` (RFC 6762 §3): mDNS answers only link-local names.
    NotLocal,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::Malformed => "mdns: malformed host name",
            NameError::NotLocal => "mdns: host name not under .local",
        })
    }
}

impl core::error::Error for NameError {}

/// Why a message could not be emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EmitError {
    /// The name is not one we can put on the wire.
    Name(NameError),
    /// The buffer is too small.
    Buffer(BufferTooSmall),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Name(e) => e.fmt(f),
            EmitError::Buffer(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for EmitError {}

impl From<BufferTooSmall> for EmitError {
    fn from(e: BufferTooSmall) -> Self {
        EmitError::Buffer(e)
    }
}

impl From<NameError> for EmitError {
    fn from(e: NameError) -> Self {
        EmitError::Name(e)
    }
}

/// Checks a dotted host name (one trailing dot allowed) and that it ends in `.local`.
///
/// # Errors
/// [`NameError`] for a malformed name or one outside `.local`.
pub fn check_local_name(name: &str) -> Result<(), NameError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() + 2 > MAX_NAME_LEN {
        return Err(NameError::Malformed);
    }
    if name.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(NameError::Malformed);
    }
    let local = name.len() > 6
        && name
            .get(name.len() - 6..)
            .is_some_and(|t| t.eq_ignore_ascii_case(".local"));
    if local {
        Ok(())
    } else {
        Err(NameError::NotLocal)
    }
}

fn write_name(w: &mut Writer<'_>, name: &str) -> Result<(), NameError> {
    check_local_name(name)?;
    let name = name.strip_suffix('.').unwrap_or(name);
    for label in name.split('.') {
        // check_local_name bounded every label to 63 bytes.
        w.u8(u8::try_from(label.len()).map_err(|_| NameError::Malformed)?);
        w.bytes(label.as_bytes());
    }
    w.u8(0);
    Ok(())
}

/// Emits a one-question mDNS query for `name` (RFC 6762 §5): id 0, no flags, QTYPE `qtype`,
/// class IN with the QU bit when `unicast_response` (§5.4: ask for a unicast reply, as a
/// one-shot querier on a port other than 5353 must). Returns the length written.
///
/// # Errors
/// [`EmitError::Name`] for a name outside `.local`, [`EmitError::Buffer`] if `buf` is short.
pub fn emit_query(
    buf: &mut [u8],
    name: &str,
    qtype: RecordType,
    unicast_response: bool,
) -> Result<usize, EmitError> {
    let mut w = Writer::new(buf);
    w.u16(0); // id: RFC 6762 §18.1, zero in multicast queries
    w.u16(0); // flags: standard query
    w.u16(1); // QDCOUNT
    w.u16(0);
    w.u16(0);
    w.u16(0);
    write_name(&mut w, name)?;
    w.u16(qtype.0);
    w.u16(CLASS_IN | if unicast_response { QU_BIT } else { 0 });
    Ok(w.finish()?)
}

/// Emits an authoritative response (RFC 6762 §6) answering `name` with `addr` (an A or AAAA
/// record, cache-flush set as the unique owner of the name, §10.2), TTL `ttl` seconds (120 is
/// the RFC's default for host records). Returns the length written.
///
/// # Errors
/// As [`emit_query`].
pub fn emit_response(
    buf: &mut [u8],
    name: &str,
    addr: IpAddr,
    ttl: u32,
) -> Result<usize, EmitError> {
    emit_answer(buf, None, name, addr, ttl)
}

/// Emits the reply to a legacy unicast query (RFC 6762 §6.7, a query from a port other than
/// 5353): the query's `id` echoed, its question repeated, the TTL capped at 10 s and no
/// cache-flush bit. Returns the length written.
///
/// # Errors
/// As [`emit_query`].
pub fn emit_legacy_response(
    buf: &mut [u8],
    id: u16,
    qtype: RecordType,
    name: &str,
    addr: IpAddr,
    ttl: u32,
) -> Result<usize, EmitError> {
    emit_answer(buf, Some((id, qtype)), name, addr, ttl.min(10))
}

fn emit_answer(
    buf: &mut [u8],
    legacy: Option<(u16, RecordType)>,
    name: &str,
    addr: IpAddr,
    ttl: u32,
) -> Result<usize, EmitError> {
    let mut w = Writer::new(buf);
    w.u16(legacy.map_or(0, |(id, _)| id));
    w.u16(FLAGS_RESPONSE);
    w.u16(u16::from(legacy.is_some())); // §6: multicast responses carry no questions
    w.u16(1);
    w.u16(0);
    w.u16(0);
    let answer_name = w.position();
    if let Some((_, qtype)) = legacy {
        write_name(&mut w, name)?;
        w.u16(qtype.0);
        w.u16(CLASS_IN);
        // The answer's name points at the question's (RFC 1035 §4.1.4).
        w.u16(0xc000 | u16::try_from(answer_name).unwrap_or(0));
    } else {
        write_name(&mut w, name)?;
    }
    let (rtype, data): (RecordType, &[u8]) = match &addr {
        IpAddr::V4(a) => (RecordType::A, &a.octets()[..]),
        IpAddr::V6(a) => (RecordType::AAAA, &a.octets()[..]),
    };
    w.u16(rtype.0);
    w.u16(CLASS_IN | if legacy.is_some() { 0 } else { CACHE_FLUSH_BIT });
    w.u32(ttl);
    w.u16(u16::try_from(data.len()).unwrap_or(0));
    w.bytes(data);
    Ok(w.finish()?)
}

/// A name inside a parsed message (possibly compressed); compare or decode it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'a> {
    msg: &'a [u8],
    at: usize,
}

/// Walks a name starting at `at`: calls `label` for each label, returns where the name ends in
/// the original stream (after its terminator or first pointer).
fn walk_name<'a>(
    msg: &'a [u8],
    at: usize,
    mut label: impl FnMut(&'a [u8]) -> bool,
) -> Result<usize, Error> {
    let mut pos = at;
    let mut end = None;
    let mut hops = 0usize;
    let mut total = 1usize; // the root's zero byte
    loop {
        let len = *msg.get(pos).ok_or(Error::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(end.unwrap_or(pos + 1)),
            0x00 => {
                let start = pos + 1;
                let stop = start + usize::from(len);
                let bytes = msg.get(start..stop).ok_or(Error::Truncated)?;
                total += 1 + usize::from(len);
                if total > MAX_NAME_LEN {
                    return Err(Error::NameTooLong);
                }
                if !label(bytes) {
                    // The caller saw enough; the end offset is still needed by a parse walk,
                    // so a short-circuiting caller must not rely on it.
                    return Ok(end.unwrap_or(stop));
                }
                pos = stop;
            }
            0xc0 => {
                let low = *msg.get(pos + 1).ok_or(Error::Truncated)?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                hops += 1;
                // Strictly backwards: a loop would have to go forwards somewhere.
                if target >= pos || hops > MAX_POINTER_HOPS {
                    return Err(Error::BadPointer);
                }
                if end.is_none() {
                    end = Some(pos + 2);
                }
                pos = target;
            }
            _ => return Err(Error::BadLabel),
        }
    }
}

impl<'a> Name<'a> {
    /// Whether this is `name` (dotted, one trailing dot allowed), ignoring ASCII case
    /// (RFC 6762 §16: names compare case-insensitively).
    #[must_use]
    pub fn eq_str(&self, name: &str) -> bool {
        let mut rest = name.strip_suffix('.').unwrap_or(name).as_bytes();
        let mut ok = true;
        let mut first = true;
        let walked = walk_name(self.msg, self.at, |label| {
            if !first {
                match rest.split_first() {
                    Some((b'.', r)) => rest = r,
                    _ => {
                        ok = false;
                        return false;
                    }
                }
            }
            first = false;
            match (rest.get(..label.len()), rest.get(label.len()..)) {
                (Some(head), Some(tail)) if head.eq_ignore_ascii_case(label) => {
                    rest = tail;
                    true
                }
                _ => {
                    ok = false;
                    false
                }
            }
        });
        walked.is_ok() && ok && rest.is_empty() && !first
    }

    /// The dotted text form into `out` (no trailing dot); returns its length. Bytes are copied
    /// as they are: a label holding a dot or non-ASCII is not escaped.
    ///
    /// # Errors
    /// [`BufferTooSmall`] when `out` is shorter than the name ([`MAX_NAME_LEN`] always fits).
    pub fn write_dotted(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = Writer::new(out);
        let mut first = true;
        let _ = walk_name(self.msg, self.at, |label| {
            if !first {
                w.u8(b'.');
            }
            first = false;
            w.bytes(label);
            true
        });
        w.finish()
    }
}

/// One question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question<'a> {
    /// The name asked for.
    pub name: Name<'a>,
    /// QTYPE.
    pub qtype: RecordType,
    /// QCLASS without the QU bit.
    pub class: u16,
    /// The QU bit: the querier asked for a unicast reply.
    pub unicast_response: bool,
}

/// One resource record (answer, authority or additional).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The owner name.
    pub name: Name<'a>,
    /// TYPE.
    pub rtype: RecordType,
    /// CLASS without the cache-flush bit.
    pub class: u16,
    /// The cache-flush bit (RFC 6762 §10.2).
    pub cache_flush: bool,
    /// TTL in seconds; zero is a goodbye (§10.1).
    pub ttl: u32,
    /// RDATA, uninterpreted.
    pub data: &'a [u8],
}

impl Record<'_> {
    /// The address an IN A (4 bytes) or AAAA (16 bytes) record carries.
    #[must_use]
    pub fn address(&self) -> Option<IpAddr> {
        if self.class != CLASS_IN {
            return None;
        }
        match self.rtype {
            RecordType::A => <[u8; 4]>::try_from(self.data)
                .ok()
                .map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            RecordType::AAAA => <[u8; 16]>::try_from(self.data)
                .ok()
                .map(|b| IpAddr::V6(Ipv6Addr::from(b))),
            _ => None,
        }
    }
}

/// A checked view of one DNS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    msg: &'a [u8],
    flags: u16,
    questions: u16,
    records: u32,
}

fn read_question<'a>(msg: &'a [u8], at: usize) -> Result<(Question<'a>, usize), Error> {
    let end = walk_name(msg, at, |_| true)?;
    let mut r = Reader::new(msg.get(end..).ok_or(Error::Truncated)?);
    let qtype = RecordType(r.u16()?);
    let class = r.u16()?;
    Ok((
        Question {
            name: Name { msg, at },
            qtype,
            class: class & !QU_BIT,
            unicast_response: class & QU_BIT != 0,
        },
        end + 4,
    ))
}

fn read_record<'a>(msg: &'a [u8], at: usize) -> Result<(Record<'a>, usize), Error> {
    let end = walk_name(msg, at, |_| true)?;
    let mut r = Reader::new(msg.get(end..).ok_or(Error::Truncated)?);
    let rtype = RecordType(r.u16()?);
    let class = r.u16()?;
    let ttl = r.u32()?;
    let len = usize::from(r.u16()?);
    let data = r.take(len)?;
    Ok((
        Record {
            name: Name { msg, at },
            rtype,
            class: class & !CACHE_FLUSH_BIT,
            cache_flush: class & CACHE_FLUSH_BIT != 0,
            ttl,
            data,
        },
        end + 10 + len,
    ))
}

impl<'a> Message<'a> {
    /// Checks `msg`: header, every question and record (names with their pointers, RDATA
    /// lengths). Bytes after the last record are ignored (some stacks pad).
    ///
    /// # Errors
    /// [`Error`] for anything malformed, a non-zero opcode or response code.
    pub fn parse(msg: &'a [u8]) -> Result<Message<'a>, Error> {
        let mut r = Reader::new(msg);
        let _id = r.u16()?;
        let flags = r.u16()?;
        let qd = r.u16()?;
        let an = r.u16()?;
        let ns = r.u16()?;
        let ar = r.u16()?;
        if (flags >> 11) & 0xf != 0 {
            return Err(Error::Opcode);
        }
        if flags & 0xf != 0 {
            return Err(Error::ResponseCode);
        }
        let records = u32::from(an) + u32::from(ns) + u32::from(ar);
        let mut at = HEADER_LEN;
        for _ in 0..qd {
            at = read_question(msg, at)?.1;
        }
        for _ in 0..records {
            at = read_record(msg, at)?.1;
        }
        Ok(Message {
            msg,
            flags,
            questions: qd,
            records,
        })
    }

    /// Whether this is a response (QR set).
    #[must_use]
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The message id (zero in multicast mDNS).
    #[must_use]
    pub fn id(&self) -> u16 {
        Reader::new(self.msg).u16().unwrap_or(0)
    }

    /// The questions.
    pub fn questions(&self) -> impl Iterator<Item = Question<'a>> + 'a {
        let msg = self.msg;
        let mut at = HEADER_LEN;
        (0..self.questions).map_while(move |_| {
            let (q, next) = read_question(msg, at).ok()?;
            at = next;
            Some(q)
        })
    }

    /// Every record of the answer, authority and additional sections, in order (RFC 6762 §6:
    /// a responder may put the address in either answers or additional records).
    pub fn records(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        let msg = self.msg;
        let mut at = HEADER_LEN;
        let questions = self.questions;
        let mut skipped = false;
        (0..self.records).map_while(move |_| {
            if !skipped {
                for _ in 0..questions {
                    at = read_question(msg, at).ok()?.1;
                }
                skipped = true;
            }
            let (rec, next) = read_record(msg, at).ok()?;
            at = next;
            Some(rec)
        })
    }
}
