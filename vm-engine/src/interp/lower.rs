//! Operands of the compact form: frame indices, with constants tracked through the block.
//!
//! The frame is `[guest slots 0..n | ZERO | PC scratch | temporaries | materialised constants]`
//! ([`Layout`]). While a block is lowered, [`Lower`] knows which frame words hold a value known at
//! compile time: immediates, results of pure ops whose operands are all known (constant folding), and
//! what those were moved into. A guest slot that receives a known value is still written (the write is
//! architectural); a temporary that does is not, and every later read of it uses the constant instead.
//! A constant an op needs as an operand becomes the zero word for 0, an immediate field where the op
//! has one, a guest slot that holds it at that point, or else a "materialised" frame word written once
//! (by a [`COp::MovI`]) before its first use and shared by every later use in the block.

use std::collections::HashMap;

use vm_core::ir::{Place, Reg, Value};

use super::ops::{COp, FRAME_LEN, Ix};
use crate::error::Error;

/// Where things live in the frame, for a CPU with `slots` register slots.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Number of guest slots (they occupy `0..slots`).
    pub slots: usize,
}

impl Layout {
    /// Fixed words after the guest slots: the zero word and the PC scratch word.
    pub const RESERVED: usize = 2;

    /// Whether a CPU with this many slots fits the frame at all.
    pub fn new(slots: usize) -> Option<Self> {
        (slots + Self::RESERVED < FRAME_LEN).then_some(Self { slots })
    }

    /// The word that always holds 0 (no op writes it).
    pub fn zero(self) -> Ix {
        self.slots as Ix
    }

    /// A word nothing reads: the PC goes there when the CPU keeps its PC outside the slots, and the
    /// flags of fast FP ops without a flags slot.
    pub fn scratch(self) -> Ix {
        (self.slots + 1) as Ix
    }

    /// The first word of the block's locals.
    pub fn locals(self) -> usize {
        self.slots + Self::RESERVED
    }
}

/// An operand: a frame word, or a value known at compile time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Opnd {
    Ix(Ix),
    K(u64),
}

/// Why lowering a block failed.
#[derive(Debug)]
pub(crate) enum LowerError {
    /// The block needs more frame words (or instruction ordinals) than the compact form has: decode
    /// a shorter one.
    TooLarge,
    /// A host error (a frontend bug).
    Host(Error),
}

impl From<Error> for LowerError {
    fn from(e: Error) -> Self {
        LowerError::Host(e)
    }
}

/// The state of one block being lowered.
pub(crate) struct Lower {
    pub layout: Layout,
    /// Guest PC of the block (for errors).
    pub pc: u64,
    /// First frame word of the temporaries.
    temp_base: usize,
    /// Next free frame word for a materialised constant.
    next_local: usize,
    /// A frame word holding each constant: a materialised constant (never overwritten), or a guest
    /// slot a known value was written to and nothing has overwritten since.
    holders: HashMap<u64, Ix>,
    /// Known values of the slots and temporaries (indexed by frame word, up to the constants).
    known: Vec<Option<u64>>,
    /// The compact ops so far.
    pub ops: Vec<COp>,
}

impl Lower {
    /// A lowering for a block with `num_temps` temporaries.
    pub fn new(layout: Layout, pc: u64, num_temps: u16) -> Result<Self, LowerError> {
        let temp_base = layout.locals();
        let next_local = temp_base + usize::from(num_temps);
        if next_local > FRAME_LEN {
            return Err(LowerError::TooLarge);
        }
        let mut known = vec![None; next_local];
        known[usize::from(layout.zero())] = Some(0);
        Ok(Self {
            layout,
            pc,
            temp_base,
            next_local,
            holders: HashMap::new(),
            known,
            ops: Vec::new(),
        })
    }

    fn reg_ix(&self, r: Reg) -> Result<Ix, LowerError> {
        if usize::from(r.0) >= self.layout.slots {
            return Err(Error::RegisterOutOfRange {
                pc: self.pc,
                reg: r.0,
                slots: self.layout.slots,
            }
            .into());
        }
        Ok(r.0)
    }

    fn place_ix(&self, p: Place) -> Result<Ix, LowerError> {
        match p {
            Place::Reg(r) => self.reg_ix(r),
            // In range: `Block::validate` checked the temporary against `num_temps`, and `new` checked
            // the temporaries fit the frame.
            Place::Temp(t) => Ok((self.temp_base + usize::from(t.0)) as Ix),
        }
    }

    /// The operand `v` as read now.
    pub fn val(&self, v: Value) -> Result<Opnd, LowerError> {
        let ix = match v {
            Value::Imm(c) => return Ok(Opnd::K(c)),
            Value::Reg(r) => self.reg_ix(r)?,
            Value::Temp(t) => self.place_ix(Place::Temp(t))?,
        };
        Ok(match self.known.get(usize::from(ix)).copied().flatten() {
            Some(c) => Opnd::K(c),
            None => Opnd::Ix(ix),
        })
    }

    /// The guest slot `r` as a frame word (its value is always in the frame).
    pub fn reg(&self, r: Reg) -> Result<Ix, LowerError> {
        self.reg_ix(r)
    }

    /// A frame word holding the operand, materialising a constant if needed.
    pub fn ix(&mut self, o: Opnd) -> Result<Ix, LowerError> {
        match o {
            Opnd::Ix(i) => Ok(i),
            Opnd::K(0) => Ok(self.layout.zero()),
            Opnd::K(c) => {
                if let Some(&i) = self.holders.get(&c) {
                    return Ok(i);
                }
                if self.next_local >= FRAME_LEN {
                    return Err(LowerError::TooLarge);
                }
                let i = self.next_local as Ix;
                self.next_local += 1;
                self.holders.insert(c, i);
                self.ops.push(COp::MovI { d: i, imm: c });
                Ok(i)
            }
        }
    }

    /// `ix(val(v))`.
    pub fn read(&mut self, v: Value) -> Result<Ix, LowerError> {
        let o = self.val(v)?;
        self.ix(o)
    }

    /// Word `i` is about to be overwritten: it no longer holds what it held.
    fn clobber(&mut self, i: Ix) {
        if let Some(k) = self.known.get_mut(usize::from(i))
            && let Some(c) = k.take()
            && self.holders.get(&c) == Some(&i)
        {
            self.holders.remove(&c);
        }
    }

    /// The frame word an op writes `p` to; from now on its value is not known.
    pub fn dst(&mut self, p: Place) -> Result<Ix, LowerError> {
        let i = self.place_ix(p)?;
        self.clobber(i);
        Ok(i)
    }

    /// `p = c`, a value known now: a guest slot is written, a temporary only remembered.
    pub fn set_const(&mut self, p: Place, c: u64) -> Result<(), LowerError> {
        let i = self.place_ix(p)?;
        self.clobber(i);
        if let Place::Reg(_) = p {
            self.ops.push(COp::MovI { d: i, imm: c });
            self.holders.entry(c).or_insert(i);
        }
        if let Some(k) = self.known.get_mut(usize::from(i)) {
            *k = Some(c);
        }
        Ok(())
    }

    /// A helper call may have changed any guest slot: forget what was known of them.
    pub fn forget_slots(&mut self) {
        let n = self.layout.slots;
        for k in &mut self.known[..n] {
            *k = None;
        }
        self.holders.retain(|_, i| usize::from(*i) >= n);
    }
}
