//! Mapping guest memory owned by vm-mem into an accelerated VM.
//!
//! [`map_phys_memory`] maps every RAM region of a [`PhysMemory`] read/write and every ROM region
//! read-only, at their guest physical addresses; MMIO windows stay unmapped, so guest accesses there
//! exit as [`VcpuExit::MmioRead`](crate::VcpuExit::MmioRead)/[`MmioWrite`](crate::VcpuExit::MmioWrite)
//! to the machine's device bus. The VM keeps the memory alive ([`AccelVm::retain`]) for as long as it
//! or any of its vCPUs exists, which is what makes this function safe where
//! [`AccelVm::map_memory`] is not.

use std::sync::Arc;

use vm_mem::PhysMemory;

use crate::accel::{AccelVm, MemoryRegion, MemorySlot};
use crate::error::{Error, Result};

/// Map the RAM (read/write) and ROM (read-only) regions of `mem` into `vm`; see the module docs.
/// Returns the slots in the order of the regions.
pub fn map_phys_memory(vm: &mut dyn AccelVm, mem: &Arc<PhysMemory>) -> Result<Vec<MemorySlot>> {
    vm.retain(Arc::clone(mem) as Arc<dyn std::any::Any + Send + Sync>);
    let mut slots = Vec::new();
    for region in mem.regions() {
        let Some(slice) = region.host_slice() else {
            continue;
        };
        let mapped = MemoryRegion {
            guest_addr: slice.gpa,
            host_addr: slice.host,
            size: slice.len,
            read_only: !slice.writable,
        };
        // SAFETY: the host memory belongs to `mem`'s region, which stays mapped while `mem` lives; the
        // VM now holds a reference to `mem` (retained above) that it and every vCPU keep until they are
        // dropped. vm-mem never forms Rust references into guest RAM (it accesses it through raw
        // pointers), so the guest writing it concurrently is sound.
        let slot = unsafe { vm.map_memory(mapped) }.map_err(|e| Error::GuestMemory {
            reason: format!(
                "Cannot map region `{}` ({}+{:#x}): {e}",
                region.name(),
                slice.gpa,
                slice.len
            ),
        })?;
        slots.push(slot);
    }
    Ok(slots)
}
