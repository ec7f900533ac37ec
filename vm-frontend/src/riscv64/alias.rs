//! objdump's pseudo-instructions (its default syntax), and the `c.` forms of compressed
//! instructions (its `-M no-aliases` syntax).
//!
//! The rules follow the order of binutils 2.40's opcode table, where the first matching entry
//! wins: `nop` before `li` before `mv` before `add`, `beqz` before `blez`, and so on.

use core::fmt::{self, Formatter};

use super::Csr;
use super::disasm::Printer;
use super::insn::{AluOp, BranchCond, CForm, CsrOp, CsrSrc, FpFmt, Op, SgnjOp};
use super::reg::XReg;

/// The immediate-form operations objdump 2.40 prints under their register mnemonic (`add a0,a0,16`
/// for `addi`, `sll a0,a1,0x3` for `slli`); the others keep their `i` name.
const fn imm_as_reg_name(op: AluOp) -> Option<&'static str> {
    match op {
        AluOp::Add => Some("add"),
        AluOp::Xor => Some("xor"),
        AluOp::Or => Some("or"),
        AluOp::And => Some("and"),
        AluOp::Sll => Some("sll"),
        AluOp::Srl => Some("srl"),
        AluOp::Sra => Some("sra"),
        AluOp::Ror => Some("ror"),
        AluOp::Bclr => Some("bclr"),
        AluOp::Bext => Some("bext"),
        AluOp::Binv => Some("binv"),
        AluOp::Bset => Some("bset"),
        _ => None,
    }
}

impl Printer {
    /// objdump's default syntax for a 32-bit instruction.
    pub(super) fn alias(&self, f: &mut Formatter<'_>, op: &Op) -> fmt::Result {
        let z = XReg::ZERO;
        match *op {
            Op::Jal { rd, offset } if rd.is_zero() => write!(f, "j\t{}", self.target(offset)),
            Op::Jal { rd, offset } if rd == XReg::RA => write!(f, "jal\t{}", self.target(offset)),
            Op::Jal { rd, offset } => write!(f, "jal\t{rd},{}", self.target(offset)),
            Op::Jalr { rd, rs1, offset: 0 } if rd.is_zero() && rs1 == XReg::RA => {
                f.write_str("ret")
            }
            Op::Jalr { rd, rs1, offset: 0 } if rd.is_zero() => write!(f, "jr\t{rs1}"),
            Op::Jalr { rd, rs1, offset } if rd.is_zero() => write!(f, "jr\t{offset}({rs1})"),
            Op::Jalr { rd, rs1, offset: 0 } if rd == XReg::RA => write!(f, "jalr\t{rs1}"),
            Op::Jalr { rd, rs1, offset } if rd == XReg::RA => write!(f, "jalr\t{offset}({rs1})"),
            Op::Jalr { rd, rs1, offset: 0 } => write!(f, "jalr\t{rd},{rs1}"),
            Op::Branch {
                cond,
                rs1,
                rs2,
                offset,
            } => {
                let t = self.target(offset);
                match cond {
                    BranchCond::Eq if rs2 == z => write!(f, "beqz\t{rs1},{t}"),
                    BranchCond::Ne if rs2 == z => write!(f, "bnez\t{rs1},{t}"),
                    BranchCond::Ge if rs1 == z => write!(f, "blez\t{rs2},{t}"),
                    BranchCond::Ge if rs2 == z => write!(f, "bgez\t{rs1},{t}"),
                    BranchCond::Lt if rs2 == z => write!(f, "bltz\t{rs1},{t}"),
                    BranchCond::Lt if rs1 == z => write!(f, "bgtz\t{rs2},{t}"),
                    _ => self.canonical(f, op),
                }
            }
            Op::AluImm {
                op: AluOp::Add,
                rd,
                rs1,
                imm: 0,
            } if rd == z && rs1 == z => f.write_str("nop"),
            Op::AluImm {
                op: AluOp::Add,
                rd,
                rs1,
                imm,
            } if rs1 == z => write!(f, "li\t{rd},{imm}"),
            Op::AluImm {
                op: AluOp::Add,
                rd,
                rs1,
                imm: 0,
            } => write!(f, "mv\t{rd},{rs1}"),
            Op::AluImm {
                op: AluOp::And,
                rd,
                rs1,
                imm: 255,
            } => write!(f, "zext.b\t{rd},{rs1}"),
            Op::AluImm {
                op: AluOp::Xor,
                rd,
                rs1,
                imm: -1,
            } => write!(f, "not\t{rd},{rs1}"),
            Op::AluImm {
                op: AluOp::Sltu,
                rd,
                rs1,
                imm: 1,
            } => write!(f, "seqz\t{rd},{rs1}"),
            Op::AluImm {
                op: aop,
                rd,
                rs1,
                imm,
            } => match imm_as_reg_name(aop) {
                Some(name) if matches!(aop, AluOp::Add | AluOp::Xor | AluOp::Or | AluOp::And) => {
                    write!(f, "{name}\t{rd},{rs1},{imm}")
                }
                Some(name) => write!(f, "{name}\t{rd},{rs1},{imm:#x}"),
                None => self.canonical(f, op),
            },
            Op::AluImmW {
                op: AluOp::Add,
                rd,
                rs1,
                imm: 0,
            } => write!(f, "sext.w\t{rd},{rs1}"),
            Op::AluImmW {
                op: AluOp::Add,
                rd,
                rs1,
                imm,
            } => write!(f, "addw\t{rd},{rs1},{imm}"),
            Op::AluImmW {
                op: aop,
                rd,
                rs1,
                imm,
            } => match imm_as_reg_name(aop) {
                Some(name) => write!(f, "{name}w\t{rd},{rs1},{imm:#x}"),
                None => self.canonical(f, op),
            },
            Op::Alu {
                op: AluOp::Sub,
                rd,
                rs1,
                rs2,
            } if rs1 == z => write!(f, "neg\t{rd},{rs2}"),
            Op::Alu {
                op: AluOp::Sltu,
                rd,
                rs1,
                rs2,
            } if rs1 == z => write!(f, "snez\t{rd},{rs2}"),
            Op::Alu {
                op: AluOp::Slt,
                rd,
                rs1,
                rs2,
            } if rs2 == z => write!(f, "sltz\t{rd},{rs1}"),
            Op::Alu {
                op: AluOp::Slt,
                rd,
                rs1,
                rs2,
            } if rs1 == z => write!(f, "sgtz\t{rd},{rs2}"),
            Op::Alu {
                op: AluOp::AddUw,
                rd,
                rs1,
                rs2,
            } if rs2 == z => write!(f, "zext.w\t{rd},{rs1}"),
            Op::AluW {
                op: AluOp::Sub,
                rd,
                rs1,
                rs2,
            } if rs1 == z => write!(f, "negw\t{rd},{rs2}"),
            Op::Fence { pred, succ, fm: 0 } if pred.0 == 0xf && succ.0 == 0xf => {
                f.write_str("fence")
            }
            Op::SfenceVma { rs1, rs2 } if rs2 == z && rs1 == z => f.write_str("sfence.vma"),
            Op::SfenceVma { rs1, rs2 } if rs2 == z => write!(f, "sfence.vma\t{rs1}"),
            Op::Csr { op, rd, csr, src } => self.csr_alias(f, op, rd, csr, src),
            Op::FSgnj {
                op,
                fmt,
                rd,
                rs1,
                rs2,
            } if rs1 == rs2 => {
                let name = match op {
                    SgnjOp::Sgnj => "fmv",
                    SgnjOp::Sgnjn => "fneg",
                    SgnjOp::Sgnjx => "fabs",
                };
                let s = if fmt == FpFmt::S { "s" } else { "d" };
                write!(f, "{name}.{s}\t{rd},{rs1}")
            }
            _ => self.canonical(f, op),
        }
    }

