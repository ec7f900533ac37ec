//! Guest memory access for the interpreter: a software TLB of virtual-to-physical translations per
//! 4 KiB page with a host-pointer fast path for RAM, the slow path through [`GuestMemory`] and the MMIO
//! [`vm_core::device::Bus`], misaligned and page-crossing accesses, and atomics.
//!
//! The TLB is direct-mapped, one table per access kind. An entry holds the virtual page it
//! translates (`tag`) and, when loads or stores may go straight to host memory, the same page number in
//! `fast` plus the distance from the guest virtual page to its host mapping (`addend`), so the
//! executor's inline fast path is one compare and one host access (as QEMU's `CPUTLBEntry`).
//!
//! - [`Mmu::flush`] drops every translation (a `FenceKind::Translations`, a context-key change) and
//!   bumps [`Mmu::epoch`], which also invalidates the block chaining that depends on translations.
//! - [`Mmu::drop_host_pointers`] keeps the translations but drops the host fast paths: at the start of
//!   every run (host pointers are only trusted for the memory object of the current run).
//! - [`Mmu::drop_write_fast_paths`]: when a page becomes a code page, stores to it must take the slow
//!   path, which reports writes to code pages in [`Mmu::dirty_code`] for the engine to drop the blocks.
//!
//! [`GuestMemory`]: vm_core::mem::GuestMemory

use vm_core::GuestPhysAddr;
use vm_core::exec::{Exception, ExecEnv, FaultKind, GuestCpu};
use vm_core::mem::{AccessKind, AccessSize, MemFault};

use super::cache::{BlockCache, PAGE_SHIFT};

pub(crate) const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
pub(crate) const PAGE_MASK: u64 = PAGE_SIZE - 1;
/// Entries per data TLB (loads, stores).
pub(crate) const DATA_WAYS: usize = 256;
/// Entries of the fetch and atomic TLBs.
const SMALL_WAYS: usize = 64;
/// A tag no virtual page number equals (they have at most 52 bits).
const INVALID: u64 = u64::MAX;

/// One translation.
#[derive(Copy, Clone, Debug)]
pub(crate) struct TlbEntry {
    /// Virtual page number translated, or `INVALID`.
    tag: u64,
    /// `tag` when the host fast path may be used, else `INVALID`.
    pub fast: u64,
    /// Host address of the page minus its guest virtual address (wrapping); valid with `fast`.
    pub addend: usize,
    /// Guest physical address of the page.
    pub ppage: u64,
}

const EMPTY: TlbEntry = TlbEntry {
    tag: INVALID,
    fast: INVALID,
    addend: 0,
    ppage: 0,
};

/// The software TLB.
#[derive(Debug)]
pub(crate) struct Mmu {
    pub read: Box<[TlbEntry; DATA_WAYS]>,
    pub write: Box<[TlbEntry; DATA_WAYS]>,
    fetch: Box<[TlbEntry; SMALL_WAYS]>,
    atomic: Box<[TlbEntry; SMALL_WAYS]>,
    /// The context key the translations belong to.
    ctx: Option<u64>,
    /// Bumped by every [`Mmu::flush`].
    pub epoch: u64,
    /// Lookups that hit (the executor adds its inline hits).
    pub hits: u64,
    /// Lookups that called the CPU's translation.
    pub misses: u64,
    /// Guest physical page numbers of code pages written since the engine last looked.
    pub dirty_code: Vec<u64>,
    /// Set when something the run loop must look at happened (code written, an MMIO access).
    pub event: bool,
}

impl Default for Mmu {
    fn default() -> Self {
        Self {
            read: Box::new([EMPTY; DATA_WAYS]),
            write: Box::new([EMPTY; DATA_WAYS]),
            fetch: Box::new([EMPTY; SMALL_WAYS]),
            atomic: Box::new([EMPTY; SMALL_WAYS]),
            ctx: None,
            epoch: 0,
            hits: 0,
            misses: 0,
            dirty_code: Vec::new(),
            event: false,
        }
    }
}

/// A memory exception for an access of `kind` at `vaddr`.
pub(crate) fn mem_exc(kind: AccessKind, fault: FaultKind, vaddr: u64) -> Exception {
    Exception::Memory { kind, fault, vaddr }
}

