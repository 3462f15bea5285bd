//! peerless vs str0m, in one process, in memory: connect CPU and data-channel throughput.
//!
//! ```text
//!   connect:    Peer::new x2 (pre-made certificates) -> offer/answer -> ICE -> DTLS -> SCTP
//!               -> DCEP -> channel open on both sides          (CPU time per connect)
//!   dtls alone: the same two certificates, a bare DTLS handshake (the floor of a connect)
//!   throughput: 1 KiB and 16 KiB messages A -> B until all arrive  (MB per CPU-second)
//! ```
//! Virtual time for both stacks: the clock jumps to the next deadline, so only CPU is measured.
//! Prints ours, str0m's and the ratio; never gates.

use std::net::SocketAddr;
use std::time::{Duration, Instant as StdInstant};

fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass; bench-only code.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

const A: &str = "10.0.0.1:5000";
const B: &str = "10.0.0.2:5000";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

// -------------------------------------------------------------------------------------------
// peerless

mod ours {
    use super::*;
    use peerless::{ChannelId, Config, Event, Peer, SdpType};
    use peerless_base::Instant;

    pub struct Pair {
        pub a: Peer,
        pub b: Peer,
        pub now: Instant,
        pub chan_a: ChannelId,
        pub open: [bool; 2],
        pub received: usize,
        pub received_bytes: usize,
        buf: Vec<u8>,
    }

    /// 256 KiB each way, as the CLI and the demo use (zeroed pages from the allocator).
    fn storage() -> (&'static mut [u8], &'static mut [u8]) {
        (vec![0u8; 256 * 1024].leak(), vec![0u8; 256 * 1024].leak())
    }

    impl Pair {
        pub fn new(
            certs: &(peerless_dtls::Certificate, peerless_dtls::Certificate),
            seed: u8,
        ) -> Pair {
            let (s, r) = storage();
            let mut a: Peer = Peer::new(
                Config::new(certs.0.clone(), [seed; 32]),
                Instant::ZERO,
                s,
                r,
            );
            let (s, r) = storage();
            let mut b: Peer = Peer::new(
                Config::new(certs.1.clone(), [seed ^ 0x55; 32]),
                Instant::ZERO,
                s,
                r,
            );
            let chan_a = a
                .create_data_channel("bench", Default::default())
                .expect("channel");
            a.add_local_candidate(addr(A)).expect("candidate");
            b.add_local_candidate(addr(B)).expect("candidate");
            let mut sdp = vec![0u8; 4096];
            let offer = a.create_offer(&mut sdp).expect("offer").to_string();
            a.set_local_description(SdpType::Offer, &offer)
                .expect("local offer");
            b.set_remote_description(SdpType::Offer, &offer)
                .expect("remote offer");
            let answer = b.create_answer(&mut sdp).expect("answer").to_string();
            b.set_local_description(SdpType::Answer, &answer)
                .expect("local answer");
            a.set_remote_description(SdpType::Answer, &answer)
                .expect("remote answer");
            Pair {
                a,
                b,
                now: Instant::ZERO,
                chan_a,
                open: [false; 2],
                received: 0,
                received_bytes: 0,
                buf: vec![0; 2048],
            }
        }

        /// Moves datagrams and events until nothing moves; returns whether anything did.
        pub fn step(&mut self) -> bool {
            let mut moved = false;
            loop {
                let mut any = false;
                while let Ok(Some(t)) = self.a.poll_transmit(&mut self.buf) {
                    let n = t.payload.len();
                    let (from, to) = (t.source, t.destination);
                    self.b.handle_packet(self.now, from, to, &mut self.buf[..n]);
                    any = true;
                }
                while let Ok(Some(t)) = self.b.poll_transmit(&mut self.buf) {
                    let n = t.payload.len();
                    let (from, to) = (t.source, t.destination);
                    self.a.handle_packet(self.now, from, to, &mut self.buf[..n]);
                    any = true;
                }
                while let Some(e) = self.a.poll_event() {
                    if let Event::ChannelOpen { .. } = e {
                        self.open[0] = true;
                    }
                }
                while let Some(e) = self.b.poll_event() {
                    match e {
                        Event::ChannelOpen { .. } => self.open[1] = true,
                        Event::Message { data, .. } => {
                            self.received += 1;
                            self.received_bytes += data.len();
                        }
                        _ => {}
                    }
                }
                if !any {
                    return moved;
                }
                moved = true;
            }
        }

        pub fn advance(&mut self) {
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            if let Some(t) = next {
                self.now = t.max(self.now);
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
            }
        }

        pub fn connect(&mut self) {
            for _ in 0..10_000 {
                if !self.step() {
                    if self.open == [true, true] {
                        return;
                    }
                    self.advance();
                }
            }
            panic!("peerless pair did not connect");
        }

