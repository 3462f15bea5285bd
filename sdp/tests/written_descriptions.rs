//! Every description the JSEP writers produce is byte-identical to a known answer: offers,
//! renegotiated offers and answers to every browser fixture (and variants with simulcast and
//! directional header extensions), from locals with data channels, audio and video (SSRCs, RTX,
//! msid, codec preferences, stopped and receive-only sections), IPv4, IPv6 and mDNS candidates,
//! ICE lite, two fingerprints and both DTLS roles.
//!
//! The files in `tests/known/written/` were made by the writers of commit 1e98e4c, which still
//! went through `core::fmt` (`PEERLESS_BLESS=1 cargo test -p peerless-sdp --test
//! written_descriptions` rewrites them): the writers that replaced it must not change a byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::PathBuf;

use peerless_sdp::Session;
use peerless_sdp::attr::{Direction, Fingerprint, Msid, Setup};
use peerless_sdp::jsep::{
    self, CodecCapability, DataChannel, IceCredentials, Local, TrackKind, Transceiver,
};

const FP256: &str = "sha-256 0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9";
const FP1: &str = "sha-1 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67";

const V4: &[&str] = &[
    "1 1 udp 2130706431 127.0.0.1 40000 typ host generation 0",
    "2 1 udp 1694498815 203.0.113.7 50000 typ srflx raddr 0.0.0.0 rport 0",
];
const V6: &[&str] = &[
    "3 1 udp 2130706175 2001:db8::1:0:0:1 40002 typ host",
    "4 1 udp 2130706431 ::ffff:192.0.2.9 40003 typ host",
];
const MDNS_THEN_V4: &[&str] = &[
    "5 1 udp 2130706431 0f6c1b5e-1c39-4a5c-9f5c-2b3c4d5e6f70.local 40004 typ host",
    "1 1 udp 2130706431 127.0.0.1 40000 typ host",
];
const MDNS: &[&str] =
    &["5 1 udp 2130706431 0f6c1b5e-1c39-4a5c-9f5c-2b3c4d5e6f70.local 40004 typ host"];

const H264_ONLY: &[CodecCapability<'static>] = &[
    CodecCapability {
        payload_type: 102,
        name: "H264",
        clock_rate: 90_000,
        channels: None,
        fmtp: Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
        feedback: &["nack", "nack pli"],
    },
    CodecCapability {
        payload_type: 103,
        name: "rtx",
        clock_rate: 90_000,
        channels: None,
        fmtp: Some("apt=102"),
        feedback: &[],
    },
];

