//! The RISC-V hart: register slots, the privileged architecture (M, S and U modes) and the
//! [`GuestCpu`] implementation the engines run.
//!
//! Implemented after the RISC-V Privileged Architecture, document version 20211203 (machine ISA
//! 1.12, supervisor ISA 1.12), with Sstc from version 20240411:
//!
//! - **Privilege levels** M, S and U ([`Privilege`]); reset in M-mode at [`RESET_PC`] with
//!   `mstatus.FS` = Off, as QEMU's `virt` does (guests enable the FPU).
//! - **CSRs**: `mstatus`/`sstatus` (`MIE`, `SIE`, `MPIE`, `SPIE`, `MPP`, `SPP`, `MPRV`, `SUM`,
//!   `MXR`, `FS` with `SD`, `TVM`, `TW`, `TSR`; `UXL` = `SXL` = 2), `misa` (RV64IMAFDCSU, writes
//!   ignored), `medeleg`/`mideleg`, `mie`/`mip`/`sie`/`sip`, `mtvec`/`stvec` (direct and vectored),
//!   `mepc`/`sepc`, `mcause`/`scause`, `mtval`/`stval`, `mscratch`/`sscratch`, `satp` (Bare, Sv39,
//!   Sv48, Sv57; 16 ASID bits), `mcounteren`/`scounteren`, `mcountinhibit`, `mcycle`/`minstret`
//!   and the `cycle`/`time`/`instret` views, hardwired-zero HPM counters, `menvcfg`/`senvcfg`,
//!   `stimecmp` (Sstc), PMP registers (stored, not enforced), the ID registers and
//!   `fflags`/`frm`/`fcsr` (kept in the register slots). See `csr_file.rs` for the WARL rules.
//! - **`FS` tracking**: the IR cannot set `FS` to Dirty when an instruction writes FP state, so
//!   the hart records the FP registers, `fflags` and `frm` whenever software sets `FS` to Initial
//!   or Clean, and reads `FS` as Dirty once they differ — exactly the information `FS` exists to
//!   give an operating system.
//! - **Traps** ([`GuestCpu::raise`]): causes from the vm-core exceptions ([`exception_cause`]),
//!   delegation to S-mode by `medeleg` when below M-mode, `xepc`/`xcause`/`xtval`, `xPIE`/`xIE`/
//!   `xPP`, exceptions to `xtvec`'s base.
//! - **Interrupts** ([`GuestCpu::take_interrupt`]): software bits of `mip`, the hardware wires of
//!   [`HartIrqs`] and Sstc's comparator, masked by `mie`, enabled by privilege, `MIE`/`SIE` and
//!   `mideleg`, in the priority order MEI, MSI, MTI, SEI, SSI, STI; vectored `xtvec` adds
//!   4 × cause.
//! - **Translation** ([`GuestCpu::translate`], [`mmu`]): Bare in M-mode (and for loads and stores
//!   with `MPRV` = 0), Sv39/Sv48/Sv57 otherwise, through the hart's ASID-tagged TLB in front of
//!   vm-mem's walker; `MPRV` applies `MPP` to loads and stores. [`Riscv64Cpu::tlb_stats`] gives
//!   the TLB's counters.
//! - **Helpers** ([`crate::riscv64::helpers`]): CSR instructions with privilege, read-only, `FS`,
//!   counter-enable, `TVM` and Sstc checks; `mret`, `sret` (`TSR`), `sfence.vma` (`TVM`; its four
//!   forms flush the TLB) and `wfi` (`TW`; illegal in U-mode).
//!
//! Time and retired instructions come from the machine: [`Riscv64Cpu::set_time_source`] (the
//! CLINT's `mtime`) and [`Riscv64Cpu::add_retired`] (the engine's instruction count).

mod bits;
mod csr_file;
mod irq;
pub mod mmu;
mod trap;

#[cfg(test)]
mod tests;

use alloc::sync::Arc;
use core::fmt;

