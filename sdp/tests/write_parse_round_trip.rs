//! Property tests: what the writer produces parses back to the same model, and no text makes
//! the parser or any accessor panic. `PROPTEST_CASES` raises the case count (default 256).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use peerless_sdp::attr::{
    Direction, Extmap, Fingerprint, Fmtp, Group, HashFunction, Msid, Rid, RidDirection, RtcpFb,
    Rtpmap, Setup, Simulcast, Ssrc, SsrcGroup,
};
use peerless_sdp::jsep::{self, DataChannel, IceCredentials, Local, TrackKind, Transceiver};
use peerless_sdp::{MediaKind, SdpWriter, Session};

// ---------------------------------------------------------------------------------------------
// An owned model of a description, and its typed views

#[derive(Clone, Debug)]
enum Attr {
    Mid(String),
    Ufrag(String),
    Pwd(String),
    Options(Vec<String>),
    Fingerprint(u8, Vec<u8>),
    Setup(Setup),
    Candidate(String),
    EndOfCandidates,
    SctpPort(u16),
    MaxMessageSize(u64),
    Rtpmap(u8, String, u32, Option<u16>),
    Fmtp(u8, String),
    RtcpFb(Option<u8>, String),
    Extmap(u16, Option<Direction>, String, Option<String>),
    Ssrc(u32, String, Option<String>),
    SsrcGroup(String, Vec<u32>),
    Msid(String, Option<String>),
    Direction(Direction),
    Flag(&'static str),
    Rid(String, RidDirection, Option<String>),
    Simulcast(Option<String>, Option<String>),
    Unknown(String, Option<String>),
}

fn hash_of(i: u8) -> HashFunction<'static> {
    [
        HashFunction::Sha1,
        HashFunction::Sha256,
        HashFunction::Sha384,
        HashFunction::Sha512,
    ][usize::from(i % 4)]
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Attr {
    /// Writes the attribute with the crate's typed `Display` impls.
    fn write(&self, w: &mut SdpWriter<'_, String>) {
        let r = match self {
            Attr::Mid(v) => w.attr("mid", v),
            Attr::Ufrag(v) => w.attr("ice-ufrag", v),
            Attr::Pwd(v) => w.attr("ice-pwd", v),
            Attr::Options(v) => w.attr("ice-options", v.join(" ")),
            Attr::Fingerprint(h, d) => {
                let value = hex(d);
                w.attr(
                    "fingerprint",
                    Fingerprint {
                        hash: hash_of(*h),
                        value: &value,
                    },
                )
            }
            Attr::Setup(s) => w.attr("setup", s),
            Attr::Candidate(c) => w.attr("candidate", c),
            Attr::EndOfCandidates => w.flag("end-of-candidates"),
            Attr::SctpPort(p) => w.attr("sctp-port", p),
            Attr::MaxMessageSize(n) => w.attr("max-message-size", n),
            Attr::Rtpmap(pt, e, c, ch) => w.attr(
                "rtpmap",
                Rtpmap {
                    payload_type: *pt,
                    encoding: e,
                    clock_rate: *c,
                    channels: *ch,
                },
            ),
            Attr::Fmtp(pt, p) => w.attr(
                "fmtp",
                Fmtp {
                    payload_type: *pt,
                    params: p,
                },
            ),
            Attr::RtcpFb(pt, f) => w.attr(
                "rtcp-fb",
                RtcpFb {
                    payload_type: *pt,
                    feedback: f,
                },
            ),
            Attr::Extmap(id, d, u, a) => w.attr(
                "extmap",
                Extmap {
                    id: *id,
                    direction: *d,
                    uri: u,
                    attributes: a.as_deref(),
                },
            ),
            Attr::Ssrc(s, a, v) => w.attr(
                "ssrc",
                Ssrc {
                    ssrc: *s,
                    attribute: a,
                    value: v.as_deref(),
                },
            ),
            Attr::SsrcGroup(s, ids) => {
                let text = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
                w.attr(
                    "ssrc-group",
                    SsrcGroup {
                        semantics: s,
                        ssrcs_text: &text,
                    },
                )
            }
            Attr::Msid(s, t) => w.attr(
                "msid",
                Msid {
                    stream: s,
                    track: t.as_deref(),
                },
            ),
            Attr::Direction(d) => w.flag(d.as_str()),
            Attr::Flag(f) => w.flag(f),
            Attr::Rid(id, d, r) => w.attr(
                "rid",
                Rid {
                    id,
                    direction: *d,
                    restrictions: r.as_deref(),
                },
            ),
            Attr::Simulcast(s, r) => w.attr(
                "simulcast",
                Simulcast {
                    send: s.as_deref(),
                    recv: r.as_deref(),
                },
            ),
            Attr::Unknown(n, Some(v)) => w.attr(n, v),
            Attr::Unknown(n, None) => w.flag(n),
        };
        r.unwrap();
    }
}

#[derive(Clone, Debug)]
struct MediaModel {
    kind: &'static str,
    port: u16,
    proto: String,
    formats: Vec<String>,
    connection: bool,
    attrs: Vec<Attr>,
}

#[derive(Clone, Debug)]
struct SessionModel {
    session_id: u64,
    version: u64,
    groups: Vec<(String, Vec<String>)>,
    lite: bool,
    attrs: Vec<Attr>,
    media: Vec<MediaModel>,
}

impl SessionModel {
    fn write(&self, crlf: bool) -> String {
        let mut out = String::new();
        let mut w = SdpWriter::new(&mut out);
        w.line('v', 0).unwrap();
        w.line(
            'o',
            format!("- {} {} IN IP4 127.0.0.1", self.session_id, self.version),
        )
        .unwrap();
        w.line('s', "-").unwrap();
        w.line('t', "0 0").unwrap();
        for (sem, mids) in &self.groups {
            let text = mids.join(" ");
            w.attr(
                "group",
                Group {
                    semantics: sem,
                    mids_text: &text,
                },
            )
            .unwrap();
        }
        if self.lite {
            w.flag("ice-lite").unwrap();
        }
        for a in &self.attrs {
            a.write(&mut w);
        }
        for m in &self.media {
            w.line(
                'm',
                format!("{} {} {} {}", m.kind, m.port, m.proto, m.formats.join(" ")),
            )
            .unwrap();
            if m.connection {
                w.line('c', "IN IP4 192.0.2.1").unwrap();
            }
            for a in &m.attrs {
                a.write(&mut w);
            }
        }
        if crlf { out } else { out.replace("\r\n", "\n") }
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9{}/+._-]{1,12}"
}
fn ice_chars() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9+/]{1,32}"
}
fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}
fn setup() -> impl Strategy<Value = Setup> {
    prop_oneof![
        Just(Setup::Actpass),
        Just(Setup::Active),
        Just(Setup::Passive),
        Just(Setup::Holdconn)
    ]
}

