//! What the firmware does, independent of the chip: real peerless code, checked on the target.
//!
//! ```text
//!   run -+- reference image: peer_connect (two SmallPeers, statics) -> offer/answer, ICE,
//!        |                   DTLS, SCTP, DCEP, an echoed message  (what a product links)
//!        +- `selftests`: crate::selftests::run (DRBG, wire, DTLS, RSA, SRTP, RTP)
//!        +- `media`:     crate::media::exchange (two Peers, G.711 over SRTP)
//!        -> prove_failures_are_caught (the `prove-*` builds) -> Ok / Err(Failed)
//! ```
//!
//! The variants replace the Peer connect rather than add to it, so each image's flash and
//! stack are its own part's, and the reference image is the one issue 19's flash row measures.

// The variants skip the Peer connect, leaving its statics and helpers unused.
#![cfg_attr(any(feature = "selftests", feature = "media"), allow(dead_code))]

use core::fmt::Write;
use core::mem::MaybeUninit;
use peerless_base::Instant;
use static_cell::{ConstStaticCell, StaticCell};

/// The firmware found a wrong answer.
#[derive(Debug)]
pub struct Failed;

impl From<core::fmt::Error> for Failed {
    fn from(_: core::fmt::Error) -> Self {
        Failed
    }
}

/// The platform's stack probe (0 where it has none, as on a host).
pub struct Stack {
    /// Repaints below the caller; returns where its stack stands.
    pub mark: fn() -> usize,
    /// The deepest the stack went below a mark since it was taken, in bytes.
    pub since: fn(usize) -> usize,
}

/// Runs this image's checks and writes `key=value` lines to `out`. `instructions` counts
/// instructions executed so far where the platform can (the emulated Cortex-M4), else 0.
pub fn run(
    out: &mut impl Write,
    instructions: impl Fn() -> u64,
    stack: Stack,
) -> Result<(), Failed> {
    let mut ok = true;
    #[cfg(feature = "selftests")]
    {
        ok &= crate::selftests::run(out, &instructions)?;
    }
    // With both variants on, the media exchange runs after the self-tests have returned, so
    // its two Peers do not sit on top of their frames.
    #[cfg(feature = "media")]
    {
        ok &= crate::media::exchange(out, &instructions)?;
    }
    #[cfg(not(any(feature = "selftests", feature = "media")))]
    {
        ok &= peer_connect(out, &instructions, &stack)?;
    }
    let _ = &stack;

    prove_failures_are_caught();

    if ok { Ok(()) } else { Err(Failed) }
}

/// The SCTP areas the two Peers borrow, in static RAM as a firmware would place them (the
/// footprint report counts them as static RAM, not stack). 2 KiB each way holds the DCEP
/// exchange and the probe message. `ConstStaticCell`: a zeroed initial value, so `.bss`, handed
/// out once as `&'static mut` without `unsafe`.
type ProbeStorage = peerless::Storage<2048, 2048>;
static STORAGE_A: ConstStaticCell<ProbeStorage> = ConstStaticCell::new(ProbeStorage::new());
static STORAGE_B: ConstStaticCell<ProbeStorage> = ConstStaticCell::new(ProbeStorage::new());

type ProbePeer = peerless::SmallPeer<&'static mut [u8]>;
/// The two Peers themselves, in static RAM as a device's task holds its Peer (the embassy
/// application's task future lives in `.bss`): what remains on the stack is what the Peer's
/// calls need, which `peer_handshake_stack_bytes` reports. `StaticCell` holds a `MaybeUninit`
/// (so `.bss`: an `Option`'s `None` is not all zeros, which would be `.data`, 38 KB of flash
/// each) that `Peer::new` returns into directly.
static PEER_A: StaticCell<ProbePeer> = StaticCell::new();
static PEER_B: StaticCell<ProbePeer> = StaticCell::new();

