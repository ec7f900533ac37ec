//! VM-level behaviour on the host's KVM: capability report, memory-slot bookkeeping, vCPU ids, the
//! in-kernel interrupt controller and register round trips. Each test skips, saying why, where
//! `/dev/kvm` cannot be opened.

mod common;

use common::{HostPages, REAL_MODE_CODE, expect_exit, kvm_or_skip, start_real_mode};
use vm_accel::{
    AccelVm, Error, MemoryRegion, MemorySlot, VcpuExit, X86DescriptorTable, X86Regs, X86Segment,
};
use vm_core::GuestPhysAddr;
use vm_core::config::AccelKind;

#[test]
fn info_reports_version_flavor_and_capabilities() {
    let Some(kvm) = kvm_or_skip("info_reports_version_flavor_and_capabilities") else {
        return;
    };
    assert_eq!(kvm.kind(), AccelKind::Kvm);
    let info = kvm.info();
    println!("{info}");
    assert_eq!(
        (info.accel, info.device, info.api_version),
        ("kvm", "/dev/kvm", 12)
    );
    assert!(info.capability("KVM_CAP_USER_MEMORY").unwrap() > 0);
    assert!(info.max_vcpus >= info.recommended_vcpus && info.recommended_vcpus > 0);
    assert!(info.cpuid_entries > 0);
    assert_eq!(info.capabilities.len(), 16);
    #[cfg(all(feature = "acceleration", target_os = "linux", target_arch = "x86_64"))]
    {
        use vm_accel::kvm::{KvmFlavor, kvm_flavor};
        assert_eq!(info.flavor, kvm_flavor().name());
        if std::path::Path::new("/sys/module/kvm_pvm").is_dir() {
            assert_eq!(kvm_flavor(), KvmFlavor::Pvm);
        }
    }
}

#[test]
fn memory_regions_are_validated_and_slots_reused() {
    let Some(kvm) = kvm_or_skip("memory_regions_are_validated_and_slots_reused") else {
        return;
    };
    let ram = HostPages::new(0x4000);
    let mut vm = kvm.create_vm().unwrap();
    let region = |guest: u64, size: u64| MemoryRegion {
        size,
        ..ram.region(guest, false)
    };
    let map = |vm: &mut Box<dyn AccelVm>, r: MemoryRegion| {
        assert!(r.size <= 0x4000, "test regions stay inside `ram`");
        // SAFETY: `r` lies inside `ram`, which was declared before `vm`, so it outlives it.
        unsafe { vm.map_memory(r) }
    };

    assert_eq!(
        map(&mut vm, region(0x1234, 0x1000)),
        Err(Error::Misaligned {
            what: "guest address",
            value: 0x1234,
            align: 0x1000
        })
    );
    assert_eq!(
        map(&mut vm, region(0x1000, 0x800)),
        Err(Error::Misaligned {
            what: "size",
            value: 0x800,
            align: 0x1000
        })
    );
    assert_eq!(
        map(&mut vm, region(0x1000, 0)),
        Err(Error::BadRegionSize {
            guest_addr: GuestPhysAddr(0x1000),
            size: 0
        })
    );
    assert_eq!(
        map(&mut vm, region(u64::MAX - 0xfff, 0x2000)),
        Err(Error::BadRegionSize {
            guest_addr: GuestPhysAddr(u64::MAX - 0xfff),
            size: 0x2000
        })
    );

    assert_eq!(map(&mut vm, region(0x10_0000, 0x2000)), Ok(MemorySlot(0)));
    assert_eq!(
        map(&mut vm, region(0x10_1000, 0x2000)),
        Err(Error::RegionOverlap {
            guest_addr: GuestPhysAddr(0x10_1000),
            size: 0x2000,
            existing_slot: 0,
            existing_addr: GuestPhysAddr(0x10_0000),
            existing_size: 0x2000,
        })
    );
    assert_eq!(map(&mut vm, region(0x10_2000, 0x2000)), Ok(MemorySlot(1)));
    assert_eq!(
        vm.unmap_memory(MemorySlot(0)),
        Ok(region(0x10_0000, 0x2000))
    );
    assert_eq!(
        vm.unmap_memory(MemorySlot(0)),
        Err(Error::UnknownSlot { slot: 0 })
    );
    assert_eq!(
        map(&mut vm, region(0x20_0000, 0x1000)),
        Ok(MemorySlot(0)),
        "slot 0 is reused"
    );
}

