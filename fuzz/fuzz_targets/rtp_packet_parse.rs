//! RTP parse: any bytes either fail to parse or give a view whose every accessor and
//! iterator runs without panicking, and whose parts add up to the packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_rtp::packet::Packet;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let _ = (p.version(), p.marker(), p.payload_type(), p.sequence_number());
        let _ = (p.timestamp(), p.ssrc(), p.extension());
        assert_eq!(p.csrcs().count(), usize::from(data[0] & 0x0f));
        for element in p.extensions() {
            assert!(element.data.len() <= 255);
        }
        assert_eq!(p.header().len() + p.payload().len() + p.padding_len(), data.len());
    }
});