fn attr() -> impl Strategy<Value = Attr> {
    let pt = 0u8..=127;
    prop_oneof![
        token().prop_map(Attr::Mid),
        ice_chars().prop_map(Attr::Ufrag),
        ice_chars().prop_map(Attr::Pwd),
        prop::collection::vec("[a-z0-9]{1,8}", 1..3).prop_map(Attr::Options),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 64)).prop_map(|(h, mut d)| {
            d.truncate(hash_of(h).digest_len().unwrap());
            Attr::Fingerprint(h, d)
        }),
        setup().prop_map(Attr::Setup),
        prop::collection::vec(token(), 1..8).prop_map(|w| Attr::Candidate(w.join(" "))),
        Just(Attr::EndOfCandidates),
        any::<u16>().prop_map(Attr::SctpPort),
        any::<u64>().prop_map(Attr::MaxMessageSize),
        (
            pt.clone(),
            "[a-zA-Z0-9-]{1,10}",
            any::<u32>(),
            any::<Option<u16>>()
        )
            .prop_map(|(p, e, c, ch)| Attr::Rtpmap(p, e, c, ch)),
        (pt.clone(), "[a-z0-9=;-]{0,12}[a-z0-9]").prop_map(|(p, v)| Attr::Fmtp(p, v)),
        (prop::option::of(pt.clone()), "[a-z-]{1,6}( [a-z]{1,4})?")
            .prop_map(|(p, f)| Attr::RtcpFb(p, f)),
        (
            1u16..=4351,
            prop::option::of(direction()),
            token(),
            prop::option::of(token())
        )
            .prop_map(|(i, d, u, a)| Attr::Extmap(i, d, u, a)),
        (
            any::<u32>(),
            "[a-z]{1,8}",
            prop::option::of("[a-zA-Z0-9:{}-]{0,10}")
        )
            .prop_map(|(s, a, v)| Attr::Ssrc(s, a, v)),
        ("[A-Z]{2,6}", prop::collection::vec(any::<u32>(), 0..4))
            .prop_map(|(s, v)| Attr::SsrcGroup(s, v)),
        (token(), prop::option::of(token())).prop_map(|(s, t)| Attr::Msid(s, t)),
        direction().prop_map(Attr::Direction),
        prop_oneof![
            Just("rtcp-mux"),
            Just("rtcp-mux-only"),
            Just("rtcp-rsize"),
            Just("extmap-allow-mixed"),
            Just("bundle-only")
        ]
        .prop_map(Attr::Flag),
        (
            "[a-z0-9]{1,6}",
            prop_oneof![Just(RidDirection::Send), Just(RidDirection::Recv)],
            prop::option::of("[a-z0-9=;-]{1,10}")
        )
            .prop_map(|(i, d, r)| Attr::Rid(i, d, r)),
        (
            prop::option::of("[a-z0-9;,~]{1,8}"),
            prop::option::of("[a-z0-9;,~]{1,8}")
        )
            .prop_filter("one list", |(s, r)| s.is_some() || r.is_some())
            .prop_map(|(s, r)| Attr::Simulcast(s, r)),
        ("x-[a-z]{1,6}", prop::option::of("[ -~]{0,16}[!-~]"))
            .prop_map(|(n, v)| Attr::Unknown(n, v)),
    ]
}

