//! JSEP offers and answers: what browsers require of our answers to their offers (checked on
//! the parsed answer), our offers, renegotiation and ICE restart.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_sdp::attr::{Direction, Fingerprint, Msid, Setup};
use peerless_sdp::jsep::{
    self, DataChannel, IceCredentials, JsepError, Local, TrackKind, Transceiver,
};
use peerless_sdp::{MediaKind, Session};

const CHROMIUM_DC: &str = include_str!("fixtures/chromium-offer-datachannel.sdp");
const CHROMIUM_AV: &str = include_str!("fixtures/chromium-offer-audio-video-datachannel.sdp");
const FIREFOX_DC: &str = include_str!("fixtures/firefox-offer-datachannel.sdp");
const FIREFOX_AV: &str = include_str!("fixtures/firefox-offer-audio-video-datachannel.sdp");

const FP: &str = "sha-256 0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9";
const UFRAG: &str = "pEer";
const PWD: &str = "peerlesspeerlesspeerless";
const CANDIDATE: &str = "1 1 udp 2130706431 127.0.0.1 40000 typ host";

fn fingerprints() -> [Fingerprint<'static>; 1] {
    [Fingerprint::parse(FP).unwrap()]
}

fn local<'a>(fps: &'a [Fingerprint<'a>], transceivers: &'a [Transceiver<'a>]) -> Local<'a> {
    let mut l = Local::new(4242, IceCredentials::new(UFRAG, PWD), fps);
    l.data_channel = Some(DataChannel::new("0"));
    l.transceivers = transceivers;
    l.candidates = &[CANDIDATE];
    l
}

fn answer(local: &Local<'_>, offer: &str) -> String {
    let offer = Session::parse(offer).unwrap();
    let mut out = String::new();
    jsep::create_answer(local, &offer, None, &mut out).unwrap();
    out
}

/// What every browser checks in an answer's accepted section: our transport, a DTLS role that
/// is not actpass, our ICE credentials and fingerprint, the offered mid.
fn assert_transport(m: &peerless_sdp::Media<'_>) {
    assert_ne!(m.port(), 0);
    assert_eq!(m.port(), 40000, "port of our first candidate");
    assert_eq!(m.connection().unwrap().address, "127.0.0.1");
    assert_eq!(m.ice_ufrag(), Some(UFRAG));
    assert_eq!(m.ice_pwd(), Some(PWD));
    assert_eq!(m.fingerprints().collect::<Vec<_>>(), fingerprints());
    assert_eq!(m.setup(), Some(Setup::Active));
    assert_eq!(m.candidates().collect::<Vec<_>>(), [CANDIDATE]);
    assert!(m.has_ice_option("trickle"));
}

#[test]
fn answer_to_browser_datachannel_offers() {
    let fps = fingerprints();
    let l = local(&fps, &[]);
    for offer in [CHROMIUM_DC, FIREFOX_DC] {
        let text = answer(&l, offer);
        let a = Session::parse(&text).unwrap();
        let o = Session::parse(offer).unwrap();
        assert_eq!(a.media_count(), 1);
        let m = a.media_at(0).unwrap();
        assert_eq!(m.kind(), MediaKind::Application);
        assert!(m.media_line().is_datachannel());
        assert_eq!(m.proto(), "UDP/DTLS/SCTP");
        assert_eq!(m.mid(), o.media_at(0).unwrap().mid());
        assert_transport(&m);
        assert_eq!(m.sctp_port(), Some(5000));
        assert_eq!(m.max_message_size(), Some(jsep::DEFAULT_MAX_MESSAGE_SIZE));
        assert_eq!(a.bundle_group().unwrap().mids().collect::<Vec<_>>(), ["0"]);
        assert_eq!(a.origin().session_id, "4242");
        assert!(text.ends_with("\r\n") && !text.contains("\n\n"));
        // Their limit on what we send.
        assert!(jsep::remote_max_message_size(&o.media_at(0).unwrap()).unwrap() >= 262_144);
    }
}

fn av_transceivers() -> [Transceiver<'static>; 2] {
    let mut audio = Transceiver::new("a", TrackKind::Audio);
    audio.msid = Some(Msid {
        stream: "stream",
        track: Some("audio-track"),
    });
    audio.ssrc = Some(1111);
    let mut video = Transceiver::new("v", TrackKind::Video);
    video.direction = Direction::RecvOnly;
    [audio, video]
}

#[test]
fn answer_to_chromium_audio_video_offer() {
    let fps = fingerprints();
    let ts = av_transceivers();
    let l = local(&fps, &ts);
    let text = answer(&l, CHROMIUM_AV);
    let a = Session::parse(&text).unwrap();
    assert_eq!(
        a.bundle_group().unwrap().mids().collect::<Vec<_>>(),
        ["0", "1", "2"]
    );
    assert!(a.extmap_allow_mixed());

    let audio = a.media_by_mid("0").unwrap();
    assert_transport(&audio);
    assert_eq!(audio.kind(), MediaKind::Audio);
    assert_eq!(audio.proto(), "UDP/TLS/RTP/SAVPF");
    // Offerer's payload types, in the offerer's order, only codecs we have.
    assert_eq!(audio.payload_types().collect::<Vec<_>>(), [111, 0, 8, 126]);
    assert_eq!(audio.rtpmap(111).unwrap().encoding, "opus");
    assert_eq!(audio.rtpmap(111).unwrap().channels, Some(2));
    assert_eq!(audio.fmtp(111).unwrap().get("useinbandfec"), Some("1"));
    assert_eq!(
        audio.rtcp_fb(111).map(|f| f.feedback).collect::<Vec<_>>(),
        ["transport-cc"]
    );
    assert!(audio.rtcp_mux() && audio.rtcp_rsize());
    assert_eq!(audio.direction(), Direction::SendRecv);
    assert_eq!(audio.msids().next().unwrap().track, Some("audio-track"));
    assert_eq!(audio.ssrcs().next().unwrap().ssrc, 1111);
    // Extensions we know, with the offerer's ids.
    let ext: Vec<_> = audio.extmaps().map(|e| (e.id, e.uri)).collect();
    assert!(ext.contains(&(4, "urn:ietf:params:rtp-hdrext:sdes:mid")));
    assert!(ext.contains(&(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level")));
    assert!(!ext.iter().any(|(_, u)| u.contains("abs-send-time")));

    let video = a.media_by_mid("1").unwrap();
    assert_transport(&video);
    // VP8 + RTX, and the two packetization-mode 1 constrained/baseline H.264 with their RTX;
    // no VP9/AV1/high-profile H.264, no red/ulpfec.
    assert_eq!(
        video.payload_types().collect::<Vec<_>>(),
        [96, 97, 102, 103, 108, 109]
    );
    assert_eq!(video.fmtp(97).unwrap().get("apt"), Some("96"));
    assert_eq!(video.fmtp(109).unwrap().get("apt"), Some("108"));
    assert_eq!(
        video.fmtp(102).unwrap().get("packetization-mode"),
        Some("1")
    );
    let fb: Vec<_> = video.rtcp_fb(96).map(|f| f.feedback).collect();
    for needed in ["nack", "nack pli", "ccm fir", "transport-cc", "goog-remb"] {
        assert!(fb.contains(&needed), "{needed}");
    }
    assert_eq!(video.rtcp_fb(97).count(), 0);
    assert_eq!(video.direction(), Direction::RecvOnly);
    assert_eq!(
        video.ssrcs().count(),
        0,
        "no SSRC for a section we do not send on"
    );

    let data = a.media_by_mid("2").unwrap();
    assert_eq!(data.sctp_port(), Some(5000));
    assert_transport(&data);

    // The transceivers had their own mids ("a", "v"): unassociated, they take the offered
    // sections of their kind, and the Peer learns which.
    let offer = Session::parse(CHROMIUM_AV).unwrap();
    let uses = jsep::answer_sections(&l, &offer).unwrap();
    assert_eq!(
        uses.as_slice(),
        [
            ("0", jsep::SectionUse::Transceiver(0)),
            ("1", jsep::SectionUse::Transceiver(1)),
            ("2", jsep::SectionUse::DataChannel)
        ]
    );
    // A transceiver whose mid names an offered section of another kind is still free.
    let clash = [Transceiver::new("1", TrackKind::Audio)];
    let l = local(&fps, &clash);
    let uses = jsep::answer_sections(&l, &offer).unwrap();
    assert_eq!(uses[0].1, jsep::SectionUse::Transceiver(0));
    assert_eq!(uses[1].1, jsep::SectionUse::ReceiveOnly(TrackKind::Video));
}

#[test]
fn answer_to_firefox_audio_video_offer() {
    let fps = fingerprints();
    let l = local(&fps, &[]);
    let text = answer(&l, FIREFOX_AV);
    let a = Session::parse(&text).unwrap();
    assert_eq!(
        a.bundle_group().unwrap().mids().collect::<Vec<_>>(),
        ["0", "1", "2"]
    );
    let audio = a.media_by_mid("0").unwrap();
    // opus 109, PCMU, PCMA and telephone-event at Firefox's payload type 101.
    assert_eq!(audio.payload_types().collect::<Vec<_>>(), [109, 0, 8, 101]);
    assert_eq!(audio.fmtp(101).unwrap().params, "0-15");
    // No local transceiver: we receive what Firefox sends.
    assert_eq!(audio.direction(), Direction::RecvOnly);
    assert_eq!(audio.setup(), Some(Setup::Active));
    // Firefox asked to receive csrc-audio-level only; our answer does not list what we lack.
    assert!(audio.extmaps().all(|e| !e.uri.contains("csrc")));
    let video = a.media_by_mid("1").unwrap();
    assert_eq!(video.payload_types().collect::<Vec<_>>(), [120, 124]);
    assert_eq!(video.fmtp(124).unwrap().get("apt"), Some("120"));
    assert!(video.rtcp_mux());
    let data = a.media_by_mid("2").unwrap();
    assert_eq!(
        data.max_message_size(),
        Some(jsep::DEFAULT_MAX_MESSAGE_SIZE)
    );
}

#[test]
fn unsupported_sections_are_rejected_with_port_zero() {
    let fps = fingerprints();
    // No data channel wanted, and no video codec in common.
    let mut l = local(&fps, &[]);
    l.data_channel = None;
    l.video_codecs = &[];
    let text = answer(&l, CHROMIUM_AV);
    let a = Session::parse(&text).unwrap();
    assert_eq!(a.media_count(), 3);
    let video = a.media_at(1).unwrap();
    assert_eq!(video.port(), 0);
    assert!(video.is_rejected());
    assert_eq!(video.mid(), Some("1"));
    assert_eq!(video.kind(), MediaKind::Video);
    let data = a.media_at(2).unwrap();
    assert!(data.is_rejected());
    assert_eq!(data.mid(), Some("2"));
    assert_eq!(a.bundle_group().unwrap().mids().collect::<Vec<_>>(), ["0"]);

    // A section type we do not know, and a legacy SDES profile.
    let odd = CHROMIUM_DC.replace(
        "a=sctp-port:5000\r\n",
        "a=sctp-port:5000\r\nm=text 9 RTP/AVP 98\r\na=mid:t\r\nm=audio 9 RTP/SAVPF 0\r\na=mid:s\r\n",
    );
    let text = answer(&local(&fps, &[]), &odd);
    let a = Session::parse(&text).unwrap();
    assert!(a.media_by_mid("t").unwrap().is_rejected());
    assert!(!a.media_by_mid("s").unwrap().is_rejected());
    assert!(a.media_by_mid("0").is_some_and(|m| !m.is_rejected()));

    // An offered section with port 0 stays rejected.
    let zero = CHROMIUM_DC.replacen("m=application 49259", "m=application 0", 1);
    let text = answer(&local(&fps, &[]), &zero);
    let a = Session::parse(&text).unwrap();
    assert!(a.media_at(0).unwrap().is_rejected());
    assert!(a.bundle_group().is_none());
}

#[test]
fn dtls_role_follows_rfc8842() {
    let fps = fingerprints();
    let mut l = local(&fps, &[]);
    let role = |l: &Local<'_>, offer: &str| {
        Session::parse(&answer(l, offer))
            .unwrap()
            .media_at(0)
            .unwrap()
            .setup()
            .unwrap()
    };
    assert_eq!(role(&l, CHROMIUM_DC), Setup::Active);
    let active = CHROMIUM_DC.replace("a=setup:actpass", "a=setup:active");
    let passive = CHROMIUM_DC.replace("a=setup:actpass", "a=setup:passive");
    let none = CHROMIUM_DC.replace("a=setup:actpass\r\n", "");
    assert_eq!(role(&l, &active), Setup::Passive);
    assert_eq!(role(&l, &passive), Setup::Active);
    assert_eq!(
        role(&l, &none),
        Setup::Passive,
        "RFC 4145: no setup means the offerer is active"
    );
    l.answer_setup = Setup::Passive;
    assert_eq!(role(&l, CHROMIUM_DC), Setup::Passive);
    // Renegotiation keeps the current association's role.
    l.answer_setup = Setup::Active;
    l.dtls_role = Some(Setup::Passive);
    assert_eq!(role(&l, CHROMIUM_DC), Setup::Passive);
    assert_eq!(jsep::offerer_role(Setup::Active), Some(Setup::Passive));
    assert_eq!(jsep::offerer_role(Setup::Actpass), None);
}

#[test]
fn our_offer_has_what_browsers_need() {
    let fps = fingerprints();
    let ts = av_transceivers();
    let mut l = local(&fps, &ts);
    l.end_of_candidates = true;
    let mut buf = [0u8; 8192];
    let text = jsep::offer_to_slice(&l, None, &mut buf).unwrap();
    let o = Session::parse(text).unwrap();
    assert_eq!(o.origin().session_version, 1);
    assert_eq!(
        o.bundle_group().unwrap().mids().collect::<Vec<_>>(),
        ["0", "a", "v"]
    );
    for m in o.media() {
        assert_eq!(m.setup(), Some(Setup::Actpass));
        assert_eq!(m.ice_ufrag(), Some(UFRAG));
        assert_eq!(m.ice_pwd(), Some(PWD));
        assert!(m.has_ice_option("trickle"));
        assert!(m.end_of_candidates());
        assert_eq!(m.fingerprints().count(), 1);
        assert_eq!(m.port(), 40000);
    }
    let data = o.media_by_mid("0").unwrap();
    assert_eq!(data.proto(), "UDP/DTLS/SCTP");
    assert_eq!(data.sctp_port(), Some(5000));
    let audio = o.media_by_mid("a").unwrap();
    assert_eq!(audio.proto(), "UDP/TLS/RTP/SAVPF");
    assert_eq!(audio.payload_types().collect::<Vec<_>>(), [111, 0, 8, 126]);
    assert!(audio.rtcp_mux() && audio.rtcp_rsize());
    assert_eq!(audio.ssrcs().filter(|s| s.attribute == "cname").count(), 1);
    assert!(
        audio
            .extmaps()
            .any(|e| e.uri == "urn:ietf:params:rtp-hdrext:sdes:mid")
    );
    let video = o.media_by_mid("v").unwrap();
    assert_eq!(video.direction(), Direction::RecvOnly);
    assert_eq!(video.rtpmap(102).unwrap().encoding, "H264");
    assert_eq!(video.rtcp_fb(96).count(), 5);
    // The buffer-too-small path says how much is needed.
    let mut small = [0u8; 100];
    match jsep::offer_to_slice(&l, None, &mut small) {
        Err(JsepError::BufferTooSmall(n)) => assert_eq!(n, text.len()),
        other => panic!("{other:?}"),
    }
    // No fingerprint, no offer.
    let mut bare = l;
    bare.fingerprints = &[];
    assert_eq!(
        jsep::offer_to_slice(&bare, None, &mut buf),
        Err(JsepError::NoFingerprint)
    );
}

#[test]
fn we_answer_our_own_offer() {
    let fps = fingerprints();
    let ts = av_transceivers();
    let offerer = local(&fps, &ts);
    let mut offer_buf = [0u8; 8192];
    let offer = jsep::offer_to_slice(&offerer, None, &mut offer_buf).unwrap();
    let offer = Session::parse(offer).unwrap();
    let fps2 =
        [
            Fingerprint::parse("sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB")
                .unwrap(),
        ];
    let mut answerer = Local::new(
        9,
        IceCredentials::new("ansr", "answeranswereranswerer"),
        &fps2,
    );
    answerer.data_channel = Some(DataChannel::new("x"));
    let mut answer_buf = [0u8; 8192];
    let answer = jsep::answer_to_slice(&answerer, &offer, None, &mut answer_buf).unwrap();
    let answer = Session::parse(answer).unwrap();
    assert_eq!(answer.media_count(), 3);
    assert_eq!(
        answer.bundle_group().unwrap().mids().collect::<Vec<_>>(),
        ["0", "a", "v"]
    );
    let audio = answer.media_by_mid("a").unwrap();
    assert_eq!(audio.direction(), Direction::RecvOnly);
    assert_eq!(audio.payload_types().collect::<Vec<_>>(), [111, 0, 8, 126]);
    // Our video is recvonly: the answerer, with nothing to send, is inactive there.
    assert_eq!(
        answer.media_by_mid("v").unwrap().direction(),
        Direction::Inactive
    );
    assert_eq!(
        answer.media_at(0).unwrap().port(),
        9,
        "no candidates yet: port 9"
    );
    assert_eq!(
        answer.media_at(0).unwrap().connection().unwrap().address,
        "0.0.0.0"
    );
    assert_eq!(
        jsep::offerer_role(answer.media_at(0).unwrap().setup().unwrap()),
        Some(Setup::Passive)
    );
}

#[test]
fn renegotiation_keeps_order_bumps_version_and_recycles() {
    let fps = fingerprints();
    let audio = Transceiver::new("1", TrackKind::Audio);
    let ts1 = [audio];
    let l1 = local(&fps, &ts1);
    let mut b1 = [0u8; 8192];
    let first = jsep::offer_to_slice(&l1, None, &mut b1).unwrap();
    let s1 = Session::parse(first).unwrap();
    assert_eq!(
        s1.media().map(|m| m.mid().unwrap()).collect::<Vec<_>>(),
        ["0", "1"]
    );

    // Nothing changed: same session id and version, same text.
    let mut b2 = [0u8; 8192];
    let same = jsep::offer_to_slice(&l1, Some(&s1), &mut b2).unwrap();
    assert_eq!(same, first);

    // A video transceiver is added: appended, version + 1, same session id.
    let ts2 = [audio, Transceiver::new("2", TrackKind::Video)];
    let l2 = local(&fps, &ts2);
    let mut b3 = [0u8; 8192];
    let second = jsep::offer_to_slice(&l2, Some(&s1), &mut b3).unwrap();
    let s2 = Session::parse(second).unwrap();
    assert_eq!(s2.origin().session_id, s1.origin().session_id);
    assert_eq!(s2.origin().session_version, 2);
    assert_eq!(
        s2.media().map(|m| m.mid().unwrap()).collect::<Vec<_>>(),
        ["0", "1", "2"]
    );

    // The audio transceiver stops: its section stays in place, rejected, out of BUNDLE.
    let mut stopped = audio;
    stopped.stopped = true;
    let ts3 = [stopped, Transceiver::new("2", TrackKind::Video)];
    let l3 = local(&fps, &ts3);
    let mut b4 = [0u8; 8192];
    let third = jsep::offer_to_slice(&l3, Some(&s2), &mut b4).unwrap();
    let s3 = Session::parse(third).unwrap();
    assert_eq!(s3.origin().session_version, 3);
    let rejected = s3.media_at(1).unwrap();
    assert!(rejected.is_rejected());
    assert_eq!(rejected.mid(), Some("1"));
    assert_eq!(rejected.kind(), MediaKind::Audio);
    assert_eq!(
        s3.bundle_group().unwrap().mids().collect::<Vec<_>>(),
        ["0", "2"]
    );

    // A new audio transceiver recycles the rejected section, with its own mid.
    let ts4 = [
        stopped,
        Transceiver::new("2", TrackKind::Video),
        Transceiver::new("3", TrackKind::Audio),
    ];
    let l4 = local(&fps, &ts4);
    let mut b5 = [0u8; 8192];
    let fourth = jsep::offer_to_slice(&l4, Some(&s3), &mut b5).unwrap();
    let s4 = Session::parse(fourth).unwrap();
    assert_eq!(
        s4.media().map(|m| m.mid().unwrap()).collect::<Vec<_>>(),
        ["0", "3", "2"]
    );
    assert!(!s4.media_at(1).unwrap().is_rejected());
    assert_eq!(s4.origin().session_version, 4);

    // Two sections cannot share a mid.
    let dup = [Transceiver::new("0", TrackKind::Audio)];
    assert_eq!(
        jsep::offer_to_slice(&local(&fps, &dup), None, &mut b5),
        Err(JsepError::DuplicateMid)
    );
}

#[test]
fn ice_restart_is_new_credentials() {
    let fps = fingerprints();
    let l1 = local(&fps, &[]);
    let mut b1 = [0u8; 4096];
    let s1 = Session::parse(jsep::offer_to_slice(&l1, None, &mut b1).unwrap()).unwrap();
    let mut l2 = l1;
    l2.ice = IceCredentials::new("rEst", "restartrestartrestart00");
    let mut b2 = [0u8; 4096];
    let s2 = Session::parse(jsep::offer_to_slice(&l2, Some(&s1), &mut b2).unwrap()).unwrap();
    assert_eq!(s2.media_at(0).unwrap().ice_ufrag(), Some("rEst"));
    assert_eq!(s2.origin().session_version, 2);
    assert!(jsep::is_ice_restart(&s1, &s2));
    assert!(!jsep::is_ice_restart(&s1, &s1));
    // Remote side: a browser's re-offer with new credentials.
    let restarted = CHROMIUM_DC.replace("a=ice-ufrag:bsW6", "a=ice-ufrag:nEw1");
    let before = Session::parse(CHROMIUM_DC).unwrap();
    let after = Session::parse(&restarted).unwrap();
    assert!(jsep::is_ice_restart(&before, &after));
}

#[test]
fn answer_renegotiation_keeps_session_id() {
    let fps = fingerprints();
    let l = local(&fps, &[]);
    let offer = Session::parse(CHROMIUM_DC).unwrap();
    let mut b1 = [0u8; 4096];
    let first = jsep::answer_to_slice(&l, &offer, None, &mut b1).unwrap();
    let s1 = Session::parse(first).unwrap();
    let mut b2 = [0u8; 4096];
    let again = jsep::answer_to_slice(&l, &offer, Some(&s1), &mut b2).unwrap();
    assert_eq!(again, first, "unchanged answer keeps its version");
    let mut l2 = l;
    l2.ice = IceCredentials::new("rEst", "restartrestartrestart00");
    let mut b3 = [0u8; 4096];
    let s3 =
        Session::parse(jsep::answer_to_slice(&l2, &offer, Some(&s1), &mut b3).unwrap()).unwrap();
    assert_eq!(s3.origin().session_version, s1.origin().session_version + 1);
    assert_eq!(s3.media_at(0).unwrap().setup(), Some(Setup::Active));
}

#[test]
fn simulcast_offer_is_received_with_its_rids() {
    let fps = fingerprints();
    let l = local(&fps, &[]);
    // Chromium's video section with three simulcast layers (RFC 8853).
    let offer = CHROMIUM_AV.replace(
        "a=rtpmap:120 ulpfec/90000\r\n",
        "a=rtpmap:120 ulpfec/90000\r\na=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n",
    );
    let text = answer(&l, &offer);
    let a = Session::parse(&text).unwrap();
    let video = a.media_by_mid("1").unwrap();
    let rids: Vec<_> = video.rids().map(|r| (r.id, r.direction)).collect();
    use peerless_sdp::attr::RidDirection::Recv;
    assert_eq!(rids, [("q", Recv), ("h", Recv), ("f", Recv)]);
    assert_eq!(video.simulcast().unwrap().recv, Some("q;h;f"));
    assert!(video.simulcast().unwrap().send.is_none());
    // The rtp-stream-id extension that carries the rid is kept.
    assert!(
        video
            .extmaps()
            .any(|e| e.uri == "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")
    );
}

#[test]
fn bundle_only_unbundled_and_legacy_offers() {
    let fps = fingerprints();
    let l = local(&fps, &[]);
    // A bundle-only section (port 0 + a=bundle-only, RFC 8843 §6) is accepted.
    let offer = CHROMIUM_AV
        .replacen("m=video 42356", "m=video 0", 1)
        .replacen("a=mid:1\r\n", "a=mid:1\r\na=bundle-only\r\n", 1);
    let a = Session::parse(&answer(&l, &offer))
        .unwrap()
        .media_by_mid("1")
        .map(|m| m.port());
    assert_eq!(a, Some(40000));
    // Without BUNDLE in the offer, the answer has no group but still answers each section.
    let unbundled = CHROMIUM_DC.replace("a=group:BUNDLE 0\r\n", "");
    let text = answer(&l, &unbundled);
    let s = Session::parse(&text).unwrap();
    assert!(s.bundle_group().is_none());
    assert!(!s.media_at(0).unwrap().is_rejected());
    // The pre-RFC 8841 data channel format (`DTLS/SCTP 5000` + sctpmap) is rejected.
    let legacy = CHROMIUM_DC
        .replace("UDP/DTLS/SCTP webrtc-datachannel", "DTLS/SCTP 5000")
        .replace("a=sctp-port:5000", "a=sctpmap:5000 webrtc-datachannel 1024");
    let s = Session::parse(&answer(&l, &legacy)).map(|s| s.media_at(0).unwrap().is_rejected());
    assert_eq!(s, Ok(true));
    // JSEP requires a mid on every section.
    let no_mid_text = CHROMIUM_DC.replace("a=mid:0\r\n", "");
    let no_mid = Session::parse(&no_mid_text).unwrap();
    let mut out = String::new();
    assert_eq!(
        jsep::create_answer(&l, &no_mid, None, &mut out),
        Err(JsepError::MissingMid { index: 0 })
    );
}

#[test]
fn extmap_directions_are_mirrored() {
    let fps = fingerprints();
    let mut exts = jsep::DEFAULT_AUDIO_EXTMAPS.to_vec();
    exts.push(peerless_sdp::attr::Extmap {
        id: 2,
        direction: None,
        uri: "urn:ietf:params:rtp-hdrext:csrc-audio-level",
        attributes: None,
    });
    let mut l = local(&fps, &[]);
    l.audio_extmaps = &exts;
    let text = answer(&l, FIREFOX_AV);
    let a = Session::parse(&text).unwrap();
    let csrc = a
        .media_at(0)
        .unwrap()
        .extmaps()
        .find(|e| e.uri.contains("csrc"))
        .unwrap();
    // Firefox only receives it (2/recvonly): we only send it.
    assert_eq!((csrc.id, csrc.direction), (2, Some(Direction::SendOnly)));
    // Firefox put extmap-allow-mixed in the section: echoed there.
    assert!(a.media_at(0).unwrap().has_attribute("extmap-allow-mixed"));
}

#[test]
fn ice_lite_and_no_trickle() {
    let fps = fingerprints();
    let mut l = local(&fps, &[]);
    l.ice_lite = true;
    l.trickle = false;
    l.end_of_candidates = true;
    let text = answer(&l, CHROMIUM_DC);
    let a = Session::parse(&text).unwrap();
    assert!(a.ice_lite());
    let m = a.media_at(0).unwrap();
    assert!(m.ice_lite());
    assert_eq!(m.ice_options().count(), 0);
    assert!(m.end_of_candidates());
}

#[test]
fn session_view_is_small() {
    // The parsed view lives on the stack of an MCU: keep it around a kilobyte.
    let size = core::mem::size_of::<Session<'static>>();
    assert!(size <= 1024, "Session is {size} bytes");
    println!("size_of::<Session>() = {size} bytes");
}

#[test]
fn answers_from_real_stacks_fit_the_offers_they_answer() {
    let pairs = [
        (
            CHROMIUM_AV,
            include_str!("fixtures/aiortc-answer-audio-video-datachannel.sdp"),
        ),
        (
            CHROMIUM_DC,
            include_str!("fixtures/aiortc-answer-datachannel.sdp"),
        ),
        (
            CHROMIUM_DC,
            include_str!("fixtures/ndc-answer-datachannel.sdp"),
        ),
        (
            CHROMIUM_DC,
            include_str!("fixtures/str0m-peer-answer-datachannel.sdp"),
        ),
        (
            CHROMIUM_DC,
            include_str!("fixtures/webrtc-peer-answer-datachannel.sdp"),
        ),
        (
            CHROMIUM_DC,
            include_str!("fixtures/werift-answer-datachannel.sdp"),
        ),
        (
            FIREFOX_AV,
            include_str!("fixtures/aiortc-answer-to-firefox-audio-video-datachannel.sdp"),
        ),
        (
            FIREFOX_DC,
            include_str!("fixtures/aiortc-answer-to-firefox-datachannel.sdp"),
        ),
        (
            FIREFOX_DC,
            include_str!("fixtures/ndc-answer-to-firefox-datachannel.sdp"),
        ),
        (
            FIREFOX_DC,
            include_str!("fixtures/werift-answer-to-firefox-datachannel.sdp"),
        ),
    ];
    for (offer, answer) in pairs {
        let o = Session::parse(offer).unwrap();
        let a = Session::parse(answer).unwrap();
        assert_eq!(jsep::check_answer(&o, &a), Ok(()), "{answer}");
    }
    // And ours.
    let fps = fingerprints();
    let ts = av_transceivers();
    let text = answer(&local(&fps, &ts), CHROMIUM_AV);
    let o = Session::parse(CHROMIUM_AV).unwrap();
    assert_eq!(
        jsep::check_answer(&o, &Session::parse(&text).unwrap()),
        Ok(())
    );
    // What is wrong is caught.
    let bad = |from: &str, to: &str| {
        let t = text.replacen(from, to, 1);
        jsep::check_answer(&o, &Session::parse(&t).unwrap())
    };
    assert_eq!(
        bad("a=setup:active", "a=setup:actpass"),
        Err(jsep::AnswerError::BadSetup { index: 0 })
    );
    assert_eq!(
        bad("a=mid:1", "a=mid:9"),
        Err(jsep::AnswerError::SectionMismatch { index: 1 })
    );
    assert_eq!(
        bad("a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1 7"),
        Err(jsep::AnswerError::BundleNotOffered)
    );
    let dc = Session::parse(CHROMIUM_DC).unwrap();
    assert_eq!(
        jsep::check_answer(&dc, &Session::parse(&text).unwrap()),
        Err(jsep::AnswerError::SectionCount)
    );
}

#[test]
fn a_stopped_transceiver_rejects_its_section_in_answers() {
    let fps = fingerprints();
    let mut audio = Transceiver::new("0", TrackKind::Audio);
    audio.stopped = true;
    let ts = [audio];
    let text = answer(&local(&fps, &ts), CHROMIUM_AV);
    let a = Session::parse(&text).unwrap();
    assert!(a.media_by_mid("0").unwrap().is_rejected());
    assert!(!a.media_by_mid("1").unwrap().is_rejected());
    assert_eq!(
        a.bundle_group().unwrap().mids().collect::<Vec<_>>(),
        ["1", "2"]
    );
}
