//! Machine timer and software interrupts through QEMU virt's CLINT: pending bits in `mip`, `wfi`
//! wake-up, the interrupt `mcause` values, where `mepc` points, and the priority of MSI over MTI.
//! One `name: value` line per check, then `PASS`/`FAIL n`.
//!
//! To keep `mepc` deterministic, interrupts are made pending while `mstatus.MIE` = 0 (`wfi` still wakes
//! up: it waits for `mip & mie`, whatever MIE says) and then enabled with `csrsi mstatus, 8`; the trap
//! is taken before the next instruction, so `mepc` is that instruction's address.

#![no_std]
#![no_main]

use core::arch::asm;
use rt::check::Checker;
use rt::csr::{msip, mtime, rdtime, set_msip, set_mtimecmp};
use rt::trap::{self, TrapFrame};
use rt::{clear_csr, read_csr, set_csr, write_csr};

rt::entry!(main);

const MSI: u64 = 1 << 3;
const MTI: u64 = 1 << 7;
const INTERRUPT: u64 = 1 << 63;
/// 100 us at 10 MHz.
const DELAY: u64 = 1000;

/// Records the interrupt and silences its source (mtimecmp to the far future, msip to 0).
fn handler(frame: &mut TrapFrame) {
    trap::record(frame);
    match frame.mcause {
        c if c == INTERRUPT | 7 => set_mtimecmp(0, u64::MAX),
        c if c == INTERRUPT | 3 => set_msip(0, 0),
        _ => trap::unexpected(frame),
    }
}

/// Sets mstatus.MIE at a label and clears it right after; returns the label of the instruction after
/// the `csrsi` (where `mepc` of an interrupt pending at that point must be).
fn enable_briefly() -> u64 {
    let after: u64;
    // SAFETY: toggles mstatus.MIE; the handler preserves every register.
    unsafe {
        asm!(
            "lla {a}, 1f",
            ".option push",
            ".option norvc",
            "csrsi mstatus, 8",
            "1: csrci mstatus, 8",
            ".option pop",
            a = out(reg) after, options(nomem, nostack),
        )
    };
    after
}

/// `wfi` until `mip & bits` is non-zero (wfi may also return for no reason).
fn wait_pending(bits: u64) -> u64 {
    loop {
        // SAFETY: waits for an interrupt; with mstatus.MIE = 0 none is taken.
        unsafe { asm!("wfi", options(nomem, nostack)) };
        let mip = read_csr!("mip");
        if mip & bits != 0 {
            return mip & bits;
        }
    }
}

fn main(_hartid: usize, _dtb: usize) -> u32 {
    let mut c = Checker::new();
    trap::set_handler(handler);
    trap::clear_log();
    clear_csr!("mstatus", 1 << 3);
    write_csr!("mie", 0);
    set_mtimecmp(0, u64::MAX);
    set_msip(0, 0);
    counters(&mut c);
    timer(&mut c);
    software(&mut c);
    priority(&mut c);
    timer_in_wfi(&mut c);
    write_csr!("mie", 0);
    trap::clear_handler();
    c.finish()
}

fn counters(c: &mut Checker) {
    let t0 = mtime();
    let r0 = rdtime();
    let t1 = mtime();
    c.check_true("rdtime between two mtime reads", t0 <= r0 && r0 <= t1);
    // mtimecmp in the past: MTIP is pending at once (no enable needed for mip); in the future: clear.
    set_mtimecmp(0, 0);
    c.check("mip.MTIP with mtimecmp=0", read_csr!("mip") & MTI, MTI);
    set_mtimecmp(0, u64::MAX);
    c.check("mip.MTIP with mtimecmp=max", read_csr!("mip") & MTI, 0);
    c.check("no interrupt taken with mie=0", trap::log_len() as u64, 0);
}

fn timer(c: &mut Checker) {
    set_csr!("mie", MTI);
    let deadline = mtime() + DELAY;
    set_mtimecmp(0, deadline);
    c.check("mip.MTIP before the deadline", read_csr!("mip") & MTI, 0);
    c.check("wfi woke for MTIP", wait_pending(MTI), MTI);
    c.check_true("mtime past the deadline", mtime() >= deadline);
    c.check("no trap while MIE=0", trap::log_len() as u64, 0);
    let at = enable_briefly();
    let r = trap::log_entry(0).unwrap_or_default();
    c.check("timer interrupts taken", trap::log_len() as u64, 1);
    c.check("timer mcause", r.mcause, INTERRUPT | 7);
    c.check("timer mepc-next", r.mepc.wrapping_sub(at), 0);
    c.check("timer mtval", r.mtval, 0);
    c.check("timer MPIE in handler", (r.mstatus >> 7) & 1, 1);
    c.check("mip.MTIP after handler", read_csr!("mip") & MTI, 0);
    clear_csr!("mie", MTI);
    trap::clear_log();
}

fn software(c: &mut Checker) {
    set_csr!("mie", MSI);
    set_msip(0, 1);
    c.check("msip reads back", u64::from(msip(0)), 1);
    c.check("mip.MSIP after msip=1", read_csr!("mip") & MSI, MSI);
    c.check("wfi woke for MSIP", wait_pending(MSI), MSI);
    let at = enable_briefly();
    let r = trap::log_entry(0).unwrap_or_default();
    c.check("software interrupts taken", trap::log_len() as u64, 1);
    c.check("software mcause", r.mcause, INTERRUPT | 3);
    c.check("software mepc-next", r.mepc.wrapping_sub(at), 0);
    c.check("msip after handler", u64::from(msip(0)), 0);
    c.check("mip.MSIP after handler", read_csr!("mip") & MSI, 0);
    clear_csr!("mie", MSI);
    trap::clear_log();
}

fn priority(c: &mut Checker) {
    // Both pending at once: MSI is taken first, then (after its mret re-enables MIE) MTI, both at the
    // same instruction.
    set_mtimecmp(0, 0);
    set_msip(0, 1);
    set_csr!("mie", MSI | MTI);
    c.check(
        "mip with both pending",
        read_csr!("mip") & (MSI | MTI),
        MSI | MTI,
    );
    let at = enable_briefly();
    let first = trap::log_entry(0).unwrap_or_default();
    let second = trap::log_entry(1).unwrap_or_default();
    c.check("interrupts taken", trap::log_len() as u64, 2);
    c.check("first mcause (MSI)", first.mcause, INTERRUPT | 3);
    c.check("second mcause (MTI)", second.mcause, INTERRUPT | 7);
    c.check("first mepc-next", first.mepc.wrapping_sub(at), 0);
    c.check("second mepc-next", second.mepc.wrapping_sub(at), 0);
    clear_csr!("mie", MSI | MTI);
    trap::clear_log();
}

fn timer_in_wfi(c: &mut Checker) {
    // The common idle loop: MIE = 1 and wfi; the interrupt is taken once the timer fires.
    set_csr!("mie", MTI);
    set_mtimecmp(0, mtime() + DELAY);
    set_csr!("mstatus", 1 << 3);
    while trap::log_len() == 0 {
        // SAFETY: waits for the timer interrupt, which the handler silences.
        unsafe { asm!("wfi", options(nomem, nostack)) };
    }
    clear_csr!("mstatus", 1 << 3);
    let r = trap::log_entry(0).unwrap_or_default();
    c.check("idle wfi interrupts taken", trap::log_len() as u64, 1);
    c.check("idle wfi mcause", r.mcause, INTERRUPT | 7);
    clear_csr!("mie", MTI);
    trap::clear_log();
}
