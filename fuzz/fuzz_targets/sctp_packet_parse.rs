//! SCTP packet, chunk, parameter and DCEP parsing with arbitrary bytes: every view and accessor
//! must hold up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_sctp::dcep;
use peerless_sctp::wire::{self, Data, ForwardTsn, Init, Packet, Params, ReconfigParam, Sack};

fuzz_target!(|data: &[u8]| {
    let _ = wire::check_checksum(data);
    let _ = dcep::Message::parse(data);
    for p in Params::new(data).flatten() {
        let _ = ReconfigParam::parse(&p);
    }
    let Ok(packet) = Packet::parse(data) else { return };
    let _ = (packet.source_port(), packet.destination_port(), packet.verification_tag());
    for chunk in packet.chunks().flatten() {
        let _ = chunk.chunk_type.unknown_action();
        if let Ok(d) = Data::parse(&chunk) {
            let _ = dcep::Message::parse(d.payload);
        }
        if let Ok(init) = Init::parse(&chunk) {
            let _ = (init.capabilities(), init.state_cookie());
            for p in init.params().flatten() {
                let _ = p.param_type.unknown_action();
            }
        }
        if let Ok(sack) = Sack::parse(&chunk) {
            let _ = (sack.gap_blocks().count(), sack.duplicate_tsns().count());
        }
        if let Ok(f) = ForwardTsn::parse(&chunk) {
            let _ = f.streams().count();
        }
        for p in Params::new(chunk.value).flatten() {
            let _ = ReconfigParam::parse(&p);
        }
    }
});
