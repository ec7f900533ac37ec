//! A KVM VM: memory slots, the in-kernel interrupt controllers and vCPU creation.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use kvm_bindings::{
    CpuId, KVM_MEM_READONLY, KVM_PIT_SPEAKER_DUMMY, kvm_pit_config, kvm_userspace_memory_region,
};
use kvm_ioctls::{Cap, VmFd};
use vm_core::GuestPhysAddr;
use vm_core::device::InterruptLine;

use super::vcpu::KvmVcpu;
use crate::accel::{AccelVcpu, AccelVm, MemoryRegion, MemorySlot};
use crate::error::{Error, Result};

/// Where KVM may put the three pages of the real-mode TSS that Intel VMX without "unrestricted guest"
/// needs: just below the 4 GiB BIOS area, where machine memory maps leave a hole.
const TSS_ADDRESS: usize = 0xfffb_d000;

/// A mapped region, with the host address kept as an integer so the VM stays `Send`.
#[derive(Copy, Clone, Debug)]
struct Mapped {
    guest: u64,
    host: usize,
    size: u64,
    read_only: bool,
}

impl Mapped {
    fn region(&self) -> MemoryRegion {
        MemoryRegion {
            guest_addr: GuestPhysAddr(self.guest),
            host_addr: std::ptr::with_exposed_provenance_mut(self.host),
            size: self.size,
            read_only: self.read_only,
        }
    }
}

/// Owners kept alive by [`AccelVm::retain`], shared by the VM and its vCPUs.
type Retained = Arc<Mutex<Vec<Arc<dyn Any + Send + Sync>>>>;

/// A KVM VM. Create it with [`KvmAccelerator::create_kvm_vm`](super::KvmAccelerator::create_kvm_vm)
/// or through the [`Accelerator`](crate::Accelerator) trait.
pub struct KvmVm {
    vm: Arc<VmFd>,
    cpuid: CpuId,
    regions: BTreeMap<u32, Mapped>,
    max_slots: u32,
    max_vcpu_id: u32,
    vcpu_ids: Vec<u32>,
    irqchip: bool,
    page_size: u64,
    retained: Retained,
}

impl std::fmt::Debug for KvmVm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvmVm")
            .field("regions", &self.regions)
            .field("vcpu_ids", &self.vcpu_ids)
            .field("irqchip", &self.irqchip)
            .finish_non_exhaustive()
    }
}

