//! Text without `core::fmt`: numbers and addresses as ASCII made on the stack, and [`Sink`],
//! the one-method output the description writers (SDP, ICE candidates, the Peer's own text)
//! write into.
//!
//! ```text
//!   u64 / hex / Ipv4Addr / Ipv6Addr ──► Ascii (≤ 39 bytes on the stack) ──► as_str()
//!                                                                            │
//!   writer: out.put("a=mid:")?; out.put(Ascii::decimal(n).as_str())?; ...  ◄┘
//!   out: &mut dyn Sink  (any core::fmt::Write: a buffer, a String, a Formatter)
//! ```
//!
//! Why: `write!` links `core::fmt`'s machinery (the argument walker, `Formatter::pad`, every
//! integer's `Display`, `Ipv6Addr`'s `Display`: about 7 KB on a Cortex-M4), and a `dyn
//! fmt::Write` vtable keeps `write_fmt` (and with it `core::fmt::write`) even where nothing
//! calls it. [`Sink`]'s vtable holds only [`Sink::put`]. The text is the same bytes
//! `core::fmt` writes: decimal without padding, hex in the case asked with leading zeros to a
//! width, IPv4 dotted decimal, IPv6 as RFC 5952 says (and as `core::net::Ipv6Addr` displays
//! it: lower case, the longest run of two or more zero groups as `::`, the first of equal runs,
//! IPv4-mapped addresses as `::ffff:a.b.c.d`).

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where text is written: one object-safe method, so `&mut dyn Sink` costs no `core::fmt`.
///
/// Every `core::fmt::Write` is a `Sink` (its `write_str`): a caller's buffer writer, a
/// `String`, a `Formatter` inside a `Display` impl.
pub trait Sink {
    /// Appends `s`; `Err` when the output cannot take it (a full fixed buffer).
    fn put(&mut self, s: &str) -> fmt::Result;
}

impl<W: fmt::Write + ?Sized> Sink for W {
    fn put(&mut self, s: &str) -> fmt::Result {
        self.write_str(s)
    }
}

/// The longest text made here: an IPv6 address of eight four-digit groups.
const CAPACITY: usize = 39;

/// Up to 39 ASCII bytes on the stack: a number or an address as text.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ascii {
    bytes: [u8; CAPACITY],
    len: u8,
}

impl fmt::Debug for Ascii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Ascii {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str());
    }
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

impl Ascii {
    const fn empty() -> Self {
        Ascii {
            bytes: [0; CAPACITY],
            len: 0,
        }
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever appended.
        core::str::from_utf8(self.bytes.get(..usize::from(self.len)).unwrap_or_default())
            .unwrap_or_default()
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.bytes.get_mut(usize::from(self.len)) {
            *slot = b;
            self.len = self.len.saturating_add(1);
        }
    }

    fn push_str(&mut self, s: &str) {
        for b in s.bytes() {
            self.push(b);
        }
    }

    /// Appends `v` in base `radix` (10 or 16), at least `width` digits (zero-padded).
    fn push_number(&mut self, mut v: u64, radix: u64, width: usize, upper: bool) {
        // Digits come out least significant first: build them backwards, then copy.
        let mut tmp = [0u8; 20];
        let mut n = 0;
        loop {
            let d = DIGITS.get((v % radix) as usize).copied().unwrap_or(b'0');
            if let Some(slot) = tmp.get_mut(n) {
                *slot = if upper { d.to_ascii_uppercase() } else { d };
            }
            n += 1;
            v /= radix;
            if v == 0 || n == tmp.len() {
                break;
            }
        }
        for _ in n..width.min(CAPACITY) {
            self.push(b'0');
        }
        for d in tmp.iter().take(n).rev() {
            self.push(*d);
        }
    }

    /// `v` in decimal, as `{v}` writes it.
    #[must_use]
    pub fn decimal(v: u64) -> Self {
        let mut a = Self::empty();
        a.push_number(v, 10, 0, false);
        a
    }

    /// `v` in lower-case hex with at least `width` digits, as `{v:0width$x}` writes it.
    #[must_use]
    pub fn hex(v: u64, width: usize) -> Self {
        let mut a = Self::empty();
        a.push_number(v, 16, width, false);
        a
    }

