//! The system helpers of the RISC-V frontend: the contract between the lowering ([`super::lower`]),
//! which emits [`vm_core::ir::Op::Helper`] calls, and the hart ([`super::cpu::Riscv64Cpu`]), which
//! implements them in [`vm_core::exec::GuestCpu::helper`].
//!
//! Every helper may raise an exception (an illegal instruction when the current privilege level or a
//! trap-virtualisation bit forbids the operation; the trap value is then the instruction bits passed in
//! the arguments). The lowering ends the block after every helper call except [`CSR`] accesses to
//! the unprivileged floating-point CSRs, with [`vm_core::ir::Terminator::Sync`] (or
//! [`vm_core::ir::Terminator::JumpIndirect`] on the helper's result for the returns), so that a change
//! of privilege, translation or interrupt enables is seen at the next block boundary.

use vm_core::ir::HelperId;

/// A Zicsr instruction (`csrrw`, `csrrs`, `csrrc` and their immediate forms).
///
/// Arguments: `[info, src, raw]` where `info` is built by [`csr_info`], `src` the value of `rs1` (or the
/// zero-extended 5-bit immediate), `raw` the instruction bits. Returns the CSR's old value (the value
/// for `rd`; 0 when the access does not read). The hart checks the CSR exists, the privilege level
/// (bits 9:8 of the number) and writability (bits 11:10 = 0b11 is read-only: a write is illegal), and
/// raises an illegal instruction otherwise. The floating-point CSRs (`fflags`, `frm`, `fcsr`) live in
/// the slots [`vm_core::regs::riscv64::FFLAGS`] and [`vm_core::regs::riscv64::FRM`]; the hart reads
/// and writes them there.
pub const CSR: HelperId = HelperId(1);

/// `mret`. Arguments unused except `args[2]` = instruction bits. Returns the new PC (`mepc`).
pub const MRET: HelperId = HelperId(2);

/// `sret`. Arguments unused except `args[2]` = instruction bits. Returns the new PC (`sepc`). Illegal
/// in U-mode, and in S-mode when `mstatus.TSR` is set.
pub const SRET: HelperId = HelperId(3);

/// `sfence.vma rs1, rs2`. Arguments: `[vaddr, asid, raw]`: the values of `rs1` and `rs2`, and the
/// instruction bits with [`SFENCE_ALL_ADDR`] OR-ed in when `rs1` is `x0` and [`SFENCE_ALL_ASID`] when
/// `rs2` is `x0`. Returns 0. Illegal in U-mode and in S-mode when `mstatus.TVM` is set. The lowering
/// follows it with [`vm_core::ir::FenceKind::Translations`] and ends the block.
pub const SFENCE_VMA: HelperId = HelperId(4);

/// `wfi`: checks whether waiting is allowed (illegal in U-mode, and in S-mode when `mstatus.TW` is
/// set). Arguments: `args[2]` = instruction bits. Returns 0. The lowering ends the block with
/// [`vm_core::ir::Terminator::Wait`] after it.
pub const WFI: HelperId = HelperId(5);

/// In the `raw` argument of [`SFENCE_VMA`]: `rs1` is `x0` (all addresses).
pub const SFENCE_ALL_ADDR: u64 = 1 << 32;
/// In the `raw` argument of [`SFENCE_VMA`]: `rs2` is `x0` (all address spaces).
pub const SFENCE_ALL_ASID: u64 = 1 << 33;

/// [`CSR`] operation: write (`csrrw`).
pub const CSR_OP_RW: u64 = 1;
/// [`CSR`] operation: set bits (`csrrs`).
pub const CSR_OP_RS: u64 = 2;
/// [`CSR`] operation: clear bits (`csrrc`).
pub const CSR_OP_RC: u64 = 3;
/// [`CSR`] info flag: the instruction reads the CSR (`rd` is not `x0`, or the op is not a write).
pub const CSR_READ: u64 = 1 << 14;
/// [`CSR`] info flag: the instruction writes the CSR (`csrrw`, or `rs1`/the immediate is not zero).
pub const CSR_WRITE: u64 = 1 << 15;

/// The `info` argument of [`CSR`]: the CSR number in bits 11:0, the operation in bits 13:12, then
/// the [`CSR_READ`] and [`CSR_WRITE`] flags.
pub const fn csr_info(csr: u16, op: u64, read: bool, write: bool) -> u64 {
    (csr as u64 & 0xfff)
        | ((op & 3) << 12)
        | if read { CSR_READ } else { 0 }
        | if write { CSR_WRITE } else { 0 }
}

/// Decodes a [`CSR`] `info` argument: (CSR number, operation, reads, writes).
pub const fn csr_info_parts(info: u64) -> (u16, u64, bool, bool) {
    (
        (info & 0xfff) as u16,
        (info >> 12) & 3,
        info & CSR_READ != 0,
        info & CSR_WRITE != 0,
    )
}

/// Trap causes of the RISC-V privileged architecture that the IR carries as
/// [`vm_core::ir::TrapCause::Arch`] (the others map from the IR's generic causes).
pub mod cause {
    /// Instruction address misaligned.
    pub const INSN_MISALIGNED: u64 = 0;
    /// Instruction access fault.
    pub const INSN_ACCESS: u64 = 1;
    /// Illegal instruction.
    pub const ILLEGAL: u64 = 2;
    /// Breakpoint.
    pub const BREAKPOINT: u64 = 3;
    /// Load address misaligned.
    pub const LOAD_MISALIGNED: u64 = 4;
    /// Load access fault.
    pub const LOAD_ACCESS: u64 = 5;
    /// Store/AMO address misaligned.
    pub const STORE_MISALIGNED: u64 = 6;
    /// Store/AMO access fault.
    pub const STORE_ACCESS: u64 = 7;
    /// Environment call from U-mode (S-mode is +1, M-mode +3).
    pub const ECALL_U: u64 = 8;
    /// Instruction page fault.
    pub const INSN_PAGE: u64 = 12;
    /// Load page fault.
    pub const LOAD_PAGE: u64 = 13;
    /// Store/AMO page fault.
    pub const STORE_PAGE: u64 = 15;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_info_round_trips() {
        let info = csr_info(0x300, CSR_OP_RS, true, false);
        assert_eq!(info, 0x300 | (2 << 12) | CSR_READ);
        assert_eq!(csr_info_parts(info), (0x300, CSR_OP_RS, true, false));
        let info = csr_info(0xfff, CSR_OP_RW, false, true);
        assert_eq!(csr_info_parts(info), (0xfff, CSR_OP_RW, false, true));
    }
}
