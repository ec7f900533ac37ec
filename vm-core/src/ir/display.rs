//! A readable text form of the IR, for logs, debugging and test failure messages.
//!
//! ```text
//! block 0x80000000 (2 insns, 8 bytes, 1 temps)
//!   ; 0x80000000 +4
//!   r10 = add.i64 r10, 0x1
//!   ; 0x80000004 +4
//!   t0 = cmp.eq.i64 r10, r11
//!   branch t0 ? 0x8000000c : 0x80000008
//! ```

use core::fmt;

use super::block::Block;
use super::op::{Op, Place, Terminator, Ty, Value};

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Reg(r) => write!(f, "r{}", r.0),
            Place::Temp(t) => write!(f, "t{}", t.0),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Reg(r) => write!(f, "r{}", r.0),
            Value::Temp(t) => write!(f, "t{}", t.0),
            Value::Imm(v) => write!(f, "{v:#x}"),
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "i{}", self.bits())
    }
}

fn lower<T: fmt::Debug>(v: &T) -> alloc::string::String {
    let mut s = alloc::format!("{v:?}");
    s.make_ascii_lowercase();
    s
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Insn { pc, len } => write!(f, "; {pc:#x} +{len}"),
            Op::Mov { dst, src } => write!(f, "{dst} = {src}"),
            Op::Bin { op, ty, dst, a, b } => write!(f, "{dst} = {}.{ty} {a}, {b}", lower(op)),
            Op::Un { op, ty, dst, a } => write!(f, "{dst} = {}.{ty} {a}", lower(op)),
            Op::Cmp {
                cond,
                ty,
                dst,
                a,
                b,
            } => write!(f, "{dst} = cmp.{}.{ty} {a}, {b}", lower(cond)),
            Op::Select { dst, cond, a, b } => write!(f, "{dst} = select {cond}, {a}, {b}"),
            Op::Ext {
                dst,
                src,
                from,
                signed,
            } => {
                write!(
                    f,
                    "{dst} = {}ext.{from} {src}",
                    if *signed { 's' } else { 'z' }
                )
            }
            Op::Load {
                dst,
                addr,
                offset,
                mem,
            } => write!(
                f,
                "{dst} = load.{}{}{} [{addr}{offset:+}]",
                if mem.signed { 's' } else { 'u' },
                mem.size.bits(),
                if mem.aligned { ".aligned" } else { "" }
            ),
            Op::Store {
                src,
                addr,
                offset,
                mem,
            } => {
                write!(f, "store.{} [{addr}{offset:+}], {src}", mem.size.bits())
            }
            Op::LoadReserved {
                dst,
                addr,
                mem,
                order,
            } => {
                write!(
                    f,
                    "{dst} = load_reserved.{}.{} [{addr}]",
                    mem.size.bits(),
                    lower(order)
                )
            }
            Op::StoreConditional {
                dst,
                addr,
                src,
                mem,
                order,
            } => write!(
                f,
                "{dst} = store_conditional.{}.{} [{addr}], {src}",
                mem.size.bits(),
                lower(order)
            ),
            Op::AtomicRmw {
                op,
                dst,
                addr,
                src,
                mem,
                order,
            } => write!(
                f,
                "{dst} = atomic.{}.{}.{} [{addr}], {src}",
                lower(op),
                mem.size.bits(),
                lower(order)
            ),
            Op::CmpXchg {
                dst,
                addr,
                expected,
                new,
                mem,
                order,
            } => write!(
                f,
                "{dst} = cmpxchg.{}.{} [{addr}], {expected}, {new}",
                mem.size.bits(),
                lower(order)
            ),
            Op::Fence(kind) => write!(f, "fence {}", lower(kind)),
            Op::FBin {
                op,
                ty,
                dst,
                a,
                b,
                rm,
                ..
            } => {
                write!(
                    f,
                    "{dst} = f{}.{} {a}, {b} ({})",
                    lower(op),
                    lower(ty),
                    lower(rm)
                )
            }
            Op::FUn {
                op, ty, dst, a, rm, ..
            } => {
                write!(
                    f,
                    "{dst} = f{}.{} {a} ({})",
                    lower(op),
                    lower(ty),
                    lower(rm)
                )
            }
            Op::FMulAdd {
                ty,
                dst,
                a,
                b,
                c,
                negate_product,
                negate_addend,
                rm,
                ..
            } => write!(
                f,
                "{dst} = fma.{} {}{a}*{b} {} {c} ({})",
                lower(ty),
                if *negate_product { "-" } else { "" },
                if *negate_addend { '-' } else { '+' },
                lower(rm)
            ),
            Op::FCmp {
                op,
                signaling,
                ty,
                dst,
                a,
                b,
                ..
            } => write!(
                f,
                "{dst} = fcmp.{}{}.{} {a}, {b}",
                lower(op),
                if *signaling { ".sig" } else { "" },
                lower(ty)
            ),
            Op::FToInt {
                dst,
                src,
                from,
                to,
                signed,
                rm,
                ..
            } => write!(
                f,
                "{dst} = fcvt.{}{}.{} {src} ({})",
                if *signed { 's' } else { 'u' },
                to.bits(),
                lower(from),
                lower(rm)
            ),
            Op::IntToF {
                dst,
                src,
                from,
                signed,
                to,
                rm,
                ..
            } => write!(
                f,
                "{dst} = fcvt.{}.{}{} {src} ({})",
                lower(to),
                if *signed { 's' } else { 'u' },
                from.bits(),
                lower(rm)
            ),
            Op::FConvert {
                dst,
                src,
                from,
                to,
                rm,
                ..
            } => {
                write!(
                    f,
                    "{dst} = fcvt.{}.{} {src} ({})",
                    lower(to),
                    lower(from),
                    lower(rm)
                )
            }
            Op::FClass { ty, dst, src, .. } => write!(f, "{dst} = fclass.{} {src}", lower(ty)),
            Op::Helper { id, dst, args } => {
                if let Some(d) = dst {
                    write!(f, "{d} = ")?;
                }
                write!(f, "helper#{} {}, {}, {}", id.0, args[0], args[1], args[2])
            }
            Op::TrapIf { cond, cause, tval } => {
                write!(f, "trap_if {cond}, {} ({tval:#x})", lower(cause))
            }
        }
    }
}

