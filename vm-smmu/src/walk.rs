//! The AArch64 VMSAv8-64 translation table walk used by both SMMU stages.
//!
//! One function walks one stage: it starts at a table base, indexes each level with the input address
//! and stops at a block or page descriptor. Descriptor reads go through a caller-supplied function so the
//! same walk serves stage 1 (tables at physical addresses), stage 2, and nested stage 1 (tables at
//! intermediate physical addresses that the caller translates through stage 2 first).
//!
//! Granules of 4, 16 and 64 KiB are supported, with a 48-bit output address space. Stage-2 tables may be
//! concatenated at the start level (up to 16 tables, as the architecture allows). Written by hand: the
//! walk must report the architecture's fault kinds and levels exactly, which no general-purpose crate
//! does for the SMMU.

use crate::regs::OAS_BITS;

/// A translation granule: the page size of a translation table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Granule {
    /// 4 KiB pages.
    Size4K,
    /// 16 KiB pages.
    Size16K,
    /// 64 KiB pages.
    Size64K,
}

impl Granule {
    /// log2 of the page size.
    pub const fn shift(self) -> u32 {
        match self {
            Self::Size4K => 12,
            Self::Size16K => 14,
            Self::Size64K => 16,
        }
    }

    /// Index bits resolved per level (`shift - 3`).
    pub const fn stride(self) -> u32 {
        self.shift() - 3
    }

    /// The granule a `TG0` (or stage-2 `S2TG`) encoding selects.
    pub const fn from_tg0(tg: u64) -> Option<Self> {
        match tg {
            0 => Some(Self::Size4K),
            1 => Some(Self::Size64K),
            2 => Some(Self::Size16K),
            _ => None,
        }
    }

    /// The granule a `TG1` encoding selects.
    pub const fn from_tg1(tg: u64) -> Option<Self> {
        match tg {
            1 => Some(Self::Size16K),
            2 => Some(Self::Size4K),
            3 => Some(Self::Size64K),
            _ => None,
        }
    }

    /// Lowest input address bit that `level` resolves.
    pub const fn level_shift(self, level: u32) -> u32 {
        self.shift() + (3 - level) * self.stride()
    }

    /// Whether a block descriptor is allowed at `level` (48-bit output addresses).
    const fn block_allowed(self, level: u32) -> bool {
        match self {
            Self::Size4K => level == 1 || level == 2,
            Self::Size16K | Self::Size64K => level == 2,
        }
    }

    /// The start level a stage-1 walk of `input_bits` uses.
    pub const fn s1_start_level(self, input_bits: u32) -> u32 {
        let levels = (input_bits - self.shift()).div_ceil(self.stride());
        4 - levels
    }

    /// The start level a stage-2 `S2SL0` encoding selects for `input_bits`, if the combination is valid
    /// (at least one index bit at the start level and at most 16 concatenated tables).
    pub const fn s2_start_level(self, sl0: u64, input_bits: u32) -> Option<u32> {
        let level = match (self, sl0) {
            (Self::Size4K, 0) => 2,
            (Self::Size4K, 1) => 1,
            (Self::Size4K, 2) => 0,
            (Self::Size16K | Self::Size64K, 0) => 3,
            (Self::Size16K | Self::Size64K, 1) => 2,
            (Self::Size16K | Self::Size64K, 2) => 1,
            _ => return None,
        };
        let shift = self.level_shift(level);
        // At least one index bit at the start level, and at most 16 concatenated tables there.
        if input_bits <= shift || input_bits - shift > self.stride() + 4 {
            return None;
        }
        Some(level)
    }
}

/// Everything one stage's walk needs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct WalkParams {
    /// The granule.
    pub granule: Granule,
    /// Input address width (`64 - TxSZ`).
    pub input_bits: u32,
    /// Output address width (`IPS`/`S2PS`, capped at the SMMU's output size).
    pub output_bits: u32,
    /// The level the walk starts at.
    pub start_level: u32,
    /// Base address of the start-level table.
    pub table: u64,
    /// Access flag faults disabled (`AFFD`): descriptors with `AF == 0` are used as if `AF == 1`.
    pub affd: bool,
}

/// The block or page descriptor a walk ended at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Leaf {
    /// Output address of the start of the block or page.
    pub out_base: u64,
    /// log2 of the block or page size.
    pub size_shift: u32,
    /// The level of the descriptor.
    pub level: u32,
    /// The descriptor itself (its attribute bits).
    pub desc: u64,
    /// The hierarchical attribute bits (63:59) of every table descriptor on the way, ORed together.
    pub table_attrs: u64,
}

