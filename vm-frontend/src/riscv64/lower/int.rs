//! Integer instructions: the ALU of RV64I, M, Zba, Zbb and Zbs, jumps and branches.
//!
//! The IR's integer ops already have RISC-V's edge cases: shifts and rotates take their amount modulo
//! the width (RV64 uses the low six bits of `rs2`, the `*w` forms the low five), division by zero
//! gives all ones and a remainder of the dividend, `MIN / -1 = MIN` and `MIN % -1 = 0`, and the
//! high multiplies exist in all three signednesses. So each instruction is one op, plus a sign
//! extension for the `*w` forms; Zba and Zbs compose two or three.

use vm_core::ir::{BinOp, Cond, Op as IrOp, Temp, Terminator, Ty, UnOp, Value};

use super::{Flow, Lowerer, sext};
use crate::riscv64::insn::{AluOp, BranchCond, MulDivOp, UnaryOp};
use crate::riscv64::reg::XReg;

impl Lowerer {
    /// `x{rd} = a op b` on 64 bits (`b` is `rs2` or the immediate).
    pub(super) fn alu(&mut self, op: AluOp, rd: XReg, a: Value, b: Value) -> Flow {
        let Some(d) = self.xd(rd) else {
            return Flow::Next;
        };
        let simple = match op {
            AluOp::Add => Some(BinOp::Add),
            AluOp::Sub => Some(BinOp::Sub),
            AluOp::Sll => Some(BinOp::Shl),
            AluOp::Srl => Some(BinOp::ShrU),
            AluOp::Sra => Some(BinOp::ShrS),
            AluOp::Xor => Some(BinOp::Xor),
            AluOp::Or => Some(BinOp::Or),
            AluOp::And => Some(BinOp::And),
            AluOp::Andn => Some(BinOp::AndNot),
            AluOp::Orn => Some(BinOp::OrNot),
            AluOp::Xnor => Some(BinOp::XorNot),
            AluOp::Max => Some(BinOp::MaxS),
            AluOp::Maxu => Some(BinOp::MaxU),
            AluOp::Min => Some(BinOp::MinS),
            AluOp::Minu => Some(BinOp::MinU),
            AluOp::Rol => Some(BinOp::RotL),
            AluOp::Ror => Some(BinOp::RotR),
            _ => None,
        };
        if let Some(bop) = simple {
            self.bin(bop, Ty::I64, d, a, b);
            return Flow::Next;
        }
        let cmp = |cond| IrOp::Cmp {
            cond,
            ty: Ty::I64,
            dst: d,
            a,
            b,
        };
        match op {
            AluOp::Slt => self.push(cmp(Cond::LtS)),
            AluOp::Sltu => self.push(cmp(Cond::LtU)),
            AluOp::AddUw => {
                let t = self.zext32(a);
                self.bin(BinOp::Add, Ty::I64, d, t.into(), b);
            }
            AluOp::Sh1add | AluOp::Sh2add | AluOp::Sh3add => {
                let t = self.temp();
                self.bin(BinOp::Shl, Ty::I64, t.into(), a, Value::Imm(sh_amount(op)));
                self.bin(BinOp::Add, Ty::I64, d, t.into(), b);
            }
            AluOp::Sh1addUw | AluOp::Sh2addUw | AluOp::Sh3addUw => {
                let t = self.zext32(a);
                self.bin(
                    BinOp::Shl,
                    Ty::I64,
                    t.into(),
                    t.into(),
                    Value::Imm(sh_amount(op)),
                );
                self.bin(BinOp::Add, Ty::I64, d, t.into(), b);
            }
            AluOp::SllUw => {
                let t = self.zext32(a);
                self.bin(BinOp::Shl, Ty::I64, d, t.into(), b);
            }
            AluOp::Bclr | AluOp::Bset | AluOp::Binv => {
                let bop = match op {
                    AluOp::Bclr => BinOp::AndNot,
                    AluOp::Bset => BinOp::Or,
                    _ => BinOp::Xor,
                };
                let bit = self.bit_mask(b);
                self.bin(bop, Ty::I64, d, a, bit);
            }
            AluOp::Bext => {
                let t = self.temp();
                self.bin(BinOp::ShrU, Ty::I64, t.into(), a, b);
                self.bin(BinOp::And, Ty::I64, d, t.into(), Value::Imm(1));
            }
            // Handled as `simple` above.
            _ => {}
        }
        Flow::Next
    }

    /// `x{rd} = sext32(a op b)` on the low 32 bits. The decoder only produces the operations of
    /// RV64I's and Zbb's `*w` instructions; any other one is lowered as an illegal instruction so
    /// the lowering stays total.
    pub(super) fn alu_w(&mut self, op: AluOp, rd: XReg, a: Value, b: Value, raw: u32) -> Flow {
        let bop = match op {
            AluOp::Add => BinOp::Add,
            AluOp::Sub => BinOp::Sub,
            AluOp::Sll => BinOp::Shl,
            AluOp::Srl => BinOp::ShrU,
            AluOp::Sra => BinOp::ShrS,
            AluOp::Rol => BinOp::RotL,
            AluOp::Ror => BinOp::RotR,
            _ => return Flow::illegal(raw),
        };
        if let Some(d) = self.xd(rd) {
            self.bin(bop, Ty::I32, d, a, b);
            self.sext32(d);
        }
        Flow::Next
    }

