//! virtio-net (VirtIO 1.2 §5.1): a network card over a [`NetBackend`].
//!
//! One receive queue (0) and one transmit queue (1), a MAC address and a link that is always up; no
//! offloads and no mergeable receive buffers, so every packet is a 12-byte [`NetHeader`] and one
//! Ethernet frame of at most 1514 bytes (the driver posts receive buffers of that size).
//!
//! Back ends: [`tap::Tap`] (a Linux TAP interface, with `std`) and [`user::UserNet`] (user-mode
//! networking on smoltcp: DHCP, NAT to host sockets, host port forwards; with the `smoltcp` feature).
//!
//! Transmitted packets go to the back end inside the guest's notification. Received frames reach the
//! guest from [`VirtioDevice::poll`], which the [`worker`](super::worker) thread calls when a back-end
//! descriptor is readable or its timer expires, and at once after each transmit and each receive-buffer
//! refill. A frame that finds no receive buffer waits (one frame, inside the device) and the device stops
//! watching the back end until the driver adds buffers; frames that do not fit a buffer are dropped and
//! counted in [`NetStats`].
//!
//! ```
//! use vm_device::virtio::net::{Net, NetBackend};
//! use vm_device::virtio::VirtioDevice;
//!
//! /// A back end that drops everything and never receives.
//! struct Sink;
//! impl NetBackend for Sink {
//!     fn send(&mut self, _frame: &[u8]) -> vm_device::Result<()> { Ok(()) }
//!     fn recv(&mut self, _buf: &mut [u8]) -> vm_device::Result<Option<usize>> { Ok(None) }
//! }
//!
//! let nic = Net::new(Box::new(Sink), [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
//! let mut mac = [0u8; 6];
//! nic.read_config(0, &mut mac);
//! assert_eq!(mac, [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
//! ```

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use super::queue::DescriptorChain;
use super::{Activation, Active, Failure, HostFd, VirtioDevice, VirtioError, device_type};
use crate::error::{DeviceError, Result};

mod header;
#[cfg(all(feature = "std", target_os = "linux"))]
pub mod tap;
#[cfg(feature = "smoltcp")]
pub mod user;

pub use header::{MAX_FRAME, NET_HDR_SIZE, NetHeader, NetHeaderError, parse_tx_packet};

/// Feature bits (VirtIO 1.2 §5.1.3).
pub mod net_features {
    /// The device has a MAC address in its configuration.
    pub const MAC: u64 = 1 << 5;
    /// The configuration has a link status.
    pub const STATUS: u64 = 1 << 16;
}

/// Queue index of the receive queue.
pub const RX_QUEUE: u16 = 0;
/// Queue index of the transmit queue.
pub const TX_QUEUE: u16 = 1;
/// Largest queue size.
pub const QUEUE_SIZE: u16 = 256;
/// Most packets one call moves in each direction before yielding.
const BUDGET: usize = QUEUE_SIZE as usize;
/// `VIRTIO_NET_S_LINK_UP`.
const LINK_UP: u16 = 1;

/// The host side of a network card: Ethernet frames in and out.
///
/// Methods must not block: a frame that cannot be sent now is dropped (as a full NIC queue would), and
/// `recv` returns `Ok(None)` when nothing is waiting.
pub trait NetBackend: Send {
    /// Send one Ethernet frame from the guest.
    fn send(&mut self, frame: &[u8]) -> Result<()>;

    /// Take one frame for the guest into `buf` (at least [`MAX_FRAME`] bytes); its length, or `None`.
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>>;

    /// Do timed or host-driven work (a TCP/IP stack's timers, host sockets).
    fn poll(&mut self) -> Result<()> {
        Ok(())
    }

    /// When [`poll`](Self::poll) must run next at the latest, if no descriptor wakes it first.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }

    /// Host descriptors whose readiness means frames or work are waiting.
    fn host_fds(&self, fds: &mut Vec<HostFd>) {
        let _ = fds;
    }

    /// Whether the descriptor set changed (or work is waiting) so the poller should look again now.
    fn take_wake(&mut self) -> bool {
        false
    }
}

