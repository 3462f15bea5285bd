//! Record and handshake-fragment views over arbitrary datagrams never panic, and every
//! record they accept lies inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_dtls::wire::{HandshakeFragment, Record};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(r) = Record::parse(rest) {
        assert!(r.len() <= rest.len());
        let mut body = r.fragment();
        while let Ok(f) = HandshakeFragment::parse(body) {
            assert!(f.fragment_offset() as u64 + f.body().len() as u64 <= u64::from(f.length()));
            body = &body[f.wire_len()..];
        }
        rest = &rest[r.len()..];
    }
});
