//! Architecture-independent, CPU-bound workloads with checkable results.
//!
//! The project's bare-metal guest programs (`guests/riscv64`, and later an x86-64 counterpart) run these
//! workloads and print their digests; the same source compiles for every target, so a digest that differs
//! between targets or between an emulator and QEMU points at an emulation bug. Nothing here allocates or
//! knows an architecture: callers hand in scratch buffers, and floating point uses only `+ - * /` and a
//! correctly-rounded `sqrt` (from `libm`), whose results IEEE 754 fixes bit for bit.
//!
//! Each workload is written by hand on purpose: the workload code *is* the thing being measured, so it
//! must be the same plain Rust on every target (crates such as `sha2` or `crc32fast` switch to SIMD or
//! instruction-set specific back ends, which would make instruction counts and code paths differ).
//!
//! Modules:
//! - [`prng`]: SplitMix64, the deterministic input generator.
//! - [`digest`]: FNV-1a 64, to fold many values into one.
//! - [`sha256`]: SHA-256 (FIPS 180-4).
//! - [`crc32`]: CRC-32 (IEEE 802.3, reflected, as in zlib).
//! - [`sieve`]: sieve of Eratosthenes (count and sum of primes).
//! - [`matmul`]: wrapping `u64` matrix multiply.
//! - [`mandelbrot`]: escape-time Mandelbrot in `f64`, with an ASCII renderer.
//! - [`nbody`]: the Computer Language Benchmarks Game n-body simulation in `f64`.
//! - [`sort`]: sorting pseudo-random `u32` keys.
//!
//! # Example
//!
//! ```
//! use workloads::{crc32, sha256, sieve};
//!
//! assert_eq!(crc32::crc32(b"123456789"), 0xcbf4_3926);
//! let digest = sha256::sha256(b"abc");
//! assert_eq!(digest[..4], [0xba, 0x78, 0x16, 0xbf]);
//! let mut scratch = [0u8; 50];
//! let primes = sieve::primes_below(100, &mut scratch).unwrap();
//! assert_eq!((primes.count, primes.sum), (25, 1060));
//! ```

#![no_std]

pub mod crc32;
pub mod digest;
pub mod mandelbrot;
pub mod matmul;
pub mod nbody;
pub mod prng;
pub mod sha256;
pub mod sieve;
pub mod sort;
