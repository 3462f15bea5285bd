//! The peerless embassy application on an ESP32-C3 over the chip's own Wi-Fi (esp-radio, station
//! mode), DHCP for an address, the chip's TRNG for every seed, and a heap that only the Wi-Fi
//! driver uses.
//!
//! ```text
//!   main: clocks (160 MHz), heap regions for the driver, esp-rtos (scheduler for the Wi-Fi
//!         blobs' threads, embassy time driver + executor), TRNG seeds, Wi-Fi controller in
//!         station mode, embassy-net with DHCP over the station interface, then five tasks:
//!   wifi_task    joins PEERLESS_WIFI_SSID, rejoins after every disconnect
//!   net_task     embassy-net's runner (802.11 frames <-> embassy-net via esp-radio)
//!   heap_task    logs the heap: in use, high-water mark, calls (defmt builds)
//!   peer_task    peerless_embassy_app::peer_task (UDP 5000: the Peer, echo)
//!   http_task    peerless_embassy_app::http_task (TCP 8080: POST /whip, GET /)
//!
//!   every allocation, whoever makes it:
//!     Rust `alloc` (esp-radio, esp-rtos)  -> COUNTED (#[global_allocator]) -> esp_alloc::HEAP
//!     blobs' malloc/free (esp-alloc compat), esp-rtos/esp-radio InternalMemory -> HEAP
//!     HEAP::alloc_caps / dealloc -> _esp_alloc_alloc / _esp_alloc_dealloc hooks -> HEAP_STATS
//! ```
//!
//! The heap is for the driver: the Wi-Fi blobs and esp-radio/esp-rtos allocate (frames,
//! queues, the blobs' task stacks). peerless and the application do not and cannot: their
//! crates are `#![no_std]` without `extern crate alloc`, so they cannot name the `alloc` crate
//! (`scripts/boards.sh` checks their sources and features, and the W5500 and STM32 builds of
//! the same application link with no global allocator at all). `heap_task` logs the
//! high-water mark so a board run shows it settle at the driver's use and stay there through
//! every WebRTC handshake.
//!
//! Build: `PEERLESS_WIFI_SSID=... PEERLESS_WIFI_PASSWORD=... cargo build --release
//! -p peerless-embassy-esp32c3-wifi --target riscv32imc-unknown-none-elf`.
#![no_std]
#![no_main]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::mem::MaybeUninit;

use critical_section::Mutex;
use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_time::{Duration, Timer};
use esp_alloc::export::enumset::EnumSet;
use esp_alloc::{EspHeap, HeapRegion, MemoryCapability};
use esp_hal::clock::CpuClock;
use esp_hal::ram;
use esp_hal::rng::{Trng, TrngSource};
use esp_hal::timer::timg::TimerGroup;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{AuthenticationMethodConfig, Config, Interface, WifiController};
use peerless_embassy_app::{
    HttpResources, Identity, PeerResources, Signaling, http_task, peer_task,
};
use static_cell::{ConstStaticCell, StaticCell};

#[cfg(feature = "defmt")]
use esp_println as _;

#[cfg(feature = "defmt")]
use defmt::{info, warn};
#[cfg(not(feature = "defmt"))]
macro_rules! info {
    ($($t:tt)*) => {{}};
}
#[cfg(not(feature = "defmt"))]
macro_rules! warn {
    ($($t:tt)*) => {{}};
}

// The ESP-IDF second-stage bootloader checks for this application descriptor.
esp_bootloader_esp_idf::esp_app_desc!();

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // A Peer never panics on network input; anything else is a bug: restart the board.
    esp_hal::system::software_reset()
}

/// The network to join, fixed at build time. The defaults only let CI build the image: set
/// both variables when building for a board (an empty password joins an open network).
const SSID: &str = match option_env!("PEERLESS_WIFI_SSID") {
    Some(s) => s,
    None => "peerless",
};
const PASSWORD: &str = match option_env!("PEERLESS_WIFI_PASSWORD") {
    Some(s) => s,
    None => "peerless-placeholder",
};

/// The heap, for the Wi-Fi driver only. esp-radio documents 47-57 KB of heap for a station with
/// its default `ControllerConfig` (measured with esp-alloc's heap stats); the blobs' task stacks
/// come from it too. 64 KiB sit in the RAM the ESP-IDF bootloader used (`ram(reclaimed)`,
/// 66 320 B on the C3, otherwise unused after boot, so it costs no static RAM); 16 KiB more
/// from the main RAM are headroom above the documented peak.
const HEAP_RECLAIMED: usize = 64 * 1024;
const HEAP_MAIN: usize = 16 * 1024;

