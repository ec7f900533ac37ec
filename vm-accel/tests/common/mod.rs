//! Shared helpers for the KVM integration tests: open KVM or skip, host pages for guest RAM, and a
//! one-vCPU guest set up in real mode or long mode.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the helpers"
)]

use vm_accel::{AccelVcpu, AccelVm, Accelerator, MemoryRegion, RFLAGS_FIXED, VcpuExit, X86Regs};
use vm_core::GuestPhysAddr;
use vm_core::config::AccelKind;

/// Open KVM, or print why the test is skipped and return `None`. An accelerator that exists but fails
/// for another reason fails the test.
pub fn kvm_or_skip(test: &str) -> Option<Box<dyn Accelerator>> {
    match vm_accel::probe(AccelKind::Kvm) {
        Ok(accel) => Some(accel),
        Err(e) if e.is_unavailable() => {
            println!("SKIPPED {test}: KVM is not usable here: {e}");
            None
        }
        Err(e) => panic!("{test}: KVM is present but failed: {e}"),
    }
}

/// Anonymous, page-aligned host memory that backs guest RAM in a test.
pub struct HostPages {
    ptr: *mut u8,
    len: usize,
}

impl HostPages {
    /// `len` bytes of zeroed memory (a multiple of the page size).
    pub fn new(len: usize) -> Self {
        // SAFETY: an anonymous private mapping with no address hint has no preconditions.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap of {len} bytes failed");
        Self {
            ptr: ptr.cast(),
            len,
        }
    }

    /// Copy `bytes` to `offset`.
    pub fn write(&self, offset: usize, bytes: &[u8]) {
        assert!(
            offset + bytes.len() <= self.len,
            "write past the end of the test memory"
        );
        // SAFETY: the range is inside our mapping (checked above) and no vCPU runs concurrently.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.ptr.wrapping_add(offset),
                bytes.len(),
            )
        }
    }

    /// Read the byte at `offset`.
    pub fn read(&self, offset: usize) -> u8 {
        assert!(offset < self.len, "read past the end of the test memory");
        // SAFETY: inside our mapping (checked above); no vCPU runs concurrently.
        unsafe { self.ptr.wrapping_add(offset).read() }
    }

    /// The whole mapping as a region at `guest`.
    pub fn region(&self, guest: u64, read_only: bool) -> MemoryRegion {
        MemoryRegion {
            guest_addr: GuestPhysAddr(guest),
            host_addr: self.ptr,
            size: self.len as u64,
            read_only,
        }
    }
}

impl Drop for HostPages {
    fn drop(&mut self) {
        // SAFETY: we own the mapping; the VM that used it was dropped before (see `Guest`'s field order).
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// A VM with one vCPU and RAM. Fields drop in order: vCPU, VM, then the RAM they point into.
pub struct Guest {
    pub vcpu: Box<dyn AccelVcpu>,
    pub vm: Box<dyn AccelVm>,
    pub ram: HostPages,
}

/// Where `real_mode` maps its RAM page and places the code.
pub const REAL_MODE_CODE: u64 = 0x1000;

/// A guest with one RAM page at 0x1000 holding `code`, the vCPU in real mode at 0x0000:0x1000.
pub fn real_mode(accel: &dyn Accelerator, code: &[u8]) -> Guest {
    let ram = HostPages::new(0x1000);
    ram.write(0, code);
    let mut vm = accel.create_vm().expect("create VM");
    // SAFETY: `ram` outlives the VM (it is the last field of `Guest`).
    unsafe { vm.map_memory(ram.region(REAL_MODE_CODE, false)) }.expect("map RAM");
    let mut vcpu = vm.create_vcpu(0).expect("create vCPU");
    start_real_mode(vcpu.as_mut(), REAL_MODE_CODE);
    Guest { vcpu, vm, ram }
}

/// Put `vcpu` in real mode with flat segments at `rip`, all general registers zero.
pub fn start_real_mode(vcpu: &mut dyn AccelVcpu, rip: u64) {
    let mut sregs = vcpu.get_sregs().expect("get sregs");
    sregs.set_real_mode_flat();
    vcpu.set_sregs(&sregs).expect("set sregs");
    vcpu.set_regs(&X86Regs {
        rip,
        rflags: RFLAGS_FIXED,
        ..Default::default()
    })
    .expect("set regs");
}

/// Run `vcpu` once and assert the exit.
#[track_caller]
pub fn expect_exit(vcpu: &mut dyn AccelVcpu, want: VcpuExit<'_>) {
    let got = vcpu.run().expect("KVM_RUN");
    assert_eq!(got, want);
}

/// Where `long_mode` places the code.
pub const LONG_MODE_CODE: u64 = 0x4000;
/// Top of the stack `long_mode` sets up.
pub const LONG_MODE_STACK: u64 = 0x8000;

/// A guest with 32 KiB of RAM at 0 and the vCPU in 64-bit mode at ring 0 running `code` from 0x4000,
/// with the stack below 0x8000. Page tables: PML4 at 0x1000, PDPT at 0x2000, PD at 0x3000 with one
/// 2 MiB identity page, so addresses from 0x8000 to 2 MiB are mapped by paging but have no RAM (MMIO).
pub fn long_mode(accel: &dyn Accelerator, code: &[u8]) -> Guest {
    let ram = HostPages::new(0x8000);
    ram.write(0x1000, &(0x2000u64 | 0x3).to_le_bytes()); // present, writable
    ram.write(0x2000, &(0x3000u64 | 0x3).to_le_bytes());
    ram.write(0x3000, &0x83u64.to_le_bytes()); // present, writable, 2 MiB page at 0
    ram.write(LONG_MODE_CODE as usize, code);
    let mut vm = accel.create_vm().expect("create VM");
    // SAFETY: `ram` outlives the VM (it is the last field of `Guest`).
    unsafe { vm.map_memory(ram.region(0, false)) }.expect("map RAM");
    let mut vcpu = vm.create_vcpu(0).expect("create vCPU");
    let mut sregs = vcpu.get_sregs().expect("get sregs");
    sregs.set_long_mode_flat(0x1000);
    vcpu.set_sregs(&sregs).expect("set sregs");
    let regs = X86Regs {
        rip: LONG_MODE_CODE,
        rsp: LONG_MODE_STACK,
        rflags: RFLAGS_FIXED,
        ..Default::default()
    };
    vcpu.set_regs(&regs).expect("set regs");
    Guest { vcpu, vm, ram }
}
