//! The translation cache (TLB) and the configuration cache, with the SMMU's invalidation semantics.
//!
//! TLB entries are tagged by VMID, ASID (stage-1 regimes; global entries match every ASID) and the
//! translation regime, and cover a naturally aligned region of the page or block size the walk found.
//! The configuration cache holds decoded STE + CD pairs per `(stream, substream)`.
//!
//! Invalidation follows the commands: `CMD_TLBI_*` drop TLB entries, `CMD_CFGI_*` drop configurations.
//! Both caches are bounded; when full, the entry with the smallest key is evicted (a simple policy: a
//! miss only costs a table walk). Both are emptied when `CR0.SMMUEN` changes.

use alloc::collections::BTreeMap;

use crate::perms::Mapping;
use crate::smmu::{Regime, Smmu, StreamConfig, TlbInvalidation, TlbTag};

/// TLB and configuration cache counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TlbStats {
    /// Translations found in the TLB.
    pub hits: u64,
    /// Translations that needed a table walk.
    pub misses: u64,
    /// TLB entries dropped by invalidation commands.
    pub invalidated: u64,
    /// TLB entries held now.
    pub entries: usize,
    /// Stream configurations found in the configuration cache.
    pub config_hits: u64,
    /// Stream configurations decoded from guest memory.
    pub config_misses: u64,
    /// Configurations held now.
    pub config_entries: usize,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    vmid: u16,
    regime: Regime,
    /// `None` for stage-2 entries and global stage-1 entries.
    asid: Option<u16>,
    shift: u8,
    page: u64,
}

impl Key {
    /// Whether the entry's input region overlaps `[start, start + len)`.
    fn overlaps(&self, start: u64, len: u64) -> bool {
        let base = u128::from(self.page) << self.shift;
        let end = base + (1u128 << self.shift);
        let (start, stop) = (
            u128::from(start),
            u128::from(start) + u128::from(len.max(1)),
        );
        base < stop && start < end
    }

    fn matches(&self, inv: &TlbInvalidation) -> bool {
        let stage1 = self.regime != Regime::Stage2;
        match *inv {
            TlbInvalidation::All => true,
            TlbInvalidation::Vmid(vmid) => self.vmid == vmid,
            TlbInvalidation::Stage1 { vmid } => self.vmid == vmid && stage1,
            TlbInvalidation::Asid { vmid, asid } => {
                self.vmid == vmid && stage1 && self.asid == Some(asid)
            }
            TlbInvalidation::Va {
                vmid,
                asid,
                start,
                len,
            } => {
                let asid_ok = asid.is_none() || self.asid.is_none() || self.asid == asid;
                self.vmid == vmid && stage1 && asid_ok && self.overlaps(start, len)
            }
            TlbInvalidation::Ipa { vmid, start, len } => {
                self.vmid == vmid
                    && (self.regime == Regime::Nested
                        || (self.regime == Regime::Stage2 && self.overlaps(start, len)))
            }
        }
    }
}

/// The SMMU's caches.
pub(crate) struct Tlb {
    entries: BTreeMap<Key, Mapping>,
    /// Bit `n` set: some entry may cover `2^n` bytes.
    shifts: u64,
    capacity: usize,
    configs: BTreeMap<(u32, Option<u32>), StreamConfig>,
    config_capacity: usize,
    stats: TlbStats,
}

impl Tlb {
    pub(crate) fn new(capacity: usize, config_capacity: usize) -> Self {
        Self {
            entries: BTreeMap::new(),
            shifts: 0,
            capacity,
            configs: BTreeMap::new(),
            config_capacity,
            stats: TlbStats::default(),
        }
    }

    /// The cached mapping of `iova` under `tag`, counting a hit or a miss.
    pub(crate) fn lookup(&mut self, tag: &TlbTag, iova: u64) -> Option<Mapping> {
        let mut shifts = self.shifts;
        while shifts != 0 {
            let shift = shifts.trailing_zeros() as u8;
            shifts &= shifts - 1;
            let mut key = Key {
                vmid: tag.vmid,
                regime: tag.regime,
                asid: tag.asid,
                shift,
                page: iova >> shift,
            };
            let found = self.entries.get(&key).or_else(|| {
                key.asid = None;
                self.entries
                    .get(&key)
                    .filter(|m| tag.regime == Regime::Stage2 || m.global)
            });
            if let Some(m) = found {
                self.stats.hits += 1;
                return Some(*m);
            }
        }
        self.stats.misses += 1;
        None
    }