fn audio(mid: &'static str) -> Transceiver<'static> {
    Transceiver {
        msid: Some(Msid {
            stream: "stream-a",
            track: Some("track-a"),
        }),
        ssrc: Some(1_111_111_111),
        cname: "c0ffee00c0ffee00",
        ..Transceiver::new(mid, TrackKind::Audio)
    }
}

fn video(mid: &'static str) -> Transceiver<'static> {
    Transceiver {
        msid: Some(Msid {
            stream: "-",
            track: None,
        }),
        ssrc: Some(4_294_967_295),
        rtx_ssrc: Some(7),
        cname: "c0ffee00c0ffee00",
        ..Transceiver::new(mid, TrackKind::Video)
    }
}

/// The locals, by name: each a function of the fingerprints and transceivers it borrows.
struct Case {
    name: &'static str,
    transceivers: Vec<Transceiver<'static>>,
    build: fn(&mut Local<'_>),
}

fn cases() -> Vec<Case> {
    let mut stopped = video("2");
    stopped.stopped = true;
    let recv = Transceiver {
        direction: Direction::RecvOnly,
        ..Transceiver::new("a", TrackKind::Audio)
    };
    let preferring = Transceiver {
        codecs: Some(H264_ONLY),
        direction: Direction::SendOnly,
        ..video("v")
    };
    vec![
        Case {
            name: "dc",
            transceivers: vec![],
            build: |l| {
                l.data_channel = Some(DataChannel::new("0"));
                l.candidates = V4;
            },
        },
        Case {
            name: "dc-v6",
            transceivers: vec![],
            build: |l| {
                l.data_channel = Some(DataChannel {
                    mid: "data",
                    sctp_port: 5001,
                    max_message_size: u64::MAX,
                });
                l.candidates = V6;
                l.end_of_candidates = true;
                l.trickle = false;
            },
        },
        Case {
            name: "dc-mdns-lite",
            transceivers: vec![],
            build: |l| {
                l.data_channel = Some(DataChannel {
                    max_message_size: 0,
                    ..DataChannel::new("0")
                });
                l.candidates = MDNS;
                l.ice_lite = true;
                l.answer_setup = Setup::Passive;
            },
        },
        Case {
            name: "av",
            transceivers: vec![audio("1"), video("2")],
            build: |l| {
                l.data_channel = Some(DataChannel::new("0"));
                l.candidates = MDNS_THEN_V4;
                l.session_id = u64::MAX >> 1;
            },
        },
        Case {
            name: "av-stopped",
            transceivers: vec![audio("1"), stopped],
            build: |l| {
                l.data_channel = Some(DataChannel::new("0"));
                l.candidates = V4;
                l.dtls_role = Some(Setup::Passive);
            },
        },
        Case {
            name: "recvonly-preferences",
            transceivers: vec![recv, preferring],
            build: |l| {
                l.candidates = V6;
                l.answer_setup = Setup::Passive;
            },
        },
        Case {
            name: "nothing",
            transceivers: vec![],
            build: |l| {
                l.receive_only = false;
                l.session_id = 0;
            },
        },
    ]
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

/// The browser offers, and two variants of Chromium's: three simulcast layers on video, and
/// header extensions with directions (answered reversed).
fn offers() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = [
        "chromium-offer-datachannel.sdp",
        "chromium-offer-audio-video-datachannel.sdp",
        "chromium-offer-audio-video-datachannel-max-bundle.sdp",
        "firefox-offer-datachannel.sdp",
        "firefox-offer-audio-video-datachannel.sdp",
        "firefox-offer-audio-video-datachannel-max-bundle.sdp",
    ]
    .iter()
    .map(|n| (n.to_string(), fixture(n)))
    .collect();
    let chromium = fixture("chromium-offer-audio-video-datachannel.sdp");
    out.push((
        "chromium-simulcast".into(),
        chromium.replacen(
            "a=rtpmap:120 ulpfec/90000\r\n",
            "a=rtpmap:120 ulpfec/90000\r\na=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n",
            1,
        ),
    ));
    out.push((
        "chromium-extmap-directions".into(),
        chromium
            .replace(
                "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
                "a=extmap:4/sendonly urn:ietf:params:rtp-hdrext:sdes:mid",
            )
            .replace(
                "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
                "a=extmap:3/recvonly http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01 x",
            ),
    ));
    assert!(out.iter().all(|(_, o)| Session::parse(o).is_ok()));
    out
}

fn offer(local: &Local<'_>, previous: Option<&str>) -> String {
    let previous = previous.map(|p| Session::parse(p).unwrap());
    let mut out = String::new();
    match jsep::create_offer(local, previous.as_ref(), &mut out) {
        Ok(()) => out,
        Err(e) => format!("error: {e:?}\n"),
    }
}

fn answer(local: &Local<'_>, offer: &str, previous: Option<&str>) -> String {
    let offer = Session::parse(offer).unwrap();
    let previous = previous.map(|p| Session::parse(p).unwrap());
    let mut out = String::new();
    match jsep::create_answer(local, &offer, previous.as_ref(), &mut out) {
        Ok(()) => out,
        Err(e) => format!("error: {e:?}\n"),
    }
}

/// All the text one local writes, each piece under a `### <what>` heading.
fn written(case: &Case, fps: &[Fingerprint<'_>]) -> String {
    let mut l = Local::new(
        4242,
        IceCredentials::new("pEer", "peerlesspeerlesspeerless"),
        fps,
    );
    l.transceivers = &case.transceivers;
    (case.build)(&mut l);
    let mut out = String::new();
    let mut put = |what: &str, text: &str| {
        write!(out, "### {what}\n{text}").unwrap();
    };
    let first = offer(&l, None);
    put("offer", &first);
    if !first.starts_with("error") {
        put("offer again, nothing changed", &offer(&l, Some(&first)));
        let mut restarted = l;
        restarted.ice = IceCredentials::new("rEst", "restartrestartrestart00");
        put(
            "offer after an ICE restart",
            &offer(&restarted, Some(&first)),
        );
        // Every transceiver stopped, the data channel gone: sections rejected, then recycled.
        let stopped: Vec<Transceiver<'_>> = case
            .transceivers
            .iter()
            .map(|t| Transceiver {
                stopped: true,
                ..*t
            })
            .collect();
        let mut gone = l;
        gone.transceivers = &stopped;
        gone.data_channel = None;
        let rejected = offer(&gone, Some(&first));
        put("offer with everything stopped", &rejected);
        if !rejected.starts_with("error") {
            let fresh = [audio("9"), video("8")];
            let mut recycled = l;
            recycled.transceivers = &fresh;
            put(
                "offer recycling the rejected sections",
                &offer(&recycled, Some(&rejected)),
            );
        }
        put("answer to our own offer", &answer(&l, &first, None));
    }
    for (name, o) in offers() {
        let a = answer(&l, &o, None);
        put(&format!("answer to {name}"), &a);
        // Renegotiation keeps the session version when nothing changed (once is enough).
        if !a.starts_with("error") && name == "chromium-offer-audio-video-datachannel.sdp" {
            put(
                &format!("answer to {name} again"),
                &answer(&l, &o, Some(&a)),
            );
        }
    }
    out
}

#[test]
fn descriptions_are_byte_identical_to_the_known_answers() {
    let fps = [
        Fingerprint::parse(FP256).unwrap(),
        Fingerprint::parse(FP1).unwrap(),
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/known/written");
    let bless = std::env::var_os("PEERLESS_BLESS").is_some();
    for (i, case) in cases().iter().enumerate() {
        // One fingerprint for most, both for the media locals.
        let fps = if case.name.starts_with("av") {
            &fps[..]
        } else {
            &fps[..1]
        };
        let text = written(case, fps);
        let path = dir.join(format!("{i:02}-{}.txt", case.name));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let known =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if text != known {
            let line = text
                .lines()
                .zip(known.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(text.lines().count().min(known.lines().count()));
            panic!(
                "{}: differs from the known answer at line {}:\n  wrote: {:?}\n  known: {:?}",
                path.display(),
                line + 1,
                text.lines().nth(line),
                known.lines().nth(line)
            );
        }
    }
}
