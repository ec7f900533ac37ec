//! F and D: every floating-point instruction, with RISC-V's NaN boxing, canonical NaNs and
//! accrued flags ([`FP_ENV`]).
//!
//! What the IR does for us: its FP ops read an improperly boxed f32 operand as the canonical NaN and
//! box f32 results (`box_f32`), produce the canonical NaN, OR their flags into `fflags`, saturate
//! conversions to integers with NaN giving the largest integer, and implement `fmin`/`fmax` as IEEE
//! 754-2019 minimumNumber/maximumNumber (−0 < +0, a signalling NaN raises invalid).
//!
//! What we compose: sign injection (no IR op; integer ops on the bit patterns, after the same
//! unboxing rule), the sign extension of `fcvt.w[u]` and `fmv.x.w`, the boxing of `flw` and
//! `fmv.w.x` (both move bits unchanged), and the checks that make FP instructions illegal when
//! `mstatus.FS` is Off or when the dynamic rounding mode is invalid.

use vm_core::ir::{
    BinOp, Cond, FBinOp, FCmpOp as IrFCmp, FUnOp, FloatTy, MemOp, Op as IrOp, Rounding,
    RoundingMode, TrapCause, Ty, Value,
};
use vm_core::mem::AccessSize;
use vm_core::regs::riscv64 as slot;

use super::{FP_ENV, Flow, Lowerer};
use crate::riscv64::insn::{FArithOp, FCmpOp, FmaOp, FpFmt, IntFmt, MinMaxOp, Op, Rm, SgnjOp};
use crate::riscv64::reg::FReg;

/// The upper half of a NaN-boxed f32.
const BOX: u64 = 0xffff_ffff_0000_0000;
/// The canonical f32 NaN, boxed.
const BOXED_CANONICAL_NAN: u64 = BOX | 0x7fc0_0000;

