//! Context descriptors: decoding, validation, stage-1 region selection and CD table lookup.
//!
//! A CD is 64 bytes. Dword 0 holds the TCR-like fields (`T0SZ` 5:0, `TG0` 7:6, `EPD0` 14, `ENDI` 15,
//! `T1SZ` 21:16, `TG1` 23:22, `EPD1` 30, `V` 31, `IPS` 34:32, `AFFD` 35, `WXN` 36, `TBI` 39:38, `AA64` 41,
//! `S` 44, `R` 45, `A` 46, `ASID` 63:48); dwords 1 and 2 hold `TTB0` and `TTB1` (bits 51:4).

use crate::fault::{FaultKind, FaultStage};
use crate::regs::{OAS_BITS, field, pa_size_bits};
use crate::ste::{CdTableFormat, S1Table};
use crate::walk::{Granule, WalkParams};

/// Size of one CD in bytes.
pub(crate) const CD_BYTES: u64 = 64;

/// One of the two stage-1 address regions (TTB0 for the low half, TTB1 for the high half).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub walk: WalkParams,
    /// Top byte ignore: bits 63:56 do not take part in region selection.
    pub tbi: bool,
}

/// A decoded, validated context descriptor.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cd {
    pub asid: u16,
    /// The TTB0 and TTB1 regions; `None` when walks are disabled (`EPDx`).
    pub regions: [Option<Region>; 2],
    pub wxn: bool,
    /// `R`: record stage-1 faults.
    pub record: bool,
}

/// Decode and validate a CD; `Err(FaultKind::BadCd)` when it is invalid or illegal.
pub(crate) fn parse_cd(w: &[u64; 8]) -> Result<Cd, FaultKind> {
    let d = w[0];
    let bit = |n: u32| d & (1 << n) != 0;
    let valid = bit(31);
    let aa64 = bit(41);
    let big_endian = bit(15);
    let stall = bit(44);
    // IDR0.TERM_MODEL == 1: faulting transactions always abort, so `A` must be 1.
    let abort = bit(46);
    if !valid || !aa64 || big_endian || stall || !abort {
        return Err(FaultKind::BadCd);
    }
    let ips = pa_size_bits(field(d, 34, 32)).min(OAS_BITS);
    let affd = bit(35);
    let region = |epd: u32, tsz_lo: u32, tg_lo: u32, tbi: u32, ttb: u64, tg1: bool| {
        if bit(epd) {
            return Ok(None);
        }
        let tsz = field(d, tsz_lo + 5, tsz_lo) as u32;
        if !(16..=39).contains(&tsz) {
            return Err(FaultKind::BadCd);
        }
        let tg = field(d, tg_lo + 1, tg_lo);
        let granule = if tg1 {
            Granule::from_tg1(tg)
        } else {
            Granule::from_tg0(tg)
        };
        let granule = granule.ok_or(FaultKind::BadCd)?;
        let table = ttb & 0x000f_ffff_ffff_fff0;
        if table >> ips != 0 {
            return Err(FaultKind::BadCd);
        }
        let input_bits = 64 - tsz;
        Ok(Some(Region {
            walk: WalkParams {
                granule,
                input_bits,
                output_bits: ips,
                start_level: granule.s1_start_level(input_bits),
                table,
                affd,
            },
            tbi: bit(tbi),
        }))
    };
    Ok(Cd {
        asid: field(d, 63, 48) as u16,
        regions: [
            region(14, 0, 6, 38, w[1], false)?,
            region(30, 16, 22, 39, w[2], true)?,
        ],
        wxn: bit(36),
        record: bit(45),
    })
}

impl Cd {
    /// The walk parameters for `iova`, or the stage-1 translation fault (level 0) an address outside
    /// both regions, or in a disabled region, takes.
    pub(crate) fn select(&self, iova: u64) -> Result<&WalkParams, FaultKind> {
        let fault = FaultKind::Translation {
            stage: FaultStage::Stage1,
            level: 0,
        };
        let upper = iova & (1 << 55) != 0;
        let region = self.regions[usize::from(upper)].as_ref().ok_or(fault)?;
        let top = if region.tbi { 55 } else { 63 };
        let ias = region.walk.input_bits;
        let mask = u64::MAX >> (63 - (top - ias));
        let expected = if upper { mask } else { 0 };
        if (iova >> ias) & mask != expected {
            return Err(fault);
        }
        Ok(&region.walk)
    }
}

