//! Lowering a validated IR [`Block`] into the interpreter's compact form, and instruction fusion.
//!
//! Every operand becomes a flat index into one `u64` frame laid out as
//! `[temporaries | constants | used guest register slots]`: constants are copied into the frame once per
//! block execution, and only the guest slots the block reads or writes are copied in (and only the written
//! ones copied back), so executing an op never branches on the kind of its operands.
//!
//! Fusion happens here too: the compact form is where combined ops live. Today one fusion is done: a
//! [`Op::Cmp`] into a temporary that is the last op of the block and is consumed by the
//! [`Terminator::Branch`] becomes [`CTerm::CmpBranch`], which evaluates the comparison in the branch
//! itself. Further fusions (load + extend, add + load addressing) would add `COp` variants in
//! [`fuse`].

use std::collections::BTreeMap;

use vm_core::ir::{
    BinOp, Block, Cond, FBinOp, FCmpOp, FUnOp, FenceKind, FloatTy, HelperId, MemOp, MemOrder,
    NanMode, Op, RmwOp, RoundingMode, Terminator, TrapCause, Ty, UnOp,
};

use super::lower::{Lower, REG_TAG, for_each_ix};
use crate::error::Error;

/// A flat index into the frame.
pub(crate) type Ix = u32;

/// Where a floating-point op takes its rounding mode from.
#[derive(Copy, Clone, Debug)]
pub(crate) enum CRound {
    /// Fixed.
    Static(RoundingMode),
    /// From a frame slot holding the encoding.
    Dynamic(Ix),
}

/// The floating-point environment, with the flags register resolved to a frame index.
#[derive(Copy, Clone, Debug)]
pub(crate) struct CFpEnv {
    pub nan: NanMode,
    pub box_f32: bool,
    pub flags: Option<Ix>,
}

/// One compact op. Field names follow [`Op`].
#[derive(Copy, Clone, Debug)]
pub(crate) enum COp {
    Insn {
        pc: u64,
        ordinal: u32,
    },
    Mov {
        d: Ix,
        s: Ix,
    },
    Bin {
        op: BinOp,
        ty: Ty,
        d: Ix,
        a: Ix,
        b: Ix,
    },
    Un {
        op: UnOp,
        ty: Ty,
        d: Ix,
        a: Ix,
    },
    Cmp {
        cond: Cond,
        ty: Ty,
        d: Ix,
        a: Ix,
        b: Ix,
    },
    Select {
        d: Ix,
        c: Ix,
        a: Ix,
        b: Ix,
    },
    Ext {
        d: Ix,
        s: Ix,
        from: Ty,
        signed: bool,
    },
    Load {
        d: Ix,
        a: Ix,
        off: i32,
        mem: MemOp,
    },
    Store {
        s: Ix,
        a: Ix,
        off: i32,
        mem: MemOp,
    },
    LoadReserved {
        d: Ix,
        a: Ix,
        mem: MemOp,
    },
    StoreConditional {
        d: Ix,
        a: Ix,
        s: Ix,
        mem: MemOp,
    },
    AtomicRmw {
        op: RmwOp,
        d: Ix,
        a: Ix,
        s: Ix,
        mem: MemOp,
        order: MemOrder,
    },
    CmpXchg {
        d: Ix,
        a: Ix,
        expected: Ix,
        new: Ix,
        mem: MemOp,
        order: MemOrder,
    },
    Fence(FenceKind),
    FBin {
        op: FBinOp,
        ty: FloatTy,
        d: Ix,
        a: Ix,
        b: Ix,
        rm: CRound,
        env: CFpEnv,
    },
    FUn {
        op: FUnOp,
        ty: FloatTy,
        d: Ix,
        a: Ix,
        rm: CRound,
        env: CFpEnv,
    },
    FMulAdd {
        ty: FloatTy,
        d: Ix,
        a: Ix,
        b: Ix,
        c: Ix,
        neg_prod: bool,
        neg_add: bool,
        rm: CRound,
        env: CFpEnv,
    },
    FCmp {
        op: FCmpOp,
        signaling: bool,
        ty: FloatTy,
        d: Ix,
        a: Ix,
        b: Ix,
        env: CFpEnv,
    },
    FToInt {
        d: Ix,
        s: Ix,
        from: FloatTy,
        to: Ty,
        signed: bool,
        rm: CRound,
        env: CFpEnv,
    },
    IntToF {
        d: Ix,
        s: Ix,
        from: Ty,
        signed: bool,
        to: FloatTy,
        rm: CRound,
        env: CFpEnv,
    },
    FConvert {
        d: Ix,
        s: Ix,
        from: FloatTy,
        to: FloatTy,
        rm: CRound,
        env: CFpEnv,
    },
    FClass {
        ty: FloatTy,
        d: Ix,
        s: Ix,
        env: CFpEnv,
    },
    Helper {
        id: HelperId,
        d: Option<Ix>,
        args: [Ix; 3],
    },
    TrapIf {
        c: Ix,
        cause: TrapCause,
        tval: u64,
    },
}

