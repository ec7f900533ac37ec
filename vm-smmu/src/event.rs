//! Event records: the 32-byte entries the SMMU writes to the event queue.
//!
//! | dword | bits | field |
//! |---|---|---|
//! | 0 | 7:0 | event ID |
//! | 0 | 11 | `SSV`: substream ID valid |
//! | 0 | 31:12 | `SubstreamID` |
//! | 0 | 63:32 | `StreamID` |
//! | 1 | 15:0 | `STAG` (stall tag) |
//! | 1 | 31 | `Stall` |
//! | 1 | 33, 34, 35 | `PnU` (privileged), `InD` (instruction), `RnW` (read) |
//! | 1 | 39 | `S2`: stage-2 fault |
//! | 1 | 41:40 | `CLASS`: 0 CD fetch, 1 table walk, 2 input address |
//! | 2 | 63:0 | input address |
//! | 3 | 51:3 or 51:12 | fetch address (`F_*_FETCH`, `F_WALK_EABT`) or faulting IPA (stage-2 faults) |

/// `F_UUT`: unsupported upstream transaction.
pub const F_UUT: u8 = 0x01;
/// `C_BAD_STREAMID`.
pub const C_BAD_STREAMID: u8 = 0x02;
/// `F_STE_FETCH`.
pub const F_STE_FETCH: u8 = 0x03;
/// `C_BAD_STE`.
pub const C_BAD_STE: u8 = 0x04;
/// `F_BAD_ATS_TREQ`.
pub const F_BAD_ATS_TREQ: u8 = 0x05;
/// `F_STREAM_DISABLED`.
pub const F_STREAM_DISABLED: u8 = 0x06;
/// `F_TRANSL_FORBIDDEN`.
pub const F_TRANSL_FORBIDDEN: u8 = 0x07;
/// `C_BAD_SUBSTREAMID`.
pub const C_BAD_SUBSTREAMID: u8 = 0x08;
/// `F_CD_FETCH`.
pub const F_CD_FETCH: u8 = 0x09;
/// `C_BAD_CD`.
pub const C_BAD_CD: u8 = 0x0a;
/// `F_WALK_EABT`.
pub const F_WALK_EABT: u8 = 0x0b;
/// `F_TRANSLATION`.
pub const F_TRANSLATION: u8 = 0x10;
/// `F_ADDR_SIZE`.
pub const F_ADDR_SIZE: u8 = 0x11;
/// `F_ACCESS`.
pub const F_ACCESS: u8 = 0x12;
/// `F_PERMISSION`.
pub const F_PERMISSION: u8 = 0x13;

/// Size of one event record in bytes.
pub const EVENT_BYTES: u64 = 32;

/// One event record, field by field.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EventRecord {
    /// Event ID (one of this module's constants).
    pub id: u8,
    /// The stream the event concerns.
    pub stream_id: u32,
    /// The substream, if the transaction had one (`SSV`).
    pub substream_id: Option<u32>,
    /// Stall tag (stalling is not implemented; always 0 from this SMMU).
    pub stag: u16,
    /// The transaction was stalled.
    pub stall: bool,
    /// `PnU`: the access was privileged.
    pub privileged: bool,
    /// `InD`: the access was an instruction fetch.
    pub instruction: bool,
    /// `RnW`: the access was a read.
    pub read: bool,
    /// `S2`: the fault is a stage-2 fault.
    pub stage2: bool,
    /// `CLASS` (2 bits).
    pub class: u8,
    /// Dword 2: the input address.
    pub input_addr: u64,
    /// Dword 3: the fetch address or IPA, already masked to its field.
    pub addr2: u64,
}

impl EventRecord {
    /// A record with only the event ID and stream ID set.
    pub const fn new(id: u8, stream_id: u32) -> Self {
        Self {
            id,
            stream_id,
            substream_id: None,
            stag: 0,
            stall: false,
            privileged: false,
            instruction: false,
            read: false,
            stage2: false,
            class: 0,
            input_addr: 0,
            addr2: 0,
        }
    }

    /// The four dwords of the record.
    pub fn to_dwords(&self) -> [u64; 4] {
        let (ssv, ssid) = match self.substream_id {
            Some(s) => (1u64 << 11, u64::from(s & 0xf_ffff) << 12),
            None => (0, 0),
        };
        let w0 = u64::from(self.id) | ssv | ssid | (u64::from(self.stream_id) << 32);
        let w1 = u64::from(self.stag)
            | (u64::from(self.stall) << 31)
            | (u64::from(self.privileged) << 33)
            | (u64::from(self.instruction) << 34)
            | (u64::from(self.read) << 35)
            | (u64::from(self.stage2) << 39)
            | (u64::from(self.class & 3) << 40);
        [w0, w1, self.input_addr, self.addr2]
    }

    /// Decode four dwords (the inverse of [`to_dwords`](Self::to_dwords)).
    pub fn from_dwords(d: [u64; 4]) -> Self {
        let [w0, w1, w2, w3] = d;
        Self {
            id: (w0 & 0xff) as u8,
            stream_id: (w0 >> 32) as u32,
            substream_id: (w0 & (1 << 11) != 0).then_some(((w0 >> 12) & 0xf_ffff) as u32),
            stag: (w1 & 0xffff) as u16,
            stall: w1 & (1 << 31) != 0,
            privileged: w1 & (1 << 33) != 0,
            instruction: w1 & (1 << 34) != 0,
            read: w1 & (1 << 35) != 0,
            stage2: w1 & (1 << 39) != 0,
            class: ((w1 >> 40) & 3) as u8,
            input_addr: w2,
            addr2: w3,
        }
    }

    /// The 32 little-endian bytes written to the queue.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, w) in out.chunks_exact_mut(8).zip(self.to_dwords()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Decode the 32 bytes of a queue entry.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let mut d = [0u64; 4];
        for (w, chunk) in d.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        Self::from_dwords(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_fault_layout() {
        let r = EventRecord {
            substream_id: Some(0x12345),
            read: true,
            privileged: true,
            stage2: true,
            class: 2,
            input_addr: 0xffff_0000_dead_b000,
            addr2: 0x8_0000_1000,
            ..EventRecord::new(F_TRANSLATION, 0xabcd)
        };
        let d = r.to_dwords();
        assert_eq!(d[0], 0x0000_abcd_1234_5810);
        assert_eq!(d[1], (1 << 33) | (1 << 35) | (1 << 39) | (2 << 40));
        assert_eq!(d[2], 0xffff_0000_dead_b000);
        assert_eq!(d[3], 0x8_0000_1000);
        let b = r.to_bytes();
        assert_eq!(&b[..8], &[0x10, 0x58, 0x34, 0x12, 0xcd, 0xab, 0, 0]);
        assert_eq!(EventRecord::from_bytes(&b), r);
    }

    #[test]
    fn minimal_record_is_id_and_stream() {
        let r = EventRecord::new(C_BAD_STE, 7);
        assert_eq!(r.to_dwords(), [0x0000_0007_0000_0004, 0, 0, 0]);
        assert_eq!(EventRecord::from_dwords(r.to_dwords()), r);
    }

    #[test]
    fn stall_fields_roundtrip() {
        let r = EventRecord {
            stall: true,
            stag: 0xbeef,
            ..EventRecord::new(F_PERMISSION, 1)
        };
        assert_eq!(r.to_dwords()[1], 0x8000_beef);
        assert_eq!(EventRecord::from_dwords(r.to_dwords()), r);
    }
}
