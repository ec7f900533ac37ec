//! The error type of vm-service.

/// Why a machine could not be described, built or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] vm_core::config::ConfigError),
    /// The device tree could not be generated.
    #[error("Device tree generation failed: {0}")]
    DeviceTree(#[from] vm_fdt::Error),
    /// A command-line argument is wrong.
    #[error("{0}")]
    Usage(String),
    /// A guest image (kernel, firmware, initrd) cannot be used.
    #[error("Cannot load {what}: {reason}")]
    Image {
        /// The image: its path, or a name such as "embedded demo".
        what: String,
        /// Why.
        reason: String,
    },
    /// A host file cannot be read or written.
    #[error("Cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("read", "write").
        action: &'static str,
        /// The file.
        path: String,
        /// The host error.
        source: std::io::Error,
    },
    /// Guest memory could not be set up.
    #[error("Guest memory: {0}")]
    Memory(#[from] vm_mem::Error),
    /// A device could not be set up or failed on the host side.
    #[cfg(feature = "devices")]
    #[error("Device: {0}")]
    Device(#[from] vm_device::DeviceError),
    /// The execution engine failed on the host side (never a guest's doing).
    #[error("Execution engine: {0}")]
    Engine(#[from] vm_engine::Error),
    /// The configuration asks for something this build or this host does not provide.
    #[error("{0}")]
    Unsupported(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