#[test]
fn vcpu_ids_are_checked() {
    let Some(kvm) = kvm_or_skip("vcpu_ids_are_checked") else {
        return;
    };
    let mut vm = kvm.create_vm().unwrap();
    let vcpu = vm.create_vcpu(1).unwrap();
    assert_eq!(vcpu.id(), 1);
    assert_eq!(
        vm.create_vcpu(1).err(),
        Some(Error::DuplicateVcpu { id: 1 })
    );
    let err = vm.create_vcpu(u32::MAX).err().unwrap();
    let Error::VcpuId { id, max } = err else {
        panic!("{err:?}")
    };
    assert_eq!(id, u32::MAX);
    assert!(
        u64::from(max) >= kvm.info().max_vcpus,
        "max vCPU id {max} below the vCPU limit"
    );
}

#[test]
fn irqchip_rules_and_in_kernel_pic() {
    let Some(kvm) = kvm_or_skip("irqchip_rules_and_in_kernel_pic") else {
        return;
    };
    let mut late = kvm.create_vm().unwrap();
    assert_eq!(late.set_irq_line(4, true), Err(Error::NoIrqchip { irq: 4 }));
    assert!(late.interrupt_line(4).is_err());
    let _vcpu = late.create_vcpu(0).unwrap();
    assert_eq!(
        late.setup_irqchip(),
        Err(Error::IrqchipAfterVcpus { vcpus: 1 })
    );

    // With the in-kernel PIC, writing its mask register and reading it back never leaves the kernel:
    // the first exit is our own report on port 0x10.
    #[rustfmt::skip]
    let code = [
        0xb0, 0xa5, // mov al, 0xa5
        0xe6, 0x21, // out 0x21, al   (master PIC interrupt mask)
        0xb0, 0x00, // mov al, 0
        0xe4, 0x21, // in al, 0x21
        0xe6, 0x10, // out 0x10, al
    ];
    let ram = HostPages::new(0x1000);
    ram.write(0, &code);
    let mut vm = kvm.create_vm().unwrap();
    vm.setup_irqchip().unwrap();
    assert!(vm.has_irqchip());
    assert_eq!(vm.setup_irqchip(), Err(Error::IrqchipExists));
    vm.set_irq_line(4, true).unwrap();
    vm.set_irq_line(4, false).unwrap();
    vm.interrupt_line(4).unwrap().pulse();
    // SAFETY: `ram` was declared before `vm`, so it outlives it.
    unsafe { vm.map_memory(ram.region(REAL_MODE_CODE, false)) }.unwrap();
    let mut vcpu = vm.create_vcpu(0).unwrap();
    start_real_mode(vcpu.as_mut(), REAL_MODE_CODE);
    expect_exit(
        vcpu.as_mut(),
        VcpuExit::PioOut {
            port: 0x10,
            size: 1,
            data: &[0xa5],
        },
    );
}

#[test]
fn registers_round_trip() {
    let Some(kvm) = kvm_or_skip("registers_round_trip") else {
        return;
    };
    let mut vm = kvm.create_vm().unwrap();
    let mut vcpu = vm.create_vcpu(0).unwrap();
    let regs = X86Regs {
        rax: 1,
        rbx: 2,
        rcx: 3,
        rdx: 4,
        rsi: 5,
        rdi: 6,
        rsp: 7,
        rbp: 8,
        r8: 9,
        r9: 10,
        r10: 11,
        r11: 12,
        r12: 13,
        r13: 14,
        r14: 15,
        r15: 0xffff_ffff_ffff_fff0,
        rip: 0xfff0,
        rflags: 0x202,
    };
    vcpu.set_regs(&regs).unwrap();
    assert_eq!(vcpu.get_regs().unwrap(), regs);

    let mut sregs = vcpu.get_sregs().unwrap();
    sregs.cs = X86Segment::real_mode(0xf000, true);
    sregs.ds = X86Segment::real_mode(0x1234, false);
    sregs.gdt = X86DescriptorTable {
        base: 0x5000,
        limit: 0x27,
    };
    sregs.cr2 = 0xdead_b000;
    vcpu.set_sregs(&sregs).unwrap();
    let back = vcpu.get_sregs().unwrap();
    assert_eq!(
        (back.cs.base, back.cs.selector, back.cs.limit),
        (0xf_0000, 0xf000, 0xffff)
    );
    assert_eq!((back.ds.base, back.ds.selector), (0x1_2340, 0x1234));
    assert_eq!(back.gdt, sregs.gdt);
    assert_eq!(back.cr2, 0xdead_b000);
}