#[ram(reclaimed)]
static mut WIFI_HEAP_RECLAIMED: MaybeUninit<[u8; HEAP_RECLAIMED]> = MaybeUninit::uninit();
static mut WIFI_HEAP_MAIN: MaybeUninit<[u8; HEAP_MAIN]> = MaybeUninit::uninit();

/// What the heap has seen since boot: every call through esp-alloc (the hooks below) and the
/// part of them that came through the Rust global allocator.
#[derive(Clone, Copy)]
struct HeapStats {
    in_use: usize,
    high_water: usize,
    allocs: u32,
    frees: u32,
    failed: u32,
    rust_allocs: u32,
}

static HEAP_STATS: Mutex<Cell<HeapStats>> = Mutex::new(Cell::new(HeapStats {
    in_use: 0,
    high_water: 0,
    allocs: 0,
    frees: 0,
    failed: 0,
    rust_allocs: 0,
}));

fn update(f: impl FnOnce(&mut HeapStats)) {
    critical_section::with(|cs| {
        let cell = HEAP_STATS.borrow(cs);
        let mut s = cell.get();
        f(&mut s);
        cell.set(s);
    });
}

fn heap_stats() -> HeapStats {
    critical_section::with(|cs| HEAP_STATS.borrow(cs).get())
}

/// esp-alloc calls this after every allocation from `HEAP`, whatever the path (Rust `alloc`,
/// the blobs' `malloc`, esp-rtos's and esp-radio's `InternalMemory`); `ptr` is 0 on failure.
#[unsafe(no_mangle)]
fn _esp_alloc_alloc(_heap: &EspHeap, _caps: EnumSet<MemoryCapability>, ptr: usize, size: usize) {
    update(|s| {
        if ptr == 0 {
            s.failed = s.failed.wrapping_add(1);
        } else {
            s.allocs = s.allocs.wrapping_add(1);
            s.in_use = s.in_use.saturating_add(size);
            s.high_water = s.high_water.max(s.in_use);
        }
    });
}

/// esp-alloc calls this before every free into `HEAP`.
#[unsafe(no_mangle)]
fn _esp_alloc_dealloc(_heap: &EspHeap, ptr: usize, size: usize) {
    if ptr != 0 {
        update(|s| {
            s.frees = s.frees.wrapping_add(1);
            s.in_use = s.in_use.saturating_sub(size);
        });
    }
}

/// The global allocator: esp-alloc's heap, counted. Only the driver's Rust code (esp-radio,
/// esp-rtos) links `alloc`; the count shows how much of the heap traffic came this way.
struct Counted;

