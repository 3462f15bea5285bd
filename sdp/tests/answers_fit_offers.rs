//! Property tests of the JSEP rules: for any local capabilities, our answer to a browser offer
//! (and to our own offer) fits the offer (RFC 3264 §6), keeps the offerer's payload types and
//! order, negotiates directions per RFC 3264 §6.1, and only bundles what it accepts.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use peerless_sdp::Session;
use peerless_sdp::attr::{Direction, Fingerprint};
use peerless_sdp::jsep::{
    self, CodecCapability, DEFAULT_AUDIO_CODECS, DEFAULT_VIDEO_CODECS, DataChannel, IceCredentials,
    Local, TrackKind, Transceiver,
};

const OFFERS: &[&str] = &[
    include_str!("fixtures/chromium-offer-audio-video-datachannel.sdp"),
    include_str!("fixtures/firefox-offer-audio-video-datachannel.sdp"),
    include_str!("fixtures/chromium-offer-datachannel.sdp"),
    include_str!("fixtures/firefox-offer-datachannel.sdp"),
];

const EXTRA_VIDEO: &[CodecCapability<'static>] = &[
    CodecCapability {
        payload_type: 98,
        name: "VP9",
        clock_rate: 90_000,
        channels: None,
        fmtp: Some("profile-id=0"),
        feedback: &["nack", "nack pli"],
    },
    CodecCapability {
        payload_type: 45,
        name: "AV1",
        clock_rate: 90_000,
        channels: None,
        fmtp: None,
        feedback: &["nack"],
    },
    CodecCapability {
        payload_type: 99,
        name: "rtx",
        clock_rate: 90_000,
        channels: None,
        fmtp: Some("apt=98"),
        feedback: &[],
    },
];

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

#[derive(Clone, Debug)]
struct Caps {
    audio: Vec<CodecCapability<'static>>,
    video: Vec<CodecCapability<'static>>,
    transceivers: Vec<(TrackKind, Direction, bool)>,
    data: bool,
    lite: bool,
    trickle: bool,
}

fn caps() -> impl Strategy<Value = Caps> {
    let all_video: Vec<_> = DEFAULT_VIDEO_CODECS
        .iter()
        .chain(EXTRA_VIDEO)
        .copied()
        .collect();
    (
        prop::sample::subsequence(
            DEFAULT_AUDIO_CODECS.to_vec(),
            0..=DEFAULT_AUDIO_CODECS.len(),
        ),
        prop::sample::subsequence(all_video.clone(), 0..=all_video.len()),
        prop::collection::vec(
            (
                prop_oneof![Just(TrackKind::Audio), Just(TrackKind::Video)],
                direction(),
                any::<bool>(),
            ),
            0..4,
        ),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(audio, video, transceivers, data, lite, trickle)| Caps {
            audio,
            video,
            transceivers,
            data,
            lite,
            trickle,
        })
}

const MIDS: [&str; 4] = ["t0", "t1", "t2", "t3"];

