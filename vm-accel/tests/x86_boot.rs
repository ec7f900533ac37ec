//! The x86 boot set-up (`x86_boot`), guest memory from vm-mem (`map_phys_memory`) and vCPU kicks, on
//! the host's KVM. Every test skips, saying why, where `/dev/kvm` cannot be opened.
#![cfg(all(feature = "acceleration", target_os = "linux", target_arch = "x86_64"))]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{expect_exit, kvm_or_skip};
use vm_accel::x86_boot::{boot_regs, long_mode_sregs, write_boot_tables};
use vm_accel::{AccelVcpu, AccelVm, Accelerator, VcpuExit, map_phys_memory};
use vm_core::GuestPhysAddr;
use vm_mem::PhysMemory;

/// Where the test code is loaded and entered.
const ENTRY: u64 = 0x10_0000;

#[rustfmt::skip]
const CODE: [u8; 29] = [
    0x89, 0xf0,                   // mov eax, esi        (the zero page)
    0xc1, 0xe8, 0x08,             // shr eax, 8
    0xe6, 0x10,                   // out 0x10, al
    0x66, 0x8c, 0xc8,             // mov ax, cs
    0xe6, 0x11,                   // out 0x11, al
    0x66, 0x8c, 0xd0,             // mov ax, ss
    0xe6, 0x12,                   // out 0x12, al
    0x48, 0x89, 0xe0,             // mov rax, rsp
    0x48, 0xc1, 0xe8, 0x08,       // shr rax, 8
    0xe6, 0x13,                   // out 0x13, al
    0xf4,                         // hlt
    0xeb, 0xfe,                   // spin: jmp spin
];

/// A VM with 2 MiB of vm-mem RAM holding the boot tables and `CODE`, and its boot vCPU entered at
/// `entry` the way `x86_64-microvm` enters kernels.
fn boot(
    kvm: &dyn Accelerator,
    entry: u64,
) -> (Arc<PhysMemory>, Box<dyn AccelVm>, Box<dyn AccelVcpu>) {
    let mem = Arc::new(
        PhysMemory::builder()
            .ram("ram", GuestPhysAddr(0), 2 << 20)
            .build()
            .unwrap(),
    );
    write_boot_tables(&mem).unwrap();
    mem.load_image(GuestPhysAddr(ENTRY), &CODE).unwrap();
    let mut vm = kvm.create_vm().unwrap();
    let slots = map_phys_memory(vm.as_mut(), &mem).unwrap();
    assert_eq!(slots.len(), 1);
    let mut vcpu = vm.create_vcpu(0).unwrap();
    let sregs = long_mode_sregs(&vcpu.get_sregs().unwrap());
    vcpu.set_sregs(&sregs).unwrap();
    vcpu.set_regs(&boot_regs(entry)).unwrap();
    (mem, vm, vcpu)
}

#[test]
fn long_mode_entry_follows_the_boot_protocol() {
    let Some(kvm) = kvm_or_skip("long_mode_entry_follows_the_boot_protocol") else {
        return;
    };
    let (_mem, _vm, mut vcpu) = boot(kvm.as_ref(), ENTRY);
    let vcpu = vcpu.as_mut();
    let out = |port, byte| VcpuExit::PioOut {
        port,
        size: 1,
        data: std::slice::from_ref(byte),
    };
    expect_exit(vcpu, out(0x10, &0x70)); // rsi = 0x7000
    expect_exit(vcpu, out(0x11, &0x10)); // __BOOT_CS
    expect_exit(vcpu, out(0x12, &0x18)); // __BOOT_DS
    expect_exit(vcpu, out(0x13, &0x8f)); // rsp = 0x8ff0
    expect_exit(vcpu, VcpuExit::Hlt);
    let sregs = vcpu.get_sregs().unwrap();
    assert_eq!(
        (sregs.cr3, sregs.efer & 0x500),
        (0x9000, 0x500),
        "long mode on the boot tables"
    );
}

#[test]
fn memory_lives_as_long_as_the_vm_and_its_vcpus() {
    let Some(kvm) = kvm_or_skip("memory_lives_as_long_as_the_vm_and_its_vcpus") else {
        return;
    };
    let (mem, vm, vcpu) = boot(kvm.as_ref(), ENTRY);
    assert_eq!(Arc::strong_count(&mem), 2, "the VM holds the memory");
    drop(vm);
    assert_eq!(Arc::strong_count(&mem), 2, "the vCPU still holds it");
    drop(vcpu);
    assert_eq!(Arc::strong_count(&mem), 1);
}

#[test]
fn a_kick_stops_a_spinning_guest_and_clears() {
    let Some(kvm) = kvm_or_skip("a_kick_stops_a_spinning_guest_and_clears") else {
        return;
    };
    // Enter at the `jmp $` loop: the guest never exits on its own.
    let (_mem, _vm, mut vcpu) = boot(kvm.as_ref(), ENTRY + CODE.len() as u64 - 2);
    let kicker = vcpu.kicker();

    // A kick before `run` makes the next run return at once.
    kicker.kick();
    assert_eq!(vcpu.run().unwrap(), VcpuExit::Interrupted);
    assert_eq!(
        vcpu.run().unwrap(),
        VcpuExit::Interrupted,
        "the kick stays until cleared"
    );
    vcpu.clear_kick();

    // A kick from another thread while the vCPU is inside the guest.
    for _ in 0..2 {
        let k = Arc::clone(&kicker);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            k.kick();
        });
        let start = Instant::now();
        assert_eq!(vcpu.run().unwrap(), VcpuExit::Interrupted);
        let waited = start.elapsed();
        t.join().unwrap();
        assert!(
            waited >= Duration::from_millis(40),
            "returned before the kick: {waited:?}"
        );
        assert!(waited < Duration::from_secs(5), "the kick took {waited:?}");
        assert_eq!(vcpu.get_regs().unwrap().rip, ENTRY + CODE.len() as u64 - 2);
        vcpu.clear_kick();
    }
    drop(vcpu);
    kicker.kick(); // a kick after the vCPU is gone does nothing
}

#[test]
fn lapic_and_fpu_set_up_on_an_irqchip_vm() {
    let Some(kvm) = kvm_or_skip("lapic_and_fpu_set_up_on_an_irqchip_vm") else {
        return;
    };
    let mut vm = kvm.create_vm().unwrap();
    let mut vcpu = vm.create_vcpu(0).unwrap();
    assert!(
        vcpu.setup_lapic_virtual_wire().is_err(),
        "no local APIC without the irqchip"
    );
    vcpu.reset_fpu().unwrap();
    let mut vm = kvm.create_vm().unwrap();
    vm.setup_irqchip().unwrap();
    let mut vcpu = vm.create_vcpu(0).unwrap();
    vcpu.setup_lapic_virtual_wire().unwrap();
}
