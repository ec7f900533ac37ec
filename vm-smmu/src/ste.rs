//! Stream table lookup (linear and two-level) and Stream Table Entry decoding.
//!
//! An STE is 64 bytes. The fields this model interprets:
//!
//! | dword | bits | field |
//! |---|---|---|
//! | 0 | 0 | `V` |
//! | 0 | 3:1 | `Config`: `000` abort, `100` bypass, `101` stage 1, `110` stage 2, `111` nested |
//! | 0 | 5:4 | `S1Fmt`: CD table format |
//! | 0 | 51:6 | `S1ContextPtr` |
//! | 0 | 63:59 | `S1CDMax`: log2 of the number of CDs |
//! | 1 | 1:0 | `S1DSS`: what transactions without a substream ID do |
//! | 1 | 29:28 | `EATS`: ATS enable |
//! | 1 | 31:30 | `STRW`: translation regime (only NS-EL1 here) |
//! | 2 | 15:0 | `S2VMID` |
//! | 2 | 37:32, 39:38, 47:46, 50:48 | `S2T0SZ`, `S2SL0`, `S2TG`, `S2PS` |
//! | 2 | 51, 52, 53, 57, 58 | `S2AA64`, `S2ENDI`, `S2AFFD`, `S2S`, `S2R` |
//! | 3 | 51:4 | `S2TTB` |

use vm_core::GuestPhysAddr;
use vm_core::mem::{GuestMemory, MemFault};

use crate::fault::FaultKind;
use crate::regs::{OAS_BITS, STRTAB_BASE_ADDR_MASK, field, pa_size_bits};
use crate::walk::{Granule, WalkParams};

/// Size of one STE in bytes.
pub(crate) const STE_BYTES: u64 = 64;

/// Read `N` little-endian 64-bit words at `addr`.
pub(crate) fn read_dwords<const N: usize>(
    mem: &dyn GuestMemory,
    addr: u64,
) -> Result<[u64; N], MemFault> {
    let mut out = [0u64; N];
    for (i, w) in out.iter_mut().enumerate() {
        *w = mem.read_u64(GuestPhysAddr(addr.wrapping_add(8 * i as u64)))?;
    }
    Ok(out)
}

/// What an STE does with the transactions of its stream.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum StreamMode {
    /// Terminate silently.
    Abort,
    /// Pass through untranslated.
    Bypass,
    /// Translate with stage 1 and/or stage 2.
    Translate,
}

/// Layout of the context descriptor table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum CdTableFormat {
    /// An array of `2^S1CDMax` CDs.
    Linear,
    /// Level-1 descriptors pointing at leaf tables of `2^split` CDs.
    TwoLevel { split: u32 },
}

/// `S1DSS`: what a transaction without a substream ID does when the stream has several CDs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum NoSubstream {
    /// Terminate with `F_STREAM_DISABLED`.
    Terminate,
    /// Bypass stage 1.
    Bypass,
    /// Use CD 0 (and reject transactions that carry substream ID 0).
    UseCd0,
}

/// The stage-1 part of an STE.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct S1Table {
    /// `S1ContextPtr` (an IPA when stage 2 is also enabled).
    pub ptr: u64,
    pub format: CdTableFormat,
    /// log2 of the number of CDs; 0 means one CD and no substreams.
    pub cdmax: u32,
    pub no_substream: NoSubstream,
}

/// The stage-2 part of an STE.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct S2Config {
    pub walk: WalkParams,
    /// `S2R`: record stage-2 faults.
    pub record: bool,
}

/// A decoded, validated STE.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ste {
    pub mode: StreamMode,
    pub s1: Option<S1Table>,
    pub s2: Option<S2Config>,
    /// `S2VMID`: tags TLB entries of this stream even when stage 2 is bypassed.
    pub vmid: u16,
    /// `EATS` (0 when the SMMU has no ATS).
    pub eats: u8,
}

/// What the SMMU supports, for validating STEs.
#[derive(Copy, Clone, Debug)]
pub(crate) struct SteLimits {
    pub ssid_bits: u32,
    pub ats: bool,
}

