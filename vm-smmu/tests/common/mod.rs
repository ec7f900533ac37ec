//! Shared test scaffolding: a Vec-backed guest memory, a page-table builder, STE/CD encoders and
//! helpers that drive the SMMU through its registers like a driver would.

#![allow(
    dead_code,
    reason = "each test file uses a different subset of these helpers"
)]

use std::sync::{Arc, Mutex};

use vm_core::GuestPhysAddr;
use vm_core::device::MmioDevice;
use vm_core::mem::{AccessSize, GuestMemory, MemFault};
use vm_smmu::cmd::Command;
use vm_smmu::{Smmu, SmmuConfig, regs};

/// Guest RAM at `[0, 4 MiB)`.
pub struct Mem(Mutex<Vec<u8>>);

pub const MEM_SIZE: u64 = 0x40_0000;

impl GuestMemory for Mem {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        let m = self.0.lock().unwrap();
        let s = usize::try_from(addr.raw()).map_err(|_| MemFault::Unmapped { addr })?;
        let src = s.checked_add(buf.len()).and_then(|e| m.get(s..e));
        buf.copy_from_slice(src.ok_or(MemFault::Unmapped { addr })?);
        Ok(())
    }
    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        let mut m = self.0.lock().unwrap();
        let s = usize::try_from(addr.raw()).map_err(|_| MemFault::Unmapped { addr })?;
        let dst = s.checked_add(buf.len()).and_then(|e| m.get_mut(s..e));
        dst.ok_or(MemFault::Unmapped { addr })?.copy_from_slice(buf);
        Ok(())
    }
}

pub fn mem() -> Arc<Mem> {
    Arc::new(Mem(Mutex::new(vec![0; MEM_SIZE as usize])))
}

pub fn w64(mem: &Mem, addr: u64, v: u64) {
    mem.write_u64(GuestPhysAddr(addr), v).unwrap();
}

pub fn r64(mem: &Mem, addr: u64) -> u64 {
    mem.read_u64(GuestPhysAddr(addr)).unwrap()
}

pub fn r32(mem: &Mem, addr: u64) -> u32 {
    mem.read_u32(GuestPhysAddr(addr)).unwrap()
}

/// Leaf and table descriptor bits.
pub const AF: u64 = 1 << 10;
pub const AP_EL0: u64 = 1 << 6;
pub const AP_RO: u64 = 1 << 7;
pub const NG: u64 = 1 << 11;
pub const PXN: u64 = 1 << 53;
pub const UXN: u64 = 1 << 54;
pub const S2AP_R: u64 = 1 << 6;
pub const S2AP_W: u64 = 1 << 7;
pub const S2_XN: u64 = 1 << 54;

/// A bump allocator of zeroed, naturally aligned guest memory.
pub struct Alloc {
    next: u64,
}

impl Alloc {
    pub fn new() -> Self {
        Self { next: 0x10_0000 }
    }

    pub fn take(&mut self, size: u64) -> u64 {
        let a = self.next.next_multiple_of(size);
        self.next = a + size;
        assert!(self.next <= MEM_SIZE, "test memory exhausted");
        a
    }
}

/// A translation table tree of one stage.
pub struct Tables {
    pub granule_shift: u32,
    pub input_bits: u32,
    pub start_level: u32,
    pub root: u64,
}

impl Tables {
    /// A stage-1 tree (start level derived from the input size).
    pub fn s1(alloc: &mut Alloc, granule_shift: u32, input_bits: u32) -> Self {
        let stride = granule_shift - 3;
        let levels = (input_bits - granule_shift).div_ceil(stride);
        let start_level = 4 - levels;
        Self::with_start(alloc, granule_shift, input_bits, start_level)
    }

