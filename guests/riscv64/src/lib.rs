//! The runtime of the bare-metal RISC-V guest programs (the binaries in `src/bin/`).
//!
//! The programs run in M-mode on QEMU virt's memory map (`qemu-system-riscv64 -M virt -bios none
//! -kernel FILE`) and on the project's own `riscv64-virt` machine. The hart starts at 0x8000_0000 with
//! `a0` = hart id and `a1` = device tree address; [`start`]'s `_start` sets the stack from the linker
//! script, zeroes `.bss`, installs the trap vector, enables the FPU (`mstatus.FS` = Initial) and clears
//! `fcsr` (round to nearest, even: compiled FP code uses the dynamic mode), then calls the program's entry
//! function (declared with [`entry!`]). Its return value is the exit status: 0 passes
//! through the SiFive test finisher, anything else fails with that code.
//!
//! What the runtime offers:
//! - [`uart`]: polled output on the NS16550A UART0 and the [`print!`]/[`println!`] macros;
//! - [`exit`]: the SiFive test finisher (pass, or fail with a code);
//! - [`csr`]: `rdinstret`/`rdtime`/`rdcycle` and CSR access macros; the CLINT registers;
//! - [`trap`]: a trap frame, a replaceable trap handler (the default prints the cause and fails) and a
//!   small log of recorded traps;
//! - [`insn`]: `rr!`/`ri!`/`r1!`, one exact instruction on register operands;
//! - [`check`]: the `name: value` check lines and the final `PASS`/`FAIL n` of the ISA tests;
//! - [`cell`]: statically allocated scratch buffers for the workloads.
//!
//! Nothing here initialises the UART (QEMU's model and the project's need no set-up): only LSR.THRE is
//! polled before each byte.

#![no_std]

pub mod cell;
pub mod check;
pub mod csr;
pub mod exit;
pub mod insn;
pub mod start;
pub mod trap;
pub mod uart;

/// Exit code of a panic.
pub const EXIT_PANIC: u32 = 0x7e;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC: {info}");
    exit::fail(EXIT_PANIC)
}
