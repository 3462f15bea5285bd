//! The Peer's media paths against str0m, in one process, in memory, with the same frames.
//!
//! ```text
//!   send:    A.write_frame -> packetize -> SRTP protect -> A.poll_transmit -> datagram
//!            (timed: A only)                                 |
//!   receive: datagram -> B.handle_packet -> SRTP unprotect -> jitter buffer -> frame event
//!            (timed: B only; every datagram the send side made, once)
//!   server:  A (untimed) -> datagram -> S1 (raw/RTP mode) unprotect -> packet event
//!            -> S2.write_rtp -> SRTP protect -> S2.poll_transmit -> datagram -> C (untimed)
//!            (timed: S1 and S2)
//! ```
//! Work goes in batches of one second of video at one virtual instant; between batches, untimed,
//! the pairs exchange what else they have (RTCP, consent checks) and the clock moves one second,
//! so reports and timers run as in a call but are not counted. Every frame is checked to arrive.
//! CPU time of this thread. Prints ours, str0m's and the ratio; never gates.
//!
//! Where the work differs (printed beside the rows): each stack negotiates with itself, so
//! str0m runs AEAD_AES_256_GCM (dimpl picks it first, no setting pins 128) and writes its own
//! header extensions; str0m's run loop takes the timeouts it asks for at the same instant
//! (that is where it packetizes a written frame), and after `write_rtp` it needs one to let its
//! pacer see the queue (no bandwidth estimation: its null pacer); its frames and packets are
//! `Arc`s where ours are borrowed from the lent areas.

use std::net::SocketAddr;
use std::time::Duration;

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
/// Frames per batch: one second at 30 fps.
const BATCH: usize = 30;
/// Batches run before the clock starts (page faults, first keyframe).
const WARMUP: usize = 2;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

/// A frame mix: the frames of one second of video, repeated.
struct Mix {
    name: &'static str,
    frames: Vec<Vec<u8>>,
}

impl Mix {
    /// The frames of batch `n`: the mix looped.
    fn batch(&self, n: usize) -> impl Iterator<Item = &[u8]> {
        (n * BATCH..(n + 1) * BATCH).map(|i| self.frames[i % self.frames.len()].as_slice())
    }

    fn batch_bytes(&self, n: usize) -> u64 {
        self.batch(n).map(|f| f.len() as u64).sum()
    }
}

/// The frames of an IVF file (32-byte header, then a 12-byte header before each frame).
fn ivf_frames(file: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    let mut at = 32;
    while at + 12 <= file.len() {
        let len = u32::from_le_bytes(file[at..at + 4].try_into().expect("4 bytes")) as usize;
        at += 12;
        frames.push(file[at..at + len].to_vec());
        at += len;
    }
    frames
}

/// A VP8 frame the depacketizers take for what it says (RFC 6386 §9.1 frame tag, and the
/// keyframe start code with a 320x240 size), filled with noise as an encoder's output is.
fn vp8_frame(n: u32, keyframe: bool, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    if keyframe {
        f.extend_from_slice(&[0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
    } else {
        f.extend_from_slice(&[0x51, 0x42, 0x00]);
    }
    let mut x = n.wrapping_mul(2_654_435_761) | 1;
    while f.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        f.push(x as u8);
    }
    f
}

fn mixes() -> Vec<Mix> {
    let clip = ivf_frames(include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../peer/tests/media/clip.vp8.ivf"
    )));
    // 720p at 2.5 Mbit/s as the peer's documented host areas are sized for: a 100 KB keyframe
    // a second, 7 KB between.
    let hd = (0..BATCH as u32)
        .map(|n| vp8_frame(n, n == 0, if n == 0 { 100_000 } else { 7_000 }))
        .collect();
    vec![
        Mix {
            name: "clip.vp8.ivf (320x240, 100 kbit/s)",
            frames: clip,
        },
        Mix {
            name: "720p-like VP8 (2.5 Mbit/s)",
            frames: hd,
        },
    ]
}

/// What one side measured over a run.
#[derive(Default, Clone, Copy)]
struct Measure {
    packets: u64,
    bytes: u64,
    cpu: Duration,
    /// str0m: timeouts it asked for at the current instant, handled inside the timed part.
    timeouts: u64,
    /// Datagrams that left inside the timed part (the server's forwarded packets).
    out: u64,
}

