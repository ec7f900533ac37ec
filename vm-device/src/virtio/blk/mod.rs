//! virtio-blk (VirtIO 1.2 §5.2): a block device over a [`BlockStorage`].
//!
//! One request queue. Supported requests: read, write, flush (durable before it completes: `fsync` for
//! files), get-id (a serial of up to 20 bytes), discard and write-zeroes. The capacity is the storage
//! size in whole 512-byte sectors; requests beyond it get `IOERR` and the storage is never written past
//! its size. In read-only mode the device offers `VIRTIO_BLK_F_RO` and answers writes, discards and
//! write-zeroes with `IOERR` without touching the storage.
//!
//! All work happens inside the guest's queue notification (on the vCPU thread that wrote
//! `QueueNotify`); no thread is needed. Data moves between guest memory and the storage through one
//! reused 64 KiB buffer, so a request never makes the device allocate more than that.
//!
//! ```
//! use vm_device::virtio::blk::{Block, BlockConfig, MemStorage};
//! use vm_device::virtio::{VirtioDevice, device_type};
//!
//! let disk = Block::new(Box::new(MemStorage::new(vec![0; 4096])), BlockConfig::default());
//! assert_eq!(disk.device_type(), device_type::BLOCK);
//! assert_eq!(disk.capacity(), 8); // sectors
//! ```

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use vm_core::mem::GuestMemory;

use super::queue::DescriptorChain;
use super::{Activation, Active, Failure, VirtioDevice, VirtioError, device_type};
use crate::error::DeviceError;

#[cfg(all(feature = "std", unix))]
mod file;
pub mod request;
mod storage;

#[cfg(all(feature = "std", unix))]
pub use file::RawFile;
pub use request::{Limits, Request, RequestError, SECTOR_SIZE, blk_status, req_type};
pub use storage::{BlockStorage, MemStorage};

/// Feature bits (VirtIO 1.2 §5.2.3).
pub mod blk_features {
    /// `seg_max` is valid.
    pub const SEG_MAX: u64 = 1 << 2;
    /// The device is read-only.
    pub const RO: u64 = 1 << 5;
    /// `blk_size` is valid.
    pub const BLK_SIZE: u64 = 1 << 6;
    /// Flush is supported.
    pub const FLUSH: u64 = 1 << 9;
    /// Discard is supported.
    pub const DISCARD: u64 = 1 << 13;
    /// Write-zeroes is supported.
    pub const WRITE_ZEROES: u64 = 1 << 14;
}

/// Largest request queue.
pub const QUEUE_SIZE: u16 = 256;
/// Size of the buffer data moves through.
const BOUNCE: usize = 64 * 1024;
/// Most requests one notification completes before handing the rest to [`VirtioDevice::poll`].
const BUDGET: usize = QUEUE_SIZE as usize;
/// Most segments in one discard or write-zeroes request.
const MAX_SEGMENTS: u32 = 32;
/// Most sectors in one discard or write-zeroes segment (2 GiB).
const MAX_SEGMENT_SECTORS: u32 = 1 << 22;

/// How a block device presents its storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockConfig {
    /// Refuse writes (`VIRTIO_BLK_F_RO`).
    pub read_only: bool,
    /// The ID get-id returns (at most 20 bytes are used).
    pub serial: Vec<u8>,
}

impl Default for BlockConfig {
    fn default() -> Self {
        Self {
            read_only: false,
            serial: b"vm-device-blk".to_vec(),
        }
    }
}

/// A virtio-blk device; see the module docs.
pub struct Block {
    storage: Box<dyn BlockStorage>,
    read_only: bool,
    serial: [u8; request::ID_BYTES],
    capacity: u64,
    bounce: Vec<u8>,
    active: Option<Active>,
    pending: bool,
    wake: bool,
    last_io_error: Option<DeviceError>,
}

impl core::fmt::Debug for Block {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Block")
            .field("capacity", &self.capacity)
            .field("read_only", &self.read_only)
            .field("active", &self.active.is_some())
            .finish_non_exhaustive()
    }
}

