//! The memory-mapped I/O bus.

use std::sync::{Arc, Mutex, PoisonError};

use vm_core::GuestPhysAddr;
use vm_core::device::{Bus, BusError, MmioDevice};
use vm_core::mem::AccessSize;

use super::range_map::{Hit, RangeMap};
use crate::error::Result;

/// A shared MMIO device.
type SharedMmio = Arc<Mutex<dyn MmioDevice>>;

/// Devices mapped at non-overlapping guest physical windows; see the module docs.
pub struct MmioBus {
    map: RangeMap<SharedMmio>,
}

impl core::fmt::Debug for MmioBus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.windows()).finish()
    }
}

impl Default for MmioBus {
    fn default() -> Self {
        Self::new()
    }
}

impl MmioBus {
    /// An empty bus.
    pub const fn new() -> Self {
        Self {
            map: RangeMap::new(None),
        }
    }

    /// Map `device` at `[base, base + len)`.
    ///
    /// Fails with [`DeviceError::Overlap`](crate::DeviceError::Overlap) if the window overlaps one
    /// already mapped, or [`DeviceError::InvalidRange`](crate::DeviceError::InvalidRange) if it is
    /// empty or runs past the end of the address space.
    pub fn insert(&mut self, base: GuestPhysAddr, len: u64, device: SharedMmio) -> Result<()> {
        self.map.insert(base.raw(), len, device)
    }

    /// Unmap the device whose window starts at `base`, returning it.
    pub fn remove(&mut self, base: GuestPhysAddr) -> Option<SharedMmio> {
        self.map.remove(base.raw()).map(|w| w.item)
    }

    /// The device mapped at `addr`, with its window's base and length.
    pub fn device_at(&self, addr: GuestPhysAddr) -> Option<(GuestPhysAddr, u64, &SharedMmio)> {
        self.map
            .find(addr.raw())
            .map(|w| (GuestPhysAddr(w.start), w.len, &w.item))
    }

    /// The mapped windows `(base, len)`, by address.
    pub fn windows(&self) -> impl Iterator<Item = (GuestPhysAddr, u64)> + '_ {
        self.map.iter().map(|w| (GuestPhysAddr(w.start), w.len))
    }

    fn resolve(
        &self,
        addr: GuestPhysAddr,
        size: AccessSize,
    ) -> Result<(&SharedMmio, u64), BusError> {
        match self.map.hit(addr.raw(), size.bytes() as u64) {
            Hit::Inside { window, offset } => Ok((&window.item, offset)),
            Hit::Nothing => Err(BusError::NoDevice { addr: addr.raw() }),
            Hit::Crosses => Err(BusError::CrossesBoundary {
                addr: addr.raw(),
                size,
            }),
        }
    }
}

impl Bus for MmioBus {
    fn read(&self, addr: GuestPhysAddr, size: AccessSize) -> Result<u64, BusError> {
        let (device, offset) = self.resolve(addr, size)?;
        let mut device = device.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(device.read(offset, size) & size.mask())
    }

    fn write(&self, addr: GuestPhysAddr, size: AccessSize, value: u64) -> Result<(), BusError> {
        let (device, offset) = self.resolve(addr, size)?;
        let mut device = device.lock().unwrap_or_else(PoisonError::into_inner);
        device.write(offset, size, value & size.mask());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::DeviceError;

    /// Remembers every access; reads return the offset plus a tag, unmasked.
    struct Probe {
        tag: u64,
        log: Vec<(char, u64, AccessSize, u64)>,
    }

    impl MmioDevice for Probe {
        fn read(&mut self, offset: u64, size: AccessSize) -> u64 {
            self.log.push(('r', offset, size, 0));
            0xffff_ffff_0000_0000 | (self.tag + offset)
        }
        fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
            self.log.push(('w', offset, size, value));
        }
    }