fn media() -> impl Strategy<Value = MediaModel> {
    (
        prop_oneof![
            Just("audio"),
            Just("video"),
            Just("application"),
            Just("text")
        ],
        any::<u16>(),
        prop_oneof![
            Just("UDP/TLS/RTP/SAVPF".to_string()),
            Just("UDP/DTLS/SCTP".to_string()),
            token()
        ],
        prop::collection::vec(prop_oneof!["[0-9]{1,3}", token()], 1..6),
        any::<bool>(),
        prop::collection::vec(attr(), 0..24),
    )
        .prop_map(
            |(kind, port, proto, formats, connection, attrs)| MediaModel {
                kind,
                port,
                proto,
                formats,
                connection,
                attrs,
            },
        )
}

fn session() -> impl Strategy<Value = SessionModel> {
    (
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec(("[A-Z]{2,6}", prop::collection::vec(token(), 0..4)), 0..3),
        any::<bool>(),
        prop::collection::vec(attr(), 0..6),
        prop::collection::vec(media(), 0..5),
    )
        .prop_map(
            |(session_id, version, groups, lite, attrs, media)| SessionModel {
                session_id,
                version,
                groups,
                lite,
                attrs,
                media,
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Checks

fn pick<'a, T>(attrs: &'a [Attr], f: impl Fn(&'a Attr) -> Option<T>) -> Vec<T> {
    attrs.iter().filter_map(f).collect()
}

fn check_media(model: &MediaModel, session_attrs: &[Attr], m: &peerless_sdp::Media<'_>) {
    let a = &model.attrs;
    assert_eq!(m.kind(), MediaKind::parse(model.kind));
    assert_eq!(m.port(), model.port);
    assert_eq!(m.proto(), model.proto);
    assert_eq!(m.formats().collect::<Vec<_>>(), model.formats);
    assert_eq!(m.connection().is_some(), model.connection);
    // Every attribute, unknown ones included, in order.
    assert_eq!(m.attributes().count(), a.len());
    let first = |f: &dyn Fn(&Attr) -> Option<String>| a.iter().find_map(f);
    assert_eq!(
        m.mid().map(str::to_string),
        first(&|x| match x {
            Attr::Mid(v) => Some(v.clone()),
            _ => None,
        })
    );
    // ICE credentials and setup: media level, else session level.
    let ufrag = |attrs: &[Attr]| {
        attrs.iter().find_map(|x| match x {
            Attr::Ufrag(v) => Some(v.clone()),
            _ => None,
        })
    };
    assert_eq!(
        m.ice_ufrag().map(str::to_string),
        ufrag(a).or_else(|| ufrag(session_attrs))
    );
    let setup = |attrs: &[Attr]| {
        attrs.iter().find_map(|x| match x {
            Attr::Setup(s) => Some(*s),
            _ => None,
        })
    };
    assert_eq!(m.setup(), setup(a).or_else(|| setup(session_attrs)));
    let fps = |attrs: &[Attr]| {
        pick(attrs, |x| match x {
            Attr::Fingerprint(h, d) => Some((hash_of(*h), d.clone())),
            _ => None,
        })
    };
    let expected_fps = if fps(a).is_empty() {
        fps(session_attrs)
    } else {
        fps(a)
    };
    let got: Vec<_> = m
        .fingerprints()
        .map(|f| {
            let mut buf = [0; 64];
            (f.hash, f.decode(&mut buf).unwrap().to_vec())
        })
        .collect();
    assert_eq!(got, expected_fps);
    assert_eq!(
        m.candidates().collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::Candidate(c) => Some(c.as_str()),
            _ => None,
        })
    );
    assert_eq!(
        m.sctp_port(),
        a.iter().find_map(|x| match x {
            Attr::SctpPort(p) => Some(*p),
            _ => None,
        })
    );
    assert_eq!(
        m.max_message_size(),
        a.iter().find_map(|x| match x {
            Attr::MaxMessageSize(p) => Some(*p),
            _ => None,
        })
    );
    assert_eq!(
        m.rtpmaps().collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::Rtpmap(p, e, c, ch) => Some(Rtpmap {
                payload_type: *p,
                encoding: e,
                clock_rate: *c,
                channels: *ch
            }),
            _ => None,
        })
    );
    assert_eq!(
        m.fmtps().collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::Fmtp(p, v) => Some(Fmtp {
                payload_type: *p,
                params: v
            }),
            _ => None,
        })
    );
    assert_eq!(
        m.rtcp_fbs().collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::RtcpFb(p, f) => Some(RtcpFb {
                payload_type: *p,
                feedback: f
            }),
            _ => None,
        })
    );
    assert_eq!(
        m.extmaps().collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::Extmap(i, d, u, at) => Some(Extmap {
                id: *i,
                direction: *d,
                uri: u,
                attributes: at.as_deref()
            }),
            _ => None,
        })
    );
    assert_eq!(
        m.ssrcs().collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::Ssrc(s, at, v) => Some(Ssrc {
                ssrc: *s,
                attribute: at,
                value: v.as_deref()
            }),
            _ => None,
        })
    );
    assert_eq!(
        m.ssrc_groups()
            .map(|g| (g.semantics, g.ssrcs().collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::SsrcGroup(s, v) => Some((s.as_str(), v.clone())),
            _ => None,
        })
    );
    assert_eq!(
        m.msids().collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::Msid(s, t) => Some(Msid {
                stream: s,
                track: t.as_deref()
            }),
            _ => None,
        })
    );
    assert_eq!(
        m.direction(),
        a.iter()
            .find_map(|x| match x {
                Attr::Direction(d) => Some(*d),
                _ => None,
            })
            .or_else(|| session_attrs.iter().find_map(|x| match x {
                Attr::Direction(d) => Some(*d),
                _ => None,
            }))
            .unwrap_or(Direction::SendRecv)
    );
    let flag = |f: &str| a.iter().any(|x| matches!(x, Attr::Flag(g) if *g == f));
    assert_eq!(m.rtcp_mux(), flag("rtcp-mux"));
    assert_eq!(m.rtcp_mux_only(), flag("rtcp-mux-only"));
    assert_eq!(m.rtcp_rsize(), flag("rtcp-rsize"));
    assert_eq!(m.bundle_only(), flag("bundle-only"));
    assert_eq!(m.is_rejected(), model.port == 0 && !flag("bundle-only"));
    assert_eq!(
        m.rids().collect::<Vec<_>>(),
        pick(a, |x| match x {
            Attr::Rid(i, d, r) => Some(Rid {
                id: i,
                direction: *d,
                restrictions: r.as_deref()
            }),
            _ => None,
        })
    );
    assert_eq!(
        m.simulcast(),
        a.iter().find_map(|x| match x {
            Attr::Simulcast(s, r) => Some(Simulcast {
                send: s.as_deref(),
                recv: r.as_deref()
            }),
            _ => None,
        })
    );
    assert_eq!(
        m.end_of_candidates(),
        a.iter()
            .chain(session_attrs)
            .any(|x| matches!(x, Attr::EndOfCandidates))
    );
}

