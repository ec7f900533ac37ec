//! A KVM vCPU: register access in our own types, and `KVM_RUN` turned into typed exits.

use std::any::Any;
use std::sync::Arc;

use kvm_bindings::{
    KVM_SYSTEM_EVENT_CRASH, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN,
    KVM_SYSTEM_EVENT_SUSPEND, KVM_SYSTEM_EVENT_WAKEUP, kvm_dtable, kvm_fpu, kvm_regs, kvm_run,
    kvm_segment,
};
use kvm_ioctls::{VcpuExit as KvmExit, VcpuFd};
use vm_core::GuestPhysAddr;

use super::kick::{KickState, KvmKicker};
use crate::accel::{AccelVcpu, SystemEventKind, VcpuExit, VcpuKicker};
use crate::error::{Error, PendingRead, Result};
use crate::x86::{X86DescriptorTable, X86Regs, X86Segment, X86Sregs};

/// What the first look at an exit decided; the second look may borrow the exit page.
enum Step {
    Done(VcpuExit<'static>),
    MmioWrite { addr: u64, data: usize, len: usize },
    PioOut { port: u16, data: usize, len: usize },
    PioIn { port: u16, data: usize, len: usize },
    InternalError,
    Other,
}

/// Local APIC register offsets of the LINT0 and LINT1 local vector table entries.
const APIC_LVT_LINT0: usize = 0x350;
const APIC_LVT_LINT1: usize = 0x360;
/// LVT delivery modes (bits 8 to 10).
const APIC_MODE_NMI: u32 = 0x4;
const APIC_MODE_EXTINT: u32 = 0x7;

/// A KVM vCPU. Create it with [`KvmVm::create_kvm_vcpu`](super::KvmVm::create_kvm_vcpu) or through
/// the [`AccelVm`](crate::AccelVm) trait.
pub struct KvmVcpu {
    fd: VcpuFd,
    id: u32,
    run_size: usize,
    /// The read waiting for its data, and where in the `kvm_run` mapping the data goes.
    pending: Option<(PendingRead, usize)>,
    kick: Arc<KickState>,
    /// Memory the guest reaches, kept alive while this vCPU exists (see `AccelVm::retain`).
    _retained: Arc<std::sync::Mutex<Vec<Arc<dyn Any + Send + Sync>>>>,
}

impl std::fmt::Debug for KvmVcpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvmVcpu")
            .field("id", &self.id)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl Drop for KvmVcpu {
    fn drop(&mut self) {
        self.kick.detach();
    }
}

impl KvmVcpu {
    pub(super) fn new(
        mut fd: VcpuFd,
        id: u32,
        run_size: usize,
        retained: Arc<std::sync::Mutex<Vec<Arc<dyn Any + Send + Sync>>>>,
    ) -> Self {
        let run = std::ptr::from_mut(fd.get_kvm_run()).expose_provenance();
        Self {
            fd,
            id,
            run_size,
            pending: None,
            kick: KickState::new(run, std::mem::offset_of!(kvm_run, immediate_exit)),
            _retained: retained,
        }
    }

    /// The read this vCPU waits for, if any.
    pub fn pending_read(&self) -> Option<PendingRead> {
        self.pending.map(|(p, _)| p)
    }

