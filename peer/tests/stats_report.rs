//! The getStats report between two connected Peers: member names as the W3C webrtc-stats
//! dictionaries spell them, ids that cross-reference, JSON that parses and says the same as the
//! typed entries, and values equal to the Peer's counters after known traffic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{Ev, Pair, certs, peer};
use peerless::{ChannelInit, Peer, StatsEntry, StatsValue};
use serde_json::Value;

// The dictionaries' members, from "Identifiers for WebRTC's Statistics API"
// (https://www.w3.org/TR/webrtc-stats/), as the editor's draft at w3c/webrtc-stats 39fe2f9
// (2025-09-25) declares them in WebIDL.

/// §"RTCStats dictionary" (#dom-rtcstats): every entry.
const RTC_STATS: &[&str] = &["timestamp", "type", "id"];
/// #pcstats-dict*: RTCPeerConnectionStats.
const PEER_CONNECTION: &[&str] = &["dataChannelsOpened", "dataChannelsClosed"];
/// #transportstats-dict*: RTCTransportStats.
const TRANSPORT: &[&str] = &[
    "packetsSent",
    "packetsReceived",
    "bytesSent",
    "bytesReceived",
    "iceRole",
    "iceLocalUsernameFragment",
    "dtlsState",
    "iceState",
    "selectedCandidatePairId",
    "localCertificateId",
    "remoteCertificateId",
    "tlsVersion",
    "dtlsCipher",
    "dtlsRole",
    "srtpCipher",
    "selectedCandidatePairChanges",
    "ccfbMessagesSent",
    "ccfbMessagesReceived",
];
/// #candidatepair-dict*: RTCIceCandidatePairStats.
const CANDIDATE_PAIR: &[&str] = &[
    "transportId",
    "localCandidateId",
    "remoteCandidateId",
    "state",
    "nominated",
    "packetsSent",
    "packetsReceived",
    "bytesSent",
    "bytesReceived",
    "lastPacketSentTimestamp",
    "lastPacketReceivedTimestamp",
    "totalRoundTripTime",
    "currentRoundTripTime",
    "availableOutgoingBitrate",
    "availableIncomingBitrate",
    "requestsReceived",
    "requestsSent",
    "responsesReceived",
    "responsesSent",
    "consentRequestsSent",
    "packetsDiscardedOnSend",
    "bytesDiscardedOnSend",
];
/// #icecandidate-dict*: RTCIceCandidateStats (local-candidate and remote-candidate).
const CANDIDATE: &[&str] = &[
    "transportId",
    "address",
    "port",
    "protocol",
    "candidateType",
    "priority",
    "url",
    "relayProtocol",
    "foundation",
    "relatedAddress",
    "relatedPort",
    "usernameFragment",
    "tcpType",
];
/// #certificatestats-dict*: RTCCertificateStats.
const CERTIFICATE: &[&str] = &[
    "fingerprint",
    "fingerprintAlgorithm",
    "base64Certificate",
    "issuerCertificateId",
];
/// #dcstats-dict*: RTCDataChannelStats.
const DATA_CHANNEL: &[&str] = &[
    "label",
    "protocol",
    "dataChannelIdentifier",
    "state",
    "messagesSent",
    "bytesSent",
    "messagesReceived",
    "bytesReceived",
];

