//! The smallest useful program: a banner naming the privilege level it runs at, a few results that
//! can be checked by hand (the primes below 100, SHA-256 of "abc"), exit status 0. Deterministic.

#![no_std]
#![no_main]

use rt::println;
use workloads::{sha256, sieve};

rt::entry!(main);

fn main(_hartid: usize, _bootinfo: usize) -> u32 {
    let cs: u16;
    // SAFETY: reading CS has no side effects.
    unsafe { core::arch::asm!("mov {0:x}, cs", out(reg) cs, options(nomem, nostack)) };
    println!("hello from x86-64 ring {}", cs & 3);
    let mut scratch = [0u8; 64];
    if let Some(p) = sieve::primes_below(100, &mut scratch) {
        println!(
            "primes below 100: count {} sum {} largest {}",
            p.count, p.sum, p.largest
        );
    }
    rt::print!("sha256(\"abc\") = ");
    for b in sha256::sha256(b"abc") {
        rt::print!("{b:02x}");
    }
    println!();
    println!("hello: done");
    0
}
