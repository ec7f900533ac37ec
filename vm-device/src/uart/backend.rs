//! Where UART output goes: the [`CharBackend`] trait and the in-memory [`CaptureBackend`].

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::Result;
use crate::sync::SpinLock;

/// The host side of a serial line: takes the bytes the guest transmits.
///
/// A back end that can no longer take output returns an error; the UART counts the byte as dropped and
/// keeps the first error for the machine to report (the guest cannot see host errors).
pub trait CharBackend: Send {
    /// Take `bytes`, in order.
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
}

/// A back end that keeps everything written to it in memory.
///
/// Clones share one buffer: hand one clone to the UART and keep another to read the output, for tests,
/// for embedders that show the console themselves and for `no_std` hosts. The buffer sits behind a small
/// spin lock (see the crate's `sync` module), so it needs no standard library.
#[derive(Clone, Default)]
pub struct CaptureBackend {
    buf: Arc<SpinLock<Vec<u8>>>,
}

impl core::fmt::Debug for CaptureBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CaptureBackend")
            .field("len", &self.len())
            .finish()
    }
}

impl CaptureBackend {
    /// An empty capture buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of everything captured so far.
    pub fn contents(&self) -> Vec<u8> {
        self.buf.with(|b| b.clone())
    }

    /// Everything captured so far, as text (invalid UTF-8 becomes U+FFFD).
    pub fn contents_lossy(&self) -> String {
        self.buf.with(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// Take everything captured so far, leaving the buffer empty.
    pub fn take(&self) -> Vec<u8> {
        self.buf.with(core::mem::take)
    }

    /// Number of bytes captured and not yet taken.
    pub fn len(&self) -> usize {
        self.buf.with(|b| b.len())
    }

    /// Whether nothing has been captured since the last [`take`](Self::take).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CharBackend for CaptureBackend {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.buf.with(|b| b.extend_from_slice(bytes));
        Ok(())
    }
}
