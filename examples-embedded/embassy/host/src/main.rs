//! The embassy application on Linux, unchanged: embassy-executor `platform-std`, embassy-time's
//! std driver, and embassy-net over a TAP device (`embassy-net-tuntap`). It is how the same
//! firmware code meets real WebRTC stacks in CI (`scripts/interop/embedded-host-aiortc.sh`).
//!
//! ```text
//!   peerless-embassy-host --tap TAP --address 192.0.2.2/24 [--duration SECONDS]
//!                         [--whip-publish http://A.B.C.D:PORT/path [--token TOKEN]]
//!
//!   kernel side (namespace)          embassy side (this process)
//!   tap0 192.0.2.1/24  <== Ethernet frames ==>  embassy-net 192.0.2.2
//!                                               UDP 5000: the Peer   TCP 8080: POST /whip
//! ```
//!
//! With `--whip-publish` the application publishes to that WHIP endpoint (RFC 9725) instead of
//! waiting for offers (no HTTP server then): it POSTs its offer, runs the session, DELETEs it
//! when it ends and publishes again. It stops (closing and DELETEing the session, then
//! exiting 0, or 3 if the last DELETE or publication failed) after `--duration`, or when a
//! line `stop` arrives on standard input. The token may also come from `WHIP_TOKEN`.
//!
//! Create the TAP device first (inside a network namespace, as root):
//! `ip tuntap add dev tap0 mode tap && ip addr add 192.0.2.1/24 dev tap0 && ip link set tap0 up`.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use embassy_executor::{Executor, Spawner};
use embassy_net::{Config, Ipv4Cidr, Runner, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use peerless_embassy_app::whip::{WhipConfig, WhipControl, WhipResources, whip_task};
use peerless_embassy_app::{
    HttpResources, Identity, PeerResources, Signaling, http_task, peer_task,
};
use static_cell::{ConstStaticCell, StaticCell};

static SIGNALING: Signaling = Signaling::new();
static PEER_RESOURCES: ConstStaticCell<PeerResources> = ConstStaticCell::new(PeerResources::new());
static HTTP_RESOURCES: ConstStaticCell<HttpResources> = ConstStaticCell::new(HttpResources::new());
static STACK_RESOURCES: ConstStaticCell<StackResources<4>> =
    ConstStaticCell::new(StackResources::new());
static EXECUTOR: StaticCell<Executor> = StaticCell::new();
static WHIP_RESOURCES: ConstStaticCell<WhipResources> = ConstStaticCell::new(WhipResources::new());
static WHIP_CONTROL: WhipControl = WhipControl::new();

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

/// Ends the process after the requested run time (the interop script's safety net).
#[embassy_executor::task]
async fn stop_after(seconds: u64) {
    embassy_time::Timer::after_secs(seconds).await;
    log::info!("host: {seconds} s elapsed, exiting");
    std::process::exit(0);
}

/// Publishing: stops after the requested run time (DELETE first, then the process ends).
#[embassy_executor::task]
async fn whip_stop_after(seconds: u64) {
    embassy_time::Timer::after_secs(seconds).await;
    log::info!("host: {seconds} s elapsed, stopping the publication");
    WHIP_CONTROL.stop();
}

/// Publishing: ends the process once the WHIP task has stopped (its DELETE done).
#[embassy_executor::task]
async fn whip_exit() {
    let result = WHIP_CONTROL.finished().await;
    log::info!("host: WHIP publishing finished: {result:?}");
    std::process::exit(if result.is_ok() { 0 } else { 3 });
}

struct Options {
    tap: String,
    address: Ipv4Cidr,
    duration: Option<u64>,
    whip: Option<String>,
    token: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let usage = "usage: peerless-embassy-host --tap NAME --address A.B.C.D/LEN [--duration S] \
                 [--whip-publish http://A.B.C.D[:PORT]/PATH [--token TOKEN]]";
    let mut args = std::env::args().skip(1);
    let (mut tap, mut address, mut duration) = (None, None, None);
    let (mut whip, mut token) = (None, std::env::var("WHIP_TOKEN").ok());
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{a} needs a value\n{usage}"))
        };
        match a.as_str() {
            "--tap" => tap = Some(value()?),
            "--address" => {
                let v = value()?;
                let (ip, len) = v
                    .split_once('/')
                    .ok_or(format!("--address {v}: A.B.C.D/LEN"))?;
                address = Some(Ipv4Cidr::new(
                    ip.parse().map_err(|e| format!("--address: {e}"))?,
                    len.parse().map_err(|e| format!("--address: {e}"))?,
                ));
            }
            "--duration" => {
                duration = Some(value()?.parse().map_err(|e| format!("--duration: {e}"))?)
            }
            "--whip-publish" => whip = Some(value()?),
            "--token" => token = Some(value()?),
            _ => return Err(format!("unknown option {a}\n{usage}")),
        }
    }
    Ok(Options {
        tap: tap.ok_or(usage)?,
        address: address.ok_or(usage)?,
        duration,
        whip,
        token,
    })
}

