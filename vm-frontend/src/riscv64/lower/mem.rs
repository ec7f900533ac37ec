//! Memory instructions: integer loads and stores, A (LR/SC and AMOs) and `fence`.
//!
//! Ordinary accesses may be misaligned (the engine performs them, or raises the fault the hart
//! turns into a misaligned trap); LR/SC and AMOs must be naturally aligned. The `.w` atomics
//! sign-extend the loaded value, as every RV64 32-bit load into an integer register does.

use vm_core::ir::{FenceKind, MemOp, MemOrder, Op as IrOp, RmwOp};
use vm_core::mem::AccessSize;

use super::{Flow, Lowerer};
use crate::riscv64::insn::{AmoOp, AmoWidth, FenceSet, LoadOp, StoreOp};
use crate::riscv64::reg::XReg;

impl Lowerer {
    /// `x{rd} = mem[rs1 + offset]`. The load runs even for `rd = x0` (it may fault, or read a device).
    pub(super) fn load(&mut self, op: LoadOp, rd: XReg, rs1: XReg, offset: i32) -> Flow {
        let dst = self.xd_or_temp(rd);
        let addr = self.x(rs1);
        self.push(IrOp::Load {
            dst,
            addr,
            offset,
            mem: MemOp {
                size: size_of(op.size()),
                signed: op.signed(),
                aligned: false,
            },
        });
        Flow::Next
    }

    /// `mem[rs1 + offset] = rs2`.
    pub(super) fn store(&mut self, op: StoreOp, rs1: XReg, rs2: XReg, offset: i32) -> Flow {
        let (src, addr) = (self.x(rs2), self.x(rs1));
        self.push(IrOp::Store {
            src,
            addr,
            offset,
            mem: MemOp::unsigned(size_of(op.size())),
        });
        Flow::Next
    }

    /// `lr.w`/`lr.d`.
    pub(super) fn lr(&mut self, width: AmoWidth, aq: bool, rl: bool, rd: XReg, rs1: XReg) -> Flow {
        let dst = self.xd_or_temp(rd);
        let addr = self.x(rs1);
        self.push(IrOp::LoadReserved {
            dst,
            addr,
            mem: amo_mem(width),
            order: order(aq, rl),
        });
        Flow::Next
    }

    /// `sc.w`/`sc.d`: `x{rd}` = 0 on success, 1 on failure.
    pub(super) fn sc(
        &mut self,
        width: AmoWidth,
        aq: bool,
        rl: bool,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
    ) -> Flow {
        let dst = self.xd_or_temp(rd);
        let (addr, src) = (self.x(rs1), self.x(rs2));
        self.push(IrOp::StoreConditional {
            dst,
            addr,
            src,
            mem: amo_mem(width),
            order: order(aq, rl),
        });
        Flow::Next
    }

    /// The AMOs: `x{rd}` = the old value.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the instruction's fields"
    )]
    pub(super) fn amo(
        &mut self,
        op: AmoOp,
        width: AmoWidth,
        aq: bool,
        rl: bool,
        rd: XReg,
        rs1: XReg,
        rs2: XReg,
    ) -> Flow {
        let op = match op {
            AmoOp::Swap => RmwOp::Swap,
            AmoOp::Add => RmwOp::Add,
            AmoOp::Xor => RmwOp::Xor,
            AmoOp::And => RmwOp::And,
            AmoOp::Or => RmwOp::Or,
            AmoOp::Min => RmwOp::MinS,
            AmoOp::Max => RmwOp::MaxS,
            AmoOp::Minu => RmwOp::MinU,
            AmoOp::Maxu => RmwOp::MaxU,
        };
        let dst = self.xd_or_temp(rd);
        let (addr, src) = (self.x(rs1), self.x(rs2));
        self.push(IrOp::AtomicRmw {
            op,
            dst,
            addr,
            src,
            mem: amo_mem(width),
            order: order(aq, rl),
        });
        Flow::Next
    }

    /// `fence pred, succ` (and `fence.tso`; `pause`, whose successor set is empty, orders nothing
    /// and emits nothing).
    ///
    /// The sets map onto the C++ fence that orders at least what they ask: nothing to order when a
    /// set is empty; earlier writes before later reads need a sequentially consistent fence; else
    /// when only earlier reads are ordered, an acquire fence; else (later writes only) a release
    /// fence. `fence.tso` orders everything but write-to-read: acquire-release. Device input and
    /// output count as reads and writes.
    pub(super) fn fence(&mut self, pred: FenceSet, succ: FenceSet, fm: u8) -> Flow {
        const READS: u8 = FenceSet::I.0 | FenceSet::R.0;
        const WRITES: u8 = FenceSet::O.0 | FenceSet::W.0;
        let (pred, succ) = (pred.0 & 0xf, succ.0 & 0xf);
        if pred == 0 || succ == 0 {
            return Flow::Next;
        }
        let order = if fm == 8 && pred == FenceSet::RW.0 && succ == FenceSet::RW.0 {
            MemOrder::AcqRel
        } else if pred & WRITES != 0 && succ & READS != 0 {
            MemOrder::SeqCst
        } else if pred & WRITES == 0 {
            MemOrder::Acquire
        } else {
            MemOrder::Release
        };
        self.push(IrOp::Fence(FenceKind::Data(order)));
        Flow::Next
    }
}

/// The access size of `bytes` (1, 2, 4 or 8).
const fn size_of(bytes: u8) -> AccessSize {
    match bytes {
        1 => AccessSize::U8,
        2 => AccessSize::U16,
        4 => AccessSize::U32,
        _ => AccessSize::U64,
    }
}

/// The access of an atomic of `width`: aligned, and sign-extending for `.w`.
const fn amo_mem(width: AmoWidth) -> MemOp {
    match width {
        AmoWidth::W => MemOp::signed(AccessSize::U32).must_align(),
        AmoWidth::D => MemOp::unsigned(AccessSize::U64).must_align(),
    }
}

/// The ordering of the `aq` and `rl` bits (both: sequentially consistent, as the A extension
/// specifies).
const fn order(aq: bool, rl: bool) -> MemOrder {
    match (aq, rl) {
        (false, false) => MemOrder::Relaxed,
        (true, false) => MemOrder::Acquire,
        (false, true) => MemOrder::Release,
        (true, true) => MemOrder::SeqCst,
    }
}
