//! A media call over the simulator, for the congestion-control scenarios: senders whose
//! video source follows the estimator's target through the pacer, a receiver that answers
//! with transport-wide feedback built by the rtp crate, a bottleneck with a tail-drop queue.
//!
//! ```text
//!   sender node (one or more flows)                          receiver node
//!   frame every 33 ms of target/30 bytes ─▶ Pacer ─▶ RTP-like packet with a transport seq
//!     │  TwccSendRecord::on_sent                    ──▶ bottleneck (bandwidth, queue_bytes,
//!     │                                                  delay RTT/2, loss) ──▶ TwccFeedback
//!     ◀── transport-cc RTCP (CompoundBuilder) ◀── delay RTT/2 ◀── poll_feedback every 50 ms
//!   Estimator::on_feedback ─▶ target ─▶ Pacer::set_target, the source's next frames
//! ```
//!
//! Media packets carry a 12-byte RTP header (SSRC = flow), the transport-wide sequence
//! number at bytes 12..14 (standing in for the header extension) and the send time at
//! 14..22, so the receiver can log one-way delay; the estimator never sees that field.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use std::vec::Vec;

use peerless_base::{BufferTooSmall, Instant};
use peerless_cc::{BitrateLimits, Class, Estimator, Pacer, PacerConfig, Release};
use peerless_proptest::sim::{LinkConfig, Network, Node, NodeId, Outgoing};
use peerless_rtp::receive::{TccStatus, TwccConfig, TwccFeedback};
use peerless_rtp::rtcp::{Compound, CompoundBuilder, FeedbackSsrcs, Kind};
use peerless_rtp::send::{TwccSendRecord, TwccSlot};

const FRAME_MICROS: u64 = 33_333;
const MAX_PACKET: u64 = 1200;
const HEADER: usize = 22;
const PACER_SLOTS: usize = 256;

/// One sending flow: source, pacer, send record, estimator.
pub struct Flow {
    pub estimator: Estimator,
    pacer: Pacer<PACER_SLOTS>,
    record: TwccSendRecord<'static>,
    sizes: HashMap<u32, u16>,
    next_id: u32,
    next_frame: Instant,
    rtp_seq: u16,
    /// (time, target) at every feedback.
    pub targets: Vec<(Instant, u64)>,
    /// Frames' packets the pacer had no room for.
    pub source_dropped: u64,
}

