//! Disassembly in GNU objdump's syntax (checked against binutils 2.40): mnemonic, a tab, then
//! comma-separated operands with ABI register names.
//!
//! [`Syntax::Aliases`] is objdump's default: pseudo-instructions (`li`, `mv`, `ret`, `beqz`, `csrr`,
//! ...), and compressed instructions printed as what they expand to. Like binutils 2.40 it prints
//! the immediate forms of the base ALU operations under the register mnemonic (`add a0,a0,16` for
//! `addi`). [`Syntax::NoAliases`] is `objdump -M no-aliases`: canonical mnemonics, and compressed
//! instructions under their `c.` names and operands.
//!
//! Branch and jump targets print as an absolute hex address (as objdump does, without the symbol)
//! when the instruction's address is known ([`Insn::display_at`]), and as `.+N`/`.-N` otherwise.

use core::fmt::{self, Display, Formatter, Write};

use super::insn::{
    AluOp, AmoOp, AmoWidth, BranchCond, CsrOp, CsrSrc, FenceSet, Insn, LoadOp, MulDivOp, Op,
    StoreOp, UnaryOp,
};
use super::{Csr, XReg};

/// Which of objdump's two syntaxes to print.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Syntax {
    /// objdump's default, with pseudo-instructions.
    #[default]
    Aliases,
    /// `objdump -M no-aliases`.
    NoAliases,
}

/// A printable view of an [`Insn`] in objdump's syntax (see [`Syntax`]); targets are absolute
/// when the address is known ([`Insn::display_at`]) and `.+N`/`.-N` otherwise.
#[derive(Copy, Clone, Debug)]
pub struct Disasm<'a> {
    insn: &'a Insn,
    pc: Option<u64>,
    syntax: Syntax,
}

impl Insn {
    /// The instruction as objdump prints it by default, with relative targets (`.+16`).
    pub fn display(&self) -> Disasm<'_> {
        Disasm {
            insn: self,
            pc: None,
            syntax: Syntax::Aliases,
        }
    }

    /// The instruction as objdump prints it at address `pc`: targets become absolute addresses.
    pub fn display_at(&self, pc: u64) -> Disasm<'_> {
        Disasm {
            insn: self,
            pc: Some(pc),
            syntax: Syntax::Aliases,
        }
    }
}

impl Disasm<'_> {
    /// Prints with `objdump -M no-aliases` syntax.
    pub fn no_aliases(self) -> Self {
        self.with_syntax(Syntax::NoAliases)
    }

    /// Prints with the given syntax.
    pub fn with_syntax(mut self, syntax: Syntax) -> Self {
        self.syntax = syntax;
        self
    }
}

impl Display for Insn {
    /// objdump's default syntax with relative targets; see [`Insn::display_at`] for more.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.display().fmt(f)
    }
}

impl Display for Disasm<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let p = Printer { pc: self.pc };
        match (self.insn.compressed, self.syntax) {
            (Some(form), Syntax::Aliases) => p.compressed_alias(f, form, &self.insn.op),
            (Some(form), Syntax::NoAliases) => p.compressed(f, form, &self.insn.op),
            (None, Syntax::Aliases) => p.alias(f, &self.insn.op),
            (None, Syntax::NoAliases) => p.canonical(f, &self.insn.op),
        }
    }
}

/// A branch or jump target.
pub(super) struct Target {
    pc: Option<u64>,
    offset: i32,
}

impl Display for Target {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.pc {
            Some(pc) => write!(f, "{:x}", pc.wrapping_add(i64::from(self.offset) as u64)),
            None if self.offset < 0 => write!(f, ".{}", self.offset),
            None => write!(f, ".+{}", self.offset),
        }
    }
}

/// A shift amount or bit index, which objdump prints in hex.
struct Hex(i32);

impl Display for Hex {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// The 20-bit field of `lui`/`auipc`, in hex.
struct Upper(i32);

impl Display for Upper {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", (self.0 as u32) >> 12)
    }
}

/// A fence set: `iorw` letters, or `unknown` for the empty set (as objdump prints it).
struct Fence(FenceSet);

impl Display for Fence {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let bits = self.0.0;
        if bits & 0xf == 0 {
            return f.write_str("unknown");
        }
        for (bit, c) in [(8, 'i'), (4, 'o'), (2, 'r'), (1, 'w')] {
            if bits & bit != 0 {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

const fn branch_name(cond: BranchCond) -> &'static str {
    match cond {
        BranchCond::Eq => "beq",
        BranchCond::Ne => "bne",
        BranchCond::Lt => "blt",
        BranchCond::Ge => "bge",
        BranchCond::Ltu => "bltu",
        BranchCond::Geu => "bgeu",
    }
}

const fn load_name(op: LoadOp) -> &'static str {
    match op {
        LoadOp::Lb => "lb",
        LoadOp::Lh => "lh",
        LoadOp::Lw => "lw",
        LoadOp::Ld => "ld",
        LoadOp::Lbu => "lbu",
        LoadOp::Lhu => "lhu",
        LoadOp::Lwu => "lwu",
    }
}

const fn store_name(op: StoreOp) -> &'static str {
    match op {
        StoreOp::Sb => "sb",
        StoreOp::Sh => "sh",
        StoreOp::Sw => "sw",
        StoreOp::Sd => "sd",
    }
}

