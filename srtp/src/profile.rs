//! The four SRTP protection profiles WebRTC negotiates, and their parameters.

/// An SRTP protection profile: cipher, key and salt sizes, and tag lengths.
///
/// These are the profiles a DTLS-SRTP `use_srtp` extension negotiates (RFC 5764 §4.1.2,
/// RFC 7714 §14.2). The DTLS code point of each is [`Profile::dtls_id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Profile {
    /// `SRTP_AES128_CM_HMAC_SHA1_80` (RFC 3711): AES-128 counter mode, HMAC-SHA1 with an
    /// 80-bit tag on SRTP and SRTCP.
    AesCm128HmacSha1_80,
    /// `SRTP_AES128_CM_HMAC_SHA1_32` (RFC 3711, RFC 5764 §4.1.2): as above but with a 32-bit tag
    /// on SRTP; SRTCP keeps the 80-bit tag.
    AesCm128HmacSha1_32,
    /// `SRTP_AEAD_AES_128_GCM` (RFC 7714): AES-128-GCM, 16-byte tag.
    AeadAes128Gcm,
    /// `SRTP_AEAD_AES_256_GCM` (RFC 7714): AES-256-GCM, 16-byte tag.
    AeadAes256Gcm,
}

impl Profile {
    /// Every profile, in the order a WebRTC endpoint usually prefers them (AEAD first).
    pub const ALL: [Profile; 4] = [
        Profile::AeadAes128Gcm,
        Profile::AeadAes256Gcm,
        Profile::AesCm128HmacSha1_80,
        Profile::AesCm128HmacSha1_32,
    ];

    /// Length of the master key in bytes (and of the session encryption key).
    #[must_use]
    pub const fn master_key_len(self) -> usize {
        match self {
            Profile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Length of the master salt in bytes (and of the session salt): 112 bits for AES-CM,
    /// 96 bits for GCM.
    #[must_use]
    pub const fn master_salt_len(self) -> usize {
        if self.is_aead() { 12 } else { 14 }
    }

    /// Bytes the authentication tag adds to an SRTP packet.
    #[must_use]
    pub const fn rtp_tag_len(self) -> usize {
        match self {
            Profile::AesCm128HmacSha1_80 => 10,
            Profile::AesCm128HmacSha1_32 => 4,
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => 16,
        }
    }

    /// Bytes the authentication tag adds to an SRTCP packet (the 32-bit profile keeps an
    /// 80-bit tag on SRTCP, RFC 5764 §4.1.2).
    #[must_use]
    pub const fn rtcp_tag_len(self) -> usize {
        if self.is_aead() { 16 } else { 10 }
    }

    /// Bytes `protect_rtp` appends to a packet.
    #[must_use]
    pub const fn rtp_overhead(self) -> usize {
        self.rtp_tag_len()
    }

    /// Bytes `protect_rtcp` appends to a packet (tag plus the 4-byte E flag and SRTCP index).
    #[must_use]
    pub const fn rtcp_overhead(self) -> usize {
        self.rtcp_tag_len() + 4
    }

    /// Whether this is an AEAD (GCM) profile, whose tag covers the header as associated data.
    #[must_use]
    pub const fn is_aead(self) -> bool {
        matches!(self, Profile::AeadAes128Gcm | Profile::AeadAes256Gcm)
    }

    /// Length of the session authentication key (HMAC-SHA1: 160 bits; GCM has none).
    #[must_use]
    pub(crate) const fn auth_key_len(self) -> usize {
        if self.is_aead() { 0 } else { 20 }
    }

    /// The DTLS-SRTP protection profile code point (RFC 5764 §4.1.2, RFC 7714 §14.2).
    #[must_use]
    pub const fn dtls_id(self) -> u16 {
        match self {
            Profile::AesCm128HmacSha1_80 => 0x0001,
            Profile::AesCm128HmacSha1_32 => 0x0002,
            Profile::AeadAes128Gcm => 0x0007,
            Profile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The profile for a DTLS-SRTP code point, if it is one of the four.
    #[must_use]
    pub const fn from_dtls_id(id: u16) -> Option<Profile> {
        match id {
            0x0001 => Some(Profile::AesCm128HmacSha1_80),
            0x0002 => Some(Profile::AesCm128HmacSha1_32),
            0x0007 => Some(Profile::AeadAes128Gcm),
            0x0008 => Some(Profile::AeadAes256Gcm),
            _ => None,
        }
    }

    /// How many bytes to ask the DTLS exporter for (`EXTRACTOR-dtls_srtp`, RFC 5764 §4.2):
    /// two keys and two salts.
    #[must_use]
    pub const fn keying_material_len(self) -> usize {
        2 * (self.master_key_len() + self.master_salt_len())
    }

    /// The profile's registered name, as SDP security descriptions and DTLS logs spell it.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Profile::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Profile::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
            Profile::AeadAes128Gcm => "AEAD_AES_128_GCM",
            Profile::AeadAes256Gcm => "AEAD_AES_256_GCM",
        }
    }
}

impl core::fmt::Display for Profile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtls_ids_round_trip_and_lengths_match_rfc5764() {
        for p in Profile::ALL {
            assert_eq!(Profile::from_dtls_id(p.dtls_id()), Some(p));
        }
        assert_eq!(Profile::from_dtls_id(0x0005), None);
        // RFC 5764 §4.2: 2 * (16 + 14) for the AES-CM profiles; RFC 7714: 2 * (16|32 + 12).
        assert_eq!(Profile::AesCm128HmacSha1_80.keying_material_len(), 60);
        assert_eq!(Profile::AesCm128HmacSha1_32.keying_material_len(), 60);
        assert_eq!(Profile::AeadAes128Gcm.keying_material_len(), 56);
        assert_eq!(Profile::AeadAes256Gcm.keying_material_len(), 88);
        assert_eq!(Profile::AesCm128HmacSha1_32.rtcp_tag_len(), 10);
    }
}
