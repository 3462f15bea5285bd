//! Every description captured from a real stack parses, exposes what the Peer needs, and
//! survives a write/parse round trip with every attribute intact.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_sdp::attr::{Direction, HashFunction, Setup};
use peerless_sdp::{MediaKind, ParseErrorKind, Session};

const FIXTURES: &[(&str, &str)] = &[
    (
        "aiortc-answer-audio-video-datachannel",
        include_str!("fixtures/aiortc-answer-audio-video-datachannel.sdp"),
    ),
    (
        "aiortc-answer-datachannel",
        include_str!("fixtures/aiortc-answer-datachannel.sdp"),
    ),
    (
        "aiortc-answer-to-firefox-audio-video-datachannel",
        include_str!("fixtures/aiortc-answer-to-firefox-audio-video-datachannel.sdp"),
    ),
    (
        "aiortc-answer-to-firefox-datachannel",
        include_str!("fixtures/aiortc-answer-to-firefox-datachannel.sdp"),
    ),
    (
        "chromium-offer-audio-video-datachannel",
        include_str!("fixtures/chromium-offer-audio-video-datachannel.sdp"),
    ),
    (
        "chromium-offer-datachannel",
        include_str!("fixtures/chromium-offer-datachannel.sdp"),
    ),
    (
        "firefox-offer-audio-video-datachannel",
        include_str!("fixtures/firefox-offer-audio-video-datachannel.sdp"),
    ),
    (
        "firefox-offer-datachannel",
        include_str!("fixtures/firefox-offer-datachannel.sdp"),
    ),
    (
        "ndc-answer-datachannel",
        include_str!("fixtures/ndc-answer-datachannel.sdp"),
    ),
    (
        "ndc-answer-to-firefox-datachannel",
        include_str!("fixtures/ndc-answer-to-firefox-datachannel.sdp"),
    ),
    (
        "str0m-peer-answer-datachannel",
        include_str!("fixtures/str0m-peer-answer-datachannel.sdp"),
    ),
    (
        "str0m-peer-answer-to-firefox-datachannel",
        include_str!("fixtures/str0m-peer-answer-to-firefox-datachannel.sdp"),
    ),
    (
        "webrtc-peer-answer-datachannel",
        include_str!("fixtures/webrtc-peer-answer-datachannel.sdp"),
    ),
    (
        "webrtc-peer-answer-to-firefox-datachannel",
        include_str!("fixtures/webrtc-peer-answer-to-firefox-datachannel.sdp"),
    ),
    (
        "werift-answer-datachannel",
        include_str!("fixtures/werift-answer-datachannel.sdp"),
    ),
    (
        "werift-answer-to-firefox-datachannel",
        include_str!("fixtures/werift-answer-to-firefox-datachannel.sdp"),
    ),
    // Offers made with bundlePolicy "max-bundle" (Chromium 156, Firefox ESR), appended so the
    // indices above stay.
    (
        "chromium-offer-audio-video-datachannel-max-bundle",
        include_str!("fixtures/chromium-offer-audio-video-datachannel-max-bundle.sdp"),
    ),
    (
        "firefox-offer-audio-video-datachannel-max-bundle",
        include_str!("fixtures/firefox-offer-audio-video-datachannel-max-bundle.sdp"),
    ),
];

/// The shared fixture directory, when it is beside the checkout, must hold nothing we lack.
#[test]
fn copied_fixtures_match_the_shared_set() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/sdp");
    let Ok(dir) = std::fs::read_dir(&shared) else {
        return; // not beside this checkout: the copies are the reference
    };
    for entry in dir.flatten() {
        let name = entry.file_name().into_string().unwrap();
        let stem = name.strip_suffix(".sdp").unwrap();
        let ours = FIXTURES.iter().find(|(n, _)| *n == stem);
        let (_, text) =
            ours.unwrap_or_else(|| panic!("fixture {name} not copied into sdp/tests/fixtures"));
        assert_eq!(
            std::fs::read_to_string(entry.path()).unwrap(),
            *text,
            "{name} differs"
        );
    }
}

