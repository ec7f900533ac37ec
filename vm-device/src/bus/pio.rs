//! The x86 port-I/O bus.

use std::sync::{Arc, Mutex, PoisonError};

use vm_core::device::{BusError, PioDevice};
use vm_core::mem::AccessSize;

use super::range_map::{Hit, RangeMap};
use crate::error::Result;

/// A shared port-I/O device.
type SharedPio = Arc<Mutex<dyn PioDevice>>;

/// Number of x86 I/O ports.
const PORTS: u64 = 0x1_0000;

/// Devices mapped at non-overlapping port ranges; see the module docs.
pub struct PioBus {
    map: RangeMap<SharedPio>,
}

impl core::fmt::Debug for PioBus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(self.map.iter().map(|w| (w.start, w.len)))
            .finish()
    }
}

impl Default for PioBus {
    fn default() -> Self {
        Self::new()
    }
}

impl PioBus {
    /// An empty bus.
    pub const fn new() -> Self {
        Self {
            map: RangeMap::new(Some(PORTS)),
        }
    }

    /// Map `device` at ports `[base, base + len)`; the range must be non-empty, end at or before port
    /// 0x10000 and not overlap another device.
    pub fn insert(&mut self, base: u16, len: u32, device: SharedPio) -> Result<()> {
        self.map.insert(u64::from(base), u64::from(len), device)
    }

    /// Unmap the device whose range starts at `base`, returning it.
    pub fn remove(&mut self, base: u16) -> Option<SharedPio> {
        self.map.remove(u64::from(base)).map(|w| w.item)
    }

    fn resolve(&self, port: u16, size: AccessSize) -> Result<(&SharedPio, u16), BusError> {
        let addr = u64::from(port);
        match self.map.hit(addr, size.bytes() as u64) {
            // The offset is below the window's length, itself at most 0x10000 - base: it fits a u16.
            Hit::Inside { window, offset } => Ok((&window.item, offset as u16)),
            Hit::Nothing => Err(BusError::NoDevice { addr }),
            Hit::Crosses => Err(BusError::CrossesBoundary { addr, size }),
        }
    }

    /// An `in` of `size` bytes from `port`.
    pub fn read(&self, port: u16, size: AccessSize) -> Result<u64, BusError> {
        let (device, offset) = self.resolve(port, size)?;
        let mut device = device.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(device.pio_read(offset, size) & size.mask())
    }

    /// An `out` of the low `size` bytes of `value` to `port`.
    pub fn write(&self, port: u16, size: AccessSize, value: u64) -> Result<(), BusError> {
        let (device, offset) = self.resolve(port, size)?;
        let mut device = device.lock().unwrap_or_else(PoisonError::into_inner);
        device.pio_write(offset, size, value & size.mask());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::boxed::Box;

    use super::*;
    use crate::DeviceError;
    use crate::uart::{CaptureBackend, Uart16550};

    struct NoLine;
    impl vm_core::device::InterruptLine for NoLine {
        fn set_level(&self, _high: bool) {}
    }

    #[test]
    fn uart_at_com1() {
        let out = CaptureBackend::new();
        let uart = Arc::new(Mutex::new(Uart16550::new(
            Box::new(out.clone()),
            Arc::new(NoLine),
        )));
        let mut bus = PioBus::new();
        bus.insert(0x3f8, 8, uart).unwrap();
        for b in b"x86" {
            bus.write(0x3f8, AccessSize::U8, u64::from(*b)).unwrap();
        }
        assert_eq!(out.contents(), b"x86");
        bus.write(0x3ff, AccessSize::U8, 0x1ab).unwrap();
        assert_eq!(bus.read(0x3ff, AccessSize::U8).unwrap(), 0xab);
        assert_eq!(bus.read(0x3fd, AccessSize::U8).unwrap(), 0x60);
        assert_eq!(
            bus.read(0x400, AccessSize::U8),
            Err(BusError::NoDevice { addr: 0x400 })
        );
        assert_eq!(
            bus.read(0x3fe, AccessSize::U32),
            Err(BusError::CrossesBoundary {
                addr: 0x3fe,
                size: AccessSize::U32
            })
        );
    }

    #[test]
    fn port_ranges() {
        let mk = || -> SharedPio {
            Arc::new(Mutex::new(Uart16550::new(
                Box::new(CaptureBackend::new()),
                Arc::new(NoLine),
            )))
        };
        let mut bus = PioBus::new();
        bus.insert(0xfff8, 8, mk()).unwrap();
        assert!(matches!(
            bus.insert(0xfff9, 8, mk()),
            Err(DeviceError::InvalidRange {
                start: 0xfff9,
                len: 8
            })
        ));
        assert!(matches!(
            bus.insert(0, 0, mk()),
            Err(DeviceError::InvalidRange { .. })
        ));
        assert!(matches!(
            bus.insert(0xfff0, 9, mk()),
            Err(DeviceError::Overlap {
                existing_start: 0xfff8,
                ..
            })
        ));
        assert!(bus.remove(0xfff8).is_some());
        bus.insert(0, 0x1_0000, mk()).unwrap();
        assert_eq!(bus.read(0xffff, AccessSize::U8).unwrap(), 0);
    }
}
