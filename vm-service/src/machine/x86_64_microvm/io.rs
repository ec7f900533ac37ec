//! What the vCPU threads share: the port and MMIO buses with the machine's own small port devices
//! (the exit port, the i8042 reset line), and [`RunControl`], which records why the run ends and
//! stops every vCPU.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use vm_accel::VcpuKicker;
use vm_core::GuestPhysAddr;
use vm_core::device::{Bus, PioDevice};
use vm_core::mem::AccessSize;
use vm_device::bus::{MmioBus, PioBus};

/// Why an `x86_64-microvm` run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum X86StopReason {
    /// The guest wrote this byte to the exit port (`0xf4`).
    ExitPort(u8),
    /// The guest reset the machine (i8042 command `0xfe`, or a reset system event).
    Reset,
    /// The guest powered the machine off (a shutdown system event).
    PowerOff,
    /// [`stop_handle`](super::X86_64Microvm::stop_handle) was set.
    Stopped,
    /// A vCPU triple-faulted (an exception it could not deliver).
    TripleFault {
        /// The vCPU.
        vcpu: u32,
        /// Its instruction pointer.
        rip: u64,
    },
    /// The guest reported a crash (a crash system event).
    Crash {
        /// The vCPU that reported it.
        vcpu: u32,
    },
    /// Every vCPU halted with no interrupt controller to wake it.
    Halted,
    /// The accelerator could not run the guest any further (an internal error, a failed entry, an
    /// exit it does not model); `detail` says which, with the vCPU's `rip`.
    AccelFailure {
        /// The vCPU.
        vcpu: u32,
        /// What happened.
        detail: String,
    },
}

impl X86StopReason {
    /// The process exit status this ends with: the exit port's byte; 0 for a reset, power-off or
    /// stop; 1 for every failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::ExitPort(code) => i32::from(*code),
            Self::Reset | Self::PowerOff | Self::Stopped => 0,
            Self::TripleFault { .. }
            | Self::Crash { .. }
            | Self::Halted
            | Self::AccelFailure { .. } => 1,
        }
    }

    /// Whether the guest ended in a way a guest means to (exit port, reset, power-off) or was stopped,
    /// rather than failing.
    pub fn is_orderly(&self) -> bool {
        matches!(
            self,
            Self::ExitPort(_) | Self::Reset | Self::PowerOff | Self::Stopped
        )
    }
}

impl core::fmt::Display for X86StopReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::ExitPort(code) => write!(f, "the guest wrote {code} to the exit port"),
            Self::Reset => f.write_str("the guest reset the machine"),
            Self::PowerOff => f.write_str("the guest powered the machine off"),
            Self::Stopped => f.write_str("the run was stopped"),
            Self::TripleFault { vcpu, rip } => {
                write!(f, "vCPU {vcpu} triple-faulted at rip {rip:#x}")
            }
            Self::Crash { vcpu } => write!(f, "the guest reported a crash on vCPU {vcpu}"),
            Self::Halted => {
                f.write_str("every vCPU halted with no interrupt controller to wake it")
            }
            Self::AccelFailure { vcpu, detail } => write!(f, "vCPU {vcpu}: {detail}"),
        }
    }
}

/// The first reason to stop, the vCPUs' kickers, and a condition variable for the thread that waits.
#[derive(Default)]
pub struct RunControl {
    reason: Mutex<Option<X86StopReason>>,
    changed: Condvar,
    kickers: Mutex<Vec<Arc<dyn VcpuKicker>>>,
}

impl core::fmt::Debug for RunControl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RunControl")
            .field("reason", &*self.lock_reason())
            .finish_non_exhaustive()
    }
}

impl RunControl {
    fn lock_reason(&self) -> MutexGuard<'_, Option<X86StopReason>> {
        self.reason.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Register the kickers of the vCPUs that run.
    pub fn set_kickers(&self, kickers: Vec<Arc<dyn VcpuKicker>>) {
        *self.kickers.lock().unwrap_or_else(PoisonError::into_inner) = kickers;
    }

    /// End the run for `reason` (the first reason wins) and kick every vCPU out of the guest.
    pub fn stop(&self, reason: X86StopReason) {
        {
            let mut r = self.lock_reason();
            if r.is_none() {
                *r = Some(reason);
            }
        }
        self.kick_all();
        self.changed.notify_all();
    }