impl Block {
    /// A block device over `storage`.
    pub fn new(storage: Box<dyn BlockStorage>, config: BlockConfig) -> Self {
        let mut serial = [0u8; request::ID_BYTES];
        for (d, s) in serial.iter_mut().zip(&config.serial) {
            *d = *s;
        }
        let capacity = storage.size() / SECTOR_SIZE;
        Self {
            storage,
            read_only: config.read_only,
            serial,
            capacity,
            bounce: Vec::new(),
            active: None,
            pending: false,
            wake: false,
            last_io_error: None,
        }
    }

    /// Capacity in 512-byte sectors.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Whether the device is read-only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// The first host I/O error since the device was created (the guest saw `IOERR`).
    pub fn last_io_error(&self) -> Option<&DeviceError> {
        self.last_io_error.as_ref()
    }

    fn limits(&self) -> Limits {
        Limits {
            capacity: self.capacity,
            read_only: self.read_only,
            max_discard_sectors: MAX_SEGMENT_SECTORS,
            max_discard_seg: MAX_SEGMENTS,
            max_write_zeroes_sectors: MAX_SEGMENT_SECTORS,
            max_write_zeroes_seg: MAX_SEGMENTS,
        }
    }

    /// The configuration space (`struct virtio_blk_config` up to `unused1`).
    fn config_bytes(&self) -> [u8; 60] {
        let mut c = [0u8; 60];
        let mut put = |at: usize, bytes: &[u8]| {
            if let Some(dst) = c.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        };
        put(0, &self.capacity.to_le_bytes());
        put(12, &u32::from(QUEUE_SIZE - 2).to_le_bytes()); // seg_max
        put(20, &(SECTOR_SIZE as u32).to_le_bytes()); // blk_size
        put(34, &1u16.to_le_bytes()); // num_queues
        put(36, &MAX_SEGMENT_SECTORS.to_le_bytes()); // max_discard_sectors
        put(40, &MAX_SEGMENTS.to_le_bytes()); // max_discard_seg
        put(44, &8u32.to_le_bytes()); // discard_sector_alignment (4 KiB)
        put(48, &MAX_SEGMENT_SECTORS.to_le_bytes()); // max_write_zeroes_sectors
        put(52, &MAX_SEGMENTS.to_le_bytes()); // max_write_zeroes_seg
        put(56, &[1]); // write_zeroes_may_unmap
        c
    }

    /// Work through the request queue within the budget.
    fn process(&mut self) -> Result<(), VirtioError> {
        let limits = self.limits();
        let Some(active) = self.active.as_mut() else {
            return Ok(());
        };
        let Some(queue) = active.queues.get_mut(0) else {
            return Ok(());
        };
        if self.bounce.is_empty() {
            self.bounce = vec![0; BOUNCE];
        }
        let mem = &*active.memory;
        let mut exec = Executor {
            storage: &mut *self.storage,
            bounce: &mut self.bounce,
            serial: &self.serial,
            limits,
            last_io_error: &mut self.last_io_error,
        };
        let done = queue
            .process(mem, BUDGET, |chain| exec.handle(chain, mem))
            .map_err(|e| e.into_virtio(0))?;
        self.pending = done.more;
        self.wake |= done.more;
        if done.chains > 0 {
            active.notify_used(0)?;
        }
        Ok(())
    }
}

/// Borrowed state for executing requests.
struct Executor<'a> {
    storage: &'a mut dyn BlockStorage,
    bounce: &'a mut Vec<u8>,
    serial: &'a [u8; request::ID_BYTES],
    limits: Limits,
    last_io_error: &'a mut Option<DeviceError>,
}