    /// Write the data of the pending read; `mmio` says which kind of read the caller completes.
    fn complete(&mut self, mmio: bool, data: &[u8]) -> Result<()> {
        let (pending, dest) = match self.pending {
            Some((p @ PendingRead::Mmio { .. }, dest)) if mmio => (p, dest),
            Some((p @ PendingRead::Pio { .. }, dest)) if !mmio => (p, dest),
            other => {
                let kind = if mmio { "MMIO" } else { "port I/O" };
                return Err(Error::NoPendingRead {
                    kind,
                    pending: other.map(|(p, _)| p),
                });
            }
        };
        let (PendingRead::Mmio { size, .. } | PendingRead::Pio { size, .. }) = pending;
        if data.len() != size {
            return Err(Error::ReadSizeMismatch {
                expected: size,
                got: data.len(),
            });
        }
        // SAFETY: `dest` is the address of the `size`-byte data buffer kvm-ioctls handed us with the
        // read exit; it lies in this vCPU's `kvm_run` mapping, which lives as long as `self.fd`, and
        // nothing else refers to it until the next `KVM_RUN`, which reads what we write here.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                std::ptr::with_exposed_provenance_mut::<u8>(dest),
                size,
            );
        }
        self.pending = None;
        Ok(())
    }

    /// The data of an exit buffer kvm-ioctls pointed us to, checked to lie in the `kvm_run` mapping.
    fn exit_data(&mut self, what: &'static str, addr: usize, len: usize) -> Result<&[u8]> {
        let run_start = std::ptr::from_mut(self.fd.get_kvm_run()).addr();
        let offset = addr.wrapping_sub(run_start);
        if offset
            .checked_add(len)
            .is_none_or(|end| end > self.run_size)
        {
            return Err(Error::ExitLayout {
                what,
                offset: offset as u64,
                len: len as u64,
                run_size: self.run_size,
            });
        }
        // SAFETY: `addr .. addr + len` lies inside this vCPU's `kvm_run` mapping (checked above) and
        // is the buffer kvm-ioctls pointed us to for this exit. The kernel writes it only during
        // `KVM_RUN`, which needs `&mut self`, so it cannot change while the returned borrow lives.
        Ok(unsafe { std::slice::from_raw_parts(std::ptr::with_exposed_provenance(addr), len) })
    }
}

impl AccelVcpu for KvmVcpu {
    fn id(&self) -> u32 {
        self.id
    }

    fn get_regs(&self) -> Result<X86Regs> {
        let r = self
            .fd
            .get_regs()
            .map_err(|e| Error::ioctl("KVM_GET_REGS", e))?;
        Ok(X86Regs {
            rax: r.rax,
            rbx: r.rbx,
            rcx: r.rcx,
            rdx: r.rdx,
            rsi: r.rsi,
            rdi: r.rdi,
            rsp: r.rsp,
            rbp: r.rbp,
            r8: r.r8,
            r9: r.r9,
            r10: r.r10,
            r11: r.r11,
            r12: r.r12,
            r13: r.r13,
            r14: r.r14,
            r15: r.r15,
            rip: r.rip,
            rflags: r.rflags,
        })
    }

    fn set_regs(&mut self, r: &X86Regs) -> Result<()> {
        let regs = kvm_regs {
            rax: r.rax,
            rbx: r.rbx,
            rcx: r.rcx,
            rdx: r.rdx,
            rsi: r.rsi,
            rdi: r.rdi,
            rsp: r.rsp,
            rbp: r.rbp,
            r8: r.r8,
            r9: r.r9,
            r10: r.r10,
            r11: r.r11,
            r12: r.r12,
            r13: r.r13,
            r14: r.r14,
            r15: r.r15,
            rip: r.rip,
            rflags: r.rflags,
        };
        self.fd
            .set_regs(&regs)
            .map_err(|e| Error::ioctl("KVM_SET_REGS", e))
    }

    fn get_sregs(&self) -> Result<X86Sregs> {
        let s = self
            .fd
            .get_sregs()
            .map_err(|e| Error::ioctl("KVM_GET_SREGS", e))?;
        Ok(X86Sregs {
            cs: segment_from_kvm(&s.cs),
            ds: segment_from_kvm(&s.ds),
            es: segment_from_kvm(&s.es),
            fs: segment_from_kvm(&s.fs),
            gs: segment_from_kvm(&s.gs),
            ss: segment_from_kvm(&s.ss),
            tr: segment_from_kvm(&s.tr),
            ldt: segment_from_kvm(&s.ldt),
            gdt: X86DescriptorTable {
                base: s.gdt.base,
                limit: s.gdt.limit,
            },
            idt: X86DescriptorTable {
                base: s.idt.base,
                limit: s.idt.limit,
            },
            cr0: s.cr0,
            cr2: s.cr2,
            cr3: s.cr3,
            cr4: s.cr4,
            cr8: s.cr8,
            efer: s.efer,
            apic_base: s.apic_base,
        })
    }

