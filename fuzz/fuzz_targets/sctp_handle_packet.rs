//! `sctp::Association::handle_packet` on an established association with arbitrary packets.
//! Packets whose first input byte is odd get the association's verification tag and a valid
//! checksum, so the fuzzer reaches DATA, SACK, FORWARD-TSN, RE-CONFIG and DCEP handling.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use peerless_base::Instant;
use peerless_sctp::wire::{self, Packet};
use peerless_sctp::{Association, ChannelOptions, Config, DtlsRole, MessageKind, Reliability};

type Assoc<'a> = Association<&'a mut [u8], 64, 8>;

fn drain(a: &mut Assoc<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Ok(Some(t)) = a.poll_transmit(&mut buf) {
        out.push(t.to_vec());
    }
    while a.poll_event().is_some() {}
    out
}

fuzz_target!(|data: &[u8]| {
    let (mut sa, mut ra, mut sb, mut rb) = ([0u8; 16384], [0u8; 16384], [0u8; 16384], [0u8; 16384]);
    let mut a: Assoc<'_> =
        Association::new(Config::new(DtlsRole::Client, [1; 32]), Instant::ZERO, &mut sa, &mut ra);
    let mut b: Assoc<'_> =
        Association::new(Config::new(DtlsRole::Server, [2; 32]), Instant::ZERO, &mut sb, &mut rb);
    a.connect(Instant::ZERO);
    let options = ChannelOptions { reliability: Reliability::MaxRetransmits(1), ..ChannelOptions::default() };
    let Ok(ch) = a.open_channel("fuzz", "", options) else { return };
    let _ = a.send(ch, MessageKind::Binary, &[1; 2000]);
    let mut tag = 0;
    for _ in 0..6 {
        for p in drain(&mut a) {
            if let Ok(packet) = Packet::parse(&p) {
                tag = packet.verification_tag();
            }
            b.handle_packet(Instant::ZERO, &p);
        }
        for p in drain(&mut b) {
            a.handle_packet(Instant::ZERO, &p);
        }
    }
    let mut now = Instant::ZERO;
    for chunk in data.split(|&b| b == 0xfe).take(16) {
        let mut packet = chunk.to_vec();
        if chunk.first().is_some_and(|b| b & 1 == 1) && packet.len() >= 12 {
            packet[0..4].copy_from_slice(&[0x13, 0x88, 0x13, 0x88]);
            packet[4..8].copy_from_slice(&tag.to_be_bytes());
            wire::seal(&mut packet, chunk.first().is_some_and(|b| b & 2 == 2));
        }
        b.handle_packet(now, &packet);
        now += Duration::from_millis(u64::from(chunk.len() as u8));
        b.handle_timeout(now);
        let _ = drain(&mut b);
        let _ = b.send(ch, MessageKind::Text, b"x");
        let _ = b.stats();
    }
});