/// Why a walk stopped without a leaf.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum WalkFault<E> {
    /// An invalid or reserved descriptor.
    Translation { level: u32 },
    /// An output or table address beyond the output address size.
    AddressSize { level: u32 },
    /// A leaf with the access flag clear.
    AccessFlag { level: u32 },
    /// The descriptor read failed.
    Fetch { level: u32, error: E },
}

const DESC_VALID: u64 = 1 << 0;
const DESC_TABLE: u64 = 1 << 1;
const DESC_AF: u64 = 1 << 10;
/// Bits 47:12 of a descriptor: the output or next-table address (further masked by the granule).
const DESC_ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;
/// Hierarchical attributes of table descriptors (APTable, UXNTable, PXNTable).
pub(crate) const TABLE_ATTR_MASK: u64 = 0xf800_0000_0000_0000;

/// Mask of bits `lo..=47` for addresses.
const fn addr_mask(lo: u32) -> u64 {
    DESC_ADDR_MASK & !((1u64 << lo) - 1)
}

/// Whether the address in `desc` (aligned to `lo`) exceeds `output_bits`.
fn exceeds_output(desc: u64, granule: Granule, output_bits: u32) -> bool {
    // With 64 KiB pages, descriptor bits 15:12 carry output address bits 51:48.
    if granule == Granule::Size64K && desc & 0xf000 != 0 {
        return true;
    }
    output_bits < OAS_BITS && (desc & DESC_ADDR_MASK) >> output_bits != 0
}

