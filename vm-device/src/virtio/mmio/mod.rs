//! The virtio-mmio transport, register layout version 2 (VirtIO 1.2 §4.2).
//!
//! [`VirtioMmio`] wraps a [`VirtioDevice`] and is itself an [`MmioDevice`] of [`VIRTIO_MMIO_SIZE`]
//! bytes. Registers are 32 bits wide; other access sizes to them read as 0 and are ignored on write.
//! The configuration space from offset `0x100` takes any size.
//!
//! Status rules: bits are only ever added until the driver writes 0 (reset); `FEATURES_OK` sticks only
//! if the driver's features are a subset of the offered ones and include `VIRTIO_F_VERSION_1`;
//! `DRIVER_OK` activates the device with the queues marked ready. When the device reports an error, or a
//! queue is configured badly, the transport sets `DEVICE_NEEDS_RESET`, raises a configuration-change
//! interrupt (once `DRIVER_OK` is set) and ignores notifications until the driver resets the device.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

use vm_core::device::{InterruptLine, MmioDevice};
use vm_core::mem::{AccessSize, GuestMemory};

use super::queue::Queue;
use super::{Activation, HostFd, Interrupt, Kick, VirtioDevice, VirtioError, features, status};

#[cfg(test)]
mod tests;

/// Size of one virtio-mmio window.
pub const VIRTIO_MMIO_SIZE: u64 = 0x1000;
/// "virt" in little-endian ASCII.
pub const MAGIC_VALUE: u32 = 0x7472_6976;
/// The vendor ID this transport reports ("VMDV").
pub const VENDOR_ID: u32 = 0x5644_4d56;

/// Register offsets (VirtIO 1.2 §4.2.2).
pub mod regs {
    /// Magic value "virt".
    pub const MAGIC: u64 = 0x000;
    /// Register layout version (2).
    pub const VERSION: u64 = 0x004;
    /// Device type.
    pub const DEVICE_ID: u64 = 0x008;
    /// Vendor ID.
    pub const VENDOR_ID: u64 = 0x00c;
    /// Device feature bits, 32 at a time.
    pub const DEVICE_FEATURES: u64 = 0x010;
    /// Which 32 device feature bits to read.
    pub const DEVICE_FEATURES_SEL: u64 = 0x014;
    /// Driver feature bits, 32 at a time.
    pub const DRIVER_FEATURES: u64 = 0x020;
    /// Which 32 driver feature bits to write.
    pub const DRIVER_FEATURES_SEL: u64 = 0x024;
    /// Queue selector.
    pub const QUEUE_SEL: u64 = 0x030;
    /// Largest size of the selected queue (0: no such queue).
    pub const QUEUE_NUM_MAX: u64 = 0x034;
    /// Size of the selected queue.
    pub const QUEUE_NUM: u64 = 0x038;
    /// Whether the selected queue is enabled.
    pub const QUEUE_READY: u64 = 0x044;
    /// Queue notification (the value is the queue index).
    pub const QUEUE_NOTIFY: u64 = 0x050;
    /// Interrupt status.
    pub const INTERRUPT_STATUS: u64 = 0x060;
    /// Interrupt acknowledge.
    pub const INTERRUPT_ACK: u64 = 0x064;
    /// Device status.
    pub const STATUS: u64 = 0x070;
    /// Descriptor table address, low 32 bits.
    pub const QUEUE_DESC_LOW: u64 = 0x080;
    /// Descriptor table address, high 32 bits.
    pub const QUEUE_DESC_HIGH: u64 = 0x084;
    /// Available ring address, low 32 bits.
    pub const QUEUE_DRIVER_LOW: u64 = 0x090;
    /// Available ring address, high 32 bits.
    pub const QUEUE_DRIVER_HIGH: u64 = 0x094;
    /// Used ring address, low 32 bits.
    pub const QUEUE_DEVICE_LOW: u64 = 0x0a0;
    /// Used ring address, high 32 bits.
    pub const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
    /// Shared memory region selector.
    pub const SHM_SEL: u64 = 0x0ac;
    /// Shared memory region length, low 32 bits.
    pub const SHM_LEN_LOW: u64 = 0x0b0;
    /// Shared memory region length, high 32 bits.
    pub const SHM_LEN_HIGH: u64 = 0x0b4;
    /// Shared memory region base, low 32 bits.
    pub const SHM_BASE_LOW: u64 = 0x0b8;
    /// Shared memory region base, high 32 bits.
    pub const SHM_BASE_HIGH: u64 = 0x0bc;
    /// Configuration generation.
    pub const CONFIG_GENERATION: u64 = 0x0fc;
    /// Start of the device configuration space.
    pub const CONFIG: u64 = 0x100;
}