/// Decode and validate an STE; `Err(FaultKind::BadSte)` when it is invalid or illegal.
pub(crate) fn parse_ste(w: &[u64; 8], limits: &SteLimits) -> Result<Ste, FaultKind> {
    if w[0] & 1 == 0 {
        return Err(FaultKind::BadSte);
    }
    let (s1_on, s2_on) = match field(w[0], 3, 1) {
        0b000 => return Ok(abort_ste()),
        0b100 => (false, false),
        0b101 => (true, false),
        0b110 => (false, true),
        0b111 => (true, true),
        _ => return Err(FaultKind::BadSte),
    };
    let eats = if limits.ats {
        field(w[1], 29, 28) as u8
    } else {
        0
    };
    // Split-stage ATS is not supported (IDR0.NS1ATS), 0b11 is reserved.
    if eats > 1 {
        return Err(FaultKind::BadSte);
    }
    let vmid = field(w[2], 15, 0) as u16;
    let mode = if s1_on || s2_on {
        StreamMode::Translate
    } else {
        StreamMode::Bypass
    };
    let s1 = if s1_on {
        Some(parse_s1(w, limits)?)
    } else {
        None
    };
    let s2 = if s2_on { Some(parse_s2(w)?) } else { None };
    Ok(Ste {
        mode,
        s1,
        s2,
        vmid,
        eats,
    })
}

const fn abort_ste() -> Ste {
    Ste {
        mode: StreamMode::Abort,
        s1: None,
        s2: None,
        vmid: 0,
        eats: 0,
    }
}

fn parse_s1(w: &[u64; 8], limits: &SteLimits) -> Result<S1Table, FaultKind> {
    // STRW other than NS-EL1 needs EL2 or Secure support, which this SMMU does not have.
    if field(w[1], 31, 30) != 0 {
        return Err(FaultKind::BadSte);
    }
    let cdmax = field(w[0], 63, 59) as u32;
    if cdmax > limits.ssid_bits {
        return Err(FaultKind::BadSte);
    }
    let format = match field(w[0], 5, 4) {
        0 => CdTableFormat::Linear,
        1 => CdTableFormat::TwoLevel { split: 6 },
        2 => CdTableFormat::TwoLevel { split: 10 },
        _ if cdmax == 0 => CdTableFormat::Linear,
        _ => return Err(FaultKind::BadSte),
    };
    let no_substream = match field(w[1], 1, 0) {
        0 => NoSubstream::Terminate,
        1 => NoSubstream::Bypass,
        2 => NoSubstream::UseCd0,
        _ if cdmax == 0 => NoSubstream::UseCd0,
        _ => return Err(FaultKind::BadSte),
    };
    Ok(S1Table {
        ptr: w[0] & 0x000f_ffff_ffff_ffc0,
        format,
        cdmax,
        no_substream,
    })
}

fn parse_s2(w: &[u64; 8]) -> Result<S2Config, FaultKind> {
    let d = w[2];
    let aa64 = d & (1 << 51) != 0;
    let big_endian = d & (1 << 52) != 0;
    let stall = d & (1 << 57) != 0;
    if !aa64 || big_endian || stall {
        return Err(FaultKind::BadSte);
    }
    let granule = Granule::from_tg0(field(d, 47, 46)).ok_or(FaultKind::BadSte)?;
    let t0sz = field(d, 37, 32) as u32;
    if t0sz < 16 {
        return Err(FaultKind::BadSte);
    }
    let input_bits = 64 - t0sz;
    let start_level = granule
        .s2_start_level(field(d, 39, 38), input_bits)
        .ok_or(FaultKind::BadSte)?;
    let output_bits = pa_size_bits(field(d, 50, 48)).min(OAS_BITS);
    Ok(S2Config {
        walk: WalkParams {
            granule,
            input_bits,
            output_bits,
            start_level,
            table: w[3] & 0x000f_ffff_ffff_fff0,
            affd: d & (1 << 53) != 0,
        },
        record: d & (1 << 58) != 0,
    })
}

