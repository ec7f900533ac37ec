//! Register offsets and field layouts of the SMMUv3 programming interface.
//!
//! Offsets are relative to the SMMU's base address. The interface spans two 64 KiB pages; page 1 only
//! holds the producer/consumer indexes of the event queue (and the PRI queue, which this model does not
//! implement). Like QEMU, this model treats page 1 as an alias of page 0, so drivers that use either
//! layout work.
//!
//! Field positions follow the Arm SMMUv3 architecture specification (IHI 0070); they are written out here
//! by hand because no maintained crate publishes them.

/// Size of the MMIO window: two 64 KiB register pages.
pub const MMIO_SIZE: u64 = 0x2_0000;
/// Offset of register page 1.
pub const PAGE1: u64 = 0x1_0000;

/// Identification register 0: features.
pub const IDR0: u64 = 0x00;
/// Identification register 1: table/queue sizes.
pub const IDR1: u64 = 0x04;
/// Identification register 2 (VATOS; reads as zero here).
pub const IDR2: u64 = 0x08;
/// Identification register 3: optional features (range invalidation).
pub const IDR3: u64 = 0x0c;
/// Identification register 4 (implementation defined; zero here).
pub const IDR4: u64 = 0x10;
/// Identification register 5: granules and output address size.
pub const IDR5: u64 = 0x14;
/// Implementation identification register.
pub const IIDR: u64 = 0x18;
/// Architecture revision register.
pub const AIDR: u64 = 0x1c;
/// Global control register 0.
pub const CR0: u64 = 0x20;
/// Acknowledge of [`CR0`].
pub const CR0ACK: u64 = 0x24;
/// Global control register 1: table and queue memory attributes.
pub const CR1: u64 = 0x28;
/// Global control register 2.
pub const CR2: u64 = 0x2c;
/// Status register.
pub const STATUSR: u64 = 0x40;
/// Global bypass attributes (what happens to transactions while the SMMU is disabled).
pub const GBPA: u64 = 0x44;
/// Interrupt enables.
pub const IRQ_CTRL: u64 = 0x50;
/// Acknowledge of [`IRQ_CTRL`].
pub const IRQ_CTRLACK: u64 = 0x54;
/// Global errors, toggled by the SMMU.
pub const GERROR: u64 = 0x60;
/// Global error acknowledge, toggled by software.
pub const GERRORN: u64 = 0x64;
/// GERROR MSI address (64-bit).
pub const GERROR_IRQ_CFG0: u64 = 0x68;
/// GERROR MSI data.
pub const GERROR_IRQ_CFG1: u64 = 0x70;
/// GERROR MSI attributes.
pub const GERROR_IRQ_CFG2: u64 = 0x74;
/// Stream table base (64-bit).
pub const STRTAB_BASE: u64 = 0x80;
/// Stream table format and size.
pub const STRTAB_BASE_CFG: u64 = 0x88;
/// Command queue base (64-bit).
pub const CMDQ_BASE: u64 = 0x90;
/// Command queue producer index (written by software).
pub const CMDQ_PROD: u64 = 0x98;
/// Command queue consumer index (written by the SMMU).
pub const CMDQ_CONS: u64 = 0x9c;
/// Event queue base (64-bit).
pub const EVTQ_BASE: u64 = 0xa0;
/// Event queue producer index (page-0 alias of `0x100a8`).
pub const EVTQ_PROD: u64 = 0xa8;
/// Event queue consumer index (page-0 alias of `0x100ac`).
pub const EVTQ_CONS: u64 = 0xac;
/// Event queue MSI address (64-bit).
pub const EVTQ_IRQ_CFG0: u64 = 0xb0;
/// Event queue MSI data.
pub const EVTQ_IRQ_CFG1: u64 = 0xb8;
/// Event queue MSI attributes.
pub const EVTQ_IRQ_CFG2: u64 = 0xbc;