impl Lowerer {
    /// Lower a floating-point instruction (`op` is one of the F/D variants of [`Op`]).
    pub(super) fn fp(&mut self, op: Op, raw: u32) -> Flow {
        if !self.ctx.fp_enabled {
            return Flow::illegal(raw);
        }
        let f = Self::f;
        match op {
            Op::FLoad {
                fmt,
                rd,
                rs1,
                offset,
            } => {
                let dst = slot::f(rd.num()).into();
                let addr = self.x(rs1);
                self.push(IrOp::Load {
                    dst,
                    addr,
                    offset,
                    mem: MemOp::unsigned(size(fmt)),
                });
                if fmt == FpFmt::S {
                    self.bin(BinOp::Or, Ty::I64, dst, dst.into(), Value::Imm(BOX));
                }
            }
            Op::FStore {
                fmt,
                rs1,
                rs2,
                offset,
            } => {
                let addr = self.x(rs1);
                self.push(IrOp::Store {
                    src: f(rs2),
                    addr,
                    offset,
                    mem: MemOp::unsigned(size(fmt)),
                });
            }
            Op::FArith {
                op,
                fmt,
                rd,
                rs1,
                rs2,
                rm,
            } => {
                let Some(rm) = self.rounding(rm, raw) else {
                    return Flow::illegal(raw);
                };
                let op = match op {
                    FArithOp::Add => FBinOp::Add,
                    FArithOp::Sub => FBinOp::Sub,
                    FArithOp::Mul => FBinOp::Mul,
                    FArithOp::Div => FBinOp::Div,
                };
                self.fbin(op, fmt, rd, rs1, rs2, rm);
            }
            Op::FSqrt { fmt, rd, rs1, rm } => {
                let Some(rm) = self.rounding(rm, raw) else {
                    return Flow::illegal(raw);
                };
                self.push(IrOp::FUn {
                    op: FUnOp::Sqrt,
                    ty: fty(fmt),
                    dst: slot::f(rd.num()).into(),
                    a: f(rs1),
                    rm,
                    env: FP_ENV,
                });
            }
            Op::FFma {
                op,
                fmt,
                rd,
                rs1,
                rs2,
                rs3,
                rm,
            } => {
                let Some(rm) = self.rounding(rm, raw) else {
                    return Flow::illegal(raw);
                };
                let (negate_product, negate_addend) = match op {
                    FmaOp::Madd => (false, false),
                    FmaOp::Msub => (false, true),
                    FmaOp::Nmsub => (true, false),
                    FmaOp::Nmadd => (true, true),
                };
                self.push(IrOp::FMulAdd {
                    ty: fty(fmt),
                    dst: slot::f(rd.num()).into(),
                    a: f(rs1),
                    b: f(rs2),
                    c: f(rs3),
                    negate_product,
                    negate_addend,
                    rm,
                    env: FP_ENV,
                });
            }
            Op::FSgnj {
                op,
                fmt,
                rd,
                rs1,
                rs2,
            } => self.sgnj(op, fmt, rd, rs1, rs2),
            Op::FMinMax {
                op,
                fmt,
                rd,
                rs1,
                rs2,
            } => {
                let op = match op {
                    MinMaxOp::Min => FBinOp::MinNum,
                    MinMaxOp::Max => FBinOp::MaxNum,
                };
                // The rounding mode is unused by minimumNumber/maximumNumber.
                let rm = Rounding::Static(RoundingMode::NearestEven);
                self.fbin(op, fmt, rd, rs1, rs2, rm);
            }
            Op::FCmp {
                op,
                fmt,
                rd,
                rs1,
                rs2,
            } => {
                // feq is a quiet comparison; flt and fle signal invalid on any NaN. The flags are
                // accrued even when rd is x0.
                let (op, signaling) = match op {
                    FCmpOp::Eq => (IrFCmp::Eq, false),
                    FCmpOp::Lt => (IrFCmp::Lt, true),
                    FCmpOp::Le => (IrFCmp::Le, true),
                };
                let dst = self.xd_or_temp(rd);
                self.push(IrOp::FCmp {
                    op,
                    signaling,
                    ty: fty(fmt),
                    dst,
                    a: f(rs1),
                    b: f(rs2),
                    env: FP_ENV,
                });
            }
            Op::FClass { fmt, rd, rs1 } => {
                if let Some(dst) = self.xd(rd) {
                    self.push(IrOp::FClass {
                        ty: fty(fmt),
                        dst,
                        src: f(rs1),
                        env: FP_ENV,
                    });
                }
            }
            Op::FCvtToInt {
                int,
                fmt,
                rd,
                rs1,
                rm,
            } => {
                let Some(rm) = self.rounding(rm, raw) else {
                    return Flow::illegal(raw);
                };
                let (to, signed) = int_ty(int);
                let dst = self.xd_or_temp(rd);
                self.push(IrOp::FToInt {
                    dst,
                    src: f(rs1),
                    from: fty(fmt),
                    to,
                    signed,
                    rm,
                    env: FP_ENV,
                });
                // fcvt.w and fcvt.wu both sign-extend their 32-bit result.
                if to == Ty::I32 && !rd.is_zero() {
                    self.sext32(dst);
                }
            }
            Op::FCvtFromInt {
                int,
                fmt,
                rd,
                rs1,
                rm,
            } => {
                let Some(rm) = self.rounding(rm, raw) else {
                    return Flow::illegal(raw);
                };
                let (from, signed) = int_ty(int);
                let src = self.x(rs1);
                self.push(IrOp::IntToF {
                    dst: slot::f(rd.num()).into(),
                    src,
                    from,
                    signed,
                    to: fty(fmt),
                    rm,
                    env: FP_ENV,
                });
            }
            Op::FCvtFmt {
                to,
                from,
                rd,
                rs1,
                rm,
            } => {
                let Some(rm) = self.rounding(rm, raw) else {
                    return Flow::illegal(raw);
                };
                self.push(IrOp::FConvert {
                    dst: slot::f(rd.num()).into(),
                    src: f(rs1),
                    from: fty(from),
                    to: fty(to),
                    rm,
                    env: FP_ENV,
                });
            }
            Op::FMvToInt { fmt, rd, rs1 } => {
                // The bits move unchanged: fmv.x.w ignores the boxing and sign-extends bit 31.
                if let Some(dst) = self.xd(rd) {
                    self.push(match fmt {
                        FpFmt::S => IrOp::Ext {
                            dst,
                            src: f(rs1),
                            from: Ty::I32,
                            signed: true,
                        },
                        FpFmt::D => IrOp::Mov { dst, src: f(rs1) },
                    });
                }
            }
            Op::FMvFromInt { fmt, rd, rs1 } => {
                let (dst, src) = (slot::f(rd.num()).into(), self.x(rs1));
                match fmt {
                    FpFmt::S => self.bin(BinOp::Or, Ty::I64, dst, src, Value::Imm(BOX)),
                    FpFmt::D => self.push(IrOp::Mov { dst, src }),
                }
            }
            // Not a floating-point instruction: `lower` never sends one here.
            _ => return Flow::illegal(raw),
        }
        Flow::Next
    }

