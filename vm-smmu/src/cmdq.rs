//! The command queue consumer: reads commands between `CMDQ_CONS` and `CMDQ_PROD` and executes them.
//!
//! Consumption starts whenever software writes `CMDQ_PROD` (or enables the queue, or acknowledges a
//! command queue error) and runs until the queue is empty. A command that cannot be read (`CERROR_ABT`),
//! an illegal command (`CERROR_ILL`) or a `CMD_SYNC` after a failed ATC invalidation
//! (`CERROR_ATC_INV_SYNC`) stops the queue: `CMDQ_CONS` keeps pointing at the command, its `ERR` field
//! gets the code and `GERROR.CMDQ_ERR` is activated. Consumption resumes when software acknowledges the
//! error in `GERRORN` (after fixing or replacing the command).

use crate::cmd::{Command, SyncSignal};
use crate::regs::*;
use crate::smmu::{Smmu, TlbInvalidation};
use crate::ste::read_dwords;

impl Smmu {
    /// Consume commands until the queue is empty or a command fails.
    pub(crate) fn process_cmdq(&mut self) {
        if self.cr0 & CR0_CMDQEN == 0 {
            return;
        }
        while !self.cmdq.is_empty() && !self.events.gerror_active(GERROR_CMDQ_ERR) {
            let addr = self.cmdq.cons_entry_addr();
            let result = match read_dwords::<2>(&*self.mem, addr) {
                Err(_) => Err(CERROR_ABT),
                Ok(raw) => match Command::decode(raw) {
                    Ok(cmd) => self.execute(cmd),
                    Err(_) => Err(CERROR_ILL),
                },
            };
            match result {
                Ok(()) => {
                    self.cmdq.advance_cons();
                    self.stats.commands += 1;
                }
                Err(code) => {
                    let mask = CMDQ_CONS_ERR_MASK << CMDQ_CONS_ERR_SHIFT;
                    let cons = (self.cmdq.cons() & !mask) | (code << CMDQ_CONS_ERR_SHIFT);
                    self.cmdq.set_cons(cons);
                    self.events.raise_gerror(&*self.mem, GERROR_CMDQ_ERR);
                }
            }
        }
    }

    /// Execute one command; `Err` carries the `CERROR` code that stops the queue.
    pub(crate) fn execute(&mut self, cmd: Command) -> Result<(), u32> {
        let single =
            |addr: u64, range: Option<crate::cmd::TlbiRange>| (addr, range.map_or(1, |r| r.len()));
        match cmd {
            Command::PrefetchConfig { sid, ssid } => {
                // A prefetch never reports errors: a broken configuration faults when it is used.
                if self.is_enabled() {
                    let _ = self.stream_config(sid, ssid);
                }
            }
            Command::PrefetchAddr { .. } => {}
            Command::CfgiSte { sid, .. }
            | Command::CfgiCd { sid, .. }
            | Command::CfgiCdAll { sid } => {
                self.tlb.invalidate_configs(sid, sid);
            }
            Command::CfgiSteRange { sid, range } => {
                if range >= 31 {
                    self.tlb.invalidate_configs(0, u32::MAX);
                } else {
                    let span = 2u32 << range;
                    let first = sid & !(span - 1);
                    self.tlb
                        .invalidate_configs(first, first.saturating_add(span - 1));
                }
            }
            Command::TlbiNhAll { vmid } => self.tlb.invalidate(TlbInvalidation::Stage1 { vmid }),
            Command::TlbiNhAsid { vmid, asid } => {
                self.tlb.invalidate(TlbInvalidation::Asid { vmid, asid });
            }
            Command::TlbiNhVa {
                vmid,
                asid,
                addr,
                range,
                ..
            } => {
                let (start, len) = single(addr, range);
                self.tlb.invalidate(TlbInvalidation::Va {
                    vmid,
                    asid: Some(asid),
                    start,
                    len,
                });
            }
            Command::TlbiNhVaa {
                vmid, addr, range, ..
            } => {
                let (start, len) = single(addr, range);
                self.tlb.invalidate(TlbInvalidation::Va {
                    vmid,
                    asid: None,
                    start,
                    len,
                });
            }
            Command::TlbiS12Vmall { vmid } => self.tlb.invalidate(TlbInvalidation::Vmid(vmid)),
            Command::TlbiS2Ipa {
                vmid, addr, range, ..
            } => {
                let (start, len) = single(addr, range);
                self.tlb
                    .invalidate(TlbInvalidation::Ipa { vmid, start, len });
            }
            Command::TlbiNsnhAll => self.tlb.invalidate(TlbInvalidation::All),
            Command::AtcInv {
                sid,
                ssid,
                global,
                size,
                addr,
            } => {
                self.ats.atc_inv(sid, ssid, global, size, addr)?;
            }
            Command::Sync {
                signal,
                msi_addr,
                msi_data,
            } => {
                if let Some(code) = self.ats.take_sync_error() {
                    return Err(code);
                }
                if signal == SyncSignal::Irq {
                    self.events.sync_msi(&*self.mem, msi_addr, msi_data);
                }
            }
        }
        Ok(())
    }
}