/// Two Peers (the small configuration) from `Peer::new` to an open data channel and an echoed
/// message over an in-memory link: ICE, DTLS, SCTP and DCEP, instructions counted per side,
/// and the stack each part takes beyond this function's frame.
// Not inlined: the stack marks then see this frame's, not `run`'s.
#[inline(never)]
fn peer_connect(
    out: &mut impl Write,
    instructions: &impl Fn() -> u64,
    stack: &Stack,
) -> Result<bool, Failed> {
    use peerless::selftest;

    let start = instructions();
    let Ok((ca, cb)) = selftest::certificates() else {
        writeln!(out, "peer_connect=FAIL certificates")?;
        return Ok(false);
    };
    writeln!(
        out,
        "peer_certificate_pair_instructions={}",
        instructions() - start
    )?;
    // Each cell hands out its one `&'static mut` once; `run` is called once per boot, so a
    // second call finds them taken and fails instead of aliasing.
    let (Some(sa), Some(sb), Some(pa), Some(pb)) = (
        STORAGE_A.try_take(),
        STORAGE_B.try_take(),
        PEER_A.try_uninit(),
        PEER_B.try_uninit(),
    ) else {
        writeln!(out, "peer_connect=FAIL statics already taken")?;
        return Ok(false);
    };
    let (a_send, a_recv) = sa.areas();
    let (b_send, b_recv) = sb.areas();
    let mark = (stack.mark)();
    let offerer = new_peer(pa, selftest::config(ca, 1), a_send, a_recv);
    let answerer = new_peer(pb, selftest::config(cb, 2), b_send, b_recv);
    let new_stack = (stack.since)(mark);
    let (report, spent, handshake_stack) = connect(offerer, answerer, instructions, stack);
    let ok = report.is_ok();
    writeln!(out, "peer_connect={}", if ok { "pass" } else { "FAIL" })?;
    writeln!(out, "peer_connect_instructions_offerer={}", spent[0])?;
    writeln!(out, "peer_connect_instructions_answerer={}", spent[1])?;
    if let Ok(r) = report {
        writeln!(
            out,
            "peer_connect_datagrams={} bytes={} open_virtual_ms={}",
            r.datagrams,
            r.bytes,
            r.open_us / 1000
        )?;
    }
    writeln!(
        out,
        "peer_small_bytes={}",
        core::mem::size_of::<ProbePeer>()
    )?;
    writeln!(
        out,
        "peer_storage_bytes={}",
        core::mem::size_of::<peerless::SmallStorage>()
    )?;
    // The stack beyond this function's frame: `Peer::new` for both Peers (written into their
    // statics), then the whole connect, both Peers' calls and the driver's.
    writeln!(out, "peer_new_stack_bytes={new_stack}")?;
    writeln!(out, "peer_handshake_stack_bytes={handshake_stack}")?;
    Ok(ok)
}

/// The connect itself, instructions counted per side, and the stack it took beyond the
/// driver's own frame (the mark is taken once this frame is set up). Not inlined: the
/// driver's locals and its description and datagram buffers then live only while it runs,
/// not under `Peer::new` in `peer_connect` (the deepest step of the proof).
#[inline(never)]
fn connect(
    offerer: &mut ProbePeer,
    answerer: &mut ProbePeer,
    instructions: &impl Fn() -> u64,
    stack: &Stack,
) -> (
    Result<peerless::selftest::Report, peerless::selftest::SelftestError>,
    [u64; 2],
    usize,
) {
    let (mut sdp, mut buf) = ([0u8; 2048], [0u8; 1500]);
    let mut spent = [0u64; 2];
    let mark = (stack.mark)();
    let report = peerless::selftest::run(offerer, answerer, &mut sdp, &mut buf, |side, call| {
        let t = instructions();
        call();
        spent[side as usize] += instructions() - t;
    });
    (report, spent, (stack.since)(mark))
}

/// A Peer made right in its static slot. Not inlined, so the slot is a `&mut` argument that
/// `Peer::new` cannot see and its return value is written there directly (call-slot
/// elision) instead of being built on the stack and copied (38 KB on the Cortex-M4).
#[inline(never)]
fn new_peer(
    slot: &'static mut MaybeUninit<ProbePeer>,
    config: peerless::Config,
    send: &'static mut [u8],
    recv: &'static mut [u8],
) -> &'static mut ProbePeer {
    slot.write(peerless::Peer::new(config, Instant::ZERO, send, recv))
}

/// The firmware script builds these on purpose to check that a failure cannot pass silently.
fn prove_failures_are_caught() {
    #[cfg(feature = "prove-panic")]
    {
        let index = core::hint::black_box(7usize);
        let table = [0u8; 4];
        core::hint::black_box(table[index]);
    }
    #[cfg(all(feature = "prove-hardfault", target_os = "none"))]
    {
        // Unmapped on both memory maps: the bus fault escalates to HardFault / an access fault.
        // SAFETY: deliberately faulting read; the fault handler ends the run.
        unsafe { core::ptr::read_volatile(0xfff0_0000 as *const u32) };
    }
    #[cfg(all(feature = "prove-overflow", target_os = "none"))]
    {
        // Deeper than any stack: the guard below the stack must end the run with
        // `result=STACK_OVERFLOW`, not let it write over memory that is not the stack.
        core::hint::black_box(recurse(core::hint::black_box(u32::MAX)));
    }
}

/// One 256-byte frame per level, kept live across the call so the recursion cannot become a
/// loop.
#[cfg(all(feature = "prove-overflow", target_os = "none"))]
#[inline(never)]
fn recurse(depth: u32) -> u32 {
    let mut frame = [0u8; 256];
    core::hint::black_box(&mut frame);
    if depth == 0 {
        return 0;
    }
    let below = recurse(depth - 1);
    core::hint::black_box(&frame);
    below.wrapping_add(u32::from(frame.first().copied().unwrap_or(0)))
}
