//! The RISC-V 64 frontend (RV64GC): decoding instruction words into the typed [`Insn`], and
//! disassembling it the way GNU objdump does.
//!
//! Covered: RV64I, M, A, F, D, C, Zicsr, Zifencei, Zba, Zbb, Zbs, the `pause` hint (Zihintpause),
//! and the privileged `mret`, `sret`, `wfi` and `sfence.vma`.
//!
//! ```
//! use vm_frontend::riscv64::{decode, insn_len, Op, AluOp, XReg};
//!
//! // addi a0, a0, -1, and its compressed form c.addi a0, -1.
//! let full = decode(0xfff5_0513)?;
//! let short = decode(0x157d)?;
//! assert_eq!(full.op, short.op);
//! assert_eq!((full.len(), short.len()), (4, 2));
//! assert_eq!(insn_len(0x157d), Some(2));
//! assert!(matches!(full.op, Op::AluImm { op: AluOp::Add, imm: -1, .. }));
//! assert_eq!(XReg::new(10).map(XReg::abi_name), Some("a0"));
//! assert_eq!(full.to_string(), "add\ta0,a0,-1");
//! assert_eq!(short.display().no_aliases().to_string(), "c.addi\ta0,-1");
//! # Ok::<(), vm_frontend::riscv64::Illegal>(())
//! ```
//!
//! Design choices:
//! - Decoding is total: every `u32`/`u16` gives an [`Insn`] or an [`Illegal`], never a panic.
//!   Fetch the first halfword, ask [`insn_len`] how long the instruction is, then [`decode`] it;
//!   the next instruction is at `pc + insn.len()`.
//! - Immediates are stored decoded (sign-extended, scaled); see [`insn`].
//! - A compressed instruction decodes to the base instruction it expands to ([`Insn::op`]), and
//!   remembers its form ([`Insn::compressed`]) so the disassembler can print either.
//!   HINT encodings (`c.li x0, 1`, `c.slli` by 0, ...) decode; reserved ones are [`Illegal`].
//! - A floating-point instruction whose static rounding mode is one of the reserved values 5 or 6 is
//!   [`Illegal`] at decode time: the specification makes it an illegal instruction whatever `frm`
//!   holds, so there is nothing left for execution to decide. The dynamic mode (7) decodes, and
//!   execution checks `frm`.
//! - Fields the specification tells implementations to ignore (`rd`/`rs1`/`fm` of `fence`, the
//!   operand fields of `fence.i`) are ignored; every other reserved encoding is [`Illegal`].
//! - Exact conversions (`fcvt.d.s`, `fcvt.d.w`, `fcvt.d.wu`) accept every valid rounding mode,
//!   as hardware and LLVM-generated code do.
//! - [`Insn::extension`] names the extension an instruction belongs to, for checking it against
//!   the hart's `misa`/ISA string before execution.
//! - Disassembly ([`Disasm`]) matches GNU objdump 2.40 in both its default and `-M no-aliases`
//!   syntaxes; `tests/riscv64_objdump.rs` compares them line by line.

mod alias;
mod compressed;
pub mod cpu;
pub mod csr;
mod decode;
mod decode_fp;
mod disasm;
mod disasm_fp;
pub mod helpers;
pub mod insn;
pub mod lower;
mod ops;
mod reg;

use core::fmt;

pub use compressed::decode_compressed;
pub use csr::Csr;
pub use decode::decode_full;
pub use disasm::{Disasm, Syntax};
pub use insn::{
    AluOp, AmoOp, AmoWidth, BranchCond, CForm, CsrOp, CsrSrc, Extension, FArithOp, FCmpOp,
    FenceSet, FmaOp, FpFmt, Insn, IntFmt, LoadOp, MinMaxOp, MulDivOp, Op, Rm, RoundingMode, SgnjOp,
    StoreOp, UnaryOp,
};
pub use reg::{FReg, XReg};

/// An encoding that is not a valid instruction of this frontend (reserved, or from an extension it
/// does not implement, or longer than 32 bits). Executing it raises an illegal-instruction
/// exception, with `raw` as the trap value.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("Illegal instruction {raw:#010x}")]
pub struct Illegal {
    /// The instruction bits: the halfword for a 16-bit encoding, the first 32 bits otherwise.
    pub raw: u32,
}