impl Executor<'_> {
    /// Execute one request; returns the bytes written into the chain (data plus status).
    fn handle(&mut self, chain: &DescriptorChain, mem: &dyn GuestMemory) -> Result<u32, Failure> {
        let parsed = request::parse(chain, mem, &self.limits, 0).map_err(Failure::Device)?;
        let (status, written) = match parsed.request {
            Ok(req) => self.execute(&req, chain, mem),
            Err(e) => (e.status(), 0),
        };
        mem.write_u8(parsed.status, status)
            .map_err(|source| Failure::Device(VirtioError::Memory { queue: 0, source }))?;
        Ok(written.saturating_add(1))
    }

    fn io_error(&mut self, e: DeviceError) -> u8 {
        super::note_host_error(self.last_io_error, e);
        blk_status::IOERR
    }

    /// Returns (status, data bytes written to the guest).
    fn execute(
        &mut self,
        req: &Request,
        chain: &DescriptorChain,
        mem: &dyn GuestMemory,
    ) -> (u8, u32) {
        match *req {
            Request::Read { sector, len } => {
                let mut w = chain.writer_limited(mem, len);
                let mut offset = sector * SECTOR_SIZE;
                let mut left = len as usize;
                while left > 0 {
                    let n = left.min(self.bounce.len());
                    let Some(buf) = self.bounce.get_mut(..n) else {
                        return (blk_status::IOERR, 0);
                    };
                    if let Err(e) = self.storage.read_at(offset, buf) {
                        let written = w.written() as u32;
                        return (self.io_error(e), written);
                    }
                    if w.write_all(buf).is_err() {
                        return (blk_status::IOERR, w.written() as u32);
                    }
                    offset += n as u64;
                    left -= n;
                }
                (blk_status::OK, w.written() as u32)
            }
            Request::Write { sector, len } => {
                let mut r = chain.reader(mem);
                r.skip(u64::from(request::HEADER_SIZE));
                let mut offset = sector * SECTOR_SIZE;
                let mut left = len as usize;
                while left > 0 {
                    let n = left.min(self.bounce.len());
                    let Some(buf) = self.bounce.get_mut(..n) else {
                        return (blk_status::IOERR, 0);
                    };
                    if r.read_exact(buf).is_err() {
                        return (blk_status::IOERR, 0);
                    }
                    if let Err(e) = self.storage.write_at(offset, buf) {
                        return (self.io_error(e), 0);
                    }
                    offset += n as u64;
                    left -= n;
                }
                (blk_status::OK, 0)
            }
            Request::Flush => match self.storage.flush() {
                Ok(()) => (blk_status::OK, 0),
                Err(e) => (self.io_error(e), 0),
            },
            Request::GetId { len } => {
                let n = (len as usize).min(self.serial.len());
                let mut w = chain.writer_limited(mem, len);
                match w.write_all(self.serial.get(..n).unwrap_or_default()) {
                    Ok(()) => (blk_status::OK, n as u32),
                    Err(_) => (blk_status::IOERR, w.written() as u32),
                }
            }
            Request::Discard(ref segments) | Request::WriteZeroes(ref segments) => {
                let discard = matches!(req, Request::Discard(_));
                for s in segments {
                    let (offset, bytes) = s.byte_range();
                    let r = if discard {
                        self.storage.discard(offset, bytes)
                    } else {
                        self.storage.write_zeroes(offset, bytes, s.unmap)
                    };
                    if let Err(e) = r {
                        return (self.io_error(e), 0);
                    }
                }
                (blk_status::OK, 0)
            }
        }
    }
}

impl VirtioDevice for Block {
    fn device_type(&self) -> u32 {
        device_type::BLOCK
    }

    fn features(&self) -> u64 {
        let base = blk_features::SEG_MAX | blk_features::BLK_SIZE | blk_features::FLUSH;
        if self.read_only {
            base | blk_features::RO
        } else {
            base | blk_features::DISCARD | blk_features::WRITE_ZEROES
        }
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        super::read_config_bytes(&self.config_bytes(), offset, data);
    }

    fn activate(&mut self, activation: Activation) -> Result<(), VirtioError> {
        self.active = Some(Active::new(activation));
        self.pending = false;
        Ok(())
    }

    fn notify(&mut self, _queue: u16) -> Result<(), VirtioError> {
        self.process()
    }

    fn reset(&mut self) {
        self.active = None;
        self.pending = false;
        self.wake = false;
    }

    fn poll(&mut self) -> Result<(), VirtioError> {
        if self.pending {
            self.process()?;
        }
        Ok(())
    }

    fn take_wake(&mut self) -> bool {
        core::mem::take(&mut self.wake)
    }
}

#[cfg(test)]
mod tests;