    /// Kick every vCPU (their `run` returns soon).
    pub fn kick_all(&self) {
        for k in self
            .kickers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            k.kick();
        }
    }

    /// Whether the run is ending.
    pub fn stopping(&self) -> bool {
        self.lock_reason().is_some()
    }

    /// Wake the waiting thread without a reason (a vCPU thread ended).
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// Wait until a reason is recorded or `timeout` passes.
    pub fn wait(&self, timeout: Duration) {
        let r = self.lock_reason();
        if r.is_none() {
            let _ = self
                .changed
                .wait_timeout(r, timeout)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Take the recorded reason, making the machine runnable again.
    pub fn take(&self) -> Option<X86StopReason> {
        self.lock_reason().take()
    }
}

/// The exit port: a byte written ends the run with it.
pub struct ExitPort(pub Arc<RunControl>);

impl PioDevice for ExitPort {
    fn pio_read(&mut self, _offset: u16, _size: AccessSize) -> u64 {
        0
    }

    fn pio_write(&mut self, _offset: u16, _size: AccessSize, value: u64) {
        self.0.stop(X86StopReason::ExitPort(value as u8));
    }
}

/// The i8042 keyboard controller, as far as a PC needs it without a keyboard: status reads say "no
/// data, ready for a command", and command `0xfe` (pulse the reset line) resets the machine.
pub struct I8042(pub Arc<RunControl>);

/// i8042 command: pulse the CPU reset line.
const I8042_RESET: u64 = 0xfe;

impl PioDevice for I8042 {
    fn pio_read(&mut self, _offset: u16, _size: AccessSize) -> u64 {
        0
    }

    fn pio_write(&mut self, offset: u16, _size: AccessSize, value: u64) {
        // Offset 4 is port 0x64, the command register.
        if offset == 4 && value & 0xff == I8042_RESET {
            self.0.stop(X86StopReason::Reset);
        }
    }
}

/// The buses the vCPU exits are dispatched to. Accesses where no device is mapped read as all ones
/// (as on a PC, where nothing drives the bus) and writes to them are dropped; both are counted.
#[derive(Debug)]
pub struct Io {
    /// Port devices.
    pub pio: PioBus,
    /// Memory-mapped devices.
    pub mmio: MmioBus,
    unclaimed: AtomicU64,
}

impl Io {
    /// Buses with the devices already mapped.
    pub fn new(pio: PioBus, mmio: MmioBus) -> Self {
        Self {
            pio,
            mmio,
            unclaimed: AtomicU64::new(0),
        }
    }

    /// Accesses no device answered so far.
    pub fn unclaimed(&self) -> u64 {
        self.unclaimed.load(Ordering::Relaxed)
    }

    fn miss(&self, what: &str, addr: u64) {
        let n = self.unclaimed.fetch_add(1, Ordering::Relaxed);
        if n < 16 {
            log::debug!("x86_64-microvm: unclaimed {what} at {addr:#x}");
        }
    }

    /// `out`: `data` holds `data.len() / size` accesses of `size` bytes to `port`.
    pub fn pio_out(&self, port: u16, size: usize, data: &[u8]) {
        let Some(access) = access_size(size) else {
            return self.miss("port write", port.into());
        };
        for chunk in data.chunks_exact(size) {
            if self.pio.write(port, access, le(chunk)).is_err() {
                self.miss("port write", port.into());
            }
        }
    }

    /// `in`: fill `buf` with `buf.len() / size` accesses of `size` bytes from `port`.
    pub fn pio_in(&self, port: u16, size: usize, buf: &mut [u8]) {
        let access = access_size(size);
        for chunk in buf.chunks_exact_mut(size.max(1)) {
            let value = match access.map(|a| self.pio.read(port, a)) {
                Some(Ok(v)) => v,
                _ => {
                    self.miss("port read", port.into());
                    u64::MAX
                }
            };
            put_le(chunk, value);
        }
    }

    /// A store of `data` at `addr` outside RAM.
    pub fn mmio_write(&self, addr: GuestPhysAddr, data: &[u8]) {
        let ok =
            access_size(data.len()).is_some_and(|a| self.mmio.write(addr, a, le(data)).is_ok());
        if !ok {
            self.miss("MMIO write", addr.raw());
        }
    }

    /// A load into `buf` from `addr` outside RAM.
    pub fn mmio_read(&self, addr: GuestPhysAddr, buf: &mut [u8]) {
        let value = match access_size(buf.len()).map(|a| self.mmio.read(addr, a)) {
            Some(Ok(v)) => v,
            _ => {
                self.miss("MMIO read", addr.raw());
                u64::MAX
            }
        };
        put_le(buf, value);
    }
}

fn access_size(size: usize) -> Option<AccessSize> {
    match size {
        1 => Some(AccessSize::U8),
        2 => Some(AccessSize::U16),
        4 => Some(AccessSize::U32),
        8 => Some(AccessSize::U64),
        _ => None,
    }
}

/// Up to 8 little-endian bytes as a value.
fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .rev()
        .fold(0, |v, &b| v << 8 | u64::from(b))
}

/// The low bytes of `value`, little-endian, into `out`.
fn put_le(out: &mut [u8], value: u64) {
    for (dst, src) in out.iter_mut().zip(value.to_le_bytes()) {
        *dst = src;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn exit_port_and_reset_record_the_first_reason() {
        let ctl = Arc::new(RunControl::default());
        let mut pio = PioBus::new();
        pio.insert(0xf4, 1, Arc::new(Mutex::new(ExitPort(ctl.clone()))))
            .unwrap();
        pio.insert(0x60, 5, Arc::new(Mutex::new(I8042(ctl.clone()))))
            .unwrap();
        let io = Io::new(pio, MmioBus::new());
        io.pio_out(0x64, 1, &[0xaa]);
        assert!(!ctl.stopping(), "only 0xfe resets");
        io.pio_out(0xf4, 1, &[42]);
        io.pio_out(0x64, 1, &[0xfe]);
        assert_eq!(ctl.take(), Some(X86StopReason::ExitPort(42)));
        assert_eq!(ctl.take(), None);
    }

    #[test]
    fn unclaimed_accesses_read_all_ones() {
        let io = Io::new(PioBus::new(), MmioBus::new());
        let mut b = [0u8; 2];
        io.pio_in(0x80, 1, &mut b);
        assert_eq!(b, [0xff, 0xff], "two 1-byte reads (rep insb)");
        let mut w = [0u8; 4];
        io.mmio_read(GuestPhysAddr(0xd000_0000), &mut w);
        assert_eq!(w, [0xff; 4]);
        io.mmio_write(GuestPhysAddr(0xd000_0000), &[1, 2, 3, 4]);
        assert_eq!(io.unclaimed(), 4);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(X86StopReason::ExitPort(42).exit_code(), 42);
        assert_eq!(X86StopReason::Reset.exit_code(), 0);
        let tf = X86StopReason::TripleFault {
            vcpu: 1,
            rip: 0x1000,
        };
        assert_eq!(tf.exit_code(), 1);
        assert!(!tf.is_orderly());
        assert_eq!(tf.to_string(), "vCPU 1 triple-faulted at rip 0x1000");
    }
}
