//! Just enough Ogg (RFC 3533) for Opus test files: packets out of pages, and packets into one
//! page each, with the page CRC.

use std::vec::Vec;

/// The packets of one logical stream, in order.
pub fn packets(file: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut partial = Vec::new();
    let mut rest = file;
    while !rest.is_empty() {
        assert_eq!(&rest[..4], b"OggS");
        let segments = usize::from(rest[26]);
        let lacing = &rest[27..27 + segments];
        let mut body = &rest[27 + segments..];
        for &len in lacing {
            partial.extend_from_slice(&body[..usize::from(len)]);
            body = &body[usize::from(len)..];
            if len < 255 {
                out.push(std::mem::take(&mut partial));
            }
        }
        rest = body;
    }
    out
}

fn crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                crc << 1 ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// An Ogg Opus file: the two header packets, then each audio packet on its own page with its
/// granule position (48 kHz samples so far).
pub fn write_opus(head: &[u8], tags: &[u8], audio: &[(Vec<u8>, u64)]) -> Vec<u8> {
    let mut file = Vec::new();
    let mut sequence = 0u32;
    let mut page = |packet: &[u8], granule: u64, flags: u8| {
        let mut p = Vec::new();
        p.extend_from_slice(b"OggS");
        p.push(0);
        p.push(flags);
        p.extend_from_slice(&granule.to_le_bytes());
        p.extend_from_slice(&0x5045_4552u32.to_le_bytes()); // serial
        p.extend_from_slice(&sequence.to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        let mut lacing = std::vec![255u8; packet.len() / 255];
        lacing.push((packet.len() % 255) as u8);
        p.push(lacing.len() as u8);
        p.extend_from_slice(&lacing);
        p.extend_from_slice(packet);
        let c = crc(&p);
        p[22..26].copy_from_slice(&c.to_le_bytes());
        sequence += 1;
        file.extend_from_slice(&p);
    };
    page(head, 0, 0x02);
    page(tags, 0, 0);
    for (i, (packet, granule)) in audio.iter().enumerate() {
        page(
            packet,
            *granule,
            if i + 1 == audio.len() { 0x04 } else { 0 },
        );
    }
    file
}
