//! The peerless embassy application on a NUCLEO-F429ZI: STM32F429ZI at 168 MHz, its Ethernet
//! MAC on RMII to the board's LAN8742A PHY, DHCP for an address, the hardware RNG for every
//! seed. Plug the board into a LAN, open `http://<its address>:8080/` in a browser.
//!
//! ```text
//!   main: clocks (HSE 8 MHz bypass -> PLL 168 MHz, 48 MHz for the RNG), RNG seeds,
//!         Ethernet (RMII pins of the NUCLEO-144), embassy-net with DHCP, then four tasks:
//!   net_task   embassy-net's runner (frames <-> sockets)
//!   peer_task  peerless_embassy_app::peer_task (UDP 5000: the Peer, echo)
//!   http_task  peerless_embassy_app::http_task (TCP 8080: POST /whip, GET /)
//! ```
//!
//! Build: `cargo build --release -p peerless-embassy-stm32 --target thumbv7em-none-eabihf`
//! (add `--features defmt` for logs over RTT). Flash and run: `probe-rs run --chip
//! STM32F429ZITx target/thumbv7em-none-eabihf/release/peerless-stm32`.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embassy_executor::Executor;
use embassy_net::StackResources;
use embassy_stm32::eth::{Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng::Rng;
use embassy_stm32::time::Hertz;
use embassy_stm32::{Config, bind_interrupts, eth, rng};
use peerless_embassy_app::{
    HttpResources, Identity, PeerResources, Signaling, http_task, peer_task,
};
use static_cell::{ConstStaticCell, StaticCell};

#[cfg(not(feature = "defmt"))]
use panic_halt as _;
#[cfg(feature = "defmt")]
use {defmt_rtt as _, panic_probe as _};

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    HASH_RNG => rng::InterruptHandler<RNG>;
});

type Device = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

/// The board has no battery-backed clock set at boot: the certificate's validity starts at a
/// fixed recent time (browsers check the fingerprint, not the dates).
const UNIX_TIME_AT_BOOT: u64 = 1_763_700_000;

static SIGNALING: Signaling = Signaling::new();
static PEER_RESOURCES: ConstStaticCell<PeerResources> = ConstStaticCell::new(PeerResources::new());
static HTTP_RESOURCES: ConstStaticCell<HttpResources> = ConstStaticCell::new(HttpResources::new());
static STACK_RESOURCES: ConstStaticCell<StackResources<4>> =
    ConstStaticCell::new(StackResources::new());
/// The Ethernet DMA's descriptors and frame buffers (1 536 B each): 4 to receive, so a burst
/// of full-size frames (a DTLS flight, an SCTP window) lands while the executor is busy in a
/// handshake step; 2 to send, as the tasks send one datagram at a time and wait for room.
static PACKETS: ConstStaticCell<PacketQueue<4, 2>> = ConstStaticCell::new(PacketQueue::new());
static EXECUTOR: StaticCell<Executor> = StaticCell::new();

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device>) -> ! {
    runner.run().await
}

fn clocks() -> Config {
    use embassy_stm32::rcc::{
        AHBPrescaler, APBPrescaler, Hse, HseMode, Pll, PllMul, PllPDiv, PllPreDiv, PllQDiv,
        PllSource, Sysclk,
    };
    let mut config = Config::default();
    // The ST-LINK's 8 MHz MCO drives HSE in bypass mode on NUCLEO-144 boards.
    config.rcc.hse = Some(Hse {
        freq: Hertz(8_000_000),
        mode: HseMode::Bypass,
    });
    config.rcc.pll_src = PllSource::HSE;
    // 8 / 4 * 168 = 336 MHz VCO: /2 = 168 MHz system clock, /7 = 48 MHz for the RNG.
    config.rcc.pll = Some(Pll {
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL168,
        divp: Some(PllPDiv::DIV2),
        divq: Some(PllQDiv::DIV7),
        divr: None,
    });
    config.rcc.ahb_pre = AHBPrescaler::DIV1;
    config.rcc.apb1_pre = APBPrescaler::DIV4;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config.rcc.sys = Sysclk::PLL1_P;
    config
}

#[entry]
fn main() -> ! {
    let p = embassy_stm32::init(clocks());
    let mut rng = Rng::new(p.RNG, Irqs);
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let mut net_seed = [0u8; 8];
    rng.fill_bytes(&mut net_seed);
    // A locally administered MAC derived from the RNG would change every boot; the 96-bit
    // unique device id keeps it stable per board.
    let uid = embassy_stm32::uid::uid();
    let mac = [0x02, 0x70, uid[0], uid[1], uid[2], uid[3]];

    // NUCLEO-F429ZI RMII: REF_CLK PA1, CRS_DV PA7, RXD0 PC4, RXD1 PC5, TXD0 PG13, TXD1 PB13,
    // TX_EN PG11; MDIO PA2, MDC PC1.
    let device: Device = Ethernet::new(
        PACKETS.take(),
        p.ETH,
        Irqs,
        p.PA1,
        p.PA7,
        p.PC4,
        p.PC5,
        p.PG13,
        p.PB13,
        p.PG11,
        mac,
        p.ETH_SMA,
        p.PA2,
        p.PC1,
    );
    let config = embassy_net::Config::dhcpv4(Default::default());
    let (stack, runner) = embassy_net::new(
        device,
        config,
        STACK_RESOURCES.take(),
        u64::from_le_bytes(net_seed),
    );
    let identity = Identity {
        seed,
        unix_time: UNIX_TIME_AT_BOOT,
    };
    EXECUTOR.init(Executor::new()).run(move |spawner| {
        // Each task has a pool of one and is spawned once: spawning cannot fail here.
        if let Ok(t) = net_task(runner) {
            spawner.spawn(t);
        }
        if let Ok(t) = peer_task(stack, PEER_RESOURCES.take(), &SIGNALING, identity) {
            spawner.spawn(t);
        }
        if let Ok(t) = http_task(stack, HTTP_RESOURCES.take(), &SIGNALING) {
            spawner.spawn(t);
        }
    })
}
