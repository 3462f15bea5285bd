//! Peak stack by painting: fill the unused stack with a pattern at start, find the lowest word
//! that no longer holds it at the end. What it reports is the deepest the run ever went.

use core::sync::atomic::{AtomicUsize, Ordering};

const PAINT: u32 = 0xa5a5_a5a5;
/// Left unpainted below the caller's stack pointer: the painting function's own frame.
const MARGIN: usize = 256;

/// The stack region `[bottom, top)` the linker reserved.
pub fn bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their contents.
    (
        core::ptr::addr_of!(STACK_BOTTOM) as usize,
        core::ptr::addr_of!(STACK_TOP) as usize,
    )
}

#[cfg(target_arch = "arm")]
unsafe extern "C" {
    #[link_name = "_stack_end"]
    static STACK_BOTTOM: u32;
    #[link_name = "_stack_start"]
    static STACK_TOP: u32;
}

#[cfg(target_arch = "riscv32")]
unsafe extern "C" {
    #[link_name = "__estack"]
    static STACK_BOTTOM: u32;
    #[link_name = "__sstack"]
    static STACK_TOP: u32;
}

#[inline(always)]
fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: reads the stack pointer register; no memory is touched.
    #[cfg(target_arch = "arm")]
    unsafe {
        core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    #[cfg(target_arch = "riscv32")]
    unsafe {
        core::arch::asm!("mv {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags))
    };
    sp
}

/// Fills the stack below the current frame with the pattern.
#[inline(never)]
pub fn paint() {
    let (bottom, _) = bounds();
    let limit = stack_pointer().saturating_sub(MARGIN);
    let mut p = bottom;
    while p + 4 <= limit {
        // SAFETY: [bottom, sp - MARGIN) is stack memory that no live frame uses yet.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// The deepest stack address reached before the last [`mark`] repainted (`usize::MAX`: none
/// yet), so [`peak`] still covers the whole run. Load and store only: rv32imc has no atomic
/// read-modify-write.
static LOWEST: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Repaints the stack below the caller and returns where the caller's stack stands: with
/// [`since`], what one part of the run takes on its own, apart from the frames under it.
#[inline(never)]
pub fn mark() -> usize {
    let sp = stack_pointer();
    let lowest = lowest_used();
    if lowest < LOWEST.load(Ordering::Relaxed) {
        LOWEST.store(lowest, Ordering::Relaxed);
    }
    paint();
    sp
}

/// The lowest stack word that no longer holds the pattern since the last painting.
fn lowest_used() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom;
    // SAFETY: word-aligned reads within the stack region.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    p
}

/// The deepest the stack has gone below `mark` (from [`mark`]) since then, in bytes.
pub fn since(mark: usize) -> usize {
    mark.saturating_sub(lowest_used())
}

/// Whether the stack reached the bottom of its region. Below it a guard faults (nothing mapped
/// under the Cortex-M4's SRAM; a locked PMP region on RISC-V), so a run that gets here has
/// used its very last word without faulting; the run fails all the same (no stack to spare).
pub fn overflowed() -> bool {
    let (bottom, _) = bounds();
    // SAFETY: a word-aligned read of the lowest stack word.
    let now = unsafe { core::ptr::read_volatile(bottom as *const u32) != PAINT };
    // Or before a mark repainted it.
    now || LOWEST.load(Ordering::Relaxed) <= bottom
}

/// The deepest the stack has gone in the whole run (the first [`paint`] on), in bytes: the
/// lowest word touched now or before any [`mark`] repainted.
pub fn peak() -> usize {
    let (_, top) = bounds();
    top - lowest_used().min(LOWEST.load(Ordering::Relaxed))
}
