//! The block cache: compact blocks keyed by (guest physical PC, context key), with a per-page index of
//! the blocks whose code lies on each guest physical page, for self-modifying-code invalidation.

use std::collections::HashMap;
use std::sync::Arc;

use super::compile::CBlock;

/// Cache key: guest physical PC and [`vm_core::exec::GuestCpu::context_key`].
pub(crate) type Key = (u64, u64);

/// Guest page size the engine tracks code and translations at.
pub(crate) const PAGE_SHIFT: u32 = 12;

/// Blocks in compact form and the code pages they came from.
#[derive(Debug, Default)]
pub(crate) struct BlockCache {
    blocks: HashMap<Key, Arc<CBlock>>,
    /// Guest physical page number to the keys of the blocks with code on it.
    pages: HashMap<u64, Vec<Key>>,
    /// Blocks removed because their code changed or was invalidated.
    pub invalidated: u64,
}

impl BlockCache {
    /// The block cached under `key`.
    pub fn get(&self, key: &Key) -> Option<&Arc<CBlock>> {
        self.blocks.get(key)
    }

    /// Cache `block` under `key`; its code lies on the physical pages `pages`. Returns true when one of
    /// the pages was not a code page before (so write fast paths to it must be dropped).
    pub fn insert(&mut self, key: Key, block: Arc<CBlock>, pages: &[u64]) -> bool {
        let mut new_page = false;
        for &p in pages {
            let keys = self.pages.entry(p).or_insert_with(|| {
                new_page = true;
                Vec::new()
            });
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        self.blocks.insert(key, block);
        new_page
    }

    /// Whether guest physical page `page` holds translated code.
    #[inline]
    pub fn is_code_page(&self, page: u64) -> bool {
        !self.pages.is_empty() && self.pages.contains_key(&page)
    }

    /// Drop every block with code on physical page `page`.
    pub fn invalidate_page(&mut self, page: u64) {
        if let Some(keys) = self.pages.remove(&page) {
            for k in keys {
                if self.blocks.remove(&k).is_some() {
                    self.invalidated += 1;
                }
            }
        }
    }

    /// A write of `len` bytes at guest physical `pa` happened: drop the blocks it may have changed.
    #[inline]
    pub fn note_write(&mut self, pa: u64, len: u64) {
        if self.pages.is_empty() {
            return;
        }
        let first = pa >> PAGE_SHIFT;
        let last = pa.wrapping_add(len.saturating_sub(1)) >> PAGE_SHIFT;
        self.invalidate_page(first);
        if last != first {
            self.invalidate_page(last);
        }
    }

    /// Drop every block with code in `[start, start + len)`.
    pub fn invalidate_range(&mut self, start: u64, len: u64) {
        if len == 0 {
            return;
        }
        let first = start >> PAGE_SHIFT;
        let last = start.saturating_add(len - 1) >> PAGE_SHIFT;
        let hit: Vec<u64> = self
            .pages
            .keys()
            .copied()
            .filter(|p| (first..=last).contains(p))
            .collect();
        for p in hit {
            self.invalidate_page(p);
        }
    }

    /// Drop everything.
    pub fn clear(&mut self) {
        self.invalidated += self.blocks.len() as u64;
        self.blocks.clear();
        self.pages.clear();
    }

    /// Number of cached blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }
}