    /// The CSR pseudo-instructions.
    fn csr_alias(
        &self,
        f: &mut Formatter<'_>,
        op: CsrOp,
        rd: XReg,
        csr: Csr,
        src: CsrSrc,
    ) -> fmt::Result {
        let fp = match csr {
            Csr::FCSR => Some("csr"),
            Csr::FRM => Some("rm"),
            Csr::FFLAGS => Some("flags"),
            _ => None,
        };
        match (op, src, fp) {
            (CsrOp::Rw, CsrSrc::Reg(rs1), _)
                if rd.is_zero() && rs1.is_zero() && csr == Csr::CYCLE =>
            {
                f.write_str("unimp")
            }
            (CsrOp::Rs, CsrSrc::Reg(rs1), _) if rs1.is_zero() => match (csr, fp) {
                (_, Some(name)) => write!(f, "fr{name}\t{rd}"),
                (Csr::CYCLE, _) => write!(f, "rdcycle\t{rd}"),
                (Csr::TIME, _) => write!(f, "rdtime\t{rd}"),
                (Csr::INSTRET, _) => write!(f, "rdinstret\t{rd}"),
                _ => write!(f, "csrr\t{rd},{csr}"),
            },
            (CsrOp::Rw, CsrSrc::Reg(rs1), Some(name)) if rd.is_zero() => {
                write!(f, "fs{name}\t{rs1}")
            }
            (CsrOp::Rw, CsrSrc::Reg(rs1), Some(name)) => write!(f, "fs{name}\t{rd},{rs1}"),
            // fcsr has no immediate alias.
            (CsrOp::Rw, CsrSrc::Imm(imm), Some(name)) if csr != Csr::FCSR => {
                write!(f, "fs{name}i\t{rd},{imm}")
            }
            _ => {
                let name = match op {
                    CsrOp::Rw => "w",
                    CsrOp::Rs => "s",
                    CsrOp::Rc => "c",
                };
                match (rd.is_zero(), src) {
                    (true, CsrSrc::Reg(rs1)) => write!(f, "csr{name}\t{csr},{rs1}"),
                    (true, CsrSrc::Imm(imm)) => write!(f, "csr{name}\t{csr},{imm}"),
                    (false, CsrSrc::Reg(rs1)) => write!(f, "csrr{name}\t{rd},{csr},{rs1}"),
                    (false, CsrSrc::Imm(imm)) => write!(f, "csrr{name}\t{rd},{csr},{imm}"),
                }
            }
        }
    }

