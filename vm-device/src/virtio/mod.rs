//! VirtIO 1.2 devices over the MMIO transport.
//!
//! The pieces, from the guest's side inwards:
//!
//! - [`mmio::VirtioMmio`]: the virtio-mmio transport (register layout version 2), an
//!   [`MmioDevice`](vm_core::device::MmioDevice). It owns the status state machine (feature negotiation
//!   with the `FEATURES_OK` check, `DRIVER_OK` activation, reset, `DEVICE_NEEDS_RESET` when a device
//!   fails), the queue registers, the interrupt status and acknowledgement, and the configuration
//!   generation. Shared-memory regions are absent.
//! - [`queue::Queue`]: split virtqueues with indirect descriptors and event-index notification
//!   suppression, every guest address and index checked (see the module docs for why the crate has its
//!   own queue rather than rust-vmm's `virtio-queue`).
//! - [`VirtioDevice`]: what a device model implements; the transport calls it.
//! - The devices: [`blk::Block`] (block device over a [`blk::BlockStorage`], a raw image file with
//!   `std`), [`net::Net`] (network card over a [`net::NetBackend`]: TAP with `std` on Linux, user-mode
//!   networking with the `smoltcp` feature), [`console::Console`] and [`rng::Rng`].
//!
//! Everything guest-facing (transport, queues, request parsers, the device models) is pure logic over
//! `vm-core`'s [`GuestMemory`](vm_core::mem::GuestMemory) and builds without the standard library;
//! host back ends (files, TAP, sockets, threads, host entropy) need `std`.
//!
//! ## How a machine uses a device
//!
//! 1. Build the device model (say [`blk::Block::open`]) and wrap it:
//!    `VirtioMmio::new(device, memory, interrupt_line)`.
//! 2. Map it on the MMIO bus as `Arc<Mutex<VirtioMmio<_>>>`, [`mmio::VIRTIO_MMIO_SIZE`] bytes long.
//! 3. For devices that receive from the host (network, console) start a [`worker`] thread (with `std`),
//!    or call [`mmio::VirtioMmio::poll`] from the machine's own loop. Block and entropy devices do all
//!    their work inside the guest's queue notification and need no thread.
//!
//! A guest that breaks the rules (descriptor loops, chains longer than the queue, addresses outside RAM,
//! lengths that overflow, buffers with the wrong direction) gets an error status for that request where
//! the device has one, and otherwise the device's `DEVICE_NEEDS_RESET` state; the host never panics,
//! hangs or allocates without bound.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use vm_core::device::InterruptLine;
use vm_core::mem::MemFault;

use crate::error::DeviceError;
use crate::sync::SpinLock;

pub mod blk;
pub mod console;
pub mod mmio;
pub mod net;
pub mod queue;
pub mod rng;
#[cfg(all(feature = "std", unix))]
pub mod worker;

use queue::{Queue, QueueError};

#[cfg(test)]
#[path = "../../tests/support/driver.rs"]
pub(crate) mod driver;

/// Guest RAM for unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use alloc::sync::Arc;

    use vm_core::GuestPhysAddr;
    use vm_core::mem::GuestMemory;

    /// Where test RAM starts.
    pub(crate) const RAM: u64 = 0x4000_0000;
    /// Test RAM size.
    pub(crate) const RAM_SIZE: u64 = 0x20_0000;
    /// Where tests put data buffers (rings live below).
    pub(crate) const DATA: u64 = RAM + 0x10_0000;

    pub(crate) fn ram() -> Arc<dyn GuestMemory + Send + Sync> {
        Arc::new(
            vm_mem::PhysMemory::builder()
                .ram("ram", GuestPhysAddr(RAM), RAM_SIZE)
                .build()
                .unwrap(),
        )
    }
}

/// Device type numbers (VirtIO 1.2 §5).
pub mod device_type {
    /// Network card.
    pub const NET: u32 = 1;
    /// Block device.
    pub const BLOCK: u32 = 2;
    /// Console.
    pub const CONSOLE: u32 = 3;
    /// Entropy source.
    pub const RNG: u32 = 4;
}

