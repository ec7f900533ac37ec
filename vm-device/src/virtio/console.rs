//! virtio-console (VirtIO 1.2 §5.3) with one port.
//!
//! Queue 0 (receiveq) carries host input to the guest, queue 1 (transmitq) guest output to a
//! [`CharBackend`]. `VIRTIO_CONSOLE_F_EMERG_WRITE` is offered: a byte written to `emerg_wr` (config
//! offset 8) goes straight to the output. No multiport, no console size.
//!
//! Host input is queued with [`Console::queue_input`] (at most [`INPUT_CAPACITY`] bytes wait in the
//! device) and delivered when the transport polls the device or the driver adds receive buffers. With
//! `std`, [`spawn_input_reader`] feeds a host stream (stdin) into a console on its own thread.
//!
//! ```
//! use vm_device::uart::CaptureBackend;
//! use vm_device::virtio::console::Console;
//! use vm_device::virtio::VirtioDevice;
//!
//! let out = CaptureBackend::new();
//! let mut console = Console::new(Box::new(out.clone()));
//! console.write_config(8, &[b'!', 0, 0, 0]); // emergency write
//! assert_eq!(out.contents(), b"!");
//! assert_eq!(console.queue_input(b"ls\n"), 3);
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use super::queue::DescriptorChain;
use super::{Activation, Active, Failure, VirtioDevice, VirtioError, device_type};
use crate::error::DeviceError;
use crate::uart::CharBackend;

/// `VIRTIO_CONSOLE_F_EMERG_WRITE`.
pub const F_EMERG_WRITE: u64 = 1 << 2;
/// Receive queue index.
pub const RX_QUEUE: u16 = 0;
/// Transmit queue index.
pub const TX_QUEUE: u16 = 1;
/// Largest queue size.
pub const QUEUE_SIZE: u16 = 64;
/// Most bytes of host input waiting inside the device.
pub const INPUT_CAPACITY: usize = 4096;
/// Most output bytes copied per step.
const CHUNK: usize = 4096;

/// A virtio-console device; see the module docs.
pub struct Console {
    output: Box<dyn CharBackend>,
    input: VecDeque<u8>,
    active: Option<Active>,
    buf: Vec<u8>,
    tx_pending: bool,
    wake: bool,
    last_error: Option<DeviceError>,
}

impl core::fmt::Debug for Console {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Console")
            .field("input_waiting", &self.input.len())
            .field("active", &self.active.is_some())
            .finish_non_exhaustive()
    }
}

impl Console {
    /// A console writing guest output to `output`.
    pub fn new(output: Box<dyn CharBackend>) -> Self {
        Self {
            output,
            input: VecDeque::new(),
            active: None,
            buf: Vec::new(),
            tx_pending: false,
            wake: false,
            last_error: None,
        }
    }

    /// Queue host input for the guest; returns how many bytes fit (the rest must be offered again).
    /// Delivery happens at the next poll or receive-buffer notification.
    pub fn queue_input(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(INPUT_CAPACITY - self.input.len());
        self.input.extend(bytes.iter().take(n));
        n
    }

    /// Bytes of input waiting for the guest.
    pub fn input_waiting(&self) -> usize {
        self.input.len()
    }

    /// The first error the output back end returned (output was dropped).
    pub fn last_output_error(&self) -> Option<&DeviceError> {
        self.last_error.as_ref()
    }

    fn emit(&mut self, bytes: &[u8]) {
        if let Err(e) = self.output.write(bytes) {
            super::note_host_error(&mut self.last_error, e);
        }
    }

    fn transmit(&mut self) -> Result<(), VirtioError> {
        let Some(active) = self.active.as_mut() else {
            return Ok(());
        };
        let mem = &*active.memory;
        let Some(queue) = active.queues.get_mut(usize::from(TX_QUEUE)) else {
            return Ok(());
        };
        if self.buf.is_empty() {
            self.buf = vec![0; CHUNK];
        }
        let buf = &mut self.buf;
        let output = &mut *self.output;
        let last_error = &mut self.last_error;
        let done = queue
            .process(mem, usize::from(QUEUE_SIZE), |chain: &DescriptorChain| {
                if !chain.writable().is_empty() {
                    return Err(Failure::Device(VirtioError::WrongDirection {
                        queue: TX_QUEUE,
                        what: "output buffers must be device-readable",
                    }));
                }
                let mut r = chain.reader(mem);
                loop {
                    let n = r.read(buf).map_err(|source| {
                        Failure::Device(VirtioError::Memory {
                            queue: TX_QUEUE,
                            source,
                        })
                    })?;
                    if n == 0 {
                        break;
                    }
                    if let Err(e) = output.write(buf.get(..n).unwrap_or_default()) {
                        super::note_host_error(last_error, e);
                    }
                }
                Ok(0)
            })
            .map_err(|e| e.into_virtio(TX_QUEUE))?;
        self.tx_pending = done.more;
        self.wake |= done.more;
        if done.chains > 0 {
            active.notify_used(TX_QUEUE)?;
        }
        Ok(())
    }

