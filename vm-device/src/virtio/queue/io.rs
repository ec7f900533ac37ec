//! Byte cursors over the buffers of a descriptor chain.
//!
//! A driver may split a request across descriptors anywhere (VirtIO 1.2 §2.6.4, "message framing"), so
//! devices read their headers and data through these cursors rather than from single descriptors.

use vm_core::mem::{GuestMemory, MemFault};

use super::chain::Descriptor;

/// Why a chain could not supply or take the bytes a device needed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainIoError {
    /// The buffers end before the bytes asked for.
    #[error("Descriptor chain is {missing} bytes too short")]
    Short {
        /// How many bytes were missing.
        missing: u64,
    },
    /// A buffer is not in guest RAM.
    #[error("Descriptor buffer is not accessible")]
    Memory(#[from] MemFault),
}

/// Position inside a list of buffers.
#[derive(Clone, Debug)]
struct Cursor<'a> {
    descs: &'a [Descriptor],
    index: usize,
    offset: u32,
    remaining: u64,
    done: u64,
}

impl<'a> Cursor<'a> {
    fn new(descs: &'a [Descriptor], limit: u64) -> Self {
        let total: u64 = descs.iter().map(|d| u64::from(d.len)).sum();
        Self {
            descs,
            index: 0,
            offset: 0,
            remaining: total.min(limit),
            done: 0,
        }
    }

    /// The next contiguous piece of at most `max` bytes: (guest address, length). Advances.
    fn next_piece(&mut self, max: usize) -> Option<(vm_core::GuestPhysAddr, usize)> {
        while self.remaining > 0 {
            let d = self.descs.get(self.index)?;
            let left_in_desc = d.len.saturating_sub(self.offset);
            if left_in_desc == 0 {
                self.index += 1;
                self.offset = 0;
                continue;
            }
            let n = u64::from(left_in_desc).min(self.remaining).min(max as u64);
            let addr = d.addr.wrapping_add(u64::from(self.offset));
            // `n` is at most `left_in_desc`, a u32.
            self.offset += n as u32;
            self.remaining -= n;
            self.done += n;
            return Some((addr, n as usize));
        }
        None
    }
}

/// Reads the device-readable bytes of a chain in order.
#[derive(Clone)]
pub struct ChainReader<'a> {
    mem: &'a dyn GuestMemory,
    cursor: Cursor<'a>,
}

impl core::fmt::Debug for ChainReader<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChainReader")
            .field("remaining", &self.cursor.remaining)
            .finish_non_exhaustive()
    }
}

impl<'a> ChainReader<'a> {
    pub(super) fn new(mem: &'a dyn GuestMemory, descs: &'a [Descriptor]) -> Self {
        Self {
            mem,
            cursor: Cursor::new(descs, u64::MAX),
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> u64 {
        self.cursor.remaining
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.cursor.done
    }

    /// Read up to `buf.len()` bytes; returns how many (fewer only at the end of the chain).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, MemFault> {
        let mut filled = 0;
        while filled < buf.len() {
            let Some((addr, n)) = self.cursor.next_piece(buf.len() - filled) else {
                break;
            };
            let dst = buf.get_mut(filled..filled + n).unwrap_or_default();
            self.mem.read(addr, dst)?;
            filled += n;
        }
        Ok(filled)
    }

    /// Fill `buf` completely.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), ChainIoError> {
        let n = self.read(buf)?;
        if n < buf.len() {
            return Err(ChainIoError::Short {
                missing: (buf.len() - n) as u64,
            });
        }
        Ok(())
    }

    /// Skip `n` bytes (fewer at the end of the chain); returns how many were skipped.
    pub fn skip(&mut self, mut n: u64) -> u64 {
        let mut skipped = 0;
        while n > 0 {
            let max = usize::try_from(n).unwrap_or(usize::MAX);
            let Some((_, got)) = self.cursor.next_piece(max) else {
                break;
            };
            n -= got as u64;
            skipped += got as u64;
        }
        skipped
    }
}

/// Writes the device-writable bytes of a chain in order, up to a limit.
pub struct ChainWriter<'a> {
    mem: &'a dyn GuestMemory,
    cursor: Cursor<'a>,
}

impl core::fmt::Debug for ChainWriter<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChainWriter")
            .field("remaining", &self.cursor.remaining)
            .field("written", &self.cursor.done)
            .finish_non_exhaustive()
    }
}

impl<'a> ChainWriter<'a> {
    pub(super) fn new(mem: &'a dyn GuestMemory, descs: &'a [Descriptor], limit: u64) -> Self {
        Self {
            mem,
            cursor: Cursor::new(descs, limit),
        }
    }

    /// Room left.
    pub fn remaining(&self) -> u64 {
        self.cursor.remaining
    }

    /// Bytes written so far (what goes into the used ring's `len`).
    pub fn written(&self) -> u64 {
        self.cursor.done
    }

    /// Write as much of `buf` as fits; returns how many bytes.
    pub fn write(&mut self, buf: &[u8]) -> Result<usize, MemFault> {
        let mut taken = 0;
        while taken < buf.len() {
            let Some((addr, n)) = self.cursor.next_piece(buf.len() - taken) else {
                break;
            };
            let src = buf.get(taken..taken + n).unwrap_or_default();
            self.mem.write(addr, src)?;
            taken += n;
        }
        Ok(taken)
    }

    /// Write all of `buf`.
    pub fn write_all(&mut self, buf: &[u8]) -> Result<(), ChainIoError> {
        let n = self.write(buf)?;
        if n < buf.len() {
            return Err(ChainIoError::Short {
                missing: (buf.len() - n) as u64,
            });
        }
        Ok(())
    }
}