impl Flow {
    fn new(limits: BitrateLimits, start_at: Instant) -> Flow {
        let slots: &'static mut [TwccSlot] = Vec::leak(vec![TwccSlot::EMPTY; 8192]);
        let estimator = Estimator::new(limits).unwrap();
        Flow {
            pacer: Pacer::new(PacerConfig::default(), estimator.target_bps()),
            estimator,
            record: TwccSendRecord::new(slots, 0),
            sizes: HashMap::new(),
            next_id: 0,
            next_frame: start_at,
            rtp_seq: 0,
            targets: Vec::new(),
            source_dropped: 0,
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        while self.next_frame <= now {
            // The encoder's frame for the rate the pacer says media may use.
            let bytes = self.pacer.media_target_bps() * FRAME_MICROS / 8_000_000;
            let packets = bytes.div_ceil(MAX_PACKET).max(1);
            for _ in 0..packets {
                let size = (bytes / packets).max(HEADER as u64) as u16;
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1);
                if self.pacer.enqueue(now, id, Class::Video, size).is_ok() {
                    self.sizes.insert(id, size);
                } else {
                    self.source_dropped += 1;
                }
            }
            self.next_frame += Duration::from_micros(FRAME_MICROS);
        }
        self.estimator.handle_timeout(now);
        if !self.pacer.probing()
            && let Some(cluster) = self.estimator.poll_probe(now)
        {
            self.pacer.start_probe(now, &cluster);
        }
        self.pacer.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [
            Some(self.next_frame),
            self.estimator.poll_timeout(),
            self.pacer.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Writes the next packet the pacer releases.
    fn poll_packet(&mut self, now: Instant, flow: u32, buf: &mut [u8]) -> Option<usize> {
        let size = match self.pacer.poll_send(now)? {
            Release::Packet { id, .. } => self.sizes.remove(&id).unwrap_or(HEADER as u16),
            Release::Padding { size } => size.max(HEADER as u16),
        };
        let size = usize::from(size);
        let packet = buf.get_mut(..size)?;
        packet.fill(0);
        packet[0] = 0x80;
        packet[1] = 96;
        packet[2..4].copy_from_slice(&self.rtp_seq.to_be_bytes());
        self.rtp_seq = self.rtp_seq.wrapping_add(1);
        packet[8..12].copy_from_slice(&flow.to_be_bytes());
        let seq = self.record.on_sent(now, size);
        packet[12..14].copy_from_slice(&seq.to_be_bytes());
        packet[14..22].copy_from_slice(&now.as_micros().to_be_bytes());
        Some(size)
    }

    fn on_feedback(&mut self, now: Instant, compound: &Compound<'_>) {
        for packet in compound.packets() {
            if let Ok(Kind::TransportCc(fb)) = packet.kind() {
                self.estimator.on_feedback(now, self.record.feedback(&fb));
            }
        }
        let target = self.estimator.target_bps();
        if std::env::var_os("CC_TRACE").is_some() {
            eprintln!(
                "{:>8.3} target {:>8} {:?} {:?}",
                now.as_micros() as f64 / 1e6,
                target,
                self.estimator.parts(),
                self.estimator.stats()
            );
        }
        self.pacer.set_target(now, target);
        self.targets.push((now, target));
        if !self.pacer.probing()
            && let Some(cluster) = self.estimator.poll_probe(now)
        {
            self.pacer.start_probe(now, &cluster);
        }
    }
}

/// What the receiver logged of one packet.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    pub flow: u32,
    pub at: Instant,
    pub size: usize,
    pub one_way: Duration,
}

pub struct FlowReceiver {
    twcc: TwccFeedback<4096>,
    statuses: Vec<TccStatus>,
}

pub enum Host {
    Senders {
        flows: Vec<Flow>,
        now: Instant,
        next_flow: usize,
    },
    Receiver {
        flows: Vec<FlowReceiver>,
        arrivals: Vec<Arrival>,
        now: Instant,
    },
}

impl Node for Host {
    fn handle_packet(
        &mut self,
        now: Instant,
        _from: SocketAddr,
        _to: SocketAddr,
        packet: &mut [u8],
    ) {
        match self {
            Host::Senders { flows, now: n, .. } => {
                *n = now;
                let Ok(compound) = Compound::parse(packet) else {
                    return;
                };
                let flow = compound.packets().find_map(|p| match p.kind() {
                    Ok(Kind::TransportCc(fb)) => Some(fb.ssrcs().media),
                    _ => None,
                });
                if let Some(flow) = flow.and_then(|f| flows.get_mut(f as usize)) {
                    flow.on_feedback(now, &compound);
                }
            }
            Host::Receiver {
                flows,
                arrivals,
                now: n,
            } => {
                *n = now;
                if packet.len() < HEADER {
                    return;
                }
                let flow = u32::from_be_bytes(packet[8..12].try_into().unwrap());
                let seq = u16::from_be_bytes(packet[12..14].try_into().unwrap());
                let sent = u64::from_be_bytes(packet[14..22].try_into().unwrap());
                if let Some(r) = flows.get_mut(flow as usize) {
                    r.twcc.record(now, seq);
                }
                arrivals.push(Arrival {
                    flow,
                    at: now,
                    size: packet.len(),
                    one_way: Duration::from_micros(now.as_micros() - sent),
                });
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Host::Senders { flows, now: n, .. } => {
                *n = now;
                for f in flows {
                    f.handle_timeout(now);
                }
            }
            Host::Receiver { flows, now: n, .. } => {
                *n = now;
                for f in flows {
                    f.twcc.handle_timeout(now);
                }
            }
        }
    }

    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        match self {
            Host::Senders {
                flows,
                now,
                next_flow,
            } => {
                let count = flows.len();
                for k in 0..count {
                    let i = (*next_flow + k) % count;
                    if let Some(len) = flows[i].poll_packet(*now, i as u32, buf) {
                        *next_flow = (i + 1) % count;
                        return Ok(Some(Outgoing::OnPath(&buf[..len])));
                    }
                }
                Ok(None)
            }
            Host::Receiver { flows, now, .. } => {
                for (i, f) in flows.iter_mut().enumerate() {
                    if let Some(report) = f.twcc.poll_feedback(*now, &mut f.statuses) {
                        let ssrcs = FeedbackSsrcs {
                            sender: 0xfeed,
                            media: i as u32,
                        };
                        let mut builder = CompoundBuilder::new(buf);
                        report.write(ssrcs, &f.statuses, &mut builder);
                        let len = builder
                            .finish()
                            .map_err(|_| BufferTooSmall { needed: 1500 })?;
                        return Ok(Some(Outgoing::OnPath(&buf[..len])));
                    }
                }
                Ok(None)
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Host::Senders { flows, .. } => flows.iter().filter_map(Flow::poll_timeout).min(),
            Host::Receiver { flows, .. } => {
                flows.iter().filter_map(|f| f.twcc.poll_timeout()).min()
            }
        }
    }

    fn drain_events(&mut self, _now: Instant) {
        if let Host::Senders { flows, .. } = self {
            for f in flows {
                while f.estimator.poll_event().is_some() {}
            }
        }
    }
}

/// A capacity change at a time.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub at: Duration,
    pub capacity_bps: u64,
}

/// One scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub capacity_bps: u64,
    pub rtt: Duration,
    pub random_loss: f64,
    pub flows: usize,
    /// When each flow starts.
    pub flow_start: Duration,
    pub duration: Duration,
    pub step: Option<Step>,
    /// More capacity changes (RFC 8867 §5.1's schedule), reported per phase only.
    pub schedule: Vec<Step>,
    pub seed: u64,
}