/// The entry index of virtual page `vpn` in a table of `ways` entries.
#[inline(always)]
pub(crate) fn way(vpn: u64, ways: usize) -> usize {
    vpn as usize & (ways - 1)
}

impl Mmu {
    /// Drop every cached translation.
    pub fn flush(&mut self) {
        for t in [
            &mut self.read[..],
            &mut self.write[..],
            &mut self.fetch[..],
            &mut self.atomic[..],
        ] {
            t.fill(EMPTY);
        }
        self.epoch += 1;
    }

    /// Keep the translations, drop the host pointers.
    pub fn drop_host_pointers(&mut self) {
        for e in self.read.iter_mut().chain(self.write.iter_mut()) {
            e.fast = INVALID;
        }
    }

    /// Keep the translations, drop the store fast paths.
    pub fn drop_write_fast_paths(&mut self) {
        for e in self.write.iter_mut() {
            e.fast = INVALID;
        }
    }

    /// Flush when the CPU's context key changed since the last call.
    #[inline]
    pub fn check_ctx(&mut self, ctx: u64) {
        if self.ctx != Some(ctx) {
            self.ctx = Some(ctx);
            self.flush();
        }
    }

    fn table(&mut self, kind: AccessKind) -> &mut [TlbEntry] {
        match kind {
            AccessKind::Read => &mut self.read[..],
            AccessKind::Write => &mut self.write[..],
            AccessKind::Fetch => &mut self.fetch[..],
            AccessKind::Atomic => &mut self.atomic[..],
        }
    }

    /// The translation of the page holding `vaddr` for `kind`, from the TLB or the CPU, with its host
    /// fast path set up when the page allows one.
    pub fn lookup(
        &mut self,
        cache: &BlockCache,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        vaddr: u64,
        kind: AccessKind,
    ) -> Result<TlbEntry, Exception> {
        let vpn = vaddr >> PAGE_SHIFT;
        let t = self.table(kind);
        let i = way(vpn, t.len());
        let mut e = t[i];
        if e.tag == vpn {
            self.hits += 1;
            if e.fast == vpn || !matches!(kind, AccessKind::Read | AccessKind::Write) {
                return Ok(e);
            }
        } else {
            self.misses += 1;
            let pa = cpu.translate(vaddr, kind, env)?.raw();
            e = TlbEntry {
                tag: vpn,
                fast: INVALID,
                addend: 0,
                ppage: pa & !PAGE_MASK,
            };
        }
        if let Some(addend) = host_addend(cache, env, e.ppage, vpn, kind) {
            e.fast = vpn;
            e.addend = addend;
        }
        self.table(kind)[i] = e;
        Ok(e)
    }

    /// Translate `vaddr` to a guest physical address.
    pub fn translate(
        &mut self,
        cache: &BlockCache,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        vaddr: u64,
        kind: AccessKind,
    ) -> Result<u64, Exception> {
        Ok(self.lookup(cache, cpu, env, vaddr, kind)?.ppage | (vaddr & PAGE_MASK))
    }