/// Walk the tables for `input`, reading each 8-byte descriptor through `read`.
pub(crate) fn walk<E>(
    params: &WalkParams,
    input: u64,
    read: &mut dyn FnMut(u64) -> Result<u64, E>,
) -> Result<Leaf, WalkFault<E>> {
    let g = params.granule;
    let start = params.start_level.min(3);
    if params.output_bits < 64 && params.table >> params.output_bits != 0 {
        return Err(WalkFault::AddressSize { level: start });
    }
    let mut table = params.table & addr_mask(3);
    let mut table_attrs = 0u64;
    for level in start..=3 {
        let shift = g.level_shift(level);
        let bits = if level == start {
            params.input_bits.saturating_sub(shift).min(g.stride() + 4)
        } else {
            g.stride()
        };
        let index = (input >> shift) & ((1u64 << bits) - 1);
        let desc = read(table.wrapping_add(index * 8))
            .map_err(|error| WalkFault::Fetch { level, error })?;
        if desc & DESC_VALID == 0 {
            return Err(WalkFault::Translation { level });
        }
        let is_table = desc & DESC_TABLE != 0;
        if level < 3 && is_table {
            if exceeds_output(desc, g, params.output_bits) {
                return Err(WalkFault::AddressSize { level });
            }
            table = desc & addr_mask(g.shift());
            table_attrs |= desc & TABLE_ATTR_MASK;
            continue;
        }
        let leaf_ok = if level == 3 {
            is_table
        } else {
            g.block_allowed(level)
        };
        if !leaf_ok {
            return Err(WalkFault::Translation { level });
        }
        if exceeds_output(desc, g, params.output_bits) {
            return Err(WalkFault::AddressSize { level });
        }
        if desc & DESC_AF == 0 && !params.affd {
            return Err(WalkFault::AccessFlag { level });
        }
        return Ok(Leaf {
            out_base: desc & addr_mask(shift),
            size_shift: shift,
            level,
            desc,
            table_attrs,
        });
    }
    // The loop always returns at level 3.
    Err(WalkFault::Translation { level: 3 })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::BTreeMap;

    const PAGE: u64 = 0b11 | DESC_AF;
    const TABLE: u64 = 0b11;
    const BLOCK: u64 = 0b01 | DESC_AF;

    fn run(
        mem: &BTreeMap<u64, u64>,
        params: &WalkParams,
        input: u64,
    ) -> Result<Leaf, WalkFault<u64>> {
        walk(params, input, &mut |a| mem.get(&a).copied().ok_or(a))
    }

    fn params_4k(table: u64) -> WalkParams {
        WalkParams {
            granule: Granule::Size4K,
            input_bits: 48,
            output_bits: 48,
            start_level: 0,
            table,
            affd: false,
        }
    }

    #[test]
    fn start_levels() {
        assert_eq!(Granule::Size4K.s1_start_level(48), 0);
        assert_eq!(Granule::Size4K.s1_start_level(39), 1);
        assert_eq!(Granule::Size4K.s1_start_level(32), 1);
        assert_eq!(Granule::Size4K.s1_start_level(25), 2);
        assert_eq!(Granule::Size16K.s1_start_level(48), 0);
        assert_eq!(Granule::Size16K.s1_start_level(47), 1);
        assert_eq!(Granule::Size64K.s1_start_level(48), 1);
        assert_eq!(Granule::Size64K.s1_start_level(42), 2);
        assert_eq!(Granule::Size4K.s2_start_level(1, 40), Some(1));
        assert_eq!(Granule::Size4K.s2_start_level(0, 40), None);
        assert_eq!(Granule::Size4K.s2_start_level(1, 34), Some(1));
        assert_eq!(Granule::Size4K.s2_start_level(0, 34), Some(2));
        assert_eq!(Granule::Size4K.s2_start_level(3, 34), None);
        assert_eq!(Granule::Size64K.s2_start_level(2, 48), Some(1));
        assert_eq!(Granule::Size64K.s2_start_level(1, 42), Some(2));
    }

    #[test]
    fn four_level_4k_page_walk() {
        let mut m = BTreeMap::new();
        // iova 0x0000_1234_5678_9abc: L0 idx 0x24, L1 idx 0x0d1, L2 idx 0x0b3, L3 idx 0x189.
        let iova = 0x0000_1234_5678_9abc_u64;
        m.insert(0x1000 + 0x24 * 8, 0x2000 | TABLE);
        m.insert(0x2000 + 0xd1 * 8, 0x3000 | TABLE);
        m.insert(0x3000 + 0xb3 * 8, 0x4000 | TABLE);
        m.insert(0x4000 + 0x189 * 8, 0x8_7654_3000 | PAGE);
        let leaf = run(&m, &params_4k(0x1000), iova).unwrap();
        assert_eq!(leaf.out_base, 0x8_7654_3000);
        assert_eq!(leaf.size_shift, 12);
        assert_eq!(leaf.level, 3);
        assert_eq!(leaf.out_base | (iova & 0xfff), 0x8_7654_3abc);
    }

    #[test]
    fn blocks_at_level_1_and_2() {
        let mut m = BTreeMap::new();
        m.insert(0x1000, 0x2000 | TABLE);
        m.insert(0x2000, 0x4000_0000 | BLOCK); // 1 GiB block
        m.insert(0x2008, 0x3000 | TABLE);
        m.insert(0x3000 + 8, 0x8060_0000 | BLOCK); // 2 MiB block at L2 index 1
        let p = params_4k(0x1000);
        let gb = run(&m, &p, 0x1234_5678).unwrap();
        assert_eq!((gb.out_base, gb.size_shift, gb.level), (0x4000_0000, 30, 1));
        let mb = run(&m, &p, 0x4030_1234).unwrap();
        assert_eq!((mb.out_base, mb.size_shift, mb.level), (0x8060_0000, 21, 2));
    }

    #[test]
    fn faults_carry_levels() {
        let mut m = BTreeMap::new();
        m.insert(0x1000, 0x2000 | TABLE);
        m.insert(0x2000, 0x3000 | TABLE);
        m.insert(0x3000, 0x4000 | TABLE);
        m.insert(0x4000, 0x9000 | 0b11); // AF clear
        m.insert(0x4008, 0x9000 | 0b01 | DESC_AF); // level-3 "block": reserved
        let mut p = params_4k(0x1000);
        assert_eq!(run(&m, &p, 0), Err(WalkFault::AccessFlag { level: 3 }));
        p.affd = true;
        assert_eq!(run(&m, &p, 0).unwrap().out_base, 0x9000);
        assert_eq!(
            run(&m, &p, 0x1000),
            Err(WalkFault::Translation { level: 3 })
        );
        assert_eq!(
            run(&m, &p, 0x2000),
            Err(WalkFault::Fetch {
                level: 3,
                error: 0x4010
            })
        );
        assert_eq!(
            run(&m, &p, 1 << 39),
            Err(WalkFault::Fetch {
                level: 0,
                error: 0x1008
            })
        );
        m.insert(0x1008, 0);
        assert_eq!(
            run(&m, &p, 1 << 39),
            Err(WalkFault::Translation { level: 0 })
        );
        m.insert(0x3010, 0xff_8000_0000 | BLOCK);
        p.output_bits = 36;
        assert_eq!(
            run(&m, &p, 0x40_0000),
            Err(WalkFault::AddressSize { level: 2 })
        );
        p.output_bits = 40;
        assert_eq!(run(&m, &p, 0x40_0000).unwrap().out_base, 0xff_8000_0000);
    }

    #[test]
    fn level_0_block_is_invalid_for_4k() {
        let mut m = BTreeMap::new();
        m.insert(0x1000, BLOCK);
        assert_eq!(
            run(&m, &params_4k(0x1000), 0),
            Err(WalkFault::Translation { level: 0 })
        );
    }

    #[test]
    fn granules_16k_and_64k() {
        let mut m = BTreeMap::new();
        // 16 KiB, 36-bit input: start level 2 (bits 35:25 index, 11 bits), level 3 bits 24:14.
        let p16 = WalkParams {
            granule: Granule::Size16K,
            input_bits: 36,
            output_bits: 48,
            start_level: Granule::Size16K.s1_start_level(36),
            table: 0x10000,
            affd: false,
        };
        assert_eq!(p16.start_level, 2);
        let iova = 0x5_0abc_d123_u64; // L2 idx = iova >> 25 = 0x285, L3 idx = (iova >> 14) & 0x7ff = 0x2f3
        m.insert(0x10000 + 0x285 * 8, 0x20000 | TABLE);
        m.insert(0x20000 + 0x2f3 * 8, 0x1234_4000 | PAGE);
        let leaf = run(&m, &p16, iova).unwrap();
        assert_eq!(leaf.out_base | (iova & 0x3fff), 0x1234_5123);
        // 64 KiB, 42-bit input: start level 2 (bits 41:29), level 3 bits 28:16.
        let p64 = WalkParams {
            granule: Granule::Size64K,
            input_bits: 42,
            output_bits: 48,
            start_level: Granule::Size64K.s1_start_level(42),
            table: 0x40000,
            affd: false,
        };
        let iova = 0x2_3456_789a_u64; // L2 idx = 0x11, L3 idx = (iova >> 16) & 0x1fff = 0x1456
        m.insert(0x40000 + 0x11 * 8, 0x50000 | TABLE);
        m.insert(0x50000 + 0x1456 * 8, 0xab_cdef_0000 | PAGE);
        let leaf = run(&m, &p64, iova).unwrap();
        assert_eq!(leaf.out_base | (iova & 0xffff), 0xab_cdef_789a);
        // 512 MiB block at level 2 with 64 KiB pages.
        m.insert(0x40000 + 0x12 * 8, 0x6000_0000 | BLOCK);
        let leaf = run(&m, &p64, 0x2_4000_0010).unwrap();
        assert_eq!((leaf.out_base, leaf.size_shift), (0x6000_0000, 29));
        // Output bits 51:48 in a 64 KiB descriptor are an address size fault.
        m.insert(0x40000 + 0x13 * 8, 0x6000_0000 | 0x1000 | BLOCK);
        assert_eq!(
            run(&m, &p64, 0x2_6000_0000),
            Err(WalkFault::AddressSize { level: 2 })
        );
    }

    #[test]
    fn concatenated_stage2_start_table() {
        // 4 KiB, 40-bit IPA, SL0 = 1: start level 1 with 10 index bits (two concatenated tables).
        let start = Granule::Size4K.s2_start_level(1, 40).unwrap();
        let p = WalkParams {
            granule: Granule::Size4K,
            input_bits: 40,
            output_bits: 48,
            start_level: start,
            table: 0x10_0000,
            affd: false,
        };
        let mut m = BTreeMap::new();
        let ipa = 0x80_4000_0000_u64; // L1 index = 0x201 (in the second table)
        m.insert(0x10_0000 + 0x201 * 8, 0x7_c000_0000 | BLOCK);
        let leaf = run(&m, &p, ipa).unwrap();
        assert_eq!(leaf.out_base, 0x7_c000_0000);
    }

    #[test]
    fn table_attributes_accumulate() {
        let mut m = BTreeMap::new();
        m.insert(0x1000, 0x2000 | TABLE | (1 << 61));
        m.insert(0x2000, 0x3000 | TABLE | (1 << 59));
        m.insert(0x3000, 0x4000 | TABLE);
        m.insert(0x4000, 0x9000 | PAGE);
        let leaf = run(&m, &params_4k(0x1000), 0).unwrap();
        assert_eq!(leaf.table_attrs, (1 << 61) | (1 << 59));
    }

    #[test]
    fn table_base_beyond_output_size() {
        let m = BTreeMap::new();
        let mut p = params_4k(1 << 40);
        p.output_bits = 40;
        assert_eq!(run(&m, &p, 0), Err(WalkFault::AddressSize { level: 0 }));
    }
}
