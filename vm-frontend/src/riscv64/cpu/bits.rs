//! Bit fields of the machine-level CSRs (privileged specification 20211203, chapter 3), and the
//! write masks that make them WARL on this hart.

use super::irq::{IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI};

/// `mstatus`/`sstatus` fields.
pub(super) mod mstatus {
    pub const SIE: u64 = 1 << 1;
    pub const MIE: u64 = 1 << 3;
    pub const SPIE: u64 = 1 << 5;
    pub const UBE: u64 = 1 << 6;
    pub const MPIE: u64 = 1 << 7;
    pub const SPP: u64 = 1 << 8;
    pub const VS: u64 = 3 << 9;
    pub const MPP_SHIFT: u32 = 11;
    pub const MPP: u64 = 3 << MPP_SHIFT;
    pub const FS_SHIFT: u32 = 13;
    pub const FS: u64 = 3 << FS_SHIFT;
    pub const XS: u64 = 3 << 15;
    pub const MPRV: u64 = 1 << 17;
    pub const SUM: u64 = 1 << 18;
    pub const MXR: u64 = 1 << 19;
    pub const TVM: u64 = 1 << 20;
    pub const TW: u64 = 1 << 21;
    pub const TSR: u64 = 1 << 22;
    pub const UXL: u64 = 3 << 32;
    pub const SD: u64 = 1 << 63;

    /// `UXL` = `SXL` = 2 (64-bit U- and S-mode), read-only.
    pub const XLEN_FIELDS: u64 = (2 << 32) | (2 << 34);
    /// `FS` = Initial.
    pub const FS_INITIAL: u64 = 1;
    /// `FS` = Clean.
    pub const FS_CLEAN: u64 = 2;

    /// Writable through `mstatus` (`UBE`/`SBE`/`MBE` are 0: little-endian only; `VS`, `XS` are 0).
    pub const WRITE_M: u64 =
        SIE | MIE | SPIE | MPIE | SPP | MPP | FS | MPRV | SUM | MXR | TVM | TW | TSR;
    /// Visible through `sstatus`.
    pub const READ_S: u64 = SIE | SPIE | UBE | SPP | VS | FS | XS | SUM | MXR | UXL | SD;
    /// Writable through `sstatus`.
    pub const WRITE_S: u64 = SIE | SPIE | SPP | FS | SUM | MXR;
}

/// `menvcfg` fields this hart implements: `FIOM` and Sstc's `STCE`.
pub(super) mod envcfg {
    pub const FIOM: u64 = 1 << 0;
    pub const STCE: u64 = 1 << 63;
    pub const WRITE_M: u64 = FIOM | STCE;
    pub const WRITE_S: u64 = FIOM;
}

/// `mip`/`mie` masks.
pub(super) mod ip {
    use super::*;

    pub const SSIP: u64 = 1 << IRQ_SSI;
    pub const MSIP: u64 = 1 << IRQ_MSI;
    pub const STIP: u64 = 1 << IRQ_STI;
    pub const MTIP: u64 = 1 << IRQ_MTI;
    pub const SEIP: u64 = 1 << IRQ_SEI;
    pub const MEIP: u64 = 1 << IRQ_MEI;
    /// The interrupts this hart has (`mie` is writable exactly here).
    pub const ALL: u64 = SSIP | MSIP | STIP | MTIP | SEIP | MEIP;
    /// The supervisor interrupts, the only delegable ones (`mideleg` is writable here).
    pub const S_ALL: u64 = SSIP | STIP | SEIP;
    /// Bits of `mip` that M-mode software writes (`STIP` only while Sstc is off).
    pub const WRITE_M: u64 = SSIP | STIP | SEIP;
    /// Bits of `sip` that S-mode software writes (where delegated).
    pub const WRITE_S: u64 = SSIP;
}

/// Exceptions `medeleg` can delegate: all standard synchronous causes except environment calls
/// from M-mode (11, read-only zero) and the reserved 10 and 14.
pub(super) const MEDELEG_MASK: u64 = 0xb3ff;

/// `mcountinhibit` bits: `CY` and `IR` (bit 1, `TM`, is read-only zero; the HPM counters are
/// hardwired to zero, so inhibiting them is not implemented).
pub(super) const MCOUNTINHIBIT_MASK: u64 = 0b101;

/// The `misa` bit of extension `letter`.
const fn ext(letter: u8) -> u64 {
    1 << (letter - b'A')
}

/// `misa`: MXL = 2 (64-bit) and the extensions A, C, D, F, I, M, S, U.
pub(super) const MISA: u64 = (2 << 62)
    | ext(b'A')
    | ext(b'C')
    | ext(b'D')
    | ext(b'F')
    | ext(b'I')
    | ext(b'M')
    | ext(b'S')
    | ext(b'U');

/// Counter-enable bits of `mcounteren`/`scounteren` for `time`.
pub(super) const COUNTEREN_TM: u64 = 1 << 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misa_is_rv64imafdcsu() {
        assert_eq!(MISA, 0x8000_0000_0014_112d);
    }

    #[test]
    fn masks() {
        assert_eq!(ip::ALL, 0xaaa);
        assert_eq!(ip::S_ALL, 0x222);
        assert_eq!(mstatus::XLEN_FIELDS, 0xa_0000_0000);
        assert_eq!(mstatus::READ_S, 0x8000_0003_000d_e762);
        assert_eq!(mstatus::WRITE_M, 0x7e_79aa);
        assert_eq!(MEDELEG_MASK & (1 << 11), 0);
    }
}
