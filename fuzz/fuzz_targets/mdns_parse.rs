//! mDNS message parsing: any bytes, every question and record, name comparison and decoding,
//! and the querier and responder fed the same bytes: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_base::Instant;
use peerless_mdns::{Message, Querier, QuerierConfig, Responder};

fuzz_target!(|input: &[u8]| {
    if let Ok(m) = Message::parse(input) {
        let mut text = [0u8; 255];
        for q in m.questions() {
            let _ = (q.name.eq_str("a.local"), q.name.write_dotted(&mut text));
        }
        for r in m.records() {
            let _ = (r.address(), r.name.eq_str("a.local"), r.name.write_dotted(&mut text));
        }
    }
    let local = "127.0.0.1:5353".parse().expect("address");
    let mut q = Querier::<2>::new(QuerierConfig::default(), Instant::ZERO);
    let _ = q.add_socket(local);
    let _ = q.query(Instant::ZERO, "a.local");
    q.handle_packet(Instant::ZERO, local, input);
    let _ = q.poll_event();
    let mut r = Responder::<1>::new(Instant::ZERO);
    let _ = r.add_socket(local);
    let _ = r.publish("a.local", "127.0.0.1".parse().expect("address"));
    r.handle_packet(Instant::ZERO, "127.0.0.2:5353".parse().expect("address"), local, input);
    let mut buf = [0u8; 512];
    while let Ok(Some(_)) = r.poll_transmit(&mut buf) {}
});