    /// A tree starting at `start_level` (stage 2 may concatenate root tables).
    pub fn with_start(
        alloc: &mut Alloc,
        granule_shift: u32,
        input_bits: u32,
        start_level: u32,
    ) -> Self {
        let stride = granule_shift - 3;
        let shift = granule_shift + (3 - start_level) * stride;
        let root_size = (8u64 << (input_bits - shift)).max(1 << granule_shift);
        let root = alloc.take(root_size);
        Self {
            granule_shift,
            input_bits,
            start_level,
            root,
        }
    }

    fn level_shift(&self, level: u32) -> u32 {
        self.granule_shift + (3 - level) * (self.granule_shift - 3)
    }

    fn index(&self, va: u64, level: u32) -> u64 {
        let shift = self.level_shift(level);
        let bits = if level == self.start_level {
            self.input_bits - shift
        } else {
            self.granule_shift - 3
        };
        (va >> shift) & ((1 << bits) - 1)
    }

    /// Map `va` to `pa` with a leaf at `level` (a page at level 3, a block above) carrying `attrs`.
    pub fn map(&self, mem: &Mem, alloc: &mut Alloc, va: u64, pa: u64, level: u32, attrs: u64) {
        let mut table = self.root;
        for l in self.start_level..level {
            let slot = table + self.index(va, l) * 8;
            let desc = r64(mem, slot);
            table = if desc & 1 == 0 {
                let t = alloc.take(1 << self.granule_shift);
                w64(mem, slot, t | 0b11);
                t
            } else {
                desc & 0x0000_ffff_ffff_f000 & !((1u64 << self.granule_shift) - 1)
            };
        }
        let kind = if level == 3 { 0b11 } else { 0b01 };
        w64(mem, table + self.index(va, level) * 8, pa | kind | attrs);
    }

    /// Address of the descriptor slot for `va` at `level` (the table must exist).
    pub fn slot(&self, mem: &Mem, va: u64, level: u32) -> u64 {
        let mut table = self.root;
        for l in self.start_level..level {
            let desc = r64(mem, table + self.index(va, l) * 8);
            table = desc & 0x0000_ffff_ffff_f000 & !((1u64 << self.granule_shift) - 1);
        }
        table + self.index(va, level) * 8
    }
}

/// STE encoders.
pub fn ste_abort() -> [u64; 8] {
    [1, 0, 0, 0, 0, 0, 0, 0]
}

pub fn ste_bypass() -> [u64; 8] {
    [1 | (0b100 << 1), 0, 0, 0, 0, 0, 0, 0]
}

/// A stage-1 STE: CD table at `cd_ptr`, `S1Fmt`, `S1CDMax`, `S1DSS`.
pub fn ste_s1(cd_ptr: u64, fmt: u64, cdmax: u64, dss: u64) -> [u64; 8] {
    [
        1 | (0b101 << 1) | (fmt << 4) | cd_ptr | (cdmax << 59),
        dss,
        0,
        0,
        0,
        0,
        0,
        0,
    ]
}

/// Add stage 2 to an STE (or make a stage-2-only STE from `ste_bypass()`).
pub fn with_s2(
    mut ste: [u64; 8],
    vmid: u16,
    tables: &Tables,
    sl0: u64,
    tg: u64,
    ps: u64,
) -> [u64; 8] {
    ste[0] |= 0b010 << 1;
    let t0sz = 64 - u64::from(tables.input_bits);
    ste[2] = u64::from(vmid)
        | (t0sz << 32)
        | (sl0 << 38)
        | (tg << 46)
        | (ps << 48)
        | (1 << 51)
        | (1 << 58);
    ste[3] = tables.root;
    ste
}

pub fn with_eats(mut ste: [u64; 8], eats: u64) -> [u64; 8] {
    ste[1] |= eats << 28;
    ste
}

pub fn write_words(mem: &Mem, addr: u64, words: &[u64]) {
    for (i, w) in words.iter().enumerate() {
        w64(mem, addr + 8 * i as u64, *w);
    }
}

