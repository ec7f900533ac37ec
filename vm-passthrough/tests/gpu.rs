//! GPU passthrough planning from a fake sysfs tree (feature `gpu`).
#![cfg(feature = "gpu")]

mod common;

use common::{Dev, FakeSysfs};
use vm_passthrough::gpu::{
    self, CompanionKind, GpuPassthroughPlan, GpuVendor, MmioNeeds, PlanNote,
};
use vm_passthrough::{GroupMember, PassthroughError, PciAddress};

fn addr(s: &str) -> PciAddress {
    s.parse().unwrap()
}

const GPU_BARS: [&str; 7] = [
    "0x00000000fb000000 0x00000000fbffffff 0x0000000000040200",
    "0x0000006000000000 0x00000067ffffffff 0x000000000014220c",
    common::UNUSED,
    "0x0000006800000000 0x0000006801ffffff 0x000000000014220c",
    common::UNUSED,
    "0x000000000000e000 0x000000000000e07f 0x0000000000040101",
    "0x00000000fc000000 0x00000000fc07ffff 0x0000000000046200",
];

/// NVIDIA GPU with audio, USB-C and UCSI functions in group 20 (all vfio-pci); an AMD GPU whose audio
/// function is still bound to snd_hda_intel (group 30); an Intel iGPU at 00:02.0 bound to i915 (group 1);
/// an NVMe drive.
fn host() -> FakeSysfs {
    let fake = FakeSysfs::new();
    fake.make_groups_dir();
    let vfio = Some("vfio-pci");
    for d in [
        Dev {
            addr: "0000:00:02.0",
            vendor: 0x8086,
            device: 0x3e92,
            class: 0x030000,
            driver: Some("i915"),
            group: Some(1),
        },
        Dev {
            addr: "0000:01:00.0",
            vendor: 0x10de,
            device: 0x1e87,
            class: 0x030000,
            driver: vfio,
            group: Some(20),
        },
        Dev {
            addr: "0000:01:00.1",
            vendor: 0x10de,
            device: 0x10f8,
            class: 0x040300,
            driver: vfio,
            group: Some(20),
        },
        Dev {
            addr: "0000:01:00.2",
            vendor: 0x10de,
            device: 0x1ad8,
            class: 0x0c0330,
            driver: vfio,
            group: Some(20),
        },
        Dev {
            addr: "0000:01:00.3",
            vendor: 0x10de,
            device: 0x1ad9,
            class: 0x0c8000,
            driver: vfio,
            group: Some(20),
        },
        Dev {
            addr: "0000:02:00.0",
            vendor: 0x144d,
            device: 0xa808,
            class: 0x010802,
            driver: Some("nvme"),
            group: Some(21),
        },
        Dev {
            addr: "0000:03:00.0",
            vendor: 0x1002,
            device: 0x73bf,
            class: 0x030000,
            driver: vfio,
            group: Some(30),
        },
        Dev {
            addr: "0000:03:00.1",
            vendor: 0x1002,
            device: 0xab28,
            class: 0x040300,
            driver: Some("snd_hda_intel"),
            group: Some(30),
        },
    ] {
        fake.add(d);
    }
    fake.set_resource("0000:01:00.0", &GPU_BARS);
    fake.set_resource(
        "0000:01:00.1",
        &["0x00000000fc080000 0x00000000fc083fff 0x0000000000040200"],
    );
    fake.write("sys/bus/pci/devices/0000:00:02.0/boot_vga", "1\n");
    fake.write("sys/bus/pci/devices/0000:01:00.0/boot_vga", "0\n");
    fake
}

