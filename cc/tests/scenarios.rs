//! The congestion-control scenarios of issue 16 in the simulator, each with its goal
//! asserted and its table printed (`cargo test -p peerless-cc --release --test scenarios --
//! --nocapture`, or scripts/bench/cc.sh). `CC_TRACE=1` prints every flow's estimate at each
//! feedback (run one test with `--test-threads 1`).

mod common;

use std::time::Duration;

use common::{Outcome, Scenario, Step, header, phase_rows, row, run};

fn report(title: &str, outcomes: &[Outcome]) {
    println!("\n{title}\n{}", header());
    for o in outcomes {
        println!("{}", row(o));
    }
}

/// 1, 2.5 and 5 Mbit/s × RTT 20, 100, 200 ms: ≥ 85 % of capacity within 5 s, mean queueing
/// delay ≤ 100 ms at steady state, loss ≤ 2 %.
/// 1, 2.5 and 5 Mbit/s × RTT 20, 100, 200 ms: ≥ 85 % of capacity within 5 s, mean queueing
/// delay ≤ 100 ms at steady state, loss ≤ 2 %.
#[test]
fn one_for_tracing() {
    let Some(spec) = std::env::var_os("CC_TRACE") else {
        return;
    };
    let spec = spec.into_string().unwrap_or_default();
    let mut it = spec.split(',').map(|x| x.parse::<u64>().unwrap_or(0));
    let (capacity, rtt) = (it.next().unwrap_or(1_000_000), it.next().unwrap_or(100));
    let mut s = Scenario::new("trace", capacity, rtt);
    if let Some(after) = it.next() {
        s.step = Some(Step {
            at: Duration::from_secs(15),
            capacity_bps: after,
        });
    }
    let o = run(&s);
    report("trace", &[o]);
}

#[test]
fn capacity_and_rtt_grid() {
    let mut outcomes = Vec::new();
    for capacity in [1_000_000, 2_500_000, 5_000_000] {
        for rtt in [20, 100, 200] {
            outcomes.push(run(&Scenario::new("grid", capacity, rtt)));
        }
    }
    report(
        "capacity x RTT (30 s each, 300 ms tail-drop queue)",
        &outcomes,
    );
    for o in &outcomes {
        let what = row(o);
        assert!(
            o.time_to_85.is_some_and(|t| t <= Duration::from_secs(5)),
            "85 % within 5 s: {what}"
        );
        assert!(
            o.queue_delay <= Duration::from_millis(100),
            "queueing: {what}"
        );
        assert!(o.loss <= 0.02, "loss: {what}");
        assert!(o.utilization >= 0.85, "steady utilization: {what}");
    }
}

/// Capacity halves mid-call: every target below the new capacity within 2 s.
#[test]
fn capacity_halves() {
    let mut outcomes = Vec::new();
    for rtt in [20, 100, 200] {
        let mut s = Scenario::new("halves at 15 s", 2_500_000, rtt);
        s.step = Some(Step {
            at: Duration::from_secs(15),
            capacity_bps: 1_250_000,
        });
        outcomes.push(run(&s));
    }
    report("capacity halves", &outcomes);
    for o in &outcomes {
        assert!(
            o.reaction.is_some_and(|t| t <= Duration::from_secs(2)),
            "reaction: {}",
            row(o)
        );
    }
}

/// Capacity doubles mid-call: 85 % of the new capacity within 10 s.
#[test]
fn capacity_doubles() {
    let mut outcomes = Vec::new();
    for rtt in [20, 100, 200] {
        let mut s = Scenario::new("doubles at 15 s", 1_250_000, rtt);
        s.step = Some(Step {
            at: Duration::from_secs(15),
            capacity_bps: 2_500_000,
        });
        outcomes.push(run(&s));
    }
    report("capacity doubles", &outcomes);
    for o in &outcomes {
        assert!(
            o.time_to_85.is_some_and(|t| t <= Duration::from_secs(10)),
            "85 % of the new capacity within 10 s: {}",
            row(o)
        );
    }
}

/// Two senders share one bottleneck queue (the second starts 5 s later): each within 30 %
/// of a fair share over the last 10 s of 40.
#[test]
fn two_flows_share_a_bottleneck() {
    let mut outcomes = Vec::new();
    for rtt in [20, 100] {
        let mut s = Scenario::new("two flows", 2_500_000, rtt);
        s.flows = 2;
        s.flow_start = Duration::from_secs(5);
        s.duration = Duration::from_secs(40);
        outcomes.push(run(&s));
    }
    report("two flows, one bottleneck", &outcomes);
    for o in &outcomes {
        let fair = o.scenario.capacity_bps as f64 / 2.0;
        for &rate in &o.flow_rates {
            assert!(
                (rate as f64 - fair).abs() <= 0.3 * fair,
                "fair share {fair}: {}",
                row(o)
            );
        }
    }
}

/// 5 % random loss and no congestion: the loss-based part holds, the target does not
/// collapse.
#[test]
fn random_loss_without_congestion() {
    let mut outcomes = Vec::new();
    for rtt in [20, 100] {
        let mut s = Scenario::new("5 % random loss", 2_500_000, rtt);
        s.random_loss = 0.05;
        outcomes.push(run(&s));
    }
    report("random loss", &outcomes);
    for o in &outcomes {
        let target = o.final_targets[0];
        assert!(
            target as f64 >= 0.5 * o.scenario.capacity_bps as f64,
            "collapsed: {}",
            row(o)
        );
    }
}

/// RFC 8867 §5.1, variable available capacity with a single flow: 1, 2.5, 0.6, 1 Mbit/s
/// from 0, 40, 60, 80 s for 100 s, 50 ms one-way delay, 300 ms queue. Printed per phase.
/// (The nearest published GCC run, MMSys 2016 §6.1, used 1/2.5/0.5/1 Mbit/s every 50 s at
/// RTT 50 ms.)
#[test]
fn rfc8867_variable_capacity_single_flow() {
    let mut s = Scenario::new("RFC 8867 5.1", 1_000_000, 100);
    s.duration = Duration::from_secs(100);
    s.schedule = [(40, 2_500_000), (60, 600_000), (80, 1_000_000)]
        .into_iter()
        .map(|(at, capacity_bps)| Step {
            at: Duration::from_secs(at),
            capacity_bps,
        })
        .collect();
    let o = run(&s);
    report(
        "RFC 8867 5.1 (1 / 2.5 / 0.6 / 1 Mbit/s at 0 / 40 / 60 / 80 s, RTT 100 ms)",
        std::slice::from_ref(&o),
    );
    for line in phase_rows(&o) {
        println!("{line}");
    }
    assert!(o.loss <= 0.02, "{}", row(&o));
    for p in &o.phases {
        assert!(p.utilization >= 0.75, "phase {p:?}");
        assert!(p.queue_delay <= Duration::from_millis(100), "phase {p:?}");
    }
}
