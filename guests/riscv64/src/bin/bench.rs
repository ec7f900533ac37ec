//! CPU-bound benchmark: runs every workload of the `workloads` crate [`ROUNDS`] times (each round with a
//! different seed or size step) and prints one digest per workload. The output is deterministic (no
//! timing), so it doubles as a differential test; the interpreter's speed is measured from outside.
//!
//! Sizes are the constants below; the defaults run about 1.5 G instructions on QEMU.

#![no_std]
#![no_main]

use rt::cell::StaticCell;
use rt::println;
use workloads::digest::Fnv64;
use workloads::{crc32, mandelbrot, matmul, nbody, prng, sha256, sieve, sort};

rt::entry!(main);

/// Rounds of every workload.
const ROUNDS: u64 = 4;
/// Bytes hashed by SHA-256 and CRC-32 per round.
const HASH_BYTES: usize = 1 << 20;
/// The sieve runs below this limit.
const SIEVE_LIMIT: usize = 4_000_000;
/// Matrix size (n x n).
const MATRIX_N: usize = 128;
/// Mandelbrot grid and iteration limit.
const MANDEL_W: usize = 200;
const MANDEL_H: usize = 150;
const MANDEL_ITER: u32 = 512;
/// n-body steps.
const NBODY_STEPS: u32 = 100_000;
/// Keys sorted per round.
const SORT_KEYS: usize = 200_000;

static BYTES: StaticCell<[u8; HASH_BYTES]> = StaticCell::new([0; HASH_BYTES]);
static SIEVE: StaticCell<[u8; sieve::scratch_len(SIEVE_LIMIT)]> =
    StaticCell::new([0; sieve::scratch_len(SIEVE_LIMIT)]);
static MATRICES: StaticCell<[[u64; MATRIX_N * MATRIX_N]; 3]> =
    StaticCell::new([[0; MATRIX_N * MATRIX_N]; 3]);
static KEYS: StaticCell<[u32; SORT_KEYS]> = StaticCell::new([0; SORT_KEYS]);

/// Exit code when a scratch buffer is missing or too small (a bug in this program).
const EXIT_SETUP: u32 = 2;

fn main(_hartid: usize, _dtb: usize) -> u32 {
    let (Some(bytes), Some(sieve_buf), Some([a, b, c]), Some(keys)) =
        (BYTES.take(), SIEVE.take(), MATRICES.take(), KEYS.take())
    else {
        return EXIT_SETUP;
    };
    println!("bench: {ROUNDS} rounds");

    // SHA-256 and CRC-32 over fresh pseudo-random bytes each round.
    let mut sha = Fnv64::new();
    let mut crc = Fnv64::new();
    let mut last_sha = [0u8; 32];
    for round in 0..ROUNDS {
        prng::SplitMix64::new(round).fill_bytes(bytes);
        last_sha = sha256::sha256(bytes);
        sha.write(&last_sha);
        crc.write_u64(u64::from(crc32::crc32(bytes)));
    }
    print_hex("sha256: last", &last_sha);
    println!(
        "sha256: {HASH_BYTES} bytes x {ROUNDS}: fnv {:#018x}",
        sha.finish()
    );
    println!(
        "crc32: {HASH_BYTES} bytes x {ROUNDS}: fnv {:#018x}",
        crc.finish()
    );

    // The sieve below a limit that grows each round.
    let mut primes = Fnv64::new();
    for round in 0..ROUNDS {
        let limit = SIEVE_LIMIT - round as usize * 1000;
        let Some(s) = sieve::primes_below(limit, sieve_buf) else {
            return EXIT_SETUP;
        };
        println!(
            "sieve: below {limit}: count {} sum {} largest {}",
            s.count, s.sum, s.largest
        );
        primes.write_u64(s.count);
        primes.write_u64(s.sum);
    }
    println!("sieve: fnv {:#018x}", primes.finish());

    let mut mat = Fnv64::new();
    for round in 0..ROUNDS {
        let Some(d) = matmul::random_product_digest(MATRIX_N, round, a, b, c) else {
            return EXIT_SETUP;
        };
        mat.write_u64(d);
    }
    println!(
        "matmul: {MATRIX_N}x{MATRIX_N} x {ROUNDS}: fnv {:#018x}",
        mat.finish()
    );

    // Mandelbrot over views shifted a little each round.
    let mut mandel = Fnv64::new();
    for round in 0..ROUNDS {
        let mut view = mandelbrot::View::classic(MANDEL_W, MANDEL_H);
        view.re_min -= round as f64 / 64.0;
        let s = mandelbrot::grid(&view, MANDEL_ITER);
        mandel.write_u64(s.total_iterations);
        mandel.write_u64(s.inside);
        println!(
            "mandelbrot: round {round}: iterations {} inside {}",
            s.total_iterations, s.inside
        );
    }
    println!("mandelbrot: fnv {:#018x}", mandel.finish());

    let e = nbody::energy_after(NBODY_STEPS);
    println!(
        "nbody: {NBODY_STEPS} steps: energy {e:.9} bits {:#018x}",
        e.to_bits()
    );

    let mut sorted = Fnv64::new();
    for round in 0..ROUNDS {
        let Some(d) = sort::sort_random(keys, round) else {
            println!("sort: round {round}: result not sorted");
            return 3;
        };
        sorted.write_u64(u64::from(d));
    }
    println!(
        "sort: {SORT_KEYS} keys x {ROUNDS}: fnv {:#018x}",
        sorted.finish()
    );
    println!("bench: done");
    0
}

fn print_hex(label: &str, bytes: &[u8]) {
    rt::print!("{label} ");
    for b in bytes {
        rt::print!("{b:02x}");
    }
    println!();
}
