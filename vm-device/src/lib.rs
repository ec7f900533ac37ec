//! # vm-device: device models for the vm workspace
//!
//! The devices a QEMU-`virt`-compatible RISC-V machine needs to run firmware (OpenSBI) and Linux, written
//! once behind `vm-core`'s traits ([`MmioDevice`](vm_core::device::MmioDevice),
//! [`PioDevice`](vm_core::device::PioDevice), [`InterruptLine`](vm_core::device::InterruptLine),
//! [`Bus`](vm_core::device::Bus)) so that emulated engines and KVM exits reach the same models:
//!
//! - [`uart`]: NS16550A UART (MMIO on RISC-V, port I/O at 0x3f8 on x86) with pluggable
//!   [`CharBackend`](uart::CharBackend)s;
//! - [`test_finisher`]: SiFive test finisher, through which a guest passes, fails or resets the run;
//! - [`clint`]: SiFive CLINT (software interrupts, `mtime`/`mtimecmp`), polled by the vCPUs;
//! - [`plic`]: SiFive PLIC with level-triggered gateways, driven through interrupt lines;
//! - [`virtio`]: VirtIO 1.2 over MMIO: the transport, split virtqueues (indirect descriptors, event
//!   index) and the block, network, console and entropy devices;
//! - `bus` (with `std`): the MMIO and port-I/O buses that map devices and dispatch accesses.
//!
//! The register models are pure logic and build without the standard library (`alloc` only); the
//! shared interrupt-controller state is atomics only. Host back ends (stdout, stdin thread, host clock,
//! buses built on `std::sync::Mutex`) sit in modules gated on `std`.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `std` (default) | `bus`; stdout/stdin back ends for the UART and the VirtIO console; the host clock for the CLINT; raw disk image files for virtio-blk; Linux TAP for virtio-net; the VirtIO worker thread; host entropy (`getrandom`) for virtio-rng; `std::error::Error` |
//! | `smmu` | DMA through an emulated SMMUv3 in front of devices |
//! | `smoltcp` | user-mode networking on the smoltcp TCP/IP stack (`virtio::net::user`: DHCP, NAT to host sockets, host port forwards); implies `std` |
//!
//! Without `std` the crate is `#![no_std]` and needs only `alloc`.
//!
//! ## Example
//!
//! A UART wired to a PLIC source and mapped on an MMIO bus where QEMU `virt` puts it; the guest's
//! writes to THR come out of the capturing back end.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use std::sync::{Arc, Mutex};
//!
//! use vm_core::GuestPhysAddr;
//! use vm_core::device::Bus;
//! use vm_core::mem::AccessSize;
//! use vm_device::bus::MmioBus;
//! use vm_device::plic::{Plic, PlicMode};
//! use vm_device::uart::{CaptureBackend, UART_MMIO_SIZE, Uart16550};
//!
//! const UART0: u64 = 0x1000_0000;
//!
//! let plic = Plic::new(1)?;
//! let console = CaptureBackend::new();
//! let uart = Uart16550::new(Box::new(console.clone()), plic.line(10)?);
//!
//! let mut bus = MmioBus::new();
//! bus.insert(GuestPhysAddr(UART0), UART_MMIO_SIZE, Arc::new(Mutex::new(uart)))?;
//!
//! for byte in b"Hello\n" {
//!     bus.write(GuestPhysAddr(UART0), AccessSize::U8, u64::from(*byte))?;
//! }
//! assert_eq!(console.contents(), b"Hello\n");
//! // LSR: transmitter empty, nothing received.
//! assert_eq!(bus.read(GuestPhysAddr(UART0 + 5), AccessSize::U8)?, 0x60);
//!
//! // Enabling the THR-empty interrupt raises PLIC source 10 for a hart that enables it.
//! let ctx = plic.context(0, PlicMode::Supervisor).unwrap();
//! bus.write(GuestPhysAddr(UART0 + 1), AccessSize::U8, 0x02)?;
//! plic.mmio_write(4 * 10, AccessSize::U32, 1); // priority 1
//! plic.mmio_write(0x2000 + 0x80 * ctx as u64, AccessSize::U32, 1 << 10); // enable
//! assert!(plic.context_pending(ctx));
//! assert_eq!(plic.claim(ctx), 10);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A virtio-blk disk (here a RAM disk; [`virtio::blk::Block::open`] takes a raw image file) in
//! virtio-mmio slot 0 with PLIC source 1, as riscv64-virt wires it:
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use std::sync::{Arc, Mutex};
//!
//! use vm_core::GuestPhysAddr;
//! use vm_core::device::Bus;
//! use vm_core::mem::{AccessSize, GuestMemory};
//! use vm_device::bus::MmioBus;
//! use vm_device::plic::Plic;
//! use vm_device::virtio::blk::{Block, BlockConfig, MemStorage};
//! use vm_device::virtio::mmio::{VIRTIO_MMIO_SIZE, VirtioMmio, regs};
//!
//! # struct Ram;
//! # impl GuestMemory for Ram {
//! #     fn read(&self, a: GuestPhysAddr, _: &mut [u8]) -> Result<(), vm_core::mem::MemFault> {
//! #         Err(vm_core::mem::MemFault::Unmapped { addr: a })
//! #     }
//! #     fn write(&self, a: GuestPhysAddr, _: &[u8]) -> Result<(), vm_core::mem::MemFault> {
//! #         Err(vm_core::mem::MemFault::Unmapped { addr: a })
//! #     }
//! # }
//! # let guest_ram: Arc<dyn GuestMemory + Send + Sync> = Arc::new(Ram);
//! let plic = Plic::new(1)?;
//! let disk = Block::new(Box::new(MemStorage::new(vec![0; 1 << 20])), BlockConfig::default());
//! let slot0 = Arc::new(Mutex::new(VirtioMmio::new(disk, guest_ram, plic.line(1)?)));
//! let mut bus = MmioBus::new();
//! bus.insert(GuestPhysAddr(0x1000_1000), VIRTIO_MMIO_SIZE, slot0)?;
//! assert_eq!(bus.read(GuestPhysAddr(0x1000_1000 + regs::MAGIC), AccessSize::U32)?, 0x7472_6976);
//! assert_eq!(bus.read(GuestPhysAddr(0x1000_1000 + regs::DEVICE_ID), AccessSize::U32)?, 2);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;
// Unit tests use the standard library, and reach the crate by its name (as the shared test driver in
// tests/support does).
#[cfg(test)]
extern crate self as vm_device;
#[cfg(all(test, not(feature = "std")))]
extern crate std;

#[cfg(feature = "std")]
pub mod bus;
pub mod clint;
mod error;
pub mod plic;
mod sync;
pub mod test_finisher;
pub mod uart;
pub mod virtio;

pub use error::{DeviceError, Result};