    /// Load `size` bytes at guest virtual `vaddr`, zero-extended (the executor's slow path).
    #[inline(never)]
    pub fn load(
        &mut self,
        cache: &BlockCache,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        vaddr: u64,
        size: AccessSize,
        aligned: bool,
    ) -> Result<u64, Exception> {
        let kind = AccessKind::Read;
        let n = size.bytes() as u64;
        if aligned && vaddr & (n - 1) != 0 {
            return Err(mem_exc(kind, FaultKind::Misaligned, vaddr));
        }
        let off = vaddr & PAGE_MASK;
        if off + n <= PAGE_SIZE {
            let e = self.lookup(cache, cpu, env, vaddr, kind)?;
            if e.fast != INVALID {
                let mut b = [0u8; 8];
                // SAFETY: `fast` is set only when `addend` maps this whole 4 KiB guest page onto host
                // memory of a `HostSlice` of this run's memory object (host pointers are dropped at
                // every run start), which stays valid while that object lives; `off + n <= 4096` keeps
                // the read inside the page. Concurrent guest writes from other vCPUs are guest-level
                // races on plain bytes.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        (vaddr as usize).wrapping_add(e.addend) as *const u8,
                        b.as_mut_ptr(),
                        n as usize,
                    );
                }
                return Ok(u64::from_le_bytes(b));
            }
            return self
                .phys_read(env, e.ppage | off, size)
                .map_err(|f| mem_exc(kind, f, vaddr));
        }
        // Crosses a page: translate both pages first, then read byte by byte.
        let second = (vaddr | PAGE_MASK).wrapping_add(1);
        let p1 = self.translate(cache, cpu, env, vaddr, kind)?;
        let p2 = self.translate(cache, cpu, env, second, kind)?;
        let first_len = PAGE_SIZE - off;
        let mut v = 0u64;
        for i in 0..n {
            let pa = if i < first_len {
                p1 + i
            } else {
                p2 + (i - first_len)
            };
            let byte = self
                .phys_read(env, pa, AccessSize::U8)
                .map_err(|f| mem_exc(kind, f, vaddr.wrapping_add(i)))?;
            v |= byte << (8 * i);
        }
        Ok(v)
    }

    /// Store the low `size` bytes of `value` at guest virtual `vaddr` (the executor's slow path).
    #[expect(
        clippy::too_many_arguments,
        reason = "the access context is passed unbundled"
    )]
    #[inline(never)]
    pub fn store(
        &mut self,
        cache: &BlockCache,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        vaddr: u64,
        size: AccessSize,
        aligned: bool,
        value: u64,
    ) -> Result<(), Exception> {
        let kind = AccessKind::Write;
        let n = size.bytes() as u64;
        if aligned && vaddr & (n - 1) != 0 {
            return Err(mem_exc(kind, FaultKind::Misaligned, vaddr));
        }
        let off = vaddr & PAGE_MASK;
        if off + n <= PAGE_SIZE {
            let e = self.lookup(cache, cpu, env, vaddr, kind)?;
            if e.fast != INVALID {
                let b = value.to_le_bytes();
                // SAFETY: as for loads; in addition the slice was reported writable and the page holds
                // no translated code (a page becoming a code page drops the store fast paths), so no
                // block needs invalidating.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        b.as_ptr(),
                        (vaddr as usize).wrapping_add(e.addend) as *mut u8,
                        n as usize,
                    );
                }
                return Ok(());
            }
            return self
                .phys_write(cache, env, e.ppage | off, size, value)
                .map_err(|f| mem_exc(kind, f, vaddr));
        }
        let second = (vaddr | PAGE_MASK).wrapping_add(1);
        let p1 = self.translate(cache, cpu, env, vaddr, kind)?;
        let p2 = self.translate(cache, cpu, env, second, kind)?;
        let first_len = PAGE_SIZE - off;
        for i in 0..n {
            let pa = if i < first_len {
                p1 + i
            } else {
                p2 + (i - first_len)
            };
            self.phys_write(cache, env, pa, AccessSize::U8, value >> (8 * i))
                .map_err(|f| mem_exc(kind, f, vaddr.wrapping_add(i)))?;
        }
        Ok(())
    }

    /// Check alignment and translate the target of an atomic access; atomics need RAM.
    pub fn atomic_target(
        &mut self,
        cache: &BlockCache,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        vaddr: u64,
        size: AccessSize,
        kind: AccessKind,
    ) -> Result<u64, Exception> {
        if vaddr & (size.bytes() as u64 - 1) != 0 {
            return Err(mem_exc(kind, FaultKind::Misaligned, vaddr));
        }
        self.translate(cache, cpu, env, vaddr, kind)
    }

    /// Record a write of `len` bytes at guest physical `pa`: writes to code pages are reported to the
    /// engine, which drops the blocks there once the current block is done.
    pub fn note_write(&mut self, cache: &BlockCache, pa: u64, len: u64) {
        let first = pa >> PAGE_SHIFT;
        let last = pa.wrapping_add(len.saturating_sub(1)) >> PAGE_SHIFT;
        for p in [first, last] {
            if cache.is_code_page(p) && !self.dirty_code.contains(&p) {
                self.dirty_code.push(p);
                self.event = true;
            }
        }
    }

    /// Read at a guest physical address: RAM, else the MMIO bus.
    fn phys_read(
        &mut self,
        env: &ExecEnv<'_>,
        pa: u64,
        size: AccessSize,
    ) -> Result<u64, FaultKind> {
        let mut b = [0u8; 8];
        match env.mem.read(GuestPhysAddr(pa), &mut b[..size.bytes()]) {
            Ok(()) => Ok(u64::from_le_bytes(b)),
            Err(MemFault::Unmapped { .. }) => {
                self.event = true;
                env.bus
                    .read(GuestPhysAddr(pa), size)
                    .map(|v| v & size.mask())
                    .map_err(|_| FaultKind::Access)
            }
            Err(f) => Err(fault_of(f)),
        }
    }

    /// Write at a guest physical address: RAM (reporting code pages), else the MMIO bus.
    fn phys_write(
        &mut self,
        cache: &BlockCache,
        env: &ExecEnv<'_>,
        pa: u64,
        size: AccessSize,
        value: u64,
    ) -> Result<(), FaultKind> {
        let b = value.to_le_bytes();
        match env.mem.write(GuestPhysAddr(pa), &b[..size.bytes()]) {
            Ok(()) => {
                self.note_write(cache, pa, size.bytes() as u64);
                Ok(())
            }
            Err(MemFault::Unmapped { .. }) => {
                self.event = true;
                env.bus
                    .write(GuestPhysAddr(pa), size, value & size.mask())
                    .map_err(|_| FaultKind::Access)
            }
            Err(f) => Err(fault_of(f)),
        }
    }
}