    /// Cache the mapping the walk found for `iova`.
    pub(crate) fn insert(&mut self, tag: &TlbTag, iova: u64, mapping: &Mapping) {
        if self.capacity == 0 {
            return;
        }
        while self.entries.len() >= self.capacity {
            self.entries.pop_first();
        }
        let shift = mapping.size_shift.min(63) as u8;
        let asid = if mapping.global { None } else { tag.asid };
        let key = Key {
            vmid: tag.vmid,
            regime: tag.regime,
            asid,
            shift,
            page: iova >> shift,
        };
        self.entries.insert(key, *mapping);
        self.shifts |= 1 << shift;
    }

    /// Drop the entries `inv` selects.
    pub(crate) fn invalidate(&mut self, inv: TlbInvalidation) {
        let before = self.entries.len();
        self.entries.retain(|k, _| !k.matches(&inv));
        self.stats.invalidated += (before - self.entries.len()) as u64;
        if self.entries.is_empty() {
            self.shifts = 0;
        }
    }

    /// The cached configuration of `(sid, ssid)`, counting a hit or a miss.
    pub(crate) fn config_lookup(&mut self, sid: u32, ssid: Option<u32>) -> Option<StreamConfig> {
        let found = self.configs.get(&(sid, ssid)).copied();
        if found.is_some() {
            self.stats.config_hits += 1;
        } else {
            self.stats.config_misses += 1;
        }
        found
    }

    /// Cache a decoded configuration.
    pub(crate) fn config_insert(&mut self, sid: u32, ssid: Option<u32>, cfg: StreamConfig) {
        if self.config_capacity == 0 {
            return;
        }
        while self.configs.len() >= self.config_capacity {
            self.configs.pop_first();
        }
        self.configs.insert((sid, ssid), cfg);
    }

    /// Drop the configurations of streams `first..=last` (every substream).
    pub(crate) fn invalidate_configs(&mut self, first: u32, last: u32) {
        self.configs
            .retain(|&(sid, _), _| sid < first || sid > last);
    }

    /// Empty both caches.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.shifts = 0;
        self.configs.clear();
    }

    fn stats(&self) -> TlbStats {
        TlbStats {
            entries: self.entries.len(),
            config_entries: self.configs.len(),
            ..self.stats
        }
    }
}

