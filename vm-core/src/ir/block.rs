//! IR blocks and the builder frontends use to make them.

use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::op::{Op, Place, Temp, Terminator, Ty, Value};

/// A translated piece of straight-line guest code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Guest virtual address of the first instruction.
    pub pc: u64,
    /// Bytes of guest code covered (from `pc`).
    pub guest_len: u32,
    /// Number of guest instructions (of [`Op::Insn`] markers).
    pub insn_count: u32,
    /// Number of temporaries used (`Temp(0)` to `Temp(num_temps - 1)`).
    pub num_temps: u16,
    /// The operations.
    pub ops: Vec<Op>,
    /// How the block ends.
    pub term: Terminator,
}

/// A structural problem in a block (a frontend bug, never a guest's doing).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IrError {
    /// The block does not start with an instruction marker.
    #[error("Block at {pc:#x} does not start with an instruction marker")]
    NoLeadingMarker {
        /// Block PC.
        pc: u64,
    },
    /// Instruction markers are not contiguous.
    #[error("Op {index}: instruction marker at {found:#x}, expected {expected:#x}")]
    MarkerGap {
        /// Index of the op.
        index: usize,
        /// Expected PC.
        expected: u64,
        /// Marker PC.
        found: u64,
    },
    /// A temporary is outside `0..num_temps`.
    #[error("Op {index}: temporary t{temp} is not below num_temps = {num_temps}")]
    TempOutOfRange {
        /// Index of the op (`ops.len()` for the terminator).
        index: usize,
        /// The temporary.
        temp: u16,
        /// The block's count.
        num_temps: u16,
    },
    /// A temporary is read before any op of the block writes it.
    #[error("Op {index}: temporary t{temp} is read before it is written")]
    TempReadBeforeWrite {
        /// Index of the op (`ops.len()` for the terminator).
        index: usize,
        /// The temporary.
        temp: u16,
    },
    /// `guest_len` or `insn_count` disagree with the markers.
    #[error(
        "Block at {pc:#x}: header says {insns} instructions over {len} bytes, markers say otherwise"
    )]
    HeaderMismatch {
        /// Block PC.
        pc: u64,
        /// Header instruction count.
        insns: u32,
        /// Header length.
        len: u32,
    },
    /// An extension from 64 bits, or a float/int conversion with a narrow integer type.
    #[error("Op {index}: invalid type for this operation")]
    BadType {
        /// Index of the op.
        index: usize,
    },
}

impl Block {
    /// Check the structural rules: a leading marker, contiguous markers matching the header, temporaries
    /// in range and written before they are read, legal types.
    pub fn validate(&self) -> Result<(), IrError> {
        if !matches!(self.ops.first(), Some(Op::Insn { pc, .. }) if *pc == self.pc) {
            return Err(IrError::NoLeadingMarker { pc: self.pc });
        }
        let mut written = alloc::vec![false; usize::from(self.num_temps)];
        let mut next_pc = self.pc;
        let mut insns = 0u32;
        let check_read = |index: usize, v: Value, written: &[bool]| -> Result<(), IrError> {
            if let Value::Temp(Temp(t)) = v {
                match written.get(usize::from(t)) {
                    None => {
                        return Err(IrError::TempOutOfRange {
                            index,
                            temp: t,
                            num_temps: self.num_temps,
                        });
                    }
                    Some(false) => return Err(IrError::TempReadBeforeWrite { index, temp: t }),
                    Some(true) => {}
                }
            }
            Ok(())
        };
        for (index, op) in self.ops.iter().enumerate() {
            if let Op::Insn { pc, len } = *op {
                if pc != next_pc {
                    return Err(IrError::MarkerGap {
                        index,
                        expected: next_pc,
                        found: pc,
                    });
                }
                next_pc = pc.wrapping_add(u64::from(len));
                insns += 1;
            }
            let mut result = Ok(());
            op.for_each_operand(|v| {
                if result.is_ok() {
                    result = check_read(index, v, &written);
                }
            });
            result?;
            match *op {
                Op::Ext { from: Ty::I64, .. } => return Err(IrError::BadType { index }),
                Op::FToInt {
                    to: Ty::I8 | Ty::I16,
                    ..
                }
                | Op::IntToF {
                    from: Ty::I8 | Ty::I16,
                    ..
                } => {
                    return Err(IrError::BadType { index });
                }
                _ => {}
            }
            if let Some(Place::Temp(Temp(t))) = op.dst() {
                match written.get_mut(usize::from(t)) {
                    Some(w) => *w = true,
                    None => {
                        return Err(IrError::TempOutOfRange {
                            index,
                            temp: t,
                            num_temps: self.num_temps,
                        });
                    }
                }
            }
        }
        let term_reads = match self.term {
            Terminator::Branch { cond, .. } => Some(cond),
            Terminator::JumpIndirect { target } => Some(target),
            _ => None,
        };
        if let Some(v) = term_reads {
            check_read(self.ops.len(), v, &written)?;
        }
        if insns != self.insn_count || next_pc.wrapping_sub(self.pc) != u64::from(self.guest_len) {
            return Err(IrError::HeaderMismatch {
                pc: self.pc,
                insns: self.insn_count,
                len: self.guest_len,
            });
        }
        Ok(())
    }

