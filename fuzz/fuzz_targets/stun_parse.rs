//! STUN and ChannelData parsing: any bytes, every getter and checksum, no panic; whatever
//! parses re-emits (through the builder) into something that parses to the same attributes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_stun::{Attribute, Builder, ChannelData, Message};

fuzz_target!(|input: &[u8]| {
    let _ = ChannelData::parse(input);
    // Half the inputs get a valid header (top bits, length, magic cookie) so the fuzzer spends
    // its time in the attribute walk instead of rediscovering the cookie.
    let mut fixed;
    let data = match input.split_first() {
        Some((flag, rest)) if flag & 1 == 1 && rest.len() >= 20 => {
            fixed = rest.to_vec();
            fixed[0] &= 0x3f;
            let len = ((fixed.len() - 20) & !3).min(0xfffc);
            fixed.truncate(20 + len);
            fixed[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            fixed[4..8].copy_from_slice(&0x2112_a442u32.to_be_bytes());
            &fixed[..]
        }
        _ => input,
    };
    let _ = Message::parse(input);
    let Ok(msg) = Message::parse(data) else {
        return;
    };
    let _ = (
        msg.username(),
        msg.realm(),
        msg.nonce(),
        msg.software(),
        msg.error_code(),
    );
    let _ = (
        msg.xor_mapped_address(),
        msg.mapped_address(),
        msg.priority(),
        msg.use_candidate(),
    );
    let _ = (
        msg.ice_controlled(),
        msg.ice_controlling(),
        msg.lifetime(),
        msg.channel_number(),
    );
    let _ = (
        msg.xor_relayed_address(),
        msg.xor_peer_addresses().count(),
        msg.data(),
    );
    let _ = msg.unknown_attributes().map(|l| l.iter().count());
    let _ = (
        msg.verify_integrity(b"key"),
        msg.verify_integrity_sha256(b"key"),
        msg.check_fingerprint(),
    );
    let _ = msg.unknown_required().count();
    // Round trip of the attributes that decode (integrity and fingerprint excluded).
    let attrs: Vec<Attribute<'_>> = msg
        .attributes()
        .filter_map(Result::ok)
        .filter(|a| {
            !matches!(
                a,
                Attribute::MessageIntegrity(_)
                    | Attribute::MessageIntegritySha256(_)
                    | Attribute::Fingerprint(_)
            )
        })
        .take(64)
        .collect();
    let mut b = Builder::<'_, 64>::new(msg.class(), msg.method(), msg.transaction_id());
    for a in &attrs {
        b = b.attr(*a);
    }
    let mut buf = vec![0u8; 70_000];
    if let Ok(n) = b.emit(&mut buf) {
        let again = Message::parse(&buf[..n]).expect("emitted messages parse");
        let back: Vec<_> = again
            .attributes()
            .collect::<Result<_, _>>()
            .expect("emitted attributes decode");
        assert_eq!(back, attrs);
    }
});