impl Measure {
    fn rate(&self) -> f64 {
        self.packets as f64 / self.cpu.as_secs_f64()
    }
}

/// The results of one implementation for one mix.
#[derive(Default)]
struct Run {
    send: Measure,
    receive: Measure,
    server: Measure,
    /// SRTP overhead per datagram (datagram - RTP packet) seen by the server: the auth tag.
    tag: usize,
    profile: String,
}

// -------------------------------------------------------------------------------------------
// peerless

mod ours {
    use super::*;
    use peerless::{AreaUse, Codec, Config, Event, MediaKind, Peer, SdpType};
    use peerless_base::Instant;

    fn leak(bytes: usize) -> &'static mut [u8] {
        vec![0u8; bytes].leak()
    }

    pub struct Pair {
        pub a: Peer,
        pub b: Peer,
        pub now: Instant,
        pub mid: String,
        pub pt: u8,
        open: [bool; 2],
        /// Frames and raw packets B reported outside the timed parts.
        pub frames_b: u64,
        pub rtp_b: u64,
        buf: Vec<u8>,
    }

    impl Pair {
        /// A sends one VP8 video track to B, a data channel beside it; B raw if asked.
        pub fn new(
            certs: &(peerless::dtls::Certificate, peerless::dtls::Certificate),
            seed: u8,
            raw_b: bool,
        ) -> Pair {
            let mut a: Peer = Peer::new(
                Config::new(certs.0.clone(), [seed; 32]),
                Instant::ZERO,
                leak(256 * 1024),
                leak(256 * 1024),
            );
            let mut config_b = Config::new(certs.1.clone(), [seed ^ 0x55; 32]);
            config_b.raw_receive = raw_b;
            let mut b: Peer =
                Peer::new(config_b, Instant::ZERO, leak(256 * 1024), leak(256 * 1024));
            // str0m's side runs without bandwidth estimation (its null pacer): ours gets an
            // estimate pinned at 10 Gbit/s, so its pacer never holds a packet and the timed
            // part is the send path with the pacer's bookkeeping, as a batch written at one
            // instant leaves at once on both sides.
            a.set_bitrate_limits(10_000_000_000, 10_000_000_000, 10_000_000_000)
                .expect("ordered limits");
            // Room for a batch: a 100 KB keyframe and 29 frames of 7 KB, with headers.
            a.lend_media_area(MediaKind::Video, AreaUse::Send, leak(1024 * 1024))
                .expect("send area");
            b.lend_media_area(MediaKind::Video, AreaUse::Receive, leak(1024 * 1024))
                .expect("receive area");
            a.create_data_channel("bench", Default::default())
                .expect("channel");
            let track = a.add_track(MediaKind::Video, "bench").expect("track");
            a.add_local_candidate(addr(A)).expect("candidate");
            b.add_local_candidate(addr(B)).expect("candidate");
            let mut sdp = vec![0u8; 16384];
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
            let mid = a.mid(track).expect("mid").to_string();
            let pt = a.payload_type(&mid, Codec::Vp8).expect("VP8");
            let mut pair = Pair {
                a,
                b,
                now: Instant::ZERO,
                mid,
                pt,
                open: [false; 2],
                frames_b: 0,
                rtp_b: 0,
                buf: vec![0; 2048],
            };
            pair.connect();
            // The pair connects at one instant (the link is instant); the pacer's burst
            // allowance fills with time like a real host's, so time passes before the first
            // batch is written at one instant.
            pair.advance(Duration::from_millis(20));
            pair
        }

        /// Moves datagrams and events until nothing moves.
        pub fn step(&mut self) {
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
                        Event::MediaData(_) => self.frames_b += 1,
                        Event::Rtp { .. } => self.rtp_b += 1,
                        _ => {}
                    }
                }
                if !any {
                    return;
                }
            }
        }

        fn timeouts(&mut self, now: Instant) {
            self.now = now;
            self.a.handle_timeout(now);
            self.b.handle_timeout(now);
            self.step();
        }

        fn connect(&mut self) {
            for _ in 0..10_000 {
                self.step();
                if self.open == [true, true] {
                    return;
                }
                let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min()
                    .expect("a timer");
                self.timeouts(next.max(self.now));
            }
            panic!("peerless pair did not connect");
        }

        /// Runs the timers up to `by` from now, untimed: RTCP, consent checks.
        pub fn advance(&mut self, by: Duration) {
            self.step();
            let target = self.now + by;
            for _ in 0..1000 {
                let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) if t <= target => self.timeouts(t.max(self.now)),
                    _ => break,
                }
            }
            self.timeouts(target);
        }

        pub fn profile(&self) -> String {
            match (self.a.stats().srtp_profile, self.b.stats().srtp_profile) {
                (Some(a), Some(b)) if a == b => a.name().to_string(),
                (a, b) => format!("{a:?}/{b:?}"),
            }
        }
    }

    /// Datagrams A sent, with their addresses.
    pub type Datagrams = Vec<(SocketAddr, SocketAddr, Vec<u8>)>;

    /// A writes the frames and sends their datagrams.
    fn send(pair: &mut Pair, mix: &Mix, batch: usize, out: &mut Datagrams) {
        let first = (batch * BATCH) as u32;
        for (i, f) in mix.batch(batch).enumerate() {
            let rtp_time = 3000u32.wrapping_mul(first + i as u32);
            pair.a
                .write_frame(&pair.mid, pair.pt, rtp_time, f)
                .expect("write_frame");
            while let Some(t) = pair.a.poll_transmit(&mut pair.buf).expect("poll_transmit") {
                out.push((t.source, t.destination, t.payload.to_vec()));
            }
        }
    }

    pub fn send_receive(
        certs: &(peerless::dtls::Certificate, peerless::dtls::Certificate),
        mix: &Mix,
        batches: usize,
        run: &mut Run,
    ) {
        let mut pair = Pair::new(certs, 3, false);
        run.profile = pair.profile();
        let mut datagrams = Datagrams::new();
        let (mut frames_in, mut bytes_in) = (0u64, 0u64);
        let mut sent_bytes = 0u64;
        for batch in 0..WARMUP + batches {
            let timed = batch >= WARMUP;
            datagrams.clear();
            let t = cpu_now();
            send(&mut pair, mix, batch, &mut datagrams);
            if timed {
                run.send.cpu += cpu_now() - t;
                run.send.packets += datagrams.len() as u64;
                run.send.bytes += datagrams.iter().map(|d| d.2.len() as u64).sum::<u64>();
                sent_bytes += mix.batch_bytes(batch);
            }
            let t = cpu_now();
            for (from, to, d) in &mut datagrams {
                pair.b.handle_packet(pair.now, *from, *to, d);
                while let Some(e) = pair.b.poll_event() {
                    if let Event::MediaData(m) = e {
                        frames_in += u64::from(timed);
                        bytes_in += if timed { m.data.len() as u64 } else { 0 };
                    }
                }
            }
            if timed {
                run.receive.cpu += cpu_now() - t;
                run.receive.packets += datagrams.len() as u64;
            }
            pair.advance(Duration::from_secs(1));
        }
        let want = (batches * BATCH) as u64;

        assert_eq!(
            (frames_in, bytes_in, pair.frames_b),
            (want, sent_bytes, 0),
            "peerless: every frame, whole, in the timed receive"
        );
        run.receive.bytes = run.send.bytes;
    }

    /// The media server's work on one batch: each datagram from upstream unprotected and
    /// routed to its raw packet, written to the downstream connection and protected. Not
    /// inlined, so that a profile can be narrowed to it (`perf report --parent forward -x`).
    #[inline(never)]
    fn forward(
        up: &mut Pair,
        down: &mut Pair,
        datagrams: &mut Datagrams,
        forwarded: &mut Datagrams,
        tag: &mut usize,
    ) -> u64 {
        let mut packets = 0;
        for (from, to, d) in datagrams {
            let len = d.len();
            up.b.handle_packet(up.now, *from, *to, d);
            while let Some(e) = up.b.poll_event() {
                if let Event::Rtp { packet, .. } = e {
                    *tag = len - packet.len();
                    down.a.write_rtp(&down.mid, packet).expect("write_rtp");
                    packets += 1;
                }
            }
            while let Some(t) = down.a.poll_transmit(&mut down.buf).expect("poll_transmit") {
                forwarded.push((t.source, t.destination, t.payload.to_vec()));
            }
        }
        packets
    }

    pub fn server(
        certs: &(peerless::dtls::Certificate, peerless::dtls::Certificate),
        mix: &Mix,
        batches: usize,
        run: &mut Run,
    ) {
        let mut up = Pair::new(certs, 5, true);
        let mut down = Pair::new(certs, 7, false);
        let mut datagrams = Datagrams::new();
        let mut forwarded = Datagrams::new();
        let (mut packets, mut tag) = (0u64, 0usize);
        for batch in 0..WARMUP + batches {
            let timed = batch >= WARMUP;
            datagrams.clear();
            forwarded.clear();
            send(&mut up, mix, batch, &mut datagrams);
            let t = cpu_now();
            let n = forward(&mut up, &mut down, &mut datagrams, &mut forwarded, &mut tag);
            packets += if timed { n } else { 0 };
            if timed {
                run.server.cpu += cpu_now() - t;
                run.server.bytes += forwarded.iter().map(|d| d.2.len() as u64).sum::<u64>();
                run.server.out += forwarded.len() as u64;
            }
            for (from, to, d) in &mut forwarded {
                down.b.handle_packet(down.now, *from, *to, d);
                while let Some(e) = down.b.poll_event() {
                    if let Event::MediaData(_) = e {
                        down.frames_b += 1;
                    }
                }
            }
            up.advance(Duration::from_secs(1));
            down.advance(Duration::from_secs(1));
        }
        run.server.packets = packets;
        run.tag = tag;
        assert_eq!(
            down.frames_b,
            ((WARMUP + batches) * BATCH) as u64,
            "peerless: every forwarded frame arrives"
        );
        assert!(
            run.server.out >= run.server.packets,
            "peerless: every forwarded packet left in the timed part ({} of {})",
            run.server.out,
            run.server.packets
        );
        assert_eq!(
            up.rtp_b, 0,
            "peerless: every packet forwarded in the timed part"
        );
    }
}

