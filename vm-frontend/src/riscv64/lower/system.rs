//! System instructions: Zicsr, `mret`/`sret`, `wfi` and `sfence.vma`, as calls to the hart's helpers
//! (see [`crate::riscv64::helpers`] for the contract).

use vm_core::ir::{FenceKind, Op as IrOp, Terminator, Value};

use super::{Flow, Lowerer};
use crate::riscv64::csr::Csr;
use crate::riscv64::helpers;
use crate::riscv64::insn::{CsrOp, CsrSrc};
use crate::riscv64::reg::XReg;

impl Lowerer {
    /// A CSR instruction: one [`helpers::CSR`] call. The block ends with a sync after it, except for
    /// the floating-point CSRs, which live in slots the interpreter re-reads after a helper; a write to
    /// `frm` or `fcsr` makes later dynamic-rounding instructions of the block check `frm` at run time.
    pub(super) fn csr(
        &mut self,
        op: CsrOp,
        rd: XReg,
        csr: Csr,
        src: CsrSrc,
        next: u64,
        raw: u32,
    ) -> Flow {
        let code = match op {
            CsrOp::Rw => helpers::CSR_OP_RW,
            CsrOp::Rs => helpers::CSR_OP_RS,
            CsrOp::Rc => helpers::CSR_OP_RC,
        };
        // csrrw with rd = x0 does not read; csrrs/csrrc with a zero source do not write.
        let read = !(op == CsrOp::Rw && rd.is_zero());
        let write = op == CsrOp::Rw || !src.is_zero();
        let value = match src {
            CsrSrc::Reg(r) => self.x(r),
            CsrSrc::Imm(i) => Value::Imm(u64::from(i & 0x1f)),
        };
        let info = helpers::csr_info(csr.num(), code, read, write);
        let dst = self.xd(rd);
        self.push(IrOp::Helper {
            id: helpers::CSR,
            dst,
            args: [Value::Imm(info), value, Value::Imm(u64::from(raw))],
        });
        if csr == Csr::FFLAGS || csr == Csr::FRM || csr == Csr::FCSR {
            if write && csr != Csr::FFLAGS {
                self.frm_dirty = true;
            }
            Flow::Next
        } else {
            Flow::End(Terminator::Sync { next })
        }
    }

    /// `mret` (`machine`) or `sret`: the helper returns the new PC.
    pub(super) fn xret(&mut self, machine: bool, raw: u32) -> Flow {
        let t = self.temp();
        self.push(IrOp::Helper {
            id: if machine {
                helpers::MRET
            } else {
                helpers::SRET
            },
            dst: Some(t.into()),
            args: [Value::Imm(0), Value::Imm(0), Value::Imm(u64::from(raw))],
        });
        Flow::End(Terminator::JumpIndirect { target: t.into() })
    }

    /// `wfi`: the helper checks it is allowed, then the block waits.
    pub(super) fn wfi(&mut self, next: u64, raw: u32) -> Flow {
        self.push(IrOp::Helper {
            id: helpers::WFI,
            dst: None,
            args: [Value::Imm(0), Value::Imm(0), Value::Imm(u64::from(raw))],
        });
        Flow::End(Terminator::Wait { next })
    }

    /// `sfence.vma rs1, rs2`: the helper checks and records it, the fence drops the engine's
    /// translations, and the block ends.
    pub(super) fn sfence_vma(&mut self, rs1: XReg, rs2: XReg, next: u64, raw: u32) -> Flow {
        let mut bits = u64::from(raw);
        if rs1.is_zero() {
            bits |= helpers::SFENCE_ALL_ADDR;
        }
        if rs2.is_zero() {
            bits |= helpers::SFENCE_ALL_ASID;
        }
        let (vaddr, asid) = (self.x(rs1), self.x(rs2));
        self.push(IrOp::Helper {
            id: helpers::SFENCE_VMA,
            dst: None,
            args: [vaddr, asid, Value::Imm(bits)],
        });
        self.push(IrOp::Fence(FenceKind::Translations));
        Flow::End(Terminator::Sync { next })
    }
}
