//! The typed RISC-V instruction: what the decoder produces, the disassembler prints and the lowering
//! to the IR consumes.
//!
//! Immediates are stored as the value the instruction uses, already sign-extended and scaled
//! (a branch offset in bytes, a `lui` immediate with its low twelve bits clear), so a consumer never
//! re-derives them from encoding fields. Compressed instructions are stored as the base instruction
//! they expand to, with [`Insn::compressed`] naming the compressed form.

pub use super::ops::{
    AluOp, AmoOp, AmoWidth, BranchCond, CsrOp, CsrSrc, FArithOp, FCmpOp, FenceSet, FmaOp, FpFmt,
    IntFmt, LoadOp, MinMaxOp, MulDivOp, Rm, RoundingMode, SgnjOp, StoreOp, UnaryOp,
};

use super::csr::Csr;
use super::reg::{FReg, XReg};

/// One decoded instruction: the operation and, for a 16-bit instruction, which compressed form
/// encoded it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    /// What the instruction does (for a compressed instruction, its base-ISA expansion).
    pub op: Op,
    /// `Some` when the instruction was a 16-bit compressed one.
    pub compressed: Option<CForm>,
}

impl Insn {
    /// A 32-bit instruction.
    pub const fn full(op: Op) -> Insn {
        Insn {
            op,
            compressed: None,
        }
    }

    /// A 16-bit instruction that expands to `op`.
    pub const fn from_compressed(op: Op, form: CForm) -> Insn {
        Insn {
            op,
            compressed: Some(form),
        }
    }

    /// The length of the encoding in bytes: 2 or 4.
    #[expect(clippy::len_without_is_empty, reason = "an instruction is never empty")]
    pub const fn len(&self) -> u64 {
        if self.compressed.is_some() { 2 } else { 4 }
    }

    /// Whether this was a compressed (16-bit) instruction.
    pub const fn is_compressed(&self) -> bool {
        self.compressed.is_some()
    }

    /// The extension that defines this instruction: `C` for every compressed one (whose
    /// operation may need another extension too, such as D for `c.fld`: see [`Op::extension`]).
    pub const fn extension(&self) -> Extension {
        if self.compressed.is_some() {
            return Extension::C;
        }
        self.op.extension()
    }
}

/// A standard extension, for checking an instruction against the hart's ISA string.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Extension {
    /// The base integer ISA, RV64I.
    I,
    /// Integer multiplication and division.
    M,
    /// Atomics.
    A,
    /// Single-precision floating point.
    F,
    /// Double-precision floating point.
    D,
    /// Compressed instructions.
    C,
    /// CSR instructions.
    Zicsr,
    /// `fence.i`.
    Zifencei,
    /// Address generation (`sh1add`, `add.uw`, ...).
    Zba,
    /// Basic bit manipulation (`andn`, `clz`, `rev8`, ...).
    Zbb,
    /// Single-bit instructions (`bset`, `bext`, ...).
    Zbs,
    /// The `pause` hint.
    Zihintpause,
    /// Privileged instructions (`mret`, `sret`, `wfi`, `sfence.vma`).
    Privileged,
}

