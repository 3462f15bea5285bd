//! RTCP parse: any bytes either fail to parse or give a compound whose packets, typed views
//! and iterators all run without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_rtp::rtcp::{Compound, Kind};

fuzz_target!(|data: &[u8]| {
    let Ok(compound) = Compound::parse(data) else { return };
    let mut total = 0;
    for packet in compound.packets() {
        total += packet.as_bytes().len();
        match packet.kind() {
            Ok(Kind::SenderReport(sr)) => {
                let _ = (sr.sender_info(), sr.reports().count(), sr.extension());
            }
            Ok(Kind::ReceiverReport(rr)) => {
                let _ = (rr.reports().count(), rr.extension());
            }
            Ok(Kind::Sdes(sdes)) => {
                for chunk in sdes.chunks() {
                    let _ = (chunk.items().count(), chunk.cname());
                }
            }
            Ok(Kind::Bye(bye)) => {
                let _ = (bye.ssrcs().count(), bye.reason());
            }
            Ok(Kind::App(app)) => {
                let _ = (app.name(), app.data());
            }
            Ok(Kind::Nack(nack)) => {
                let _ = nack.lost().count();
            }
            Ok(Kind::TransportCc(tcc)) => {
                assert_eq!(tcc.packets().count(), usize::from(tcc.status_count()));
            }
            Ok(Kind::Fir(fir)) => {
                let _ = fir.entries().count();
            }
            Ok(Kind::Remb(remb)) => {
                let _ = (remb.bitrate(), remb.ssrcs().count());
            }
            Ok(Kind::Pli(_) | Kind::Other(_)) | Err(_) => {}
        }
    }
    assert_eq!(total, data.len());
});