        pub fn pump(&mut self, msg: &[u8], count: usize) {
            let mut sent = 0;
            let target = self.received + count;
            for _ in 0..10_000_000 {
                while sent < count && self.a.send_binary(self.chan_a, msg).is_ok() {
                    sent += 1;
                }
                if !self.step() {
                    if self.received >= target {
                        return;
                    }
                    self.advance();
                }
            }
            panic!("peerless throughput stalled");
        }
    }

    pub fn dtls_alone(certs: &(peerless_dtls::Certificate, peerless_dtls::Certificate)) {
        use peerless_dtls::{Config, Endpoint, HashAlgorithm, Role, selftest};
        let mut client: Endpoint = Endpoint::new(
            Config::new(Role::Client, certs.0.clone(), [1; 32]),
            Instant::ZERO);
        let mut server: Endpoint = Endpoint::new(
            Config::new(Role::Server, certs.1.clone(), [2; 32]),
            Instant::ZERO);
        client.set_remote_fingerprint(certs.1.fingerprint(HashAlgorithm::Sha256));
        server.set_remote_fingerprint(certs.0.fingerprint(HashAlgorithm::Sha256));
        let mut buf = [0u8; 1500];
        selftest::handshake(&mut client, &mut server, &mut buf, |_, call| call())
            .expect("handshake");
    }
}

// -------------------------------------------------------------------------------------------
// str0m

mod theirs {
    use super::*;
    use str0m::change::SdpOffer;
    use str0m::channel::ChannelId;
    use str0m::net::{Protocol, Receive};
    use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

    pub struct Pair {
        pub a: Rtc,
        pub b: Rtc,
        start: StdInstant,
        pub now: StdInstant,
        pub chan: Option<ChannelId>,
        pub open: [bool; 2],
        pub received: usize,
        timeouts: [StdInstant; 2],
        queue: Vec<(bool, SocketAddr, SocketAddr, Vec<u8>)>,
    }

    pub type Cert = str0m::config::DtlsCert;

    pub fn certs() -> (Cert, Cert) {
        let provider = str0m::crypto::from_feature_flags();
        (
            provider.dtls_provider.generate_certificate().expect("cert"),
            provider.dtls_provider.generate_certificate().expect("cert"),
        )
    }

    impl Pair {
        pub fn new(certs: &(Cert, Cert)) -> Pair {
            let start = StdInstant::now();
            let mut a = RtcConfig::new().set_dtls_cert(certs.0.clone()).build(start);
            let mut b = RtcConfig::new().set_dtls_cert(certs.1.clone()).build(start);
            a.add_local_candidate(Candidate::host(addr(A), "udp").expect("candidate"));
            b.add_local_candidate(Candidate::host(addr(B), "udp").expect("candidate"));
            let mut api = a.sdp_api();
            let _ = api.add_channel("bench".into());
            let (offer, pending) = api.apply().expect("offer");
            let offer = SdpOffer::from_sdp_string(&offer.to_sdp_string()).expect("offer text");
            let answer = b.sdp_api().accept_offer(offer).expect("answer");
            a.sdp_api().accept_answer(pending, answer).expect("accept");
            Pair {
                a,
                b,
                start,
                now: start,
                chan: None,
                open: [false; 2],
                received: 0,
                timeouts: [start; 2],
                queue: Vec::new(),
            }
        }

        fn drain(&mut self, side: usize) {
            loop {
                let rtc = if side == 0 { &mut self.a } else { &mut self.b };
                match rtc.poll_output().expect("poll") {
                    Output::Timeout(t) => {
                        self.timeouts[side] = t;
                        return;
                    }
                    Output::Transmit(t) => {
                        self.queue
                            .push((side == 0, t.source, t.destination, t.contents.to_vec()))
                    }
                    Output::Event(Event::ChannelOpen(id, _)) => {
                        self.open[side] = true;
                        if side == 0 {
                            self.chan = Some(id);
                        }
                    }
                    Output::Event(Event::ChannelData(_)) => {
                        if side == 1 {
                            self.received += 1;
                        }
                    }
                    Output::Event(_) => {}
                }
            }
        }

        pub fn step(&mut self) -> bool {
            self.drain(0);
            self.drain(1);
            let mut moved = false;
            while !self.queue.is_empty() {
                moved = true;
                for (from_a, source, destination, bytes) in std::mem::take(&mut self.queue) {
                    let input = Input::Receive(
                        self.now,
                        Receive {
                            proto: Protocol::Udp,
                            source,
                            destination,
                            contents: bytes.as_slice().try_into().expect("datagram"),
                        },
                    );
                    let side = if from_a { 1 } else { 0 };
                    let rtc = if side == 0 { &mut self.a } else { &mut self.b };
                    rtc.handle_input(input).expect("input");
                    self.drain(side);
                }
            }
            moved
        }

