//! The crate's host-side error type.
//!
//! Guest-visible faults are not errors of this kind: a DMA translation that fails returns a
//! [`Fault`](crate::Fault) value (and records an event for the guest); a malformed command stops the
//! command queue with `CERROR_ILL` in `CMDQ_CONS`. [`Error`] is for mistakes of the host code that builds
//! and wires the SMMU.

/// What went wrong while configuring or wiring the SMMU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A configuration value is outside what the architecture or this model supports.
    #[error("Invalid SMMU configuration: {field} is {value}, the supported maximum is {max}")]
    InvalidConfig {
        /// The configuration field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The largest supported value.
        max: u64,
    },
    /// A stream ID does not fit the SMMU's stream ID width.
    #[error("Stream ID {stream_id:#x} does not fit in {sid_bits} stream ID bits")]
    StreamIdOutOfRange {
        /// The stream ID.
        stream_id: u32,
        /// The configured stream ID width (`IDR1.SIDSIZE`).
        sid_bits: u32,
    },
    /// A device's address translation cache could not complete an invalidation.
    #[error("The ATC of stream {stream_id:#x} did not complete an invalidation")]
    AtcInvalidationFailed {
        /// The stream ID of the device.
        stream_id: u32,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