use vm_core::GuestPhysAddr;
use vm_core::arch::GuestArch;
use vm_core::exec::{Exception, ExecEnv, GuestCpu, InsnFetch};
use vm_core::ir::{Block, HelperId, Reg};
use vm_core::mem::AccessKind;
use vm_core::regs::riscv64::{FFLAGS, FRM, NUM_SLOTS, PC};
use vm_mem::mmu::{Tlb, TlbStats};

use crate::riscv64::lower::{LowerCtx, decode_block};
use bits::{envcfg, mstatus as ms};
use csr_file::CsrFile;
pub use irq::{
    HW_IRQ_MASK, HartIrqLine, HartIrqs, IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI,
};
use mmu::{SatpMode, WalkRegime};
pub use trap::{INTERRUPT_BIT, exception_cause};

/// The PC at reset (QEMU `virt`'s boot ROM); machines may set another with [`Riscv64Cpu::reset`].
pub const RESET_PC: u64 = 0x1000;

/// Slots of the floating-point state: `f0`–`f31`, then `fflags` and `frm`.
const FP_STATE_SLOTS: usize = 34;

/// A RISC-V privilege level.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Privilege {
    /// User mode (0).
    User = 0,
    /// Supervisor mode (1).
    Supervisor = 1,
    /// Machine mode (3).
    Machine = 3,
}

impl Privilege {
    /// The level with this encoding (as in `mstatus.MPP`); 2 (hypervisor) is not one.
    pub const fn from_bits(bits: u64) -> Option<Self> {
        match bits {
            0 => Some(Self::User),
            1 => Some(Self::Supervisor),
            3 => Some(Self::Machine),
            _ => None,
        }
    }
}

/// The cached Sstc comparator (see [`trap::SSTC_POLL_INTERVAL`]).
#[derive(Copy, Clone, Debug, Default)]
struct SstcState {
    /// `time >= stimecmp` at the last check (monotonic time keeps it true until `stimecmp` changes).
    due: bool,
    /// Boundaries until the next time read.
    countdown: u32,
}

/// A time source: the current `mtime` value.
pub type TimeSource = Arc<dyn Fn() -> u64 + Send + Sync>;

/// One RISC-V hart (RV64IMAFDC with M, S and U modes); see the module docs.
///
/// ```
/// use vm_core::exec::GuestCpu;
/// use vm_frontend::riscv64::cpu::{Privilege, Riscv64Cpu};
///
/// let mut hart = Riscv64Cpu::new(2);
/// assert_eq!((hart.pc(), hart.privilege()), (0x1000, Privilege::Machine));
/// assert_eq!(hart.read_csr(0xf14), Some(2)); // mhartid
/// assert_eq!(hart.read_csr(0x301), Some(0x8000_0000_0014_112d)); // misa: rv64imafdcsu
/// hart.set_xreg(10, 0x8020_0000);
/// assert!(hart.write_csr(0x305, 0x8000_0001)); // mtvec, vectored
/// assert_eq!(hart.read_csr(0x305), Some(0x8000_0001));
/// ```
pub struct Riscv64Cpu {
    slots: [u64; NUM_SLOTS as usize],
    privilege: Privilege,
    hart_id: u64,
    csr: CsrFile,
    irqs: Arc<HartIrqs>,
    time: Option<TimeSource>,
    sstc: SstcState,
    /// The FP state when software last set `FS` to Initial or Clean.
    fp_clean: [u64; FP_STATE_SLOTS],
    /// Leaf translations, tagged by ASID (see [`mmu`]).
    tlb: Tlb,
}

impl Riscv64Cpu {
    /// A hart with ID `hart_id` in its reset state (M-mode, PC = [`RESET_PC`], `FS` = Off), with
    /// its own [`HartIrqs`] and no time source.
    pub fn new(hart_id: u64) -> Self {
        let mut cpu = Self {
            slots: [0; NUM_SLOTS as usize],
            privilege: Privilege::Machine,
            hart_id,
            csr: CsrFile::new(),
            irqs: Arc::new(HartIrqs::new()),
            time: None,
            sstc: SstcState::default(),
            fp_clean: [0; FP_STATE_SLOTS],
            tlb: mmu::new_tlb(),
        };
        cpu.reset(RESET_PC);
        cpu.tlb.reset_stats();
        cpu
    }

