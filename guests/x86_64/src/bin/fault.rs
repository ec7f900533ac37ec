//! Executes `ud2` in ring 3: the runtime must report the exception (vector 6, `#UD`, from ring-3 code
//! selector 0x2b) and end with status 0x7f.

#![no_std]
#![no_main]

rt::entry!(main);

fn main(_hartid: usize, _bootinfo: usize) -> u32 {
    rt::println!("fault: executing ud2 in ring 3");
    // SAFETY: `ud2` raises #UD, which the runtime reports before ending the program.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
    rt::println!("fault: still running after ud2");
    1
}
