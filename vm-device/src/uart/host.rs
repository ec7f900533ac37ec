//! Standard-library back ends for the UART: output to any `std::io::Write` (stdout by default) and a
//! reader thread that feeds host input (stdin by default) into the receive FIFO.
//!
//! Putting the host terminal into raw mode is the embedder's job; the reader forwards whatever bytes the
//! terminal delivers.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{CharBackend, Uart16550};
use crate::error::{DeviceError, Result};

/// How long the reader waits for the guest to drain a full FIFO before trying again.
const RX_RETRY: Duration = Duration::from_millis(1);

/// A back end writing to a host stream, flushing after every write so console output appears at once.
#[derive(Debug)]
pub struct IoBackend<W> {
    out: W,
}

impl<W: Write + Send> IoBackend<W> {
    /// Write to `out`.
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// The stream, back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl IoBackend<std::io::Stdout> {
    /// Write to the process's standard output.
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }
}

impl<W: Write + Send> CharBackend for IoBackend<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .and_then(|()| self.out.flush())
            .map_err(|source| DeviceError::Io {
                what: "writing UART output",
                source,
            })
    }
}

/// Start a thread that reads `input` and feeds it into `uart`'s receive FIFO, raising its interrupt.
///
/// The thread never overruns the FIFO: when it is full (or the UART is in loopback) it waits until the
/// guest has read some bytes. It holds only a weak reference, so it ends when the UART is dropped (at its
/// next input), at end of input, or on a read error, which the join handle returns.
pub fn spawn_input_reader<R>(
    uart: &Arc<Mutex<Uart16550>>,
    mut input: R,
) -> Result<JoinHandle<Result<()>>>
where
    R: Read + Send + 'static,
{
    let uart = Arc::downgrade(uart);
    std::thread::Builder::new()
        .name("uart-input".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(source) => {
                        return Err(DeviceError::Io {
                            what: "reading UART input",
                            source,
                        });
                    }
                };
                if !deliver(&uart, buf.get(..n).unwrap_or_default()) {
                    return Ok(());
                }
            }
        })
        .map_err(|source| DeviceError::Io {
            what: "starting the UART input thread",
            source,
        })
}

/// Start a thread feeding the process's standard input into `uart`; see [`spawn_input_reader`].
pub fn spawn_stdin_reader(uart: &Arc<Mutex<Uart16550>>) -> Result<JoinHandle<Result<()>>> {
    spawn_input_reader(uart, std::io::stdin())
}

/// Push all of `bytes` into the UART as space frees up. Returns `false` once the UART is gone.
fn deliver(uart: &Weak<Mutex<Uart16550>>, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let Some(uart) = uart.upgrade() else {
            return false;
        };
        let accepted = {
            let mut u = uart.lock().unwrap_or_else(PoisonError::into_inner);
            let n = u.rx_space().min(bytes.len());
            let (now, rest) = bytes.split_at(n);
            u.receive_bytes(now);
            bytes = rest;
            n
        };
        drop(uart);
        if accepted == 0 {
            std::thread::sleep(RX_RETRY);
        }
    }
    true
}
