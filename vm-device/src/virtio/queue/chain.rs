//! Descriptor chains: walking the descriptor table (and indirect tables) with every check the spec asks
//! of a device.

use alloc::vec::Vec;

use vm_core::GuestPhysAddr;
use vm_core::mem::{GuestMemory, MemFault};

use super::io::{ChainReader, ChainWriter};

/// `VIRTQ_DESC_F_NEXT`: the chain continues at `next`.
pub const DESC_F_NEXT: u16 = 1;
/// `VIRTQ_DESC_F_WRITE`: the buffer is device-writable.
pub const DESC_F_WRITE: u16 = 2;
/// `VIRTQ_DESC_F_INDIRECT`: the buffer is a table of descriptors.
pub const DESC_F_INDIRECT: u16 = 4;
/// Size of one descriptor in the table.
pub const DESC_SIZE: u64 = 16;
/// The most descriptors an indirect table may hold (QEMU's `VIRTQUEUE_MAX_SIZE`); bounds the memory a
/// chain can make the device allocate.
pub const MAX_INDIRECT_DESCRIPTORS: u32 = 1024;

/// A guest broke a virtqueue rule; the device answers with `DEVICE_NEEDS_RESET`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The queue's size or ring addresses are invalid.
    #[error("Queue configuration is invalid: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The available index moved further than the queue size since the device last looked.
    #[error(
        "Available index {avail_idx} is {pending} entries ahead of the device, queue size is {size}"
    )]
    AvailIndex {
        /// The driver's available index.
        avail_idx: u16,
        /// How far ahead of the device it is.
        pending: u16,
        /// Queue size.
        size: u16,
    },
    /// A descriptor index (chain head or `next`) is outside its table.
    #[error("Descriptor index {index} is outside a table of {table_len}")]
    IndexOutOfRange {
        /// The index.
        index: u16,
        /// Entries in the table.
        table_len: u32,
    },
    /// The chain has more descriptors than its table: it loops or is too long.
    #[error("Descriptor chain is longer than its table of {table_len} (a loop?)")]
    ChainTooLong {
        /// Entries in the table.
        table_len: u32,
    },
    /// An indirect descriptor although `VIRTIO_F_INDIRECT_DESC` was not negotiated.
    #[error("Indirect descriptor without VIRTIO_F_INDIRECT_DESC")]
    IndirectNotNegotiated,
    /// An indirect descriptor inside an indirect table.
    #[error("Indirect descriptor inside an indirect table")]
    NestedIndirect,
    /// An indirect descriptor that also has `VIRTQ_DESC_F_NEXT`.
    #[error("Indirect descriptor with VIRTQ_DESC_F_NEXT")]
    IndirectWithNext,
    /// An indirect table whose length is zero, not a multiple of 16 or too large.
    #[error(
        "Indirect table of {len} bytes is empty, not a multiple of 16 or more than {max} entries"
    )]
    IndirectLength {
        /// The table length in bytes.
        len: u32,
        /// The most entries allowed.
        max: u32,
    },
    /// A buffer whose address plus length overflows.
    #[error("Buffer at {addr:#x} of {len} bytes wraps around the address space")]
    AddressOverflow {
        /// Buffer address.
        addr: u64,
        /// Buffer length.
        len: u32,
    },
    /// A device-readable buffer after a device-writable one.
    #[error("Device-readable descriptor after a device-writable one")]
    ReadableAfterWritable,
    /// The buffers of one chain add up to more than 4 GiB.
    #[error("Descriptor chain lengths add up to more than 4 GiB")]
    TotalLengthOverflow,
    /// A ring or table is not in guest RAM.
    #[error("Virtqueue memory is not accessible")]
    Memory(#[from] MemFault),
}

/// One buffer of a chain.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// Guest physical address.
    pub addr: GuestPhysAddr,
    /// Length in bytes.
    pub len: u32,
    /// Whether the device writes it (otherwise it reads it).
    pub writable: bool,
}

/// A validated descriptor chain: device-readable buffers first, then device-writable ones.
///
/// Every buffer's address range is free of overflow and the lengths add up to at most `u32::MAX`;
/// whether the buffers are RAM is found out when they are accessed (a [`MemFault`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescriptorChain {
    head: u16,
    descriptors: Vec<Descriptor>,
    readable_len: u32,
    writable_len: u32,
}

impl DescriptorChain {
    /// The head index (what goes into the used ring).
    pub fn head(&self) -> u16 {
        self.head
    }

    /// All buffers, in order.
    pub fn descriptors(&self) -> &[Descriptor] {
        &self.descriptors
    }

    /// The device-readable buffers.
    pub fn readable(&self) -> &[Descriptor] {
        let n = self.descriptors.iter().take_while(|d| !d.writable).count();
        self.descriptors.get(..n).unwrap_or_default()
    }

    /// The device-writable buffers.
    pub fn writable(&self) -> &[Descriptor] {
        let n = self.descriptors.iter().take_while(|d| !d.writable).count();
        self.descriptors.get(n..).unwrap_or_default()
    }

    /// Total bytes the device may read.
    pub fn readable_len(&self) -> u32 {
        self.readable_len
    }