/// Whether `offset` is the low half of a 64-bit register.
pub const fn is_64bit_reg(offset: u64) -> bool {
    matches!(
        offset,
        GERROR_IRQ_CFG0 | STRTAB_BASE | CMDQ_BASE | EVTQ_BASE | EVTQ_IRQ_CFG0
    )
}

/// `CR0.SMMUEN`: translation enabled.
pub const CR0_SMMUEN: u32 = 1 << 0;
/// `CR0.PRIQEN` (the PRI queue is not implemented; the bit is RES0 here).
pub const CR0_PRIQEN: u32 = 1 << 1;
/// `CR0.EVENTQEN`: event queue enabled.
pub const CR0_EVTQEN: u32 = 1 << 2;
/// `CR0.CMDQEN`: command queue enabled.
pub const CR0_CMDQEN: u32 = 1 << 3;
/// `CR0.ATSCHK`: check ATS-translated transactions against the STE.
pub const CR0_ATSCHK: u32 = 1 << 4;
/// `CR0.VMW`: VMID wildcard matching (stored, not interpreted).
pub const CR0_VMW: u32 = 0b111 << 6;
/// The writable bits of CR0 in this model.
pub const CR0_MASK: u32 = CR0_SMMUEN | CR0_EVTQEN | CR0_CMDQEN | CR0_ATSCHK | CR0_VMW;

/// The writable bits of CR1 (table and queue cacheability/shareability, stored only).
pub const CR1_MASK: u32 = 0xfff;
/// The writable bits of CR2 (`E2H` needs `IDR0.HYP`, so only `RECINVSID` and `PTM`).
pub const CR2_MASK: u32 = 0b110;

/// `GBPA.ABORT`: abort all transactions while `SMMUEN == 0`.
pub const GBPA_ABORT: u32 = 1 << 20;
/// `GBPA.UPDATE`: software sets it to apply a new value; the SMMU clears it.
pub const GBPA_UPDATE: u32 = 1 << 31;
/// The attribute bits of GBPA that software may set.
pub const GBPA_MASK: u32 = 0x001f_3f1f;

/// `IRQ_CTRL.GERROR_IRQEN`.
pub const IRQ_CTRL_GERROR_IRQEN: u32 = 1 << 0;
/// `IRQ_CTRL.PRIQ_IRQEN` (PRI is not implemented; RES0 here).
pub const IRQ_CTRL_PRIQ_IRQEN: u32 = 1 << 1;
/// `IRQ_CTRL.EVENTQ_IRQEN`.
pub const IRQ_CTRL_EVTQ_IRQEN: u32 = 1 << 2;
/// The writable bits of IRQ_CTRL in this model.
pub const IRQ_CTRL_MASK: u32 = IRQ_CTRL_GERROR_IRQEN | IRQ_CTRL_EVTQ_IRQEN;

/// `GERROR.CMDQ_ERR`: the command queue stopped on an error (see `CMDQ_CONS.ERR`).
pub const GERROR_CMDQ_ERR: u32 = 1 << 0;
/// `GERROR.EVENTQ_ABT_ERR`: an event record write was aborted.
pub const GERROR_EVTQ_ABT_ERR: u32 = 1 << 2;
/// `GERROR.MSI_CMDQ_ABT_ERR`: a CMD_SYNC completion MSI write was aborted.
pub const GERROR_MSI_CMDQ_ABT_ERR: u32 = 1 << 4;
/// `GERROR.MSI_EVENTQ_ABT_ERR`: an event queue MSI write was aborted.
pub const GERROR_MSI_EVTQ_ABT_ERR: u32 = 1 << 5;
/// `GERROR.MSI_GERROR_ABT_ERR`: a GERROR MSI write was aborted.
pub const GERROR_MSI_GERROR_ABT_ERR: u32 = 1 << 7;
/// `GERROR.SFM_ERR`: service failure mode.
pub const GERROR_SFM_ERR: u32 = 1 << 8;
/// Every architected GERROR bit.
pub const GERROR_MASK: u32 = 0x1fd;