/// Everything the stack uses from one section, as plain values, to compare before and after a
/// round trip.
fn summary(s: &Session<'_>) -> Vec<String> {
    let mut out = vec![format!("origin {:?}", s.origin())];
    out.push(format!("groups {:?}", s.groups().collect::<Vec<_>>()));
    out.push(format!("lite {}", s.ice_lite()));
    for m in s.media() {
        out.push(format!(
            "media {:?} mid={:?} ufrag={:?} pwd={:?} opts={:?} fp={:?} setup={:?} cands={:?} eoc={} sctp={:?} mms={:?}",
            m.media_line(),
            m.mid(),
            m.ice_ufrag(),
            m.ice_pwd(),
            m.ice_options().collect::<Vec<_>>(),
            m.fingerprints().collect::<Vec<_>>(),
            m.setup(),
            m.candidates().collect::<Vec<_>>(),
            m.end_of_candidates(),
            m.sctp_port(),
            m.max_message_size()
        ));
        out.push(format!(
            "rtp {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {} {} {:?} {:?} {:?}",
            m.rtpmaps().collect::<Vec<_>>(),
            m.fmtps().collect::<Vec<_>>(),
            m.rtcp_fbs().collect::<Vec<_>>(),
            m.extmaps().collect::<Vec<_>>(),
            m.ssrcs().collect::<Vec<_>>(),
            m.ssrc_groups().collect::<Vec<_>>(),
            m.msids().collect::<Vec<_>>(),
            m.direction(),
            m.connection(),
            m.rtcp_mux(),
            m.rtcp_mux_only(),
            m.rtcp_rsize(),
            m.extmap_allow_mixed(),
            m.rids().collect::<Vec<_>>(),
            m.simulcast(),
            m.attributes().collect::<Vec<_>>(),
        ));
    }
    out
}

#[test]
fn every_fixture_parses_and_round_trips() {
    for (name, text) in FIXTURES {
        let s = Session::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(s.media_count() >= 1, "{name}");
        for m in s.media() {
            assert!(m.mid().is_some(), "{name}: section without mid");
            assert!(
                m.ice_ufrag().is_some() && m.ice_pwd().is_some(),
                "{name}: no ICE credentials"
            );
            assert!(m.fingerprints().count() >= 1, "{name}: no fingerprint");
            assert!(m.setup().is_some(), "{name}: no setup");
            assert!(
                s.bundle_group_of(m.mid().unwrap()).is_some(),
                "{name}: not bundled"
            );
        }
        // Write it back (CRLF) and again with LF endings: the same model both times.
        let mut written = String::new();
        s.write(&mut written).unwrap();
        let again = Session::parse(&written).unwrap();
        assert_eq!(summary(&s), summary(&again), "{name}");
        let lf = text.replace("\r\n", "\n");
        let lf = Session::parse(&lf).unwrap();
        assert_eq!(summary(&s), summary(&lf), "{name} with LF");
        // Into a byte buffer: exact size works, one byte less reports the size needed.
        let mut buf = vec![0u8; written.len()];
        let got = peerless_sdp::write_to_slice(&mut buf, |w| s.write(w)).unwrap();
        assert_eq!(got, written);
        let mut small = vec![0u8; written.len() - 1];
        assert_eq!(
            peerless_sdp::write_to_slice(&mut small, |w| s.write(w)),
            Err(peerless_sdp::WriteError::BufferTooSmall(
                peerless_base::BufferTooSmall {
                    needed: written.len()
                }
            ))
        );
    }
}