/// An operation, with its operands.
///
/// Operand fields are named as in the specification's encodings: `rd` is the destination,
/// `rs1`/`rs2`/`rs3` the sources, `imm` an immediate value, `offset` a byte offset (from `rs1` for
/// memory accesses, from the instruction's address for jumps and branches), `rm` the rounding mode,
/// `fmt` the floating-point format, `op` the variant of a family, `width` an access width, `aq`/`rl`
/// the acquire/release bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[expect(
    missing_docs,
    reason = "operand fields are documented once, in the enum's documentation"
)]
pub enum Op {
    /// `rd = imm` (sign-extended; the low twelve bits of `imm` are zero).
    Lui { rd: XReg, imm: i32 },
    /// `rd = pc + imm` (the low twelve bits of `imm` are zero).
    Auipc { rd: XReg, imm: i32 },
    /// `rd = pc + len; pc += offset`.
    Jal { rd: XReg, offset: i32 },
    /// `rd = pc + len; pc = (rs1 + offset) & !1`.
    Jalr { rd: XReg, rs1: XReg, offset: i32 },
    /// `if cond(rs1, rs2) { pc += offset }`.
    Branch {
        cond: BranchCond,
        rs1: XReg,
        rs2: XReg,
        offset: i32,
    },
    /// `rd = load(rs1 + offset)`.
    Load {
        op: LoadOp,
        rd: XReg,
        rs1: XReg,
        offset: i32,
    },
    /// `store(rs1 + offset, rs2)`.
    Store {
        op: StoreOp,
        rs1: XReg,
        rs2: XReg,
        offset: i32,
    },
    /// `rd = op(rs1, imm)` on 64 bits. For shifts, rotates and single-bit ops `imm` is the shift
    /// amount or bit index (0..=63). Only the ops with an immediate form appear here (see [`AluOp`]).
    AluImm {
        op: AluOp,
        rd: XReg,
        rs1: XReg,
        imm: i32,
    },
    /// `rd = sext32(op(rs1, imm))` on the low 32 bits: `addiw`, `slliw`, `srliw`, `sraiw`, `roriw`.
    AluImmW {
        op: AluOp,
        rd: XReg,
        rs1: XReg,
        imm: i32,
    },
    /// `rd = op(rs1, rs2)` on 64 bits.
    Alu {
        op: AluOp,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
    },
    /// `rd = sext32(op(rs1, rs2))` on the low 32 bits: `addw`, `subw`, `sllw`, `srlw`, `sraw`,
    /// `rolw`, `rorw` (shift amounts use the low five bits of `rs2`).
    AluW {
        op: AluOp,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
    },
    /// `rd = op(rs1)`: the one-operand bit-manipulation instructions (Zbb).
    Unary { op: UnaryOp, rd: XReg, rs1: XReg },
    /// `rd = op(rs1, rs2)` on 64 bits (M).
    MulDiv {
        op: MulDivOp,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
    },
    /// `rd = sext32(op(rs1, rs2))` on the low 32 bits: `mulw`, `divw`, `divuw`, `remw`, `remuw`.
    MulDivW {
        op: MulDivOp,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
    },
    /// Load-reserved: `rd = load(rs1)` and reserve the address.
    Lr {
        width: AmoWidth,
        aq: bool,
        rl: bool,
        rd: XReg,
        rs1: XReg,
    },
    /// Store-conditional: store `rs2` at `rs1` if still reserved; `rd` = 0 on success, 1 on failure.
    Sc {
        width: AmoWidth,
        aq: bool,
        rl: bool,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
    },
    /// Atomic read-modify-write: `rd = mem[rs1]; mem[rs1] = op(mem[rs1], rs2)`.
    Amo {
        op: AmoOp,
        width: AmoWidth,
        aq: bool,
        rl: bool,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
    },
    /// A memory ordering fence. `fm` is the fence mode: 0 normal, 8 with `pred` = `succ` = RW is
    /// `fence.tso`; the specification says to treat every other value as 0. The reserved `rd` and
    /// `rs1` fields are ignored, as the specification requires.
    Fence {
        pred: FenceSet,
        succ: FenceSet,
        fm: u8,
    },
    /// Instruction-fetch fence (its reserved fields are ignored, as the specification requires).
    FenceI,
    /// Environment call.
    Ecall,
    /// Breakpoint.
    Ebreak,
    /// Return from a machine-mode trap.
    Mret,
    /// Return from a supervisor-mode trap.
    Sret,
    /// Wait for interrupt.
    Wfi,
    /// Address-translation fence: `rs1` = virtual address (`x0`: all), `rs2` = ASID (`x0`: all).
    SfenceVma { rs1: XReg, rs2: XReg },
    /// CSR read-modify-write. Per the specification, `csrrw` with `rd` = `x0` does not read the CSR,
    /// and `csrrs`/`csrrc` with a zero source (register `x0` or immediate 0) do not write it.
    Csr {
        op: CsrOp,
        rd: XReg,
        csr: Csr,
        src: CsrSrc,
    },
    /// `rd = load(rs1 + offset)` into a floating-point register (`flw`, `fld`).
    FLoad {
        fmt: FpFmt,
        rd: FReg,
        rs1: XReg,
        offset: i32,
    },
    /// `store(rs1 + offset, rs2)` from a floating-point register (`fsw`, `fsd`).
    FStore {
        fmt: FpFmt,
        rs1: XReg,
        rs2: FReg,
        offset: i32,
    },
    /// `rd = rs1 op rs2`, rounded.
    FArith {
        op: FArithOp,
        fmt: FpFmt,
        rd: FReg,
        rs1: FReg,
        rs2: FReg,
        rm: Rm,
    },
    /// `rd = sqrt(rs1)`, rounded.
    FSqrt {
        fmt: FpFmt,
        rd: FReg,
        rs1: FReg,
        rm: Rm,
    },
    /// Fused multiply-add family, one rounding.
    FFma {
        op: FmaOp,
        fmt: FpFmt,
        rd: FReg,
        rs1: FReg,
        rs2: FReg,
        rs3: FReg,
        rm: Rm,
    },
    /// Sign injection: `rd` = magnitude of `rs1` with a sign taken from `rs2`.
    FSgnj {
        op: SgnjOp,
        fmt: FpFmt,
        rd: FReg,
        rs1: FReg,
        rs2: FReg,
    },
    /// IEEE 754-2019 minimumNumber / maximumNumber.
    FMinMax {
        op: MinMaxOp,
        fmt: FpFmt,
        rd: FReg,
        rs1: FReg,
        rs2: FReg,
    },
    /// Comparison into an integer register (1 or 0).
    FCmp {
        op: FCmpOp,
        fmt: FpFmt,
        rd: XReg,
        rs1: FReg,
        rs2: FReg,
    },
    /// Classify `rs1`: a one-hot ten-bit mask into `rd`.
    FClass { fmt: FpFmt, rd: XReg, rs1: FReg },
    /// Float to integer conversion (`fcvt.w.s`, `fcvt.lu.d`, ...), saturating.
    FCvtToInt {
        int: IntFmt,
        fmt: FpFmt,
        rd: XReg,
        rs1: FReg,
        rm: Rm,
    },
    /// Integer to float conversion (`fcvt.s.w`, `fcvt.d.lu`, ...).
    FCvtFromInt {
        int: IntFmt,
        fmt: FpFmt,
        rd: FReg,
        rs1: XReg,
        rm: Rm,
    },
    /// Float to float conversion (`fcvt.s.d`, `fcvt.d.s`).
    FCvtFmt {
        to: FpFmt,
        from: FpFmt,
        rd: FReg,
        rs1: FReg,
        rm: Rm,
    },
    /// Bit move from a floating-point register: `fmv.x.w` (sign-extends the low 32 bits), `fmv.x.d`.
    FMvToInt { fmt: FpFmt, rd: XReg, rs1: FReg },
    /// Bit move into a floating-point register: `fmv.w.x` (NaN-boxes), `fmv.d.x`.
    FMvFromInt { fmt: FpFmt, rd: FReg, rs1: XReg },
}

