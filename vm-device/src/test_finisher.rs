//! SiFive test finisher (QEMU's `sifive_test`): how a guest ends an emulation run.
//!
//! The guest writes a 16- or 32-bit value at offset 0: `0x5555` asks to stop with success, `(code << 16)
//! | 0x3333` to stop with failure `code`, `0x7777` to reset the machine. Other values are ignored, and
//! reads return 0. The device never ends the process: it records a [`PowerEvent`] in a [`PowerControl`]
//! that the machine polls (typically at the same points where it checks for interrupts) and acts on.
//! Linux reaches it through the `syscon-poweroff`/`syscon-reboot` device-tree nodes, OpenSBI through its
//! `sifive,test1` driver.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use vm_core::device::MmioDevice;
use vm_core::mem::AccessSize;

/// Size of the finisher's MMIO window on QEMU `virt`.
pub const TEST_FINISHER_SIZE: u64 = 0x1000;
/// Status value that stops the machine with success.
pub const FINISHER_PASS: u32 = 0x5555;
/// Status value that stops the machine with the failure code in bits 31:16.
pub const FINISHER_FAIL: u32 = 0x3333;
/// Status value that resets the machine.
pub const FINISHER_RESET: u32 = 0x7777;

/// What the guest asked the machine to do.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PowerEvent {
    /// Stop; the run passed (exit status 0).
    Pass,
    /// Stop; the run failed with `code` (QEMU exits with this status, so a code of 0 exits 0).
    Fail {
        /// The guest's failure code.
        code: u16,
    },
    /// Reset the machine and run again.
    Reset,
}

impl PowerEvent {
    /// The process exit status QEMU would end with, or `None` for [`PowerEvent::Reset`].
    pub fn exit_code(self) -> Option<i32> {
        match self {
            Self::Pass => Some(0),
            Self::Fail { code } => Some(i32::from(code)),
            Self::Reset => None,
        }
    }

    /// Decode the value a guest wrote to the finisher.
    pub fn from_finisher_value(value: u32) -> Option<Self> {
        match value & 0xffff {
            FINISHER_PASS => Some(Self::Pass),
            FINISHER_FAIL => Some(Self::Fail {
                code: (value >> 16) as u16,
            }),
            FINISHER_RESET => Some(Self::Reset),
            _ => None,
        }
    }

    /// The finisher value that encodes this event.
    pub fn to_finisher_value(self) -> u32 {
        match self {
            Self::Pass => FINISHER_PASS,
            Self::Fail { code } => (u32::from(code) << 16) | FINISHER_FAIL,
            Self::Reset => FINISHER_RESET,
        }
    }
}

/// The shared slot where a power event waits for the machine.
///
/// Clones share the slot: give one to the [`TestFinisher`] and keep one in the machine loop. The first
/// event wins until the machine takes it (a real finisher stops the machine at once, so nothing after it
/// should count).
#[derive(Clone, Debug, Default)]
pub struct PowerControl {
    /// 0: no event; otherwise the finisher value of the event.
    slot: Arc<AtomicU32>,
}