fn with_local<R>(caps: &Caps, f: impl FnOnce(&Local<'_>) -> R) -> R {
    let fps =
        [
            Fingerprint::parse("sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB")
                .unwrap(),
        ];
    let ts: Vec<_> = caps
        .transceivers
        .iter()
        .zip(MIDS)
        .map(|((kind, dir, ssrc), mid)| {
            let mut t = Transceiver::new(mid, *kind);
            t.direction = *dir;
            t.ssrc = ssrc.then_some(42);
            t
        })
        .collect();
    let mut local = Local::new(
        5,
        IceCredentials::new("prop", "propertypropertyproperty"),
        &fps,
    );
    local.audio_codecs = &caps.audio;
    local.video_codecs = &caps.video;
    local.transceivers = &ts;
    local.data_channel = caps.data.then_some(DataChannel::new("dc"));
    local.ice_lite = caps.lite;
    local.trickle = caps.trickle;
    f(&local)
}

/// The properties every answer must have relative to its offer.
fn check_answer_fits(offer: &Session<'_>, answer: &Session<'_>, local: &Local<'_>) {
    assert_eq!(jsep::check_answer(offer, answer), Ok(()));
    let uses = jsep::answer_sections(local, offer).unwrap();
    let bundle = answer.bundle_group();
    for ((o, a), (_, use_)) in offer.media().zip(answer.media()).zip(uses.iter()) {
        assert_eq!(a.mid(), o.mid());
        assert_eq!(a.is_rejected(), *use_ == jsep::SectionUse::Rejected);
        let bundled = bundle.is_some_and(|g| g.contains(a.mid().unwrap()));
        assert_eq!(bundled, !a.is_rejected() && offer.bundle_group().is_some());
        if a.is_rejected() || !o.media_line().is_rtp() {
            continue;
        }
        // Payload types: a non-empty subsequence of the offer's, with the offer's rtpmaps.
        let offered: Vec<u8> = o.payload_types().collect();
        let answered: Vec<u8> = a.payload_types().collect();
        assert!(!answered.is_empty());
        let mut it = offered.iter();
        assert!(
            answered.iter().all(|pt| it.any(|o| o == pt)),
            "{offered:?} {answered:?}"
        );
        for pt in &answered {
            if let (Some(oa), Some(aa)) = (o.rtpmap(*pt), a.rtpmap(*pt)) {
                assert!(oa.encoding.eq_ignore_ascii_case(aa.encoding));
                assert_eq!(oa.clock_rate, aa.clock_rate);
            }
            // RTX repairs a payload type that is in the answer too.
            if a.rtpmap(*pt).is_some_and(|r| r.encoding == "rtx") {
                let apt: u8 = a.fmtp(*pt).unwrap().get("apt").unwrap().parse().unwrap();
                assert!(answered.contains(&apt));
            }
            // Feedback only where the offer had it.
            for fb in a.rtcp_fb(*pt) {
                assert!(o.rtcp_fb(*pt).any(|f| f.feedback == fb.feedback));
            }
        }
        let wanted = match use_ {
            jsep::SectionUse::Transceiver(i) => local.transceivers[*i].direction,
            // Kept only for the BUNDLE transport: the offer's tag, one codec, nothing flows.
            jsep::SectionUse::BundleTag => {
                assert_eq!(offer.bundle_group().unwrap().mids().next(), a.mid());
                assert_eq!(answered.len(), 1);
                Direction::Inactive
            }
            _ => Direction::RecvOnly,
        };
        assert_eq!(a.direction(), Direction::answer(o.direction(), wanted));
        assert_eq!(a.rtcp_mux(), o.rtcp_mux() || o.rtcp_mux_only());
    }
    assert_eq!(answer.ice_lite(), local.ice_lite);
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn answers_to_browser_offers_fit(caps in caps(), which in 0..OFFERS.len()) {
        let offer = Session::parse(OFFERS[which]).unwrap();
        with_local(&caps, |local| {
            let mut out = String::new();
            jsep::create_answer(local, &offer, None, &mut out).unwrap();
            let answer = Session::parse(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
            check_answer_fits(&offer, &answer, local);
        });
    }

    #[test]
    fn we_answer_our_own_offers(offerer in caps(), answerer in caps()) {
        let mut offer_text = String::new();
        let made = with_local(&offerer, |local| jsep::create_offer(local, None, &mut offer_text));
        let no_codecs = offerer.transceivers.iter().any(|(kind, _, _)| match kind {
            TrackKind::Audio => offerer.audio.is_empty(),
            TrackKind::Video => offerer.video.is_empty(),
        });
        if no_codecs {
            prop_assert_eq!(made, Err(jsep::JsepError::NoCodecs));
            return Ok(());
        }
        made.unwrap();
        let offer = Session::parse(&offer_text).unwrap();
        with_local(&answerer, |local| {
            let mut out = String::new();
            jsep::create_answer(local, &offer, None, &mut out).unwrap();
            let answer = Session::parse(&out).unwrap();
            check_answer_fits(&offer, &answer, local);
        });
    }
}

#[derive(Clone, Debug)]
enum Step {
    Add(TrackKind),
    Stop(usize),
    Redirect(usize, Direction),
    ToggleData,
    RestartIce,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        prop_oneof![Just(TrackKind::Audio), Just(TrackKind::Video)].prop_map(Step::Add),
        (0usize..8).prop_map(Step::Stop),
        ((0usize..8), direction()).prop_map(|(i, d)| Step::Redirect(i, d)),
        Just(Step::ToggleData),
        Just(Step::RestartIce),
    ]
}

const STEP_MIDS: [&str; 12] = [
    "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11",
];
const PASSWORDS: [&str; 3] = [
    "aaaaaaaaaaaaaaaaaaaaaaaa",
    "bbbbbbbbbbbbbbbbbbbbbbbb",
    "cccccccccccccccccccccccc",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Renegotiation over random changes: sections keep their place and mid (or recycle a
    /// rejected one), mids stay unique, the version moves by one exactly when the offer
    /// changed, live transceivers have live sections, and our own answer fits each offer.
    #[test]
    fn renegotiation_keeps_sections_in_place(steps in prop::collection::vec(step(), 1..12)) {
        let fps = [Fingerprint::parse(
            "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB",
        )
        .unwrap()];
        let mut transceivers: Vec<Transceiver<'static>> = Vec::new();
        let mut data = true;
        let mut ice = 0usize;
        let mut previous: Option<String> = None;
        for step in steps {
            match step {
                Step::Add(kind) if transceivers.len() < STEP_MIDS.len() => {
                    transceivers.push(Transceiver::new(STEP_MIDS[transceivers.len()], kind));
                }
                Step::Add(_) => {}
                Step::Stop(i) => {
                    if let Some(t) = transceivers.get_mut(i) {
                        t.stopped = true;
                    }
                }
                Step::Redirect(i, d) => {
                    if let Some(t) = transceivers.get_mut(i) {
                        t.direction = d;
                    }
                }
                Step::ToggleData => data = !data,
                Step::RestartIce => ice = (ice + 1) % PASSWORDS.len(),
            }
            let mut local = Local::new(77, IceCredentials::new("reng", PASSWORDS[ice]), &fps);
            local.transceivers = &transceivers;
            local.data_channel = data.then_some(DataChannel::new("data"));
            let prev = previous.as_deref().map(|p| Session::parse(p).unwrap());
            let mut text = String::new();
            jsep::create_offer(&local, prev.as_ref(), &mut text).unwrap();
            let offer = Session::parse(&text).unwrap();
            prop_assert_eq!(offer.origin().session_id, "77");

            let mids: Vec<_> = offer.media().map(|m| m.mid().unwrap()).collect();
            let mut unique = mids.clone();
            unique.sort_unstable();
            unique.dedup();
            prop_assert_eq!(unique.len(), mids.len(), "mids unique");

            if let Some(prev) = &prev {
                prop_assert!(offer.media_count() >= prev.media_count());
                for (old, new) in prev.media().zip(offer.media()) {
                    prop_assert!(
                        old.mid() == new.mid() || old.is_rejected(),
                        "section {} moved", old.index()
                    );
                }
                let body = |t: &str| t.split_once("\r\ns=").map(|(_, b)| b.to_string());
                let changed = body(prev.text()) != body(&text);
                let v0 = prev.origin().session_version;
                prop_assert_eq!(offer.origin().session_version, if changed { v0 + 1 } else { v0 });
            } else {
                prop_assert_eq!(offer.origin().session_version, 1);
            }
            for t in &transceivers {
                let live = offer.media_by_mid(t.mid).is_some_and(|m| !m.is_rejected());
                prop_assert_eq!(live, !t.stopped, "transceiver {}", t.mid);
            }
            prop_assert_eq!(
                offer.media_by_mid("data").is_some_and(|m| !m.is_rejected()),
                data
            );

            // A peer with everything answers; its answer fits.
            let mut answerer = Local::new(8, IceCredentials::new("ansr", PASSWORDS[0]), &fps);
            let everything = [
                Transceiver::new("x", TrackKind::Audio),
                Transceiver::new("y", TrackKind::Video),
            ];
            answerer.transceivers = &everything;
            answerer.data_channel = Some(DataChannel::new("z"));
            let mut answer = String::new();
            jsep::create_answer(&answerer, &offer, None, &mut answer).unwrap();
            prop_assert_eq!(jsep::check_answer(&offer, &Session::parse(&answer).unwrap()), Ok(()));
            previous = Some(text);
        }
    }
}