    fn probe(tag: u64) -> Arc<Mutex<Probe>> {
        Arc::new(Mutex::new(Probe {
            tag,
            log: Vec::new(),
        }))
    }

    #[test]
    fn dispatches_with_offset() {
        let a = probe(0x100);
        let b = probe(0x200);
        let mut bus = MmioBus::new();
        bus.insert(GuestPhysAddr(0x1000_0000), 0x100, a.clone())
            .unwrap();
        bus.insert(GuestPhysAddr(0x0c00_0000), 0x60_0000, b.clone())
            .unwrap();
        assert_eq!(
            bus.read(GuestPhysAddr(0x1000_0005), AccessSize::U8)
                .unwrap(),
            0x05
        );
        assert_eq!(
            bus.read(GuestPhysAddr(0x0c20_0004), AccessSize::U32)
                .unwrap(),
            0x0020_0204
        );
        bus.write(GuestPhysAddr(0x1000_00f8), AccessSize::U16, 0x1_2345)
            .unwrap();
        assert_eq!(
            a.lock().unwrap().log,
            [
                ('r', 5, AccessSize::U8, 0),
                ('w', 0xf8, AccessSize::U16, 0x2345)
            ]
        );
        assert_eq!(
            b.lock().unwrap().log,
            [('r', 0x20_0004, AccessSize::U32, 0)]
        );
        assert_eq!(
            bus.windows().collect::<Vec<_>>(),
            [
                (GuestPhysAddr(0x0c00_0000), 0x60_0000),
                (GuestPhysAddr(0x1000_0000), 0x100)
            ]
        );
    }

    #[test]
    fn unmapped_and_crossing_accesses() {
        let mut bus = MmioBus::new();
        bus.insert(GuestPhysAddr(0x1000), 0x10, probe(0)).unwrap();
        assert_eq!(
            bus.read(GuestPhysAddr(0x1010), AccessSize::U8),
            Err(BusError::NoDevice { addr: 0x1010 })
        );
        assert_eq!(
            bus.write(GuestPhysAddr(0xfff), AccessSize::U32, 0),
            Err(BusError::NoDevice { addr: 0xfff })
        );
        assert_eq!(
            bus.read(GuestPhysAddr(0x100c), AccessSize::U64),
            Err(BusError::CrossesBoundary {
                addr: 0x100c,
                size: AccessSize::U64
            })
        );
        assert!(bus.read(GuestPhysAddr(0x1008), AccessSize::U64).is_ok());
    }

    #[test]
    fn overlap_is_a_typed_error() {
        let mut bus = MmioBus::new();
        bus.insert(GuestPhysAddr(0x2000), 0x1000, probe(0)).unwrap();
        let err = bus
            .insert(GuestPhysAddr(0x2800), 0x1000, probe(1))
            .unwrap_err();
        assert!(matches!(
            err,
            DeviceError::Overlap {
                start: 0x2800,
                len: 0x1000,
                existing_start: 0x2000,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "Device window 0x2800..+0x1000 overlaps the window 0x2000..+0x1000"
        );
        assert!(bus.remove(GuestPhysAddr(0x2000)).is_some());
        bus.insert(GuestPhysAddr(0x2800), 0x1000, probe(1)).unwrap();
        let (base, len, _) = bus.device_at(GuestPhysAddr(0x3000)).unwrap();
        assert_eq!((base, len), (GuestPhysAddr(0x2800), 0x1000));
    }

    #[test]
    fn poisoned_device_keeps_working() {
        let dev = probe(7);
        let mut bus = MmioBus::new();
        bus.insert(GuestPhysAddr(0), 0x10, dev.clone()).unwrap();
        let d2 = dev.clone();
        let r = std::thread::spawn(move || {
            let _guard = d2.lock().unwrap();
            panic!("device panicked");
        })
        .join();
        assert!(r.is_err());
        assert_eq!(bus.read(GuestPhysAddr(1), AccessSize::U8).unwrap(), 8);
    }
}
