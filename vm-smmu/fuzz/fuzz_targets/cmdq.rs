//! Fuzz the guest-facing inputs of the SMMU: the command queue contents, the stream table entry, the
//! context descriptor and translation tables it points at, and register writes. Nothing may panic.
//!
//! Input layout: 2 bytes of register selectors, then 16-byte commands; the same bytes also fill the
//! configuration structures, so one input exercises both the command parser and the table walk.

#![no_main]

use std::sync::{Arc, Mutex};

use libfuzzer_sys::fuzz_target;
use vm_core::GuestPhysAddr;
use vm_core::device::MmioDevice;
use vm_core::mem::{AccessSize, GuestMemory, MemFault};
use vm_smmu::{Access, Smmu, SmmuConfig, regs};

struct Ram(Mutex<Vec<u8>>);

impl GuestMemory for Ram {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        let m = self.0.lock().map_err(|_| MemFault::BusError { addr })?;
        let s = usize::try_from(addr.raw()).map_err(|_| MemFault::Unmapped { addr })?;
        let src = s.checked_add(buf.len()).and_then(|e| m.get(s..e));
        buf.copy_from_slice(src.ok_or(MemFault::Unmapped { addr })?);
        Ok(())
    }
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        let mut m = self.0.lock().map_err(|_| MemFault::BusError { addr })?;
        let s = usize::try_from(addr.raw()).map_err(|_| MemFault::Unmapped { addr })?;
        let dst = s.checked_add(buf.len()).and_then(|e| m.get_mut(s..e));
        dst.ok_or(MemFault::Unmapped { addr })?.copy_from_slice(buf);
        Ok(())
    }
}

const STRTAB: u64 = 0x1000;
const CMDQ: u64 = 0x4000;
const EVTQ: u64 = 0x8000;
const TABLES: u64 = 0x1_0000;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let ram = Arc::new(Ram(Mutex::new(vec![0; 0x4_0000])));
    let body = &data[2..];
    // Commands into the queue, and the same bytes as STE, CD and tables.
    let _ = ram.write(GuestPhysAddr(CMDQ), &body[..body.len().min(0x1000)]);
    let _ = ram.write(GuestPhysAddr(STRTAB), &body[..body.len().min(0x1000)]);
    let _ = ram.write(GuestPhysAddr(TABLES), &body[..body.len().min(0x1_0000)]);
    let Ok(mut smmu) = Smmu::new(ram.clone(), SmmuConfig::default()) else {
        return;
    };
    smmu.write(regs::STRTAB_BASE, AccessSize::U64, STRTAB);
    // Byte 0: LOG2SIZE in bits 5:0, two-level format in bit 7 (SPLIT = 6).
    let cfg = u64::from(data[0] & 0x3f) | (u64::from(data[0] >> 7) << 16) | (6 << 6);
    smmu.write(regs::STRTAB_BASE_CFG, AccessSize::U32, cfg);
    smmu.write(regs::CMDQ_BASE, AccessSize::U64, CMDQ | 8);
    smmu.write(regs::EVTQ_BASE, AccessSize::U64, EVTQ | 5);
    let cr0 = regs::CR0_SMMUEN | regs::CR0_CMDQEN | regs::CR0_EVTQEN;
    smmu.write(regs::CR0, AccessSize::U32, u64::from(cr0));
    smmu.write(regs::CMDQ_PROD, AccessSize::U32, (body.len() / 16) as u64);
    // Acknowledge whatever error stopped the queue and let it go on.
    let gerror = smmu.read(regs::GERROR, AccessSize::U32);
    smmu.write(regs::GERRORN, AccessSize::U32, gerror);
    for chunk in body.chunks_exact(8).take(16) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let v = u64::from_le_bytes(w);
        let sid = u32::from(data[1] & 0x3f);
        let _ = smmu.translate(
            sid,
            (v & 1 != 0).then_some((v >> 1) as u32 & 0xff),
            v,
            Access::read(),
        );
        let _ = smmu.translate_ats(sid, v);
    }
});