impl KvmVm {
    pub(super) fn new(vm: VmFd, cpuid: CpuId) -> Result<Self> {
        if vm.check_extension(Cap::SetTssAddr) {
            vm.set_tss_address(TSS_ADDRESS)
                .map_err(|e| Error::ioctl("KVM_SET_TSS_ADDR", e))?;
        }
        // Documented fallbacks when a capability is not reported: 32 slots, 4 vCPUs.
        let max_slots = positive(vm.check_extension_int(Cap::NrMemslots)).unwrap_or(32);
        let max_vcpus = positive(vm.check_extension_int(Cap::MaxVcpus))
            .or_else(|| positive(vm.check_extension_int(Cap::NrVcpus)))
            .unwrap_or(4);
        let max_vcpu_id = positive(vm.check_extension_int(Cap::MaxVcpuId)).unwrap_or(max_vcpus);
        Ok(Self {
            vm: Arc::new(vm),
            cpuid,
            regions: BTreeMap::new(),
            max_slots,
            max_vcpu_id,
            vcpu_ids: Vec::new(),
            irqchip: false,
            page_size: page_size(),
            retained: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Create vCPU `id` with its concrete type (what [`AccelVm::create_vcpu`] boxes).
    pub fn create_kvm_vcpu(&mut self, id: u32) -> Result<KvmVcpu> {
        if id >= self.max_vcpu_id {
            return Err(Error::VcpuId {
                id,
                max: self.max_vcpu_id,
            });
        }
        if self.vcpu_ids.contains(&id) {
            return Err(Error::DuplicateVcpu { id });
        }
        super::kick::install_kick_handler()?;
        let fd = self
            .vm
            .create_vcpu(id.into())
            .map_err(|e| Error::ioctl("KVM_CREATE_VCPU", e))?;
        let mut cpuid = self.cpuid.clone();
        set_apic_id(&mut cpuid, id);
        fd.set_cpuid2(&cpuid)
            .map_err(|e| Error::ioctl("KVM_SET_CPUID2", e))?;
        self.vcpu_ids.push(id);
        Ok(KvmVcpu::new(
            fd,
            id,
            self.vm.run_size(),
            Arc::clone(&self.retained),
        ))
    }

    /// The regions mapped now, by slot.
    pub fn regions(&self) -> impl Iterator<Item = (MemorySlot, MemoryRegion)> + '_ {
        self.regions
            .iter()
            .map(|(&slot, m)| (MemorySlot(slot), m.region()))
    }

    fn check_region(&self, region: &MemoryRegion) -> Result<u64> {
        let align = self.page_size;
        let host = u64::try_from(region.host_addr.addr()).unwrap_or(u64::MAX);
        for (what, value) in [
            ("guest address", region.guest_addr.raw()),
            ("size", region.size),
            ("host address", host),
        ] {
            if value % align != 0 {
                return Err(Error::Misaligned { what, value, align });
            }
        }
        let end = region
            .guest_addr
            .raw()
            .checked_add(region.size)
            .filter(|_| region.size > 0)
            .ok_or(Error::BadRegionSize {
                guest_addr: region.guest_addr,
                size: region.size,
            })?;
        if let Some((&slot, m)) = self
            .regions
            .iter()
            .find(|(_, m)| m.guest < end && region.guest_addr.raw() < m.guest + m.size)
        {
            return Err(Error::RegionOverlap {
                guest_addr: region.guest_addr,
                size: region.size,
                existing_slot: slot,
                existing_addr: GuestPhysAddr(m.guest),
                existing_size: m.size,
            });
        }
        Ok(end)
    }

    fn free_slot(&self) -> Result<u32> {
        (0..self.max_slots)
            .zip(
                self.regions
                    .keys()
                    .copied()
                    .chain(std::iter::repeat(u32::MAX)),
            )
            .find(|&(want, have)| want != have)
            .map(|(slot, _)| slot)
            .ok_or(Error::NoFreeSlot {
                max: self.max_slots,
            })
    }

    fn set_slot(&self, slot: u32, m: &Mapped, size: u64) -> Result<()> {
        let flags = if m.read_only { KVM_MEM_READONLY } else { 0 };
        let desc = kvm_userspace_memory_region {
            slot,
            flags,
            guest_phys_addr: m.guest,
            memory_size: size,
            userspace_addr: m.host as u64,
        };
        // SAFETY: when `size` is non-zero, `map_memory`'s caller promised that the host range stays
        // valid while it is mapped; with size 0 the slot is deleted and no memory is referenced.
        unsafe { self.vm.set_user_memory_region(desc) }
            .map_err(|e| Error::ioctl("KVM_SET_USER_MEMORY_REGION", e))
    }
}

impl AccelVm for KvmVm {
    unsafe fn map_memory(&mut self, region: MemoryRegion) -> Result<MemorySlot> {
        self.check_region(&region)?;
        if region.read_only && !self.vm.check_extension(Cap::ReadonlyMem) {
            return Err(Error::MissingCapability {
                cap: "KVM_CAP_READONLY_MEM",
                needed_for: "read-only guest memory",
            });
        }
        let slot = self.free_slot()?;
        let m = Mapped {
            guest: region.guest_addr.raw(),
            host: region.host_addr.expose_provenance(),
            size: region.size,
            read_only: region.read_only,
        };
        self.set_slot(slot, &m, m.size)?;
        self.regions.insert(slot, m);
        Ok(MemorySlot(slot))
    }

    fn unmap_memory(&mut self, slot: MemorySlot) -> Result<MemoryRegion> {
        let m = *self
            .regions
            .get(&slot.0)
            .ok_or(Error::UnknownSlot { slot: slot.0 })?;
        self.set_slot(slot.0, &m, 0)?;
        self.regions.remove(&slot.0);
        Ok(m.region())
    }

    fn setup_irqchip(&mut self) -> Result<()> {
        if self.irqchip {
            return Err(Error::IrqchipExists);
        }
        if !self.vcpu_ids.is_empty() {
            return Err(Error::IrqchipAfterVcpus {
                vcpus: self.vcpu_ids.len(),
            });
        }
        if !self.vm.check_extension(Cap::Irqchip) {
            return Err(Error::MissingCapability {
                cap: "KVM_CAP_IRQCHIP",
                needed_for: "the in-kernel interrupt controller",
            });
        }
        self.vm
            .create_irq_chip()
            .map_err(|e| Error::ioctl("KVM_CREATE_IRQCHIP", e))?;
        self.irqchip = true;
        if self.vm.check_extension(Cap::Pit2) {
            let pit = kvm_pit_config {
                flags: KVM_PIT_SPEAKER_DUMMY,
                ..Default::default()
            };
            self.vm
                .create_pit2(pit)
                .map_err(|e| Error::ioctl("KVM_CREATE_PIT2", e))?;
        } else {
            log::info!("KVM has no KVM_CAP_PIT2: the i8254 timer must be emulated in user space");
        }
        Ok(())
    }

    fn has_irqchip(&self) -> bool {
        self.irqchip
    }

    fn set_irq_line(&self, irq: u32, high: bool) -> Result<()> {
        if !self.irqchip {
            return Err(Error::NoIrqchip { irq });
        }
        self.vm
            .set_irq_line(irq, high)
            .map_err(|e| Error::ioctl("KVM_IRQ_LINE", e))
    }

    fn interrupt_line(&self, irq: u32) -> Result<Arc<dyn InterruptLine>> {
        if !self.irqchip {
            return Err(Error::NoIrqchip { irq });
        }
        Ok(Arc::new(KvmIrqLine {
            vm: Arc::clone(&self.vm),
            irq,
        }))
    }

    fn create_vcpu(&mut self, id: u32) -> Result<Box<dyn AccelVcpu>> {
        Ok(Box::new(self.create_kvm_vcpu(id)?))
    }

    fn retain(&mut self, owner: Arc<dyn Any + Send + Sync>) {
        self.retained
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(owner);
    }
}

/// A GSI of a KVM VM's in-kernel interrupt controller, as a device model sees it.
struct KvmIrqLine {
    vm: Arc<VmFd>,
    irq: u32,
}

impl InterruptLine for KvmIrqLine {
    fn set_level(&self, high: bool) {
        if let Err(e) = self.vm.set_irq_line(self.irq, high) {
            log::warn!("KVM_IRQ_LINE {} := {high} failed: {e}", self.irq);
        }
    }
}

/// Give vCPU `id` its own APIC id in every leaf that reports one.
fn set_apic_id(cpuid: &mut CpuId, id: u32) {
    for entry in cpuid.as_mut_slice() {
        match entry.function {
            // Initial APIC id in EBX[31:24]; ids above 255 need x2APIC and keep the low byte here.
            0x1 => entry.ebx = (entry.ebx & 0x00ff_ffff) | ((id & 0xff) << 24),
            // x2APIC id in EDX of every sub-leaf of the extended topology leaves.
            0xb | 0x1f => entry.edx = id,
            // AMD extended APIC id.
            0x8000_001e => entry.eax = id,
            _ => {}
        }
    }
}

fn positive(v: i32) -> Option<u32> {
    u32::try_from(v).ok().filter(|&v| v > 0)
}

/// The host page size, which KVM requires memory regions to be aligned to.
fn page_size() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n)
        .ok()
        .filter(|n| n.is_power_of_two())
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use kvm_bindings::kvm_cpuid_entry2;

    use super::*;

    #[test]
    fn apic_id_lands_in_every_topology_leaf() {
        let entries = [0x1, 0xb, 0x1f, 0x8000_001e, 0x7].map(|function| kvm_cpuid_entry2 {
            function,
            ebx: 0x0102_0304,
            ..Default::default()
        });
        let mut cpuid = CpuId::from_entries(&entries).unwrap();
        set_apic_id(&mut cpuid, 0x1a5);
        let got: Vec<_> = cpuid
            .as_slice()
            .iter()
            .map(|e| (e.function, e.eax, e.ebx, e.edx))
            .collect();
        assert_eq!(
            got,
            [
                (0x1, 0, 0xa502_0304, 0),
                (0xb, 0, 0x0102_0304, 0x1a5),
                (0x1f, 0, 0x0102_0304, 0x1a5),
                (0x8000_001e, 0x1a5, 0x0102_0304, 0),
                (0x7, 0, 0x0102_0304, 0),
            ]
        );
    }

    #[test]
    fn page_size_is_a_power_of_two() {
        assert!(page_size().is_power_of_two());
    }
}
