//! VFIO discovery from a fake sysfs tree: exact parsed results and exact errors.

mod common;

use common::{Dev, FakeSysfs};
use vm_passthrough::{GroupMember, HostDevice, PassthroughError, PciAddress, SysfsPci};

fn addr(s: &str) -> PciAddress {
    s.parse().unwrap()
}

/// A host with an IOMMU: a host bridge, an NVIDIA GPU + audio in group 12 bound to vfio-pci, an NVMe drive
/// in group 13 bound to nvme, and a NIC with no driver in group 14.
fn host() -> FakeSysfs {
    let fake = FakeSysfs::new();
    fake.make_groups_dir();
    let devs = [
        Dev {
            addr: "0000:00:00.0",
            vendor: 0x8086,
            device: 0x3e30,
            class: 0x060000,
            driver: None,
            group: Some(0),
        },
        Dev {
            addr: "0000:01:00.1",
            vendor: 0x10de,
            device: 0x10f0,
            class: 0x040300,
            driver: Some("vfio-pci"),
            group: Some(12),
        },
        Dev {
            addr: "0000:01:00.0",
            vendor: 0x10de,
            device: 0x1e87,
            class: 0x030000,
            driver: Some("vfio-pci"),
            group: Some(12),
        },
        Dev {
            addr: "0000:02:00.0",
            vendor: 0x144d,
            device: 0xa808,
            class: 0x010802,
            driver: Some("nvme"),
            group: Some(13),
        },
        Dev {
            addr: "0000:03:00.0",
            vendor: 0x8086,
            device: 0x1533,
            class: 0x020000,
            driver: None,
            group: Some(14),
        },
    ];
    for d in devs {
        fake.add(d);
    }
    fake
}

#[test]
fn enumerates_devices_sorted_with_every_field() {
    let fake = host();
    let devices = fake.sysfs().devices().unwrap();
    let dev = |a: &str, vendor_id, device_id, class, driver: Option<&str>, group| HostDevice {
        address: addr(a),
        vendor_id,
        device_id,
        class,
        driver: driver.map(str::to_owned),
        iommu_group: Some(group),
    };
    assert_eq!(
        devices,
        vec![
            dev("0000:00:00.0", 0x8086, 0x3e30, 0x060000, None, 0),
            dev(
                "0000:01:00.0",
                0x10de,
                0x1e87,
                0x030000,
                Some("vfio-pci"),
                12
            ),
            dev(
                "0000:01:00.1",
                0x10de,
                0x10f0,
                0x040300,
                Some("vfio-pci"),
                12
            ),
            dev("0000:02:00.0", 0x144d, 0xa808, 0x010802, Some("nvme"), 13),
            dev("0000:03:00.0", 0x8086, 0x1533, 0x020000, None, 14),
        ]
    );
    assert!(devices[1].is_bound_to_vfio());
    assert!(!devices[3].is_bound_to_vfio());
}

#[test]
fn skips_entries_that_are_not_addresses() {
    let fake = host();
    std::fs::create_dir_all(fake.root().join("sys/bus/pci/devices/not-a-device")).unwrap();
    assert_eq!(fake.sysfs().devices().unwrap().len(), 5);
}

