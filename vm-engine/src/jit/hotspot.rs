//! [`HotSpotCounter`]: decides when a block is hot enough to compile.

use std::collections::HashMap;

use super::cache::BlockKey;

/// Counts executions per block key and reports, once, when a key reaches the threshold.
#[derive(Clone, Debug)]
pub struct HotSpotCounter {
    threshold: u32,
    counts: HashMap<BlockKey, u32>,
}

impl HotSpotCounter {
    /// A counter that reports a key on its `threshold`-th execution (a threshold of 0 acts as 1).
    pub fn new(threshold: u32) -> Self {
        Self {
            threshold: threshold.max(1),
            counts: HashMap::new(),
        }
    }

    /// The threshold.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// Record one execution of `key`; `true` exactly when this execution makes it hot (once per key
    /// until [`HotSpotCounter::reset`]). A block the JIT refuses therefore is not retried on every run.
    pub fn record(&mut self, key: BlockKey) -> bool {
        let c = self.counts.entry(key).or_insert(0);
        *c = c.saturating_add(1);
        *c == self.threshold
    }

    /// Executions recorded for `key`.
    pub fn count(&self, key: BlockKey) -> u32 {
        self.counts.get(&key).copied().unwrap_or(0)
    }

    /// Forget `key` (its code was invalidated or evicted: let it become hot again).
    pub fn reset(&mut self, key: BlockKey) {
        self.counts.remove(&key);
    }

    /// Forget every key whose block starts in the physical range `[start, end)`.
    pub fn reset_range(&mut self, start: u64, end: u64) {
        self.counts
            .retain(|k, _| !(start..end).contains(&k.phys_pc));
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.counts.clear();
    }

    /// Number of keys tracked.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}
