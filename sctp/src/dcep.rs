//! The Data Channel Establishment Protocol (RFC 8832): DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK.
//!
//! ```text
//!   opener                                   acceptor
//!     | DATA SSN 0, PPID 50: OPEN(type, priority, reliability, label, protocol)
//!     |------------------------------------------>|  channel exists; ChannelOpen event
//!     | DATA PPID 50: ACK                          |
//!     |<------------------------------------------|  opener may now send unordered
//! ```

use peerless_base::{Reader, Writer};

use crate::wire::Error;

/// DCEP message types (RFC 8832 §8.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MessageType(pub u8);

impl MessageType {
    /// DATA_CHANNEL_ACK.
    pub const ACK: MessageType = MessageType(0x02);
    /// DATA_CHANNEL_OPEN.
    pub const OPEN: MessageType = MessageType(0x03);
}

/// Channel types of a DATA_CHANNEL_OPEN (RFC 8832 §5.1): reliability in the low bits, the
/// unordered flag in the top bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChannelType(pub u8);

impl ChannelType {
    /// Reliable, ordered.
    pub const RELIABLE: ChannelType = ChannelType(0x00);
    /// Reliable, unordered.
    pub const RELIABLE_UNORDERED: ChannelType = ChannelType(0x80);
    /// Partially reliable by retransmission count, ordered.
    pub const PARTIAL_RELIABLE_REXMIT: ChannelType = ChannelType(0x01);
    /// Partially reliable by retransmission count, unordered.
    pub const PARTIAL_RELIABLE_REXMIT_UNORDERED: ChannelType = ChannelType(0x81);
    /// Partially reliable by lifetime, ordered.
    pub const PARTIAL_RELIABLE_TIMED: ChannelType = ChannelType(0x02);
    /// Partially reliable by lifetime, unordered.
    pub const PARTIAL_RELIABLE_TIMED_UNORDERED: ChannelType = ChannelType(0x82);

    /// Whether messages are delivered in order.
    #[must_use]
    pub fn is_ordered(self) -> bool {
        self.0 & 0x80 == 0
    }
}

/// A checked DATA_CHANNEL_OPEN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Open<'a> {
    /// The channel type.
    pub channel_type: ChannelType,
    /// The priority (RFC 8831 §6.4 values: 128 below normal, 256 normal, 512 high, 1024 extra high).
    pub priority: u16,
    /// Retransmissions or lifetime in milliseconds, per the channel type.
    pub reliability: u32,
    /// The label (UTF-8).
    pub label: &'a str,
    /// The sub-protocol (UTF-8).
    pub protocol: &'a str,
}

/// A checked DCEP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// DATA_CHANNEL_OPEN.
    Open(Open<'a>),
    /// DATA_CHANNEL_ACK.
    Ack,
}

impl<'a> Message<'a> {
    /// Checks a DCEP message (label and protocol must be UTF-8, RFC 8832 §5.1).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        match MessageType(r.u8()?) {
            MessageType::ACK => Ok(Message::Ack),
            MessageType::OPEN => {
                let channel_type = ChannelType(r.u8()?);
                let priority = r.u16()?;
                let reliability = r.u32()?;
                let label_len = usize::from(r.u16()?);
                let protocol_len = usize::from(r.u16()?);
                let label = r.take(label_len)?;
                let protocol = r.take(protocol_len)?;
                let label = core::str::from_utf8(label).map_err(|_| Error::Invalid)?;
                let protocol = core::str::from_utf8(protocol).map_err(|_| Error::Invalid)?;
                if !matches!(channel_type.0 & 0x7f, 0..=2) {
                    return Err(Error::Invalid);
                }
                Ok(Message::Open(Open {
                    channel_type,
                    priority,
                    reliability,
                    label,
                    protocol,
                }))
            }
            _ => Err(Error::Invalid),
        }
    }

    /// Emits the message.
    pub fn emit(&self, w: &mut Writer<'_>) {
        match self {
            Message::Ack => w.u8(MessageType::ACK.0),
            Message::Open(open) => {
                w.u8(MessageType::OPEN.0);
                w.u8(open.channel_type.0);
                w.u16(open.priority);
                w.u32(open.reliability);
                w.u16(u16::try_from(open.label.len()).unwrap_or(u16::MAX));
                w.u16(u16::try_from(open.protocol.len()).unwrap_or(u16::MAX));
                w.bytes(open.label.as_bytes());
                w.bytes(open.protocol.as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_known_answer_and_round_trip() {
        // RFC 8832 §5.1 layout: type 3, channel type 0x81, priority 256, 5 retransmits,
        // label "chat", protocol "x".
        let bytes = [
            0x03, 0x81, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x04, 0x00, 0x01, b'c', b'h',
            b'a', b't', b'x',
        ];
        let msg = Message::parse(&bytes).unwrap();
        let Message::Open(open) = msg else {
            panic!("{msg:?}")
        };
        assert_eq!(
            open.channel_type,
            ChannelType::PARTIAL_RELIABLE_REXMIT_UNORDERED
        );
        assert!(!open.channel_type.is_ordered());
        assert_eq!(
            (open.priority, open.reliability, open.label, open.protocol),
            (256, 5, "chat", "x")
        );
        let mut out = [0u8; 32];
        let mut w = Writer::new(&mut out);
        msg.emit(&mut w);
        let n = w.finish().unwrap();
        assert_eq!(&out[..n], &bytes);
        assert_eq!(Message::parse(&[0x02]).unwrap(), Message::Ack);
    }

    #[test]
    fn bad_messages_are_rejected() {
        assert!(Message::parse(&[]).is_err());
        assert!(Message::parse(&[0x07]).is_err());
        // Label runs past the end.
        assert!(Message::parse(&[0x03, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, b'a']).is_err());
        // Invalid UTF-8 label.
        assert!(Message::parse(&[0x03, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff]).is_err());
        // Unknown channel type.
        assert!(Message::parse(&[0x03, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