#[test]
fn chromium_offer_typed_accessors() {
    let s = Session::parse(FIXTURES[4].1).unwrap();
    assert_eq!(s.origin().session_id, "3792541795644964706");
    assert_eq!(s.origin().session_version, 2);
    assert_eq!(
        s.bundle_group().unwrap().mids().collect::<Vec<_>>(),
        ["0", "1", "2"]
    );
    assert!(s.extmap_allow_mixed());
    let audio = s.media_at(0).unwrap();
    assert_eq!(audio.kind(), MediaKind::Audio);
    assert_eq!(audio.port(), 42159);
    assert_eq!(audio.proto(), "UDP/TLS/RTP/SAVPF");
    assert_eq!(
        audio.payload_types().collect::<Vec<_>>(),
        [111, 63, 9, 0, 8, 13, 110, 126]
    );
    assert_eq!(audio.ice_ufrag(), Some("/Gok"));
    assert_eq!(audio.ice_pwd(), Some("wL0koJ1puhWkfMSVHhiP05Qm"));
    assert!(audio.has_ice_option("trickle"));
    let fp = audio.fingerprints().next().unwrap();
    assert_eq!(fp.hash, HashFunction::Sha256);
    let mut digest = [0u8; 64];
    assert_eq!(fp.decode(&mut digest).unwrap()[..2], [0xa4, 0x3d]);
    assert_eq!(audio.setup(), Some(Setup::Actpass));
    assert_eq!(audio.candidates().count(), 2);
    assert!(
        audio
            .candidates()
            .next()
            .unwrap()
            .starts_with("3532745879 1 udp 2122260223 127.0.0.1 42159")
    );
    assert!(!audio.end_of_candidates());
    assert!(audio.rtcp_mux() && audio.rtcp_rsize() && !audio.rtcp_mux_only());
    assert_eq!(audio.direction(), Direction::SendRecv);
    let opus = audio.rtpmap(111).unwrap();
    assert_eq!(
        (opus.encoding, opus.clock_rate, opus.channels),
        ("opus", 48000, Some(2))
    );
    assert_eq!(audio.fmtp(111).unwrap().get("useinbandfec"), Some("1"));
    assert_eq!(
        audio.rtcp_fb(111).map(|f| f.feedback).collect::<Vec<_>>(),
        ["transport-cc"]
    );
    assert_eq!(audio.extmaps().count(), 4);
    assert_eq!(
        audio.extmaps().nth(3).unwrap().uri,
        "urn:ietf:params:rtp-hdrext:sdes:mid"
    );
    let msid = audio.msids().next().unwrap();
    assert_eq!(msid.stream, "3e92a866-2ff2-4c3b-8b07-77acdc15da78");
    assert_eq!(msid.track, Some("7482b8dc-2e35-40ea-98e2-5522feee19d0"));
    assert_eq!(audio.ssrcs().next().unwrap().ssrc, 2_064_616_583);
    assert_eq!(audio.ssrcs().next().unwrap().attribute, "cname");
    let pcmu = audio.codecs().find(|c| c.payload_type == 0).unwrap();
    assert_eq!(pcmu.encoding(), Some("PCMU"));
    let video = s.media_by_mid("1").unwrap();
    let vp8 = video.codecs().next().unwrap();
    assert_eq!(vp8.rtcp_fb().count(), 5);
    let group = video.ssrc_groups().next().unwrap();
    assert_eq!(group.semantics, "FID");
    assert_eq!(
        group.ssrcs().collect::<Vec<_>>(),
        [1_321_915_651, 3_089_050_353]
    );
    assert_eq!(video.fmtp(97).unwrap().get("apt"), Some("96"));
    let data = s.media_at(2).unwrap();
    assert_eq!(data.kind(), MediaKind::Application);
    assert!(data.media_line().is_datachannel());
    assert_eq!(data.sctp_port(), Some(5000));
    assert_eq!(data.max_message_size(), Some(262_144));
    // Unknown attributes are kept and skippable.
    assert_eq!(audio.attribute("rtcp-xr"), Some("rcvr-rtt=all"));
}