/// A compact terminator.
#[derive(Copy, Clone, Debug)]
pub(crate) enum CTerm {
    Jump(u64),
    Branch {
        c: Ix,
        taken: u64,
        not_taken: u64,
    },
    /// A fused `Cmp` + `Branch`.
    CmpBranch {
        cond: Cond,
        ty: Ty,
        a: Ix,
        b: Ix,
        taken: u64,
        not_taken: u64,
    },
    JumpIndirect(Ix),
    Trap {
        cause: TrapCause,
        tval: u64,
    },
    Wait(u64),
    Sync(u64),
}

/// A block in compact form, ready to run.
#[derive(Debug)]
pub(crate) struct CBlock {
    /// Guest virtual PC of the first instruction.
    pub pc: u64,
    /// Guest instructions in the block.
    pub insn_count: u32,
    /// PC of the last instruction (where a `Trap` terminator is raised).
    pub last_pc: u64,
    pub ops: Vec<COp>,
    pub term: CTerm,
    /// Frame index of the first constant (= number of temporaries).
    pub const_base: usize,
    /// The constants, copied to `frame[const_base..]`.
    pub consts: Vec<u64>,
    /// Frame index of the first guest slot.
    pub reg_base: usize,
    /// Guest slots the block uses, in frame order (`frame[reg_base + i]` holds slot `used[i]`).
    pub used: Vec<u16>,
    /// Positions in `used` of the slots the block writes.
    pub written: Vec<u32>,
    /// Highest slot used, checked against the CPU's slot count before running.
    pub max_reg: Option<u16>,
    /// Number of fused ops in this block.
    pub fused: u32,
    /// Guest physical pages (page numbers) the block's code was read from, beyond the first.
    pub extra_pages: Vec<(u64, u64)>,
}

impl CBlock {
    /// Frame length needed.
    pub fn frame_len(&self) -> usize {
        self.reg_base + self.used.len()
    }
}

/// Validate `block` and lower it to compact form, fusing what can be fused.
pub(crate) fn compile(block: &Block) -> Result<CBlock, Error> {
    block.validate().map_err(|source| Error::InvalidBlock {
        pc: block.pc,
        source,
    })?;
    let mut l = Lower {
        num_temps: u32::from(block.num_temps),
        consts: Vec::new(),
        const_map: BTreeMap::new(),
        regs: BTreeMap::new(),
        used: Vec::new(),
        written: Vec::new(),
    };
    let mut ordinal = 0;
    let mut last_pc = block.pc;
    let mut ops = Vec::with_capacity(block.ops.len());
    for op in &block.ops {
        if let Op::Insn { pc, .. } = *op {
            last_pc = pc;
        }
        ops.push(l.op(op, &mut ordinal));
    }
    let term = match block.term {
        Terminator::Jump { target } => CTerm::Jump(target),
        Terminator::Branch {
            cond,
            taken,
            not_taken,
        } => CTerm::Branch {
            c: l.val(cond),
            taken,
            not_taken,
        },
        Terminator::JumpIndirect { target } => CTerm::JumpIndirect(l.val(target)),
        Terminator::Trap { cause, tval } => CTerm::Trap { cause, tval },
        Terminator::Wait { next } => CTerm::Wait(next),
        Terminator::Sync { next } => CTerm::Sync(next),
    };
    let const_base = l.num_temps as usize;
    let reg_base = const_base + l.consts.len();
    let rebase = |ix: &mut Ix| {
        if *ix & REG_TAG != 0 {
            *ix = (*ix & !REG_TAG) + reg_base as u32;
        }
    };
    for op in &mut ops {
        for_each_ix(op, rebase);
    }
    let mut term = term;
    match &mut term {
        CTerm::Branch { c, .. } | CTerm::JumpIndirect(c) => rebase(c),
        _ => {}
    }
    let max_reg = l.used.iter().copied().max();
    let mut cb = CBlock {
        pc: block.pc,
        insn_count: block.insn_count,
        last_pc,
        ops,
        term,
        const_base,
        consts: l.consts,
        reg_base,
        used: l.used,
        written: l.written,
        max_reg,
        fused: 0,
        extra_pages: Vec::new(),
    };
    fuse(&mut cb);
    Ok(cb)
}

/// Instruction fusion over the compact form (see the module docs).
fn fuse(cb: &mut CBlock) {
    if let (
        Some(&COp::Cmp { cond, ty, d, a, b }),
        CTerm::Branch {
            c,
            taken,
            not_taken,
        },
    ) = (cb.ops.last(), cb.term)
    {
        // Only a temporary may be dropped: a guest slot must still receive the result.
        if c == d && (d as usize) < cb.const_base {
            cb.ops.pop();
            cb.term = CTerm::CmpBranch {
                cond,
                ty,
                a,
                b,
                taken,
                not_taken,
            };
            cb.fused += 1;
        }
    }
}