/// 32 bytes from the OS: on a board this is the TRNG.
fn os_seed() -> std::io::Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(seed)
}

fn main() -> ExitCode {
    env_logger::Builder::new()
        .parse_filters(&std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let device = match TunTapDevice::new(&options.tap) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("host: cannot open TAP device {}: {e}", options.tap);
            return ExitCode::FAILURE;
        }
    };
    let seed = match os_seed() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("host: no randomness: {e}");
            return ExitCode::FAILURE;
        }
    };
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1_700_000_000, |d| d.as_secs());
    let config = Config::ipv4_static(StaticConfigV4 {
        address: options.address,
        gateway: None,
        dns_servers: Default::default(),
    });
    let net_seed = u64::from_le_bytes([
        seed[0], seed[1], seed[2], seed[3], seed[4], seed[5], seed[6], seed[7],
    ]);
    let (stack, runner) = embassy_net::new(device, config, STACK_RESOURCES.take(), net_seed);
    let identity = Identity { seed, unix_time };
    log::info!(
        "host: {} on {}, HTTP {} UDP {}",
        options.address,
        options.tap,
        peerless_embassy_app::sizes::HTTP_PORT,
        peerless_embassy_app::sizes::UDP_PORT
    );
    let duration = options.duration;
    if let Some(url) = options.whip {
        // The task keeps the URL and token for its whole life: give them 'static storage.
        let config = WhipConfig {
            url: String::leak(url),
            token: options.token.map(String::leak).map(|t| &*t),
        };
        log::info!("host: publishing to {} (WHIP)", config.url);
        // `stop` on standard input ends the publication (EOF does not: CI runs without one).
        std::thread::spawn(|| {
            for line in std::io::stdin().lines() {
                match line {
                    Ok(l) if l.trim() == "stop" => WHIP_CONTROL.stop(),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        EXECUTOR.init(Executor::new()).run(move |spawner: Spawner| {
            let spawned = net_task(runner)
                .map(|t| spawner.spawn(t))
                .and_then(|()| {
                    whip_task(
                        stack,
                        PEER_RESOURCES.take(),
                        WHIP_RESOURCES.take(),
                        &WHIP_CONTROL,
                        identity,
                        config,
                    )
                    .map(|t| spawner.spawn(t))
                })
                .and_then(|()| whip_exit().map(|t| spawner.spawn(t)))
                .and_then(|()| match duration {
                    Some(s) => whip_stop_after(s).map(|t| spawner.spawn(t)),
                    None => Ok(()),
                });
            if let Err(e) = spawned {
                eprintln!("host: cannot spawn: {e:?}");
                std::process::exit(1);
            }
        })
    }
    EXECUTOR.init(Executor::new()).run(move |spawner: Spawner| {
        let spawned = net_task(runner)
            .map(|t| spawner.spawn(t))
            .and_then(|()| {
                peer_task(stack, PEER_RESOURCES.take(), &SIGNALING, identity)
                    .map(|t| spawner.spawn(t))
            })
            .and_then(|()| {
                http_task(stack, HTTP_RESOURCES.take(), &SIGNALING).map(|t| spawner.spawn(t))
            })
            .and_then(|()| match duration {
                Some(s) => stop_after(s).map(|t| spawner.spawn(t)),
                None => Ok(()),
            });
        if let Err(e) = spawned {
            eprintln!("host: cannot spawn: {e:?}");
            std::process::exit(1);
        }
    })
}