/// Find the address of stream `sid`'s STE.
///
/// `strtab_base`/`strtab_cfg` are the `STRTAB_BASE`/`STRTAB_BASE_CFG` registers; `sid_bits` caps
/// `LOG2SIZE`.
pub(crate) fn ste_address(
    mem: &dyn GuestMemory,
    strtab_base: u64,
    strtab_cfg: u32,
    sid_bits: u32,
    sid: u32,
) -> Result<u64, FaultKind> {
    let log2size = (strtab_cfg & 0x3f).min(sid_bits);
    if u64::from(sid) >> log2size != 0 {
        return Err(FaultKind::BadStreamId);
    }
    let base = strtab_base & STRTAB_BASE_ADDR_MASK;
    match (strtab_cfg >> 16) & 0b11 {
        0 => Ok(base.wrapping_add(u64::from(sid) * STE_BYTES)),
        1 => {
            let split = ((strtab_cfg >> 6) & 0x1f).min(log2size);
            let l1_addr = base.wrapping_add((u64::from(sid) >> split) * 8);
            let desc = mem
                .read_u64(GuestPhysAddr(l1_addr))
                .map_err(|_| FaultKind::SteFetch {
                    fetch_addr: l1_addr,
                })?;
            let span = (desc & 0x1f) as u32;
            let l2_index = u64::from(sid) & ((1u64 << split) - 1);
            if span == 0 || span > split + 1 || l2_index >> (span - 1) != 0 {
                return Err(FaultKind::BadStreamId);
            }
            Ok((desc & 0x000f_ffff_ffff_ffc0).wrapping_add(l2_index * STE_BYTES))
        }
        _ => Err(FaultKind::BadStreamId),
    }
}

