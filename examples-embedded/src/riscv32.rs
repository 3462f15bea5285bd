//! RISC-V rv32imc (QEMU `virt` for the run; the ESP32-C3 core): entry, semihosting, faults.

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
        let _ = writeln!(out, "stack_overflow=the stack reached the statics below it");
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

#[unsafe(export_name = "ExceptionHandler")]
fn exception_handler(_frame: &riscv_rt::TrapFrame) -> ! {
    if let Ok(mut out) = hio::hstdout() {
        let _ = out.write_all(b"result=EXCEPTION\n");
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