impl Scenario {
    pub fn new(name: &'static str, capacity_bps: u64, rtt_ms: u64) -> Scenario {
        Scenario {
            name,
            capacity_bps,
            rtt: Duration::from_millis(rtt_ms),
            random_loss: 0.0,
            flows: 1,
            flow_start: Duration::ZERO,
            duration: Duration::from_secs(30),
            step: None,
            schedule: Vec::new(),
            seed: 1,
        }
    }
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub scenario: Scenario,
    /// From the start (or the step, when capacity rises) to the end of the first second
    /// (on a 250 ms grid) with 85 % of the capacity delivered.
    pub time_to_85: Option<Duration>,
    /// Delivered / capacity over the second half of the run (after any step).
    pub utilization: f64,
    /// Mean one-way delay above the smallest seen, over the same window.
    pub queue_delay: Duration,
    /// Datagrams the bottleneck dropped (tail drop and random loss) / sent.
    pub loss: f64,
    /// From a capacity drop until the flows' targets add up to less than the new capacity.
    pub reaction: Option<Duration>,
    /// Each flow's delivered rate over the last 10 s.
    pub flow_rates: Vec<u64>,
    /// Each flow's last target.
    pub final_targets: Vec<u64>,
    /// Between capacity changes: delivered / capacity and mean queueing delay.
    pub phases: Vec<Phase>,
}

/// One stretch of constant capacity.
#[derive(Clone, Copy, Debug)]
pub struct Phase {
    pub start: Duration,
    pub end: Duration,
    pub capacity_bps: u64,
    pub utilization: f64,
    pub queue_delay: Duration,
}

const BIN: Duration = Duration::from_millis(250);

fn link(capacity_bps: u64, rtt: Duration, loss: f64) -> LinkConfig {
    LinkConfig {
        loss,
        delay: rtt / 2,
        bandwidth: Some(capacity_bps / 8),
        // 300 ms of queue at the bottleneck, as the RMCAT test cases use (RFC 8867 §4).
        queue_bytes: Some((capacity_bps / 8 * 3 / 10) as usize),
        ..LinkConfig::default()
    }
}

