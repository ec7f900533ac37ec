//! The trap frame and the replaceable trap handler.

use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// What the trap vector saved (layout shared with the assembly in [`crate::start`]).
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    /// `x0`..`x31` at the trap (`x0` reads 0, `x2` is the stack pointer before the frame was pushed).
    /// Changes are restored into the registers on return, except `x0` and `x2`.
    pub regs: [u64; 32],
    /// `mepc`; written back before `mret`.
    pub mepc: u64,
    /// `mcause`.
    pub mcause: u64,
    /// `mtval`.
    pub mtval: u64,
    /// `mstatus`; written back before `mret`.
    pub mstatus: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 288);

/// A trap handler.
pub type Handler = fn(&mut TrapFrame);

/// The installed handler (null: the default, which reports the trap and fails).
static HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Exit code of an unexpected trap.
pub const EXIT_UNEXPECTED_TRAP: u32 = 0x7f;

/// Installs `handler` for every later trap.
pub fn set_handler(handler: Handler) {
    HANDLER.store(handler as *mut (), Ordering::SeqCst);
}

/// Goes back to the default handler.
pub fn clear_handler() {
    HANDLER.store(core::ptr::null_mut(), Ordering::SeqCst);
}

/// The default handler: prints the trap and ends the machine with [`EXIT_UNEXPECTED_TRAP`].
pub fn unexpected(frame: &mut TrapFrame) {
    crate::println!(
        "unexpected trap: mcause={:#x} mepc={:#x} mtval={:#x}",
        frame.mcause,
        frame.mepc,
        frame.mtval
    );
    crate::exit::fail(EXIT_UNEXPECTED_TRAP)
}

/// Called by the trap vector with the saved frame.
#[unsafe(no_mangle)]
extern "C" fn _rt_trap(frame: &mut TrapFrame) {
    dispatch(frame);
}

/// Runs the installed handler (or [`unexpected`]) on `frame`.
pub fn dispatch(frame: &mut TrapFrame) {
    let ptr = HANDLER.load(Ordering::SeqCst);
    if ptr.is_null() {
        unexpected(frame);
    } else {
        // SAFETY: HANDLER only ever holds null or a `Handler` stored by `set_handler`, and function
        // pointers and data pointers have the same size and representation on RISC-V.
        let handler = unsafe { core::mem::transmute::<*mut (), Handler>(ptr) };
        handler(frame);
    }
}

/// Whether `mcause` is an interrupt.
pub const fn is_interrupt(mcause: u64) -> bool {
    mcause >> 63 != 0
}

/// The length in bytes (2 or 4) of the instruction at `pc`, from its low two bits.
pub fn insn_len(pc: u64) -> u64 {
    // SAFETY: `pc` is the `mepc` of a synchronous exception other than an instruction fault, so it
    // points at a readable, at least 2-byte aligned instruction in RAM.
    let low = unsafe { (pc as *const u16).read_volatile() };
    if low & 3 == 3 { 4 } else { 2 }
}

/// One trap as seen by [`record`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TrapRecord {
    /// `mcause`.
    pub mcause: u64,
    /// `mepc`.
    pub mepc: u64,
    /// `mtval`.
    pub mtval: u64,
    /// `mstatus` on entry to the handler.
    pub mstatus: u64,
}

/// How many traps [`record`] keeps.
pub const LOG_CAPACITY: usize = 8;

#[expect(
    clippy::declare_interior_mutable_const,
    reason = "only used as an array initialiser, each element a fresh atomic"
)]
const EMPTY: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
static LOG: [[AtomicU64; 4]; LOG_CAPACITY] = [EMPTY; LOG_CAPACITY];
static LOG_LEN: AtomicUsize = AtomicUsize::new(0);

/// Appends the frame's trap CSRs to the trap log (traps beyond [`LOG_CAPACITY`] are counted, not kept).
pub fn record(frame: &TrapFrame) {
    let i = LOG_LEN.fetch_add(1, Ordering::SeqCst);
    if let Some(slot) = LOG.get(i) {
        for (cell, v) in slot
            .iter()
            .zip([frame.mcause, frame.mepc, frame.mtval, frame.mstatus])
        {
            cell.store(v, Ordering::SeqCst);
        }
    }
}

/// Traps recorded since the last [`clear_log`].
pub fn log_len() -> usize {
    LOG_LEN.load(Ordering::SeqCst)
}

/// Recorded trap `i` (0 = oldest), if kept.
pub fn log_entry(i: usize) -> Option<TrapRecord> {
    if i >= log_len() {
        return None;
    }
    let slot = LOG.get(i)?;
    let v = |k: usize| slot[k].load(Ordering::SeqCst);
    Some(TrapRecord {
        mcause: v(0),
        mepc: v(1),
        mtval: v(2),
        mstatus: v(3),
    })
}

/// Empties the trap log.
pub fn clear_log() {
    LOG_LEN.store(0, Ordering::SeqCst);
}
