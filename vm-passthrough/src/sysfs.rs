//! VFIO discovery from sysfs: PCI devices, their drivers and IOMMU groups, and whether a device or group
//! can be handed to VFIO.
//!
//! [`SysfsPci`] reads under a root directory that is `/` on a real host; tests point it at a fake tree.
//! It reads:
//!
//! - `sys/bus/pci/devices/<address>/{vendor,device,class,resource,boot_vga}` and the `driver` and
//!   `iommu_group` links (only the link's last component is used);
//! - `sys/kernel/iommu_groups/<n>/devices/<address>`: the members of each group.
//!
//! Nothing here needs privileges: sysfs is world-readable.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{GroupMember, PassthroughError, Result};
use crate::pci::{
    Bar, HostDevice, PciAddress, is_vfio_driver, parse_hex_u64, parse_resource_table,
};

/// Drivers that leave a device usable by VFIO in a viable group: VFIO itself, `pci-stub` (which only
/// reserves the device) and `pcieport` (PCIe port services; the kernel lets bridges keep it because
/// they do no DMA of their own).
fn driver_keeps_group_viable(driver: Option<&str>) -> bool {
    match driver {
        None => true,
        Some(d) => is_vfio_driver(d) || d == "pci-stub" || d == "pcieport",
    }
}

/// Reads PCI and IOMMU facts from a sysfs tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysfsPci {
    root: PathBuf,
}

impl Default for SysfsPci {
    fn default() -> Self {
        Self::host()
    }
}

impl SysfsPci {
    /// The running host's sysfs (root `/`).
    pub fn host() -> Self {
        Self::with_root("/")
    }

    /// A sysfs tree under `root` (which holds `sys/bus/pci/devices` and `sys/kernel/iommu_groups`).
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root this reads under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `sys/bus/pci/devices` under the root.
    pub fn devices_dir(&self) -> PathBuf {
        self.root.join("sys/bus/pci/devices")
    }

    /// `sys/kernel/iommu_groups` under the root.
    pub fn iommu_groups_dir(&self) -> PathBuf {
        self.root.join("sys/kernel/iommu_groups")
    }

    fn device_dir(&self, address: PciAddress) -> PathBuf {
        self.devices_dir().join(address.to_string())
    }

    /// Every PCI function on the host, sorted by address.
    ///
    /// Directory entries whose names are not PCI addresses are skipped (with a log warning).
    pub fn devices(&self) -> Result<Vec<HostDevice>> {
        let dir = self.devices_dir();
        let mut devices = Vec::new();
        for name in list_dir(&dir)? {
            match name.parse::<PciAddress>() {
                Ok(address) => devices.push(self.device(address)?),
                Err(e) => log::warn!("Skipping {}: {e}", dir.join(&name).display()),
            }
        }
        devices.sort_by_key(|d| d.address);
        Ok(devices)
    }

    /// One PCI function.
    pub fn device(&self, address: PciAddress) -> Result<HostDevice> {
        let dir = self.device_dir(address);
        if !dir.is_dir() {
            return Err(PassthroughError::DeviceNotFound {
                address,
                devices_dir: self.devices_dir(),
            });
        }
        let vendor_id = read_id(&dir.join("vendor"))?;
        let device_id = read_id(&dir.join("device"))?;
        let class_path = dir.join("class");
        let class = read_hex(&class_path)?;
        let class = u32::try_from(class)
            .ok()
            .filter(|c| *c <= 0x00ff_ffff)
            .ok_or_else(|| PassthroughError::Parse {
                path: class_path.clone(),
                content: format!("{class:#x}"),
                expected: "a 24-bit class code",
            })?;
        let driver = link_name(&dir.join("driver"))?;
        let group_path = dir.join("iommu_group");
        let iommu_group = match link_name(&group_path)? {
            None => None,
            Some(name) => Some(name.parse::<u32>().map_err(|_| PassthroughError::Parse {
                path: group_path,
                content: name,
                expected: "a link to an IOMMU group number",
            })?),
        };
        Ok(HostDevice {
            address,
            vendor_id,
            device_id,
            class,
            driver,
            iommu_group,
        })
    }

    /// The device's populated BARs and expansion ROM, from its `resource` file.
    pub fn bars(&self, address: PciAddress) -> Result<Vec<Bar>> {
        let path = self.device_dir(address).join("resource");
        let text = read_text(&path)?;
        parse_resource_table(&path, &text)
    }

    /// Whether the device's `boot_vga` attribute is 1 (the firmware's primary display). Devices without
    /// the attribute (anything that is not a VGA controller) are not.
    pub fn is_boot_vga(&self, address: PciAddress) -> Result<bool> {
        let path = self.device_dir(address).join("boot_vga");
        match fs::read_to_string(&path) {
            Ok(text) => Ok(text.trim() == "1"),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(PassthroughError::io(path, e)),
        }
    }