#[test]
fn firefox_offer_session_level_attributes_apply_to_media() {
    let s = Session::parse(FIXTURES[6].1).unwrap();
    assert!(s.origin().username.starts_with("mozilla"));
    let audio = s.media_at(0).unwrap();
    // Fingerprint only at session level; ICE options too.
    assert!(!audio.has_attribute("fingerprint"));
    assert_eq!(audio.fingerprints().count(), 1);
    assert!(audio.has_ice_option("trickle"));
    assert!(audio.end_of_candidates());
    assert_eq!(audio.candidates().count(), 8);
    assert_eq!(
        audio.candidates().nth(2).unwrap().split(' ').nth(2),
        Some("TCP")
    );
    assert!(audio.extmap_allow_mixed());
    let ext = audio.extmaps().nth(1).unwrap();
    assert_eq!(ext.direction, Some(Direction::RecvOnly));
    assert_eq!(audio.fmtp(101).unwrap().params, "0-15");
    assert_eq!(audio.rtpmap(9).unwrap().channels, Some(1));
    let data = s.media_by_mid("2").unwrap();
    assert_eq!(data.max_message_size(), Some(1_073_741_823));
    assert_eq!(data.direction(), Direction::SendRecv);
}

#[test]
fn answers_from_other_stacks() {
    let aiortc = Session::parse(FIXTURES[0].1).unwrap();
    let a = aiortc.media_at(0).unwrap();
    assert_eq!(a.setup(), Some(Setup::Active));
    assert_eq!(a.direction(), Direction::RecvOnly);
    let hashes: Vec<_> = a.fingerprints().map(|f| f.hash).collect();
    assert_eq!(
        hashes,
        [
            HashFunction::Sha256,
            HashFunction::Sha384,
            HashFunction::Sha512
        ]
    );
    let ndc = Session::parse(FIXTURES[8].1).unwrap();
    let m = ndc.media_at(0).unwrap();
    assert_eq!(m.ice_options().collect::<Vec<_>>(), ["ice2", "trickle"]);
    assert_eq!(m.fingerprints().count(), 1);
    let str0m = Session::parse(FIXTURES[10].1).unwrap();
    assert_eq!(str0m.media_at(0).unwrap().setup(), Some(Setup::Passive));
    let webrtc = Session::parse(FIXTURES[12].1).unwrap();
    assert_eq!(webrtc.media_at(0).unwrap().max_message_size(), Some(65536));
    assert_eq!(webrtc.media_at(0).unwrap().candidates().count(), 2);
}

#[test]
fn malformed_input_reports_the_line() {
    let good = FIXTURES[5].1;
    let cases: &[(&str, &str, usize, ParseErrorKind)] = &[
        ("v=0\r\n", "v=1\r\n", 1, ParseErrorKind::BadVersion),
        (
            "a=ice-ufrag:",
            "a=ice-ufrag:bad ufrag\r\na=ice-ufrag:",
            12,
            ParseErrorKind::BadAttribute,
        ),
        (
            "a=sctp-port:5000",
            "a=sctp-port:x",
            18,
            ParseErrorKind::BadAttribute,
        ),
        (
            "m=application",
            "m=application x",
            8,
            ParseErrorKind::BadMedia,
        ),
        (
            "c=IN IP4 127.0.0.1",
            "c=IN",
            9,
            ParseErrorKind::BadConnection,
        ),
        (
            "a=setup:actpass",
            "a=setup:sometimes",
            16,
            ParseErrorKind::BadAttribute,
        ),
        ("s=-", "s=-\r\nno equals sign", 4, ParseErrorKind::BadLine),
        (
            "a=mid:0",
            "a=mid:0\r\no=- 1 1 IN IP4 0.0.0.0",
            18,
            ParseErrorKind::Misplaced,
        ),
    ];
    for (from, to, line, kind) in cases {
        let bad = good.replacen(from, to, 1);
        let err = Session::parse(&bad).unwrap_err();
        assert_eq!((err.line, err.kind), (*line, *kind), "{to:?}");
    }
    assert_eq!(Session::parse("").unwrap_err().kind, ParseErrorKind::Empty);
    assert_eq!(
        Session::parse("\r\n\r\n").unwrap_err().kind,
        ParseErrorKind::Empty
    );
    assert_eq!(
        Session::parse("v=0\r\ns=-\r\n").unwrap_err().kind,
        ParseErrorKind::MissingOrigin
    );
    let no_name = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio 9 RTP/AVP 0\r\n";
    assert_eq!(
        Session::parse(no_name).unwrap_err(),
        peerless_sdp::ParseError {
            line: 3,
            kind: ParseErrorKind::MissingSessionName
        }
    );
    let mut many = String::from("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n");
    for i in 0..=peerless_sdp::MAX_MEDIA {
        many.push_str(&format!("m=audio 9 RTP/AVP 0\r\na=mid:{i}\r\n"));
    }
    assert_eq!(
        Session::parse(&many).unwrap_err().kind,
        ParseErrorKind::TooManyMedia
    );
}

