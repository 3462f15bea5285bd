//! The peerless embassy application on an ESP32-C3 with a WIZnet W5500 Ethernet module on SPI
//! (embassy-net-wiznet), DHCP for an address, the chip's TRNG for every seed.
//!
//! ```text
//!   main: clocks (160 MHz), esp-rtos (embassy time driver + executor), TRNG seeds,
//!         SPI2 at 20 MHz to the W5500, embassy-net with DHCP, then four tasks:
//!   wiznet_task  the W5500 driver (SPI frames <-> embassy-net)
//!   net_task     embassy-net's runner
//!   peer_task    peerless_embassy_app::peer_task (UDP 5000: the Peer, echo)
//!   http_task    peerless_embassy_app::http_task (TCP 8080: POST /whip, GET /)
//!
//!   wiring (ESP32-C3-DevKitM-1 -> W5500 module):
//!     GPIO6 SCLK   GPIO7 MOSI   GPIO2 MISO   GPIO10 CS   GPIO3 INT   GPIO4 RST   3V3   GND
//! ```
//!
//! Why Ethernet: the Wi-Fi driver (`esp-radio`) needs a global allocator (the blobs allocate),
//! and this build has none at all: a W5500 costs a few dollars, runs the same embassy-net
//! stack, and keeps the whole firmware allocation-free. The C3's own Wi-Fi is `esp32c3-wifi/`,
//! with a heap that only the driver uses.
//!
//! Build: `cargo build --release -p peerless-embassy-esp32c3 --target riscv32imc-unknown-none-elf`.
//! Flash and watch: `espflash flash --monitor
//! target/riscv32imc-unknown-none-elf/release/peerless-esp32c3`.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_net_wiznet::chip::W5500;
use embassy_net_wiznet::{Device, Runner, State};
use embassy_time::Delay;
use embedded_hal_bus::spi::ExclusiveDevice;
use esp_hal::Async;
use esp_hal::clock::CpuClock;
use esp_hal::gpio::{Input, InputConfig, Level, Output, OutputConfig, Pull};
use esp_hal::rng::{Trng, TrngSource};
use esp_hal::spi::Mode;
use esp_hal::spi::master::{Config as SpiConfig, Spi};
use esp_hal::time::Rate;
use esp_hal::timer::timg::TimerGroup;
use peerless_embassy_app::{
    HttpResources, Identity, PeerResources, Signaling, http_task, peer_task,
};
use static_cell::{ConstStaticCell, StaticCell};

#[cfg(feature = "defmt")]
use esp_println as _;

// The ESP-IDF second-stage bootloader checks for this application descriptor.
esp_bootloader_esp_idf::esp_app_desc!();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A Peer never panics on network input; anything else is a bug: restart the board.
    esp_hal::system::software_reset()
}

type Spi2 = ExclusiveDevice<Spi<'static, Async>, Output<'static>, Delay>;
type Wiznet = Runner<'static, W5500, Spi2, Input<'static>, Output<'static>>;

/// The board has no clock set at boot: the certificate's validity starts at a fixed recent
/// time (browsers check the fingerprint, not the dates).
const UNIX_TIME_AT_BOOT: u64 = 1_763_700_000;

static SIGNALING: Signaling = Signaling::new();
static PEER_RESOURCES: ConstStaticCell<PeerResources> = ConstStaticCell::new(PeerResources::new());
static HTTP_RESOURCES: ConstStaticCell<HttpResources> = ConstStaticCell::new(HttpResources::new());
static STACK_RESOURCES: ConstStaticCell<StackResources<4>> =
    ConstStaticCell::new(StackResources::new());
static WIZNET_STATE: StaticCell<State<4, 4>> = StaticCell::new();

#[embassy_executor::task]
async fn wiznet_task(runner: Wiznet) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device<'static>>) -> ! {
    runner.run().await
}

#[esp_rtos::main]
async fn main(spawner: Spawner) {
    let p = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));
    let timg0 = TimerGroup::new(p.TIMG0);
    esp_rtos::start(timg0.timer0, p.FROM_CPU_INTR0);

    // The TRNG mixes ADC noise into the RNG; without an entropy source it is only a PRNG.
    let _entropy = TrngSource::new(p.RNG, p.ADC1);
    let mut seed = [0u8; 32];
    let mut net_seed = [0u8; 8];
    let Ok(trng) = Trng::try_new() else {
        esp_hal::system::software_reset()
    };
    trng.read(&mut seed);
    trng.read(&mut net_seed);
    // A stable, locally administered MAC from the factory one (the W5500 has none).
    let base = esp_hal::efuse::base_mac_address();
    let mut mac = [0x02, 0, 0, 0, 0, 0];
    for (dst, src) in mac.iter_mut().zip(base.as_bytes()).skip(1) {
        *dst = *src;
    }

    let spi_config = SpiConfig::default()
        .with_frequency(Rate::from_mhz(20))
        .with_mode(Mode::_0);
    let Ok(spi) = Spi::new(p.SPI2, spi_config) else {
        esp_hal::system::software_reset()
    };
    let spi = spi
        .with_sck(p.GPIO6)
        .with_mosi(p.GPIO7)
        .with_miso(p.GPIO2)
        .into_async();
    let cs = Output::new(p.GPIO10, Level::High, OutputConfig::default());
    let int = Input::new(p.GPIO3, InputConfig::default().with_pull(Pull::Up));
    let reset = Output::new(p.GPIO4, Level::High, OutputConfig::default());
    // A push-pull GPIO cannot fail to switch: the error type is `Infallible`.
    let Ok(spi) = ExclusiveDevice::new(spi, cs, Delay);
    let Ok((device, wiznet)) = embassy_net_wiznet::new::<4, 4, W5500, _, _, _>(
        mac,
        WIZNET_STATE.init(State::new()),
        spi,
        int,
        reset,
    )
    .await
    else {
        // No W5500 answering on SPI: check the wiring above.
        esp_hal::system::software_reset()
    };

    let (stack, runner) = embassy_net::new(
        device,
        embassy_net::Config::dhcpv4(Default::default()),
        STACK_RESOURCES.take(),
        u64::from_le_bytes(net_seed),
    );
    let identity = Identity {
        seed,
        unix_time: UNIX_TIME_AT_BOOT,
    };
    // Each task has a pool of one and is spawned once: spawning cannot fail here.
    if let Ok(t) = wiznet_task(wiznet) {
        spawner.spawn(t);
    }
    if let Ok(t) = net_task(runner) {
        spawner.spawn(t);
    }
    if let Ok(t) = peer_task(stack, PEER_RESOURCES.take(), &SIGNALING, identity) {
        spawner.spawn(t);
    }
    if let Ok(t) = http_task(stack, HTTP_RESOURCES.take(), &SIGNALING) {
        spawner.spawn(t);
    }
}