/// Why a TAP interface could not be opened, in terms the user can act on.
#[cfg(feature = "std")]
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TapFailure {
    /// `/dev/net/tun` does not exist (no TUN/TAP support, or not visible in this container).
    #[error("the TUN/TAP device /dev/net/tun is not available")]
    NoTunDevice,
    /// Opening `/dev/net/tun` or creating the interface needs more privilege (`CAP_NET_ADMIN`, or an
    /// interface created beforehand for this user with `ip tuntap add ... user`).
    #[error("permission denied (CAP_NET_ADMIN or a TAP interface owned by this user is needed)")]
    PermissionDenied,
    /// The interface name is empty, too long (15 bytes at most) or has characters Linux refuses.
    #[error("the interface name is invalid")]
    InvalidName,
    /// The interface exists and is in use, or is not a TAP interface.
    #[error("the interface is busy or is not a TAP interface")]
    Busy,
    /// TAP interfaces exist only on Linux hosts.
    #[error("TAP interfaces are only supported on Linux")]
    Unsupported,
    /// Any other host error.
    #[error("the host refused")]
    Other,
}

/// Packet counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Frames the guest sent that reached the back end.
    pub tx_frames: u64,
    /// Frames the guest sent that were dropped (malformed, or the back end failed).
    pub tx_dropped: u64,
    /// Frames delivered to the guest.
    pub rx_frames: u64,
    /// Frames from the back end dropped because they did not fit a receive buffer.
    pub rx_dropped: u64,
}

/// A virtio-net device; see the module docs.
pub struct Net {
    backend: Box<dyn NetBackend>,
    mac: [u8; 6],
    active: Option<Active>,
    tx_buf: Vec<u8>,
    rx_buf: Vec<u8>,
    /// Length of a frame in `rx_buf` waiting for a receive buffer.
    rx_waiting: Option<usize>,
    rx_stalled: bool,
    tx_pending: bool,
    wake: bool,
    stats: NetStats,
    last_error: Option<DeviceError>,
}

impl core::fmt::Debug for Net {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Net")
            .field("mac", &self.mac)
            .field("stats", &self.stats)
            .field("active", &self.active.is_some())
            .finish_non_exhaustive()
    }
}

impl Net {
    /// A network card with MAC address `mac` on `backend`.
    pub fn new(backend: Box<dyn NetBackend>, mac: [u8; 6]) -> Self {
        Self {
            backend,
            mac,
            active: None,
            tx_buf: Vec::new(),
            rx_buf: Vec::new(),
            rx_waiting: None,
            rx_stalled: false,
            tx_pending: false,
            wake: false,
            stats: NetStats::default(),
            last_error: None,
        }
    }

    /// The MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Packet counters.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// The first back-end error (frames were dropped because of it).
    pub fn last_backend_error(&self) -> Option<&DeviceError> {
        self.last_error.as_ref()
    }

    /// The back end.
    pub fn backend_mut(&mut self) -> &mut dyn NetBackend {
        &mut *self.backend
    }

    fn transmit(&mut self) -> Result<(), VirtioError> {
        let Some(active) = self.active.as_mut() else {
            return Ok(());
        };
        let Some(queue) = active.queues.get_mut(usize::from(TX_QUEUE)) else {
            return Ok(());
        };
        if self.tx_buf.is_empty() {
            self.tx_buf = vec![0; NET_HDR_SIZE + MAX_FRAME];
        }
        let mem = &*active.memory;
        let backend = &mut *self.backend;
        let tx_buf = &mut self.tx_buf;
        let stats = &mut self.stats;
        let last_error = &mut self.last_error;
        let done = queue.process(mem, BUDGET, |chain: &DescriptorChain| {
            if !chain.writable().is_empty() {
                return Err(Failure::Device(VirtioError::WrongDirection {
                    queue: TX_QUEUE,
                    what: "transmit buffers must be device-readable",
                }));
            }
            let len = chain.readable_len() as usize;
            let Some(buf) = tx_buf.get_mut(..len) else {
                stats.tx_dropped += 1;
                return Ok(0);
            };
            chain
                .reader(mem)
                .read_exact(buf)
                .map_err(|e| Failure::from_io(TX_QUEUE, e))?;
            match parse_tx_packet(buf) {
                Ok(frame) => match backend.send(frame) {
                    Ok(()) => stats.tx_frames += 1,
                    Err(e) => {
                        stats.tx_dropped += 1;
                        super::note_host_error(last_error, e);
                    }
                },
                Err(_) => stats.tx_dropped += 1,
            }
            Ok(0)
        });
        let done = done.map_err(|e| e.into_virtio(TX_QUEUE))?;
        self.tx_pending = done.more;
        self.wake |= done.more;
        if done.chains > 0 {
            active.notify_used(TX_QUEUE)?;
        }
        Ok(())
    }