pub fn run(s: &Scenario) -> Outcome {
    let mut net: Network<Host> = Network::new(s.seed);
    let limits = BitrateLimits {
        min_bps: 30_000,
        start_bps: 300_000,
        max_bps: 20_000_000,
    };
    let flows = (0..s.flows)
        .map(|i| Flow::new(limits, Instant::ZERO + s.flow_start * i as u32))
        .collect();
    let a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let b: SocketAddr = "10.0.0.2:5000".parse().unwrap();
    let sender: NodeId = net.add(
        Host::Senders {
            flows,
            now: Instant::ZERO,
            next_flow: 0,
        },
        a,
        link(s.capacity_bps, s.rtt, s.random_loss),
    );
    let receivers = (0..s.flows)
        .map(|_| FlowReceiver {
            twcc: TwccFeedback::new(TwccConfig::default()),
            statuses: vec![TccStatus::NotReceived; 1024],
        })
        .collect();
    let receiver = net.add(
        Host::Receiver {
            flows: receivers,
            arrivals: Vec::new(),
            now: Instant::ZERO,
        },
        b,
        LinkConfig {
            delay: s.rtt / 2,
            ..LinkConfig::default()
        },
    );
    net.set_default_peer(sender, b);
    net.set_default_peer(receiver, a);
    let capacity_at = |t: Duration| match s.step {
        Some(step) if t >= step.at => step.capacity_bps,
        _ => s.capacity_bps,
    };
    let changes: Vec<Step> = s.step.iter().chain(&s.schedule).copied().collect();
    let mut elapsed = Duration::ZERO;
    for change in &changes {
        net.run_for(change.at - elapsed);
        net.set_link(sender, link(change.capacity_bps, s.rtt, s.random_loss));
        elapsed = change.at;
    }
    net.run_for(s.duration - elapsed);
    let stats = net.link_stats(sender);
    let Host::Receiver { arrivals, .. } = net.node(receiver) else {
        unreachable!()
    };
    let Host::Senders { flows, .. } = net.node(sender) else {
        unreachable!()
    };

    // Delivered bytes per 250 ms bin.
    let bins = (s.duration.as_micros() / BIN.as_micros()) as usize + 1;
    let mut delivered = vec![0u64; bins];
    for a in arrivals {
        delivered[(a.at.as_micros() / BIN.as_micros() as u64) as usize] += a.size as u64;
    }
    let search_from = match s.step {
        Some(step) if step.capacity_bps > s.capacity_bps => step.at,
        _ => Duration::ZERO,
    };
    // Sustained, not a probe's spike: the first second whose average reaches 85 %.
    let per_second = (Duration::from_secs(1).as_micros() / BIN.as_micros()) as usize;
    let time_to_85 = delivered
        .windows(per_second)
        .enumerate()
        .find_map(|(i, w)| {
            let start = BIN * i as u32;
            let end = start + Duration::from_secs(1);
            let bytes: u64 = w.iter().sum();
            (start >= search_from && bytes as f64 * 8.0 >= 0.85 * capacity_at(start) as f64)
                .then(|| end - search_from)
        });
    let steady_from = match s.step {
        Some(step) => step.at + (s.duration - step.at) / 2,
        None => s.duration / 2,
    };
    let steady: Vec<&Arrival> = arrivals
        .iter()
        .filter(|a| a.at >= Instant::ZERO + steady_from)
        .collect();
    let steady_bytes: u64 = steady.iter().map(|a| a.size as u64).sum();
    // Capacity over the window, through every change in it.
    let mut capacity_bits = 0.0;
    let mut at = steady_from;
    let mut rate = changes
        .iter()
        .rfind(|c| c.at <= steady_from)
        .map_or(s.capacity_bps, |c| c.capacity_bps);
    for c in changes.iter().filter(|c| c.at > steady_from) {
        capacity_bits += rate as f64 * (c.at - at).as_secs_f64();
        at = c.at;
        rate = c.capacity_bps;
    }
    capacity_bits += rate as f64 * (s.duration - at).as_secs_f64();
    let utilization = steady_bytes as f64 * 8.0 / capacity_bits;
    let base = arrivals.iter().map(|a| a.one_way).min().unwrap_or_default();
    let queue_delay = if steady.is_empty() {
        Duration::ZERO
    } else {
        steady.iter().map(|a| a.one_way - base).sum::<Duration>() / steady.len() as u32
    };
    let loss = (stats.queue_dropped + stats.lost) as f64 / stats.sent.max(1) as f64;
    let reaction = s
        .step
        .filter(|st| st.capacity_bps < s.capacity_bps)
        .and_then(|st| {
            let from = Instant::ZERO + st.at;
            // The first feedback after the step at which the flows' targets add up to less.
            let mut current: Vec<u64> = flows
                .iter()
                .map(|f| {
                    f.targets
                        .iter()
                        .rev()
                        .find(|(t, _)| *t < from)
                        .map_or(u64::MAX, |x| x.1)
                })
                .collect();
            let mut events: Vec<(Instant, usize, u64)> = flows
                .iter()
                .enumerate()
                .flat_map(|(i, f)| f.targets.iter().map(move |&(t, v)| (t, i, v)))
                .filter(|&(t, _, _)| t >= from)
                .collect();
            events.sort_by_key(|e| e.0);
            events.into_iter().find_map(|(t, i, v)| {
                current[i] = v;
                (current.iter().sum::<u64>() < st.capacity_bps).then(|| t - from)
            })
        });
    let last10 = Instant::ZERO + s.duration - Duration::from_secs(10);
    let flow_rates = (0..s.flows)
        .map(|i| {
            let bytes: u64 = arrivals
                .iter()
                .filter(|a| a.flow == i as u32 && a.at >= last10)
                .map(|a| a.size as u64)
                .sum();
            bytes * 8 / 10
        })
        .collect();
    let final_targets = flows.iter().map(|f| f.estimator.target_bps()).collect();
    let mut bounds: Vec<(Duration, u64)> = vec![(Duration::ZERO, s.capacity_bps)];
    bounds.extend(changes.iter().map(|c| (c.at, c.capacity_bps)));
    let phases = bounds
        .iter()
        .enumerate()
        .map(|(i, &(start, capacity_bps))| {
            let end = bounds.get(i + 1).map_or(s.duration, |b| b.0);
            let inside: Vec<&Arrival> = arrivals
                .iter()
                .filter(|a| a.at >= Instant::ZERO + start && a.at < Instant::ZERO + end)
                .collect();
            let bytes: u64 = inside.iter().map(|a| a.size as u64).sum();
            let utilization =
                bytes as f64 * 8.0 / (capacity_bps as f64 * (end - start).as_secs_f64());
            let queue_delay = if inside.is_empty() {
                Duration::ZERO
            } else {
                inside.iter().map(|a| a.one_way - base).sum::<Duration>() / inside.len() as u32
            };
            Phase {
                start,
                end,
                capacity_bps,
                utilization,
                queue_delay,
            }
        })
        .collect();
    Outcome {
        scenario: s.clone(),
        time_to_85,
        utilization,
        queue_delay,
        loss,
        reaction,
        flow_rates,
        final_targets,
        phases,
    }
}