/// The virtio-mmio transport around one device; see the module docs.
pub struct VirtioMmio<D> {
    device: D,
    memory: Arc<dyn GuestMemory + Send + Sync>,
    interrupt: Arc<Interrupt>,
    status: u8,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    queues: Vec<Queue>,
    active: bool,
    last_error: Option<VirtioError>,
    kick: Option<Arc<dyn Kick>>,
}

impl<D: VirtioDevice> core::fmt::Debug for VirtioMmio<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VirtioMmio")
            .field("device_type", &self.device.device_type())
            .field("status", &self.status)
            .field(
                "driver_features",
                &format_args!("{:#x}", self.driver_features),
            )
            .field("active", &self.active)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl<D: VirtioDevice> VirtioMmio<D> {
    /// Wrap `device`, which reaches guest RAM through `memory` and interrupts on `line`.
    pub fn new(
        device: D,
        memory: Arc<dyn GuestMemory + Send + Sync>,
        line: Arc<dyn InterruptLine>,
    ) -> Self {
        let queues = device
            .queue_max_sizes()
            .iter()
            .map(|&m| Queue::new(m))
            .collect();
        Self {
            device,
            memory,
            interrupt: Arc::new(Interrupt::new(line)),
            status: 0,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            queues,
            active: false,
            last_error: None,
            kick: None,
        }
    }

    /// The device model.
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device model, mutably (to feed it host input; call [`poll`](Self::poll) afterwards).
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// The device status register.
    pub fn status(&self) -> u8 {
        self.status
    }

    /// The interrupt status register.
    pub fn interrupt_status(&self) -> u32 {
        self.interrupt.status()
    }

    /// Whether the driver has activated the device (and it has not failed since).
    pub fn is_active(&self) -> bool {
        self.active && self.status & status::DEVICE_NEEDS_RESET == 0
    }

    /// Why the device entered `DEVICE_NEEDS_RESET` the last time it did, for the host's log.
    pub fn last_error(&self) -> Option<&VirtioError> {
        self.last_error.as_ref()
    }

    /// Register the thread to wake when the device has host-side work ([`super::worker`]).
    pub fn set_kick(&mut self, kick: Option<Arc<dyn Kick>>) {
        self.kick = kick;
    }

    /// Features offered: the device's plus the transport's.
    pub fn offered_features(&self) -> u64 {
        self.device.features() | features::TRANSPORT
    }

    /// Do the device's host-side work (see [`VirtioDevice::poll`]); a no-op while it is not active.
    pub fn poll(&mut self) {
        if self.is_active() {
            let r = self.device.poll();
            self.after_device_call(r);
        }
    }

    /// How long the poller may sleep (see [`VirtioDevice::poll_timeout`]).
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.is_active() {
            self.device.poll_timeout()
        } else {
            None
        }
    }

    /// The host descriptors the poller waits on (see [`VirtioDevice::host_fds`]).
    pub fn host_fds(&self, fds: &mut Vec<HostFd>) {
        if self.is_active() {
            self.device.host_fds(fds);
        }
    }

    /// Put the device into `DEVICE_NEEDS_RESET` because of `error`.
    fn fail(&mut self, error: VirtioError) {
        self.last_error = Some(error);
        if self.status & status::DEVICE_NEEDS_RESET == 0 {
            self.status |= status::DEVICE_NEEDS_RESET;
            if self.status & status::DRIVER_OK != 0 {
                self.interrupt.signal_config();
            }
        }
    }

    fn after_device_call(&mut self, r: Result<(), VirtioError>) {
        if let Err(e) = r {
            self.fail(e);
        }
        if self.device.take_wake()
            && let Some(k) = &self.kick
        {
            k.kick();
        }
    }

    fn reset(&mut self) {
        self.device.reset();
        self.active = false;
        self.status = 0;
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.queues.iter_mut().for_each(Queue::reset);
        self.interrupt.clear();
        if let Some(k) = &self.kick {
            k.kick();
        }
    }

    fn selected_queue(&mut self) -> Option<&mut Queue> {
        let i = usize::try_from(self.queue_sel).ok()?;
        self.queues.get_mut(i)
    }

    fn write_status(&mut self, value: u8) {
        if value == 0 {
            self.reset();
            return;
        }
        // Bits can only be added; the driver clears them by resetting.
        if value & self.status != self.status {
            return;
        }
        let added = value & !self.status;
        let mut new = value;
        if added & status::FEATURES_OK != 0 {
            let offered = self.offered_features();
            let ok = self.driver_features & !offered == 0
                && self.driver_features & features::VERSION_1 != 0;
            if !ok {
                new &= !status::FEATURES_OK;
            }
        }
        if added & status::DRIVER_OK != 0 && new & status::FEATURES_OK == 0 {
            // DRIVER_OK before a successful FEATURES_OK is a driver bug; do not activate.
            new &= !status::DRIVER_OK;
        }
        self.status = new;
        if added & status::DRIVER_OK != 0 && new & status::DRIVER_OK != 0 {
            self.activate();
        }
    }

    fn activate(&mut self) {
        if self.status & status::DEVICE_NEEDS_RESET != 0 || self.active {
            return;
        }
        let event_idx = self.driver_features & features::RING_EVENT_IDX != 0;
        let indirect = self.driver_features & features::RING_INDIRECT_DESC != 0;
        let mut queues = self.queues.clone();
        for q in &mut queues {
            q.set_ring_features(event_idx, indirect);
        }
        let activation = Activation {
            queues,
            memory: Arc::clone(&self.memory),
            interrupt: Arc::clone(&self.interrupt),
            features: self.driver_features,
        };
        match self.device.activate(activation) {
            Ok(()) => {
                self.active = true;
                if let Some(k) = &self.kick {
                    k.kick();
                }
            }
            Err(e) => self.fail(e),
        }
    }

    fn write_queue_ready(&mut self, value: u32) {
        if self.status & status::DRIVER_OK != 0 {
            return;
        }
        let Some(q) = self.selected_queue() else {
            return;
        };
        if value & 1 == 0 {
            q.set_ready(false);
            return;
        }
        let checked = q.validate();
        let index = u16::try_from(self.queue_sel).unwrap_or(u16::MAX);
        match checked {
            Ok(()) => {
                if let Some(q) = self.selected_queue() {
                    q.set_ready(true);
                }
            }
            Err(source) => self.fail(VirtioError::Queue {
                queue: index,
                source,
            }),
        }
    }

    /// Change one 32-bit half of a queue address, only while the queue is being set up.
    fn write_queue_addr(&mut self, offset: u64, value: u32) {
        if self.status & status::DRIVER_OK != 0 {
            return;
        }
        let Some(q) = self.selected_queue() else {
            return;
        };
        if q.ready() {
            return;
        }
        let set = |old: u64, high: bool| {
            if high {
                (old & 0xffff_ffff) | (u64::from(value) << 32)
            } else {
                (old & !0xffff_ffff) | u64::from(value)
            }
        };
        match offset {
            regs::QUEUE_DESC_LOW | regs::QUEUE_DESC_HIGH => {
                q.set_desc_table(set(q.desc_table(), offset == regs::QUEUE_DESC_HIGH));
            }
            regs::QUEUE_DRIVER_LOW | regs::QUEUE_DRIVER_HIGH => {
                q.set_avail_ring(set(q.avail_ring(), offset == regs::QUEUE_DRIVER_HIGH));
            }
            _ => q.set_used_ring(set(q.used_ring(), offset == regs::QUEUE_DEVICE_HIGH)),
        }
    }

    fn notify(&mut self, value: u32) {
        if !self.is_active() {
            return;
        }
        // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index.
        let Ok(queue) = u16::try_from(value) else {
            return;
        };
        if usize::from(queue) >= self.queues.len() {
            return;
        }
        let r = self.device.notify(queue);
        self.after_device_call(r);
    }

    fn read_register(&mut self, offset: u64) -> u32 {
        let sel_queue = |s: &mut Self, f: fn(&Queue) -> u32| s.selected_queue().map_or(0, |q| f(q));
        match offset {
            regs::MAGIC => MAGIC_VALUE,
            regs::VERSION => 2,
            regs::DEVICE_ID => self.device.device_type(),
            regs::VENDOR_ID => VENDOR_ID,
            regs::DEVICE_FEATURES => match self.device_features_sel {
                0 => self.offered_features() as u32,
                1 => (self.offered_features() >> 32) as u32,
                _ => 0,
            },
            regs::QUEUE_NUM_MAX => sel_queue(self, |q| u32::from(q.max_size())),
            regs::QUEUE_READY => sel_queue(self, |q| u32::from(q.ready())),
            regs::INTERRUPT_STATUS => self.interrupt.status(),
            regs::STATUS => u32::from(self.status),
            // No shared memory regions: length and base read as -1.
            regs::SHM_LEN_LOW | regs::SHM_LEN_HIGH | regs::SHM_BASE_LOW | regs::SHM_BASE_HIGH => {
                u32::MAX
            }
            regs::CONFIG_GENERATION => self.interrupt.config_generation(),
            _ => 0,
        }
    }

    fn write_register(&mut self, offset: u64, value: u32) {
        match offset {
            regs::DEVICE_FEATURES_SEL => self.device_features_sel = value,
            regs::DRIVER_FEATURES_SEL => self.driver_features_sel = value,
            regs::DRIVER_FEATURES => {
                if self.status & (status::FEATURES_OK | status::DRIVER_OK) != 0
                    || self.status & status::DRIVER == 0
                {
                    return;
                }
                match self.driver_features_sel {
                    0 => {
                        self.driver_features =
                            (self.driver_features & !0xffff_ffff) | u64::from(value);
                    }
                    1 => {
                        self.driver_features =
                            (self.driver_features & 0xffff_ffff) | (u64::from(value) << 32);
                    }
                    _ => {}
                }
            }
            regs::QUEUE_SEL => self.queue_sel = value,
            regs::QUEUE_NUM => {
                if self.status & status::DRIVER_OK == 0
                    && let Some(q) = self.selected_queue()
                    && !q.ready()
                {
                    q.set_size(u16::try_from(value).unwrap_or(0));
                }
            }
            regs::QUEUE_READY => self.write_queue_ready(value),
            regs::QUEUE_NOTIFY => self.notify(value),
            regs::INTERRUPT_ACK => self.interrupt.ack(value),
            regs::STATUS => self.write_status(value as u8),
            regs::QUEUE_DESC_LOW
            | regs::QUEUE_DESC_HIGH
            | regs::QUEUE_DRIVER_LOW
            | regs::QUEUE_DRIVER_HIGH
            | regs::QUEUE_DEVICE_LOW
            | regs::QUEUE_DEVICE_HIGH => self.write_queue_addr(offset, value),
            _ => {}
        }
    }
}

impl<D: VirtioDevice> MmioDevice for VirtioMmio<D> {
    fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
        if offset >= regs::CONFIG {
            let mut buf = [0u8; 8];
            let data = buf.get_mut(..size.bytes()).unwrap_or_default();
            self.device.read_config(offset - regs::CONFIG, data);
            return u64::from_le_bytes(buf);
        }
        if size != AccessSize::U32 || !offset.is_multiple_of(4) {
            return 0;
        }
        u64::from(self.read_register(offset))
    }

    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        if offset >= regs::CONFIG {
            let bytes = value.to_le_bytes();
            let data = bytes.get(..size.bytes()).unwrap_or_default();
            self.device.write_config(offset - regs::CONFIG, data);
            return;
        }
        if size != AccessSize::U32 || !offset.is_multiple_of(4) {
            return;
        }
        self.write_register(offset, value as u32);
    }
}