impl fmt::Display for Terminator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Terminator::Jump { target } => write!(f, "jump {target:#x}"),
            Terminator::Branch {
                cond,
                taken,
                not_taken,
            } => {
                write!(f, "branch {cond} ? {taken:#x} : {not_taken:#x}")
            }
            Terminator::JumpIndirect { target } => write!(f, "jump {target}"),
            Terminator::Trap { cause, tval } => write!(f, "trap {} ({tval:#x})", lower(cause)),
            Terminator::Wait { next } => write!(f, "wait, then {next:#x}"),
            Terminator::Sync { next } => write!(f, "sync, then {next:#x}"),
        }
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "block {:#x} ({} insns, {} bytes, {} temps)",
            self.pc, self.insn_count, self.guest_len, self.num_temps
        )?;
        for op in &self.ops {
            writeln!(f, "  {op}")?;
        }
        writeln!(f, "  {}", self.term)
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::*;

    #[test]
    fn text_form() {
        let mut b = BlockBuilder::new(0x8000_0000);
        b.insn(0x8000_0000, 4);
        b.push(Op::Bin {
            op: BinOp::Add,
            ty: Ty::I64,
            dst: Reg(10).into(),
            a: Reg(10).into(),
            b: Value::Imm(1),
        });
        b.insn(0x8000_0004, 4);
        let t = b.temp();
        b.push(Op::Cmp {
            cond: Cond::Eq,
            ty: Ty::I64,
            dst: t.into(),
            a: Reg(10).into(),
            b: Reg(11).into(),
        });
        let blk = b.finish(Terminator::Branch {
            cond: t.into(),
            taken: 0x8000_000c,
            not_taken: 0x8000_0008,
        });
        let text = alloc::format!("{blk}");
        assert_eq!(
            text,
            "block 0x80000000 (2 insns, 8 bytes, 1 temps)\n  ; 0x80000000 +4\n  r10 = add.i64 r10, 0x1\n  ; 0x80000004 +4\n  t0 = cmp.eq.i64 r10, r11\n  branch t0 ? 0x8000000c : 0x80000008\n"
        );
    }
}