#[test]
fn group_members_and_viability() {
    let fake = host();
    let sysfs = fake.sysfs();
    assert_eq!(
        sysfs.iommu_group_members(12).unwrap(),
        vec![addr("0000:01:00.0"), addr("0000:01:00.1")]
    );
    let members = sysfs.check_group_viable(12).unwrap();
    assert_eq!(
        members.iter().map(|d| d.address).collect::<Vec<_>>(),
        [addr("0000:01:00.0"), addr("0000:01:00.1")]
    );
    // Unbound devices do not block a group.
    assert_eq!(sysfs.check_group_viable(14).unwrap().len(), 1);
    match sysfs.check_group_viable(13) {
        Err(PassthroughError::GroupNotViable {
            group: 13,
            blockers,
        }) => assert_eq!(
            blockers,
            vec![GroupMember {
                address: addr("0000:02:00.0"),
                driver: Some("nvme".into())
            }]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn vfio_target_for_a_ready_device() {
    let fake = host();
    let target = fake.sysfs().vfio_target(addr("0000:01:00.1")).unwrap();
    assert_eq!(target.group, 12);
    assert_eq!(target.device.device_id, 0x10f0);
    assert_eq!(target.group_members.len(), 2);
}

#[test]
fn vfio_target_errors_say_what_is_missing() {
    let fake = host();
    let sysfs = fake.sysfs();
    match sysfs.vfio_target(addr("0000:02:00.0")) {
        Err(PassthroughError::NotBoundToVfio { address, driver }) => {
            assert_eq!(
                (address, driver.as_deref()),
                (addr("0000:02:00.0"), Some("nvme"))
            );
        }
        other => panic!("{other:?}"),
    }
    match sysfs.vfio_target(addr("0000:03:00.0")) {
        Err(PassthroughError::NotBoundToVfio { driver: None, .. }) => {}
        other => panic!("{other:?}"),
    }
    match sysfs.vfio_target(addr("0000:09:00.0")) {
        Err(PassthroughError::DeviceNotFound {
            address,
            devices_dir,
        }) => {
            assert_eq!(address, addr("0000:09:00.0"));
            assert_eq!(devices_dir, fake.root().join("sys/bus/pci/devices"));
        }
        other => panic!("{other:?}"),
    }

    // A vfio-pci device whose group also holds a device bound to a host driver.
    fake.add(Dev {
        addr: "0000:02:00.1",
        vendor: 0x144d,
        device: 0xa808,
        class: 0x010802,
        driver: Some("vfio-pci"),
        group: Some(13),
    });
    match sysfs.vfio_target(addr("0000:02:00.1")) {
        Err(PassthroughError::GroupNotViable {
            group: 13,
            blockers,
        }) => {
            assert_eq!(
                blockers,
                vec![GroupMember {
                    address: addr("0000:02:00.0"),
                    driver: Some("nvme".into())
                }]
            );
        }
        other => panic!("{other:?}"),
    }

    // A device the IOMMU does not cover.
    fake.add(Dev {
        addr: "0000:04:00.0",
        vendor: 0x1b36,
        device: 0x0001,
        class: 0x060400,
        driver: Some("vfio-pci"),
        group: None,
    });
    assert!(matches!(
        sysfs.vfio_target(addr("0000:04:00.0")),
        Err(PassthroughError::NoIommuGroup { address }) if address == addr("0000:04:00.0")
    ));
}

#[test]
fn no_iommu_when_groups_are_missing_or_empty() {
    let fake = FakeSysfs::new();
    fake.add(Dev {
        addr: "0000:00:02.0",
        vendor: 0x1234,
        device: 0x1111,
        class: 0x030000,
        driver: Some("bochs-drm"),
        group: None,
    });
    let sysfs = fake.sysfs();
    assert!(!sysfs.iommu_enabled().unwrap());
    fake.make_groups_dir();
    assert!(!sysfs.iommu_enabled().unwrap());
    match sysfs.vfio_target(addr("0000:00:02.0")) {
        Err(PassthroughError::NoIommu { groups_dir }) => {
            assert_eq!(groups_dir, fake.root().join("sys/kernel/iommu_groups"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_sysfs_files_are_parse_errors() {
    let fake = host();
    let sysfs = fake.sysfs();
    fake.write("sys/bus/pci/devices/0000:02:00.0/vendor", "nvidia\n");
    match sysfs.device(addr("0000:02:00.0")) {
        Err(PassthroughError::Parse { path, content, .. }) => {
            assert_eq!(path, fake.dev_dir("0000:02:00.0").join("vendor"));
            assert_eq!(content, "nvidia");
        }
        other => panic!("{other:?}"),
    }
    fake.write("sys/bus/pci/devices/0000:03:00.0/device", "0x12345\n");
    assert!(matches!(
        sysfs.device(addr("0000:03:00.0")),
        Err(PassthroughError::Parse { .. })
    ));
    fake.write("sys/bus/pci/devices/0000:01:00.1/class", "0x1000000\n");
    assert!(matches!(
        sysfs.device(addr("0000:01:00.1")),
        Err(PassthroughError::Parse { .. })
    ));
    std::fs::remove_file(fake.dev_dir("0000:00:00.0").join("class")).unwrap();
    match sysfs.device(addr("0000:00:00.0")) {
        Err(PassthroughError::Io { path, source }) => {
            assert_eq!(path, fake.dev_dir("0000:00:00.0").join("class"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bars_and_boot_vga_from_sysfs() {
    let fake = host();
    fake.set_resource(
        "0000:01:00.0",
        &[
            "0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200",
            "0x00000000e0000000 0x00000000efffffff 0x000000000014220c",
        ],
    );
    fake.write("sys/bus/pci/devices/0000:01:00.0/boot_vga", "1\n");
    let sysfs = fake.sysfs();
    let bars = sysfs.bars(addr("0000:01:00.0")).unwrap();
    assert_eq!(
        bars.iter().map(|b| (b.index, b.size)).collect::<Vec<_>>(),
        [(0, 16 << 20), (1, 256 << 20)]
    );
    assert!(sysfs.is_boot_vga(addr("0000:01:00.0")).unwrap());
    assert!(!sysfs.is_boot_vga(addr("0000:01:00.1")).unwrap());
    assert_eq!(sysfs.bars(addr("0000:02:00.0")).unwrap(), vec![]);
}

/// The real host's sysfs, where there is one: every device must parse, and the discovery verdict must
/// agree with whether the host has IOMMU groups.
#[test]
fn real_host_sysfs_parses() {
    let sysfs = SysfsPci::host();
    if !sysfs.devices_dir().is_dir() {
        eprintln!(
            "skipping: {} does not exist on this host",
            sysfs.devices_dir().display()
        );
        return;
    }
    let devices = sysfs.devices().unwrap();
    for d in &devices {
        assert_eq!(
            d.address.to_string().parse::<PciAddress>().unwrap(),
            d.address
        );
        sysfs.bars(d.address).unwrap();
    }
    let iommu = sysfs.iommu_enabled().unwrap();
    if let Some(first) = devices.first() {
        match sysfs.vfio_target(first.address) {
            Err(PassthroughError::NoIommu { .. }) => assert!(!iommu),
            _ => assert!(iommu),
        }
    }
}