/// `STRTAB_BASE.ADDR` (bits 51:6).
pub const STRTAB_BASE_ADDR_MASK: u64 = 0x000f_ffff_ffff_ffc0;
/// `STRTAB_BASE.RA` (read-allocate hint, stored only).
pub const STRTAB_BASE_RA: u64 = 1 << 62;
/// `STRTAB_BASE_CFG.LOG2SIZE` (bits 5:0).
pub const STRTAB_CFG_LOG2SIZE_MASK: u32 = 0x3f;
/// `STRTAB_BASE_CFG.SPLIT` shift (bits 10:6).
pub const STRTAB_CFG_SPLIT_SHIFT: u32 = 6;
/// `STRTAB_BASE_CFG.FMT` shift (bits 17:16): 0 linear, 1 two-level.
pub const STRTAB_CFG_FMT_SHIFT: u32 = 16;
/// The writable bits of STRTAB_BASE_CFG.
pub const STRTAB_CFG_MASK: u32 = 0x3_07ff;

/// Queue base `ADDR` (bits 51:5).
pub const Q_BASE_ADDR_MASK: u64 = 0x000f_ffff_ffff_ffe0;
/// Queue base `LOG2SIZE` (bits 4:0).
pub const Q_BASE_LOG2SIZE_MASK: u64 = 0x1f;
/// Queue base read/write-allocate hint (stored only).
pub const Q_BASE_RWA: u64 = 1 << 62;
/// The writable bits of a queue base register.
pub const Q_BASE_MASK: u64 = Q_BASE_RWA | Q_BASE_ADDR_MASK | Q_BASE_LOG2SIZE_MASK;

/// `CMDQ_CONS.ERR` shift (bits 30:24).
pub const CMDQ_CONS_ERR_SHIFT: u32 = 24;
/// `CMDQ_CONS.ERR` mask (after shifting).
pub const CMDQ_CONS_ERR_MASK: u32 = 0x7f;
/// `CMDQ_CONS.ERR`: no error.
pub const CERROR_NONE: u32 = 0;
/// `CMDQ_CONS.ERR`: illegal command.
pub const CERROR_ILL: u32 = 1;
/// `CMDQ_CONS.ERR`: reading the command from memory failed.
pub const CERROR_ABT: u32 = 2;
/// `CMDQ_CONS.ERR`: an ATC invalidation before this `CMD_SYNC` did not complete.
pub const CERROR_ATC_INV_SYNC: u32 = 3;
/// `EVTQ_PROD.OVFLG` / `EVTQ_CONS.OVACKFLG` (bit 31).
pub const Q_OVERFLOW_FLAG: u32 = 1 << 31;

/// MSI address field of `*_IRQ_CFG0` (bits 51:2).
pub const MSI_ADDR_MASK: u64 = 0x000f_ffff_ffff_fffc;
/// Writable bits of `*_IRQ_CFG2` (shareability and memory type, stored only).
pub const MSI_CFG2_MASK: u32 = 0x3f;