pub fn phase_rows(o: &Outcome) -> Vec<String> {
    o.phases
        .iter()
        .map(|p| {
            format!(
                "  {:>5.0}-{:<5.0} s {:>5.2} Mbit/s  utilization {:>5.1}%  queueing {:>6.1} ms",
                p.start.as_secs_f64(),
                p.end.as_secs_f64(),
                p.capacity_bps as f64 / 1e6,
                p.utilization * 100.0,
                p.queue_delay.as_secs_f64() * 1000.0
            )
        })
        .collect()
}

pub fn header() -> String {
    format!(
        "{:<28} {:>9} {:>6} {:>6} {:>9} {:>7} {:>9} {:>7} {:>9}  {}",
        "scenario",
        "capacity",
        "RTT",
        "loss",
        "to 85 %",
        "util",
        "queueing",
        "drops",
        "reaction",
        "per flow (last 10 s) / final target"
    )
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("never".into(), |d| format!("{:.2} s", d.as_secs_f64()))
}

pub fn row(o: &Outcome) -> String {
    let s = &o.scenario;
    let flows: Vec<String> = o
        .flow_rates
        .iter()
        .zip(&o.final_targets)
        .map(|(r, t)| format!("{:.2}/{:.2}", *r as f64 / 1e6, *t as f64 / 1e6))
        .collect();
    let capacity = match s.step {
        Some(st) => format!(
            "{:.1}→{:.1}",
            s.capacity_bps as f64 / 1e6,
            st.capacity_bps as f64 / 1e6
        ),
        None => format!("{:.1}", s.capacity_bps as f64 / 1e6),
    };
    format!(
        "{:<28} {:>9} {:>4}ms {:>5.1}% {:>9} {:>6.1}% {:>6.1} ms {:>6.2}% {:>9}  {}",
        s.name,
        capacity,
        s.rtt.as_millis(),
        s.random_loss * 100.0,
        ms(o.time_to_85),
        o.utilization * 100.0,
        o.queue_delay.as_secs_f64() * 1000.0,
        o.loss * 100.0,
        if s.step.is_some_and(|st| st.capacity_bps < s.capacity_bps) {
            ms(o.reaction)
        } else {
            "-".into()
        },
        flows.join(" ")
    )
}
