//! The containers on any bytes: the Ogg reader (and the OpusHead parser) and the Annex-B
//! access unit splitter never panic; and packets written with the Ogg Opus writer, of any
//! lengths the input picks (spanning pages too), read back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_rtp::container::access_units::{AccessUnits, NalCodec};
use peerless_rtp::container::ogg::{
    OPUS_HEADERS_LEN, OggOpusWriter, OggReader, OpusHead, pages_len,
};

fuzz_target!(|data: &[u8]| {
    let mut buf = [0u8; 512];
    let mut reader = OggReader::new(data);
    while let Some(packet) = reader.next_packet(&mut buf) {
        if let Ok(p) = packet {
            let _ = OpusHead::parse(p.data);
        }
    }
    for codec in [NalCodec::H264, NalCodec::H265] {
        if let Ok(units) = AccessUnits::new(data, codec) {
            let mut covered = 0;
            for au in units {
                assert!(!au.data.is_empty());
                covered += au.data.len();
            }
            assert!(covered <= data.len());
        }
    }

    // Packets: two octets of length each (up to 65535, so some span pages), filled from the
    // input, each opened with a CELT TOC octet so it has a duration.
    let mut file = vec![0u8; OPUS_HEADERS_LEN];
    let Ok((mut writer, _)) = OggOpusWriter::start(1, &OpusHead::new(2), &mut file) else {
        return;
    };
    let mut packets = Vec::new();
    for pair in data.chunks_exact(2).take(8) {
        let mut len = usize::from(u16::from_le_bytes([pair[0], pair[1]]));
        if pair[1] < 0xf0 {
            // Mostly short packets, as Opus has them; a few long enough to span pages.
            len &= 0x3ff;
        }
        let len = len.max(1);
        let mut p = vec![pair[0]; len];
        p[0] = 31 << 3;
        packets.push(p);
    }
    for (i, p) in packets.iter().enumerate() {
        let mut page = vec![0u8; pages_len(p.len())];
        let n = writer
            .write_packet(p, i + 1 == packets.len(), &mut page)
            .expect("room for the pages");
        assert_eq!(n, page.len());
        file.extend_from_slice(&page);
    }
    let mut reader = OggReader::new(&file);
    let mut joined = vec![0u8; 1 << 16];
    let mut back = Vec::new();
    while let Some(p) = reader.next_packet(&mut joined) {
        back.push(p.expect("our own file reads").data.to_vec());
    }
    assert_eq!(back.len(), packets.len() + 2);
    assert_eq!(&back[2..], &packets[..]);
});