/// A type's dictionary, and the members we must emit once connected (the spec's `required`
/// ones among them, except the peer's `base64Certificate`: see `CertificateStats`).
fn dictionary(kind: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        "peer-connection" => (PEER_CONNECTION, PEER_CONNECTION),
        "transport" => (
            TRANSPORT,
            &[
                "packetsSent",
                "packetsReceived",
                "bytesSent",
                "bytesReceived",
                "iceRole",
                "iceLocalUsernameFragment",
                "dtlsState",
                "iceState",
                "selectedCandidatePairId",
                "localCertificateId",
                "remoteCertificateId",
                "tlsVersion",
                "dtlsCipher",
                "dtlsRole",
                "srtpCipher",
                "selectedCandidatePairChanges",
            ],
        ),
        "candidate-pair" => (
            CANDIDATE_PAIR,
            &[
                "transportId",
                "localCandidateId",
                "remoteCandidateId",
                "state",
                "nominated",
                "totalRoundTripTime",
                "requestsSent",
                "responsesReceived",
                "consentRequestsSent",
                "requestsReceived",
                "responsesSent",
            ],
        ),
        "local-candidate" | "remote-candidate" => (
            CANDIDATE,
            &[
                "transportId",
                "address",
                "port",
                "protocol",
                "candidateType",
                "priority",
                "foundation",
                "usernameFragment",
            ],
        ),
        "certificate" => (CERTIFICATE, &["fingerprint", "fingerprintAlgorithm"]),
        "data-channel" => (DATA_CHANNEL, DATA_CHANNEL),
        other => panic!("an entry type the test does not know: {other}"),
    }
}

/// Two connected Peers; A opened `label`, sent "hello" and three binary bytes, B got them.
fn connected(label: &str) -> Pair {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    let ch = pair
        .a
        .create_data_channel(
            label,
            ChannelInit {
                protocol: "chat/1",
                ..Default::default()
            },
        )
        .unwrap();
    pair.signal();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    pair.a.send_text(ch, "hello").unwrap();
    pair.a
        .send(ch, peerless::MessageKind::Binary, &[1, 2, 3])
        .unwrap();
    let got = |p: &mut Pair| {
        p.events_b
            .iter()
            .filter(|e| matches!(e, Ev::Message { .. }))
            .count()
            == 2
    };
    assert!(pair.run_until(Duration::from_secs(5), got));
    // Let the acknowledgements and anything else in flight settle.
    pair.shuttle();
    pair
}

fn json(p: &Peer) -> Vec<Value> {
    let mut s = String::new();
    p.write_stats_json(&mut s).unwrap();
    match serde_json::from_str(&s) {
        Ok(Value::Array(entries)) => entries,
        other => panic!("not a JSON array: {other:?}\n{s}"),
    }
}

/// A typed entry: its type, its id and its members.
type Typed = (String, String, Vec<(String, Value)>);

/// The typed entries, in report order.
fn typed(p: &Peer) -> Vec<Typed> {
    let mut out = Vec::new();
    p.stats_report(|e: StatsEntry<'_>| {
        let mut members = Vec::new();
        e.members(&mut |name, v| {
            let v = match v {
                StatsValue::Str(s) => Value::from(s.to_string()),
                StatsValue::Uint(n) => Value::from(n),
                StatsValue::Float(x) => Value::from(x),
                StatsValue::Bool(b) => Value::from(b),
                _ => panic!("a value kind the test does not know"),
            };
            members.push((name.to_string(), v));
            Ok(())
        })
        .unwrap();
        out.push((e.type_name().to_string(), e.id().to_string(), members));
    });
    out
}

fn by_id(entries: &[Value]) -> HashMap<String, &Value> {
    let map: HashMap<_, _> = entries
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_string(), e))
        .collect();
    assert_eq!(map.len(), entries.len(), "ids are unique");
    map
}

fn of_type<'v>(entries: &'v [Value], kind: &str) -> Vec<&'v Value> {
    entries.iter().filter(|e| e["type"] == kind).collect()
}

fn one<'v>(entries: &'v [Value], kind: &str) -> &'v Value {
    let all = of_type(entries, kind);
    assert_eq!(all.len(), 1, "one {kind}");
    all[0]
}