        pub fn advance(&mut self) {
            let next = self.timeouts[0].min(self.timeouts[1]).max(self.now);
            self.now = next;
            self.a.handle_input(Input::Timeout(next)).expect("timeout");
            self.drain(0);
            self.b.handle_input(Input::Timeout(next)).expect("timeout");
            self.drain(1);
        }

        pub fn connect(&mut self) {
            for _ in 0..100_000 {
                if !self.step() {
                    if self.open == [true, true] {
                        return;
                    }
                    self.advance();
                }
            }
            panic!(
                "str0m pair did not connect after {:?}",
                self.now - self.start
            );
        }

        pub fn pump(&mut self, msg: &[u8], count: usize) {
            let chan = self.chan.expect("channel");
            let mut sent = 0;
            let target = self.received + count;
            for _ in 0..10_000_000 {
                while sent < count {
                    let Some(mut ch) = self.a.channel(chan) else {
                        break;
                    };
                    if ch.buffered_amount() > 256 * 1024 || !ch.write(true, msg).expect("write") {
                        break;
                    }
                    sent += 1;
                    self.drain(0);
                }
                if !self.step() {
                    if self.received >= target {
                        return;
                    }
                    self.advance();
                }
            }
            panic!("str0m throughput stalled");
        }
    }
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs > 0.0 {
        format!("{:.2}", ours / theirs)
    } else {
        "-".into()
    }
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let only = std::env::var("BENCH_ONLY").ok();
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let our_certs = peerless::selftest::certificates().expect("certificates");
    let their_certs = theirs::certs();

    if only.as_deref() == Some("peerless-connect") {
        // For profiling: connects only.
        for i in 0..iterations {
            ours::Pair::new(&our_certs, i as u8).connect();
        }
        return;
    }
    // Warm up both (page faults, lazy tables).
    ours::Pair::new(&our_certs, 1).connect();
    theirs::Pair::new(&their_certs).connect();

    let mut connect = (0.0, 0.0);
    if run("peerless") {
        let t = cpu_now();
        for i in 0..iterations {
            ours::Pair::new(&our_certs, i as u8).connect();
        }
        connect.0 = (cpu_now() - t).as_secs_f64() / iterations as f64;
        let t = cpu_now();
        for _ in 0..iterations {
            ours::dtls_alone(&our_certs);
        }
        let dtls = (cpu_now() - t).as_secs_f64() / iterations as f64;
        println!(
            "peerless: connect to open channel (both sides) {:.3} ms CPU; DTLS handshake alone {:.3} ms; everything else {:.3} ms",
            connect.0 * 1e3,
            dtls * 1e3,
            (connect.0 - dtls) * 1e3
        );
    }
    if run("str0m") {
        let t = cpu_now();
        for _ in 0..iterations {
            theirs::Pair::new(&their_certs).connect();
        }
        connect.1 = (cpu_now() - t).as_secs_f64() / iterations as f64;
        println!(
            "str0m:    connect to open channel (both sides) {:.3} ms CPU",
            connect.1 * 1e3
        );
    }
    if only.is_none() {
        println!(
            "connect CPU: peerless {:.3} ms, str0m {:.3} ms, ratio peerless/str0m {}",
            connect.0 * 1e3,
            connect.1 * 1e3,
            ratio(connect.0, connect.1)
        );
    }

    for size in [1024usize, 16 * 1024] {
        let total = 16 * 1024 * 1024;
        let count = total / size;
        let msg = vec![0xa5u8; size];
        let mut mbps = (0.0, 0.0);
        if run("peerless") {
            let mut p = ours::Pair::new(&our_certs, 9);
            p.connect();
            let t = cpu_now();
            p.pump(&msg, count);
            mbps.0 = (count * size) as f64 / 1e6 / (cpu_now() - t).as_secs_f64();
        }
        if run("str0m") {
            let mut p = theirs::Pair::new(&their_certs);
            p.connect();
            let t = cpu_now();
            p.pump(&msg, count);
            mbps.1 = (count * size) as f64 / 1e6 / (cpu_now() - t).as_secs_f64();
        }
        println!(
            "throughput {:>2} KiB messages ({} MiB, both sides' CPU): peerless {:.1} MB/CPU-s, str0m {:.1} MB/CPU-s, ratio {}",
            size / 1024,
            total >> 20,
            mbps.0,
            mbps.1,
            ratio(mbps.0, mbps.1)
        );
    }
}
