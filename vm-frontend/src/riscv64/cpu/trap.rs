//! Traps: exception causes, trap entry with delegation, interrupt selection, `mret`/`sret`, and the
//! system helpers of [`crate::riscv64::helpers`] (privileged specification 20211203, sections
//! 3.1.6.1, 3.1.9, 3.3, 4.1.1 and 4.2.1).

use vm_core::exec::{Exception, FaultKind};
use vm_core::ir::{HelperId, TrapCause};
use vm_core::mem::AccessKind;

use super::Privilege;
use super::bits::{envcfg, ip, mstatus as ms};
use super::irq::{IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI};
use crate::riscv64::helpers::{self, cause};

/// The interrupt bit of `xcause`.
pub const INTERRUPT_BIT: u64 = 1 << 63;

/// Interrupts in decreasing priority (privileged specification 3.1.9).
const PRIORITY: [u32; 6] = [IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI];

/// Block boundaries between two reads of the time source while an Sstc timer is armed and not yet
/// due (reading the time at every boundary would cost more than the rest of the check together;
/// a 64-instruction block takes far less than one 100 ns tick of the 10 MHz timebase).
pub(super) const SSTC_POLL_INTERVAL: u32 = 16;

/// The RISC-V `(cause, tval)` of an exception raised in `privilege`.
pub fn exception_cause(exc: Exception, privilege: Privilege) -> (u64, u64) {
    match exc {
        Exception::Memory { kind, fault, vaddr } => {
            let c = match (kind, fault) {
                (AccessKind::Fetch, FaultKind::Misaligned) => cause::INSN_MISALIGNED,
                (AccessKind::Fetch, FaultKind::Access) => cause::INSN_ACCESS,
                (AccessKind::Fetch, FaultKind::Page) => cause::INSN_PAGE,
                (AccessKind::Read, FaultKind::Misaligned) => cause::LOAD_MISALIGNED,
                (AccessKind::Read, FaultKind::Access) => cause::LOAD_ACCESS,
                (AccessKind::Read, FaultKind::Page) => cause::LOAD_PAGE,
                (AccessKind::Write | AccessKind::Atomic, FaultKind::Misaligned) => {
                    cause::STORE_MISALIGNED
                }
                (AccessKind::Write | AccessKind::Atomic, FaultKind::Access) => cause::STORE_ACCESS,
                (AccessKind::Write | AccessKind::Atomic, FaultKind::Page) => cause::STORE_PAGE,
            };
            (c, vaddr)
        }
        Exception::Trap { cause: tc, tval } => match tc {
            // RISC-V never traps on division; a generic divide error is reported as illegal.
            TrapCause::IllegalInstruction | TrapCause::DivideError => (cause::ILLEGAL, tval),
            // The spec allows 0 or the PC; 0 is what QEMU 7.2 (the differential tests' reference) writes.
            TrapCause::Breakpoint => (cause::BREAKPOINT, 0),
            TrapCause::SystemCall => (cause::ECALL_U + privilege as u64, 0),
            TrapCause::Arch(n) => (u64::from(n), tval),
        },
    }
}

/// The handler address for `code` from `xtvec` (vectored mode only for interrupts).
const fn trap_target(tvec: u64, code: u64, interrupt: bool) -> u64 {
    let base = tvec & !3;
    if interrupt && tvec & 3 == 1 {
        base.wrapping_add(4 * code)
    } else {
        base
    }
}

/// Move `mstatus` bit `from` into bit `to` (both single bits).
const fn copy_bit(v: u64, from: u64, to: u64) -> u64 {
    if v & from != 0 { v | to } else { v & !to }
}

impl super::Riscv64Cpu {
    /// Enter the handler for `cause` (with [`INTERRUPT_BIT`] for interrupts): delegated to S-mode
    /// when the hart is not in M-mode and `medeleg`/`mideleg` says so, else to M-mode.
    pub(super) fn enter_trap(&mut self, xcause: u64, tval: u64, epc: u64) {
        let interrupt = xcause & INTERRUPT_BIT != 0;
        let code = xcause & !INTERRUPT_BIT;
        let deleg = if interrupt {
            self.csr.mideleg
        } else {
            self.csr.medeleg
        };
        let delegated = code < 64 && (deleg >> code) & 1 != 0;
        let from = self.privilege;
        let mut s = self.csr.mstatus;
        if from != Privilege::Machine && delegated {
            self.csr.sepc = epc & !1;
            self.csr.scause = xcause;
            self.csr.stval = tval;
            s = copy_bit(s, ms::SIE, ms::SPIE) & !ms::SIE;
            s = if from == Privilege::Supervisor {
                s | ms::SPP
            } else {
                s & !ms::SPP
            };
            self.privilege = Privilege::Supervisor;
            self.set_pc_slot(trap_target(self.csr.stvec, code, interrupt));
        } else {
            self.csr.mepc = epc & !1;
            self.csr.mcause = xcause;
            self.csr.mtval = tval;
            s = copy_bit(s, ms::MIE, ms::MPIE) & !ms::MIE;
            s = (s & !ms::MPP) | ((from as u64) << ms::MPP_SHIFT);
            self.privilege = Privilege::Machine;
            self.set_pc_slot(trap_target(self.csr.mtvec, code, interrupt));
        }
        self.csr.mstatus = s;
    }

