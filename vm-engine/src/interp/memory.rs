//! Guest memory access for the interpreter: a small software TLB of virtual-to-physical translations
//! per 4 KiB page, a host-pointer fast path for RAM, the slow path through [`GuestMemory`] and the MMIO
//! [`vm_core::device::Bus`], misaligned and page-crossing accesses, and atomics.
//!
//! The TLB is direct-mapped (64 entries per access kind), tagged by virtual page and invalidated as a
//! whole by bumping a generation counter: on [`vm_core::ir::FenceKind::Translations`], when the CPU's
//! context key changes, when a page becomes a code page, and at the start of every `run` (host pointers
//! are only trusted for the memory object of the current run).
//!
//! [`GuestMemory`]: vm_core::mem::GuestMemory

use vm_core::GuestPhysAddr;
use vm_core::exec::{Exception, ExecEnv, FaultKind, GuestCpu};
use vm_core::mem::{AccessKind, AccessSize, MemFault};

use super::cache::{BlockCache, PAGE_SHIFT};

const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
const PAGE_MASK: u64 = PAGE_SIZE - 1;
const WAYS: usize = 64;

#[derive(Copy, Clone, Debug, Default)]
pub(crate) struct TlbEntry {
    vpage: u64,
    generation: u64,
    /// Guest physical address of the page.
    pub ppage: u64,
    /// Host address of the page's first byte, or 0 when the fast path may not be used.
    pub host: usize,
}

/// The software TLB.
#[derive(Debug)]
pub(crate) struct Mmu {
    entries: Vec<TlbEntry>,
    generation: u64,
    ctx: Option<u64>,
    /// Lookups that hit.
    pub hits: u64,
    /// Lookups that called the CPU's translation.
    pub misses: u64,
}

impl Default for Mmu {
    fn default() -> Self {
        Self {
            entries: vec![TlbEntry::default(); WAYS * 4],
            generation: 1,
            ctx: None,
            hits: 0,
            misses: 0,
        }
    }
}

fn kind_index(kind: AccessKind) -> usize {
    match kind {
        AccessKind::Read => 0,
        AccessKind::Write => 1,
        AccessKind::Fetch => 2,
        AccessKind::Atomic => 3,
    }
}

/// A memory exception for an access of `kind` at `vaddr`.
pub(crate) fn mem_exc(kind: AccessKind, fault: FaultKind, vaddr: u64) -> Exception {
    Exception::Memory { kind, fault, vaddr }
}

impl Mmu {
    /// Drop every cached translation.
    pub fn flush(&mut self) {
        self.generation += 1;
    }

    /// Flush when the CPU's context key changed since the last call.
    #[inline]
    pub fn check_ctx(&mut self, ctx: u64) {
        if self.ctx != Some(ctx) {
            self.ctx = Some(ctx);
            self.flush();
        }
    }

    /// The translation of the page holding `vaddr` for `kind`, from the TLB or the CPU.
    #[inline]
    pub fn lookup(
        &mut self,
        cache: &BlockCache,
        cpu: &mut dyn GuestCpu,
        env: &ExecEnv<'_>,
        vaddr: u64,
        kind: AccessKind,
    ) -> Result<TlbEntry, Exception> {
        let vpage = vaddr >> PAGE_SHIFT;
        let i = kind_index(kind) * WAYS + (vpage as usize % WAYS);
        let e = self.entries[i];
        if e.generation == self.generation && e.vpage == vpage {
            self.hits += 1;
            return Ok(e);
        }
        self.misses += 1;
        let pa = cpu.translate(vaddr, kind, env)?.raw();
        let ppage = pa & !PAGE_MASK;
        let mut host = 0;
        let want_host = match kind {
            AccessKind::Read => true,
            AccessKind::Write => !cache.is_code_page(ppage >> PAGE_SHIFT),
            AccessKind::Fetch | AccessKind::Atomic => false,
        };
        if want_host && let Some(hs) = env.mem.host_slice(GuestPhysAddr(ppage)) {
            let start = hs.gpa.raw();
            let covers = ppage >= start
                && ppage
                    .checked_add(PAGE_SIZE)
                    .is_some_and(|end| end <= start.saturating_add(hs.len));
            if covers && (kind == AccessKind::Read || hs.writable) && !hs.host.is_null() {
                host = (hs.host as usize).wrapping_add((ppage - start) as usize);
            }
        }
        let e = TlbEntry {
            vpage,
            generation: self.generation,
            ppage,
            host,
        };
        self.entries[i] = e;
        Ok(e)
    }

