//! Cortex-M4 (STM32F405 as QEMU's netduinoplus2): entry, stack painting, semihosting, faults.

use core::fmt::Write;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hio};

const PAINT: u32 = 0xa5a5_a5a5;

unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

struct Semihosting(hio::HostStream);

impl Write for Semihosting {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.write_all(s.as_bytes()).map_err(|_| core::fmt::Error)
    }
}

#[entry]
fn main() -> ! {
    let (bottom, top) = stack_bounds();
    paint_stack(bottom);
    let Ok(stdout) = hio::hstdout() else {
        exit(false)
    };
    let mut out = Semihosting(stdout);
    let ok = crate::app::run(&mut out).is_ok();
    let _ = writeln!(out, "stack_peak_bytes={}", top - lowest_touched(bottom));
    let _ = writeln!(out, "result={}", if ok { "pass" } else { "FAIL" });
    exit(ok)
}

fn stack_bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their contents.
    (
        core::ptr::addr_of!(_stack_end) as usize,
        core::ptr::addr_of!(_stack_start) as usize,
    )
}

/// Fills the unused stack below the current frame with a pattern.
#[inline(never)]
fn paint_stack(bottom: usize) {
    let sp = cortex_m::register::msp::read() as usize;
    // Leave this function's own frame (and a margin) alone.
    let mut p = bottom;
    while p + 4 < sp - 256 {
        // SAFETY: [bottom, sp - 256) is stack memory no live frame uses yet.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// The lowest stack address whose paint was overwritten.
fn lowest_touched(bottom: usize) -> usize {
    let mut p = bottom;
    // SAFETY: reads within the stack region, word-aligned.
    while unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    p
}

fn exit(ok: bool) -> ! {
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::bkpt();
    }
}

#[exception]
unsafe fn HardFault(_frame: &ExceptionFrame) -> ! {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(b"result=HARDFAULT\n");
    }
    exit(false)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if let Ok(stdout) = hio::hstdout() {
        let _ = writeln!(Semihosting(stdout), "result=PANIC {info}");
    }
    exit(false)
}