impl Op {
    /// The extension that defines this operation.
    pub const fn extension(&self) -> Extension {
        match self {
            Op::AluImm { op, .. }
            | Op::AluImmW { op, .. }
            | Op::Alu { op, .. }
            | Op::AluW { op, .. } => op.extension(),
            Op::Unary { .. } => Extension::Zbb,
            Op::MulDiv { .. } | Op::MulDivW { .. } => Extension::M,
            Op::Lr { .. } | Op::Sc { .. } | Op::Amo { .. } => Extension::A,
            Op::Fence { pred, succ, fm } => {
                if *fm == 0 && pred.0 == FenceSet::W.0 && succ.0 == 0 {
                    Extension::Zihintpause
                } else {
                    Extension::I
                }
            }
            Op::FenceI => Extension::Zifencei,
            Op::Mret | Op::Sret | Op::Wfi | Op::SfenceVma { .. } => Extension::Privileged,
            Op::Csr { .. } => Extension::Zicsr,
            Op::FLoad { fmt, .. }
            | Op::FStore { fmt, .. }
            | Op::FArith { fmt, .. }
            | Op::FSqrt { fmt, .. }
            | Op::FFma { fmt, .. }
            | Op::FSgnj { fmt, .. }
            | Op::FMinMax { fmt, .. }
            | Op::FCmp { fmt, .. }
            | Op::FClass { fmt, .. }
            | Op::FCvtToInt { fmt, .. }
            | Op::FCvtFromInt { fmt, .. }
            | Op::FMvToInt { fmt, .. }
            | Op::FMvFromInt { fmt, .. } => fmt.extension(),
            Op::FCvtFmt { .. } => Extension::D,
            Op::Lui { .. }
            | Op::Auipc { .. }
            | Op::Jal { .. }
            | Op::Jalr { .. }
            | Op::Branch { .. }
            | Op::Load { .. }
            | Op::Store { .. }
            | Op::Ecall
            | Op::Ebreak => Extension::I,
        }
    }
}