    /// The rounding of an instruction, or `None` when it must be illegal: the dynamic mode with an
    /// invalid `frm` known at decode time. When a CSR instruction earlier in the block may have
    /// changed `frm`, the check is emitted instead.
    fn rounding(&mut self, rm: Rm, raw: u32) -> Option<Rounding> {
        match rm {
            Rm::Static(m) => Some(Rounding::Static(m)),
            Rm::Dynamic if self.frm_dirty => {
                let t = self.temp();
                self.push(IrOp::Cmp {
                    cond: Cond::GtU,
                    ty: Ty::I64,
                    dst: t.into(),
                    a: slot::FRM.into(),
                    b: Value::Imm(RoundingMode::NearestMaxMagnitude as u64),
                });
                self.push(IrOp::TrapIf {
                    cond: t.into(),
                    cause: TrapCause::IllegalInstruction,
                    tval: u64::from(raw),
                });
                Some(Rounding::Dynamic(slot::FRM))
            }
            Rm::Dynamic => self.ctx.frm_valid.then_some(Rounding::Dynamic(slot::FRM)),
        }
    }

    /// `f{rd} = f{rs1} op f{rs2}`.
    fn fbin(&mut self, op: FBinOp, fmt: FpFmt, rd: FReg, rs1: FReg, rs2: FReg, rm: Rounding) {
        self.push(IrOp::FBin {
            op,
            ty: fty(fmt),
            dst: slot::f(rd.num()).into(),
            a: Self::f(rs1),
            b: Self::f(rs2),
            rm,
            env: FP_ENV,
        });
    }

    /// Sign injection on the bit patterns: the magnitude of `rs1` with the sign of `rs2` (`fsgnj`),
    /// its opposite (`fsgnjn`) or the xor of both signs (`fsgnjx`). An improperly boxed f32 operand is
    /// the canonical NaN; the f32 result stays boxed because the unboxed operands are.
    fn sgnj(&mut self, op: SgnjOp, fmt: FpFmt, rd: FReg, rs1: FReg, rs2: FReg) {
        let (sign, a, b) = match fmt {
            FpFmt::D => (1u64 << 63, Self::f(rs1), Self::f(rs2)),
            FpFmt::S => {
                let a = self.unbox(rs1);
                let b = if rs1 == rs2 { a } else { self.unbox(rs2) };
                (1u64 << 31, a, b)
            }
        };
        let dst = slot::f(rd.num()).into();
        let s = self.temp();
        match op {
            SgnjOp::Sgnj | SgnjOp::Sgnjn => {
                if op == SgnjOp::Sgnj {
                    self.bin(BinOp::And, Ty::I64, s.into(), b, Value::Imm(sign));
                } else {
                    self.bin(BinOp::AndNot, Ty::I64, s.into(), Value::Imm(sign), b);
                }
                let m = self.temp();
                self.bin(BinOp::And, Ty::I64, m.into(), a, Value::Imm(!sign));
                self.bin(BinOp::Or, Ty::I64, dst, m.into(), s.into());
            }
            SgnjOp::Sgnjx => {
                self.bin(BinOp::And, Ty::I64, s.into(), b, Value::Imm(sign));
                self.bin(BinOp::Xor, Ty::I64, dst, a, s.into());
            }
        }
    }

    /// A temporary holding `f{r}` as an f32 operand: itself when properly NaN-boxed, else the boxed
    /// canonical NaN.
    fn unbox(&mut self, r: FReg) -> Value {
        let boxed = self.temp();
        self.push(IrOp::Cmp {
            cond: Cond::GeU,
            ty: Ty::I64,
            dst: boxed.into(),
            a: Self::f(r),
            b: Value::Imm(BOX),
        });
        let v = self.temp();
        self.push(IrOp::Select {
            dst: v.into(),
            cond: boxed.into(),
            a: Self::f(r),
            b: Value::Imm(BOXED_CANONICAL_NAN),
        });
        v.into()
    }
}

/// The IR format of `fmt`.
const fn fty(fmt: FpFmt) -> FloatTy {
    match fmt {
        FpFmt::S => FloatTy::F32,
        FpFmt::D => FloatTy::F64,
    }
}

/// The memory access of a load or store of `fmt`.
const fn size(fmt: FpFmt) -> AccessSize {
    match fmt {
        FpFmt::S => AccessSize::U32,
        FpFmt::D => AccessSize::U64,
    }
}

/// The integer side of a conversion: width and signedness.
const fn int_ty(int: IntFmt) -> (Ty, bool) {
    match int {
        IntFmt::W => (Ty::I32, true),
        IntFmt::Wu => (Ty::I32, false),
        IntFmt::L => (Ty::I64, true),
        IntFmt::Lu => (Ty::I64, false),
    }
}