#[test]
fn finds_gpus_by_vendor_with_companions() {
    let fake = host();
    let gpus = gpu::find_gpus(&fake.sysfs()).unwrap();
    let summary: Vec<_> = gpus
        .iter()
        .map(|g| {
            let companions: Vec<_> = g
                .companions
                .iter()
                .map(|c| (c.device.address.to_string(), c.kind))
                .collect();
            (
                g.device.address.to_string(),
                g.vendor,
                g.boot_vga,
                companions,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("0000:00:02.0".to_owned(), GpuVendor::Intel, true, vec![]),
            (
                "0000:01:00.0".to_owned(),
                GpuVendor::Nvidia,
                false,
                vec![
                    ("0000:01:00.1".to_owned(), CompanionKind::Audio),
                    ("0000:01:00.2".to_owned(), CompanionKind::Usb),
                    ("0000:01:00.3".to_owned(), CompanionKind::SerialBus),
                ]
            ),
            (
                "0000:03:00.0".to_owned(),
                GpuVendor::Amd,
                false,
                vec![("0000:03:00.1".to_owned(), CompanionKind::Audio)]
            ),
        ]
    );
    assert_eq!(gpus[1].bars.len(), 5);
}

#[test]
fn plan_for_a_ready_nvidia_gpu() {
    let fake = host();
    let plan = GpuPassthroughPlan::new(&fake.sysfs(), addr("0000:01:00.0")).unwrap();
    assert_eq!(
        plan.assign,
        [
            "0000:01:00.0",
            "0000:01:00.1",
            "0000:01:00.2",
            "0000:01:00.3"
        ]
        .map(addr)
        .to_vec()
    );
    assert_eq!(plan.groups, vec![20]);
    assert_eq!(
        plan.group_nodes(),
        vec![std::path::PathBuf::from("/dev/vfio/20")]
    );
    assert_eq!(plan.group_members.len(), 4);
    assert_eq!(
        plan.mmio,
        MmioNeeds {
            mem32: (16 << 20) + (16 << 10),
            mem64: (32 << 30) + (32 << 20),
            io: 128,
            rom: 512 << 10,
            largest_bar: 32 << 30,
        }
    );
    assert_eq!(
        plan.notes,
        vec![PlanNote::LargeBar {
            address: addr("0000:01:00.0"),
            index: 1,
            size: 32 << 30
        }]
    );
}

#[test]
fn plan_errors_are_typed() {
    let fake = host();
    let sysfs = fake.sysfs();
    match GpuPassthroughPlan::new(&sysfs, addr("0000:02:00.0")) {
        Err(PassthroughError::NotAGpu { address, class }) => {
            assert_eq!((address, class), (addr("0000:02:00.0"), 0x010802))
        }
        other => panic!("{other:?}"),
    }
    match GpuPassthroughPlan::new(&sysfs, addr("0000:03:00.0")) {
        Err(PassthroughError::NotBoundToVfio { address, driver }) => {
            assert_eq!(
                (address, driver.as_deref()),
                (addr("0000:03:00.1"), Some("snd_hda_intel"))
            );
        }
        other => panic!("{other:?}"),
    }
    match GpuPassthroughPlan::new(&sysfs, addr("0000:00:02.0")) {
        Err(PassthroughError::NotBoundToVfio { address, driver }) => {
            assert_eq!(
                (address, driver.as_deref()),
                (addr("0000:00:02.0"), Some("i915"))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        GpuPassthroughPlan::new(&sysfs, addr("0000:07:00.0")),
        Err(PassthroughError::DeviceNotFound { .. })
    ));
}

#[test]
fn plan_rejects_a_group_shared_with_a_host_device() {
    let fake = host();
    // The AMD card's audio now uses vfio-pci, but its group also holds a host NIC.
    std::fs::remove_file(fake.dev_dir("0000:03:00.1").join("driver")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../bus/pci/drivers/vfio-pci",
        fake.dev_dir("0000:03:00.1").join("driver"),
    )
    .unwrap();
    fake.add(Dev {
        addr: "0000:04:00.0",
        vendor: 0x8086,
        device: 0x1533,
        class: 0x020000,
        driver: Some("igb"),
        group: Some(30),
    });
    match GpuPassthroughPlan::new(&fake.sysfs(), addr("0000:03:00.0")) {
        Err(PassthroughError::GroupNotViable {
            group: 30,
            blockers,
        }) => {
            assert_eq!(
                blockers,
                vec![GroupMember {
                    address: addr("0000:04:00.0"),
                    driver: Some("igb".into())
                }]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn plan_notes_for_an_intel_boot_igpu() {
    let fake = host();
    std::fs::remove_file(fake.dev_dir("0000:00:02.0").join("driver")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../bus/pci/drivers/vfio-pci",
        fake.dev_dir("0000:00:02.0").join("driver"),
    )
    .unwrap();
    let plan = GpuPassthroughPlan::new(&fake.sysfs(), addr("0000:00:02.0")).unwrap();
    assert_eq!(plan.assign, vec![addr("0000:00:02.0")]);
    assert_eq!(
        plan.notes,
        vec![
            PlanNote::BootVga,
            PlanNote::IntelIntegrated,
            PlanNote::NoCompanions
        ]
    );
    assert_eq!(plan.mmio, MmioNeeds::default());
}

#[test]
fn plan_needs_an_iommu() {
    let fake = FakeSysfs::new();
    fake.add(Dev {
        addr: "0000:01:00.0",
        vendor: 0x10de,
        device: 0x2330,
        class: 0x030200,
        driver: Some("vfio-pci"),
        group: None,
    });
    assert!(matches!(
        GpuPassthroughPlan::new(&fake.sysfs(), addr("0000:01:00.0")),
        Err(PassthroughError::NoIommu { .. })
    ));
    // Discovery still works without one.
    let gpus = gpu::find_gpus(&fake.sysfs()).unwrap();
    assert_eq!((gpus.len(), gpus[0].vendor), (1, GpuVendor::Nvidia));
}
