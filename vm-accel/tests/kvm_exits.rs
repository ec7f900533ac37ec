//! Tiny hand-assembled guest programs run on the host's KVM; each test asserts the exact exit sequence
//! and the registers afterwards. Every test skips, saying why, where `/dev/kvm` cannot be opened.
//!
//! The programs are a handful of instructions because under PVM guest ring-0 code is emulated.

mod common;

use common::{
    HostPages, LONG_MODE_CODE, REAL_MODE_CODE, expect_exit, kvm_or_skip, long_mode, real_mode,
};
use vm_accel::{Error, PendingRead, VcpuExit, X86DescriptorTable};
use vm_core::GuestPhysAddr;

#[test]
fn real_mode_port_and_mmio_exits() {
    let Some(kvm) = kvm_or_skip("real_mode_port_and_mmio_exits") else {
        return;
    };
    #[rustfmt::skip]
    let code = [
        0xb0, 0x42,                   // mov al, 0x42
        0xe6, 0x10,                   // out 0x10, al
        0xc6, 0x06, 0x00, 0x20, 0x99, // mov byte [0x2000], 0x99   (no RAM there)
        0x8b, 0x1e, 0x00, 0x30,       // mov bx, [0x3000]          (no RAM there)
        0xe4, 0x60,                   // in al, 0x60
        0xf4,                         // hlt
    ];
    let mut guest = real_mode(kvm.as_ref(), &code);
    let vcpu = guest.vcpu.as_mut();

    expect_exit(
        vcpu,
        VcpuExit::PioOut {
            port: 0x10,
            size: 1,
            data: &[0x42],
        },
    );
    expect_exit(
        vcpu,
        VcpuExit::MmioWrite {
            addr: GuestPhysAddr(0x2000),
            data: &[0x99],
        },
    );
    expect_exit(
        vcpu,
        VcpuExit::MmioRead {
            addr: GuestPhysAddr(0x3000),
            size: 2,
        },
    );
    vcpu.complete_mmio_read(&[0x34, 0x12]).unwrap();
    expect_exit(
        vcpu,
        VcpuExit::PioIn {
            port: 0x60,
            size: 1,
            count: 1,
        },
    );
    vcpu.complete_pio_in(&[0x77]).unwrap();
    expect_exit(vcpu, VcpuExit::Hlt);

    let regs = vcpu.get_regs().unwrap();
    assert_eq!(regs.rax, 0x77, "in al, 0x60 got the completed byte");
    assert_eq!(
        regs.rbx, 0x1234,
        "the MMIO read landed in bx, little-endian"
    );
    assert_eq!(
        regs.rip,
        REAL_MODE_CODE + code.len() as u64,
        "rip is past hlt"
    );
}

#[test]
fn sixteen_bit_port_io_through_dx() {
    let Some(kvm) = kvm_or_skip("sixteen_bit_port_io_through_dx") else {
        return;
    };
    #[rustfmt::skip]
    let code = [
        0xba, 0xf8, 0x03, // mov dx, 0x3f8
        0xb8, 0xef, 0xbe, // mov ax, 0xbeef
        0xef,             // out dx, ax
        0x42,             // inc dx
        0xed,             // in ax, dx
        0xf4,             // hlt
    ];
    let mut guest = real_mode(kvm.as_ref(), &code);
    let vcpu = guest.vcpu.as_mut();

    expect_exit(
        vcpu,
        VcpuExit::PioOut {
            port: 0x3f8,
            size: 2,
            data: &[0xef, 0xbe],
        },
    );
    expect_exit(
        vcpu,
        VcpuExit::PioIn {
            port: 0x3f9,
            size: 2,
            count: 1,
        },
    );
    vcpu.complete_pio_in(&[0x0d, 0xf0]).unwrap();
    expect_exit(vcpu, VcpuExit::Hlt);
    let regs = vcpu.get_regs().unwrap();
    assert_eq!((regs.rax, regs.rdx), (0xf00d, 0x3f9));
}

#[test]
fn read_only_memory_reads_but_writes_exit() {
    let Some(kvm) = kvm_or_skip("read_only_memory_reads_but_writes_exit") else {
        return;
    };
    #[rustfmt::skip]
    let code = [
        0xa0, 0x00, 0x50,             // mov al, [0x5000]
        0xe6, 0x10,                   // out 0x10, al
        0xc6, 0x06, 0x00, 0x50, 0x55, // mov byte [0x5000], 0x55   (read-only: exits)
        0xa0, 0x00, 0x50,             // mov al, [0x5000]
        0xe6, 0x11,                   // out 0x11, al
        0xf4,                         // hlt
    ];
    let rom = HostPages::new(0x1000);
    rom.write(0, &[0xab]);
    let mut guest = real_mode(kvm.as_ref(), &code);
    // SAFETY: `rom` outlives the VM: it was declared first, so it is dropped last.
    let slot = unsafe { guest.vm.map_memory(rom.region(0x5000, true)) }.unwrap();
    let vcpu = guest.vcpu.as_mut();

    expect_exit(
        vcpu,
        VcpuExit::PioOut {
            port: 0x10,
            size: 1,
            data: &[0xab],
        },
    );
    expect_exit(
        vcpu,
        VcpuExit::MmioWrite {
            addr: GuestPhysAddr(0x5000),
            data: &[0x55],
        },
    );
    expect_exit(
        vcpu,
        VcpuExit::PioOut {
            port: 0x11,
            size: 1,
            data: &[0xab],
        },
    );
    expect_exit(vcpu, VcpuExit::Hlt);
    assert_eq!(
        rom.read(0),
        0xab,
        "the guest's write did not reach read-only memory"
    );
    assert_eq!(
        guest.vm.unmap_memory(slot).unwrap(),
        rom.region(0x5000, true)
    );
}

