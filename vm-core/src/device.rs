//! Devices, buses and interrupt lines: how guest I/O reaches device models.
//!
//! A device model implements [`MmioDevice`] (and/or [`PioDevice`] for x86 port I/O). It sees offsets
//! relative to where it is mapped and access sizes of 1, 2, 4 or 8 bytes. A [`Bus`] maps devices at guest
//! physical addresses (or ports) and dispatches; the emulated engines and the KVM exit handler both call
//! the same bus, so a device is written once and serves both.
//!
//! Devices raise interrupts through an [`InterruptLine`] handed to them at construction; the line is
//! implemented by the interrupt controller (PLIC on RISC-V) or by the accelerator (a KVM GSI).
//!
//! ```
//! use vm_core::device::{MmioDevice, InterruptLine};
//! use vm_core::mem::AccessSize;
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicBool, Ordering};
//!
//! /// A one-register device: writing 1 to offset 0 raises its interrupt, writing 0 lowers it.
//! struct Doorbell { irq: Arc<dyn InterruptLine> }
//!
//! impl MmioDevice for Doorbell {
//!     fn read(&mut self, _offset: u64, _size: AccessSize) -> u64 { 0 }
//!     fn write(&mut self, offset: u64, _size: AccessSize, value: u64) {
//!         if offset == 0 { self.irq.set_level(value & 1 == 1) }
//!     }
//! }
//!
//! struct Line(AtomicBool);
//! impl InterruptLine for Line {
//!     fn set_level(&self, high: bool) { self.0.store(high, Ordering::SeqCst) }
//! }
//!
//! let line = Arc::new(Line(AtomicBool::new(false)));
//! let mut dev = Doorbell { irq: line.clone() };
//! dev.write(0, AccessSize::U32, 1);
//! assert!(line.0.load(Ordering::SeqCst));
//! ```

use crate::addr::GuestPhysAddr;
use crate::mem::AccessSize;

/// A memory-mapped device model.
///
/// Offsets are relative to the base the device is mapped at. A read of a register that does not exist
/// returns 0 and a write to one is ignored, as most hardware does; a device that receives nonsense sets its
/// own guest-visible error state. Neither method may panic on any offset, size or value.
pub trait MmioDevice: Send {
    /// Read `size` bytes at `offset`; the value is zero-extended.
    fn read(&mut self, offset: u64, size: AccessSize) -> u64;
    /// Write the low `size` bytes of `value` at `offset`.
    fn write(&mut self, offset: u64, size: AccessSize, value: u64);
}

/// A port-I/O device model (x86 `in`/`out`). Ports are relative to the device's base port.
pub trait PioDevice: Send {
    /// Read `size` bytes (1, 2 or 4) at port `offset`.
    fn pio_read(&mut self, offset: u16, size: AccessSize) -> u64;
    /// Write `size` bytes (1, 2 or 4) at port `offset`.
    fn pio_write(&mut self, offset: u16, size: AccessSize, value: u64);
}

/// Why a bus could not complete an access.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// No device is mapped at the address.
    #[error("No device at {addr:#x}")]
    NoDevice {
        /// The address or port.
        addr: u64,
    },
    /// The access crosses the end of the device's window.
    #[error("{size} access at {addr:#x} crosses the end of the device window")]
    CrossesBoundary {
        /// The address or port.
        addr: u64,
        /// The access size.
        size: AccessSize,
    },
}

/// Dispatches guest physical addresses (or port numbers) to the devices mapped there.
///
/// `&self`: a bus is shared by every vCPU; implementations serialise access to each device.
pub trait Bus: Send + Sync {
    /// Read from the device mapped at `addr`.
    fn read(&self, addr: GuestPhysAddr, size: AccessSize) -> Result<u64, BusError>;
    /// Write to the device mapped at `addr`.
    fn write(&self, addr: GuestPhysAddr, size: AccessSize, value: u64) -> Result<(), BusError>;
}

/// One interrupt input of an interrupt controller, as seen by the device that drives it.
///
/// Level-triggered devices call [`set_level`](Self::set_level) whenever their interrupt condition
/// changes; edge-triggered ones call [`pulse`](Self::pulse).
pub trait InterruptLine: Send + Sync {
    /// Drive the line high (`true`) or low (`false`).
    fn set_level(&self, high: bool);

    /// Signal one edge (message-signalled or edge-triggered interrupts). The default raises and lowers.
    fn pulse(&self) {
        self.set_level(true);
        self.set_level(false);
    }
}
