//! What a block device stores its sectors in: the [`BlockStorage`] trait and an in-memory disk.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{DeviceError, Result};

/// Size of the zero buffer the default [`BlockStorage::write_zeroes`] writes from.
const ZERO_CHUNK: usize = 64 * 1024;

/// The host side of a block device: a fixed-size array of bytes.
///
/// Offsets and lengths are in bytes; the device only asks for whole sectors inside
/// [`size`](Self::size), and an implementation must never grow the storage.
pub trait BlockStorage: Send {
    /// Size in bytes (the device exposes `size / 512` sectors).
    fn size(&self) -> u64;

    /// Fill `buf` from `offset`.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// Store `buf` at `offset`.
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()>;

    /// Make every completed write durable (fsync for files).
    fn flush(&mut self) -> Result<()>;

    /// Give back `len` bytes at `offset`; reads of them return zeros afterwards. The default writes
    /// zeros.
    fn discard(&mut self, offset: u64, len: u64) -> Result<()> {
        self.write_zeroes(offset, len, true)
    }

    /// Set `len` bytes at `offset` to zero; `may_unmap` allows deallocating them. The default writes
    /// zeros from a buffer.
    fn write_zeroes(&mut self, offset: u64, len: u64, may_unmap: bool) -> Result<()> {
        let _ = may_unmap;
        check_range(offset, len, self.size())?;
        let zeros = vec![0u8; ZERO_CHUNK];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(ZERO_CHUNK as u64) as usize;
            self.write_at(offset + done, zeros.get(..n).unwrap_or_default())?;
            done += n as u64;
        }
        Ok(())
    }
}

/// Fail unless `offset..offset + len` lies inside `size` bytes.
pub(crate) fn check_range(offset: u64, len: u64, size: u64) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(DeviceError::StorageRange { offset, len, size }),
    }
}

/// A disk held in memory: a RAM disk for embedders without files, and for tests and fuzzing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemStorage {
    bytes: Vec<u8>,
    flushes: u64,
}

impl MemStorage {
    /// A disk with these contents (its size is `bytes.len()`).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { bytes, flushes: 0 }
    }

    /// The contents.
    pub fn contents(&self) -> &[u8] {
        &self.bytes
    }

    /// How many flushes the device asked for.
    pub fn flushes(&self) -> u64 {
        self.flushes
    }

    fn range(&self, offset: u64, len: usize) -> Result<core::ops::Range<usize>> {
        check_range(offset, len as u64, self.size())?;
        // In range of a Vec, so it fits in usize.
        let start = offset as usize;
        Ok(start..start + len)
    }
}

impl BlockStorage for MemStorage {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let r = self.range(offset, buf.len())?;
        buf.copy_from_slice(self.bytes.get(r).unwrap_or_default());
        Ok(())
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
        let r = self.range(offset, buf.len())?;
        if let Some(dst) = self.bytes.get_mut(r) {
            dst.copy_from_slice(buf);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.flushes += 1;
        Ok(())
    }

    fn write_zeroes(&mut self, offset: u64, len: u64, _may_unmap: bool) -> Result<()> {
        let n = usize::try_from(len).map_err(|_| DeviceError::StorageRange {
            offset,
            len,
            size: self.size(),
        })?;
        let r = self.range(offset, n)?;
        if let Some(dst) = self.bytes.get_mut(r) {
            dst.fill(0);
        }
        Ok(())
    }
}