    /// The one-operand Zbb instructions.
    pub(super) fn unary(&mut self, op: UnaryOp, rd: XReg, rs1: XReg) -> Flow {
        let Some(dst) = self.xd(rd) else {
            return Flow::Next;
        };
        let a = self.x(rs1);
        let un = |op, ty| IrOp::Un { op, ty, dst, a };
        let ext = |from, signed| IrOp::Ext {
            dst,
            src: a,
            from,
            signed,
        };
        self.push(match op {
            UnaryOp::Clz => un(UnOp::Clz, Ty::I64),
            UnaryOp::Ctz => un(UnOp::Ctz, Ty::I64),
            UnaryOp::Cpop => un(UnOp::Popcnt, Ty::I64),
            UnaryOp::Clzw => un(UnOp::Clz, Ty::I32),
            UnaryOp::Ctzw => un(UnOp::Ctz, Ty::I32),
            UnaryOp::Cpopw => un(UnOp::Popcnt, Ty::I32),
            UnaryOp::SextB => ext(Ty::I8, true),
            UnaryOp::SextH => ext(Ty::I16, true),
            UnaryOp::ZextH => ext(Ty::I16, false),
            UnaryOp::Rev8 => un(UnOp::Bswap, Ty::I64),
            UnaryOp::OrcB => un(UnOp::OrCombineBytes, Ty::I64),
        });
        Flow::Next
    }

    /// M: `x{rd} = rs1 op rs2` on 64 bits, or sign-extended from 32 bits for the `*w` forms (which
    /// exist for `mul`, `div[u]` and `rem[u]` only; the others are lowered as illegal).
    pub(super) fn muldiv(
        &mut self,
        op: MulDivOp,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
        word: bool,
        raw: u32,
    ) -> Flow {
        let bop = match op {
            MulDivOp::Mul => BinOp::Mul,
            MulDivOp::Mulh => BinOp::MulHS,
            MulDivOp::Mulhsu => BinOp::MulHSU,
            MulDivOp::Mulhu => BinOp::MulHU,
            MulDivOp::Div => BinOp::DivS,
            MulDivOp::Divu => BinOp::DivU,
            MulDivOp::Rem => BinOp::RemS,
            MulDivOp::Remu => BinOp::RemU,
        };
        if word && matches!(bop, BinOp::MulHS | BinOp::MulHSU | BinOp::MulHU) {
            return Flow::illegal(raw);
        }
        if let Some(d) = self.xd(rd) {
            let (a, b) = (self.x(rs1), self.x(rs2));
            if word {
                self.bin(bop, Ty::I32, d, a, b);
                self.sext32(d);
            } else {
                self.bin(bop, Ty::I64, d, a, b);
            }
        }
        Flow::Next
    }

    /// `jal`: link, then jump.
    pub(super) fn jal(&mut self, rd: XReg, offset: i32, pc: u64, next: u64) -> Flow {
        self.set_x(rd, Value::Imm(next));
        Flow::End(Terminator::Jump {
            target: pc.wrapping_add(sext(offset)),
        })
    }

    /// `jalr`: the target is computed before the link is written (`rd` may be `rs1`).
    pub(super) fn jalr(&mut self, rd: XReg, rs1: XReg, offset: i32, next: u64) -> Flow {
        let t = self.temp();
        let base = self.x(rs1);
        self.bin(
            BinOp::Add,
            Ty::I64,
            t.into(),
            base,
            Value::Imm(sext(offset)),
        );
        self.bin(BinOp::And, Ty::I64, t.into(), t.into(), Value::Imm(!1));
        self.set_x(rd, Value::Imm(next));
        Flow::End(Terminator::JumpIndirect { target: t.into() })
    }

    /// Conditional branches.
    pub(super) fn branch(
        &mut self,
        cond: BranchCond,
        rs1: XReg,
        rs2: XReg,
        offset: i32,
        pc: u64,
        next: u64,
    ) -> Flow {
        let cond = match cond {
            BranchCond::Eq => Cond::Eq,
            BranchCond::Ne => Cond::Ne,
            BranchCond::Lt => Cond::LtS,
            BranchCond::Ge => Cond::GeS,
            BranchCond::Ltu => Cond::LtU,
            BranchCond::Geu => Cond::GeU,
        };
        let t = self.temp();
        let (a, b) = (self.x(rs1), self.x(rs2));
        self.push(IrOp::Cmp {
            cond,
            ty: Ty::I64,
            dst: t.into(),
            a,
            b,
        });
        Flow::End(Terminator::Branch {
            cond: t.into(),
            taken: pc.wrapping_add(sext(offset)),
            not_taken: next,
        })
    }

    /// A temporary holding the low 32 bits of `v`, zero-extended.
    fn zext32(&mut self, v: Value) -> Temp {
        let t = self.temp();
        self.push(IrOp::Ext {
            dst: t.into(),
            src: v,
            from: Ty::I32,
            signed: false,
        });
        t
    }

    /// `1 << (index mod 64)`: a constant for an immediate index, else a temporary.
    fn bit_mask(&mut self, index: Value) -> Value {
        if let Value::Imm(i) = index {
            return Value::Imm(1u64 << (i & 63));
        }
        let t = self.temp();
        self.bin(BinOp::Shl, Ty::I64, t.into(), Value::Imm(1), index);
        t.into()
    }
}

/// The shift of Zba's `shNadd[.uw]`.
const fn sh_amount(op: AluOp) -> u64 {
    match op {
        AluOp::Sh1add | AluOp::Sh1addUw => 1,
        AluOp::Sh2add | AluOp::Sh2addUw => 2,
        _ => 3,
    }
}
