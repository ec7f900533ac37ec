//! virtio-rng (VirtIO 1.2 §5.4): entropy for the guest.
//!
//! One request queue; each request is device-writable buffers the device fills, up to
//! [`MAX_REQUEST`] bytes per request (the driver asks again for more). The entropy comes from an
//! [`EntropySource`]: with `std`, [`HostEntropy`] (the host's `getrandom`). A source that fails
//! completes the request with no bytes and keeps the error for the host.
//!
//! ```
//! # #[cfg(feature = "std")] {
//! use vm_device::virtio::rng::{EntropySource, HostEntropy, Rng};
//! use vm_device::virtio::{VirtioDevice, device_type};
//!
//! let mut bytes = [0u8; 32];
//! HostEntropy.fill(&mut bytes).unwrap();
//! assert_ne!(bytes, [0u8; 32]);
//! let rng = Rng::new(Box::new(HostEntropy));
//! assert_eq!(rng.device_type(), device_type::RNG);
//! # }
//! ```

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::queue::DescriptorChain;
use super::{Activation, Active, Failure, VirtioDevice, VirtioError, device_type};
use crate::error::{DeviceError, Result};

/// Largest queue size.
pub const QUEUE_SIZE: u16 = 64;
/// Most bytes one request receives.
pub const MAX_REQUEST: usize = 4096;

/// Where entropy comes from.
pub trait EntropySource: Send {
    /// Fill `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<()>;
}

/// The host's `getrandom` (through the `getrandom` crate).
#[cfg(feature = "std")]
#[derive(Copy, Clone, Debug, Default)]
pub struct HostEntropy;

#[cfg(feature = "std")]
impl EntropySource for HostEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|e| DeviceError::Entropy {
            reason: alloc::format!("{e}"),
        })
    }
}

/// A virtio-rng device; see the module docs.
pub struct Rng {
    source: Box<dyn EntropySource>,
    active: Option<Active>,
    buf: Vec<u8>,
    pending: bool,
    wake: bool,
    last_error: Option<DeviceError>,
}

impl core::fmt::Debug for Rng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rng")
            .field("active", &self.active.is_some())
            .finish_non_exhaustive()
    }
}

impl Rng {
    /// An entropy device drawing from `source`.
    pub fn new(source: Box<dyn EntropySource>) -> Self {
        Self {
            source,
            active: None,
            buf: Vec::new(),
            pending: false,
            wake: false,
            last_error: None,
        }
    }

    /// The first error the source returned.
    pub fn last_source_error(&self) -> Option<&DeviceError> {
        self.last_error.as_ref()
    }

    fn process(&mut self) -> Result<(), VirtioError> {
        let Some(active) = self.active.as_mut() else {
            return Ok(());
        };
        let mem = &*active.memory;
        let Some(queue) = active.queues.get_mut(0) else {
            return Ok(());
        };
        if self.buf.is_empty() {
            self.buf = vec![0; MAX_REQUEST];
        }
        let buf = &mut self.buf;
        let source = &mut *self.source;
        let last_error = &mut self.last_error;
        let done = queue
            .process(mem, usize::from(QUEUE_SIZE), |chain: &DescriptorChain| {
                if !chain.readable().is_empty() {
                    return Err(Failure::Device(VirtioError::WrongDirection {
                        queue: 0,
                        what: "entropy buffers must be device-writable",
                    }));
                }
                let n = (chain.writable_len() as usize).min(buf.len());
                let out = buf.get_mut(..n).unwrap_or_default();
                if let Err(e) = source.fill(out) {
                    super::note_host_error(last_error, e);
                    return Ok(0);
                }
                chain
                    .writer(mem)
                    .write_all(out)
                    .map_err(|e| Failure::from_io(0, e))?;
                Ok(n as u32)
            })
            .map_err(|e| e.into_virtio(0))?;
        self.pending = done.more;
        self.wake |= done.more;
        if done.chains > 0 {
            active.notify_used(0)?;
        }
        Ok(())
    }
}

impl VirtioDevice for Rng {
    fn device_type(&self) -> u32 {
        device_type::RNG
    }

    fn features(&self) -> u64 {
        0
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE]
    }

    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }

    fn activate(&mut self, activation: Activation) -> Result<(), VirtioError> {
        self.active = Some(Active::new(activation));
        Ok(())
    }

    fn notify(&mut self, _queue: u16) -> Result<(), VirtioError> {
        self.process()
    }

    fn reset(&mut self) {
        self.active = None;
        self.pending = false;
        self.wake = false;
    }

    fn poll(&mut self) -> Result<(), VirtioError> {
        if self.pending {
            self.process()?;
        }
        Ok(())
    }

    fn take_wake(&mut self) -> bool {
        core::mem::take(&mut self.wake)
    }
}

#[cfg(test)]
mod tests;
