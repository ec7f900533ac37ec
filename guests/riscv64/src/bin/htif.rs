//! HTIF exit: prints a line, writes 1 (exit status 0) to the `tohost` word and spins forever. The
//! machine must end it by serving HTIF (the project's `riscv64-virt` does when the ELF defines `tohost`).
//!
//! Not run on QEMU: `qemu-system-riscv64 -M virt -bios none` does not serve HTIF (only the `spike`
//! machine does), so there this program would spin until killed.

#![no_std]
#![no_main]

rt::entry!(main);

/// The HTIF mailbox the host polls: `1` = exit with status 0, `(code << 1) | 1` = exit with `code`.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".tohost")]
#[used]
static mut tohost: u64 = 0;

/// The host's reply word (unused here, defined for hosts that expect it).
#[unsafe(no_mangle)]
#[unsafe(link_section = ".tohost")]
#[used]
static mut fromhost: u64 = 0;

fn main(_hartid: usize, _dtb: usize) -> u32 {
    rt::println!("htif: writing 1 to tohost");
    let mailbox = &raw mut tohost;
    // SAFETY: `tohost` is this program's own, 8-byte aligned word, written only here; a volatile write
    // through a raw pointer (no reference to the `static mut`) is what the host polls.
    unsafe { mailbox.write_volatile(1) };
    loop {
        core::hint::spin_loop();
    }
}
