//! Every handshake message view (and the X.509 reader) over arbitrary bytes never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_dtls::wire::*;

fuzz_target!(|data: &[u8]| {
    if let Ok(ch) = ClientHello::parse(data) {
        let _ = ch.cipher_suites().count();
        for (ty, body) in ch.extensions() {
            match ty {
                ExtensionType::USE_SRTP => {
                    let _ = UseSrtp::parse(body).map(|u| u.profiles().count());
                }
                ExtensionType::SUPPORTED_GROUPS | ExtensionType::SIGNATURE_ALGORITHMS => {
                    let _ = parse_u16_vector(body).map(|l| l.count());
                }
                _ => {}
            }
        }
    }
    if let Ok(sh) = ServerHello::parse(data) {
        let _ = sh.extensions().count();
    }
    let _ = HelloVerifyRequest::parse(data);
    let _ = ServerKeyExchange::parse(data);
    let _ = CertificateRequest::parse(data).map(|c| c.schemes().count());
    let _ = CertificateVerify::parse(data);
    let _ = parse_client_key_exchange(data);
    let _ = Alert::parse(data);
    if let Ok(Some(cert)) = parse_certificate_list(data) {
        let _ = peerless_dtls::certificate_public_key(cert);
    }
    let _ = peerless_dtls::certificate_public_key(data);
});
