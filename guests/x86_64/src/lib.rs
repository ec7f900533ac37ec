//! The runtime of the bare-metal x86-64 guest programs (the binaries in `src/bin/`).
//!
//! The programs run on the project's `x86_64-microvm` machine under KVM (`vm run --machine
//! x86_64-microvm --accel kvm --kernel prog.elf`). The VMM loads the ELF file, builds identity-mapped
//! page tables and a GDT and enters `_start` in 64-bit mode at ring 0 with `rsi` = the zero page (the
//! Linux 64-bit boot protocol: CS = `0x10`, DS = SS = `0x18`, interrupts off).
//!
//! Ring 0 ([`kernel`]) is the smallest kernel that can host a ring-3 program: `_start` installs the
//! runtime's GDT (the boot protocol's selectors plus ring-3 code and data and a TSS whose `rsp0` is the
//! kernel stack) and an IDT for the 32 exceptions and the system call vector 0x80, then drops to
//! ring 3 with `iretq`. Ring 3 ([`user`]) resets the x87/SSE control state, runs the program's entry
//! function (declared with [`entry!`]) and asks ring 0 for output and for the end of the program with
//! the trap `int 0x80` (`rax` = number, `rdi`, `rsi` = arguments, result in `rax`):
//!
//! - `write(ptr, len)` (1): ring 0 sends the bytes to the 16550 UART at port `0x3f8`, polling
//!   LSR.THRE before each byte;
//! - `exit(code)` (60): ring 0 writes the low byte of the status to the exit port `0xf4`, which ends
//!   the VM with that status.
//!
//! An exception in ring 3 (or ring 0) prints `unexpected exception: ...` and ends with status
//! [`EXIT_EXCEPTION`]; a panic prints `PANIC: ...` and ends with [`EXIT_PANIC`].
//!
//! Why ring 3: the program's own code then runs without any privileged instruction, which is what a
//! hypervisor runs at full speed everywhere, including under PVM (a software KVM for nested clouds,
//! whose ring 0 is an instruction emulator that knows no SSE arithmetic, which is why [`kernel`] stays
//! scalar). PVM also keeps `int 0x80` for its own paravirtual guests and raises `#UD` for it in ours;
//! the trap handler recognises a `#UD` at an `int 0x80` instruction as the same system call, so one
//! binary runs under VMX, SVM and PVM.
//!
//! The programs are built for `x86_64-unknown-linux-gnu` as freestanding, statically linked ELF files
//! (no `std`, no libc; [`mem`] supplies `memcpy` and friends), so that floating point uses SSE2 exactly
//! as the host's own build of the same workloads does; `x86_64-unknown-none` would use soft float.

#![no_std]

#[path = "../../riscv64/src/cell.rs"]
pub mod cell;
#[path = "../../riscv64/src/check.rs"]
pub mod check;
pub mod kernel;
pub mod mem;
pub mod start;
pub mod user;

/// Exit status of a panic.
pub const EXIT_PANIC: u32 = 0x7e;
/// Exit status after an unexpected exception.
pub const EXIT_EXCEPTION: u32 = 0x7f;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if kernel::in_ring0() {
        // Ring 0 cannot format (see `kernel`): report without the message.
        kernel::report_and_exit(b"PANIC in ring 0\n", EXIT_PANIC)
    }
    println!("PANIC: {info}");
    user::exit(EXIT_PANIC)
}
