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
    /// A block access outside the storage.
    #[error("Block access at {offset:#x}..+{len:#x} is outside the storage of {size:#x} bytes")]
    StorageRange {
        /// First byte.
        offset: u64,
        /// Length.
        len: u64,
        /// Size of the storage.
        size: u64,
    },
    /// A disk image cannot serve as a block device.
    #[cfg(feature = "std")]
    #[error("Disk image {path} cannot be used: {reason}")]
    DiskImage {
        /// The image path.
        path: std::path::PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// Opening a disk image failed.
    #[cfg(feature = "std")]
    #[error("Cannot open disk image {path}")]
    DiskOpen {
        /// The image path.
        path: std::path::PathBuf,
        /// The host error.
        #[source]
        source: std::io::Error,
    },
    /// A TAP interface could not be opened.
    #[cfg(feature = "std")]
    #[error("Cannot open TAP interface {ifname:?}: {reason}")]
    Tap {
        /// The interface name asked for.
        ifname: alloc::string::String,
        /// Why, in terms the user can act on.
        reason: crate::virtio::net::TapFailure,
        /// The host error.
        #[source]
        source: std::io::Error,
    },
    /// A user-mode networking setting is invalid.
    #[error("Invalid user-mode networking setting {setting:?}: {reason}")]
    NetConfig {
        /// The setting as written.
        setting: alloc::string::String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A host port for a forward could not be bound.
    #[cfg(feature = "std")]
    #[error("Cannot listen on {addr} for a host port forward")]
    HostForward {
        /// The host address and port.
        addr: std::net::SocketAddr,
        /// The host error.
        #[source]
        source: std::io::Error,
    },
    /// The host's entropy source failed.
    #[error("Host entropy source failed: {reason}")]
    Entropy {
        /// The platform's description.
        reason: alloc::string::String,
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
