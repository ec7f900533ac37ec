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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
