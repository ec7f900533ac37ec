//! Without the `atsu` feature: no ATS. `IDR0.ATS` reads as 0, STEs' `EATS` field is ignored and
//! `CMD_ATC_INV` is an illegal command.

use crate::regs::CERROR_ILL;

/// Whether STEs' `EATS` field is honoured.
pub(crate) const SUPPORTED: bool = false;
/// `IDR0` bits this unit adds: none.
pub(crate) const IDR0_BITS: u32 = 0;

/// The absent ATS unit.
pub(crate) struct AtsUnit;

impl AtsUnit {
    pub(crate) fn new() -> Self {
        Self
    }

    /// `CMD_ATC_INV` without ATS support: `CERROR_ILL`.
    pub(crate) fn atc_inv(
        &mut self,
        _stream_id: u32,
        _substream_id: Option<u32>,
        _global: bool,
        _size: u8,
        _addr: u64,
    ) -> Result<(), u32> {
        Err(CERROR_ILL)
    }

    /// Nothing can fail a `CMD_SYNC`.
    pub(crate) fn take_sync_error(&mut self) -> Option<u32> {
        None
    }
}
