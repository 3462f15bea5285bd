//! RISC-V rv32imc (QEMU `virt` for the run; the ESP32-C3 core): entry, semihosting, faults.
//!
//! ```text
//!   reset -> main: lock the PMP guard below the stack, paint stack -> app::run
//!         -> result=pass|FAIL -> exit(status)
//!   trap -> _start_trap (asm): sp = top of the stack region -> trap: result=STACK_OVERFLOW
//!           (an access in the guard, or sp below the stack's bottom) or result=EXCEPTION
//! ```

use core::fmt::Write;
use riscv_semihosting::{debug, hio};

struct Semihosting(hio::HostStream);

impl Write for Semihosting {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.write_all(s.as_bytes()).map_err(|_| core::fmt::Error)
    }
}

#[riscv_rt::entry]
fn main() -> ! {
    guard_stack();
    crate::stack::paint();
    let Ok(stdout) = hio::hstdout() else {
        exit(false)
    };
    let mut out = Semihosting(stdout);
    let ok = crate::app::run(
        &mut out,
        || 0,
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
        riscv::asm::wfi();
    }
}

unsafe extern "C" {
    #[link_name = "_stack_guard_start"]
    static GUARD_START: u32;
    #[link_name = "_stack_guard_size"]
    static GUARD_SIZE: u32;
}

/// Locks PMP entry 0 over the guard below the stack (memory-riscv32-virt.x) with no access:
/// QEMU's `virt` has RAM there (the end of the code region), so without it an overflow would
/// write over memory silently. Locked, the entry binds machine mode too, until reset.
fn guard_stack() {
    // Only the addresses of the linker symbols are taken, never their contents.
    let start = core::ptr::addr_of!(GUARD_START) as usize;
    let size = core::ptr::addr_of!(GUARD_SIZE) as usize;
    // NAPOT: the base in 4-byte units with the low bits encoding the size (a power of two,
    // aligned to it).
    let napot = (start >> 2) | ((size >> 3) - 1);
    const LOCKED_NAPOT_NO_ACCESS: usize = 0x80 | 0x18;
    // SAFETY: configures entry 0 of the PMP, which nothing else uses; no memory is touched.
    unsafe {
        core::arch::asm!(
            "csrw pmpaddr0, {addr}",
            "csrw pmpcfg0, {cfg}",
            addr = in(reg) napot,
            cfg = in(reg) LOCKED_NAPOT_NO_ACCESS,
            options(nomem, nostack),
        );
    }
}

// The trap vector (riscv-rt's `_start_trap`, replaced: the proof takes no interrupts, so every
// trap ends the run). An overflow faults in the guard with `sp` there, so the handler first
// moves `sp` back to the top of the stack region (what was on the stack is done with) and
// passes the faulting `sp`, the cause and the address on.
core::arch::global_asm!(
    ".section .trap.start, \"ax\"",
    ".balign 4",
    ".global _start_trap",
    "_start_trap:",
    "csrw mscratch, sp",
    "la sp, _stack_start",
    "csrr a0, mscratch",
    "csrr a1, mcause",
    "csrr a2, mtval",
    "tail {report}",
    report = sym trap,
);

/// A faulting `sp` this close above the stack's bottom (or below it) means the stack ran out.
const OVERFLOW_MARGIN: usize = 256;
/// `mcause` for a load and a store access fault (the PMP refused the access).
const LOAD_ACCESS_FAULT: usize = 5;
const STORE_ACCESS_FAULT: usize = 7;

extern "C" fn trap(sp: usize, mcause: usize, mtval: usize) -> ! {
    let (bottom, _) = crate::stack::bounds();
    let guard = core::ptr::addr_of!(GUARD_START) as usize..bottom;
    let in_guard =
        matches!(mcause, LOAD_ACCESS_FAULT | STORE_ACCESS_FAULT) && guard.contains(&mtval);
    let what: &[u8] = if in_guard || sp < bottom + OVERFLOW_MARGIN {
        b"result=STACK_OVERFLOW\n"
    } else {
        b"result=EXCEPTION\n"
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
