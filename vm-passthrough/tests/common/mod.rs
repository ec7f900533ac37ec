//! A fake sysfs tree in a temporary directory, laid out like the kernel's, for tests.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use vm_passthrough::SysfsPci;

/// An unused (all-zero) line of a `resource` file.
pub const UNUSED: &str = "0x0000000000000000 0x0000000000000000 0x0000000000000000";

/// A temporary directory holding `sys/bus/pci/devices` and `sys/kernel/iommu_groups`; removed on drop.
pub struct FakeSysfs {
    root: PathBuf,
}

/// One PCI function to create.
pub struct Dev<'a> {
    pub addr: &'a str,
    pub vendor: u16,
    pub device: u16,
    pub class: u32,
    pub driver: Option<&'a str>,
    pub group: Option<u32>,
}

impl FakeSysfs {
    pub fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "vm-passthrough-sysfs-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("sys/bus/pci/devices")).unwrap();
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn sysfs(&self) -> SysfsPci {
        SysfsPci::with_root(&self.root)
    }

    /// Create `sys/kernel/iommu_groups` (empty: no IOMMU yet; groups appear as devices join them).
    pub fn make_groups_dir(&self) {
        fs::create_dir_all(self.root.join("sys/kernel/iommu_groups")).unwrap();
    }

    pub fn dev_dir(&self, addr: &str) -> PathBuf {
        self.root.join("sys/bus/pci/devices").join(addr)
    }

    pub fn add(&self, d: Dev<'_>) {
        let dir = self.dev_dir(d.addr);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("vendor"), format!("{:#06x}\n", d.vendor)).unwrap();
        fs::write(dir.join("device"), format!("{:#06x}\n", d.device)).unwrap();
        fs::write(dir.join("class"), format!("{:#08x}\n", d.class)).unwrap();
        let resource: String = (0..13).map(|_| format!("{UNUSED}\n")).collect();
        fs::write(dir.join("resource"), resource).unwrap();
        if let Some(driver) = d.driver {
            symlink(
                format!("../../../../bus/pci/drivers/{driver}"),
                dir.join("driver"),
            )
            .unwrap();
        }
        if let Some(group) = d.group {
            symlink(
                format!("../../../../kernel/iommu_groups/{group}"),
                dir.join("iommu_group"),
            )
            .unwrap();
            let members = self
                .root
                .join(format!("sys/kernel/iommu_groups/{group}/devices"));
            fs::create_dir_all(&members).unwrap();
            symlink(
                format!("../../../../bus/pci/devices/{}", d.addr),
                members.join(d.addr),
            )
            .unwrap();
        }
    }

    /// Write `lines` (BAR0 first) as the device's `resource` file, padded to 13 lines.
    pub fn set_resource(&self, addr: &str, lines: &[&str]) {
        let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        for _ in lines.len()..13 {
            text.push_str(UNUSED);
            text.push('\n');
        }
        fs::write(self.dev_dir(addr).join("resource"), text).unwrap();
    }

    pub fn write(&self, rel: &str, contents: &str) {
        let path = self.root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
}

impl Drop for FakeSysfs {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}
