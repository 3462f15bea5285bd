//! A command-line SDP peer for interop tests: reads a remote description on stdin and writes
//! ours on stdout, using only this crate (no media or transport is run).
//!
//! ```text
//! sdp_peer answer [--audio] [--video] < offer.sdp  > answer.sdp
//! sdp_peer offer  [--audio] [--video]              > offer.sdp
//! sdp_peer check-answer [--audio] [--video] < answer.sdp  (checks a remote answer to that offer)
//! ```
//!
//! The ICE credentials, fingerprint and candidate are fixed test values: the interop script
//! checks signalling only.

use std::io::Read;
use std::process::ExitCode;

use peerless_sdp::attr::{Direction, Fingerprint, Msid, Setup};
use peerless_sdp::jsep::{self, DataChannel, IceCredentials, Local, TrackKind, Transceiver};
use peerless_sdp::{MediaKind, Session};

const FINGERPRINT: &str = "sha-256 5E:0C:6E:3C:2D:31:17:85:7B:50:F3:A1:8B:06:34:B3:47:D6:4B:0C:7E:06:54:31:B1:77:30:0B:DE:A2:60:C1";

fn fail(msg: &str) -> ExitCode {
    eprintln!("sdp_peer: {msg}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else {
        return fail(
            "usage: sdp_peer offer|answer|check-answer [--audio] [--video] [--no-receive]",
        );
    };
    let want_audio = args.iter().any(|a| a == "--audio");
    let want_video = args.iter().any(|a| a == "--video");
    // As a Peer without transceivers answers: offered media is refused, not received.
    let receive_only = !args.iter().any(|a| a == "--no-receive");

    let Some(fingerprint) = Fingerprint::parse(FINGERPRINT) else {
        return fail("bad built-in fingerprint");
    };
    let fingerprints = [fingerprint];
    let mut audio = Transceiver::new("1", TrackKind::Audio);
    audio.msid = Some(Msid {
        stream: "peerless",
        track: Some("audio0"),
    });
    audio.ssrc = Some(0x1234_5678);
    audio.cname = "peerless-interop";
    let mut video = Transceiver::new("2", TrackKind::Video);
    video.msid = Some(Msid {
        stream: "peerless",
        track: Some("video0"),
    });
    video.ssrc = Some(0x2345_6789);
    video.rtx_ssrc = Some(0x3456_789a);
    video.cname = "peerless-interop";
    let mut transceivers = Vec::new();
    if want_audio {
        transceivers.push(audio);
    }
    if want_video {
        transceivers.push(video);
    }
    let candidates = ["1 1 udp 2130706431 127.0.0.1 40000 typ host"];
    let mut local = Local::new(
        3_141_592_653,
        IceCredentials::new("pEer", "peerlesspeerlesspeerless"),
        &fingerprints,
    );
    local.data_channel = Some(DataChannel::new("0"));
    local.transceivers = &transceivers;
    local.candidates = &candidates;
    local.end_of_candidates = true;
    local.receive_only = receive_only;

    let mut input = String::new();
    let mut buf = vec![0u8; 64 * 1024];
    match mode.as_str() {
        "offer" => match jsep::offer_to_slice(&local, None, &mut buf) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("offer: {e}")),
        },
        "answer" => {
            if std::io::stdin().read_to_string(&mut input).is_err() {
                return fail("stdin");
            }
            let offer = match Session::parse(&input) {
                Ok(s) => s,
                Err(e) => return fail(&format!("their offer: {e}")),
            };
            match jsep::answer_to_slice(&local, &offer, None, &mut buf) {
                Ok(text) => {
                    // Our own answer must parse back before it leaves.
                    if let Err(e) = Session::parse(text) {
                        return fail(&format!("our answer does not parse: {e}"));
                    }
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("answer: {e}")),
            }
        }
        "check-answer" => {
            if std::io::stdin().read_to_string(&mut input).is_err() {
                return fail("stdin");
            }
            let answer = match Session::parse(&input) {
                Ok(s) => s,
                Err(e) => return fail(&format!("their answer: {e}")),
            };
            // The offer this answers: the same flags give the same offer.
            let offer = match jsep::offer_to_slice(&local, None, &mut buf) {
                Ok(text) => text,
                Err(e) => return fail(&format!("offer: {e}")),
            };
            let offer = match Session::parse(offer) {
                Ok(s) => s,
                Err(e) => return fail(&format!("our offer: {e}")),
            };
            if let Err(e) = jsep::check_answer(&offer, &answer) {
                return fail(&format!("answer does not fit our offer: {e}"));
            }
            check_answer(&answer, want_audio, want_video)
        }
        other => fail(&format!("unknown mode {other}")),
    }
}

/// What the Peer needs from a remote answer to our offer.
fn check_answer(answer: &Session<'_>, audio: bool, video: bool) -> ExitCode {
    let mut expected = vec![("0", MediaKind::Application)];
    if audio {
        expected.push(("1", MediaKind::Audio));
    }
    if video {
        expected.push(("2", MediaKind::Video));
    }
    if answer.media_count() != expected.len() {
        return fail(&format!(
            "{} sections, expected {}",
            answer.media_count(),
            expected.len()
        ));
    }
    let Some(bundle) = answer.bundle_group() else {
        return fail("no BUNDLE group");
    };
    for (mid, kind) in expected {
        let Some(m) = answer.media_by_mid(mid) else {
            return fail(&format!("no section with mid {mid}"));
        };
        if m.kind() != kind || m.is_rejected() || !bundle.contains(mid) {
            return fail(&format!(
                "section {mid} rejected, unbundled or of the wrong kind"
            ));
        }
        if m.ice_ufrag().is_none() || m.ice_pwd().is_none() || m.fingerprints().next().is_none() {
            return fail(&format!("section {mid}: no ICE credentials or fingerprint"));
        }
        if !matches!(m.setup(), Some(Setup::Active | Setup::Passive)) {
            return fail(&format!("section {mid}: setup {:?}", m.setup()));
        }
        match kind {
            MediaKind::Application => {
                if m.sctp_port().is_none() {
                    return fail("no sctp-port");
                }
                println!(
                    "data: sctp-port {:?}, max-message-size {:?}",
                    m.sctp_port(),
                    jsep::remote_max_message_size(&m)
                );
            }
            _ => {
                let codecs: Vec<_> = m.codecs().filter_map(|c| c.encoding()).collect();
                if codecs.is_empty() || m.direction() == Direction::SendOnly {
                    return fail(&format!(
                        "section {mid}: codecs {codecs:?}, {:?}",
                        m.direction()
                    ));
                }
                if !m.rtcp_mux() {
                    return fail(&format!("section {mid}: no rtcp-mux"));
                }
                println!("{mid}: {:?} {:?} codecs {codecs:?}", kind, m.direction());
            }
        }
    }
    println!(
        "answer ok: setup {:?}",
        answer.media_at(0).and_then(|m| m.setup())
    );
    ExitCode::SUCCESS
}
