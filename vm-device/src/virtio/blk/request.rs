//! Parsing virtio-blk requests (VirtIO 1.2 §5.2.6) out of descriptor chains.
//!
//! A request is a 16-byte header (`type`, reserved, `sector`) and, depending on the type, data the
//! device reads (write, discard and write-zeroes segments) or writes (read, get-id), then one status
//! byte, the last device-writable byte of the chain. The parser checks everything the guest controls:
//! header length, data lengths (whole sectors), ranges against the capacity with overflow checks,
//! segment counts and flags, and the read-only mode. Problems with the request itself become a status
//! for the guest ([`RequestError::status`]); only a chain without a writable status byte is a device
//! error.

use alloc::vec::Vec;

use vm_core::GuestPhysAddr;
use vm_core::mem::GuestMemory;

use crate::virtio::VirtioError;
use crate::virtio::queue::DescriptorChain;

/// Bytes per sector.
pub const SECTOR_SIZE: u64 = 512;
/// Bytes in the request header.
pub const HEADER_SIZE: u32 = 16;
/// Bytes in a discard/write-zeroes segment.
pub const SEGMENT_SIZE: u32 = 16;
/// Bytes of the device ID that get-id returns.
pub const ID_BYTES: usize = 20;

/// Request types.
pub mod req_type {
    /// Read sectors.
    pub const IN: u32 = 0;
    /// Write sectors.
    pub const OUT: u32 = 1;
    /// Make writes durable.
    pub const FLUSH: u32 = 4;
    /// Return the device ID.
    pub const GET_ID: u32 = 8;
    /// Discard sectors.
    pub const DISCARD: u32 = 11;
    /// Zero sectors.
    pub const WRITE_ZEROES: u32 = 13;
}

/// Status byte values.
pub mod blk_status {
    /// Success.
    pub const OK: u8 = 0;
    /// The request failed.
    pub const IOERR: u8 = 1;
    /// The request type or a flag is not supported.
    pub const UNSUPP: u8 = 2;
}

/// The limits requests are checked against.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Capacity in sectors.
    pub capacity: u64,
    /// Whether writes are refused.
    pub read_only: bool,
    /// Most sectors in one discard segment.
    pub max_discard_sectors: u32,
    /// Most segments in one discard request.
    pub max_discard_seg: u32,
    /// Most sectors in one write-zeroes segment.
    pub max_write_zeroes_sectors: u32,
    /// Most segments in one write-zeroes request.
    pub max_write_zeroes_seg: u32,
}

/// One range of a discard or write-zeroes request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First sector.
    pub sector: u64,
    /// Number of sectors.
    pub sectors: u32,
    /// Write-zeroes may deallocate.
    pub unmap: bool,
}

impl Segment {
    /// Byte offset and length.
    pub fn byte_range(&self) -> (u64, u64) {
        (
            self.sector * SECTOR_SIZE,
            u64::from(self.sectors) * SECTOR_SIZE,
        )
    }
}

/// A well-formed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Read `len` bytes from `sector` into the writable buffers.
    Read {
        /// First sector.
        sector: u64,
        /// Bytes (a multiple of 512).
        len: u32,
    },
    /// Write `len` bytes from the readable buffers after the header to `sector`.
    Write {
        /// First sector.
        sector: u64,
        /// Bytes (a multiple of 512).
        len: u32,
    },
    /// Flush.
    Flush,
    /// Write up to `len` bytes of the device ID.
    GetId {
        /// Room for the ID.
        len: u32,
    },
    /// Discard these ranges.
    Discard(Vec<Segment>),
    /// Zero these ranges.
    WriteZeroes(Vec<Segment>),
}

/// What is wrong with a request; answered with a status byte.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Fewer than 16 readable bytes.
    #[error("Request header is {len} bytes, not 16")]
    ShortHeader {
        /// Readable bytes.
        len: u32,
    },
    /// A type this device does not implement.
    #[error("Request type {kind} is not supported")]
    Unsupported {
        /// The type.
        kind: u32,
    },
    /// A data length that is not whole sectors (or segments).
    #[error("Data length {len} is not a multiple of {unit}")]
    BadLength {
        /// The length.
        len: u32,
        /// What it must be a multiple of.
        unit: u32,
    },
    /// A range outside the capacity (or one whose end overflows).
    #[error("Sectors {sector}..+{sectors} are beyond the capacity of {capacity}")]
    OutOfRange {
        /// First sector.
        sector: u64,
        /// Sector count.
        sectors: u64,
        /// Capacity in sectors.
        capacity: u64,
    },
    /// Too many segments, or a segment larger than allowed.
    #[error("Discard or write-zeroes request exceeds the device's limits")]
    TooLarge,
    /// Reserved or disallowed flags in a segment.
    #[error("Segment flags {flags:#x} are not allowed")]
    BadFlags {
        /// The flags.
        flags: u32,
    },
    /// A write to a read-only device.
    #[error("The device is read-only")]
    ReadOnly,
    /// Request memory is not accessible.
    #[error("Request buffer is not accessible")]
    Memory,
}

impl RequestError {
    /// The status byte the guest gets.
    pub fn status(&self) -> u8 {
        match self {
            Self::Unsupported { .. } | Self::BadFlags { .. } => blk_status::UNSUPP,
            _ => blk_status::IOERR,
        }
    }
}