    fn set_sregs(&mut self, s: &X86Sregs) -> Result<()> {
        // Read first so that the pending-interrupt bitmap, which we do not model, is kept.
        let mut k = self
            .fd
            .get_sregs()
            .map_err(|e| Error::ioctl("KVM_GET_SREGS", e))?;
        for (dst, src) in [
            (&mut k.cs, &s.cs),
            (&mut k.ds, &s.ds),
            (&mut k.es, &s.es),
            (&mut k.fs, &s.fs),
            (&mut k.gs, &s.gs),
            (&mut k.ss, &s.ss),
            (&mut k.tr, &s.tr),
            (&mut k.ldt, &s.ldt),
        ] {
            *dst = segment_to_kvm(src);
        }
        k.gdt = kvm_dtable {
            base: s.gdt.base,
            limit: s.gdt.limit,
            ..Default::default()
        };
        k.idt = kvm_dtable {
            base: s.idt.base,
            limit: s.idt.limit,
            ..Default::default()
        };
        (k.cr0, k.cr2, k.cr3, k.cr4, k.cr8) = (s.cr0, s.cr2, s.cr3, s.cr4, s.cr8);
        (k.efer, k.apic_base) = (s.efer, s.apic_base);
        self.fd
            .set_sregs(&k)
            .map_err(|e| Error::ioctl("KVM_SET_SREGS", e))
    }

    fn run(&mut self) -> Result<VcpuExit<'_>> {
        if let Some((pending, _)) = self.pending {
            return Err(Error::ReadNotCompleted { pending });
        }
        self.kick.running(true);
        let result = self.fd.run();
        self.kick.running(false);
        let step = match result {
            Err(e) if e.errno() == libc::EINTR => Step::Done(VcpuExit::Interrupted),
            Err(e) => return Err(Error::ioctl("KVM_RUN", e)),
            Ok(exit) => match exit {
                KvmExit::MmioRead(addr, data) => {
                    let size = data.len();
                    let pending = PendingRead::Mmio {
                        addr: GuestPhysAddr(addr),
                        size,
                    };
                    self.pending = Some((pending, data.as_mut_ptr().expose_provenance()));
                    Step::Done(VcpuExit::MmioRead {
                        addr: GuestPhysAddr(addr),
                        size,
                    })
                }
                KvmExit::MmioWrite(addr, data) => Step::MmioWrite {
                    addr,
                    data: data.as_ptr().expose_provenance(),
                    len: data.len(),
                },
                KvmExit::IoOut(port, data) => Step::PioOut {
                    port,
                    data: data.as_ptr().expose_provenance(),
                    len: data.len(),
                },
                KvmExit::IoIn(port, data) => Step::PioIn {
                    port,
                    data: data.as_mut_ptr().expose_provenance(),
                    len: data.len(),
                },
                KvmExit::Hlt => Step::Done(VcpuExit::Hlt),
                KvmExit::Shutdown => Step::Done(VcpuExit::Shutdown),
                KvmExit::Intr => Step::Done(VcpuExit::Interrupted),
                KvmExit::FailEntry(reason, cpu) => Step::Done(VcpuExit::FailEntry { reason, cpu }),
                KvmExit::SystemEvent(kind, _) => Step::Done(VcpuExit::SystemEvent {
                    kind: system_event(kind),
                }),
                KvmExit::InternalError => Step::InternalError,
                _ => Step::Other,
            },
        };
        match step {
            Step::Done(exit) => Ok(exit),
            Step::MmioWrite { addr, data, len } => Ok(VcpuExit::MmioWrite {
                addr: GuestPhysAddr(addr),
                data: self.exit_data("MMIO write data", data, len)?,
            }),
            Step::PioOut { port, data, len } => {
                let size = self.pio_size();
                Ok(VcpuExit::PioOut {
                    port,
                    size,
                    data: self.exit_data("port output data", data, len)?,
                })
            }
            Step::PioIn { port, data, len } => {
                self.exit_data("port input buffer", data, len)?;
                let size = self.pio_size();
                let count = u32::try_from(len.checked_div(size).unwrap_or(0)).unwrap_or(u32::MAX);
                self.pending = Some((PendingRead::Pio { port, size: len }, data));
                Ok(VcpuExit::PioIn { port, size, count })
            }
            Step::InternalError => {
                // SAFETY: the exit reason is KVM_EXIT_INTERNAL_ERROR, so `internal` is the union
                // member the kernel filled in.
                let suberror = unsafe { self.fd.get_kvm_run().__bindgen_anon_1.internal.suberror };
                Ok(VcpuExit::InternalError { suberror })
            }
            Step::Other => Ok(VcpuExit::Other {
                code: self.fd.get_kvm_run().exit_reason,
            }),
        }
    }

    fn complete_mmio_read(&mut self, data: &[u8]) -> Result<()> {
        self.complete(true, data)
    }

    fn complete_pio_in(&mut self, data: &[u8]) -> Result<()> {
        self.complete(false, data)
    }

    fn kicker(&self) -> Arc<dyn VcpuKicker> {
        Arc::new(KvmKicker(Arc::clone(&self.kick)))
    }

    fn clear_kick(&mut self) {
        self.kick.set_immediate_exit(0);
    }

    fn setup_lapic_virtual_wire(&mut self) -> Result<()> {
        let mut lapic = self
            .fd
            .get_lapic()
            .map_err(|e| Error::ioctl("KVM_GET_LAPIC", e))?;
        for (reg, mode) in [
            (APIC_LVT_LINT0, APIC_MODE_EXTINT),
            (APIC_LVT_LINT1, APIC_MODE_NMI),
        ] {
            let Some(bytes) = lapic.regs.get_mut(reg..reg + 4) else {
                continue;
            };
            let old = u32::from_le_bytes([
                bytes[0] as u8,
                bytes[1] as u8,
                bytes[2] as u8,
                bytes[3] as u8,
            ]);
            let new = (old & !0x700) | (mode << 8);
            for (dst, src) in bytes.iter_mut().zip(new.to_le_bytes()) {
                *dst = src as _;
            }
        }
        self.fd
            .set_lapic(&lapic)
            .map_err(|e| Error::ioctl("KVM_SET_LAPIC", e))
    }

    fn reset_fpu(&mut self) -> Result<()> {
        let fpu = kvm_fpu {
            fcw: 0x37f,
            mxcsr: 0x1f80,
            ..Default::default()
        };
        self.fd
            .set_fpu(&fpu)
            .map_err(|e| Error::ioctl("KVM_SET_FPU", e))
    }
}

