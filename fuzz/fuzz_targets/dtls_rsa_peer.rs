//! A peer with an RSA certificate, under arbitrary input: its Certificate, its
//! ServerKeyExchange or CertificateVerify signature and scheme come from the fuzzer, around
//! the OpenSSL-made certificates of dtls/tests/data/rsa (so every run reaches the RSA
//! arithmetic), or a certificate the fuzzer writes itself. Never a panic, and the work per
//! input stays bounded (the key size is checked before any arithmetic).
//!
//! ```text
//!  byte 0: bit 0 our role (0 server, 1 client); bits 1..3 the certificate (2048, 3072, 4096,
//!          1024, 4104 bits, or fuzzer-written); bits 4..5 the suite (client); bit 6: the
//!          signature is stretched to the key's length (so the arithmetic runs)
//!  then:   [u16 cert length + cert] if fuzzer-written, u16 scheme, u8 edit offset, u8 edit
//!          xor (one byte of the certificate changed), the signature (the rest, <= 1024)
//!  server: our ClientHello -> server; Certificate ClientKeyExchange CertificateVerify -> server
//!  client: ServerHello Certificate ServerKeyExchange -> our client
//! ```
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use peerless_base::{Drbg, Instant, Writer};
use peerless_dtls::wire::{
    ContentType, HandshakeType, ProtocolVersion, emit_handshake_header, emit_record_header,
};
use peerless_dtls::{
    CipherSuite, Certificate, Config, Endpoint, Fingerprint, HashAlgorithm, Role, Validity,
};

const CERTS: [&[u8]; 5] = [
    include_bytes!("../../dtls/tests/data/rsa/rsa2048-e65537.cert.der"),
    include_bytes!("../../dtls/tests/data/rsa/rsa3072-e65537.cert.der"),
    include_bytes!("../../dtls/tests/data/rsa/rsa4096-e65537.cert.der"),
    include_bytes!("../../dtls/tests/data/rsa/rsa1024-e65537.cert.der"),
    include_bytes!("../../dtls/tests/data/rsa/rsa4104-e65537.cert.der"),
];
const SUITES: [CipherSuite; 4] = [
    CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256,
    CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384,
    CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256,
    CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256,
];

fn ours() -> &'static Certificate {
    static CERT: OnceLock<Certificate> = OnceLock::new();
    CERT.get_or_init(|| {
        let mut rng = Drbg::from_seed(&[1; 32], b"fuzz-rsa");
        Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 1)).unwrap()
    })
}

fn record(ty: HandshakeType, seq: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 13 + 12 + body.len()];
    let mut w = Writer::new(&mut out);
    emit_record_header(&mut w, ContentType::HANDSHAKE, ProtocolVersion::DTLS_1_2, 0, u64::from(seq), 12 + body.len());
    emit_handshake_header(&mut w, ty, body.len(), seq, 0, body.len());
    w.bytes(body);
    let _ = w.finish();
    out
}

fn certificate_body(der: &[u8]) -> Vec<u8> {
    let n = der.len() as u32;
    let mut v = (n + 3).to_be_bytes()[1..].to_vec();
    v.extend_from_slice(&n.to_be_bytes()[1..]);
    v.extend_from_slice(der);
    v
}

fn drain(ep: &mut Endpoint) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    while let Ok(Some(t)) = ep.poll_transmit(&mut buf) {
        out.push(t.to_vec());
    }
    while ep.poll_event().is_some() {}
    out
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = data.split_at(n.min(data.len()));
    *data = tail;
    head
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let Some(&mode) = take(&mut data, 1).first() else { return };
    let pick = usize::from(mode >> 1) & 7;
    let mut der = if pick < CERTS.len() {
        CERTS[pick].to_vec()
    } else {
        let len = take(&mut data, 2);
        let len = usize::from(u16::from_be_bytes([*len.first().unwrap_or(&0), *len.get(1).unwrap_or(&0)]));
        take(&mut data, len.min(2048)).to_vec()
    };
    let head = take(&mut data, 4);
    let [s0, s1, at, xor] = [0, 1, 2, 3].map(|i| head.get(i).copied().unwrap_or(0));
    if !der.is_empty() {
        let i = usize::from(at) * 7 % der.len();
        der[i] ^= xor;
    }
    let mut signed = vec![s0, s1];
    let mut sig = data[..data.len().min(1024)].to_vec();
    if mode & 0x40 != 0 && pick < CERTS.len() {
        // Exactly the key's length, so the modular arithmetic runs (a shorter signature is
        // refused before it): the fuzzer's bytes repeated.
        let len = [256, 384, 512, 128, 513][pick];
        let seed = if sig.is_empty() { vec![0x5a] } else { sig.clone() };
        sig = seed.iter().copied().cycle().take(len).collect();
    }
    signed.extend_from_slice(&(sig.len() as u16).to_be_bytes());
    signed.extend_from_slice(&sig);
    let fingerprint = Fingerprint::of(&der, HashAlgorithm::Sha256);
    let now = Instant::ZERO;

    if mode & 1 == 0 {
        // Our server, a real ClientHello of ours, then the RSA client's flight 5.
        let mut client: Endpoint = Endpoint::new(Config::new(Role::Client, ours().clone(), [3; 32]), now);
        client.connect(now);
        let mut server: Endpoint = Endpoint::new(Config::new(Role::Server, ours().clone(), [2; 32]), now);
        server.set_remote_fingerprint(fingerprint);
        for mut d in drain(&mut client) {
            server.handle_packet(now, &mut d);
        }
        drain(&mut server);
        let mut cke = vec![32, 9];
        cke.extend_from_slice(&[0; 31]);
        for (i, (ty, body)) in [
            (HandshakeType::CERTIFICATE, certificate_body(&der)),
            (HandshakeType::CLIENT_KEY_EXCHANGE, cke),
            (HandshakeType::CERTIFICATE_VERIFY, signed),
        ]
        .into_iter()
        .enumerate()
        {
            server.handle_packet(now, &mut record(ty, 1 + i as u16, &body));
        }
        drain(&mut server);
    } else {
        // Our client, and an RSA server's flight 4.
        let mut client: Endpoint = Endpoint::new(Config::new(Role::Client, ours().clone(), [3; 32]), now);
        client.connect(now);
        client.set_remote_fingerprint(fingerprint);
        drain(&mut client);
        let suite = SUITES[usize::from(mode >> 4) & 3];
        let mut sh = vec![0xfe, 0xfd];
        sh.extend_from_slice(&[7; 32]);
        sh.push(0);
        sh.extend_from_slice(&suite.0.to_be_bytes());
        sh.push(0);
        sh.extend_from_slice(&[0, 4, 0, 23, 0, 0]);
        let mut ske = vec![3, 0, 29, 32, 9];
        ske.extend_from_slice(&[0; 31]);
        ske.extend_from_slice(&signed);
        for (i, (ty, body)) in [
            (HandshakeType::SERVER_HELLO, sh),
            (HandshakeType::CERTIFICATE, certificate_body(&der)),
            (HandshakeType::SERVER_KEY_EXCHANGE, ske),
        ]
        .into_iter()
        .enumerate()
        {
            client.handle_packet(now, &mut record(ty, i as u16, &body));
        }
        drain(&mut client);
    }
});
