//! The host's monotonic clock as a CLINT time source.

use std::time::Instant;

use super::clock::{CLINT_TIMEBASE_HZ, ClockSource};

/// Nanoseconds per timebase tick.
const NANOS_PER_TICK: u128 = 1_000_000_000 / CLINT_TIMEBASE_HZ as u128;

/// `std::time::Instant` scaled to the 10 MHz timebase, counting from the moment the clock was made.
#[derive(Clone, Copy, Debug)]
pub struct HostClock {
    epoch: Instant,
}

impl HostClock {
    /// A clock whose count starts at 0 now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }
}

impl Default for HostClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ClockSource for HostClock {
    fn ticks(&self) -> u64 {
        // Wraps after ~58,000 years, as the 64-bit register would.
        (self.epoch.elapsed().as_nanos() / NANOS_PER_TICK) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_at_ten_megahertz() {
        let clock = HostClock::new();
        let t0 = clock.ticks();
        std::thread::sleep(Duration::from_millis(20));
        let t1 = clock.ticks();
        // At least 20 ms = 200_000 ticks went by; allow a generous upper bound for a loaded host.
        assert!(t1 - t0 >= 200_000, "{t0} -> {t1}");
        assert!(t1 - t0 < 200_000_000, "{t0} -> {t1}");
    }
}
