//! The compact block form the interpreter executes: ops over one `u64` frame, terminators and blocks.
//!
//! Every operand is a [`Ix`] into the frame `[guest slots | zero | pc scratch | locals]` (see
//! `lower`). The frame is an array of exactly [`FRAME_LEN`] = 2^16 words, so a `u16` index can never
//! be out of bounds and the hot loop carries no bounds checks.
//!
//! [`COp`] holds the frequent operations, each specialised on its operation (one dispatch per op,
//! no second `match` on a `BinOp`), at most 16 bytes; everything rare or large (atomics, floating
//! point, helper calls, aligned accesses, `TrapIf`) lives in the block's side table of [`SlowOp`]s.
//! Instruction markers are gone: the block knows its instruction count, and each op that may fault
//! carries the ordinal of its guest instruction.

use vm_core::ir::{
    BinOp, Cond, FBinOp, FCmpOp, FUnOp, FenceKind, FloatTy, HelperId, MemOp, MemOrder, NanMode,
    RmwOp, RoundingMode, TrapCause, Ty, UnOp,
};

/// A frame index.
pub(crate) type Ix = u16;

/// Number of words in the frame: every [`Ix`] is in bounds.
pub(crate) const FRAME_LEN: usize = 1 << 16;

/// The frame.
pub(crate) type Frame = [u64; FRAME_LEN];