/// The register-register mnemonic of an ALU operation.
const fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Sll => "sll",
        AluOp::Slt => "slt",
        AluOp::Sltu => "sltu",
        AluOp::Xor => "xor",
        AluOp::Srl => "srl",
        AluOp::Sra => "sra",
        AluOp::Or => "or",
        AluOp::And => "and",
        AluOp::AddUw => "add.uw",
        AluOp::Sh1add => "sh1add",
        AluOp::Sh2add => "sh2add",
        AluOp::Sh3add => "sh3add",
        AluOp::Sh1addUw => "sh1add.uw",
        AluOp::Sh2addUw => "sh2add.uw",
        AluOp::Sh3addUw => "sh3add.uw",
        AluOp::SllUw => "slli.uw",
        AluOp::Andn => "andn",
        AluOp::Orn => "orn",
        AluOp::Xnor => "xnor",
        AluOp::Max => "max",
        AluOp::Maxu => "maxu",
        AluOp::Min => "min",
        AluOp::Minu => "minu",
        AluOp::Rol => "rol",
        AluOp::Ror => "ror",
        AluOp::Bclr => "bclr",
        AluOp::Bext => "bext",
        AluOp::Binv => "binv",
        AluOp::Bset => "bset",
    }
}

/// The canonical immediate-form mnemonic (`addi`, `sltiu`, `slli.uw`, `bseti`, ...).
fn alu_imm_name(op: AluOp, f: &mut Formatter<'_>) -> fmt::Result {
    match op {
        AluOp::Sltu => f.write_str("sltiu"),
        AluOp::SllUw => f.write_str("slli.uw"),
        _ => write!(f, "{}i", alu_name(op)),
    }
}

/// Whether an immediate-form operation prints its immediate as a hex shift amount.
const fn is_shift_like(op: AluOp) -> bool {
    matches!(
        op,
        AluOp::Sll
            | AluOp::Srl
            | AluOp::Sra
            | AluOp::SllUw
            | AluOp::Ror
            | AluOp::Bclr
            | AluOp::Bext
            | AluOp::Binv
            | AluOp::Bset
    )
}

const fn unary_name(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Clz => "clz",
        UnaryOp::Ctz => "ctz",
        UnaryOp::Cpop => "cpop",
        UnaryOp::Clzw => "clzw",
        UnaryOp::Ctzw => "ctzw",
        UnaryOp::Cpopw => "cpopw",
        UnaryOp::SextB => "sext.b",
        UnaryOp::SextH => "sext.h",
        UnaryOp::ZextH => "zext.h",
        UnaryOp::Rev8 => "rev8",
        UnaryOp::OrcB => "orc.b",
    }
}

const fn muldiv_name(op: MulDivOp) -> &'static str {
    match op {
        MulDivOp::Mul => "mul",
        MulDivOp::Mulh => "mulh",
        MulDivOp::Mulhsu => "mulhsu",
        MulDivOp::Mulhu => "mulhu",
        MulDivOp::Div => "div",
        MulDivOp::Divu => "divu",
        MulDivOp::Rem => "rem",
        MulDivOp::Remu => "remu",
    }
}

const fn amo_name(op: AmoOp) -> &'static str {
    match op {
        AmoOp::Swap => "amoswap",
        AmoOp::Add => "amoadd",
        AmoOp::Xor => "amoxor",
        AmoOp::And => "amoand",
        AmoOp::Or => "amoor",
        AmoOp::Min => "amomin",
        AmoOp::Max => "amomax",
        AmoOp::Minu => "amominu",
        AmoOp::Maxu => "amomaxu",
    }
}

/// `.w`/`.d` and the ordering suffix of an atomic.
struct AmoSuffix {
    width: AmoWidth,
    aq: bool,
    rl: bool,
}

impl Display for AmoSuffix {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.width == AmoWidth::W {
            ".w"
        } else {
            ".d"
        })?;
        f.write_str(match (self.aq, self.rl) {
            (false, false) => "",
            (true, false) => ".aq",
            (false, true) => ".rl",
            (true, true) => ".aqrl",
        })
    }
}

/// Formats instructions; `pc` is the address, when known, for branch targets.
pub(super) struct Printer {
    pub(super) pc: Option<u64>,
}

impl Printer {
    pub(super) fn target(&self, offset: i32) -> Target {
        Target {
            pc: self.pc,
            offset,
        }
    }

