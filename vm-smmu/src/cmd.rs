//! Command queue entries: decoding the 16-byte commands a driver writes, and encoding them (for drivers
//! and tests).
//!
//! Every command has its opcode in bits 7:0 of dword 0. Field positions follow the SMMUv3 architecture
//! (the same layout Linux's `arm-smmu-v3.h` uses). Commands this SMMU does not implement (stage-1 EL2/EL3
//! TLB invalidation without `IDR0.HYP`, PRI responses, stall resumes) and reserved encodings decode to
//! [`IllegalCommand`], which the queue reports as `CERROR_ILL`.

use core::fmt;

use crate::regs::field;

/// `CMD_PREFETCH_CONFIG`.
pub const OP_PREFETCH_CONFIG: u8 = 0x01;
/// `CMD_PREFETCH_ADDR`.
pub const OP_PREFETCH_ADDR: u8 = 0x02;
/// `CMD_CFGI_STE`.
pub const OP_CFGI_STE: u8 = 0x03;
/// `CMD_CFGI_STE_RANGE` (and `CMD_CFGI_ALL`, its `Range == 31` form).
pub const OP_CFGI_STE_RANGE: u8 = 0x04;
/// `CMD_CFGI_CD`.
pub const OP_CFGI_CD: u8 = 0x05;
/// `CMD_CFGI_CD_ALL`.
pub const OP_CFGI_CD_ALL: u8 = 0x06;
/// `CMD_TLBI_NH_ALL`.
pub const OP_TLBI_NH_ALL: u8 = 0x10;
/// `CMD_TLBI_NH_ASID`.
pub const OP_TLBI_NH_ASID: u8 = 0x11;
/// `CMD_TLBI_NH_VA`.
pub const OP_TLBI_NH_VA: u8 = 0x12;
/// `CMD_TLBI_NH_VAA`.
pub const OP_TLBI_NH_VAA: u8 = 0x13;
/// `CMD_TLBI_S12_VMALL`.
pub const OP_TLBI_S12_VMALL: u8 = 0x28;
/// `CMD_TLBI_S2_IPA`.
pub const OP_TLBI_S2_IPA: u8 = 0x2a;
/// `CMD_TLBI_NSNH_ALL`.
pub const OP_TLBI_NSNH_ALL: u8 = 0x30;
/// `CMD_ATC_INV`.
pub const OP_ATC_INV: u8 = 0x40;
/// `CMD_SYNC`.
pub const OP_SYNC: u8 = 0x46;

const SSV: u64 = 1 << 11;
const SSEC: u64 = 1 << 10;

/// How a `CMD_SYNC` signals its completion.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SyncSignal {
    /// Software polls `CMDQ_CONS`.
    None,
    /// Write `msi_data` to `msi_addr` (a completion MSI, often pointing back into the queue).
    Irq,
    /// Send a WFE wake-up event (nothing to do in an emulator).
    Sev,
}

/// The range part of a range TLB invalidation (`IDR3.RIL`): `(num + 1) * 2^scale` pages of the granule
/// `tg` selects, starting at the command's address.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TlbiRange {
    /// Granule: 1 = 4 KiB, 2 = 16 KiB, 3 = 64 KiB.
    pub tg: u8,
    /// `SCALE` (5 bits).
    pub scale: u8,
    /// `NUM` (5 bits).
    pub num: u8,
    /// `TTL`: level hint (not needed by this model, kept for encoding).
    pub ttl: u8,
}

impl TlbiRange {
    /// Length of the range in bytes (saturating).
    pub fn len(&self) -> u64 {
        let granule_shift = 10 + 2 * u32::from(self.tg);
        (u64::from(self.num) + 1)
            .checked_shl(u32::from(self.scale) + granule_shift)
            .filter(|&v| v >> (u32::from(self.scale) + granule_shift) == u64::from(self.num) + 1)
            .unwrap_or(u64::MAX)
    }

    /// Whether the range is empty (never: at least one page).
    pub const fn is_empty(&self) -> bool {
        false
    }
}