    /// `v` in upper-case hex with at least `width` digits, as `{v:0width$X}` writes it.
    #[must_use]
    pub fn hex_upper(v: u64, width: usize) -> Self {
        let mut a = Self::empty();
        a.push_number(v, 16, width, true);
        a
    }

    /// Dotted decimal, `192.0.2.1`.
    #[must_use]
    pub fn ipv4(ip: Ipv4Addr) -> Self {
        let mut a = Self::empty();
        a.push_ipv4(ip);
        a
    }

    fn push_ipv4(&mut self, ip: Ipv4Addr) {
        for (i, octet) in ip.octets().iter().enumerate() {
            if i > 0 {
                self.push(b'.');
            }
            self.push_number(u64::from(*octet), 10, 0, false);
        }
    }

    /// RFC 5952 text, the same as `core::net::Ipv6Addr`'s `Display`.
    #[must_use]
    pub fn ipv6(ip: Ipv6Addr) -> Self {
        let mut a = Self::empty();
        let groups = ip.segments();
        if let [0, 0, 0, 0, 0, 0xffff, hi, lo] = groups {
            // IPv4-mapped (RFC 4291 §2.5.5.2): RFC 5952 §5 writes the IPv4 part dotted.
            a.push_str("::ffff:");
            let [a0, a1] = hi.to_be_bytes();
            let [a2, a3] = lo.to_be_bytes();
            a.push_ipv4(Ipv4Addr::new(a0, a1, a2, a3));
            return a;
        }
        // The longest run of zero groups (the first of equal ones), compressed only if it
        // spans two groups or more (RFC 5952 §4.2.2).
        let (mut best_at, mut best_len) = (0, 0);
        let (mut run_at, mut run_len) = (0, 0);
        for (i, g) in groups.iter().enumerate() {
            if *g == 0 {
                if run_len == 0 {
                    run_at = i;
                }
                run_len += 1;
                if run_len > best_len {
                    (best_at, best_len) = (run_at, run_len);
                }
            } else {
                run_len = 0;
            }
        }
        let skip = if best_len > 1 {
            best_at..best_at + best_len
        } else {
            0..0
        };
        for (i, g) in groups.iter().enumerate() {
            if skip.contains(&i) {
                if i == skip.start {
                    a.push_str("::");
                }
                continue;
            }
            if i > 0 && i != skip.end {
                a.push(b':');
            }
            a.push_number(u64::from(*g), 16, 0, false);
        }
        a
    }

    /// Either address family, as `IpAddr`'s `Display`.
    #[must_use]
    pub fn ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::ipv4(v4),
            IpAddr::V6(v6) => Self::ipv6(v6),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn known_answers() {
        assert_eq!(Ascii::decimal(0).as_str(), "0");
        assert_eq!(Ascii::decimal(u64::MAX).as_str(), "18446744073709551615");
        assert_eq!(Ascii::hex(0xc0ffee, 16).as_str(), "0000000000c0ffee");
        assert_eq!(Ascii::hex(u64::MAX, 0).as_str(), "ffffffffffffffff");
        assert_eq!(Ascii::hex_upper(0xa, 2).as_str(), "0A");
        for (text, ip) in [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("2001:db8::1:0:0:1", "2001:db8:0:0:1:0:0:1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("::ffff:192.0.2.1", "::ffff:c000:201"),
            ("::c000:201", "::192.0.2.1"),
            ("fe80::1:2", "fe80:0:0:0:0:0:1:2"),
        ] {
            let ip: Ipv6Addr = ip.parse().unwrap();
            assert_eq!(Ascii::ipv6(ip).as_str(), text);
        }
        assert_eq!(
            Ascii::ip(IpAddr::V4(Ipv4Addr::new(255, 0, 10, 1))).as_str(),
            "255.0.10.1"
        );
        let mut s = std::string::String::new();
        let sink: &mut dyn Sink = &mut s;
        sink.put(Ascii::decimal(7).as_str()).unwrap();
        assert_eq!(s, format!("{}", 7));
    }
}