    /// Reset the architectural state (registers, CSRs, M-mode, an empty TLB) and start at `pc`.
    /// The hart ID, the [`HartIrqs`] (whose wires the machine owns), the time source and the TLB's
    /// counters stay.
    pub fn reset(&mut self, pc: u64) {
        self.tlb.flush_all();
        self.slots = [0; NUM_SLOTS as usize];
        self.slots[PC.0 as usize] = pc;
        self.privilege = Privilege::Machine;
        self.csr = CsrFile::new();
        self.sstc = SstcState::default();
        self.fp_clean = self.fp_snapshot();
    }

    /// The hart ID (`mhartid`).
    pub fn hart_id(&self) -> u64 {
        self.hart_id
    }

    /// The counters of the hart's TLB: lookups that hit, lookups that walked, flushes.
    pub fn tlb_stats(&self) -> TlbStats {
        self.tlb.stats()
    }

    /// The current privilege level.
    pub fn privilege(&self) -> Privilege {
        self.privilege
    }

    /// Switch the privilege level directly (for loaders that start a kernel in S-mode, and tests).
    pub fn set_privilege(&mut self, privilege: Privilege) {
        self.privilege = privilege;
    }

    /// Read a CSR the way a debugger does: no privilege or enable checks and no side effects.
    /// `None` when this hart has no CSR with that number.
    pub fn read_csr(&self, csr: u16) -> Option<u64> {
        self.csr_read_raw(csr)
    }

    /// Write a CSR the way a debugger does: no privilege checks, but the CSR's WARL rules apply.
    /// Returns false when this hart has no such CSR or it is read-only.
    pub fn write_csr(&mut self, csr: u16, value: u64) -> bool {
        self.csr_write_raw(csr, value)
    }

    /// Integer register `x{n}` (`n` taken modulo 32; `x0` reads 0).
    pub fn xreg(&self, n: u8) -> u64 {
        self.slots[usize::from(n & 31)]
    }

    /// Set integer register `x{n}` (`n` modulo 32); writes to `x0` are ignored.
    pub fn set_xreg(&mut self, n: u8, value: u64) {
        let n = usize::from(n & 31);
        if n != 0 {
            self.slots[n] = value;
        }
    }

    /// Floating-point register `f{n}` (`n` modulo 32), NaN-boxed bits.
    pub fn freg(&self, n: u8) -> u64 {
        self.slots[32 + usize::from(n & 31)]
    }

    /// Set floating-point register `f{n}` (`n` modulo 32) to the raw bits `value`.
    pub fn set_freg(&mut self, n: u8, value: u64) {
        self.slots[32 + usize::from(n & 31)] = value;
    }

    /// The interrupt wires the machine drives into this hart.
    pub fn irqs(&self) -> Arc<HartIrqs> {
        Arc::clone(&self.irqs)
    }

    /// Read `time` (and Sstc's comparator) from `f`: the platform's `mtime` (10 MHz on QEMU
    /// `virt`). Without a source, `time` reads 0.
    pub fn set_time_source(&mut self, f: TimeSource) {
        self.time = Some(f);
        self.sstc_refresh();
    }

    /// Count `n` retired instructions into `minstret` and `mcycle` (each unless inhibited by
    /// `mcountinhibit`; this hart retires one instruction per cycle). The machine calls it with
    /// the engine's instruction counts.
    pub fn add_retired(&mut self, n: u64) {
        if self.csr.mcountinhibit & 1 == 0 {
            self.csr.mcycle = self.csr.mcycle.wrapping_add(n);
        }
        if self.csr.mcountinhibit & 4 == 0 {
            self.csr.minstret = self.csr.minstret.wrapping_add(n);
        }
    }