/// One decoded command.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Load the configuration of a stream (and substream) into the configuration cache.
    PrefetchConfig {
        /// Stream ID.
        sid: u32,
        /// Substream ID, if valid.
        ssid: Option<u32>,
    },
    /// Prefetch translations for an address range (a hint; nothing to do here).
    PrefetchAddr {
        /// Stream ID.
        sid: u32,
        /// Substream ID, if valid.
        ssid: Option<u32>,
        /// `Size` (5 bits).
        size: u8,
        /// Address (bits 63:12).
        addr: u64,
    },
    /// Invalidate the cached STE of one stream.
    CfgiSte {
        /// Stream ID.
        sid: u32,
        /// Only the STE, not the CDs it points at.
        leaf: bool,
    },
    /// Invalidate the STEs of `2^(range + 1)` streams around `sid`; `range == 31` is `CMD_CFGI_ALL`.
    CfgiSteRange {
        /// Stream ID.
        sid: u32,
        /// `Range` (5 bits).
        range: u8,
    },
    /// Invalidate one cached CD.
    CfgiCd {
        /// Stream ID.
        sid: u32,
        /// Substream ID.
        ssid: u32,
        /// Only the CD, not the L1 CD descriptor.
        leaf: bool,
    },
    /// Invalidate every cached CD of a stream.
    CfgiCdAll {
        /// Stream ID.
        sid: u32,
    },
    /// Invalidate all stage-1 (and nested) TLB entries of a VMID.
    TlbiNhAll {
        /// VMID.
        vmid: u16,
    },
    /// Invalidate the non-global stage-1 TLB entries of an ASID.
    TlbiNhAsid {
        /// VMID.
        vmid: u16,
        /// ASID.
        asid: u16,
    },
    /// Invalidate stage-1 TLB entries of an address (or range) in one ASID (and global entries).
    TlbiNhVa {
        /// VMID.
        vmid: u16,
        /// ASID.
        asid: u16,
        /// Address (bits 63:12).
        addr: u64,
        /// Only leaf entries.
        leaf: bool,
        /// Range invalidation, if `TG != 0`.
        range: Option<TlbiRange>,
    },
    /// Invalidate stage-1 TLB entries of an address (or range) in every ASID.
    TlbiNhVaa {
        /// VMID.
        vmid: u16,
        /// Address (bits 63:12).
        addr: u64,
        /// Only leaf entries.
        leaf: bool,
        /// Range invalidation, if `TG != 0`.
        range: Option<TlbiRange>,
    },
    /// Invalidate every TLB entry of a VMID (both stages).
    TlbiS12Vmall {
        /// VMID.
        vmid: u16,
    },
    /// Invalidate stage-2 TLB entries of an IPA (or range).
    TlbiS2Ipa {
        /// VMID.
        vmid: u16,
        /// IPA (bits 51:12).
        addr: u64,
        /// Only leaf entries.
        leaf: bool,
        /// Range invalidation, if `TG != 0`.
        range: Option<TlbiRange>,
    },
    /// Invalidate every non-secure, non-hypervisor TLB entry.
    TlbiNsnhAll,
    /// Tell a device's ATC to drop translations of `2^size` 4 KiB pages around `addr`.
    AtcInv {
        /// Stream ID of the device.
        sid: u32,
        /// Substream (PASID), if valid.
        ssid: Option<u32>,
        /// Also drop global translations of other PASIDs.
        global: bool,
        /// `Size` (6 bits): log2 of the number of 4 KiB pages; 52 or more means everything.
        size: u8,
        /// Address (bits 63:12).
        addr: u64,
    },
    /// Complete once every earlier command has taken effect.
    Sync {
        /// How completion is signalled.
        signal: SyncSignal,
        /// Completion MSI address (bits 51:2).
        msi_addr: u64,
        /// Completion MSI data.
        msi_data: u32,
    },
}

/// A command this SMMU treats as `CERROR_ILL`: an unknown or unsupported opcode, or a reserved field
/// value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct IllegalCommand {
    /// The command's opcode.
    pub opcode: u8,
}

impl fmt::Display for IllegalCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Illegal SMMU command with opcode {:#04x}", self.opcode)
    }
}

impl core::error::Error for IllegalCommand {}

fn ssid_of(w0: u64) -> Option<u32> {
    (w0 & SSV != 0).then(|| field(w0, 31, 12) as u32)
}

