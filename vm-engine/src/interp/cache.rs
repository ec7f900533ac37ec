//! The block cache: compact blocks in a slab, found by (guest physical PC, context key) through a hash
//! map, with a per-page index of the blocks whose code lies on each guest physical page (for
//! self-modifying-code invalidation), and a direct-mapped jump cache in front of it all.
//!
//! **Jump cache** (QEMU's `tb_jmp_cache`): 4096 entries indexed by bits of the guest *virtual* PC,
//! each remembering the block found for that PC. An entry is trusted only while nothing it depends on
//! changed: it records the sum of two epochs, the MMU's (bumped when translations are flushed, which
//! includes every context-key change) and the cache's (bumped whenever a block is removed), both only
//! ever growing. A hit costs one compare of the PC, one of the epoch and a slab access, and skips the
//! fetch translation and the hash map; a miss does the full lookup and refills the entry.
//!
//! **Block chaining** (QEMU's TB links): each block also remembers, in two link slots, which block
//! followed it, checked the same way (PC and epoch); after a block the run loop tries its links
//! first, so a hot loop touches neither the jump cache nor the map.
//!
//! The hash map uses `rustc-hash`'s Fx hasher: keys are the engine's own PCs and context keys, not
//! adversarial input worth SipHash's cost.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use super::ops::CBlock;

/// Cache key: guest physical PC and [`vm_core::exec::GuestCpu::context_key`].
pub(crate) type Key = (u64, u64);

/// Guest page size the engine tracks code and translations at.
pub(crate) const PAGE_SHIFT: u32 = 12;

/// A block's place in the slab.
pub(crate) type BlockId = u32;

const JC_LEN: usize = 4096;

/// "The block for guest PC `pc` was `id` while the epoch was `epoch`."
#[derive(Copy, Clone, Debug, Default)]
struct Link {
    pc: u64,
    epoch: u64,
    id: BlockId,
}

#[derive(Copy, Clone, Debug, Default)]
struct JcEntry {
    pc: u64,
    epoch: u64,
    id: BlockId,
}

/// Blocks in compact form and the code pages they came from.
#[derive(Debug)]
pub(crate) struct BlockCache {
    slab: Vec<Option<CBlock>>,
    /// Two links per slab slot: the blocks that followed it.
    links: Vec<[Link; 2]>,
    free: Vec<BlockId>,
    map: HashMap<Key, BlockId, FxBuildHasher>,
    /// Guest physical page number to the keys of the blocks with code on it.
    pages: HashMap<u64, Vec<Key>, FxBuildHasher>,
    jc: Box<[JcEntry; JC_LEN]>,
    /// Bumped whenever a block is removed.
    epoch: u64,
    /// Blocks removed because their code changed or was invalidated.
    pub invalidated: u64,
}

impl Default for BlockCache {
    fn default() -> Self {
        Self {
            slab: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            map: HashMap::default(),
            pages: HashMap::default(),
            jc: Box::new([JcEntry::default(); JC_LEN]),
            // Entries start at epoch 0; a fresh cache at 1 never matches them.
            epoch: 1,
            invalidated: 0,
        }
    }
}

#[inline(always)]
fn jc_index(pc: u64) -> usize {
    ((pc >> 1) ^ (pc >> 13)) as usize & (JC_LEN - 1)
}

impl BlockCache {
    /// The block in slot `id`.
    #[inline(always)]
    pub fn block(&self, id: BlockId) -> Option<&CBlock> {
        match self.slab.get(id as usize) {
            Some(Some(b)) => Some(b),
            _ => None,
        }
    }

    /// The epoch block links and jump-cache entries are checked against, given the MMU's.
    #[inline(always)]
    pub fn epoch(&self, mmu_epoch: u64) -> u64 {
        mmu_epoch.wrapping_add(self.epoch)
    }

    /// The block that followed block `from` when it last went to `pc`, if still valid at `epoch`.
    #[inline(always)]
    pub fn linked(&self, from: BlockId, pc: u64, epoch: u64) -> Option<BlockId> {
        self.links
            .get(from as usize)?
            .iter()
            .find_map(|l| (l.pc == pc && l.epoch == epoch).then_some(l.id))
    }

    /// Remember `to` as the block that follows `from` at `pc` (replacing a stale link first).
    pub fn link(&mut self, from: BlockId, pc: u64, epoch: u64, to: BlockId) {
        if let Some(l) = self.links.get_mut(from as usize) {
            let slot = usize::from(l[0].epoch == epoch && l[0].pc != pc);
            l[slot] = Link { pc, epoch, id: to };
        }
    }

    /// The block the jump cache remembers for virtual PC `pc`, if still valid under `mmu_epoch`.
    #[inline(always)]
    pub fn jump(&self, pc: u64, mmu_epoch: u64) -> Option<BlockId> {
        let e = &self.jc[jc_index(pc)];
        (e.pc == pc && e.epoch == mmu_epoch.wrapping_add(self.epoch)).then_some(e.id)
    }

    /// Remember `id` as the block for virtual PC `pc`.
    pub fn remember(&mut self, pc: u64, mmu_epoch: u64, id: BlockId) {
        self.jc[jc_index(pc)] = JcEntry {
            pc,
            epoch: mmu_epoch.wrapping_add(self.epoch),
            id,
        };
    }

    /// The block cached under `key`.
    pub fn get(&self, key: &Key) -> Option<BlockId> {
        self.map.get(key).copied()
    }

    /// Cache `block` under `key`; its code lies on the physical pages `pages`. Returns its id and
    /// whether one of the pages was not a code page before (so store fast paths to it must go).
    pub fn insert(&mut self, key: Key, block: CBlock, pages: &[u64]) -> (BlockId, bool) {
        if let Some(old) = self.map.remove(&key) {
            self.release(old);
        }
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
        let slot = Some(block);
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slab.get_mut(id as usize) {
                    *s = slot;
                }
                if let Some(l) = self.links.get_mut(id as usize) {
                    *l = Default::default();
                }
                id
            }
            None => {
                self.slab.push(slot);
                self.links.push(Default::default());
                (self.slab.len() - 1) as BlockId
            }
        };
        self.map.insert(key, id);
        (id, new_page)
    }

    /// Free slot `id` (its key is already out of the map).
    fn release(&mut self, id: BlockId) {
        if let Some(s) = self.slab.get_mut(id as usize)
            && s.take().is_some()
        {
            self.free.push(id);
            self.epoch += 1;
        }
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
                if let Some(id) = self.map.remove(&k) {
                    self.release(id);
                    self.invalidated += 1;
                }
            }
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
        self.invalidated += self.map.len() as u64;
        self.map.clear();
        self.pages.clear();
        self.slab.clear();
        self.links.clear();
        self.free.clear();
        self.epoch += 1;
    }

    /// Number of cached blocks.
    pub fn len(&self) -> usize {
        self.map.len()
    }
}