    /// The `time` value at which Sstc's supervisor timer fires, when `menvcfg.STCE` is set and
    /// `mie.STIE` enables it: a machine bounds a `wfi` sleep with it.
    pub fn sstc_deadline(&self) -> Option<u64> {
        (self.csr.menvcfg & envcfg::STCE != 0 && self.csr.mie & bits::ip::STIP != 0)
            .then_some(self.csr.stimecmp)
    }

    /// The current `time`.
    fn time(&self) -> u64 {
        self.time.as_ref().map_or(0, |f| f())
    }

    /// Whether `time >= stimecmp`.
    fn stimecmp_reached(&self) -> bool {
        self.time() >= self.csr.stimecmp
    }

    /// The FP state slots (`f0`–`f31`, `fflags`, `frm`).
    fn fp_snapshot(&self) -> [u64; FP_STATE_SLOTS] {
        let mut s = [0; FP_STATE_SLOTS];
        s[..32].copy_from_slice(&self.slots[32..64]);
        s[32] = self.slots[FFLAGS.0 as usize];
        s[33] = self.slots[FRM.0 as usize];
        s
    }

    fn set_pc_slot(&mut self, pc: u64) {
        self.slots[PC.0 as usize] = pc;
    }

    /// The privilege level loads and stores use: `MPP` when `MPRV` is set in M-mode.
    fn data_privilege(&self) -> Privilege {
        if self.privilege == Privilege::Machine && self.csr.mstatus & ms::MPRV != 0 {
            Privilege::from_bits((self.csr.mstatus & ms::MPP) >> ms::MPP_SHIFT)
                .unwrap_or(Privilege::User)
        } else {
            self.privilege
        }
    }

    /// The translation regime of an access of `kind`; `None` when it is not translated.
    fn regime(&self, kind: AccessKind) -> Option<WalkRegime> {
        let p = if kind == AccessKind::Fetch {
            self.privilege
        } else {
            self.data_privilege()
        };
        let mode = SatpMode::from_satp(self.csr.satp).unwrap_or(SatpMode::Bare);
        (p != Privilege::Machine && mode != SatpMode::Bare).then(|| WalkRegime {
            satp: self.csr.satp,
            user: p == Privilege::User,
            sum: self.csr.mstatus & ms::SUM != 0,
            mxr: self.csr.mstatus & ms::MXR != 0,
        })
    }

    /// The lowering's view of the hart.
    fn lower_ctx(&self) -> LowerCtx {
        LowerCtx {
            fp_enabled: self.csr.mstatus & ms::FS != 0,
            frm_valid: self.slots[FRM.0 as usize] <= 4,
        }
    }
}

impl GuestCpu for Riscv64Cpu {
    fn arch(&self) -> GuestArch {
        GuestArch::Riscv64
    }

    fn slots(&mut self) -> &mut [u64] {
        &mut self.slots
    }

    fn pc(&self) -> u64 {
        self.slots[PC.0 as usize]
    }

    fn set_pc(&mut self, pc: u64) {
        self.set_pc_slot(pc);
    }

    fn pc_slot(&self) -> Option<Reg> {
        Some(PC)
    }

    /// Bits 1:0 the privilege level, 2 `FS` != Off, 3 `frm` valid; then, only when some access is
    /// translated: 5:4 the data privilege (`MPRV`/`MPP`), 6 `SUM`, 7 `MXR`, 9:8 the `satp` mode
    /// and 10 the address-space parity.
    ///
    /// The root PPN and the ASID are not in the key, so blocks (keyed by physical PC and this key)
    /// are shared by every address space that maps the same code, the kernel's above all. The
    /// parity bit flips whenever a `satp` write changes the ASID or the root: an engine's TLB is
    /// not tagged by ASID and flushes on every key change, and Linux switches address spaces
    /// without `sfence.vma` when each has its own ASID (entries of the old ASID must then stop
    /// answering). Engines see the key after every helper, hence every `satp` write; blocks exist
    /// at most twice, once per parity.
    fn context_key(&self) -> u64 {
        let ctx = self.lower_ctx();
        let mut key =
            self.privilege as u64 | u64::from(ctx.fp_enabled) << 2 | u64::from(ctx.frm_valid) << 3;
        let fetch = self.regime(AccessKind::Fetch);
        let data = self.regime(AccessKind::Read);
        if let Some(r) = data.or(fetch) {
            let mode = SatpMode::from_satp(r.satp).map_or(0, SatpMode::index);
            key |= (self.data_privilege() as u64) << 4
                | u64::from(r.sum) << 6
                | u64::from(r.mxr) << 7
                | mode << 8
                | u64::from(self.csr.address_space_parity) << 10;
        }
        key
    }

