//! A Vec-backed guest memory for unit tests.

extern crate std;

use alloc::vec;
use alloc::vec::Vec;
use std::sync::Mutex;

use vm_core::GuestPhysAddr;
use vm_core::mem::{GuestMemory, MemFault};

/// RAM at `[0, size)`; anything else is unmapped.
pub(crate) struct TestMemory {
    bytes: Mutex<Vec<u8>>,
}

impl TestMemory {
    pub(crate) fn new(size: usize) -> Self {
        Self {
            bytes: Mutex::new(vec![0; size]),
        }
    }

    fn range(
        addr: GuestPhysAddr,
        len: usize,
        size: usize,
    ) -> Result<core::ops::Range<usize>, MemFault> {
        let start = usize::try_from(addr.raw()).map_err(|_| MemFault::Unmapped { addr })?;
        let end = start.checked_add(len).filter(|&e| e <= size);
        end.map(|e| start..e).ok_or(MemFault::Unmapped { addr })
    }
}

impl GuestMemory for TestMemory {
    fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
        let m = self.bytes.lock().map_err(|_| MemFault::BusError { addr })?;
        let r = Self::range(addr, buf.len(), m.len())?;
        buf.copy_from_slice(&m[r]);
        Ok(())
    }

    fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
        let mut m = self.bytes.lock().map_err(|_| MemFault::BusError { addr })?;
        let r = Self::range(addr, buf.len(), m.len())?;
        m[r].copy_from_slice(buf);
        Ok(())
    }
}