impl KvmVcpu {
    /// The access width of the current `KVM_EXIT_IO`.
    fn pio_size(&mut self) -> usize {
        // SAFETY: only called for KVM_EXIT_IO exits, for which `io` is the member the kernel filled in.
        usize::from(unsafe { self.fd.get_kvm_run().__bindgen_anon_1.io.size })
    }
}

fn system_event(kind: u32) -> SystemEventKind {
    match kind {
        KVM_SYSTEM_EVENT_SHUTDOWN => SystemEventKind::Shutdown,
        KVM_SYSTEM_EVENT_RESET => SystemEventKind::Reset,
        KVM_SYSTEM_EVENT_CRASH => SystemEventKind::Crash,
        KVM_SYSTEM_EVENT_WAKEUP => SystemEventKind::Wakeup,
        KVM_SYSTEM_EVENT_SUSPEND => SystemEventKind::Suspend,
        other => SystemEventKind::Other(other),
    }
}

fn segment_from_kvm(s: &kvm_segment) -> X86Segment {
    X86Segment {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        seg_type: s.type_,
        present: s.present != 0,
        dpl: s.dpl,
        db: s.db != 0,
        s: s.s != 0,
        l: s.l != 0,
        granularity: s.g != 0,
        avl: s.avl != 0,
        unusable: s.unusable != 0,
    }
}

fn segment_to_kvm(s: &X86Segment) -> kvm_segment {
    kvm_segment {
        base: s.base,
        limit: s.limit,
        selector: s.selector,
        type_: s.seg_type & 0xf,
        present: s.present.into(),
        dpl: s.dpl & 3,
        db: s.db.into(),
        s: s.s.into(),
        l: s.l.into(),
        g: s.granularity.into(),
        avl: s.avl.into(),
        unusable: s.unusable.into(),
        padding: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_through_kvm_layout() {
        for seg in [
            X86Segment::real_mode(0xf000, true),
            X86Segment::flat64_code(0x8, 0),
            X86Segment::flat_data(0x2b, 3),
            X86Segment {
                unusable: true,
                avl: true,
                ..Default::default()
            },
        ] {
            assert_eq!(segment_from_kvm(&segment_to_kvm(&seg)), seg);
        }
    }

    #[test]
    fn system_events_are_typed() {
        assert_eq!(system_event(KVM_SYSTEM_EVENT_RESET), SystemEventKind::Reset);
        assert_eq!(system_event(KVM_SYSTEM_EVENT_CRASH), SystemEventKind::Crash);
        assert_eq!(system_event(99), SystemEventKind::Other(99));
    }
}