unsafe impl GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        update(|s| s.rust_allocs = s.rust_allocs.wrapping_add(1));
        // SAFETY: forwarded as is; esp-alloc's heap upholds GlobalAlloc's contract.
        unsafe { esp_alloc::HEAP.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { esp_alloc::HEAP.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTED: Counted = Counted;

/// The board has no clock set at boot: the certificate's validity starts at a fixed recent
/// time (browsers check the fingerprint, not the dates).
const UNIX_TIME_AT_BOOT: u64 = 1_763_700_000;

static SIGNALING: Signaling = Signaling::new();
static PEER_RESOURCES: ConstStaticCell<PeerResources> = ConstStaticCell::new(PeerResources::new());
static HTTP_RESOURCES: ConstStaticCell<HttpResources> = ConstStaticCell::new(HttpResources::new());
static STACK_RESOURCES: ConstStaticCell<StackResources<4>> =
    ConstStaticCell::new(StackResources::new());
static CONTROLLER: StaticCell<WifiController<'static>> = StaticCell::new();

/// Join the network, and join it again whenever the access point drops the station.
#[embassy_executor::task]
async fn wifi_task(controller: &'static mut WifiController<'static>) -> ! {
    loop {
        if controller.connect_async().await.is_ok() {
            info!("wifi: joined '{}'", SSID);
            let _ = controller.wait_for_disconnect_async().await;
            warn!("wifi: disconnected, rejoining");
        } else {
            warn!("wifi: could not join '{}', retrying in 5 s", SSID);
        }
        Timer::after(Duration::from_secs(5)).await;
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Interface>) -> ! {
    runner.run().await
}

/// Logs the heap every time its high-water mark moves, and every minute: after the Wi-Fi
/// join and DHCP it should stop moving, through any number of WebRTC handshakes.
#[embassy_executor::task]
async fn heap_task(stack: embassy_net::Stack<'static>) -> ! {
    stack.wait_config_up().await;
    #[cfg(feature = "defmt")]
    if let Some(c) = stack.config_v4() {
        info!(
            "net: address {} (open http://{}:8080/)",
            c.address,
            c.address.address()
        );
    }
    let mut last_high = usize::MAX;
    let mut ticks = 0u32;
    loop {
        let s = heap_stats();
        if s.high_water != last_high || ticks.is_multiple_of(60) {
            // Requested bytes (the hooks' sums) and, for comparison, what the allocator itself
            // counts as used (with its block rounding and malloc's 4-byte size headers).
            info!(
                "heap: {} B in use ({} B by the allocator), high-water {} B of {} B; {} allocs ({} via Rust alloc), {} frees, {} failed",
                s.in_use,
                esp_alloc::HEAP.used(),
                s.high_water,
                HEAP_RECLAIMED + HEAP_MAIN,
                s.allocs,
                s.rust_allocs,
                s.frees,
                s.failed
            );
            last_high = s.high_water;
        }
        ticks = ticks.wrapping_add(1);
        Timer::after(Duration::from_secs(1)).await;
    }
}

#[esp_rtos::main]
async fn main(spawner: Spawner) {
    let p = esp_hal::init(esp_hal::Config::default().with_cpu_clock(CpuClock::max()));

    // SAFETY: each region is a static used by nothing else, handed to the heap once, here.
    unsafe {
        esp_alloc::HEAP.add_region(HeapRegion::new(
            (&raw mut WIFI_HEAP_RECLAIMED).cast::<u8>(),
            HEAP_RECLAIMED,
            MemoryCapability::Internal.into(),
        ));
        esp_alloc::HEAP.add_region(HeapRegion::new(
            (&raw mut WIFI_HEAP_MAIN).cast::<u8>(),
            HEAP_MAIN,
            MemoryCapability::Internal.into(),
        ));
    }

    let timg0 = TimerGroup::new(p.TIMG0);
    // The scheduler first: the Wi-Fi blobs run threads of their own.
    esp_rtos::start(timg0.timer0, p.FROM_CPU_INTR0);

    // The TRNG mixes ADC noise into the RNG; without an entropy source it is only a PRNG (once
    // the radio runs, esp-radio keeps an entropy source alive as well).
    let _entropy = TrngSource::new(p.RNG, p.ADC1);
    let mut seed = [0u8; 32];
    let mut net_seed = [0u8; 8];
    let Ok(trng) = Trng::try_new() else {
        esp_hal::system::software_reset()
    };
    trng.read(&mut seed);
    trng.read(&mut net_seed);

    let auth = if PASSWORD.is_empty() {
        Ok(AuthenticationMethodConfig::Open)
    } else {
        PASSWORD
            .try_into()
            .map(AuthenticationMethodConfig::WpaWpa2Personal)
    };
    let (Ok(ssid), Ok(auth)) = (SSID.try_into(), auth) else {
        // An SSID over 32 bytes or a password over 64: fix the build variables.
        esp_hal::system::software_reset()
    };
    let station = StationConfig::default()
        .with_ssid(ssid)
        .with_authentication(auth);
    let config =
        esp_radio::wifi::ControllerConfig::default().with_initial_config(Config::Station(station));
    let Ok(controller) = WifiController::new(p.WIFI, config) else {
        esp_hal::system::software_reset()
    };
    let Some(device) = Interface::try_station() else {
        esp_hal::system::software_reset()
    };
    info!(
        "wifi: driver up, heap high-water {} B so far",
        heap_stats().high_water
    );

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
    if let Ok(t) = wifi_task(CONTROLLER.init(controller)) {
        spawner.spawn(t);
    }
    if let Ok(t) = net_task(runner) {
        spawner.spawn(t);
    }
    if let Ok(t) = heap_task(stack) {
        spawner.spawn(t);
    }
    if let Ok(t) = peer_task(stack, PEER_RESOURCES.take(), &SIGNALING, identity) {
        spawner.spawn(t);
    }
    if let Ok(t) = http_task(stack, HTTP_RESOURCES.take(), &SIGNALING) {
        spawner.spawn(t);
    }
}