/// Read the STE at `addr`.
pub(crate) fn read_ste(mem: &dyn GuestMemory, addr: u64) -> Result<[u64; 8], FaultKind> {
    read_dwords::<8>(mem, addr).map_err(|_| FaultKind::SteFetch { fetch_addr: addr })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testmem::TestMemory;

    const LIMITS: SteLimits = SteLimits {
        ssid_bits: 20,
        ats: true,
    };

    fn s2_dword(t0sz: u64, sl0: u64, tg: u64, ps: u64) -> u64 {
        0x42 | (t0sz << 32) | (sl0 << 38) | (tg << 46) | (ps << 48) | (1 << 51) | (1 << 58)
    }

    #[test]
    fn configs_decode() {
        let abort = parse_ste(&[1, 0, 0, 0, 0, 0, 0, 0], &LIMITS).unwrap();
        assert_eq!(abort.mode, StreamMode::Abort);
        let bypass = parse_ste(&[1 | (0b100 << 1), 1 << 28, 7, 0, 0, 0, 0, 0], &LIMITS).unwrap();
        assert_eq!(
            (bypass.mode, bypass.eats, bypass.vmid),
            (StreamMode::Bypass, 1, 7)
        );
        assert_eq!(parse_ste(&[0; 8], &LIMITS), Err(FaultKind::BadSte));
        assert_eq!(
            parse_ste(&[1 | (0b010 << 1), 0, 0, 0, 0, 0, 0, 0], &LIMITS),
            Err(FaultKind::BadSte)
        );
    }

    #[test]
    fn stage1_fields() {
        let w0 = 1 | (0b101 << 1) | (1 << 4) | 0x8_1234_5640 | (8 << 59);
        let ste = parse_ste(&[w0, 2, 0, 0, 0, 0, 0, 0], &LIMITS).unwrap();
        let s1 = ste.s1.unwrap();
        assert_eq!(s1.ptr, 0x8_1234_5640);
        assert_eq!(s1.format, CdTableFormat::TwoLevel { split: 6 });
        assert_eq!(s1.cdmax, 8);
        assert_eq!(s1.no_substream, NoSubstream::UseCd0);
        assert!(ste.s2.is_none());
        // More CDs than substream ID bits, STRW = EL2, reserved S1DSS.
        let small = SteLimits {
            ssid_bits: 4,
            ats: false,
        };
        assert_eq!(
            parse_ste(&[w0, 0, 0, 0, 0, 0, 0, 0], &small),
            Err(FaultKind::BadSte)
        );
        assert_eq!(
            parse_ste(&[w0, 2 << 30, 0, 0, 0, 0, 0, 0], &LIMITS),
            Err(FaultKind::BadSte)
        );
        assert_eq!(
            parse_ste(&[w0, 3, 0, 0, 0, 0, 0, 0], &LIMITS),
            Err(FaultKind::BadSte)
        );
        // Split-stage ATS is illegal, but EATS is ignored without ATS.
        assert_eq!(
            parse_ste(&[w0, 2 << 28, 0, 0, 0, 0, 0, 0], &LIMITS),
            Err(FaultKind::BadSte)
        );
        let no_ats = SteLimits {
            ssid_bits: 20,
            ats: false,
        };
        assert_eq!(
            parse_ste(&[w0, 2 << 28, 0, 0, 0, 0, 0, 0], &no_ats)
                .unwrap()
                .eats,
            0
        );
    }

    #[test]
    fn stage2_fields() {
        let w0 = 1 | (0b110 << 1);
        let ste = parse_ste(&[w0, 0, s2_dword(24, 1, 0, 2), 0x7000, 0, 0, 0, 0], &LIMITS).unwrap();
        let s2 = ste.s2.unwrap();
        assert_eq!(ste.vmid, 0x42);
        assert_eq!(s2.walk.granule, Granule::Size4K);
        assert_eq!(s2.walk.input_bits, 40);
        assert_eq!(s2.walk.output_bits, 40);
        assert_eq!(s2.walk.start_level, 1);
        assert_eq!(s2.walk.table, 0x7000);
        assert!(s2.record);
        // AArch32 tables, inconsistent SL0, reserved granule.
        let aa32 = s2_dword(24, 1, 0, 2) & !(1 << 51);
        assert_eq!(
            parse_ste(&[w0, 0, aa32, 0, 0, 0, 0, 0], &LIMITS),
            Err(FaultKind::BadSte)
        );
        let bad_sl0 = s2_dword(24, 0, 0, 2);
        assert_eq!(
            parse_ste(&[w0, 0, bad_sl0, 0, 0, 0, 0, 0], &LIMITS),
            Err(FaultKind::BadSte)
        );
        let bad_tg = s2_dword(24, 1, 3, 2);
        assert_eq!(
            parse_ste(&[w0, 0, bad_tg, 0, 0, 0, 0, 0], &LIMITS),
            Err(FaultKind::BadSte)
        );
        // 52-bit S2PS is capped at the SMMU's 48-bit output size.
        let ste = parse_ste(&[w0, 0, s2_dword(16, 2, 0, 6), 0, 0, 0, 0, 0], &LIMITS).unwrap();
        assert_eq!(ste.s2.unwrap().walk.output_bits, 48);
    }

    #[test]
    fn linear_stream_table() {
        let mem = TestMemory::new(0x10000);
        assert_eq!(ste_address(&mem, 0x1000, 4, 16, 3), Ok(0x1000 + 3 * 64));
        assert_eq!(
            ste_address(&mem, 0x1000, 4, 16, 16),
            Err(FaultKind::BadStreamId)
        );
        // LOG2SIZE larger than SIDSIZE is capped.
        assert_eq!(
            ste_address(&mem, 0x1000, 20, 2, 4),
            Err(FaultKind::BadStreamId)
        );
    }

    #[test]
    fn two_level_stream_table() {
        let mem = TestMemory::new(0x10000);
        // 16-bit stream IDs, split 8: L1 entry 2 covers SIDs 0x200..0x2ff with span 3 (4 STEs).
        mem.write_u64(GuestPhysAddr(0x1000 + 2 * 8), 0x4000 | 3)
            .unwrap();
        let cfg = (1 << 16) | (8 << 6) | 16;
        assert_eq!(
            ste_address(&mem, 0x1000, cfg, 16, 0x203),
            Ok(0x4000 + 3 * 64)
        );
        assert_eq!(
            ste_address(&mem, 0x1000, cfg, 16, 0x204),
            Err(FaultKind::BadStreamId)
        );
        assert_eq!(
            ste_address(&mem, 0x1000, cfg, 16, 0x100),
            Err(FaultKind::BadStreamId)
        );
        assert_eq!(
            ste_address(&mem, 0xffc0, cfg, 16, 0x800),
            Err(FaultKind::SteFetch {
                fetch_addr: 0x1_0000
            })
        );
        assert_eq!(
            read_ste(&mem, 0xffc8),
            Err(FaultKind::SteFetch { fetch_addr: 0xffc8 })
        );
    }
}