    /// The canonical (`-M no-aliases`) form of a 32-bit instruction.
    pub(super) fn canonical(&self, f: &mut Formatter<'_>, op: &Op) -> fmt::Result {
        match *op {
            Op::Lui { rd, imm } => write!(f, "lui\t{rd},{}", Upper(imm)),
            Op::Auipc { rd, imm } => write!(f, "auipc\t{rd},{}", Upper(imm)),
            Op::Jal { rd, offset } => write!(f, "jal\t{rd},{}", self.target(offset)),
            Op::Jalr { rd, rs1, offset } => write!(f, "jalr\t{rd},{offset}({rs1})"),
            Op::Branch {
                cond,
                rs1,
                rs2,
                offset,
            } => {
                write!(
                    f,
                    "{}\t{rs1},{rs2},{}",
                    branch_name(cond),
                    self.target(offset)
                )
            }
            Op::Load {
                op,
                rd,
                rs1,
                offset,
            } => write!(f, "{}\t{rd},{offset}({rs1})", load_name(op)),
            Op::Store {
                op,
                rs1,
                rs2,
                offset,
            } => {
                write!(f, "{}\t{rs2},{offset}({rs1})", store_name(op))
            }
            Op::AluImm { op, rd, rs1, imm } => {
                alu_imm_name(op, f)?;
                imm_operands(f, op, rd, rs1, imm)
            }
            Op::AluImmW { op, rd, rs1, imm } => {
                alu_imm_name(op, f)?;
                f.write_char('w')?;
                imm_operands(f, op, rd, rs1, imm)
            }
            Op::Alu { op, rd, rs1, rs2 } => write!(f, "{}\t{rd},{rs1},{rs2}", alu_name(op)),
            Op::AluW { op, rd, rs1, rs2 } => write!(f, "{}w\t{rd},{rs1},{rs2}", alu_name(op)),
            Op::Unary { op, rd, rs1 } => write!(f, "{}\t{rd},{rs1}", unary_name(op)),
            Op::MulDiv { op, rd, rs1, rs2 } => write!(f, "{}\t{rd},{rs1},{rs2}", muldiv_name(op)),
            Op::MulDivW { op, rd, rs1, rs2 } => write!(f, "{}w\t{rd},{rs1},{rs2}", muldiv_name(op)),
            Op::Lr {
                width,
                aq,
                rl,
                rd,
                rs1,
            } => {
                write!(f, "lr{}\t{rd},({rs1})", AmoSuffix { width, aq, rl })
            }
            Op::Sc {
                width,
                aq,
                rl,
                rd,
                rs1,
                rs2,
            } => {
                write!(f, "sc{}\t{rd},{rs2},({rs1})", AmoSuffix { width, aq, rl })
            }
            Op::Amo {
                op,
                width,
                aq,
                rl,
                rd,
                rs1,
                rs2,
            } => {
                let suffix = AmoSuffix { width, aq, rl };
                write!(f, "{}{suffix}\t{rd},{rs2},({rs1})", amo_name(op))
            }
            Op::Fence { pred, succ, fm } => {
                if fm == 8 && pred == FenceSet::RW && succ == FenceSet::RW {
                    f.write_str("fence.tso")
                } else if fm == 0 && pred == FenceSet::W && succ.0 == 0 {
                    f.write_str("pause")
                } else {
                    write!(f, "fence\t{},{}", Fence(pred), Fence(succ))
                }
            }
            Op::FenceI => f.write_str("fence.i"),
            Op::Ecall => f.write_str("ecall"),
            Op::Ebreak => f.write_str("ebreak"),
            Op::Mret => f.write_str("mret"),
            Op::Sret => f.write_str("sret"),
            Op::Wfi => f.write_str("wfi"),
            Op::SfenceVma { rs1, rs2 } => write!(f, "sfence.vma\t{rs1},{rs2}"),
            Op::Csr {
                op: CsrOp::Rw,
                rd,
                csr,
                src: CsrSrc::Reg(rs1),
            } if rd.is_zero() && rs1.is_zero() && csr == Csr::CYCLE => f.write_str("unimp"),
            Op::Csr { op, rd, csr, src } => {
                let name = match op {
                    CsrOp::Rw => "csrrw",
                    CsrOp::Rs => "csrrs",
                    CsrOp::Rc => "csrrc",
                };
                match src {
                    CsrSrc::Reg(rs1) => write!(f, "{name}\t{rd},{csr},{rs1}"),
                    CsrSrc::Imm(imm) => write!(f, "{name}i\t{rd},{csr},{imm}"),
                }
            }
            Op::FLoad { .. }
            | Op::FStore { .. }
            | Op::FArith { .. }
            | Op::FSqrt { .. }
            | Op::FFma { .. }
            | Op::FSgnj { .. }
            | Op::FMinMax { .. }
            | Op::FCmp { .. }
            | Op::FClass { .. }
            | Op::FCvtToInt { .. }
            | Op::FCvtFromInt { .. }
            | Op::FCvtFmt { .. }
            | Op::FMvToInt { .. }
            | Op::FMvFromInt { .. } => self.fp(f, op),
        }
    }
}

/// `\trd,rs1,imm` with the immediate in decimal, or in hex for shift amounts and bit indices.
fn imm_operands(f: &mut Formatter<'_>, op: AluOp, rd: XReg, rs1: XReg, imm: i32) -> fmt::Result {
    if is_shift_like(op) {
        write!(f, "\t{rd},{rs1},{}", Hex(imm))
    } else {
        write!(f, "\t{rd},{rs1},{imm}")
    }
}
