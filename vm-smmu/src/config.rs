//! Build-time parameters of an SMMU instance and the identification registers they produce.

use crate::error::{Error, Result};
use crate::regs::*;

/// Sizes an SMMU instance is built with. They show up in `SMMU_IDR1` for the driver to read.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SmmuConfig {
    /// Stream ID width in bits (`IDR1.SIDSIZE`), at most 32.
    pub sid_bits: u32,
    /// Substream ID (PASID) width in bits (`IDR1.SSIDSIZE`), at most 20.
    pub ssid_bits: u32,
    /// log2 of the largest command queue (`IDR1.CMDQS`), at most 19.
    pub cmdq_log2: u32,
    /// log2 of the largest event queue (`IDR1.EVENTQS`), at most 19.
    pub evtq_log2: u32,
    /// Translations the TLB holds before it evicts (used with the `tlb` feature).
    pub tlb_entries: usize,
    /// Stream configurations (decoded STE + CD) the configuration cache holds (used with the `tlb`
    /// feature).
    pub config_cache_entries: usize,
}

impl Default for SmmuConfig {
    fn default() -> Self {
        Self {
            sid_bits: 16,
            ssid_bits: 20,
            cmdq_log2: 8,
            evtq_log2: 7,
            tlb_entries: 1024,
            config_cache_entries: 256,
        }
    }
}

impl SmmuConfig {
    /// Check every field against the architecture's limits.
    pub fn validate(&self) -> Result<()> {
        let check = |field, value: u32, max: u32| {
            if value > max {
                Err(Error::InvalidConfig {
                    field,
                    value: value.into(),
                    max: max.into(),
                })
            } else {
                Ok(())
            }
        };
        check("sid_bits", self.sid_bits, 32)?;
        check("ssid_bits", self.ssid_bits, 20)?;
        check("cmdq_log2", self.cmdq_log2, 19)?;
        check("evtq_log2", self.evtq_log2, 19)?;
        Ok(())
    }

    /// `SMMU_IDR0` with the feature bits of the compiled-in units added.
    pub(crate) fn idr0(extra: u32) -> u32 {
        IDR0_S2P
            | IDR0_S1P
            | IDR0_TTF_AARCH64
            | IDR0_COHACC
            | IDR0_ASID16
            | IDR0_VMID16
            | IDR0_CD2L
            | IDR0_TTENDIAN_LE
            | IDR0_STALL_MODEL_NONE
            | IDR0_TERM_MODEL
            | IDR0_ST_LEVEL_2LVL
            | extra
    }

    /// `SMMU_IDR1`.
    pub(crate) fn idr1(&self) -> u32 {
        (self.sid_bits << IDR1_SIDSIZE_SHIFT)
            | (self.ssid_bits << IDR1_SSIDSIZE_SHIFT)
            | (self.evtq_log2 << IDR1_EVTQS_SHIFT)
            | (self.cmdq_log2 << IDR1_CMDQS_SHIFT)
    }

    /// `SMMU_IDR3`.
    pub(crate) const fn idr3() -> u32 {
        IDR3_RIL
    }

    /// `SMMU_IDR5`.
    pub(crate) const fn idr5() -> u32 {
        IDR5_OAS_48 | IDR5_GRAN4K | IDR5_GRAN16K | IDR5_GRAN64K
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_encodes_idr1() {
        let c = SmmuConfig::default();
        c.validate().unwrap();
        assert_eq!(c.idr1(), 16 | (20 << 6) | (7 << 16) | (8 << 21));
    }

    #[test]
    fn limits_are_enforced() {
        let c = SmmuConfig {
            ssid_bits: 21,
            ..SmmuConfig::default()
        };
        assert_eq!(
            c.validate(),
            Err(Error::InvalidConfig {
                field: "ssid_bits",
                value: 21,
                max: 20
            })
        );
        let c = SmmuConfig {
            cmdq_log2: 20,
            ..SmmuConfig::default()
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn idr0_advertises_aarch64_two_stage_no_stall() {
        let idr0 = SmmuConfig::idr0(0);
        assert_eq!(idr0 & 0b11, 0b11);
        assert_eq!((idr0 >> 2) & 0b11, 0b10);
        assert_eq!((idr0 >> 24) & 0b11, 0b01);
        assert_eq!((idr0 >> 27) & 0b11, 0b01);
        assert_eq!(idr0 & IDR0_ATS, 0);
    }
}