    /// Translate `vaddr` to a guest physical address (no host pointer needed).
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

    /// Load `size` bytes at guest virtual `vaddr`, zero-extended. `aligned` demands natural alignment.
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
            if e.host != 0 {
                let mut b = [0u8; 8];
                // SAFETY: `host` points at the first byte of a whole 4 KiB guest RAM page inside a
                // `HostSlice` of the memory object of this run (the TLB is flushed at every run start),
                // which stays valid while that object lives; `off + n <= 4096` keeps the read inside it.
                // Concurrent guest writes from other vCPUs are guest-level races on plain bytes.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        (e.host + off as usize) as *const u8,
                        b.as_mut_ptr(),
                        n as usize,
                    );
                }
                return Ok(u64::from_le_bytes(b));
            }
            return phys_read(env, e.ppage | off, size).map_err(|f| mem_exc(kind, f, vaddr));
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
            let byte = phys_read(env, pa, AccessSize::U8)
                .map_err(|f| mem_exc(kind, f, vaddr.wrapping_add(i)))?;
            v |= byte << (8 * i);
        }
        Ok(v)
    }

    /// Store the low `size` bytes of `value` at guest virtual `vaddr`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the access context is passed unbundled"
    )]
    pub fn store(
        &mut self,
        cache: &mut BlockCache,
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
            if e.host != 0 {
                let b = value.to_le_bytes();
                // SAFETY: as for loads; in addition the slice was reported writable and the page holds
                // no translated code (a page becoming a code page flushes the TLB), so no block needs
                // invalidating.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        b.as_ptr(),
                        (e.host + off as usize) as *mut u8,
                        n as usize,
                    );
                }
                return Ok(());
            }
            return phys_write(cache, env, e.ppage | off, size, value)
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
            phys_write(cache, env, pa, AccessSize::U8, value >> (8 * i))
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
}

fn fault_of(f: MemFault) -> FaultKind {
    match f {
        MemFault::Misaligned { .. } => FaultKind::Misaligned,
        MemFault::Unmapped { .. } | MemFault::Denied { .. } | MemFault::BusError { .. } => {
            FaultKind::Access
        }
    }
}

/// Read at a guest physical address: RAM, else the MMIO bus.
pub(crate) fn phys_read(env: &ExecEnv<'_>, pa: u64, size: AccessSize) -> Result<u64, FaultKind> {
    let mut b = [0u8; 8];
    match env.mem.read(GuestPhysAddr(pa), &mut b[..size.bytes()]) {
        Ok(()) => Ok(u64::from_le_bytes(b)),
        Err(MemFault::Unmapped { .. }) => env
            .bus
            .read(GuestPhysAddr(pa), size)
            .map(|v| v & size.mask())
            .map_err(|_| FaultKind::Access),
        Err(f) => Err(fault_of(f)),
    }
}

/// Write at a guest physical address: RAM (invalidating translated code there), else the MMIO bus.
pub(crate) fn phys_write(
    cache: &mut BlockCache,
    env: &ExecEnv<'_>,
    pa: u64,
    size: AccessSize,
    value: u64,
) -> Result<(), FaultKind> {
    let b = value.to_le_bytes();
    match env.mem.write(GuestPhysAddr(pa), &b[..size.bytes()]) {
        Ok(()) => {
            cache.note_write(pa, size.bytes() as u64);
            Ok(())
        }
        Err(MemFault::Unmapped { .. }) => env
            .bus
            .write(GuestPhysAddr(pa), size, value & size.mask())
            .map_err(|_| FaultKind::Access),
        Err(f) => Err(fault_of(f)),
    }
}

/// Atomically read-modify-write the aligned RAM value at `pa` with `f` (a compare-exchange loop).
/// Returns the old value. Device memory does not support atomics (access fault).
pub(crate) fn atomic_rmw(
    cache: &mut BlockCache,
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
                cache.note_write(pa, size.bytes() as u64);
                return Ok(old);
            }
            Err(actual) => old = actual,
        }
    }
}