fn tlbi_range(w0: u64, w1: u64) -> Option<TlbiRange> {
    let tg = field(w1, 11, 10) as u8;
    (tg != 0).then(|| TlbiRange {
        tg,
        scale: field(w0, 24, 20) as u8,
        num: field(w0, 16, 12) as u8,
        ttl: field(w1, 9, 8) as u8,
    })
}

impl Command {
    /// Decode the two dwords of a command.
    pub fn decode(raw: [u64; 2]) -> Result<Self, IllegalCommand> {
        let [w0, w1] = raw;
        let opcode = (w0 & 0xff) as u8;
        let illegal = IllegalCommand { opcode };
        let sid = field(w0, 63, 32) as u32;
        let vmid = field(w0, 47, 32) as u16;
        let asid = field(w0, 63, 48) as u16;
        let va = w1 & !0xfff;
        let leaf = w1 & 1 != 0;
        let cfgi = matches!(opcode, OP_CFGI_STE..=OP_CFGI_CD_ALL);
        if cfgi && w0 & SSEC != 0 {
            return Err(illegal);
        }
        Ok(match opcode {
            OP_PREFETCH_CONFIG => Self::PrefetchConfig {
                sid,
                ssid: ssid_of(w0),
            },
            OP_PREFETCH_ADDR => Self::PrefetchAddr {
                sid,
                ssid: ssid_of(w0),
                size: field(w1, 4, 0) as u8,
                addr: va,
            },
            OP_CFGI_STE => Self::CfgiSte { sid, leaf },
            OP_CFGI_STE_RANGE => Self::CfgiSteRange {
                sid,
                range: field(w1, 4, 0) as u8,
            },
            OP_CFGI_CD => Self::CfgiCd {
                sid,
                ssid: field(w0, 31, 12) as u32,
                leaf,
            },
            OP_CFGI_CD_ALL => Self::CfgiCdAll { sid },
            OP_TLBI_NH_ALL => Self::TlbiNhAll { vmid },
            OP_TLBI_NH_ASID => Self::TlbiNhAsid { vmid, asid },
            OP_TLBI_NH_VA => Self::TlbiNhVa {
                vmid,
                asid,
                addr: va,
                leaf,
                range: tlbi_range(w0, w1),
            },
            OP_TLBI_NH_VAA => Self::TlbiNhVaa {
                vmid,
                addr: va,
                leaf,
                range: tlbi_range(w0, w1),
            },
            OP_TLBI_S12_VMALL => Self::TlbiS12Vmall { vmid },
            OP_TLBI_S2_IPA => Self::TlbiS2Ipa {
                vmid,
                addr: w1 & 0x000f_ffff_ffff_f000,
                leaf,
                range: tlbi_range(w0, w1),
            },
            OP_TLBI_NSNH_ALL => Self::TlbiNsnhAll,
            OP_ATC_INV => Self::AtcInv {
                sid,
                ssid: ssid_of(w0),
                global: w0 & (1 << 9) != 0,
                size: field(w1, 5, 0) as u8,
                addr: va,
            },
            OP_SYNC => Self::Sync {
                signal: match field(w0, 13, 12) {
                    0 => SyncSignal::None,
                    1 => SyncSignal::Irq,
                    2 => SyncSignal::Sev,
                    _ => return Err(illegal),
                },
                msi_addr: w1 & 0x000f_ffff_ffff_fffc,
                msi_data: field(w0, 63, 32) as u32,
            },
            _ => return Err(illegal),
        })
    }

    /// The command's opcode.
    pub const fn opcode(&self) -> u8 {
        match self {
            Self::PrefetchConfig { .. } => OP_PREFETCH_CONFIG,
            Self::PrefetchAddr { .. } => OP_PREFETCH_ADDR,
            Self::CfgiSte { .. } => OP_CFGI_STE,
            Self::CfgiSteRange { .. } => OP_CFGI_STE_RANGE,
            Self::CfgiCd { .. } => OP_CFGI_CD,
            Self::CfgiCdAll { .. } => OP_CFGI_CD_ALL,
            Self::TlbiNhAll { .. } => OP_TLBI_NH_ALL,
            Self::TlbiNhAsid { .. } => OP_TLBI_NH_ASID,
            Self::TlbiNhVa { .. } => OP_TLBI_NH_VA,
            Self::TlbiNhVaa { .. } => OP_TLBI_NH_VAA,
            Self::TlbiS12Vmall { .. } => OP_TLBI_S12_VMALL,
            Self::TlbiS2Ipa { .. } => OP_TLBI_S2_IPA,
            Self::TlbiNsnhAll => OP_TLBI_NSNH_ALL,
            Self::AtcInv { .. } => OP_ATC_INV,
            Self::Sync { .. } => OP_SYNC,
        }
    }