/// Found by `fuzz/fuzz_targets/sdp_parse.rs`: lines with trailing blanks ("a= ", an `o=` line
/// ending in spaces and a tab) parsed, but `write` drops trailing blanks and the result no
/// longer parsed. Lines are now judged without their trailing blanks, as they are written.
#[test]
fn what_parses_round_trips_even_with_trailing_blanks() {
    let crashes: [&[u8]; 2] = [
        &[
            118, 61, 48, 10, 115, 61, 118, 118, 61, 48, 11, 11, 10, 97, 61, 91, 87, 165, 1, 49, 2,
            61, 48, 11, 10, 111, 61, 58, 11, 0, 32, 32, 32, 49, 32, 57, 32, 207, 0, 9, 32, 32, 32,
            32, 32, 36, 32, 118, 61, 48, 11, 11, 10, 97, 61, 91, 87, 165, 1, 32, 32, 32, 32, 32,
            53, 32, 11, 0, 0, 97, 61, 91, 253, 61, 48, 11, 11, 10, 97, 61, 32,
        ],
        &[
            118, 61, 48, 10, 97, 61, 255, 0, 0, 32, 32, 48, 101, 101, 101, 101, 101, 101, 101, 101,
            194, 61, 0, 0, 0, 0, 0, 0, 0, 16, 48, 10, 97, 61, 255, 223, 159, 32, 32, 32, 118, 8, 0,
            133, 194, 133, 32, 133, 255, 0, 0, 168, 168, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 17, 0, 0, 0, 0, 0, 0, 0,
            255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
            255, 255, 255, 10, 97, 61, 103, 114, 111, 117, 112, 58, 34, 32, 0, 0, 0, 0, 61, 48,
            255, 255, 255, 255, 24, 255, 255, 255, 255, 255, 255, 255, 255, 32, 32, 118, 123, 58,
            32, 40, 32, 32, 0, 0, 118, 61, 48, 10, 99, 61, 118, 168, 32, 32, 32, 224, 219, 246,
            223, 207, 15, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 118, 61, 48, 10, 111,
            61, 32, 32, 32, 32, 32, 58, 32, 32, 32, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51, 51,
            32, 48, 48, 48, 48, 49, 32, 32, 32, 32, 216, 32, 32, 32, 32, 32, 32, 32, 32, 49, 32,
            32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 9, 10, 10, 114, 61, 0, 32, 32, 118, 61,
            48, 10, 115, 61, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
            255, 255, 255, 255, 255, 255, 255, 10, 97, 61, 0, 0, 0, 16, 48, 10, 97, 61, 255, 223,
            159, 32, 32, 32, 118, 8, 0, 133, 194, 133, 32, 133, 255, 0, 0, 168, 167, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 32,
        ],
    ];
    for crash in crashes {
        let text = String::from_utf8_lossy(crash);
        if let Ok(s) = Session::parse(&text) {
            let mut out = String::new();
            s.write(&mut out).unwrap();
            let again = Session::parse(&out).expect("what we write back must parse");
            assert_eq!(again.media_count(), s.media_count());
        }
    }
    for text in [
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na= \r\n",
        "v=0\ns=-\na=\t\n",
    ] {
        assert!(Session::parse(text).is_err(), "{text:?}");
    }
    // Trailing blanks after real values are dropped, not refused.
    let text = "v=0 \r\no=- 1 1 IN IP4 0.0.0.0 \t\r\ns=-\r\nt=0 0\r\na=ice-lite \r\n";
    let s = Session::parse(text).unwrap();
    assert!(s.ice_lite());
    let mut out = String::new();
    s.write(&mut out).unwrap();
    assert_eq!(
        out,
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n"
    );
}
