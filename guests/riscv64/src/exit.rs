//! Ending the program through QEMU virt's SiFive test finisher at 0x10_0000.

/// Address of the finisher.
pub const FINISHER: usize = 0x10_0000;
/// Finisher value: pass (QEMU exits with status 0).
const FINISHER_PASS: u32 = 0x5555;
/// Finisher value: fail, with the code in bits 16..32 (QEMU exits with that status).
const FINISHER_FAIL: u32 = 0x3333;

fn finish(value: u32) -> ! {
    // SAFETY: the finisher is a device register of the machine's memory map; a 32-bit write ends the
    // machine.
    unsafe { (FINISHER as *mut u32).write_volatile(value) };
    loop {
        // SAFETY: `wfi` only waits; the machine is ending.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
    }
}

/// Ends the machine with success.
pub fn pass() -> ! {
    finish(FINISHER_PASS)
}

/// Ends the machine with failure `code` (its low 16 bits; 0 becomes 1, so a failure never reads as a
/// pass).
pub fn fail(code: u32) -> ! {
    let code = match code & 0xffff {
        0 => 1,
        c => c,
    };
    finish((code << 16) | FINISHER_FAIL)
}
