use alloc::boxed::Box;
use alloc::vec;

use super::*;
use crate::virtio::driver::Driver;
use crate::virtio::testing::{DATA, RAM, ram};

/// A source that fails, to check the device survives it.
struct Broken;

impl EntropySource for Broken {
    fn fill(&mut self, _buf: &mut [u8]) -> Result<()> {
        Err(DeviceError::Entropy {
            reason: "broken on purpose".into(),
        })
    }
}

#[cfg(feature = "std")]
#[test]
fn host_entropy_fills_buffers() {
    use vm_core::GuestPhysAddr;
    let mut d = Driver::new(Rng::new(Box::new(HostEntropy)), ram());
    d.init(u64::MAX, RAM, 8);
    d.mem().write(GuestPhysAddr(DATA), &[0; 64]).unwrap();
    d.submit(0, &[(DATA, 32, true), (DATA + 32, 32, true)]);
    assert_eq!(d.take_used(0), vec![(0, 64)]);
    let mut got = [0u8; 64];
    d.mem().read(GuestPhysAddr(DATA), &mut got).unwrap();
    // 64 random bytes are all zero with probability 2^-512.
    assert_ne!(got, [0u8; 64]);
    assert!(d.line.is_high());
}

#[test]
fn requests_are_capped() {
    struct Ones;
    impl EntropySource for Ones {
        fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
            buf.fill(1);
            Ok(())
        }
    }
    let mut d = Driver::new(Rng::new(Box::new(Ones)), ram());
    d.init(u64::MAX, RAM, 8);
    d.submit(0, &[(DATA, 100_000, true)]);
    assert_eq!(d.take_used(0), vec![(0, MAX_REQUEST as u32)]);
}

#[test]
fn a_failing_source_completes_with_nothing() {
    let mut d = Driver::new(Rng::new(Box::new(Broken)), ram());
    d.init(u64::MAX, RAM, 8);
    d.submit(0, &[(DATA, 16, true)]);
    assert_eq!(d.take_used(0), vec![(0, 0)]);
    assert!(!d.needs_reset());
    assert!(d.mmio.device().last_source_error().is_some());
}