/// Device-independent feature bits (VirtIO 1.2 §6).
pub mod features {
    /// Descriptors may point at indirect descriptor tables.
    pub const RING_INDIRECT_DESC: u64 = 1 << 28;
    /// `used_event`/`avail_event` notification suppression.
    pub const RING_EVENT_IDX: u64 = 1 << 29;
    /// The device follows VirtIO 1.x (not legacy); required by this transport.
    pub const VERSION_1: u64 = 1 << 32;
    /// The feature bits every device on this transport offers.
    pub const TRANSPORT: u64 = RING_INDIRECT_DESC | RING_EVENT_IDX | VERSION_1;
}

/// Device status bits (VirtIO 1.2 §2.1).
pub mod status {
    /// The guest has noticed the device.
    pub const ACKNOWLEDGE: u8 = 1;
    /// The guest knows how to drive the device.
    pub const DRIVER: u8 = 2;
    /// The driver is set up and ready to drive the device.
    pub const DRIVER_OK: u8 = 4;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u8 = 8;
    /// The device hit an error it cannot recover from; the driver must reset it.
    pub const DEVICE_NEEDS_RESET: u8 = 0x40;
    /// The driver gave up on the device.
    pub const FAILED: u8 = 0x80;
}

/// Interrupt status bits of the MMIO transport.
pub mod interrupt_status {
    /// The device used a buffer in at least one queue.
    pub const USED_BUFFER: u32 = 1;
    /// The configuration space changed (or the device needs a reset).
    pub const CONFIG_CHANGE: u32 = 2;
}

/// Why a device stopped serving its queues: reported to the host by
/// [`VirtioMmio::last_error`](mmio::VirtioMmio::last_error) and to the guest as `DEVICE_NEEDS_RESET`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VirtioError {
    /// The guest broke a virtqueue rule.
    #[error("Virtqueue {queue} is broken")]
    Queue {
        /// Queue index.
        queue: u16,
        /// What was wrong.
        #[source]
        source: QueueError,
    },
    /// A buffer had the wrong direction for what the queue carries.
    #[error("Virtqueue {queue}: {what}")]
    WrongDirection {
        /// Queue index.
        queue: u16,
        /// What the device expected.
        what: &'static str,
    },
    /// A request had no device-writable byte for its status, so it cannot be answered.
    #[error("Virtqueue {queue}: request has no device-writable status byte")]
    NoStatus {
        /// Queue index.
        queue: u16,
    },
    /// Guest memory the device had to use is not RAM.
    #[error("Virtqueue {queue}: buffer memory is not accessible")]
    Memory {
        /// Queue index.
        queue: u16,
        /// The fault.
        #[source]
        source: MemFault,
    },
}

/// Something a device or transport can wake: the [`worker`] thread that polls the device's host side.
pub trait Kick: Send + Sync {
    /// Ask for another poll soon. Must not block.
    fn kick(&self);
}

/// A host file descriptor a device waits on, and for what.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HostFd {
    /// The descriptor (a Unix file descriptor number).
    pub fd: i32,
    /// Wake when it is readable.
    pub readable: bool,
    /// Wake when it is writable.
    pub writable: bool,
}

impl HostFd {
    /// Wait for `fd` to become readable.
    pub const fn read(fd: i32) -> Self {
        Self {
            fd,
            readable: true,
            writable: false,
        }
    }
}

/// The interrupt of one VirtIO device: the transport's interrupt status register and the line it drives.
///
/// The line is level-triggered: it is high exactly while some status bit is set. A device calls
/// [`signal_used`](Self::signal_used) after adding used buffers the driver wants to hear about, and
/// [`signal_config`](Self::signal_config) when its configuration space changes.
pub struct Interrupt {
    status: SpinLock<u32>,
    generation: AtomicU32,
    line: Arc<dyn InterruptLine>,
}