    /// Encode into the two dwords a driver writes to the queue.
    pub fn encode(&self) -> [u64; 2] {
        let op = u64::from(self.opcode());
        let sid = |s: u32| u64::from(s) << 32;
        let ssid = |s: Option<u32>| s.map_or(0, |v| SSV | (u64::from(v & 0xf_ffff) << 12));
        let vmid = |v: u16| u64::from(v) << 32;
        let leaf = |l: bool| u64::from(l);
        let range = |r: Option<TlbiRange>| match r {
            None => (0, 0),
            Some(r) => (
                (u64::from(r.scale & 0x1f) << 20) | (u64::from(r.num & 0x1f) << 12),
                (u64::from(r.tg & 3) << 10) | (u64::from(r.ttl & 3) << 8),
            ),
        };
        match *self {
            Self::PrefetchConfig { sid: s, ssid: ss } => [op | sid(s) | ssid(ss), 0],
            Self::PrefetchAddr {
                sid: s,
                ssid: ss,
                size,
                addr,
            } => [
                op | sid(s) | ssid(ss),
                (addr & !0xfff) | u64::from(size & 0x1f),
            ],
            Self::CfgiSte { sid: s, leaf: l } => [op | sid(s), leaf(l)],
            Self::CfgiSteRange { sid: s, range } => [op | sid(s), u64::from(range & 0x1f)],
            Self::CfgiCd {
                sid: s,
                ssid: ss,
                leaf: l,
            } => [op | sid(s) | (u64::from(ss & 0xf_ffff) << 12), leaf(l)],
            Self::CfgiCdAll { sid: s } => [op | sid(s), 0],
            Self::TlbiNhAll { vmid: v } | Self::TlbiS12Vmall { vmid: v } => [op | vmid(v), 0],
            Self::TlbiNhAsid { vmid: v, asid } => [op | vmid(v) | (u64::from(asid) << 48), 0],
            Self::TlbiNhVa {
                vmid: v,
                asid,
                addr,
                leaf: l,
                range: r,
            } => {
                let (r0, r1) = range(r);
                [
                    op | vmid(v) | (u64::from(asid) << 48) | r0,
                    (addr & !0xfff) | r1 | leaf(l),
                ]
            }
            Self::TlbiNhVaa {
                vmid: v,
                addr,
                leaf: l,
                range: r,
            } => {
                let (r0, r1) = range(r);
                [op | vmid(v) | r0, (addr & !0xfff) | r1 | leaf(l)]
            }
            Self::TlbiS2Ipa {
                vmid: v,
                addr,
                leaf: l,
                range: r,
            } => {
                let (r0, r1) = range(r);
                [
                    op | vmid(v) | r0,
                    (addr & 0x000f_ffff_ffff_f000) | r1 | leaf(l),
                ]
            }
            Self::TlbiNsnhAll => [op, 0],
            Self::AtcInv {
                sid: s,
                ssid: ss,
                global,
                size,
                addr,
            } => [
                op | sid(s) | ssid(ss) | (u64::from(global) << 9),
                (addr & !0xfff) | u64::from(size & 0x3f),
            ],
            Self::Sync {
                signal,
                msi_addr,
                msi_data,
            } => {
                let cs = match signal {
                    SyncSignal::None => 0,
                    SyncSignal::Irq => 1,
                    SyncSignal::Sev => 2,
                };
                [
                    op | (cs << 12) | (u64::from(msi_data) << 32),
                    msi_addr & 0x000f_ffff_ffff_fffc,
                ]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_linux_style_encodings() {
        // CMD_CFGI_STE, SID 0x1234, leaf.
        assert_eq!(
            Command::decode([0x0000_1234_0000_0003, 1]),
            Ok(Command::CfgiSte {
                sid: 0x1234,
                leaf: true
            })
        );
        // CMD_CFGI_ALL is CFGI_STE_RANGE with range 31.
        assert_eq!(
            Command::decode([0x04, 31]),
            Ok(Command::CfgiSteRange { sid: 0, range: 31 })
        );
        // CMD_TLBI_NH_VA, ASID 5, VMID 2, VA 0x7000_1000, range: TG 4K, SCALE 1, NUM 3.
        let w0 = 0x12 | (2 << 32) | (5 << 48) | (1 << 20) | (3 << 12);
        let w1 = 0x7000_1000 | (1 << 10) | 1;
        let c = Command::decode([w0, w1]).unwrap();
        let range = TlbiRange {
            tg: 1,
            scale: 1,
            num: 3,
            ttl: 0,
        };
        assert_eq!(
            c,
            Command::TlbiNhVa {
                vmid: 2,
                asid: 5,
                addr: 0x7000_1000,
                leaf: true,
                range: Some(range)
            }
        );
        assert_eq!(range.len(), 8 * 4096);
        // CMD_SYNC with a completion MSI.
        let c = Command::decode([0x46 | (1 << 12) | (0xdead << 32), 0x8000_0004]).unwrap();
        assert_eq!(
            c,
            Command::Sync {
                signal: SyncSignal::Irq,
                msi_addr: 0x8000_0004,
                msi_data: 0xdead
            }
        );
    }

    #[test]
    fn illegal_commands() {
        for op in [0x00u8, 0x07, 0x20, 0x21, 0x22, 0x41, 0x44, 0x45, 0xff] {
            assert_eq!(
                Command::decode([u64::from(op), 0]),
                Err(IllegalCommand { opcode: op })
            );
        }
        // Reserved CMD_SYNC completion signal.
        assert_eq!(
            Command::decode([0x46 | (3 << 12), 0]),
            Err(IllegalCommand { opcode: 0x46 })
        );
        // Secure-stream configuration invalidation on a non-secure SMMU.
        assert_eq!(
            Command::decode([0x03 | SSEC, 0]),
            Err(IllegalCommand { opcode: 0x03 })
        );
    }

    #[test]
    fn encode_roundtrips() {
        let cmds = [
            Command::PrefetchConfig {
                sid: 9,
                ssid: Some(3),
            },
            Command::PrefetchAddr {
                sid: 9,
                ssid: None,
                size: 4,
                addr: 0x5000,
            },
            Command::CfgiCd {
                sid: 1,
                ssid: 0xf_ffff,
                leaf: false,
            },
            Command::CfgiCdAll { sid: u32::MAX },
            Command::TlbiNhAll { vmid: 7 },
            Command::TlbiNhAsid {
                vmid: 7,
                asid: 0xffff,
            },
            Command::TlbiNhVaa {
                vmid: 1,
                addr: 0xffff_0000_0000_0000,
                leaf: false,
                range: None,
            },
            Command::TlbiS12Vmall { vmid: 3 },
            Command::TlbiS2Ipa {
                vmid: 3,
                addr: 0x8_0000_0000,
                leaf: true,
                range: Some(TlbiRange {
                    tg: 3,
                    scale: 31,
                    num: 31,
                    ttl: 2,
                }),
            },
            Command::TlbiNsnhAll,
            Command::AtcInv {
                sid: 4,
                ssid: Some(1),
                global: true,
                size: 52,
                addr: 0,
            },
            Command::Sync {
                signal: SyncSignal::Sev,
                msi_addr: 0,
                msi_data: 0,
            },
        ];
        for c in cmds {
            assert_eq!(Command::decode(c.encode()), Ok(c));
        }
    }

    #[test]
    fn huge_ranges_saturate() {
        let r = TlbiRange {
            tg: 3,
            scale: 31,
            num: 31,
            ttl: 0,
        };
        assert_eq!(r.len(), 32 << 47);
        let r = TlbiRange {
            tg: 3,
            scale: 63,
            num: 31,
            ttl: 0,
        };
        assert_eq!(r.len(), u64::MAX);
    }
}