    fn receive(&mut self) -> Result<(), VirtioError> {
        let Some(active) = self.active.as_mut() else {
            return Ok(());
        };
        let mem = &*active.memory;
        let Some(queue) = active.queues.get_mut(usize::from(RX_QUEUE)) else {
            return Ok(());
        };
        let q_err = |source| VirtioError::Queue {
            queue: RX_QUEUE,
            source,
        };
        let mut delivered = 0;
        while !self.input.is_empty() && delivered < usize::from(QUEUE_SIZE) {
            let Some(chain) = queue.pop(mem).map_err(q_err)? else {
                if queue.enable_notification(mem).map_err(q_err)? {
                    continue;
                }
                break;
            };
            if !chain.readable().is_empty() {
                return Err(VirtioError::WrongDirection {
                    queue: RX_QUEUE,
                    what: "input buffers must be device-writable",
                });
            }
            let mut w = chain.writer(mem);
            while !self.input.is_empty() && w.remaining() > 0 {
                let (front, _) = self.input.as_slices();
                let n = w.write(front).map_err(|source| VirtioError::Memory {
                    queue: RX_QUEUE,
                    source,
                })?;
                self.input.drain(..n);
            }
            let written = w.written() as u32;
            queue.add_used(mem, chain.head(), written).map_err(q_err)?;
            delivered += 1;
        }
        if delivered > 0 {
            active.notify_used(RX_QUEUE)?;
        }
        Ok(())
    }
}

impl VirtioDevice for Console {
    fn device_type(&self) -> u32 {
        device_type::CONSOLE
    }

    fn features(&self) -> u64 {
        F_EMERG_WRITE
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &[QUEUE_SIZE, QUEUE_SIZE]
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        // cols, rows, max_nr_ports (1), emerg_wr (reads as 0).
        let mut c = [0u8; 12];
        c[4..8].copy_from_slice(&1u32.to_le_bytes());
        super::read_config_bytes(&c, offset, data);
    }

    fn write_config(&mut self, offset: u64, data: &[u8]) {
        if offset == 8
            && let Some(&b) = data.first()
        {
            self.emit(&[b]);
        }
    }

    fn activate(&mut self, activation: Activation) -> Result<(), VirtioError> {
        self.active = Some(Active::new(activation));
        self.wake = true;
        Ok(())
    }

    fn notify(&mut self, queue: u16) -> Result<(), VirtioError> {
        match queue {
            TX_QUEUE => self.transmit(),
            _ => self.receive(),
        }
    }

    fn reset(&mut self) {
        self.active = None;
        self.tx_pending = false;
        self.wake = false;
    }

    fn poll(&mut self) -> Result<(), VirtioError> {
        if self.tx_pending {
            self.transmit()?;
        }
        self.receive()
    }

    fn take_wake(&mut self) -> bool {
        core::mem::take(&mut self.wake)
    }
}

#[cfg(feature = "std")]
pub use host::spawn_input_reader;

#[cfg(feature = "std")]
mod host {
    use std::io::Read;
    use std::sync::{Arc, Mutex, PoisonError, Weak};
    use std::thread::JoinHandle;
    use std::time::Duration;

    use super::Console;
    use crate::error::{DeviceError, Result};
    use crate::virtio::mmio::VirtioMmio;

    /// How long the reader waits for the guest to take input before offering it again.
    const RETRY: Duration = Duration::from_millis(2);

    /// Start a thread that reads `input` and feeds it to the console, delivering it to the guest.
    ///
    /// It holds only a weak reference: it ends when the console is dropped (at its next input), at end
    /// of input, or on a read error, which the join handle returns. Input waits (and the thread with it)
    /// while the device's input buffer is full.
    pub fn spawn_input_reader<R>(
        console: &Arc<Mutex<VirtioMmio<Console>>>,
        mut input: R,
    ) -> Result<JoinHandle<Result<()>>>
    where
        R: Read + Send + 'static,
    {
        let console = Arc::downgrade(console);
        std::thread::Builder::new()
            .name("virtio-console-input".into())
            .spawn(move || {
                let mut buf = [0u8; 256];
                loop {
                    let n = match input.read(&mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(source) => {
                            return Err(DeviceError::Io {
                                what: "reading console input",
                                source,
                            });
                        }
                    };
                    if !deliver(&console, buf.get(..n).unwrap_or_default()) {
                        return Ok(());
                    }
                }
            })
            .map_err(|source| DeviceError::Io {
                what: "starting the console input thread",
                source,
            })
    }

    fn deliver(console: &Weak<Mutex<VirtioMmio<Console>>>, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            let Some(c) = console.upgrade() else {
                return false;
            };
            let accepted = {
                let mut m = c.lock().unwrap_or_else(PoisonError::into_inner);
                let n = m.device_mut().queue_input(bytes);
                m.poll();
                n
            };
            drop(c);
            bytes = bytes.get(accepted..).unwrap_or_default();
            if accepted == 0 {
                std::thread::sleep(RETRY);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests;