#[test]
fn member_names_are_the_spec_dictionaries() {
    let pair = connected("chat");
    for p in [&pair.a, &pair.b] {
        let entries = json(p);
        let mut kinds = HashSet::new();
        for e in &entries {
            let obj = e.as_object().unwrap();
            let kind = obj["type"].as_str().unwrap();
            kinds.insert(kind.to_string());
            let (members, must) = dictionary(kind);
            for name in obj.keys() {
                assert!(
                    RTC_STATS.contains(&name.as_str()) || members.contains(&name.as_str()),
                    "{kind} has `{name}`, which is no member of its dictionary"
                );
            }
            for name in RTC_STATS.iter().chain(must) {
                let optional = kind == "certificate" && *name == "base64Certificate";
                assert!(
                    optional || obj.contains_key(*name),
                    "{kind} lacks `{name}`: {e}"
                );
            }
        }
        for kind in [
            "peer-connection",
            "transport",
            "candidate-pair",
            "local-candidate",
            "remote-candidate",
            "certificate",
            "data-channel",
        ] {
            assert!(kinds.contains(kind), "no {kind} entry");
        }
        // The selected pair carries what only it has.
        let transport = one(&entries, "transport");
        let ids = by_id(&entries);
        let selected = ids[transport["selectedCandidatePairId"].as_str().unwrap()];
        for name in [
            "packetsSent",
            "packetsReceived",
            "bytesSent",
            "bytesReceived",
        ] {
            assert!(selected.get(name).is_some(), "selected pair lacks {name}");
        }
        // The selected pair's checks were answered (currentRoundTripTime needs one answered
        // without a retransmission: A's has one, see `values_are_the_peers_counters`).
        assert!(
            selected["responsesReceived"].as_u64() >= Some(1),
            "{selected}"
        );
        // Our certificate carries its DER.
        let ours = ids[transport["localCertificateId"].as_str().unwrap()];
        assert!(ours.get("base64Certificate").is_some());
    }
}

#[test]
fn ids_cross_reference() {
    let pair = connected("chat");
    for p in [&pair.a, &pair.b] {
        let entries = json(p);
        let ids = by_id(&entries);
        let kind_of = |id: &Value| ids[id.as_str().unwrap()]["type"].as_str().unwrap();
        let transport = one(&entries, "transport");
        let selected = transport["selectedCandidatePairId"].clone();
        assert_eq!(kind_of(&selected), "candidate-pair");
        assert_eq!(kind_of(&transport["localCertificateId"]), "certificate");
        assert_eq!(kind_of(&transport["remoteCertificateId"]), "certificate");
        assert_ne!(
            transport["localCertificateId"],
            transport["remoteCertificateId"]
        );
        let pairs = of_type(&entries, "candidate-pair");
        assert!(!pairs.is_empty());
        for cp in &pairs {
            assert_eq!(cp["transportId"], transport["id"]);
            assert_eq!(kind_of(&cp["localCandidateId"]), "local-candidate");
            assert_eq!(kind_of(&cp["remoteCandidateId"]), "remote-candidate");
        }
        for kind in ["local-candidate", "remote-candidate"] {
            for c in of_type(&entries, kind) {
                assert_eq!(c["transportId"], transport["id"]);
            }
        }
        // The selected pair's candidates are the addresses the Peer says it uses.
        let (local, remote) = p.selected_pair().unwrap();
        let cp = ids[selected.as_str().unwrap()];
        let addr = |c: &Value| format!("{}:{}", c["address"].as_str().unwrap(), c["port"]);
        assert_eq!(
            addr(ids[cp["localCandidateId"].as_str().unwrap()]),
            local.to_string()
        );
        assert_eq!(
            addr(ids[cp["remoteCandidateId"].as_str().unwrap()]),
            remote.to_string()
        );
        assert_eq!(cp["state"], "succeeded");
        assert_eq!(cp["nominated"], true);
    }
    // Each side's remote certificate is the other's local one.
    let (a, b) = (json(&pair.a), json(&pair.b));
    let cert = |entries: &[Value], which: &str| {
        let t = one(entries, "transport");
        by_id(entries)[t[which].as_str().unwrap()]["fingerprint"].clone()
    };
    assert_eq!(
        cert(&a, "remoteCertificateId"),
        cert(&b, "localCertificateId")
    );
    assert_eq!(
        cert(&b, "remoteCertificateId"),
        cert(&a, "localCertificateId")
    );
    let fp = pair.a.local_fingerprint();
    assert_eq!(
        format!(
            "sha-256 {}",
            cert(&a, "localCertificateId").as_str().unwrap()
        ),
        fp
    );
}