#[test]
fn long_mode_mmio_write_and_completed_read() {
    let Some(kvm) = kvm_or_skip("long_mode_mmio_write_and_completed_read") else {
        return;
    };
    #[rustfmt::skip]
    let code = [
        0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, // mov rax, 0x1122334455667788
        0x48, 0xa3, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, // mov [0x100000], rax
        0x48, 0x8b, 0x1c, 0x25, 0x08, 0x00, 0x10, 0x00,             // mov rbx, [0x100008]
        0xf4,                                                       // hlt
    ];
    let mut guest = long_mode(kvm.as_ref(), &code);
    let vcpu = guest.vcpu.as_mut();

    let stored = 0x1122_3344_5566_7788u64.to_le_bytes();
    expect_exit(
        vcpu,
        VcpuExit::MmioWrite {
            addr: GuestPhysAddr(0x10_0000),
            data: &stored,
        },
    );
    expect_exit(
        vcpu,
        VcpuExit::MmioRead {
            addr: GuestPhysAddr(0x10_0008),
            size: 8,
        },
    );
    vcpu.complete_mmio_read(&0xdead_beef_cafe_f00du64.to_le_bytes())
        .unwrap();
    expect_exit(vcpu, VcpuExit::Hlt);

    let regs = vcpu.get_regs().unwrap();
    assert_eq!(regs.rbx, 0xdead_beef_cafe_f00d);
    assert_eq!(regs.rax, 0x1122_3344_5566_7788);
    assert_eq!(regs.rip, LONG_MODE_CODE + code.len() as u64);
    let sregs = vcpu.get_sregs().unwrap();
    assert!(sregs.cs.l, "still in 64-bit mode");
}

#[test]
fn triple_fault_is_shutdown() {
    let Some(kvm) = kvm_or_skip("triple_fault_is_shutdown") else {
        return;
    };
    // With an empty IDT, the #UD of `ud2` cannot be delivered, nor can the #GP and #DF that follow:
    // the CPU shuts down.
    let mut guest = long_mode(kvm.as_ref(), &[0x0f, 0x0b, 0xf4]);
    let vcpu = guest.vcpu.as_mut();
    let mut sregs = vcpu.get_sregs().unwrap();
    sregs.idt = X86DescriptorTable { base: 0, limit: 0 };
    vcpu.set_sregs(&sregs).unwrap();
    expect_exit(vcpu, VcpuExit::Shutdown);
}

#[test]
fn cpuid_reports_the_vcpu_apic_id() {
    let Some(kvm) = kvm_or_skip("cpuid_reports_the_vcpu_apic_id") else {
        return;
    };
    #[rustfmt::skip]
    let code = [
        0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1
        0x0f, 0xa2,                         // cpuid
        0x66, 0xc1, 0xeb, 0x18,             // shr ebx, 24
        0x88, 0xd8,                         // mov al, bl
        0xe6, 0x10,                         // out 0x10, al
        0xf4,                               // hlt
    ];
    let ram = HostPages::new(0x1000);
    ram.write(0, &code);
    let mut vm = kvm.create_vm().unwrap();
    // SAFETY: `ram` was declared before `vm`, so it is dropped after it.
    unsafe { vm.map_memory(ram.region(REAL_MODE_CODE, false)) }.unwrap();
    let mut vcpu = vm.create_vcpu(3).unwrap();
    common::start_real_mode(vcpu.as_mut(), REAL_MODE_CODE);
    expect_exit(
        vcpu.as_mut(),
        VcpuExit::PioOut {
            port: 0x10,
            size: 1,
            data: &[3],
        },
    );
    expect_exit(vcpu.as_mut(), VcpuExit::Hlt);
}

#[test]
fn read_completions_are_checked() {
    let Some(kvm) = kvm_or_skip("read_completions_are_checked") else {
        return;
    };
    #[rustfmt::skip]
    let code = [
        0x8b, 0x1e, 0x00, 0x30, // mov bx, [0x3000]
        0xe4, 0x60,             // in al, 0x60
        0xf4,                   // hlt
    ];
    let mut guest = real_mode(kvm.as_ref(), &code);
    let vcpu = guest.vcpu.as_mut();
    assert_eq!(
        vcpu.complete_mmio_read(&[1, 2]),
        Err(Error::NoPendingRead {
            kind: "MMIO",
            pending: None
        })
    );

    expect_exit(
        vcpu,
        VcpuExit::MmioRead {
            addr: GuestPhysAddr(0x3000),
            size: 2,
        },
    );
    let pending = PendingRead::Mmio {
        addr: GuestPhysAddr(0x3000),
        size: 2,
    };
    assert_eq!(vcpu.run().err(), Some(Error::ReadNotCompleted { pending }));
    assert_eq!(
        vcpu.complete_pio_in(&[1]),
        Err(Error::NoPendingRead {
            kind: "port I/O",
            pending: Some(pending)
        })
    );
    assert_eq!(
        vcpu.complete_mmio_read(&[1]),
        Err(Error::ReadSizeMismatch {
            expected: 2,
            got: 1
        })
    );
    vcpu.complete_mmio_read(&[0xcd, 0xab]).unwrap();

    expect_exit(
        vcpu,
        VcpuExit::PioIn {
            port: 0x60,
            size: 1,
            count: 1,
        },
    );
    assert_eq!(
        vcpu.complete_pio_in(&[1, 2]),
        Err(Error::ReadSizeMismatch {
            expected: 1,
            got: 2
        })
    );
    vcpu.complete_pio_in(&[0x5a]).unwrap();
    expect_exit(vcpu, VcpuExit::Hlt);
    let regs = vcpu.get_regs().unwrap();
    assert_eq!((regs.rbx, regs.rax), (0xabcd, 0x5a));
}