/// Every accessor, for the no-panic property.
fn touch_everything(s: &Session<'_>) {
    let _ = (
        s.origin(),
        s.session_name(),
        s.connection(),
        s.ice_lite(),
        s.setup(),
    );
    let _ = (
        s.ice_ufrag(),
        s.ice_pwd(),
        s.direction(),
        s.extmap_allow_mixed(),
    );
    let _ = s.bundle_group().map(|g| g.mids().count());
    let _ = (
        s.groups().count(),
        s.fingerprints().count(),
        s.ice_options().count(),
    );
    let _ = s.other_lines().count();
    for m in s.media() {
        let _ = (
            m.mid(),
            m.ice_ufrag(),
            m.ice_pwd(),
            m.ice_lite(),
            m.setup(),
            m.connection(),
        );
        let _ = (
            m.sctp_port(),
            m.max_message_size(),
            m.direction(),
            m.simulcast(),
        );
        let _ = (
            m.rtcp_mux(),
            m.rtcp_mux_only(),
            m.rtcp_rsize(),
            m.is_rejected(),
        );
        let _ = (
            m.candidates().count(),
            m.end_of_candidates(),
            m.ice_options().count(),
        );
        for f in m.fingerprints() {
            let mut buf = [0; 64];
            let _ = f.decode(&mut buf);
        }
        for c in m.codecs() {
            let _ = (
                c.encoding(),
                c.rtcp_fb().count(),
                c.fmtp.map(|f| f.pairs().count()),
            );
        }
        let _ = (
            m.extmaps().count(),
            m.ssrcs().count(),
            m.msids().count(),
            m.rids().count(),
        );
        let _ = m.ssrc_groups().map(|g| g.ssrcs().count()).sum::<usize>();
        let _ = (
            m.other_lines().count(),
            m.payload_types().count(),
            m.attributes().count(),
        );
    }
    // The JSEP rules over any description: no panic, and what they write parses.
    let fps =
        [
            Fingerprint::parse("sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB")
                .unwrap(),
        ];
    let ts = [
        Transceiver::new("a", TrackKind::Audio),
        Transceiver::new("v", TrackKind::Video),
    ];
    let mut local = Local::new(
        1,
        IceCredentials::new("prop", "propertypropertyproperty"),
        &fps,
    );
    local.data_channel = Some(DataChannel::new("d"));
    local.transceivers = &ts;
    let mut answer = String::new();
    if jsep::create_answer(&local, s, None, &mut answer).is_ok() {
        let a = Session::parse(&answer).unwrap_or_else(|e| panic!("{e}\n{answer}"));
        assert_eq!(a.media_count(), s.media_count());
    }
    let mut offer = String::new();
    if jsep::create_offer(&local, Some(s), &mut offer).is_ok() {
        let o = Session::parse(&offer).unwrap_or_else(|e| panic!("{e}\n{offer}"));
        assert!(o.media_count() >= s.media_count());
    }

    let mut out = String::new();
    s.write(&mut out).unwrap();
    // What we write back parses again.
    let again = Session::parse(&out).unwrap();
    assert_eq!(again.media_count(), s.media_count());
    assert_eq!(again.attributes().count(), s.attributes().count());
}