/// `IDR0.S2P`: stage 2 translation.
pub const IDR0_S2P: u32 = 1 << 0;
/// `IDR0.S1P`: stage 1 translation.
pub const IDR0_S1P: u32 = 1 << 1;
/// `IDR0.TTF = AArch64` (bits 3:2 = 0b10).
pub const IDR0_TTF_AARCH64: u32 = 0b10 << 2;
/// `IDR0.COHACC`: coherent table walks and queue accesses.
pub const IDR0_COHACC: u32 = 1 << 4;
/// `IDR0.ATS`: PCIe ATS supported.
pub const IDR0_ATS: u32 = 1 << 10;
/// `IDR0.NS1ATS`: split-stage (stage-1-only) ATS is *not* supported.
pub const IDR0_NS1ATS: u32 = 1 << 11;
/// `IDR0.ASID16`: 16-bit ASIDs.
pub const IDR0_ASID16: u32 = 1 << 12;
/// `IDR0.MSI`: message-signalled interrupts.
pub const IDR0_MSI: u32 = 1 << 13;
/// `IDR0.VMID16`: 16-bit VMIDs.
pub const IDR0_VMID16: u32 = 1 << 18;
/// `IDR0.CD2L`: two-level context descriptor tables.
pub const IDR0_CD2L: u32 = 1 << 19;
/// `IDR0.TTENDIAN = little-endian only` (bits 22:21 = 0b10).
pub const IDR0_TTENDIAN_LE: u32 = 0b10 << 21;
/// `IDR0.STALL_MODEL = stall not supported` (bits 25:24 = 0b01).
pub const IDR0_STALL_MODEL_NONE: u32 = 0b01 << 24;
/// `IDR0.TERM_MODEL`: terminated transactions are always aborted.
pub const IDR0_TERM_MODEL: u32 = 1 << 26;
/// `IDR0.ST_LEVEL = two-level stream tables` (bits 28:27 = 0b01).
pub const IDR0_ST_LEVEL_2LVL: u32 = 0b01 << 27;

/// `IDR1.SIDSIZE` shift (bits 5:0).
pub const IDR1_SIDSIZE_SHIFT: u32 = 0;
/// `IDR1.SSIDSIZE` shift (bits 10:6).
pub const IDR1_SSIDSIZE_SHIFT: u32 = 6;
/// `IDR1.EVENTQS` shift (bits 20:16).
pub const IDR1_EVTQS_SHIFT: u32 = 16;
/// `IDR1.CMDQS` shift (bits 25:21).
pub const IDR1_CMDQS_SHIFT: u32 = 21;

/// `IDR3.RIL`: range invalidation in TLBI commands.
pub const IDR3_RIL: u32 = 1 << 10;

/// `IDR5.OAS = 48 bits` (bits 2:0 = 0b101).
pub const IDR5_OAS_48: u32 = 0b101;
/// `IDR5.GRAN4K`.
pub const IDR5_GRAN4K: u32 = 1 << 4;
/// `IDR5.GRAN16K`.
pub const IDR5_GRAN16K: u32 = 1 << 5;
/// `IDR5.GRAN64K`.
pub const IDR5_GRAN64K: u32 = 1 << 6;

/// The AIDR value: SMMUv3.2 (range invalidation is a v3.2 feature).
pub const AIDR_VALUE: u32 = 0x02;

/// Physical address bits this model produces (`IDR5.OAS`).
pub const OAS_BITS: u32 = 48;

/// Extract bits `hi..=lo` of `v`.
#[inline]
pub const fn field(v: u64, hi: u32, lo: u32) -> u64 {
    (v >> lo) & (u64::MAX >> (63 - (hi - lo)))
}

/// Decode a 3-bit physical address size encoding (`IPS`, `S2PS`, `OAS`) into bits.
pub const fn pa_size_bits(encoding: u64) -> u32 {
    match encoding {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        5 => 48,
        _ => 52,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_extraction() {
        assert_eq!(field(0xabcd_0000_0000_0000, 63, 48), 0xabcd);
        assert_eq!(field(u64::MAX, 63, 0), u64::MAX);
        assert_eq!(field(0b1011_0000, 7, 4), 0b1011);
        assert_eq!(field(1 << 41, 41, 41), 1);
    }

    #[test]
    fn pa_sizes() {
        assert_eq!(pa_size_bits(0), 32);
        assert_eq!(pa_size_bits(5), 48);
        assert_eq!(pa_size_bits(7), 52);
    }

    #[test]
    fn sixty_four_bit_registers() {
        assert!(is_64bit_reg(STRTAB_BASE));
        assert!(!is_64bit_reg(STRTAB_BASE + 4));
        assert!(!is_64bit_reg(CMDQ_PROD));
    }
}