    /// objdump's default syntax for a compressed instruction: usually the expansion with its
    /// aliases; HINT encodings and the zero shifts keep their `c.` form.
    pub(super) fn compressed_alias(
        &self,
        f: &mut Formatter<'_>,
        form: CForm,
        op: &Op,
    ) -> fmt::Result {
        let keep_c_form = match (form, *op) {
            (CForm::CAddi, Op::AluImm { rd, imm, .. }) if rd.is_zero() && imm != 0 => {
                return write!(f, "c.nop\t{imm}");
            }
            (CForm::CSlli | CForm::CSrli | CForm::CSrai, Op::AluImm { imm: 0, .. }) => true,
            (CForm::CLi | CForm::CSlli, Op::AluImm { rd, .. })
            | (CForm::CLui, Op::Lui { rd, .. })
            | (CForm::CMv | CForm::CAdd, Op::Alu { rd, .. }) => rd.is_zero(),
            _ => false,
        };
        match (form, *op) {
            _ if keep_c_form => self.compressed(f, form, op),
            (CForm::CMv, Op::Alu { rd, rs2, .. }) => write!(f, "mv\t{rd},{rs2}"),
            // A HINT (c.addi with a zero immediate): not `mv`, which would re-encode differently.
            (
                CForm::CAddi,
                Op::AluImm {
                    rd, rs1, imm: 0, ..
                },
            ) if !rd.is_zero() => {
                write!(f, "add\t{rd},{rs1},0")
            }
            _ => self.alias(f, op),
        }
    }

    /// The `-M no-aliases` form of a compressed instruction: its `c.` mnemonic and operands.
    pub(super) fn compressed(&self, f: &mut Formatter<'_>, form: CForm, op: &Op) -> fmt::Result {
        let name = form.mnemonic();
        match *op {
            Op::AluImm {
                op: AluOp::Sll | AluOp::Srl | AluOp::Sra,
                rd,
                imm: 0,
                ..
            } => {
                write!(f, "{name}64\t{rd}")
            }
            Op::AluImm {
                op: AluOp::Sll | AluOp::Srl | AluOp::Sra,
                rd,
                imm,
                ..
            } => {
                write!(f, "{name}\t{rd},{imm:#x}")
            }
            Op::AluImm { rd, rs1, imm, .. } if form == CForm::CAddi4spn => {
                write!(f, "{name}\t{rd},{rs1},{imm}")
            }
            Op::AluImm { rd, imm, .. } | Op::AluImmW { rd, imm, .. } => {
                write!(f, "{name}\t{rd},{imm}")
            }
            Op::Lui { rd, imm } => write!(f, "{name}\t{rd},{:#x}", ((imm as u32) >> 12)),
            Op::Alu { rd, rs2, .. } | Op::AluW { rd, rs2, .. } => write!(f, "{name}\t{rd},{rs2}"),
            Op::Jal { offset, .. } => write!(f, "{name}\t{}", self.target(offset)),
            Op::Branch { rs1, offset, .. } => write!(f, "{name}\t{rs1},{}", self.target(offset)),
            Op::Jalr { rs1, .. } => write!(f, "{name}\t{rs1}"),
            Op::Ebreak => f.write_str(name),
            Op::Load {
                rd, rs1, offset, ..
            } => write!(f, "{name}\t{rd},{offset}({rs1})"),
            Op::Store {
                rs1, rs2, offset, ..
            } => write!(f, "{name}\t{rs2},{offset}({rs1})"),
            Op::FLoad {
                rd, rs1, offset, ..
            } => write!(f, "{name}\t{rd},{offset}({rs1})"),
            Op::FStore {
                rs1, rs2, offset, ..
            } => write!(f, "{name}\t{rs2},{offset}({rs1})"),
            // The compressed decoder produces no other operation.
            _ => self.canonical(f, op),
        }
    }
}
