//! Writing descriptions: line by line into any `core::fmt::Write`, or into `&mut [u8]`.
//!
//! Every typed attribute in [`crate::attr`] and every line type in [`crate::session`]
//! implements `Display` as its SDP value; [`SdpWriter`] adds the `x=` prefix and the CRLF
//! (RFC 8866 §5 requires CRLF; browsers accept nothing else reliably). [`SliceWriter`] is the
//! `fmt::Write` that fills a caller's buffer and reports the size it needed when it is too
//! small, so writing never allocates and never truncates silently.
//!
//! The JSEP writers do not go through `Display`: they write pieces of text into a
//! `&mut dyn Sink` ([`Out`]), numbers through `peerless_base::text::Ascii`, so a firmware that
//! makes offers and answers links none of `core::fmt`'s machinery (`SdpWriter`, for users,
//! still takes any `Display`).
//!
//! ```text
//!   create_offer / create_answer ──► Out::line("m=", [&kind, &" ", &port, ...]) ──► dyn Sink
//!                                    Out::attr("rtpmap", &Rtpmap {..})           (SliceWriter,
//!                                    Out::flag("rtcp-mux")                        String, ...)
//! ```

use core::fmt::{self, Display};

use peerless_base::text::{Ascii, Sink};
use peerless_base::{BufferTooSmall, Writer};

/// A value the JSEP writers write as SDP text without `core::fmt`; the `Display` of the typed
/// attributes is the same code.
pub(crate) trait Value {
    /// Writes the value.
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result;
}

impl Value for str {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        out.put(self)
    }
}

impl<T: Value + ?Sized> Value for &T {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        (**self).put_to(out)
    }
}

macro_rules! decimal_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
                out.put(Ascii::decimal(u64::from(*self)).as_str())
            }
        }
    )*};
}
decimal_value!(u8, u16, u32, u64);

/// The JSEP writers' output: SDP lines into a `dyn Sink`.
pub(crate) struct Out<'o> {
    out: &'o mut dyn Sink,
}

impl<'o> Out<'o> {
    pub(crate) fn new(out: &'o mut dyn Sink) -> Self {
        Out { out }
    }

    /// Text as it is, no line end.
    pub(crate) fn put(&mut self, s: &str) -> fmt::Result {
        self.out.put(s)
    }

    /// A value, no line end.
    pub(crate) fn value(&mut self, v: &dyn Value) -> fmt::Result {
        v.put_to(self.out)
    }

    /// `<start><parts...>\r\n`: `start` is `"m="`, `"a=ssrc:"`...
    pub(crate) fn line(&mut self, start: &str, parts: &[&dyn Value]) -> fmt::Result {
        self.out.put(start)?;
        for p in parts {
            p.put_to(self.out)?;
        }
        self.out.put("\r\n")
    }

    /// `a=<name>:<value>\r\n`.
    pub(crate) fn attr(&mut self, name: &str, value: &dyn Value) -> fmt::Result {
        self.out.put("a=")?;
        self.out.put(name)?;
        self.out.put(":")?;
        value.put_to(self.out)?;
        self.out.put("\r\n")
    }

    /// `a=<name>\r\n`.
    pub(crate) fn flag(&mut self, name: &str) -> fmt::Result {
        self.line("a=", &[&name])
    }
}

/// A `core::fmt::Write` into the caller's buffer.
///
/// Writes never fail: output that does not fit is counted, and [`SliceWriter::finish`] reports
/// the length that would have been enough (retry with a buffer that large).
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SliceWriter<'b> {
    inner: Writer<'b>,
}

impl<'b> SliceWriter<'b> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        SliceWriter {
            inner: Writer::new(buf),
        }
    }

    /// The length written, or [`BufferTooSmall`] with the length needed.
    pub fn finish(self) -> Result<usize, BufferTooSmall> {
        self.inner.finish()
    }
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.inner.bytes(s.as_bytes());
        Ok(())
    }
}

/// Runs `write` into `buf` and returns the text written.
///
/// `Err(WriteError::BufferTooSmall)` carries the size to retry with;
/// `Err(WriteError::Format)` means `write` itself failed.
pub fn write_to_slice(
    buf: &mut [u8],
    write: impl FnOnce(&mut SliceWriter<'_>) -> fmt::Result,
) -> Result<&str, WriteError> {
    let mut w = SliceWriter::new(buf);
    write(&mut w).map_err(|_| WriteError::Format)?;
    let n = w.finish().map_err(WriteError::BufferTooSmall)?;
    buf.get(..n)
        .and_then(|b| core::str::from_utf8(b).ok())
        .ok_or(WriteError::Format)
}

/// Why [`write_to_slice`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WriteError {
    /// The buffer is too small; this many bytes are needed.
    BufferTooSmall(BufferTooSmall),
    /// The writing code reported an error (an invalid input it refused to write).
    Format,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BufferTooSmall(b) => b.fmt(f),
            Self::Format => f.write_str("SDP writer failed"),
        }
    }
}

impl core::error::Error for WriteError {}

/// Writes SDP lines (`x=<value>\r\n`) into a `fmt::Write`.
///
/// ```
/// use peerless_sdp::{attr::Setup, SdpWriter, SliceWriter, Session};
/// let mut buf = [0u8; 256];
/// let mut out = SliceWriter::new(&mut buf);
/// let mut w = SdpWriter::new(&mut out);
/// w.line('v', 0)?;
/// w.line('o', "- 1 1 IN IP4 0.0.0.0")?;
/// w.line('s', "-")?;
/// w.line('t', "0 0")?;
/// w.line('m', "application 9 UDP/DTLS/SCTP webrtc-datachannel")?;
/// w.attr("setup", Setup::Actpass)?;
/// w.flag("rtcp-mux")?;
/// let n = out.finish().unwrap();
/// let text = core::str::from_utf8(&buf[..n]).unwrap();
/// let s = Session::parse(text).unwrap();
/// assert_eq!(s.media_at(0).unwrap().setup(), Some(Setup::Actpass));
/// # Ok::<(), core::fmt::Error>(())
/// ```
#[derive(Debug)]
pub struct SdpWriter<'w, W: fmt::Write + ?Sized> {
    out: &'w mut W,
}

/// Any `fmt::Write` can be the output, so there is nothing of it to show.
#[cfg(feature = "defmt")]
impl<W: fmt::Write + ?Sized> defmt::Format for SdpWriter<'_, W> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "SdpWriter");
    }
}

impl<'w, W: fmt::Write + ?Sized> SdpWriter<'w, W> {
    /// A writer appending to `out`.
    pub fn new(out: &'w mut W) -> Self {
        SdpWriter { out }
    }

    /// `<kind>=<value>\r\n`.
    pub fn line(&mut self, kind: char, value: impl Display) -> fmt::Result {
        write!(self.out, "{kind}={value}\r\n")
    }

    /// `a=<name>:<value>\r\n`.
    pub fn attr(&mut self, name: &str, value: impl Display) -> fmt::Result {
        write!(self.out, "a={name}:{value}\r\n")
    }

    /// `a=<name>\r\n` (a property attribute such as `rtcp-mux`).
    pub fn flag(&mut self, name: &str) -> fmt::Result {
        write!(self.out, "a={name}\r\n")
    }

    /// An attribute as parsed ([`crate::Attribute`]), value or not.
    pub fn attribute(&mut self, a: &crate::Attribute<'_>) -> fmt::Result {
        write!(self.out, "a={a}\r\n")
    }

    /// The underlying output, to write something unusual.
    pub fn inner(&mut self) -> &mut W {
        self.out
    }
}
