//! Without the `tlb` feature: no translation or configuration cache. Every lookup misses, so every
//! translation reads the stream table, the context descriptor and the translation tables.

use crate::perms::Mapping;
use crate::smmu::{StreamConfig, TlbInvalidation, TlbTag};

/// The SMMU's caches, absent.
pub(crate) struct Tlb;

impl Tlb {
    pub(crate) fn new(_capacity: usize, _config_capacity: usize) -> Self {
        Self
    }

    pub(crate) fn lookup(&mut self, _tag: &TlbTag, _iova: u64) -> Option<Mapping> {
        None
    }

    pub(crate) fn insert(&mut self, _tag: &TlbTag, _iova: u64, _mapping: &Mapping) {}

    pub(crate) fn invalidate(&mut self, _inv: TlbInvalidation) {}

    pub(crate) fn config_lookup(&mut self, _sid: u32, _ssid: Option<u32>) -> Option<StreamConfig> {
        None
    }

    pub(crate) fn config_insert(&mut self, _sid: u32, _ssid: Option<u32>, _cfg: StreamConfig) {}

    pub(crate) fn invalidate_configs(&mut self, _first: u32, _last: u32) {}

    pub(crate) fn clear(&mut self) {}
}