// -------------------------------------------------------------------------------------------
// str0m

mod theirs {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant as StdInstant;
    use str0m::change::SdpOffer;
    use str0m::format::Codec;
    use str0m::media::{Direction, MediaKind, MediaTime, Mid, Pt};
    use str0m::net::{Protocol, Receive};
    use str0m::rtp::RtpWrite;
    use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

    pub type Cert = str0m::config::DtlsCert;

    pub fn certs() -> (Cert, Cert) {
        let provider = str0m::crypto::from_feature_flags();
        (
            provider.dtls_provider.generate_certificate().expect("cert"),
            provider.dtls_provider.generate_certificate().expect("cert"),
        )
    }

    type Datagram = (bool, SocketAddr, SocketAddr, Vec<u8>);

    pub struct Pair {
        pub a: Rtc,
        pub b: Rtc,
        pub now: StdInstant,
        pub mid: Mid,
        pub pt: Pt,
        open: [bool; 2],
        pub frames_b: u64,
        pub rtp_b: u64,
        timeouts: [StdInstant; 2],
        queue: Vec<Datagram>,
    }

    fn receive(
        now: StdInstant,
        source: SocketAddr,
        destination: SocketAddr,
        d: &[u8],
    ) -> Input<'_> {
        Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents: d.try_into().expect("datagram"),
            },
        )
    }

    impl Pair {
        /// A sends one VP8 video track to B (its default codecs, header extensions and
        /// pacer: no bandwidth estimation), a data channel beside it; A and B in RTP mode if
        /// asked.
        pub fn new(certs: &(Cert, Cert), rtp_a: bool, rtp_b: bool) -> Pair {
            let start = StdInstant::now();
            let mut a = RtcConfig::new()
                .set_dtls_cert(certs.0.clone())
                .set_rtp_mode(rtp_a)
                .build(start);
            let mut b = RtcConfig::new()
                .set_dtls_cert(certs.1.clone())
                .set_rtp_mode(rtp_b)
                .build(start);
            a.add_local_candidate(Candidate::host(addr(A), "udp").expect("candidate"));
            b.add_local_candidate(Candidate::host(addr(B), "udp").expect("candidate"));
            let mut api = a.sdp_api();
            let _ = api.add_channel("bench".into());
            let mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
            let (offer, pending) = api.apply().expect("offer");
            let offer = SdpOffer::from_sdp_string(&offer.to_sdp_string()).expect("offer text");
            let answer = b.sdp_api().accept_offer(offer).expect("answer");
            a.sdp_api().accept_answer(pending, answer).expect("accept");
            let pt = a
                .codec_config()
                .params()
                .iter()
                .find(|p| p.spec().codec == Codec::Vp8)
                .expect("VP8")
                .pt();
            let mut pair = Pair {
                a,
                b,
                now: start,
                mid,
                pt,
                open: [false; 2],
                frames_b: 0,
                rtp_b: 0,
                timeouts: [start; 2],
                queue: Vec::new(),
            };
            pair.connect();
            pair
        }

        fn rtc(&mut self, side: usize) -> &mut Rtc {
            if side == 0 { &mut self.a } else { &mut self.b }
        }

        fn drain(&mut self, side: usize) {
            loop {
                match self.rtc(side).poll_output().expect("poll") {
                    Output::Timeout(t) => {
                        self.timeouts[side] = t;
                        return;
                    }
                    Output::Transmit(t) => {
                        self.queue
                            .push((side == 0, t.source, t.destination, t.contents.to_vec()))
                    }
                    Output::Event(Event::ChannelOpen(..)) => self.open[side] = true,
                    Output::Event(Event::MediaData(_)) if side == 1 => self.frames_b += 1,
                    Output::Event(Event::RtpPacket(_)) if side == 1 => self.rtp_b += 1,
                    Output::Event(_) => {}
                }
            }
        }

        pub fn step(&mut self) {
            self.drain(0);
            self.drain(1);
            while !self.queue.is_empty() {
                for (from_a, source, destination, bytes) in std::mem::take(&mut self.queue) {
                    let side = usize::from(from_a);
                    let now = self.now;
                    self.rtc(side)
                        .handle_input(receive(now, source, destination, &bytes))
                        .expect("input");
                    self.drain(side);
                }
            }
        }

        fn timeouts(&mut self, now: StdInstant) {
            self.now = now;
            self.a.handle_input(Input::Timeout(now)).expect("timeout");
            self.drain(0);
            self.b.handle_input(Input::Timeout(now)).expect("timeout");
            self.drain(1);
            self.step();
        }

        fn connect(&mut self) {
            for _ in 0..100_000 {
                self.step();
                if self.open == [true, true] {
                    return;
                }
                let next = self.timeouts[0].min(self.timeouts[1]).max(self.now);
                self.timeouts(next);
            }
            panic!("str0m pair did not connect");
        }

        pub fn advance(&mut self, by: Duration) {
            self.step();
            let target = self.now + by;
            for _ in 0..1000 {
                let next = self.timeouts[0].min(self.timeouts[1]);
                if next > target {
                    break;
                }
                self.timeouts(next.max(self.now));
            }
            self.timeouts(target);
        }
    }

    type Datagrams = Vec<(SocketAddr, SocketAddr, Vec<u8>)>;

    /// Timeouts handled by `poll`, for the fairness line.
    static DUE: AtomicU64 = AtomicU64::new(0);

    fn due() -> u64 {
        DUE.load(Ordering::Relaxed)
    }

    /// Keeps B's datagrams (feedback) for A, handed over later, untimed.
    fn keep(queue: &mut Vec<Datagram>, t: str0m::net::Transmit) {
        queue.push((false, t.source, t.destination, t.contents.to_vec()));
    }

    /// str0m's run loop at one instant: poll until it asks for a later time, handing it the
    /// timeouts due now (that is where it packetizes written frames and runs its timers).
    fn poll(rtc: &mut Rtc, now: StdInstant, mut each: impl FnMut(Output)) -> StdInstant {
        let mut due = 0;
        while due < 256 {
            match rtc.poll_output().expect("poll") {
                Output::Timeout(t) if t <= now => {
                    due += 1;
                    DUE.fetch_add(1, Ordering::Relaxed);
                    rtc.handle_input(Input::Timeout(now)).expect("timeout");
                }
                Output::Timeout(t) => return t,
                o => each(o),
            }
        }
        panic!("str0m did not settle at one instant");
    }

    fn send(pair: &mut Pair, mix: &Mix, batch: usize, out: &mut Datagrams) {
        let first = (batch * BATCH) as u64;
        for (i, f) in mix.batch(batch).enumerate() {
            let time = MediaTime::from_90khz(3000 * (first + i as u64));
            let (mid, pt, now) = (pair.mid, pair.pt, pair.now);
            pair.a
                .writer(mid)
                .expect("writer")
                .write(pt, now, time, f)
                .expect("write");
            pair.timeouts[0] = poll(&mut pair.a, now, |o| {
                if let Output::Transmit(t) = o {
                    out.push((t.source, t.destination, t.contents.to_vec()));
                }
            });
        }
    }

    pub fn send_receive(certs: &(Cert, Cert), mix: &Mix, batches: usize, run: &mut Run) {
        let mut pair = Pair::new(certs, false, false);
        let mut datagrams = Datagrams::new();
        let (mut frames_in, mut bytes_in) = (0u64, 0u64);
        let mut sent_bytes = 0u64;
        for batch in 0..WARMUP + batches {
            let timed = batch >= WARMUP;
            datagrams.clear();
            let (t, d0) = (cpu_now(), due());
            send(&mut pair, mix, batch, &mut datagrams);
            if timed {
                run.send.cpu += cpu_now() - t;
                run.send.timeouts += due() - d0;
                run.send.packets += datagrams.len() as u64;
                run.send.bytes += datagrams.iter().map(|d| d.2.len() as u64).sum::<u64>();
                sent_bytes += mix.batch_bytes(batch);
            }
            let (t, d0) = (cpu_now(), due());
            for (from, to, d) in &datagrams {
                let now = pair.now;
                pair.b
                    .handle_input(receive(now, *from, *to, d))
                    .expect("input");
                let queue = &mut pair.queue;
                pair.timeouts[1] = poll(&mut pair.b, now, |o| match o {
                    Output::Transmit(t) => keep(queue, t),
                    Output::Event(Event::MediaData(m)) => {
                        frames_in += u64::from(timed);
                        bytes_in += if timed { m.data.len() as u64 } else { 0 };
                    }
                    _ => {}
                });
            }
            if timed {
                run.receive.cpu += cpu_now() - t;
                run.receive.timeouts += due() - d0;
                run.receive.packets += datagrams.len() as u64;
            }
            pair.advance(Duration::from_secs(1));
        }
        let want = (batches * BATCH) as u64;

        assert_eq!(
            (frames_in, bytes_in, pair.frames_b),
            (want, sent_bytes, 0),
            "str0m: every frame, whole, in the timed receive"
        );
        run.receive.bytes = run.send.bytes;
    }

    /// str0m's own SRTP ciphers alone (its RustCrypto provider), encrypt + decrypt of a
    /// `len`-byte payload behind a 12-byte header: (AES-128-GCM, AES-256-GCM) ns per operation.
    /// Two str0m peers negotiate AEAD_AES_256_GCM (dimpl's server picks it first; no setting
    /// pins 128), so this says how much of its rows is the bigger key.
    pub fn cipher_cost(len: usize) -> (f64, f64) {
        let provider = str0m::crypto::from_feature_flags().srtp_provider;
        let (aad, iv) = ([0x80u8; 12], [7u8; 12]);
        let input = vec![0x5au8; len];
        let mut sealed = vec![0u8; len + 16];
        let mut opened = vec![0u8; len + 16];
        let rounds = 20_000;
        let mut e = provider.aead_aes_128_gcm().create_cipher([1; 16], true);
        let mut d = provider.aead_aes_128_gcm().create_cipher([1; 16], false);
        let t = cpu_now();
        for _ in 0..rounds {
            e.encrypt(&iv, &aad, &input, &mut sealed).expect("seal");
            d.decrypt(&iv, &[&aad], &sealed, &mut opened).expect("open");
        }
        let gcm128 = (cpu_now() - t).as_secs_f64() * 1e9 / (2 * rounds) as f64;
        let mut e = provider.aead_aes_256_gcm().create_cipher([1; 32], true);
        let mut d = provider.aead_aes_256_gcm().create_cipher([1; 32], false);
        let t = cpu_now();
        for _ in 0..rounds {
            e.encrypt(&iv, &aad, &input, &mut sealed).expect("seal");
            d.decrypt(&iv, &[&aad], &sealed, &mut opened).expect("open");
        }
        let gcm256 = (cpu_now() - t).as_secs_f64() * 1e9 / (2 * rounds) as f64;
        (gcm128, gcm256)
    }

    /// The media server's work on one batch, as ours (not inlined, for a profile).
    #[inline(never)]
    fn forward(
        up: &mut Pair,
        down: &mut Pair,
        datagrams: &Datagrams,
        forwarded: &mut Datagrams,
        tag: &mut usize,
    ) -> u64 {
        let (mut packets, pt) = (0, down.pt);
        for (from, to, d) in datagrams {
            let now = up.now;
            up.b.handle_input(receive(now, *from, *to, d))
                .expect("input");
            let queue = &mut up.queue;
            up.timeouts[1] = poll(&mut up.b, now, |o| match o {
                Output::Transmit(t) => keep(queue, t),
                Output::Event(Event::RtpPacket(p)) => {
                    *tag = d.len() - p.header.header_len - p.payload.len();
                    let mut api = down.a.direct_api();
                    let tx = api.stream_tx_by_mid(down.mid, None).expect("stream");
                    let write =
                        RtpWrite::new(pt, p.seq_no, p.header.timestamp, p.timestamp, p.payload);
                    tx.write_rtp(write.marker(p.header.marker).nackable(true));
                    packets += 1;
                }
                _ => {}
            });
            // write_rtp only queues: str0m's pacer looks at its queues on a timeout, which a
            // media server's run loop gives it (as str0m's own tests do) before polling.
            // (Each pair has its own clock.)
            let now = down.now;
            down.a.handle_input(Input::Timeout(now)).expect("timeout");
            DUE.fetch_add(1, Ordering::Relaxed);
            down.timeouts[0] = poll(&mut down.a, now, |o| {
                if let Output::Transmit(t) = o {
                    forwarded.push((t.source, t.destination, t.contents.to_vec()));
                }
            });
        }
        packets
    }

    pub fn server(certs: &(Cert, Cert), mix: &Mix, batches: usize, run: &mut Run) {
        let mut up = Pair::new(certs, false, true);
        let mut down = Pair::new(certs, true, false);
        let mut datagrams = Datagrams::new();
        let mut forwarded = Datagrams::new();
        let (mut packets, mut tag) = (0u64, 0usize);
        for batch in 0..WARMUP + batches {
            let timed = batch >= WARMUP;
            datagrams.clear();
            forwarded.clear();
            send(&mut up, mix, batch, &mut datagrams);
            let (t, d0) = (cpu_now(), due());
            let n = forward(&mut up, &mut down, &datagrams, &mut forwarded, &mut tag);
            packets += if timed { n } else { 0 };
            if timed {
                run.server.cpu += cpu_now() - t;
                run.server.timeouts += due() - d0;
                run.server.bytes += forwarded.iter().map(|d| d.2.len() as u64).sum::<u64>();
                run.server.out += forwarded.len() as u64;
            }
            for (from, to, d) in forwarded.drain(..) {
                down.queue.push((true, from, to, d));
            }
            down.step();
            up.advance(Duration::from_secs(1));
            down.advance(Duration::from_secs(1));
        }
        run.server.packets = packets;
        run.tag = tag;
        assert_eq!(
            down.frames_b,
            ((WARMUP + batches) * BATCH) as u64,
            "str0m: every forwarded frame arrives"
        );
        assert!(
            run.server.out >= run.server.packets,
            "str0m: every forwarded packet left in the timed part ({} of {})",
            run.server.out,
            run.server.packets
        );
        assert_eq!(
            up.rtp_b, 0,
            "str0m: every packet forwarded in the timed part"
        );
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
    let seconds: usize = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // BENCH_ONLY=peerless or str0m runs one side (for a profile); BENCH_MIX=0 or 1 one mix.
    let only = std::env::var("BENCH_ONLY").ok();
    let run_side = |name: &str| only.as_deref().is_none_or(|o| o == name);
    // BENCH_PATH=send (send and receive) or server runs one scenario.
    let path = std::env::var("BENCH_PATH").ok();
    let run_path = |name: &str| path.as_deref().is_none_or(|p| p == name);
    let one_mix: Option<usize> = std::env::var("BENCH_MIX").ok().and_then(|v| v.parse().ok());
    let our_certs = peerless::selftest::certificates().expect("certificates");
    let their_certs = theirs::certs();

    for (i, mix) in mixes().iter().enumerate() {
        if one_mix.is_some_and(|m| m != i) {
            continue;
        }
        // Seconds of video per run: enough packets for a steady figure in well under a second
        // of CPU per side and path.
        let batches = if seconds > 0 {
            seconds
        } else if i == 0 {
            1200
        } else {
            200
        };
        let (mut us, mut them) = (Run::default(), Run::default());
        if run_side("peerless") {
            if run_path("send") {
                ours::send_receive(&our_certs, mix, batches, &mut us);
            }
            if run_path("server") {
                ours::server(&our_certs, mix, batches, &mut us);
            }
        }
        if run_side("str0m") {
            if run_path("send") {
                theirs::send_receive(&their_certs, mix, batches, &mut them);
            }
            if run_path("server") {
                theirs::server(&their_certs, mix, batches, &mut them);
            }
        }
        let frames = batches * BATCH;
        let packets = us.send.packets.max(them.send.packets);
        println!(
            "{}: {frames} frames, {packets} packets ({:.2} per frame), {batches} s of video",
            mix.name,
            packets as f64 / frames as f64
        );
        if us.send.packets != them.send.packets && us.send.packets * them.send.packets > 0 {
            println!(
                "  packets differ (payload sizes): peerless {}, str0m {}",
                us.send.packets, them.send.packets
            );
        }
        println!(
            "  SRTP: peerless {} (tag {} B), str0m tag {} B ({}); mean datagram: peerless {:.0} B, str0m {:.0} B",
            if us.profile.is_empty() {
                "-"
            } else {
                &us.profile
            },
            us.tag,
            them.tag,
            match them.tag {
                16 => "AEAD GCM",
                10 => "AES_CM_128_HMAC_SHA1_80",
                _ => "?",
            },
            us.send.bytes as f64 / us.send.packets.max(1) as f64,
            them.send.bytes as f64 / them.send.packets.max(1) as f64,
        );
        // str0m runs AES-256-GCM: its rows with the difference to AES-128 taken out, per SRTP
        // operation (send and receive one each, the server two), as an estimate.
        let mean = them.send.bytes as f64 / them.send.packets.max(1) as f64;
        let (gcm128, gcm256) = if them.tag == 16 && them.send.packets > 0 {
            theirs::cipher_cost((mean as usize).saturating_sub(12 + 16))
        } else {
            (0.0, 0.0)
        };
        if gcm256 > 0.0 {
            println!(
                "  str0m negotiates AEAD_AES_256_GCM between two str0m peers (not settable): its cipher alone at {mean:.0} B costs {gcm256:.0} ns per operation, {gcm128:.0} ns with AES-128-GCM"
            );
        }
        for (ops, name, a, b) in [
            (
                1.0,
                "send    (write_frame + poll_transmit)",
                us.send,
                them.send,
            ),
            (
                1.0,
                "receive (handle_packet + MediaData)  ",
                us.receive,
                them.receive,
            ),
            (
                2.0,
                "server  (raw in, write_rtp, out)     ",
                us.server,
                them.server,
            ),
        ] {
            let (ra, rb) = (
                if a.packets > 0 { a.rate() } else { 0.0 },
                if b.packets > 0 { b.rate() } else { 0.0 },
            );
            println!(
                "  {name}: peerless {:>9.0} pkt/CPU-s ({:.2} us/pkt), str0m {:>9.0} pkt/CPU-s ({:.2} us/pkt), ratio {}; str0m ran {:.2} due timeouts per packet",
                ra,
                if ra > 0.0 { 1e6 / ra } else { 0.0 },
                rb,
                if rb > 0.0 { 1e6 / rb } else { 0.0 },
                ratio(ra, rb),
                b.timeouts as f64 / b.packets.max(1) as f64
            );
            if gcm256 > 0.0 && rb > 0.0 && ra > 0.0 {
                let at128 = 1.0 / (1.0 / rb - ops * (gcm256 - gcm128) * 1e-9);
                println!(
                    "      str0m as if on AES-128-GCM (estimate): {at128:>9.0} pkt/CPU-s, ratio {}",
                    ratio(ra, at128)
                );
            }
        }
    }
}
