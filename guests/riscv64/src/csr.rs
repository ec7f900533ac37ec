//! Counters, CSR access and QEMU virt's CLINT.

/// Reads a CSR by name: `read_csr!("mstatus")`.
#[macro_export]
macro_rules! read_csr {
    ($csr:literal) => {{
        let v: u64;
        // SAFETY: reading a CSR in M-mode has no side effect on memory; an unimplemented CSR traps,
        // which the runtime's trap handler reports.
        unsafe { core::arch::asm!(concat!("csrr {0}, ", $csr), out(reg) v, options(nostack)) };
        v
    }};
}

/// Writes a CSR by name: `write_csr!("mscratch", value)`.
#[macro_export]
macro_rules! write_csr {
    ($csr:literal, $v:expr) => {{
        let v: u64 = $v;
        // SAFETY: the caller names a CSR whose new value keeps the program's own invariants (it does not
        // move the stack or the trap vector away from the runtime's).
        unsafe { core::arch::asm!(concat!("csrw ", $csr, ", {0}"), in(reg) v, options(nostack)) };
    }};
}

/// Sets bits of a CSR by name: `set_csr!("mie", 1 << 7)`.
#[macro_export]
macro_rules! set_csr {
    ($csr:literal, $v:expr) => {{
        let v: u64 = $v;
        // SAFETY: as for `write_csr!`.
        unsafe { core::arch::asm!(concat!("csrs ", $csr, ", {0}"), in(reg) v, options(nostack)) };
    }};
}

/// Clears bits of a CSR by name: `clear_csr!("mie", 1 << 7)`.
#[macro_export]
macro_rules! clear_csr {
    ($csr:literal, $v:expr) => {{
        let v: u64 = $v;
        // SAFETY: as for `write_csr!`.
        unsafe { core::arch::asm!(concat!("csrc ", $csr, ", {0}"), in(reg) v, options(nostack)) };
    }};
}

/// Instructions retired (`rdinstret`). QEMU without `-icount` returns host ticks here, not instructions.
pub fn rdinstret() -> u64 {
    let v: u64;
    // SAFETY: reading the `instret` counter has no side effects.
    unsafe { core::arch::asm!("rdinstret {0}", out(reg) v, options(nomem, nostack)) };
    v
}

/// The real-time counter (`rdtime`): the CLINT's `mtime`, 10 MHz on QEMU virt.
pub fn rdtime() -> u64 {
    let v: u64;
    // SAFETY: reading the `time` counter has no side effects.
    unsafe { core::arch::asm!("rdtime {0}", out(reg) v, options(nomem, nostack)) };
    v
}

/// Cycles (`rdcycle`).
pub fn rdcycle() -> u64 {
    let v: u64;
    // SAFETY: reading the `cycle` counter has no side effects.
    unsafe { core::arch::asm!("rdcycle {0}", out(reg) v, options(nomem, nostack)) };
    v
}

/// `mtime` ticks per second on QEMU virt (and the project's `riscv64-virt`).
pub const TIMEBASE_HZ: u64 = 10_000_000;

/// Base address of the CLINT.
pub const CLINT: usize = 0x200_0000;
/// Offset of hart 0's `msip`.
const MSIP: usize = 0;
/// Offset of hart 0's `mtimecmp`.
const MTIMECMP: usize = 0x4000;
/// Offset of `mtime`.
const MTIME: usize = 0xbff8;

/// Reads `mtime` through the CLINT.
pub fn mtime() -> u64 {
    // SAFETY: the CLINT is a device of the machine's memory map; reading mtime has no side effects.
    unsafe { ((CLINT + MTIME) as *const u64).read_volatile() }
}

/// Writes `mtimecmp` of `hart`.
pub fn set_mtimecmp(hart: usize, value: u64) {
    // SAFETY: the CLINT is a device of the machine's memory map; this sets when the timer interrupt
    // of `hart` is pending.
    unsafe { ((CLINT + MTIMECMP + 8 * hart) as *mut u64).write_volatile(value) };
}

/// Writes `msip` of `hart` (bit 0 raises the machine software interrupt).
pub fn set_msip(hart: usize, value: u32) {
    // SAFETY: the CLINT is a device of the machine's memory map; this sets the software interrupt
    // pending bit of `hart`.
    unsafe { ((CLINT + MSIP + 4 * hart) as *mut u32).write_volatile(value) };
}

/// Reads `msip` of `hart`.
pub fn msip(hart: usize) -> u32 {
    // SAFETY: the CLINT is a device of the machine's memory map; reading msip has no side effects.
    unsafe { ((CLINT + MSIP + 4 * hart) as *const u32).read_volatile() }
}
