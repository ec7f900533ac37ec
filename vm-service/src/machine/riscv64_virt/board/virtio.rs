//! The configuration's VirtIO devices ([`DeviceConfig`]) on `riscv64-virt`'s virtio-mmio slots: slot
//! *n* at `0x1000_1000 + n × 0x1000` on PLIC source `1 + n`, in the order the configuration lists them
//! (the device tree announces the same slots).

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use vm_core::GuestPhysAddr;
use vm_core::config::{DeviceConfig, NetBackend};
use vm_core::mem::GuestMemory;
use vm_device::bus::MmioBus;
use vm_device::plic::Plic;
use vm_device::uart::IoBackend;
use vm_device::virtio::VirtioDevice;
use vm_device::virtio::blk::Block;
use vm_device::virtio::console::Console;
use vm_device::virtio::mmio::{VIRTIO_MMIO_SIZE, VirtioMmio};
use vm_device::virtio::net::Net;
use vm_device::virtio::net::user::{HostForward, UserNet, UserNetConfig};
use vm_device::virtio::rng::{HostEntropy, Rng};
use vm_device::virtio::worker::{self, Worker};
use vm_mem::PhysMemory;

use super::super::{VIRTIO_IRQ0, virtio_base};
use crate::error::{Error, Result};

/// The MAC address of the first network card (QEMU's default prefix); card *n* adds *n*.
const MAC_BASE: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// Create every configured device, map it on `bus`, and start the pollers that need one (network
/// cards). The returned workers stop when dropped.
pub(super) fn attach(
    devices: &[DeviceConfig],
    mem: &Arc<PhysMemory>,
    plic: &Plic,
    bus: &mut MmioBus,
) -> Result<Vec<Worker>> {
    if devices.len() > vm_core::config::VIRTIO_SLOTS {
        return Err(Error::Unsupported(format!(
            "{} devices configured; riscv64-virt has {} virtio-mmio slots",
            devices.len(),
            vm_core::config::VIRTIO_SLOTS
        )));
    }
    let memory: Arc<dyn GuestMemory + Send + Sync> = mem.clone();
    let mut workers = Vec::new();
    let mut nics = 0u8;
    for (slot, dev) in devices.iter().enumerate() {
        let line = plic.line(VIRTIO_IRQ0 + slot as u32)?;
        let base = GuestPhysAddr(virtio_base(slot));
        match dev {
            DeviceConfig::Block { path, read_only } => {
                let blk = Block::open(path, *read_only)?;
                map(bus, base, VirtioMmio::new(blk, memory.clone(), line))?;
            }
            DeviceConfig::Net(backend) => {
                let mut mac = MAC_BASE;
                mac[5] = mac[5].wrapping_add(nics);
                nics += 1;
                let net = match backend {
                    NetBackend::User { hostfwd } => {
                        let config = UserNetConfig {
                            host_forwards: hostfwd
                                .iter()
                                .map(|f| HostForward {
                                    host_addr: Ipv4Addr::LOCALHOST,
                                    host_port: f.host_port,
                                    guest_port: f.guest_port,
                                })
                                .collect(),
                        };
                        Net::new(Box::new(UserNet::new(&config)?), mac)
                    }
                    NetBackend::Tap { ifname } => tap(ifname, mac)?,
                };
                let dev = map(bus, base, VirtioMmio::new(net, memory.clone(), line))?;
                workers.push(worker::spawn(&dev, &format!("virtio-net{slot}"))?);
            }
            DeviceConfig::Console => {
                let console = Console::new(Box::new(IoBackend::stdout()));
                map(bus, base, VirtioMmio::new(console, memory.clone(), line))?;
            }
            DeviceConfig::Rng => {
                let rng = Rng::new(Box::new(HostEntropy));
                map(bus, base, VirtioMmio::new(rng, memory.clone(), line))?;
            }
        }
    }
    Ok(workers)
}

fn map<D: VirtioDevice + 'static>(
    bus: &mut MmioBus,
    base: GuestPhysAddr,
    dev: VirtioMmio<D>,
) -> Result<Arc<Mutex<VirtioMmio<D>>>> {
    let dev = Arc::new(Mutex::new(dev));
    bus.insert(base, VIRTIO_MMIO_SIZE, dev.clone())?;
    Ok(dev)
}

#[cfg(target_os = "linux")]
fn tap(ifname: &str, mac: [u8; 6]) -> Result<Net> {
    let tap = vm_device::virtio::net::tap::Tap::open(ifname)?;
    Ok(Net::new(Box::new(tap), mac))
}

#[cfg(not(target_os = "linux"))]
fn tap(_: &str, _: [u8; 6]) -> Result<Net> {
    Err(Error::Unsupported(format!(
        "TAP networking needs Linux; this host is {}",
        std::env::consts::OS
    )))
}