    /// Sstc's `STIP` for [`super::Riscv64Cpu::take_interrupt`]: the cached comparator result,
    /// re-read from the time source at most every [`SSTC_POLL_INTERVAL`] boundaries while the
    /// interrupt is enabled in `mie` and not yet due.
    #[inline]
    pub(super) fn sstc_poll(&mut self) -> u64 {
        if self.sstc.due {
            return ip::STIP;
        }
        if self.csr.mie & ip::STIP == 0 {
            return 0;
        }
        if self.sstc.countdown > 0 {
            self.sstc.countdown -= 1;
            return 0;
        }
        self.sstc.countdown = SSTC_POLL_INTERVAL;
        self.sstc.due = self.stimecmp_reached();
        if self.sstc.due { ip::STIP } else { 0 }
    }

    /// Recompute the Sstc comparator now (after writes to `stimecmp`, `menvcfg`, `mie`, or a new
    /// time source).
    pub(super) fn sstc_refresh(&mut self) {
        self.sstc.countdown = 0;
        self.sstc.due = self.csr.menvcfg & envcfg::STCE != 0 && self.stimecmp_reached();
    }

    /// The interrupt to take among the pending-and-enabled (in `mie`) set `pending`, if any is
    /// enabled at the current privilege level: M-level interrupts first (when below M-mode, or in
    /// M-mode with `MIE`), then delegated ones (below S-mode, or in S-mode with `SIE`); within a
    /// level, the fixed priority MEI, MSI, MTI, SEI, SSI, STI.
    pub(super) fn select_interrupt(&self, pending: u64) -> Option<u32> {
        let p = self.privilege;
        let m_enabled = p != Privilege::Machine || self.csr.mstatus & ms::MIE != 0;
        let s_enabled =
            p == Privilege::User || (p == Privilege::Supervisor && self.csr.mstatus & ms::SIE != 0);
        let to_m = pending & !self.csr.mideleg;
        let to_s = pending & self.csr.mideleg;
        let set = if m_enabled && to_m != 0 {
            to_m
        } else if s_enabled {
            to_s
        } else {
            0
        };
        PRIORITY.into_iter().find(|&irq| set & (1 << irq) != 0)
    }

    /// `mret`: back to `MPP` with `MIE` = `MPIE`, `MPIE` = 1, `MPP` = U, and `MPRV` cleared when
    /// leaving M-mode. Returns `mepc`.
    fn mret(&mut self) -> Option<u64> {
        if self.privilege != Privilege::Machine {
            return None;
        }
        let s = self.csr.mstatus;
        let to = Privilege::from_bits((s & ms::MPP) >> ms::MPP_SHIFT).unwrap_or(Privilege::User);
        let mut s = (copy_bit(s, ms::MPIE, ms::MIE) | ms::MPIE) & !ms::MPP;
        if to != Privilege::Machine {
            s &= !ms::MPRV;
        }
        self.csr.mstatus = s;
        self.privilege = to;
        Some(self.csr.mepc)
    }

    /// `sret`: back to `SPP` with `SIE` = `SPIE`, `SPIE` = 1, `SPP` = U, `MPRV` cleared. Illegal in
    /// U-mode and in S-mode with `mstatus.TSR`. Returns `sepc`.
    fn sret(&mut self) -> Option<u64> {
        match self.privilege {
            Privilege::User => return None,
            Privilege::Supervisor if self.csr.mstatus & ms::TSR != 0 => return None,
            _ => {}
        }
        let s = self.csr.mstatus;
        let to = if s & ms::SPP != 0 {
            Privilege::Supervisor
        } else {
            Privilege::User
        };
        self.csr.mstatus = (copy_bit(s, ms::SPIE, ms::SIE) | ms::SPIE) & !ms::SPP & !ms::MPRV;
        self.privilege = to;
        Some(self.csr.sepc)
    }

    /// Whether `sfence.vma` (and `satp` accesses) are allowed: not in U-mode, not in S-mode with
    /// `mstatus.TVM`.
    fn vm_ops_allowed(&self) -> bool {
        match self.privilege {
            Privilege::User => false,
            Privilege::Supervisor => self.csr.mstatus & ms::TVM == 0,
            Privilege::Machine => true,
        }
    }

    /// Whether `wfi` may wait: not in U-mode, not in S-mode with `mstatus.TW` (the time limit of
    /// the specification is zero here).
    fn wfi_allowed(&self) -> bool {
        match self.privilege {
            Privilege::User => false,
            Privilege::Supervisor => self.csr.mstatus & ms::TW == 0,
            Privilege::Machine => true,
        }
    }

    /// Run helper `id` of [`crate::riscv64::helpers`].
    pub(super) fn run_helper(&mut self, id: HelperId, args: [u64; 3]) -> Result<u64, Exception> {
        // The low 32 bits of the last argument are the instruction bits (SFENCE.VMA ORs flags above).
        let illegal = Exception::illegal(args[2] & 0xffff_ffff);
        let r = match id {
            helpers::CSR => self.csr_instruction(args[0], args[1]),
            helpers::MRET => self.mret(),
            helpers::SRET => self.sret(),
            helpers::SFENCE_VMA => self.vm_ops_allowed().then(|| {
                self.sfence_vma(args[0], args[1], args[2]);
                0
            }),
            helpers::WFI => self.wfi_allowed().then_some(0),
            _ => None,
        };
        r.ok_or(illegal)
    }
}
