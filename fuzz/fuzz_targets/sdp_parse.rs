//! Fuzz `sdp::Session::parse`: no input panics; what parses is fully readable through every
//! accessor, writes back to text that parses again with the same sections, and can be answered
//! by the JSEP rules without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_sdp::attr::Fingerprint;
use peerless_sdp::jsep::{self, DataChannel, IceCredentials, Local, TrackKind, Transceiver};
use peerless_sdp::Session;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(s) = Session::parse(&text) else {
        return;
    };
    let _ = (s.origin(), s.connection(), s.ice_lite(), s.setup(), s.bundle_group());
    let _ = (s.fingerprints().count(), s.ice_options().count(), s.other_lines().count());
    for m in s.media() {
        let _ = (m.mid(), m.ice_ufrag(), m.ice_pwd(), m.setup(), m.connection(), m.direction());
        let _ = (m.sctp_port(), m.max_message_size(), m.simulcast(), m.is_rejected());
        let _ = (m.candidates().count(), m.end_of_candidates(), m.ice_options().count());
        for f in m.fingerprints() {
            let mut buf = [0; 64];
            let _ = f.decode(&mut buf);
        }
        for c in m.codecs() {
            let _ = (c.encoding(), c.rtcp_fb().count(), c.fmtp.map(|f| f.pairs().count()));
        }
        let _ = (m.extmaps().count(), m.ssrcs().count(), m.msids().count(), m.rids().count());
        let _ = m.ssrc_groups().map(|g| g.ssrcs().count()).sum::<usize>();
    }
    let mut out = String::new();
    s.write(&mut out).expect("writing to a String cannot fail");
    let again = Session::parse(&out).expect("what we write back must parse");
    assert_eq!(again.media_count(), s.media_count());

    // Answer it as an offer, and use it as the previous description of an offer.
    let fps = [Fingerprint::parse(
        "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB",
    )
    .expect("valid fingerprint")];
    let ts = [Transceiver::new("a", TrackKind::Audio), Transceiver::new("v", TrackKind::Video)];
    let mut local = Local::new(1, IceCredentials::new("fuzz", "fuzzfuzzfuzzfuzzfuzzfuzz"), &fps);
    local.data_channel = Some(DataChannel::new("d"));
    local.transceivers = &ts;
    let mut answer = String::new();
    if jsep::create_answer(&local, &s, None, &mut answer).is_ok() {
        Session::parse(&answer).expect("our answer must parse");
    }
    let mut offer = String::new();
    if jsep::create_offer(&local, Some(&s), &mut offer).is_ok() {
        Session::parse(&offer).expect("our offer must parse");
    }
});
