//! SRTP/SRTCP unprotect: any bytes, for every profile, return an error (a forgery never
//! authenticates) without panicking; a packet the fuzzer's bytes describe, protected by the
//! sender, always comes back intact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_srtp::{Config, Context, Profile};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let profile = Profile::ALL[usize::from(selector) % 4];
    let key = [0x42u8; 32];
    let salt = [0x24u8; 14];
    let key = &key[..profile.master_key_len()];
    let salt = &salt[..profile.master_salt_len()];
    let mut rx: Context = Context::new(profile, key, salt, Config::default()).unwrap();

    let mut buf = bytes.to_vec();
    assert!(rx.unprotect_rtp(&mut buf).is_err());
    let mut buf = bytes.to_vec();
    assert!(rx.unprotect_rtcp(&mut buf).is_err());

    // Round trip whatever protect accepts.
    let mut tx: Context = Context::new(profile, key, salt, Config::default()).unwrap();
    let mut buf = bytes.to_vec();
    buf.resize(bytes.len() + 32, 0);
    let rtcp = selector & 0x80 != 0;
    let protected = if rtcp { tx.protect_rtcp(&mut buf, bytes.len()) } else { tx.protect_rtp(&mut buf, bytes.len()) };
    if let Ok(n) = protected {
        let back = if rtcp { rx.unprotect_rtcp(&mut buf[..n]) } else { rx.unprotect_rtp(&mut buf[..n]) };
        assert_eq!(back, Ok(bytes.len()));
        assert_eq!(&buf[..bytes.len()], bytes);
    }
});