impl Illegal {
    /// The encoding's length in bytes from its first halfword (see [`insn_len`]); `None` for the
    /// reserved lengths of 192 bits and more.
    #[expect(clippy::len_without_is_empty, reason = "an encoding is never empty")]
    pub const fn len(&self) -> Option<usize> {
        insn_len(self.raw as u16)
    }

    /// Whether the halfword says this is a 16-bit encoding.
    pub const fn is_compressed(&self) -> bool {
        self.raw & 0b11 != 0b11
    }

    /// The text objdump prints by default for undecodable bytes (`.4byte 0x...`, `.2byte 0x...`;
    /// `unimp` for the all-zero halfword).
    pub fn disasm(&self) -> impl fmt::Display + '_ {
        self.disasm_with(Syntax::Aliases)
    }

    /// The text objdump prints for undecodable bytes in the given syntax (the all-zero halfword is
    /// `c.unimp` with `-M no-aliases`).
    pub fn disasm_with(&self, syntax: Syntax) -> impl fmt::Display + '_ {
        IllegalText(self, syntax)
    }
}

/// objdump's text for an [`Illegal`].
struct IllegalText<'a>(&'a Illegal, Syntax);

impl fmt::Display for IllegalText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = self.0.raw;
        if self.0.is_compressed() {
            if raw == 0 {
                return f.write_str(if self.1 == Syntax::Aliases {
                    "unimp"
                } else {
                    "c.unimp"
                });
            }
            return write!(f, ".2byte\t{raw:#x}");
        }
        write!(f, ".4byte\t{raw:#x}")
    }
}

/// The length in bytes of the instruction whose first (lowest-addressed) halfword is `first`:
/// 2, 4, 6, 8, or 10..=22 for the longer formats; `None` for the reserved encodings of 192 bits
/// and more. Only 2- and 4-byte instructions decode; the others are [`Illegal`].
pub const fn insn_len(first: u16) -> Option<usize> {
    if first & 0b11 != 0b11 {
        Some(2)
    } else if first & 0b1_1100 != 0b1_1100 {
        Some(4)
    } else if first & 0b10_0000 == 0 {
        Some(6)
    } else if first & 0b100_0000 == 0 {
        Some(8)
    } else {
        let nnn = ((first >> 12) & 7) as usize;
        if nnn == 7 { None } else { Some(10 + 2 * nnn) }
    }
}

/// Decodes the instruction at the start of `raw` (little-endian: the first halfword is the low 16
/// bits). A compressed instruction uses only the low 16 bits, so a fetch may read 32 bits and then
/// advance by [`Insn::len`]. Never panics; every invalid encoding is an [`Illegal`].
pub fn decode(raw: u32) -> Result<Insn, Illegal> {
    if raw & 0b11 != 0b11 {
        decode_compressed(raw as u16)
    } else {
        decode_full(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(insn_len(0x0001), Some(2));
        assert_eq!(insn_len(0x0013), Some(4));
        assert_eq!(insn_len(0x001f), Some(6));
        assert_eq!(insn_len(0x003f), Some(8));
        assert_eq!(insn_len(0x007f), Some(10));
        assert_eq!(insn_len(0x607f), Some(22));
        assert_eq!(insn_len(0x707f), None);
        assert_eq!(Illegal { raw: 0x0000_001f }.len(), Some(6));
        assert_eq!(Illegal { raw: 0x0000_707f }.len(), None);
        assert_eq!(Illegal { raw: 0x0000_6101 }.len(), Some(2));
    }

    #[test]
    fn decode_dispatches_on_length() {
        // The upper halfword is ignored for a compressed instruction.
        assert_eq!(decode(0xdead_157d), decode_compressed(0x157d));
        assert_eq!(decode(0x0000_0000), Err(Illegal { raw: 0 }));
        // 48-bit and longer formats are illegal.
        assert_eq!(decode(0x0000_001f), Err(Illegal { raw: 0x1f }));
        assert_eq!(decode_full(0x157d), Err(Illegal { raw: 0x157d }));
    }

    #[test]
    fn illegal_message() {
        use alloc::string::ToString;
        assert_eq!(
            Illegal { raw: 0x1005_d513 }.to_string(),
            "Illegal instruction 0x1005d513"
        );
        assert_eq!(
            Illegal { raw: 0x6101 }.disasm().to_string(),
            ".2byte\t0x6101"
        );
        assert_eq!(Illegal { raw: 0 }.disasm().to_string(), "unimp");
    }
}