#[test]
fn json_says_what_the_typed_entries_say_and_escapes_strings() {
    // A label with a quote, a backslash and control characters: B learns it from A over DCEP.
    let label = "a \"quoted\"\\ label\n\u{1}\u{7f}";
    let pair = connected(label);
    for p in [&pair.a, &pair.b] {
        let entries = json(p);
        let typed = typed(p);
        assert_eq!(entries.len(), typed.len());
        for (e, (kind, id, members)) in entries.iter().zip(&typed) {
            assert_eq!(e["type"], kind.as_str());
            assert_eq!(e["id"], id.as_str());
            let obj = e.as_object().unwrap();
            assert_eq!(obj.len(), members.len(), "{e}");
            for (name, value) in members {
                // JSON has one number type: `0.0` may come back as the integer 0.
                if value.is_f64() {
                    assert_eq!(obj[name].as_f64(), value.as_f64(), "{kind} {name}");
                } else {
                    assert_eq!(&obj[name], value, "{kind} {name}");
                }
            }
        }
        let dc = one(&entries, "data-channel");
        assert_eq!(dc["label"], label);
        assert_eq!(dc["protocol"], "chat/1");
    }
}

/// Decodes padded base64 (RFC 4648 §4).
fn unbase64(s: &str) -> Vec<u8> {
    let digit = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let n = chunk.iter().filter(|&&c| c != b'=').count();
        let mut v = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let d = if c == b'=' { 0 } else { digit(c) };
            v |= u32::from(d) << (18 - 6 * i);
        }
        out.extend_from_slice(&v.to_be_bytes()[1..n]);
    }
    out
}

