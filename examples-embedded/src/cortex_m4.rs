//! Cortex-M4 (STM32F405 as QEMU's netduinoplus2): entry, stack painting, semihosting, faults.
//!
//! ```text
//!   reset -> main: paint stack, SysTick on -> app::run -> result=pass|FAIL -> exit(status)
//!   fault -> HardFault (asm): sp = top of the stack region -> hard_fault: result=STACK_OVERFLOW
//!            (the faulting sp below the stack's bottom) or result=HARDFAULT -> exit(failure)
//! ```

use core::fmt::Write;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hio};

struct Semihosting(hio::HostStream);

impl Write for Semihosting {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.write_all(s.as_bytes()).map_err(|_| core::fmt::Error)
    }
}

#[entry]
fn main() -> ! {
    crate::stack::paint();
    if let Some(peripherals) = cortex_m::Peripherals::take() {
        crate::meter::start(peripherals.SYST);
    }

    let Ok(stdout) = hio::hstdout() else {
        exit(false)
    };
    let mut out = Semihosting(stdout);
    let ok = crate::app::run(
        &mut out,
        crate::meter::instructions,
        crate::app::Stack {
            mark: crate::stack::mark,
            since: crate::stack::since,
        },
    )
    .is_ok();
    let _ = writeln!(out, "stack_peak_bytes={}", crate::stack::peak());
    let ok = ok && !crate::stack::overflowed();
    if crate::stack::overflowed() {
        let _ = writeln!(
            out,
            "stack_overflow=the stack reached the bottom of its region"
        );
    }
    let _ = writeln!(out, "result={}", if ok { "pass" } else { "FAIL" });
    exit(ok)
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

// The HardFault vector (cortex-m-rt's `HardFault` symbol, defined here instead of through
// `#[exception]`). The stack sits at the bottom of SRAM (memory-stm32f405.x), so an overflow
// faults on the first write below SRAM, and the exception entry's own stacking then fails too:
// the handler starts with `sp` below SRAM, and a Rust prologue's first push would fault again
// (a lockup, and QEMU would hang until the script's timeout). So the entry moves `sp` back to
// the top of the stack region first (whatever was on the stack is done with: the run ends
// here) and passes the faulting `sp` on.
core::arch::global_asm!(
    ".section .HardFault.proof, \"ax\"",
    ".global HardFault",
    ".type HardFault, %function",
    ".thumb_func",
    "HardFault:",
    "mov r0, sp",
    "movw r1, :lower16:_stack_start",
    "movt r1, :upper16:_stack_start",
    "mov sp, r1",
    "b {report}",
    report = sym hard_fault,
);

/// The stack pointer the fault left this close above the stack's bottom (or below it) means
/// the stack ran out: an exception frame is 32 bytes (104 with the FPU's state), a push at most
/// 36, and a frame that lowers `sp` past the bottom leaves it below.
const OVERFLOW_MARGIN: usize = 256;

extern "C" fn hard_fault(sp: usize) -> ! {
    let (bottom, _) = crate::stack::bounds();
    let what: &[u8] = if sp < bottom + OVERFLOW_MARGIN {
        b"result=STACK_OVERFLOW\n"
    } else {
        b"result=HARDFAULT\n"
    };
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(what);
    }
    exit(false)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // Nothing from `info` by default: formatting it links every panic site's location (file,
    // line) and message and the Debug impls of every error type that reaches an `expect`
    // (26.7 KB of the Cortex-M4 image; the location alone 12.9 KB). A panic still ends the run
    // with a failure; `--features panic-message` prints where and why.
    if let Ok(stdout) = hio::hstdout() {
        let mut out = Semihosting(stdout);
        #[cfg(feature = "panic-message")]
        let _ = writeln!(out, "result=PANIC {info}");
        #[cfg(not(feature = "panic-message"))]
        let _ = (info, writeln!(out, "result=PANIC"));
    }
    exit(false)
}
