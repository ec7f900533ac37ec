//! The virtio-net packet header (`struct virtio_net_hdr`, VirtIO 1.2 §5.1.6).
//!
//! With `VIRTIO_F_VERSION_1` the header is always 12 bytes (`num_buffers` included). This device offers
//! no checksum or segmentation offloads, so a transmitted header must ask for neither; anything else is
//! a malformed packet, which the device drops.

/// Bytes in the header.
pub const NET_HDR_SIZE: usize = 12;
/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`.
pub const HDR_F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_NONE`.
pub const GSO_NONE: u8 = 0;
/// The largest Ethernet frame (without the header) the device moves: 64 KiB plus an Ethernet header,
/// the most a TAP device can hand over.
pub const MAX_FRAME: usize = 65536 + 14;

/// A parsed header.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct NetHeader {
    /// Flags.
    pub flags: u8,
    /// Segmentation offload type.
    pub gso_type: u8,
    /// Length of the headers to copy per segment.
    pub hdr_len: u16,
    /// Segment size.
    pub gso_size: u16,
    /// Where checksumming starts.
    pub csum_start: u16,
    /// Where the checksum goes, from `csum_start`.
    pub csum_offset: u16,
    /// Number of buffers a received packet spans.
    pub num_buffers: u16,
}

/// Why a transmitted packet is dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetHeaderError {
    /// Fewer than 12 bytes.
    #[error("Packet of {len} bytes is shorter than the virtio-net header")]
    Short {
        /// Bytes available.
        len: usize,
    },
    /// An offload that was not negotiated.
    #[error(
        "Packet asks for an offload that was not negotiated (flags {flags:#x}, gso {gso_type})"
    )]
    Offload {
        /// Flags.
        flags: u8,
        /// Segmentation type.
        gso_type: u8,
    },
    /// A frame too long for the device or too short to be Ethernet.
    #[error("Frame of {len} bytes is not a valid Ethernet frame size")]
    FrameSize {
        /// Frame length.
        len: usize,
    },
}

impl NetHeader {
    /// The header the device puts in front of a received frame.
    pub const fn rx() -> Self {
        Self {
            flags: 0,
            gso_type: GSO_NONE,
            hdr_len: 0,
            gso_size: 0,
            csum_start: 0,
            csum_offset: 0,
            num_buffers: 1,
        }
    }

    /// Parse the first 12 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, NetHeaderError> {
        let Some(&[f, g, h0, h1, s0, s1, c0, c1, o0, o1, n0, n1]) = bytes.first_chunk() else {
            return Err(NetHeaderError::Short { len: bytes.len() });
        };
        Ok(Self {
            flags: f,
            gso_type: g,
            hdr_len: u16::from_le_bytes([h0, h1]),
            gso_size: u16::from_le_bytes([s0, s1]),
            csum_start: u16::from_le_bytes([c0, c1]),
            csum_offset: u16::from_le_bytes([o0, o1]),
            num_buffers: u16::from_le_bytes([n0, n1]),
        })
    }

    /// The 12-byte encoding.
    pub fn to_bytes(&self) -> [u8; NET_HDR_SIZE] {
        let mut b = [0u8; NET_HDR_SIZE];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_le_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_le_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_le_bytes());
        b[10..12].copy_from_slice(&self.num_buffers.to_le_bytes());
        b
    }
}

/// Split a transmitted packet (header + frame) into its frame, checking that the header asks for
/// nothing this device did not offer and that the frame is a plausible Ethernet frame.
pub fn parse_tx_packet(packet: &[u8]) -> Result<&[u8], NetHeaderError> {
    let hdr = NetHeader::parse(packet)?;
    if hdr.flags & HDR_F_NEEDS_CSUM != 0 || hdr.gso_type != GSO_NONE {
        return Err(NetHeaderError::Offload {
            flags: hdr.flags,
            gso_type: hdr.gso_type,
        });
    }
    let frame = packet.get(NET_HDR_SIZE..).unwrap_or_default();
    if frame.len() < 14 || frame.len() > MAX_FRAME {
        return Err(NetHeaderError::FrameSize { len: frame.len() });
    }
    Ok(frame)
}