impl Smmu {
    /// TLB and configuration cache counters.
    pub fn tlb_stats(&self) -> TlbStats {
        self.tlb.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(shift: u32, out: u64, global: bool) -> Mapping {
        Mapping {
            size_shift: shift,
            out_base: out,
            ipa_base: out,
            s1: None,
            s2: None,
            global,
        }
    }

    const S1: TlbTag = TlbTag {
        vmid: 1,
        asid: Some(7),
        regime: Regime::Stage1,
    };

    #[test]
    fn hit_and_miss_counting() {
        let mut t = Tlb::new(16, 4);
        assert!(t.lookup(&S1, 0x1000).is_none());
        t.insert(&S1, 0x1234, &mapping(12, 0x9000, false));
        assert_eq!(t.lookup(&S1, 0x1fff).unwrap().out_base, 0x9000);
        assert!(t.lookup(&S1, 0x2000).is_none());
        let other_asid = TlbTag {
            asid: Some(8),
            ..S1
        };
        assert!(t.lookup(&other_asid, 0x1000).is_none());
        let s = t.stats();
        assert_eq!((s.hits, s.misses, s.entries), (1, 3, 1));
    }

    #[test]
    fn global_entries_match_every_asid_but_survive_asid_invalidation() {
        let mut t = Tlb::new(16, 4);
        t.insert(&S1, 0x20_0000, &mapping(21, 0x4000_0000, true));
        t.insert(&S1, 0x1000, &mapping(12, 0x5000, false));
        let other = TlbTag {
            asid: Some(9),
            ..S1
        };
        assert_eq!(t.lookup(&other, 0x3f_ffff).unwrap().out_base, 0x4000_0000);
        t.invalidate(TlbInvalidation::Asid { vmid: 1, asid: 7 });
        assert!(t.lookup(&S1, 0x1000).is_none());
        assert!(t.lookup(&S1, 0x20_0000).is_some());
        // A VA invalidation of one ASID also drops global entries covering the address.
        t.invalidate(TlbInvalidation::Va {
            vmid: 1,
            asid: Some(3),
            start: 0x30_0000,
            len: 1,
        });
        assert!(t.lookup(&S1, 0x20_0000).is_none());
        assert_eq!(t.stats().invalidated, 2);
    }

    #[test]
    fn range_and_regime_invalidation() {
        let mut t = Tlb::new(16, 4);
        let s2 = TlbTag {
            vmid: 1,
            asid: None,
            regime: Regime::Stage2,
        };
        let nested = TlbTag {
            vmid: 1,
            asid: Some(7),
            regime: Regime::Nested,
        };
        for page in 0..4u64 {
            t.insert(
                &S1,
                page << 12,
                &mapping(12, 0x10_0000 + (page << 12), false),
            );
        }
        t.insert(&s2, 0x8000, &mapping(12, 0x8000, false));
        t.insert(&nested, 0x8000, &mapping(12, 0x8000, false));
        t.invalidate(TlbInvalidation::Va {
            vmid: 1,
            asid: None,
            start: 0x1800,
            len: 0x1000,
        });
        assert!(t.lookup(&S1, 0x0).is_some());
        assert!(t.lookup(&S1, 0x1000).is_none());
        assert!(t.lookup(&S1, 0x2000).is_none());
        assert!(t.lookup(&S1, 0x3000).is_some());
        // Stage-1 invalidation leaves stage-2 entries alone.
        t.invalidate(TlbInvalidation::Stage1 { vmid: 1 });
        assert!(t.lookup(&S1, 0x0).is_none());
        assert!(t.lookup(&nested, 0x8000).is_none());
        assert!(t.lookup(&s2, 0x8000).is_some());
        t.insert(&nested, 0x8000, &mapping(12, 0x8000, false));
        t.invalidate(TlbInvalidation::Ipa {
            vmid: 2,
            start: 0x8000,
            len: 1,
        });
        assert!(t.lookup(&s2, 0x8000).is_some());
        t.invalidate(TlbInvalidation::Ipa {
            vmid: 1,
            start: 0x8000,
            len: 1,
        });
        assert!(t.lookup(&s2, 0x8000).is_none());
        assert!(t.lookup(&nested, 0x8000).is_none());
    }

    #[test]
    fn capacity_bounds_both_caches() {
        let mut t = Tlb::new(2, 1);
        for page in 0..5u64 {
            t.insert(&S1, page << 12, &mapping(12, 0, false));
        }
        assert_eq!(t.stats().entries, 2);
        let cfg = StreamConfig {
            mode: crate::ste::StreamMode::Bypass,
            vmid: 0,
            eats: 0,
            cd: None,
            s2: None,
        };
        t.config_insert(1, None, cfg);
        t.config_insert(2, None, cfg);
        assert_eq!(t.stats().config_entries, 1);
        assert!(t.config_lookup(2, None).is_some());
        t.invalidate_configs(0, 5);
        assert!(t.config_lookup(2, None).is_none());
        assert_eq!((t.stats().config_hits, t.stats().config_misses), (1, 1));
        let mut none = Tlb::new(0, 0);
        none.insert(&S1, 0, &mapping(12, 0, false));
        assert_eq!(none.stats().entries, 0);
    }

    #[test]
    fn top_of_address_space_does_not_overflow() {
        let k = Key {
            vmid: 0,
            regime: Regime::Stage1,
            asid: None,
            shift: 30,
            page: u64::MAX >> 30,
        };
        assert!(k.overlaps(u64::MAX, u64::MAX));
        assert!(!k.overlaps(0, 1 << 30));
    }
}