    /// Move frames from the back end into receive buffers.
    fn receive(&mut self) -> Result<(), VirtioError> {
        let Some(active) = self.active.as_mut() else {
            return Ok(());
        };
        let mem = &*active.memory;
        let Some(queue) = active.queues.get_mut(usize::from(RX_QUEUE)) else {
            return Ok(());
        };
        if !queue.ready() {
            return Ok(());
        }
        if self.rx_buf.is_empty() {
            self.rx_buf = vec![0; MAX_FRAME];
        }
        let q_err = |source| VirtioError::Queue {
            queue: RX_QUEUE,
            source,
        };
        let mut delivered = 0;
        let mut steps = 0;
        while steps < BUDGET {
            steps += 1;
            let len = match self.rx_waiting {
                Some(len) => len,
                None => match self.backend.recv(&mut self.rx_buf) {
                    Ok(Some(len)) => len.min(self.rx_buf.len()),
                    Ok(None) => break,
                    Err(e) => {
                        super::note_host_error(&mut self.last_error, e);
                        break;
                    }
                },
            };
            self.rx_waiting = Some(len);
            let Some(chain) = queue.pop(mem).map_err(q_err)? else {
                if queue.enable_notification(mem).map_err(q_err)? {
                    continue;
                }
                self.rx_stalled = true;
                break;
            };
            self.rx_stalled = false;
            if !chain.readable().is_empty() {
                return Err(VirtioError::WrongDirection {
                    queue: RX_QUEUE,
                    what: "receive buffers must be device-writable",
                });
            }
            let total = NET_HDR_SIZE + len;
            if (chain.writable_len() as usize) < total {
                // Too small for this frame: drop the frame, keep the buffer for the next one.
                queue.undo_pop();
                self.rx_waiting = None;
                self.stats.rx_dropped += 1;
                continue;
            }
            let mut w = chain.writer(mem);
            let frame = self.rx_buf.get(..len).unwrap_or_default();
            w.write_all(&NetHeader::rx().to_bytes())
                .and_then(|()| w.write_all(frame))
                .map_err(|e| match e {
                    super::queue::ChainIoError::Memory(source) => VirtioError::Memory {
                        queue: RX_QUEUE,
                        source,
                    },
                    super::queue::ChainIoError::Short { .. } => {
                        VirtioError::NoStatus { queue: RX_QUEUE }
                    }
                })?;
            queue
                .add_used(mem, chain.head(), total as u32)
                .map_err(q_err)?;
            self.rx_waiting = None;
            self.stats.rx_frames += 1;
            delivered += 1;
        }
        if steps >= BUDGET {
            self.wake = true;
        }
        if delivered > 0 {
            active.notify_used(RX_QUEUE)?;
        }
        Ok(())
    }

    fn backend_poll(&mut self) {
        if let Err(e) = self.backend.poll() {
            super::note_host_error(&mut self.last_error, e);
        }
    }
}

impl VirtioDevice for Net {
    fn device_type(&self) -> u32 {
        device_type::NET
    }

    fn features(&self) -> u64 {
        net_features::MAC | net_features::STATUS
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE, QUEUE_SIZE]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        let mut c = [0u8; 8];
        c[..6].copy_from_slice(&self.mac);
        c[6..].copy_from_slice(&LINK_UP.to_le_bytes());
        super::read_config_bytes(&c, offset, data);
    }

    fn activate(&mut self, activation: Activation) -> Result<(), VirtioError> {
        self.active = Some(Active::new(activation));
        self.rx_stalled = false;
        self.wake = true;
        Ok(())
    }

    fn notify(&mut self, queue: u16) -> Result<(), VirtioError> {
        if queue == TX_QUEUE {
            self.transmit()?;
            // Let the back end answer at once (a user-mode stack replies to ARP, SYN, DHCP...).
            self.backend_poll();
        }
        self.receive()
    }

    fn reset(&mut self) {
        self.active = None;
        self.rx_waiting = None;
        self.rx_stalled = false;
        self.tx_pending = false;
        self.wake = false;
    }

    fn poll(&mut self) -> Result<(), VirtioError> {
        if self.active.is_none() {
            return Ok(());
        }
        if self.tx_pending {
            // Work a notification left over because of its budget.
            self.transmit()?;
        }
        self.backend_poll();
        self.receive()
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.backend.poll_timeout()
    }

    fn host_fds(&self, fds: &mut Vec<HostFd>) {
        if !self.rx_stalled {
            self.backend.host_fds(fds);
        }
    }

    fn take_wake(&mut self) -> bool {
        let backend = self.backend.take_wake();
        core::mem::take(&mut self.wake) | backend
    }
}

#[cfg(test)]
mod tests;