impl core::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Interrupt")
            .field("status", &self.status())
            .field("generation", &self.config_generation())
            .finish_non_exhaustive()
    }
}

impl Interrupt {
    /// An interrupt with nothing pending, driving `line`.
    pub fn new(line: Arc<dyn InterruptLine>) -> Self {
        Self {
            status: SpinLock::new(0),
            generation: AtomicU32::new(0),
            line,
        }
    }

    /// Set status bits and raise the line.
    fn raise(&self, bits: u32) {
        self.status.with(|s| {
            *s |= bits;
            self.line.set_level(true);
        });
    }

    /// Report used buffers.
    pub fn signal_used(&self) {
        self.raise(interrupt_status::USED_BUFFER);
    }

    /// Report a configuration change; bumps the configuration generation.
    pub fn signal_config(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.raise(interrupt_status::CONFIG_CHANGE);
    }

    /// The interrupt status register.
    pub fn status(&self) -> u32 {
        self.status.with(|s| *s)
    }

    /// The configuration generation register.
    pub fn config_generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    /// Clear the acknowledged bits; lower the line when none is left.
    pub fn ack(&self, bits: u32) {
        self.status.with(|s| {
            *s &= !bits;
            self.line.set_level(*s != 0);
        });
    }

    /// Clear everything (device reset).
    fn clear(&self) {
        self.ack(u32::MAX);
    }
}

/// What a device gets when the driver sets `DRIVER_OK`.
pub struct Activation {
    /// The queues as the driver configured them, one per queue the device declared (check
    /// [`Queue::ready`] before using one).
    pub queues: Vec<Queue>,
    /// Guest memory.
    pub memory: Arc<dyn vm_core::mem::GuestMemory + Send + Sync>,
    /// The device's interrupt.
    pub interrupt: Arc<Interrupt>,
    /// The features the driver accepted.
    pub features: u64,
}

impl core::fmt::Debug for Activation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Activation")
            .field("queues", &self.queues)
            .field("features", &format_args!("{:#x}", self.features))
            .finish_non_exhaustive()
    }
}

/// A VirtIO device model, driven by a transport ([`mmio::VirtioMmio`]).
///
/// The transport calls these methods with its own lock held, so a device never sees two calls at once.
/// None of them may panic on anything the guest wrote; errors the driver caused are returned as
/// [`VirtioError`] and put the device into `DEVICE_NEEDS_RESET` until the driver resets it.
pub trait VirtioDevice: Send {
    /// The device type ([`device_type`]).
    fn device_type(&self) -> u32;

    /// Device-specific feature bits offered (the transport adds [`features::TRANSPORT`]).
    fn features(&self) -> u64;

    /// The maximum size of each queue; the length is the number of queues.
    fn queue_max_sizes(&self) -> &[u16];

    /// Read configuration space at `offset` into `data`; bytes beyond the configuration read as 0.
    fn read_config(&self, offset: u64, data: &mut [u8]);

    /// Write configuration space; the default ignores writes.
    fn write_config(&mut self, offset: u64, data: &[u8]) {
        let _ = (offset, data);
    }

    /// Start serving the queues.
    fn activate(&mut self, activation: Activation) -> Result<(), VirtioError>;

    /// The driver notified queue `queue` (only after a successful activation).
    fn notify(&mut self, queue: u16) -> Result<(), VirtioError>;

    /// Return to the state before activation: drop the queues and forget the driver's features.
    fn reset(&mut self);

    /// Do host-side work (take frames or input from the host, finish work a notification left over).
    /// Called by the [`worker`] or the machine's own loop; the default does nothing.
    fn poll(&mut self) -> Result<(), VirtioError> {
        Ok(())
    }

    /// The longest the device may go before its next [`poll`](Self::poll) if none of its
    /// [`host_fds`](Self::host_fds) becomes ready; `None` for no deadline.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }

    /// The host descriptors whose readiness means [`poll`](Self::poll) has work.
    fn host_fds(&self, fds: &mut Vec<HostFd>) {
        let _ = fds;
    }

