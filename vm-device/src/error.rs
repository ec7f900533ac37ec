//! The crate's error type.

/// Why a device could not be built, wired or reached from the host.
///
/// Guest-visible failures are never errors of this type: a device that receives nonsense from the guest
/// ignores it or sets its own register-visible error state, as hardware does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// A device window would overlap one that is already mapped on the bus.
    #[error(
        "Device window {start:#x}..+{len:#x} overlaps the window {existing_start:#x}..+{existing_len:#x}"
    )]
    Overlap {
        /// First address (or port) of the new window.
        start: u64,
        /// Length of the new window.
        len: u64,
        /// First address (or port) of the window already mapped.
        existing_start: u64,
        /// Length of the window already mapped.
        existing_len: u64,
    },
    /// A device window is empty or runs past the end of the address (or port) space.
    #[error("Device window {start:#x}..+{len:#x} is empty or runs past the end of the space")]
    InvalidRange {
        /// First address (or port) of the window.
        start: u64,
        /// Length of the window.
        len: u64,
    },
    /// An interrupt source number the interrupt controller does not have.
    #[error("Interrupt source {irq} is outside 1..={max}")]
    InvalidInterruptSource {
        /// The source asked for.
        irq: u32,
        /// The highest valid source.
        max: u32,
    },
    /// A hart count the device cannot serve.
    #[error("The {device} supports 1..={max} harts, not {harts}")]
    InvalidHartCount {
        /// Which device.
        device: &'static str,
        /// The count asked for.
        harts: usize,
        /// The largest count the device supports.
        max: usize,
    },
    /// A register shift (log2 of the register stride) the UART does not support.
    #[error("UART register shift {shift} is larger than the maximum {max}")]
    InvalidRegShift {
        /// The shift asked for.
        shift: u8,
        /// The largest supported shift.
        max: u8,
    },
    /// A character back end can no longer take output.
    #[error("Character back end is closed: {reason}")]
    BackendClosed {
        /// Why.
        reason: &'static str,
    },
    /// A host I/O operation failed.
    #[cfg(feature = "std")]
    #[error("Host I/O failed while {what}")]
    Io {
        /// What the device was doing.
        what: &'static str,
        /// The host error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`DeviceError`].
pub type Result<T, E = DeviceError> = core::result::Result<T, E>;