    fn decode(
        &self,
        pc: u64,
        fetch: &mut dyn InsnFetch,
        max_insns: u32,
    ) -> Result<Block, Exception> {
        decode_block(pc, fetch, max_insns, self.lower_ctx())
    }

    fn translate(
        &mut self,
        vaddr: u64,
        kind: AccessKind,
        env: &ExecEnv<'_>,
    ) -> Result<GuestPhysAddr, Exception> {
        match self.regime(kind) {
            None => Ok(GuestPhysAddr(vaddr)),
            Some(r) => {
                mmu::translate_cached(&mut self.tlb, env.mem, vaddr, kind, &r).map(GuestPhysAddr)
            }
        }
    }

    fn helper(
        &mut self,
        id: HelperId,
        args: [u64; 3],
        _env: &ExecEnv<'_>,
    ) -> Result<u64, Exception> {
        self.run_helper(id, args)
    }

    fn raise(&mut self, exc: Exception, pc: u64) {
        let (cause, tval) = exception_cause(exc, self.privilege);
        self.enter_trap(cause, tval, pc);
    }

    #[inline]
    fn take_interrupt(&mut self) -> bool {
        let mut mip = self.csr.mip | self.irqs.bits();
        if self.csr.menvcfg & envcfg::STCE != 0 {
            mip = (mip & !bits::ip::STIP) | self.sstc_poll();
        }
        let pending = mip & self.csr.mie;
        if pending == 0 {
            return false;
        }
        let Some(irq) = self.select_interrupt(pending) else {
            return false;
        };
        let pc = self.pc();
        self.enter_trap(INTERRUPT_BIT | u64::from(irq), 0, pc);
        true
    }

    fn wake_pending(&self) -> bool {
        self.mip_value() & self.csr.mie != 0
    }
}

impl fmt::Debug for Riscv64Cpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hex<'a>(&'a [u64]);
        struct One(u64);
        impl fmt::Debug for One {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }
        impl fmt::Debug for Hex<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|&v| One(v)))
                    .finish()
            }
        }
        f.debug_struct("Riscv64Cpu")
            .field("hart_id", &self.hart_id)
            .field("privilege", &self.privilege)
            .field("pc", &format_args!("{:#x}", self.slots[PC.0 as usize]))
            .field("x", &Hex(&self.slots[..32]))
            .field("f", &Hex(&self.slots[32..64]))
            .field("fflags", &self.slots[FFLAGS.0 as usize])
            .field("frm", &self.slots[FRM.0 as usize])
            .field("mstatus", &format_args!("{:#x}", self.mstatus_value()))
            .field("mip", &format_args!("{:#x}", self.mip_value()))
            .field("mie", &format_args!("{:#x}", self.csr.mie))
            .field("satp", &format_args!("{:#x}", self.csr.satp))
            .field("irqs", &self.irqs)
            .field("time_source", &self.time.is_some())
            .field("tlb", &self.tlb.stats())
            .finish_non_exhaustive()
    }
}

impl Drop for Riscv64Cpu {
    /// Logs the TLB's counters (at debug level).
    fn drop(&mut self) {
        let s = self.tlb.stats();
        log::debug!(
            "hart {}: TLB {} hits, {} misses ({:.2}% hits), {} flushes",
            self.hart_id,
            s.hits,
            s.misses,
            s.hit_rate() * 100.0,
            s.flushes
        );
    }
}
