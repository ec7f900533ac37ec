//! The project's demo: a banner, results a person can check (the first primes, SHA-256 of "abc", an
//! ASCII Mandelbrot set, the number of primes below one million), then the instructions retired and the
//! speed in MIPS, in integer arithmetic. Not used for differential tests: the last lines depend on timing.

#![no_std]
#![no_main]

use rt::cell::StaticCell;
use rt::csr::{TIMEBASE_HZ, rdinstret, rdtime};
use rt::{print, println};
use workloads::{mandelbrot, sha256, sieve};

rt::entry!(main);

/// Numbers below this are sieved.
const SIEVE_LIMIT: usize = 1_000_000;
/// Bytes hashed for the throughput part.
const HASH_BYTES: usize = 1 << 20;
/// Mandelbrot picture size and iteration limit.
const WIDTH: usize = 72;
const HEIGHT: usize = 28;
const MAX_ITER: u32 = 500;

static SIEVE: StaticCell<[u8; sieve::scratch_len(SIEVE_LIMIT)]> =
    StaticCell::new([0; sieve::scratch_len(SIEVE_LIMIT)]);
static HASH_INPUT: StaticCell<[u8; HASH_BYTES]> = StaticCell::new([0; HASH_BYTES]);
static PICTURE: StaticCell<[u8; (WIDTH + 1) * HEIGHT]> = StaticCell::new([0; (WIDTH + 1) * HEIGHT]);

fn main(hartid: usize, dtb: usize) -> u32 {
    let t0 = rdtime();
    let i0 = rdinstret();

    println!("==================================================");
    println!(" vm riscv64 demo: bare-metal RV64GC in M-mode");
    println!(" hart {hartid}, device tree at {dtb:#x}");
    println!("==================================================");

    let mut primes = [0u64; 25];
    let n = sieve::first_primes(100, &mut primes);
    print!("primes below 100:");
    for p in &primes[..n] {
        print!(" {p}");
    }
    println!();

    print!("sha256(\"abc\") = ");
    for b in sha256::sha256(b"abc") {
        print!("{b:02x}");
    }
    println!();

    let (Some(sieve_buf), Some(input), Some(picture)) =
        (SIEVE.take(), HASH_INPUT.take(), PICTURE.take())
    else {
        return 2;
    };
    match sieve::primes_below(SIEVE_LIMIT, sieve_buf) {
        Some(s) => println!(
            "primes below {SIEVE_LIMIT}: {} (largest {}, sum {})",
            s.count, s.largest, s.sum
        ),
        None => return 3,
    }

    workloads::prng::SplitMix64::new(1).fill_bytes(input);
    print!("sha256 of 1 MiB of SplitMix64(1) bytes = ");
    for b in sha256::sha256(input) {
        print!("{b:02x}");
    }
    println!();

    let view = mandelbrot::View::classic(WIDTH, HEIGHT);
    let Some(len) = mandelbrot::render_ascii(&view, MAX_ITER, picture) else {
        return 4;
    };
    rt::uart::puts(&picture[..len]);

    let instructions = rdinstret().wrapping_sub(i0);
    let ticks = rdtime().wrapping_sub(t0).max(1);
    // MIPS = instructions / (ticks / TIMEBASE_HZ) / 10^6, kept in hundredths.
    let mips_x100 = (u128::from(instructions) * u128::from(TIMEBASE_HZ) * 100
        / u128::from(ticks)
        / 1_000_000) as u64;
    let ms = ticks * 1000 / TIMEBASE_HZ;
    println!("instructions retired: {instructions}");
    println!("time: {ms} ms ({ticks} ticks of {TIMEBASE_HZ} Hz)");
    println!("speed: {}.{:02} MIPS", mips_x100 / 100, mips_x100 % 100);
    0
}