#[test]
fn values_are_the_peers_counters() {
    let pair = connected("chat");
    let (a, b) = (json(&pair.a), json(&pair.b));
    let ms = pair.now.as_micros() as f64 / 1000.0;
    for (p, entries) in [(&pair.a, &a), (&pair.b, &b)] {
        let s = p.stats();
        for e in entries.iter() {
            assert_eq!(e["timestamp"].as_f64(), Some(ms));
        }
        let pc = one(entries, "peer-connection");
        assert_eq!(pc["dataChannelsOpened"], s.channels_opened);
        assert_eq!(pc["dataChannelsOpened"], 1);
        assert_eq!(pc["dataChannelsClosed"], 0);
        let t = one(entries, "transport");
        assert_eq!(t["packetsSent"], s.packets_sent);
        assert_eq!(t["packetsReceived"], s.packets_received);
        assert_eq!(t["bytesSent"], s.bytes_sent);
        assert_eq!(t["bytesReceived"], s.bytes_received);
        assert_eq!(t["dtlsState"], "connected");
        assert_eq!(t["iceState"], p.ice_state().as_str());
        assert_eq!(t["tlsVersion"], "FEFD");
        assert_eq!(t["dtlsCipher"], "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(t["srtpCipher"], s.srtp_profile.unwrap().name());
        assert_eq!(t["selectedCandidatePairChanges"], 1);
        let dc = one(entries, "data-channel");
        let ch = peerless::ChannelId(dc["id"].as_str().unwrap()[1..].parse().unwrap());
        let cs = p.channel_stats(ch).unwrap();
        assert_eq!(dc["messagesSent"], cs.messages_sent);
        assert_eq!(dc["bytesSent"], cs.bytes_sent);
        assert_eq!(dc["messagesReceived"], cs.messages_received);
        assert_eq!(dc["bytesReceived"], cs.bytes_received);
        assert_eq!(dc["dataChannelIdentifier"], p.stream_id(ch).unwrap());
        assert_eq!(dc["state"], "open");
        assert_eq!(dc["label"], "chat");
        // Our certificate's DER, base64 in the report, hashes to our fingerprint.
        let ours = by_id(entries)[t["localCertificateId"].as_str().unwrap()];
        let der = unbase64(ours["base64Certificate"].as_str().unwrap());
        let fp = peerless_dtls::Fingerprint::of(&der, peerless_dtls::HashAlgorithm::Sha256);
        assert_eq!(format!("{fp}"), p.local_fingerprint());
        assert_eq!(ours["fingerprintAlgorithm"], "sha-256");
    }
    // What A sent, B received: the messages, and (a perfect link) every non-STUN datagram.
    let (dca, dcb) = (one(&a, "data-channel"), one(&b, "data-channel"));
    assert_eq!(dca["messagesSent"], 2);
    assert_eq!(dca["bytesSent"], 8);
    assert_eq!(dcb["messagesReceived"], 2);
    assert_eq!(dcb["bytesReceived"], 8);
    let selected = |entries: &[Value]| {
        let t = one(entries, "transport");
        by_id(entries)[t["selectedCandidatePairId"].as_str().unwrap()].clone()
    };
    let (sa, sb) = (selected(&a), selected(&b));
    assert!(sa["packetsSent"].as_u64().unwrap() > 0);
    assert!(sa["packetsSent"].as_u64() < one(&a, "transport")["packetsSent"].as_u64());
    assert_eq!(sa["packetsSent"], sb["packetsReceived"]);
    assert_eq!(sa["bytesSent"], sb["bytesReceived"]);
    assert_eq!(sb["packetsSent"], sa["packetsReceived"]);
    assert_eq!(sb["bytesSent"], sa["bytesReceived"]);
    let rtt = pair.a.stats().stun_rtt.unwrap().as_secs_f64();
    assert_eq!(sa["currentRoundTripTime"].as_f64(), Some(rtt));
    // Every pair's requests: A's checks are B's requests, B answered each (a perfect link), and
    // the ICE agent counted each check once.
    let sum = |entries: &[Value], name: &str| -> u64 {
        of_type(entries, "candidate-pair")
            .iter()
            .map(|cp| cp[name].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        sum(&a, "requestsSent"),
        pair.a.stats().ice.checks_sent + sum(&a, "consentRequestsSent")
    );
    assert_eq!(sum(&a, "responsesReceived"), sum(&a, "requestsSent"));
    // A's requests are what B received and answered, pair for pair (a perfect link).
    assert_eq!(sum(&a, "requestsSent"), sum(&b, "requestsReceived"));
    assert_eq!(sum(&b, "requestsSent"), sum(&a, "requestsReceived"));
    assert_eq!(sum(&b, "responsesSent"), sum(&b, "requestsReceived"));
    assert_eq!(sa["requestsSent"], sb["requestsReceived"]);
    assert!(sa["totalRoundTripTime"].as_f64() >= Some(rtt));
    // Roles are each other's mirror.
    let (ta, tb) = (one(&a, "transport"), one(&b, "transport"));
    assert_eq!(ta["iceRole"], "controlling");
    assert_eq!(tb["iceRole"], "controlled");
    let mut roles = [
        ta["dtlsRole"].as_str().unwrap(),
        tb["dtlsRole"].as_str().unwrap(),
    ];
    roles.sort_unstable();
    assert_eq!(roles, ["client", "server"]);
}

#[test]
fn a_new_peer_reports_what_it_has_and_a_full_writer_fails_cleanly() {
    let (ca, _) = certs();
    let p = peer(ca, 1);
    let entries = json(&p);
    let kinds: Vec<_> = entries
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["peer-connection", "transport", "certificate"]);
    let t = &entries[1];
    assert_eq!(t["dtlsState"], "new");
    assert_eq!(t["dtlsRole"], "unknown");
    for absent in [
        "selectedCandidatePairId",
        "remoteCertificateId",
        "dtlsCipher",
    ] {
        assert!(t.get(absent).is_none(), "{absent} before it exists");
    }
    // A writer that fills up: the error comes back, nothing panics.
    let mut small = peerless::Text::<64>::new();
    assert!(p.write_stats_json(&mut small).is_err());
}