    /// Guest PC of the instruction that contains op `index` (the last marker at or before it).
    pub fn insn_pc_at(&self, index: usize) -> u64 {
        self.ops[..=index.min(self.ops.len().saturating_sub(1))]
            .iter()
            .rev()
            .find_map(|op| match op {
                Op::Insn { pc, .. } => Some(*pc),
                _ => None,
            })
            .unwrap_or(self.pc)
    }
}

/// Builds a [`Block`]: allocates temporaries, tracks instruction markers, fills in the header.
#[derive(Debug)]
pub struct BlockBuilder {
    pc: u64,
    end: u64,
    insns: u32,
    temps: u16,
    ops: Vec<Op>,
}

impl BlockBuilder {
    /// Start a block at guest PC `pc`.
    pub fn new(pc: u64) -> Self {
        Self {
            pc,
            end: pc,
            insns: 0,
            temps: 0,
            ops: Vec::with_capacity(32),
        }
    }

    /// Mark the start of the instruction at `pc` (must follow the previous one), `len` bytes long.
    pub fn insn(&mut self, pc: u64, len: u8) {
        debug_assert_eq!(pc, self.end, "instruction markers must be contiguous");
        self.ops.push(Op::Insn { pc, len });
        self.insns += 1;
        self.end = pc.wrapping_add(u64::from(len));
    }

    /// A fresh temporary. Temporaries are numbered per block; a block needing more than 65535 of them
    /// is cut short by the frontend long before.
    pub fn temp(&mut self) -> Temp {
        let t = Temp(self.temps);
        self.temps = self.temps.saturating_add(1);
        t
    }

    /// Append an operation.
    pub fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    /// Instructions added so far.
    pub fn insn_count(&self) -> u32 {
        self.insns
    }

    /// PC just after the last instruction added.
    pub fn next_pc(&self) -> u64 {
        self.end
    }

    /// Ops added so far.
    pub fn op_count(&self) -> usize {
        self.ops.len()
    }

    /// Drop everything added after op `len` and the instruction count back to `insns` (a frontend uses
    /// this to undo a partially emitted instruction it decides to leave for the next block).
    pub fn truncate(&mut self, len: usize, insns: u32, end: u64) {
        self.ops.truncate(len);
        self.insns = insns;
        self.end = end;
    }

    /// Finish the block with its terminator.
    pub fn finish(self, term: Terminator) -> Block {
        Block {
            pc: self.pc,
            guest_len: self.end.wrapping_sub(self.pc) as u32,
            insn_count: self.insns,
            num_temps: self.temps,
            ops: self.ops,
            term,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::op::{BinOp, Reg};

    fn add(dst: Place, a: Value, b: Value) -> Op {
        Op::Bin {
            op: BinOp::Add,
            ty: Ty::I64,
            dst,
            a,
            b,
        }
    }

    #[test]
    fn builder_fills_header() {
        let mut b = BlockBuilder::new(0x100);
        b.insn(0x100, 4);
        let t = b.temp();
        b.push(add(t.into(), Reg(1).into(), Value::Imm(2)));
        b.insn(0x104, 2);
        b.push(add(Reg(2).into(), t.into(), t.into()));
        let blk = b.finish(Terminator::Jump { target: 0x106 });
        assert_eq!((blk.insn_count, blk.guest_len, blk.num_temps), (2, 6, 1));
        blk.validate().unwrap();
        assert_eq!(blk.insn_pc_at(3), 0x104);
        assert_eq!(blk.insn_pc_at(1), 0x100);
    }

    #[test]
    fn validate_catches_frontend_bugs() {
        let mut b = BlockBuilder::new(0x100);
        b.insn(0x100, 4);
        let t = b.temp();
        b.push(add(Reg(1).into(), t.into(), Value::Imm(1)));
        let blk = b.finish(Terminator::Jump { target: 0x104 });
        assert_eq!(
            blk.validate(),
            Err(IrError::TempReadBeforeWrite { index: 1, temp: 0 })
        );

        let mut blk2 = blk.clone();
        blk2.ops.remove(0);
        assert_eq!(blk2.validate(), Err(IrError::NoLeadingMarker { pc: 0x100 }));

        let mut blk3 = blk.clone();
        blk3.ops[1] = add(Reg(1).into(), Value::Temp(Temp(7)), Value::Imm(1));
        assert!(matches!(
            blk3.validate(),
            Err(IrError::TempOutOfRange { temp: 7, .. })
        ));

        let mut blk4 = blk.clone();
        blk4.ops[1] = Op::Mov {
            dst: Reg(0).into(),
            src: Value::Imm(0),
        };
        blk4.guest_len = 8;
        assert!(matches!(
            blk4.validate(),
            Err(IrError::HeaderMismatch { .. })
        ));
        blk4.guest_len = 4;
        blk4.validate().unwrap();
        blk4.term = Terminator::JumpIndirect {
            target: Value::Temp(Temp(0)),
        };
        assert!(matches!(
            blk4.validate(),
            Err(IrError::TempReadBeforeWrite { index: 2, .. })
        ));
    }
}