const FIXTURES: &[&str] = &[
    include_str!("fixtures/chromium-offer-audio-video-datachannel.sdp"),
    include_str!("fixtures/firefox-offer-audio-video-datachannel.sdp"),
    include_str!("fixtures/aiortc-answer-audio-video-datachannel.sdp"),
    include_str!("fixtures/ndc-answer-datachannel.sdp"),
];

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn written_model_parses_back(model in session(), crlf in any::<bool>()) {
        let text = model.write(crlf);
        let s = Session::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        prop_assert_eq!(s.origin().session_version, model.version);
        prop_assert_eq!(s.origin().session_id, model.session_id.to_string());
        prop_assert_eq!(s.ice_lite(), model.lite);
        let groups: Vec<_> = s.groups().map(|g| (g.semantics.to_string(), g.mids().map(str::to_string).collect::<Vec<_>>())).collect();
        prop_assert_eq!(groups, model.groups.clone());
        prop_assert_eq!(s.media_count(), model.media.len());
        for (m, mm) in s.media().zip(&model.media) {
            check_media(mm, &model.attrs, &m);
        }
        touch_everything(&s);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
        if let Ok(s) = Session::parse(&text) {
            touch_everything(&s);
        }
    }

    #[test]
    fn sdp_like_lines_never_panic(lines in prop::collection::vec(
        ("[vosctbmaxz]", "[ -~]{0,40}"), 0..40)
    ) {
        let mut text = String::from("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n");
        for (k, v) in lines {
            text.push_str(&format!("{k}={v}\r\n"));
        }
        if let Ok(s) = Session::parse(&text) {
            touch_everything(&s);
        }
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        at in any::<prop::sample::Index>(),
        len in 0usize..40,
        insert in "[ -~\r\n]{0,20}",
    ) {
        let base = FIXTURES[which];
        let start = at.index(base.len());
        let end = (start + len).min(base.len());
        let text = format!("{}{}{}", &base[..start], insert, &base[end..]);
        match Session::parse(&text) {
            Ok(s) => touch_everything(&s),
            Err(e) => prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1)),
        }
    }
}