    /// Whether the poller should run again at once (work left over, or the descriptor set changed).
    /// Reading clears the request.
    fn take_wake(&mut self) -> bool {
        false
    }
}

impl<T: VirtioDevice + ?Sized> VirtioDevice for alloc::boxed::Box<T> {
    fn device_type(&self) -> u32 {
        (**self).device_type()
    }
    fn features(&self) -> u64 {
        (**self).features()
    }
    fn queue_max_sizes(&self) -> &[u16] {
        (**self).queue_max_sizes()
    }
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        (**self).read_config(offset, data);
    }
    fn write_config(&mut self, offset: u64, data: &[u8]) {
        (**self).write_config(offset, data);
    }
    fn activate(&mut self, activation: Activation) -> Result<(), VirtioError> {
        (**self).activate(activation)
    }
    fn notify(&mut self, queue: u16) -> Result<(), VirtioError> {
        (**self).notify(queue)
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn poll(&mut self) -> Result<(), VirtioError> {
        (**self).poll()
    }
    fn poll_timeout(&self) -> Option<Duration> {
        (**self).poll_timeout()
    }
    fn host_fds(&self, fds: &mut Vec<HostFd>) {
        (**self).host_fds(fds);
    }
    fn take_wake(&mut self) -> bool {
        (**self).take_wake()
    }
}

/// Copy `src` (a little-endian configuration structure) into `data` from `offset`; bytes past the end
/// read as zero.
pub(crate) fn read_config_bytes(src: &[u8], offset: u64, data: &mut [u8]) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(i))
            .and_then(|o| src.get(o))
            .copied()
            .unwrap_or(0);
    }
}

/// The state every device keeps between activation and reset.
pub(crate) struct Active {
    pub(crate) queues: Vec<Queue>,
    pub(crate) memory: Arc<dyn vm_core::mem::GuestMemory + Send + Sync>,
    pub(crate) interrupt: Arc<Interrupt>,
}

impl Active {
    pub(crate) fn new(a: Activation) -> Self {
        Self {
            queues: a.queues,
            memory: a.memory,
            interrupt: a.interrupt,
        }
    }

    /// Signal the driver if queue `index` wants to hear about new used buffers.
    pub(crate) fn notify_used(&mut self, index: u16) -> Result<(), VirtioError> {
        let Some(q) = self.queues.get_mut(usize::from(index)) else {
            return Ok(());
        };
        if q.needs_notification(&*self.memory)
            .map_err(|source| VirtioError::Queue {
                queue: index,
                source,
            })?
        {
            self.interrupt.signal_used();
        }
        Ok(())
    }
}

/// Errors inside [`Queue::process`](queue::Queue::process) handlers.
pub(crate) enum Failure {
    Queue(QueueError),
    Device(VirtioError),
}

impl From<QueueError> for Failure {
    fn from(e: QueueError) -> Self {
        Self::Queue(e)
    }
}

impl From<VirtioError> for Failure {
    fn from(e: VirtioError) -> Self {
        Self::Device(e)
    }
}

impl Failure {
    /// The error for the transport, naming `queue`.
    pub(crate) fn into_virtio(self, queue: u16) -> VirtioError {
        match self {
            Self::Queue(source) => VirtioError::Queue { queue, source },
            Self::Device(e) => e,
        }
    }

    /// A chain that could not supply or take bytes.
    pub(crate) fn from_io(queue: u16, e: queue::ChainIoError) -> Self {
        match e {
            queue::ChainIoError::Memory(source) => {
                Self::Device(VirtioError::Memory { queue, source })
            }
            queue::ChainIoError::Short { .. } => Self::Device(VirtioError::NoStatus { queue }),
        }
    }
}

/// Keep the first host error a device met, for the host's log.
pub(crate) fn note_host_error(slot: &mut Option<DeviceError>, e: DeviceError) {
    if slot.is_none() {
        *slot = Some(e);
    }
}
