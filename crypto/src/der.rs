//! ECDSA P-256 signatures between the raw `r ‖ s` form the backends use and the DER
//! `SEQUENCE { INTEGER r, INTEGER s }` TLS carries (RFC 5480, RFC 8422 §5.4).
//!
//! ```text
//!   r ‖ s (64) ──encode──► 30 len 02 len [00] r 02 len [00] s   (at most 72 bytes)
//!              ◄─decode─── (minimal or zero-padded integers of at most 32 significant bytes)
//! ```

/// The longest DER P-256 signature: two 33-byte integers and three headers.
pub const MAX_LEN: usize = 72;

/// Writes `signature` (`r ‖ s`) as DER into `out`; returns its length.
#[must_use]
pub fn encode(signature: &[u8; 64], out: &mut [u8; MAX_LEN]) -> usize {
    let (r, s) = signature.split_at(32);
    let mut at = 2;
    for v in [r, s] {
        // Minimal: leading zeros dropped (one kept for zero), 0x00 before a high bit.
        let skip = v.iter().take_while(|&&b| b == 0).count().min(31);
        let v = v.get(skip..).unwrap_or_default();
        let pad = v.first().is_some_and(|b| b & 0x80 != 0);
        let len = v.len() + usize::from(pad);
        put(out, at, &[0x02, len as u8]);
        at += 2;
        if pad {
            put(out, at, &[0]);
            at += 1;
        }
        put(out, at, v);
        at += v.len();
    }
    put(out, 0, &[0x30, (at - 2) as u8]);
    at
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = out.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

/// Parses a DER signature into `r ‖ s`; `None` unless it is one SEQUENCE of two positive
/// INTEGERs of at most 32 significant bytes, with nothing after it.
#[must_use]
pub fn decode(der: &[u8]) -> Option<[u8; 64]> {
    let (&tag, rest) = der.split_first()?;
    let (&len, mut seq) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != seq.len() {
        return None;
    }
    let mut out = [0u8; 64];
    for half in out.chunks_exact_mut(32) {
        let (&tag, rest) = seq.split_first()?;
        let (&len, rest) = rest.split_first()?;
        if tag != 0x02 {
            return None;
        }
        let (mut v, rest) = rest.split_at_checked(usize::from(len))?;
        seq = rest;
        while v.len() > 32 && v.first() == Some(&0) {
            v = v.get(1..)?;
        }
        if v.len() > 32 || v.is_empty() {
            return None;
        }
        half.get_mut(32 - v.len()..)?.copy_from_slice(v);
    }
    seq.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_minimal_and_padded() {
        let mut sig = [0u8; 64];
        sig[..32].fill(0x80);
        sig[63] = 7;
        let mut out = [0u8; MAX_LEN];
        let n = encode(&sig, &mut out);
        assert_eq!(&out[..6], &[0x30, (n - 2) as u8, 0x02, 33, 0x00, 0x80]);
        assert_eq!(&out[n - 3..n], &[0x02, 1, 7]);
        assert_eq!(decode(&out[..n]), Some(sig));
        assert_eq!(decode(&out[..n - 1]), None);
        let mut long = out;
        long[1] += 1;
        assert_eq!(decode(&long[..n + 1]), None);
    }
}
