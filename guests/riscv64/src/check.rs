//! The check lines of the ISA tests: `name: value` in hex, then `PASS` or `FAIL n`.

use core::fmt::Display;

use crate::println;

/// Counts checks and mismatches.
#[derive(Debug, Default)]
pub struct Checker {
    checks: u32,
    failures: u32,
}

impl Checker {
    /// No checks yet.
    pub const fn new() -> Self {
        Self {
            checks: 0,
            failures: 0,
        }
    }

    /// Prints `name: value` (`name` may be `format_args!(..)`) and compares `value` with `expected`; a mismatch adds
    /// ` (expected 0x..) MISMATCH` to the line and counts as a failure.
    pub fn check(&mut self, name: impl Display, value: u64, expected: u64) {
        self.checks += 1;
        if value == expected {
            println!("{name}: {value:#x}");
        } else {
            self.failures += 1;
            println!("{name}: {value:#x} (expected {expected:#x}) MISMATCH");
        }
    }

    /// Like [`check`](Self::check), for a yes/no condition printed as 1 or 0.
    pub fn check_true(&mut self, name: impl Display, cond: bool) {
        self.check(name, u64::from(cond), 1);
    }

    /// Mismatches so far.
    pub const fn failures(&self) -> u32 {
        self.failures
    }

    /// Prints `PASS` or `FAIL n` and returns the exit status (0 or the number of mismatches).
    pub fn finish(self) -> u32 {
        if self.failures == 0 {
            println!("PASS ({} checks)", self.checks);
            0
        } else {
            println!("FAIL {} (of {} checks)", self.failures, self.checks);
            self.failures
        }
    }
}
