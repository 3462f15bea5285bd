//! Typed header extensions: any packet either fails to parse or its elements read through a
//! map (ids from the first byte) without panicking, and every value that reads writes back
//! through an ExtensionWriter and a Header to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_rtp::extension::{ExtensionKind, ExtensionMap, ExtensionWriter, Mid};
use peerless_rtp::packet::{Header, Packet};

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    let mut map = ExtensionMap::new();
    for (i, kind) in ExtensionKind::ALL.into_iter().enumerate() {
        let _ = map.insert(first.wrapping_add(i as u8).max(1), kind);
    }
    let Ok(packet) = Packet::parse(bytes) else { return };
    let values = map.values(&packet);
    let _ = map.read::<Mid<'_>>(&packet);

    let mut w = ExtensionWriter::<9, 1024>::new(&map);
    if let Some(x) = values.mid { w.put(&x).unwrap(); }
    if let Some(x) = values.rid { w.put(&x).unwrap(); }
    if let Some(x) = values.repaired_rid { w.put(&x).unwrap(); }
    if let Some(x) = values.abs_send_time { w.put(&x).unwrap(); }
    if let Some(x) = values.transport_sequence_number { w.put(&x).unwrap(); }
    if let Some(x) = values.audio_level { w.put(&x).unwrap(); }
    if let Some(x) = values.video_orientation { w.put(&x).unwrap(); }
    if let Some(x) = values.playout_delay { w.put(&x).unwrap(); }
    if let Some(x) = values.abs_capture_time { w.put(&x).unwrap(); }
    let elements = w.elements();
    let header = Header { extensions: elements.as_slice(), ..Header::default() };
    let mut buf = [0u8; 2048];
    let n = header.emit(&[], &mut buf).unwrap();
    let again = map.values(&Packet::parse(&buf[..n]).unwrap());
    assert_eq!(again.malformed, 0);
    assert_eq!((again.mid, again.rid, again.repaired_rid), (values.mid, values.rid, values.repaired_rid));
    assert_eq!(again.abs_send_time, values.abs_send_time);
    assert_eq!(again.transport_sequence_number, values.transport_sequence_number);
    assert_eq!(again.audio_level, values.audio_level);
    assert_eq!(again.video_orientation, values.video_orientation);
    assert_eq!(again.playout_delay, values.playout_delay);
    assert_eq!(again.abs_capture_time, values.abs_capture_time);
});