    /// Whether the host has an IOMMU enabled: `sys/kernel/iommu_groups` exists and lists a group.
    pub fn iommu_enabled(&self) -> Result<bool> {
        match fs::read_dir(self.iommu_groups_dir()) {
            Ok(mut entries) => Ok(entries.next().is_some()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(PassthroughError::io(self.iommu_groups_dir(), e)),
        }
    }

    /// [`iommu_enabled`](Self::iommu_enabled), as an error when it is not.
    pub fn require_iommu(&self) -> Result<()> {
        if self.iommu_enabled()? {
            Ok(())
        } else {
            Err(PassthroughError::NoIommu {
                groups_dir: self.iommu_groups_dir(),
            })
        }
    }

    /// The addresses of the members of IOMMU group `group`, sorted.
    pub fn iommu_group_members(&self, group: u32) -> Result<Vec<PciAddress>> {
        let dir = self
            .iommu_groups_dir()
            .join(group.to_string())
            .join("devices");
        let mut members = Vec::new();
        for name in list_dir(&dir)? {
            match name.parse::<PciAddress>() {
                Ok(address) => members.push(address),
                // Groups can hold non-PCI devices (platform devices on ARM); they are not ours to judge.
                Err(_) => log::debug!("IOMMU group {group} holds non-PCI device {name}"),
            }
        }
        members.sort();
        Ok(members)
    }

    /// Check that IOMMU group `group` could be handed to VFIO: every PCI member is bound to `vfio-pci`,
    /// `pci-stub` or `pcieport`, or to no driver. Returns the members.
    pub fn check_group_viable(&self, group: u32) -> Result<Vec<HostDevice>> {
        let members = self
            .iommu_group_members(group)?
            .into_iter()
            .map(|address| self.device(address))
            .collect::<Result<Vec<_>>>()?;
        let blockers: Vec<GroupMember> = members
            .iter()
            .filter(|d| !driver_keeps_group_viable(d.driver.as_deref()))
            .map(|d| GroupMember {
                address: d.address,
                driver: d.driver.clone(),
            })
            .collect();
        if blockers.is_empty() {
            Ok(members)
        } else {
            Err(PassthroughError::GroupNotViable { group, blockers })
        }
    }

    /// Everything VFIO needs before a device can be opened: the IOMMU is on, the device is in a group,
    /// it is bound to `vfio-pci`, and its group is viable. Returns the device and its group number.
    pub fn vfio_target(&self, address: PciAddress) -> Result<VfioTarget> {
        self.require_iommu()?;
        let device = self.device(address)?;
        let group = device
            .iommu_group
            .ok_or(PassthroughError::NoIommuGroup { address })?;
        if !device.is_bound_to_vfio() {
            return Err(PassthroughError::NotBoundToVfio {
                address,
                driver: device.driver,
            });
        }
        let group_members = self.check_group_viable(group)?;
        Ok(VfioTarget {
            device,
            group,
            group_members,
        })
    }
}

/// A device that sysfs says is ready for VFIO, from [`SysfsPci::vfio_target`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VfioTarget {
    /// The device.
    pub device: HostDevice,
    /// Its IOMMU group: open `/dev/vfio/<group>`.
    pub group: u32,
    /// Every PCI member of the group (the device included).
    pub group_members: Vec<HostDevice>,
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| PassthroughError::io(path, e))
}

fn read_hex(path: &Path) -> Result<u64> {
    let text = read_text(path)?;
    parse_hex_u64(&text).ok_or_else(|| PassthroughError::Parse {
        path: path.to_owned(),
        content: text.trim().to_owned(),
        expected: "a 0x-prefixed hexadecimal number",
    })
}

fn read_id(path: &Path) -> Result<u16> {
    let value = read_hex(path)?;
    u16::try_from(value).map_err(|_| PassthroughError::Parse {
        path: path.to_owned(),
        content: format!("{value:#x}"),
        expected: "a 16-bit ID",
    })
}

/// The last component of the symbolic link at `path`, or `None` if there is no link.
fn link_name(path: &Path) -> Result<Option<String>> {
    match fs::read_link(path) {
        Ok(target) => match target.file_name().and_then(|n| n.to_str()) {
            Some(name) => Ok(Some(name.to_owned())),
            None => Err(PassthroughError::Parse {
                path: path.to_owned(),
                content: target.display().to_string(),
                expected: "a link whose last component is UTF-8",
            }),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PassthroughError::io(path, e)),
    }
}

/// The UTF-8 names in a directory (others are skipped with a warning).
fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let entries = fs::read_dir(dir).map_err(|e| PassthroughError::io(dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| PassthroughError::io(dir, e))?;
        match entry.file_name().into_string() {
            Ok(name) => names.push(name),
            Err(name) => log::warn!("Skipping non-UTF-8 entry {name:?} in {}", dir.display()),
        }
    }
    Ok(names)
}
