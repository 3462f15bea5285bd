//! Demultiplexing one UDP flow into its protocols by the first byte (RFC 7983, §7):
//!
//! ```text
//!                 +----------------+
//!                 |        [0..3] -+--> STUN           (ICE checks, consent)
//!                 |      [16..19] -+--> ZRTP           (dropped: not used by WebRTC)
//!    packet -->   |      [20..63] -+--> DTLS           (handshake, then SCTP inside)
//!                 |      [64..79] -+--> TURN ChannelData
//!                 |    [128..191] -+--> RTP / RTCP     (second byte 192..=223: RTCP, RFC 5761)
//!                 +----------------+    anything else: dropped and counted
//! ```

/// What a datagram on the shared socket carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Protocol {
    /// STUN (ICE connectivity checks and consent).
    Stun,
    /// ZRTP: never used by WebRTC; classified so it can be counted.
    Zrtp,
    /// DTLS records.
    Dtls,
    /// TURN ChannelData.
    TurnChannel,
    /// RTP.
    Rtp,
    /// RTCP (RFC 5761: payload types 192..=223 in the second byte).
    Rtcp,
}

/// Classifies a datagram by its first byte (and, for RTP/RTCP, its second); `None` for bytes
/// no WebRTC protocol starts with.
#[must_use]
pub fn classify(datagram: &[u8]) -> Option<Protocol> {
    let &first = datagram.first()?;
    Some(match first {
        0..=3 => Protocol::Stun,
        16..=19 => Protocol::Zrtp,
        20..=63 => Protocol::Dtls,
        64..=79 => Protocol::TurnChannel,
        128..=191 => match datagram.get(1) {
            Some(192..=223) => Protocol::Rtcp,
            Some(_) => Protocol::Rtp,
            None => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_byte_goes_where_rfc_7983_says() {
        for b in 0..=255u8 {
            let expected = match b {
                0..=3 => Some(Protocol::Stun),
                16..=19 => Some(Protocol::Zrtp),
                20..=63 => Some(Protocol::Dtls),
                64..=79 => Some(Protocol::TurnChannel),
                128..=191 => Some(Protocol::Rtp),
                _ => None,
            };
            assert_eq!(classify(&[b, 96, 0, 0]), expected, "first byte {b}");
        }
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_the_packet_type() {
        // RTCP sender report (PT 200) and receiver report (PT 201) vs RTP payload type 111.
        assert_eq!(classify(&[0x80, 200, 0, 6]), Some(Protocol::Rtcp));
        assert_eq!(classify(&[0x81, 201, 0, 7]), Some(Protocol::Rtcp));
        assert_eq!(classify(&[0x80, 111, 0, 1]), Some(Protocol::Rtp));
        // Marker bit set on PT 96 is 0xe0: still RTP (RFC 5761 §4 keeps 224..=255 for RTP+M).
        assert_eq!(classify(&[0x80, 0xe0, 0, 1]), Some(Protocol::Rtp));
    }

    #[test]
    fn empty_and_truncated_datagrams_are_dropped() {
        assert_eq!(classify(&[]), None);
        assert_eq!(classify(&[0x80]), None);
        assert_eq!(classify(&[22]), Some(Protocol::Dtls));
    }
}