/// The compressed (RV64C) instruction that encoded an [`Insn`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[expect(
    missing_docs,
    reason = "each variant is the instruction its name spells (CAddi = c.addi)"
)]
pub enum CForm {
    CAddi4spn,
    CFld,
    CLw,
    CLd,
    CFsd,
    CSw,
    CSd,
    CAddi,
    CAddiw,
    CLi,
    CAddi16sp,
    CLui,
    CSrli,
    CSrai,
    CAndi,
    CSub,
    CXor,
    COr,
    CAnd,
    CSubw,
    CAddw,
    CJ,
    CBeqz,
    CBnez,
    CSlli,
    CFldsp,
    CLwsp,
    CLdsp,
    CJr,
    CMv,
    CEbreak,
    CJalr,
    CAdd,
    CFsdsp,
    CSwsp,
    CSdsp,
}

impl CForm {
    /// The assembler mnemonic (`c.addi`, ...).
    pub const fn mnemonic(self) -> &'static str {
        match self {
            CForm::CAddi4spn => "c.addi4spn",
            CForm::CFld => "c.fld",
            CForm::CLw => "c.lw",
            CForm::CLd => "c.ld",
            CForm::CFsd => "c.fsd",
            CForm::CSw => "c.sw",
            CForm::CSd => "c.sd",
            CForm::CAddi => "c.addi",
            CForm::CAddiw => "c.addiw",
            CForm::CLi => "c.li",
            CForm::CAddi16sp => "c.addi16sp",
            CForm::CLui => "c.lui",
            CForm::CSrli => "c.srli",
            CForm::CSrai => "c.srai",
            CForm::CAndi => "c.andi",
            CForm::CSub => "c.sub",
            CForm::CXor => "c.xor",
            CForm::COr => "c.or",
            CForm::CAnd => "c.and",
            CForm::CSubw => "c.subw",
            CForm::CAddw => "c.addw",
            CForm::CJ => "c.j",
            CForm::CBeqz => "c.beqz",
            CForm::CBnez => "c.bnez",
            CForm::CSlli => "c.slli",
            CForm::CFldsp => "c.fldsp",
            CForm::CLwsp => "c.lwsp",
            CForm::CLdsp => "c.ldsp",
            CForm::CJr => "c.jr",
            CForm::CMv => "c.mv",
            CForm::CEbreak => "c.ebreak",
            CForm::CJalr => "c.jalr",
            CForm::CAdd => "c.add",
            CForm::CFsdsp => "c.fsdsp",
            CForm::CSwsp => "c.swsp",
            CForm::CSdsp => "c.sdsp",
        }
    }
}