/// A parsed request and where its status goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The request, or why it is refused.
    pub request: Result<Request, RequestError>,
    /// The status byte's guest address.
    pub status: GuestPhysAddr,
}

/// Parse the request in `chain` (queue `queue`).
///
/// Fails only when the chain has no device-writable byte for the status.
pub fn parse(
    chain: &DescriptorChain,
    mem: &dyn GuestMemory,
    limits: &Limits,
    queue: u16,
) -> Result<Parsed, VirtioError> {
    let status = chain
        .last_writable_byte()
        .ok_or(VirtioError::NoStatus { queue })?;
    Ok(Parsed {
        request: parse_request(chain, mem, limits),
        status,
    })
}

fn parse_request(
    chain: &DescriptorChain,
    mem: &dyn GuestMemory,
    limits: &Limits,
) -> Result<Request, RequestError> {
    let mut reader = chain.reader(mem);
    let mut header = [0u8; HEADER_SIZE as usize];
    let got = reader.read(&mut header).map_err(|_| RequestError::Memory)?;
    if got < header.len() {
        return Err(RequestError::ShortHeader {
            len: chain.readable_len(),
        });
    }
    let [t0, t1, t2, t3, _, _, _, _, s0, s1, s2, s3, s4, s5, s6, s7] = header;
    let kind = u32::from_le_bytes([t0, t1, t2, t3]);
    let sector = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
    // The last writable byte is the status; everything before it is data.
    let writable_data = chain.writable_len().saturating_sub(1);
    let readable_data = chain.readable_len().saturating_sub(HEADER_SIZE);
    match kind {
        req_type::IN => {
            check_sectors(writable_data, sector, limits)?;
            Ok(Request::Read {
                sector,
                len: writable_data,
            })
        }
        req_type::OUT => {
            if limits.read_only {
                return Err(RequestError::ReadOnly);
            }
            check_sectors(readable_data, sector, limits)?;
            Ok(Request::Write {
                sector,
                len: readable_data,
            })
        }
        req_type::FLUSH => Ok(Request::Flush),
        req_type::GET_ID => Ok(Request::GetId { len: writable_data }),
        req_type::DISCARD | req_type::WRITE_ZEROES => {
            if limits.read_only {
                return Err(RequestError::ReadOnly);
            }
            let discard = kind == req_type::DISCARD;
            let segments = parse_segments(&mut reader, readable_data, discard, limits)?;
            Ok(if discard {
                Request::Discard(segments)
            } else {
                Request::WriteZeroes(segments)
            })
        }
        kind => Err(RequestError::Unsupported { kind }),
    }
}

/// Check a read or write of `len` bytes at `sector`.
fn check_sectors(len: u32, sector: u64, limits: &Limits) -> Result<(), RequestError> {
    if !u64::from(len).is_multiple_of(SECTOR_SIZE) {
        return Err(RequestError::BadLength {
            len,
            unit: SECTOR_SIZE as u32,
        });
    }
    check_range(sector, u64::from(len) / SECTOR_SIZE, limits.capacity)
}

fn check_range(sector: u64, sectors: u64, capacity: u64) -> Result<(), RequestError> {
    match sector.checked_add(sectors) {
        Some(end) if end <= capacity => Ok(()),
        _ => Err(RequestError::OutOfRange {
            sector,
            sectors,
            capacity,
        }),
    }
}

fn parse_segments(
    reader: &mut crate::virtio::queue::ChainReader<'_>,
    len: u32,
    discard: bool,
    limits: &Limits,
) -> Result<Vec<Segment>, RequestError> {
    if len == 0 || !len.is_multiple_of(SEGMENT_SIZE) {
        return Err(RequestError::BadLength {
            len,
            unit: SEGMENT_SIZE,
        });
    }
    let (max_seg, max_sectors) = if discard {
        (limits.max_discard_seg, limits.max_discard_sectors)
    } else {
        (limits.max_write_zeroes_seg, limits.max_write_zeroes_sectors)
    };
    let count = len / SEGMENT_SIZE;
    if count > max_seg {
        return Err(RequestError::TooLarge);
    }
    let mut segments = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let mut raw = [0u8; SEGMENT_SIZE as usize];
        match reader.read(&mut raw) {
            Ok(n) if n == raw.len() => {}
            _ => return Err(RequestError::Memory),
        }
        let [
            s0,
            s1,
            s2,
            s3,
            s4,
            s5,
            s6,
            s7,
            n0,
            n1,
            n2,
            n3,
            f0,
            f1,
            f2,
            f3,
        ] = raw;
        let sector = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
        let sectors = u32::from_le_bytes([n0, n1, n2, n3]);
        let flags = u32::from_le_bytes([f0, f1, f2, f3]);
        // Discard must not ask for unmap; write-zeroes allows only the unmap bit.
        let allowed = if discard { 0 } else { 1 };
        if flags & !allowed != 0 {
            return Err(RequestError::BadFlags { flags });
        }
        if sectors > max_sectors {
            return Err(RequestError::TooLarge);
        }
        check_range(sector, u64::from(sectors), limits.capacity)?;
        segments.push(Segment {
            sector,
            sectors,
            unmap: flags & 1 != 0,
        });
    }
    Ok(segments)
}