impl PowerControl {
    /// An empty slot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record `event` unless one is already waiting; returns whether it was recorded.
    pub fn request(&self, event: PowerEvent) -> bool {
        self.slot
            .compare_exchange(
                0,
                event.to_finisher_value(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// The waiting event, left in place.
    pub fn peek(&self) -> Option<PowerEvent> {
        PowerEvent::from_finisher_value(self.slot.load(Ordering::Acquire))
    }

    /// The waiting event, removed (the next [`request`](Self::request) records again).
    pub fn take(&self) -> Option<PowerEvent> {
        PowerEvent::from_finisher_value(self.slot.swap(0, Ordering::AcqRel))
    }
}

/// The SiFive test finisher device; see the module docs.
#[derive(Clone, Debug)]
pub struct TestFinisher {
    power: PowerControl,
}

impl TestFinisher {
    /// A finisher reporting into `power`.
    pub fn new(power: PowerControl) -> Self {
        Self { power }
    }

    /// The slot this finisher reports into.
    pub fn power(&self) -> &PowerControl {
        &self.power
    }
}

impl MmioDevice for TestFinisher {
    fn read(&mut self, _offset: u64, _size: AccessSize) -> u64 {
        0
    }

    /// 16- and 32-bit writes at offset 0 are decoded (as QEMU accepts); anything else is ignored.
    fn write(&mut self, offset: u64, size: AccessSize, value: u64) {
        if offset != 0 || !matches!(size, AccessSize::U16 | AccessSize::U32) {
            return;
        }
        if let Some(event) = PowerEvent::from_finisher_value((value & size.mask()) as u32) {
            self.power.request(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finisher() -> (TestFinisher, PowerControl) {
        let power = PowerControl::new();
        (TestFinisher::new(power.clone()), power)
    }

    #[test]
    fn pass() {
        let (mut f, p) = finisher();
        f.write(0, AccessSize::U32, 0x5555);
        assert_eq!(p.peek(), Some(PowerEvent::Pass));
        assert_eq!(p.take().and_then(PowerEvent::exit_code), Some(0));
        assert_eq!(p.take(), None);
    }

    #[test]
    fn pass_ignores_code_bits() {
        let (mut f, p) = finisher();
        f.write(0, AccessSize::U32, 0x0007_5555);
        assert_eq!(p.take(), Some(PowerEvent::Pass));
    }

    #[test]
    fn fail_with_code() {
        let (mut f, p) = finisher();
        f.write(0, AccessSize::U32, (42 << 16) | 0x3333);
        assert_eq!(p.peek(), Some(PowerEvent::Fail { code: 42 }));
        assert_eq!(p.take().and_then(PowerEvent::exit_code), Some(42));
        f.write(0, AccessSize::U32, 0xffff_3333);
        assert_eq!(p.take(), Some(PowerEvent::Fail { code: 0xffff }));
        f.write(0, AccessSize::U32, 0x3333);
        assert_eq!(p.take().and_then(PowerEvent::exit_code), Some(0));
    }

    #[test]
    fn reset() {
        let (mut f, p) = finisher();
        f.write(0, AccessSize::U16, 0x7777);
        assert_eq!(p.take(), Some(PowerEvent::Reset));
        assert_eq!(PowerEvent::Reset.exit_code(), None);
    }

    #[test]
    fn sixteen_bit_write_drops_code() {
        let (mut f, p) = finisher();
        f.write(0, AccessSize::U16, 0x0005_3333);
        assert_eq!(p.take(), Some(PowerEvent::Fail { code: 0 }));
    }

    #[test]
    fn ignored_writes() {
        let (mut f, p) = finisher();
        f.write(0, AccessSize::U32, 0x1234);
        f.write(4, AccessSize::U32, 0x5555);
        f.write(0, AccessSize::U8, 0x55);
        f.write(0, AccessSize::U64, 0x5555);
        assert_eq!(p.peek(), None);
        assert_eq!(f.read(0, AccessSize::U32), 0);
    }

    #[test]
    fn first_event_wins_until_taken() {
        let (mut f, p) = finisher();
        f.write(0, AccessSize::U32, (3 << 16) | 0x3333);
        f.write(0, AccessSize::U32, 0x5555);
        assert_eq!(p.take(), Some(PowerEvent::Fail { code: 3 }));
        f.write(0, AccessSize::U32, 0x7777);
        assert_eq!(f.power().take(), Some(PowerEvent::Reset));
    }

    #[test]
    fn value_round_trip() {
        for e in [
            PowerEvent::Pass,
            PowerEvent::Reset,
            PowerEvent::Fail { code: 513 },
        ] {
            assert_eq!(
                PowerEvent::from_finisher_value(e.to_finisher_value()),
                Some(e)
            );
        }
        assert_eq!(
            PowerEvent::Fail { code: 1 }.to_finisher_value(),
            0x0001_3333
        );
    }
}