    /// Total bytes the device may write.
    pub fn writable_len(&self) -> u32 {
        self.writable_len
    }

    /// A cursor over the readable bytes.
    pub fn reader<'a>(&'a self, mem: &'a dyn GuestMemory) -> ChainReader<'a> {
        ChainReader::new(mem, self.readable())
    }

    /// A cursor over the writable bytes.
    pub fn writer<'a>(&'a self, mem: &'a dyn GuestMemory) -> ChainWriter<'a> {
        ChainWriter::new(mem, self.writable(), u64::from(self.writable_len))
    }

    /// A cursor over the first `limit` writable bytes.
    pub fn writer_limited<'a>(&'a self, mem: &'a dyn GuestMemory, limit: u32) -> ChainWriter<'a> {
        ChainWriter::new(
            mem,
            self.writable(),
            u64::from(limit.min(self.writable_len)),
        )
    }

    /// The guest address of the last writable byte (where block and similar devices put a status).
    pub fn last_writable_byte(&self) -> Option<GuestPhysAddr> {
        let d = self.writable().iter().rev().find(|d| d.len > 0)?;
        Some(d.addr.wrapping_add(u64::from(d.len) - 1))
    }
}

/// Where a chain's descriptors come from.
pub(super) struct Table {
    pub(super) addr: u64,
    pub(super) len: u32,
}

/// Walk a chain from `head` in the queue's descriptor table.
pub(super) fn walk(
    mem: &dyn GuestMemory,
    main: Table,
    head: u16,
    indirect_allowed: bool,
) -> Result<DescriptorChain, QueueError> {
    let mut table = main;
    let mut in_indirect = false;
    let mut index = head;
    let mut visited: u32 = 0;
    let mut descriptors = Vec::new();
    let mut readable_len: u64 = 0;
    let mut writable_len: u64 = 0;
    let mut seen_writable = false;
    loop {
        if u32::from(index) >= table.len {
            return Err(QueueError::IndexOutOfRange {
                index,
                table_len: table.len,
            });
        }
        visited += 1;
        if visited > table.len {
            return Err(QueueError::ChainTooLong {
                table_len: table.len,
            });
        }
        let (addr, len, flags, next) = read_descriptor(mem, table.addr, index)?;
        if flags & DESC_F_INDIRECT != 0 {
            if !indirect_allowed {
                return Err(QueueError::IndirectNotNegotiated);
            }
            if in_indirect {
                return Err(QueueError::NestedIndirect);
            }
            if flags & DESC_F_NEXT != 0 {
                return Err(QueueError::IndirectWithNext);
            }
            let entries = len / DESC_SIZE as u32;
            if len == 0
                || !len.is_multiple_of(DESC_SIZE as u32)
                || entries > MAX_INDIRECT_DESCRIPTORS
            {
                return Err(QueueError::IndirectLength {
                    len,
                    max: MAX_INDIRECT_DESCRIPTORS,
                });
            }
            if addr.checked_add(u64::from(len)).is_none() {
                return Err(QueueError::AddressOverflow { addr, len });
            }
            table = Table { addr, len: entries };
            in_indirect = true;
            index = 0;
            visited = 0;
            continue;
        }
        if addr.checked_add(u64::from(len)).is_none() {
            return Err(QueueError::AddressOverflow { addr, len });
        }
        let writable = flags & DESC_F_WRITE != 0;
        if writable {
            seen_writable = true;
            writable_len += u64::from(len);
        } else {
            if seen_writable {
                return Err(QueueError::ReadableAfterWritable);
            }
            readable_len += u64::from(len);
        }
        if readable_len + writable_len > u64::from(u32::MAX) {
            return Err(QueueError::TotalLengthOverflow);
        }
        descriptors.push(Descriptor {
            addr: GuestPhysAddr(addr),
            len,
            writable,
        });
        if flags & DESC_F_NEXT == 0 {
            break;
        }
        index = next;
    }
    Ok(DescriptorChain {
        head,
        descriptors,
        readable_len: u32::try_from(readable_len).map_err(|_| QueueError::TotalLengthOverflow)?,
        writable_len: u32::try_from(writable_len).map_err(|_| QueueError::TotalLengthOverflow)?,
    })
}

/// Read descriptor `index` of the table at `table`: (addr, len, flags, next).
fn read_descriptor(
    mem: &dyn GuestMemory,
    table: u64,
    index: u16,
) -> Result<(u64, u32, u16, u16), QueueError> {
    let at =
        table
            .checked_add(u64::from(index) * DESC_SIZE)
            .ok_or(QueueError::AddressOverflow {
                addr: table,
                len: u32::from(index) * DESC_SIZE as u32,
            })?;
    let mut raw = [0u8; DESC_SIZE as usize];
    mem.read(GuestPhysAddr(at), &mut raw)?;
    let [
        a0,
        a1,
        a2,
        a3,
        a4,
        a5,
        a6,
        a7,
        l0,
        l1,
        l2,
        l3,
        f0,
        f1,
        n0,
        n1,
    ] = raw;
    Ok((
        u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
        u32::from_le_bytes([l0, l1, l2, l3]),
        u16::from_le_bytes([f0, f1]),
        u16::from_le_bytes([n0, n1]),
    ))
}
