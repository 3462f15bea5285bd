//! The SRTP key derivation function (RFC 3711 §4.3) with the AES-CM PRF (§4.3.3).
//!
//! ```text
//!   master key ──► AES-CTR, IV = (master salt ^ (label << 48)) << 16 ──► session key / auth key / salt
//!                                label 0,1,2: SRTP   3,4,5: SRTCP
//! ```
//!
//! DTLS-SRTP never sets a key derivation rate (RFC 5764 §4.1.2), so `r = index DIV kdr` is
//! always 0 and every session key is derived once, when the context is built. GCM profiles
//! use the same PRF with a 96-bit master salt, which the PRF pads with zeros on the right to
//! its 112-bit input (RFC 7714 §11).

use peerless_crypto::{AesCtr128, AesCtr256};

use crate::Error;

/// Which session value to derive, as RFC 3711 §4.3.1 and §4.3.2 number them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Label(pub(crate) u8);

impl Label {
    pub(crate) const RTP_ENCRYPTION: Label = Label(0x00);
    pub(crate) const RTP_AUTH: Label = Label(0x01);
    pub(crate) const RTP_SALT: Label = Label(0x02);
    pub(crate) const RTCP_ENCRYPTION: Label = Label(0x03);
    pub(crate) const RTCP_AUTH: Label = Label(0x04);
    pub(crate) const RTCP_SALT: Label = Label(0x05);
}

/// Fills `out` with the PRF output for `label` (RFC 3711 §4.3.1 with `r = 0`).
///
/// `master_key` is 16 or 32 bytes (AES-128 or AES-256 PRF), `master_salt` at most 14.
pub(crate) fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    out: &mut [u8],
) -> Result<(), Error> {
    // x = key_id XOR master_salt, key_id = label || r (48 bits of zero): the label lands on
    // the eighth byte of the 112-bit salt; the IV is x * 2^16.
    let mut iv = [0u8; 16];
    iv.get_mut(..master_salt.len())
        .filter(|_| master_salt.len() <= 14)
        .ok_or(Error::InvalidKeyLength)?
        .copy_from_slice(master_salt);
    iv[7] ^= label.0;
    out.fill(0);
    match master_key.len() {
        16 => AesCtr128::from_slice(master_key)
            .map_err(|_| Error::InvalidKeyLength)?
            .apply_keystream(&iv, out),
        32 => AesCtr256::from_slice(master_key)
            .map_err(|_| Error::InvalidKeyLength)?
            .apply_keystream(&iv, out),
        _ => return Err(Error::InvalidKeyLength),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// RFC 3711 Appendix B.3: key derivation test vectors.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let key = hex!("E1F97A0D3E018BE0D64FA32C06DE4139");
        let salt = hex!("0EC675AD498AFEEBB6960B3AABE6");
        let mut cipher_key = [0u8; 16];
        derive(&key, &salt, Label::RTP_ENCRYPTION, &mut cipher_key).unwrap();
        assert_eq!(cipher_key, hex!("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut cipher_salt = [0u8; 14];
        derive(&key, &salt, Label::RTP_SALT, &mut cipher_salt).unwrap();
        assert_eq!(cipher_salt, hex!("30CBBC08863D8C85D49DB34A9AE1"));
        // The appendix lists 94 bytes of authentication key output (several PRF blocks).
        let mut auth = [0u8; 94];
        derive(&key, &salt, Label::RTP_AUTH, &mut auth).unwrap();
        assert_eq!(
            auth,
            hex!(
                "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
                "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25"
                "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"
            )
        );
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let mut out = [0u8; 16];
        assert_eq!(
            derive(&[0; 24], &[0; 14], Label::RTP_ENCRYPTION, &mut out),
            Err(Error::InvalidKeyLength)
        );
        assert_eq!(
            derive(&[0; 16], &[0; 15], Label::RTP_ENCRYPTION, &mut out),
            Err(Error::InvalidKeyLength)
        );
    }
}