/// Address of CD `ssid` in the table `s1` describes. `read_l1` reads a level-1 descriptor (translating
/// its address through stage 2 when needed). The caller has checked `ssid < 2^S1CDMax`.
pub(crate) fn cd_address<E: From<FaultKind>>(
    s1: &S1Table,
    ssid: u32,
    read_l1: &mut dyn FnMut(u64) -> Result<u64, E>,
) -> Result<u64, E> {
    let ssid = u64::from(ssid);
    match s1.format {
        _ if s1.cdmax == 0 => Ok(s1.ptr),
        CdTableFormat::Linear => Ok(s1.ptr.wrapping_add(ssid * CD_BYTES)),
        CdTableFormat::TwoLevel { split } => {
            let desc = read_l1(s1.ptr.wrapping_add((ssid >> split) * 8))?;
            if desc & 1 == 0 {
                return Err(FaultKind::BadSubstreamId.into());
            }
            let leaf = desc & 0x000f_ffff_ffff_f000;
            Ok(leaf.wrapping_add((ssid & ((1 << split) - 1)) * CD_BYTES))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ste::NoSubstream;

    /// A valid CD word 0: 4 KiB TTB0 with 48-bit VAs, TTB1 disabled, 48-bit IPS, R and A set.
    const W0: u64 = 16 | (1 << 30) | (1 << 31) | (5 << 32) | (1 << 41) | (1 << 45) | (1 << 46);

    #[test]
    fn decodes_fields() {
        let cd = parse_cd(&[W0 | (0x1234 << 48), 0x8_0000_1000, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(cd.asid, 0x1234);
        assert!(cd.record && !cd.wxn);
        let r0 = cd.regions[0].unwrap();
        assert_eq!(r0.walk.table, 0x8_0000_1000);
        assert_eq!(r0.walk.input_bits, 48);
        assert_eq!(r0.walk.start_level, 0);
        assert_eq!(r0.walk.output_bits, 48);
        assert!(cd.regions[1].is_none());
    }

    #[test]
    fn rejects_illegal_descriptors() {
        let ok = [W0, 0x1000, 0, 0, 0, 0, 0, 0];
        assert!(parse_cd(&ok).is_ok());
        for bad in [
            W0 & !(1 << 31),   // V = 0
            W0 & !(1 << 41),   // AArch32 tables
            W0 | (1 << 15),    // big-endian tables
            W0 | (1 << 44),    // stall
            W0 & !(1 << 46),   // A = 0 with TERM_MODEL
            (W0 & !0x3f) | 12, // T0SZ below 16
            (W0 & !0x3f) | 40, // T0SZ above 39
            W0 | (3 << 6),     // reserved TG0
        ] {
            assert_eq!(
                parse_cd(&[bad, 0x1000, 0, 0, 0, 0, 0, 0]),
                Err(FaultKind::BadCd),
                "{bad:#x}"
            );
        }
        // TTB0 beyond the 40-bit IPS.
        let ips40 = (W0 & !(7 << 32)) | (2 << 32);
        assert_eq!(
            parse_cd(&[ips40, 1 << 40, 0, 0, 0, 0, 0, 0]),
            Err(FaultKind::BadCd)
        );
    }

    #[test]
    fn region_selection_with_tbi() {
        // TTB0 and TTB1 both enabled, 39-bit, 4 KiB (TG1 = 0b10), TBI0 set.
        let w0 = (W0 & !(1 << 30) & !0x3f) | 25 | (25 << 16) | (2 << 22) | (1 << 38);
        let cd = parse_cd(&[w0, 0x1000, 0x2000, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(cd.select(0x7f_ffff_f000).unwrap().table, 0x1000);
        assert_eq!(cd.select(0xab00_0000_0000_1000).unwrap().table, 0x1000);
        assert_eq!(cd.select(0xffff_ff80_0000_0000).unwrap().table, 0x2000);
        let fault = Err(FaultKind::Translation {
            stage: FaultStage::Stage1,
            level: 0,
        });
        assert_eq!(cd.select(0x80_0000_0000), fault);
        // TBI1 is clear, so the top byte of a high address matters.
        assert_eq!(cd.select(0x00ff_ff80_0000_0000), fault);
        assert_eq!(cd.select(0xffff_ff00_0000_0000), fault);
    }

    #[test]
    fn disabled_region_faults() {
        let cd = parse_cd(&[W0 | (1 << 14), 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            cd.select(0x1000),
            Err(FaultKind::Translation {
                stage: FaultStage::Stage1,
                level: 0
            })
        );
    }

    #[test]
    fn cd_table_addressing() {
        let mut linear = S1Table {
            ptr: 0x10_0000,
            format: CdTableFormat::Linear,
            cdmax: 4,
            no_substream: NoSubstream::Terminate,
        };
        let mut never = |_| -> Result<u64, FaultKind> { Err(FaultKind::BadCd) };
        assert_eq!(cd_address(&linear, 5, &mut never), Ok(0x10_0000 + 5 * 64));
        linear.cdmax = 0;
        assert_eq!(cd_address(&linear, 0, &mut never), Ok(0x10_0000));
        let two = S1Table {
            format: CdTableFormat::TwoLevel { split: 6 },
            cdmax: 10,
            ..linear
        };
        let mut l1 = |a: u64| -> Result<u64, FaultKind> {
            match a {
                0x10_0008 => Ok(0x20_0000 | 1),
                _ => Ok(0),
            }
        };
        assert_eq!(cd_address(&two, 65, &mut l1), Ok(0x20_0000 + 64));
        assert_eq!(
            cd_address(&two, 130, &mut l1),
            Err(FaultKind::BadSubstreamId)
        );
    }
}
