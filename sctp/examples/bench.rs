//! SCTP throughput: two associations in memory, one reliable ordered channel, messages of a
//! given size pushed through as fast as the CPU allows. Prints MB of user data per CPU-second
//! for the pair (both ends' work counted, one thread), with zero checksum (what two peerless
//! ends use over DTLS, RFC 9653) and with CRC32c (what a peer without RFC 9653 gets), and the
//! floor for comparison: what the same bytes cost in CRC32c and the two copies every SCTP
//! stack makes (into the send queue, out of the packet into reassembly). MTU 1200 (the
//! default `Config::mtu`); this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), as the usrsctp
//! reference in `scripts/bench/sctp.sh` reads it. Also prints which CRC32c path runs, CRC32c
//! alone, and per message size the CRC32c / zero-checksum ratio (issue 18's goal: >= 0.9).
//!
//! `cargo run --release -p peerless-sctp --features std --example bench -- [MB per size]`

// A benchmark binary: a failure is a bug to see at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use peerless_base::Instant;
use peerless_sctp::{
    Association, ChannelOptions, Config, DtlsRole, Event, MessageKind, SendError, wire,
};

/// CPU time of this thread (clock_gettime(CLOCK_THREAD_CPUTIME_ID), as the usrsctp reference
/// reads it).
fn cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

/// Pushes `total` bytes in `size`-byte messages from a to b; returns CPU seconds.
fn run(size: usize, total: usize, zero_checksum: bool) -> f64 {
    let config = |role, seed| Config {
        zero_checksum,
        ..Config::new(role, [seed; 32])
    };
    let mut a: Association = Association::new(
        config(DtlsRole::Client, 1),
        Instant::ZERO,
        area(1 << 20),
        area(1 << 20),
    );
    let mut b: Association = Association::new(
        config(DtlsRole::Server, 2),
        Instant::ZERO,
        area(1 << 20),
        area(1 << 20),
    );
    let mut now = Instant::ZERO;
    a.connect(now);
    let ch = a
        .open_channel("bench", "", ChannelOptions::default())
        .unwrap();
    let message = vec![0x5au8; size];
    let count = total / size;
    let (mut sent, mut received, mut bytes) = (0usize, 0usize, 0usize);
    let mut buf = vec![0u8; 1500];
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let start = cpu_now();
    while received < count {
        while sent < count {
            match a.send(ch, MessageKind::Binary, &message) {
                Ok(()) => sent += 1,
                Err(SendError::BufferFull) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        let mut progress = false;
        while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
            packets.push(t.to_vec());
        }
        // The drain rule: events after every packet.
        for p in &mut packets {
            progress = true;
            b.handle_packet(now, p);
            while let Some(e) = b.poll_event() {
                if let Event::Message { data, .. } = e {
                    received += 1;
                    bytes += data.len();
                }
            }
        }
        packets.clear();
        while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
            packets.push(t.to_vec());
        }
        for p in &mut packets {
            progress = true;
            a.handle_packet(now, p);
        }
        packets.clear();
        while a.poll_event().is_some() {}
        // An ideal link: time passes only when both ends wait for a timer (a delayed SACK).
        if !progress {
            let next = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            now = next.unwrap_or(now).max(now);
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
    }
    let cpu = (cpu_now() - start).as_secs_f64();
    assert_eq!(bytes, count * size);
    assert_eq!(a.stats().retransmissions, 0);
    cpu
}

/// CRC32c alone over the same bytes in packet-sized pieces; returns CPU seconds.
fn crc_alone(total: usize) -> f64 {
    let packet = vec![0x5au8; 1200];
    let start = cpu_now();
    let mut sum = 0u32;
    for _ in 0..total / 1172 {
        sum ^= wire::crc32c(std::hint::black_box(&packet));
    }
    std::hint::black_box(sum);
    (cpu_now() - start).as_secs_f64()
}

/// The floor: CRC32c over every byte plus two copies, in the same packet-sized pieces.
fn floor(total: usize) -> f64 {
    let src = vec![0x5au8; 1 << 20];
    let mut queue = vec![0u8; 1 << 20];
    let mut packet = vec![0u8; 1200];
    let mut reassembly = vec![0u8; 1 << 20];
    let start = cpu_now();
    let mut done = 0;
    let mut sum = 0u32;
    while done < total {
        queue.copy_from_slice(&src);
        for (i, piece) in queue.chunks(1172).enumerate() {
            packet[28..28 + piece.len()].copy_from_slice(piece);
            sum ^= wire::crc32c(&packet[..28 + piece.len()]);
            let at = (i * 1172) % ((1 << 20) - 1172);
            reassembly[at..at + piece.len()].copy_from_slice(&packet[28..28 + piece.len()]);
        }
        done += src.len();
    }
    std::hint::black_box(sum);
    std::hint::black_box(&reassembly);
    (cpu_now() - start).as_secs_f64()
}

fn main() {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(256);
    let total = mb << 20;
    // Which CRC32c path the library runs here (wire.rs: crc-fast with `std` on x86-64 and
    // AArch64, which uses the CPU's instructions when it has them; a table otherwise).
    #[cfg(target_arch = "x86_64")]
    let path = if std::arch::is_x86_feature_detected!("sse4.2") {
        "CPU instructions (SSE4.2 crc32, PCLMULQDQ where present)"
    } else {
        "crc-fast's table (this CPU has no SSE4.2)"
    };
    #[cfg(target_arch = "aarch64")]
    let path = if std::arch::is_aarch64_feature_detected!("crc") {
        "CPU instructions (ARMv8 CRC, PMULL where present)"
    } else {
        "crc-fast's table (this CPU has no CRC extension)"
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let path = "table";
    let crc_rate = total as f64 / 1e6 / crc_alone(total);
    println!("CRC32c path: {path}; CRC32c alone over 1200 B packets: {crc_rate:.0} MB/CPU-s");
    let floor_rate = total as f64 / 1e6 / floor(total);
    println!("floor (CRC32c + 2 copies): {floor_rate:.0} MB/CPU-s");
    for size in [1024usize, 16 * 1024] {
        let mut rates = [0.0; 2];
        for (i, zero) in [true, false].into_iter().enumerate() {
            let cpu = run(size, total, zero);
            let rate = total as f64 / 1e6 / cpu;
            rates[i] = rate;
            let checksum = if zero {
                "zero checksum (RFC 9653)"
            } else {
                "CRC32c"
            };
            println!(
                "sctp pair, reliable ordered, {size:>5} B messages, {checksum:<24}: {rate:>5.0} MB/CPU-s ({mb} MiB in {cpu:.3} s; {:.2} of the floor)",
                rate / floor_rate
            );
            // The reference (usrsctp in one thread, measured by scripts/bench/sctp.sh in the
            // same run) with the same checksum work: CRC32c on both ends, or none (its CRC32c
            // offload).
            let mode = if zero { "none" } else { "crc32c" };
            let reference = std::env::var(format!("SCTP_BENCH_REFERENCE_{size}_{mode}"))
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok());
            if let Some(reference) = reference {
                let what = if zero { "no checksum" } else { "CRC32c" };
                println!(
                    "  reference usrsctp pair, {size:>5} B messages, {what:<24}: {reference:>5.0} MB/CPU-s; peerless/usrsctp = {:.2}x",
                    rate / reference
                );
            }
        }
        // Issue 18's goal: CRC32c costs at most a tenth of the zero-checksum throughput.
        println!(
            "  {size:>5} B messages: CRC32c / zero checksum = {:.2} (goal >= 0.9)",
            rates[1] / rates[0]
        );
    }
}