/// One compact op. `d` is the destination, `a`/`b`/`s` sources, `imm` an immediate operand; the
/// `…W` forms compute on 32 bits and sign-extend the result to 64 (the IR pair `Bin.i32` + `Ext`).
/// `insn` is the ordinal of the guest instruction an op that may fault belongs to.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) enum COp {
    Mov {
        d: Ix,
        s: Ix,
    },
    MovI {
        d: Ix,
        imm: u64,
    },
    Add {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    Sub {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    And {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    Or {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    Xor {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    Shl {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    ShrU {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    ShrS {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    Mul {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    LtS {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    LtU {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    AddI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    AndI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    OrI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    XorI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    /// `imm` is the shift amount, already reduced modulo 64.
    ShlI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    ShrUI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    ShrSI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    LtSI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    LtUI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    AddW {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    SubW {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    ShlW {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    ShrUW {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    ShrSW {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    MulW {
        d: Ix,
        a: Ix,
        b: Ix,
    },
    AddWI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    /// `imm` is the shift amount, already reduced modulo 32.
    ShlWI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    ShrUWI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    ShrSWI {
        d: Ix,
        a: Ix,
        imm: u64,
    },
    /// Any other `Bin`.
    Bin {
        op: BinOp,
        ty: Ty,
        d: Ix,
        a: Ix,
        b: Ix,
    },
    /// Any other `Bin.i32` followed by a sign extension of its result.
    BinW {
        op: BinOp,
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
    /// Loads that may be misaligned, named after the RISC-V loads of the same shape: `d = ext(mem[a + off])`.
    Ld {
        d: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Lw {
        d: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Lwu {
        d: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Lh {
        d: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Lhu {
        d: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Lb {
        d: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Lbu {
        d: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    /// Stores that may be misaligned: `mem[a + off] = low bytes of s`.
    Sd {
        s: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Sw {
        s: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Sh {
        s: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    Sb {
        s: Ix,
        a: Ix,
        off: i32,
        insn: u16,
    },
    /// Floating point on doubles with the host-FPU fast path (see `fp::fast`): `rm` is the frame word
    /// holding the rounding mode (`ZERO` for a static round-to-nearest-even), `fl` the word the flags
    /// accumulate in (the scratch word when the op has no flags slot), `env` indexes [`CBlock::fenv`]
    /// (the soft-float fallback's NaN rules).
    FAddD {
        d: Ix,
        a: Ix,
        b: Ix,
        rm: Ix,
        fl: Ix,
        env: u16,
    },
    FSubD {
        d: Ix,
        a: Ix,
        b: Ix,
        rm: Ix,
        fl: Ix,
        env: u16,
    },
    FMulD {
        d: Ix,
        a: Ix,
        b: Ix,
        rm: Ix,
        fl: Ix,
        env: u16,
    },
    FDivD {
        d: Ix,
        a: Ix,
        b: Ix,
        rm: Ix,
        fl: Ix,
        env: u16,
    },
    /// `d = a op b` on doubles; the fast path is taken when neither operand is a NaN.
    FCmpD {
        op: FCmpOp,
        signaling: bool,
        d: Ix,
        a: Ix,
        b: Ix,
        env: u16,
    },
    /// Two adjacent ops run by one dispatch ("superinstructions"; see `pair`): the first, then
    /// the second, each exactly as alone.
    AddIAddI {
        d1: Ix,
        a1: Ix,
        i1: i16,
        d2: Ix,
        a2: Ix,
        i2: i16,
    },
    AddAdd {
        d1: Ix,
        a1: Ix,
        b1: Ix,
        d2: Ix,
        a2: Ix,
        b2: Ix,
    },
    XorXor {
        d1: Ix,
        a1: Ix,
        b1: Ix,
        d2: Ix,
        a2: Ix,
        b2: Ix,
    },
    ShrUWIShlI {
        d1: Ix,
        a1: Ix,
        s1: u8,
        d2: Ix,
        a2: Ix,
        s2: u8,
    },
    ShlIShrUWI {
        d1: Ix,
        a1: Ix,
        s1: u8,
        d2: Ix,
        a2: Ix,
        s2: u8,
    },
    ShlIOr {
        d1: Ix,
        a1: Ix,
        s1: u8,
        d2: Ix,
        a2: Ix,
        b2: Ix,
    },
    /// The rare ops: `CBlock::slow[i]`.
    Slow {
        i: u32,
    },
}

// Small ops keep blocks dense in the data cache.
const _: () = assert!(size_of::<COp>() <= 16);

/// Where a floating-point op takes its rounding mode from.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) enum CRound {
    /// Fixed.
    Static(RoundingMode),
    /// From a frame slot holding the encoding.
    Dynamic(Ix),
}

/// The floating-point environment, with the flags register resolved to a frame index.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct CFpEnv {
    pub nan: NanMode,
    pub box_f32: bool,
    pub flags: Option<Ix>,
    pub rm: CRound,
}

/// A rare op. Field names follow [`vm_core::ir::Op`].
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) enum SlowOp {
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
        env: CFpEnv,
    },
    FUn {
        op: FUnOp,
        ty: FloatTy,
        d: Ix,
        a: Ix,
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
        env: CFpEnv,
    },
    IntToF {
        d: Ix,
        s: Ix,
        from: Ty,
        signed: bool,
        to: FloatTy,
        env: CFpEnv,
    },
    FConvert {
        d: Ix,
        s: Ix,
        from: FloatTy,
        to: FloatTy,
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

/// A rare op and the ordinal of its guest instruction.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct Slow {
    pub op: SlowOp,
    pub insn: u16,
}

/// A compact terminator.
#[derive(Copy, Clone, Debug, PartialEq)]
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
    /// A fused `(base + off) & !1` + `JumpIndirect` (RISC-V `jalr`).
    JumpReg {
        base: Ix,
        off: u64,
    },
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
    pub ops: Box<[COp]>,
    pub term: CTerm,
    /// The rare ops [`COp::Slow`] refers to.
    pub slow: Box<[Slow]>,
    /// Floating-point environments of the fast FP ops.
    pub fenv: Box<[CFpEnv]>,
    /// Guest PC of each instruction, by ordinal (where a fault is raised).
    pub insn_pcs: Box<[u64]>,
    /// Fused ops among `ops` and the terminator (each replaced two or more IR ops).
    pub fused: u32,
    /// (virtual page number, physical page address) of the code pages beyond the first.
    pub extra_pages: Vec<(u64, u64)>,
}

impl CBlock {
    /// PC of the last instruction (where a `Trap` terminator is raised).
    pub fn last_pc(&self) -> u64 {
        self.insn_pcs.last().copied().unwrap_or(self.pc)
    }
}
