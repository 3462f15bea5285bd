//! The no-std/no-alloc proof: a firmware image with no global allocator that links every
//! peerless library crate and runs real code from them on a microcontroller.
//!
//! ```text
//!   reset -> runtime (cortex-m-rt / riscv-rt) -> paint stack -> app::run -> report -> exit(status)
//!                                                                  |
//!                                          semihosting: print lines, exit code to QEMU
//! ```
//!
//! Built for `thumbv7em-none-eabihf` (run in `qemu-system-arm -machine netduinoplus2`) and
//! `riscv32imc-unknown-none-elf` (run in `qemu-system-riscv32 -machine virt`). On a host target
//! it compiles to a stub so `cargo build --workspace` keeps working.
#![cfg_attr(target_os = "none", no_std, no_main)]

// Name every library crate: a crate that is listed but never referenced is not linked, and so
// would not be checked for `std` or `alloc`.
use peerless as _;
use peerless_dtls as _;
use peerless_ice as _;
use peerless_rtp as _;
use peerless_sctp as _;
use peerless_sdp as _;
use peerless_srtp as _;
use peerless_stun as _;

// The deliberately failing builds of scripts/no-alloc-proof.sh.
#[cfg(any(feature = "leak-alloc", feature = "leak-std"))]
use hex as _;

mod app;
#[cfg(feature = "media")]
mod media;
#[cfg(feature = "selftests")]
mod selftests;

#[cfg(all(target_arch = "arm", target_os = "none"))]
mod cortex_m4;
#[cfg(all(target_arch = "arm", target_os = "none"))]
mod meter;
#[cfg(all(target_arch = "riscv32", target_os = "none"))]
mod riscv32;
#[cfg(target_os = "none")]
mod stack;

#[cfg(not(target_os = "none"))]
fn main() {
    // The proof only means something without std; on the host, run the same checks anyway.
    let mut out = String::new();
    let ok = app::run(
        &mut out,
        || 0,
        app::Stack {
            mark: || 0,
            since: |_| 0,
        },
    )
    .is_ok();
    print!("{out}");
    std::process::exit(if ok { 0 } else { 1 });
}