/// The host addend for guest physical page `ppage` mapped at virtual page `vpn`, when an access of
/// `kind` may use the fast path there: RAM covering the whole page, writable for stores, and for
/// stores not a page holding translated code.
fn host_addend(
    cache: &BlockCache,
    env: &ExecEnv<'_>,
    ppage: u64,
    vpn: u64,
    kind: AccessKind,
) -> Option<usize> {
    let want = match kind {
        AccessKind::Read => true,
        AccessKind::Write => !cache.is_code_page(ppage >> PAGE_SHIFT),
        AccessKind::Fetch | AccessKind::Atomic => false,
    };
    if !want {
        return None;
    }
    let hs = env.mem.host_slice(GuestPhysAddr(ppage))?;
    let start = hs.gpa.raw();
    let covers = ppage >= start
        && ppage
            .checked_add(PAGE_SIZE)
            .is_some_and(|end| end <= start.saturating_add(hs.len));
    if !covers || (kind == AccessKind::Write && !hs.writable) || hs.host.is_null() {
        return None;
    }
    let host_page = (hs.host as usize).wrapping_add((ppage - start) as usize);
    Some(host_page.wrapping_sub((vpn << PAGE_SHIFT) as usize))
}

fn fault_of(f: MemFault) -> FaultKind {
    match f {
        MemFault::Misaligned { .. } => FaultKind::Misaligned,
        MemFault::Unmapped { .. } | MemFault::Denied { .. } | MemFault::BusError { .. } => {
            FaultKind::Access
        }
    }
}

/// Atomically read-modify-write the aligned RAM value at `pa` with `f` (a compare-exchange loop).
/// Returns the old value. Device memory does not support atomics (access fault).
pub(crate) fn atomic_rmw(
    mmu: &mut Mmu,
    cache: &BlockCache,
    env: &ExecEnv<'_>,
    pa: u64,
    size: AccessSize,
    f: impl Fn(u64) -> u64,
) -> Result<u64, FaultKind> {
    let addr = GuestPhysAddr(pa);
    let mut old = env.mem.read_sized(addr, size).map_err(fault_of)?;
    loop {
        let new = f(old) & size.mask();
        match env
            .mem
            .compare_exchange(addr, size, old, new)
            .map_err(fault_of)?
        {
            Ok(_) => {
                mmu.note_write(cache, pa, size.bytes() as u64);
                return Ok(old);
            }
            Err(actual) => old = actual,
        }
    }
}