/// A CD: TTB0 only, `T0SZ`, `TG0`, 48-bit IPS, AArch64, `R` and `A` set.
pub fn cd(asid: u16, ttb0: u64, t0sz: u64, tg0: u64) -> [u64; 8] {
    let w0 = t0sz
        | (tg0 << 6)
        | (1 << 30)
        | (1 << 31)
        | (5 << 32)
        | (1 << 41)
        | (1 << 45)
        | (1 << 46)
        | (u64::from(asid) << 48);
    [w0, ttb0, 0, 0, 0, 0, 0, 0]
}

/// Where the helpers put the SMMU's structures.
pub const STRTAB: u64 = 0x1000;
pub const STRTAB_LOG2: u64 = 6;
pub const CMDQ: u64 = 0x4000;
pub const CMDQ_LOG2: u64 = 8;
pub const EVTQ: u64 = 0x8000;
pub const EVTQ_LOG2: u64 = 5;

pub fn write_ste(mem: &Mem, sid: u64, ste: [u64; 8]) {
    write_words(mem, STRTAB + sid * 64, &ste);
}

/// An SMMU with a linear 64-entry stream table at [`STRTAB`], queues at [`CMDQ`]/[`EVTQ`], everything
/// enabled.
pub fn smmu(mem: &Arc<Mem>) -> Smmu {
    let mut s = Smmu::new(mem.clone(), SmmuConfig::default()).unwrap();
    s.write(regs::STRTAB_BASE, AccessSize::U64, STRTAB);
    s.write(regs::STRTAB_BASE_CFG, AccessSize::U32, STRTAB_LOG2);
    s.write(regs::CMDQ_BASE, AccessSize::U64, CMDQ | CMDQ_LOG2);
    s.write(regs::EVTQ_BASE, AccessSize::U64, EVTQ | EVTQ_LOG2);
    let cr0 = regs::CR0_SMMUEN | regs::CR0_CMDQEN | regs::CR0_EVTQEN;
    s.write(regs::CR0, AccessSize::U32, u64::from(cr0));
    assert_eq!(s.read(regs::CR0ACK, AccessSize::U32), u64::from(cr0));
    s
}

/// Write raw commands at `CMDQ_PROD` and publish them.
pub fn submit_raw(s: &mut Smmu, mem: &Mem, cmds: &[[u64; 2]]) {
    let mut prod = s.read(regs::CMDQ_PROD, AccessSize::U32) as u32;
    let mask = (1u32 << CMDQ_LOG2) - 1;
    for c in cmds {
        let idx = u64::from(prod & mask);
        write_words(mem, CMDQ + idx * 16, c);
        prod = (prod + 1) & ((2 << CMDQ_LOG2) - 1);
    }
    s.write(regs::CMDQ_PROD, AccessSize::U32, u64::from(prod));
}

pub fn submit(s: &mut Smmu, mem: &Mem, cmds: &[Command]) {
    let raw: Vec<[u64; 2]> = cmds.iter().map(Command::encode).collect();
    submit_raw(s, mem, &raw);
}

/// Consume every pending event record, like a driver's event handler.
#[cfg(feature = "interrupt")]
pub fn events(s: &mut Smmu, mem: &Mem) -> Vec<[u8; 32]> {
    let mask = (1u32 << EVTQ_LOG2) - 1;
    let prod = s.read(regs::EVTQ_PROD, AccessSize::U32) as u32;
    let mut cons = s.read(regs::EVTQ_CONS, AccessSize::U32) as u32;
    let mut out = Vec::new();
    while (prod ^ cons) & ((2 << EVTQ_LOG2) - 1) != 0 {
        let mut b = [0u8; 32];
        mem.read(GuestPhysAddr(EVTQ + u64::from(cons & mask) * 32), &mut b)
            .unwrap();
        out.push(b);
        cons = (cons & 0x8000_0000) | ((cons + 1) & ((2 << EVTQ_LOG2) - 1));
    }
    s.write(regs::EVTQ_CONS, AccessSize::U32, u64::from(cons));
    out
}
