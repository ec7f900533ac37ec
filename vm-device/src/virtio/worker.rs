//! The poller thread of a VirtIO device: host-side work outside the guest's notifications.
//!
//! [`spawn`] starts one thread per device. It loops: lock the transport, call
//! [`VirtioMmio::poll`], collect the device's [`host_fds`](VirtioMmio::host_fds) and
//! [`poll_timeout`](VirtioMmio::poll_timeout), unlock, then sleep in `poll(2)` on those descriptors and
//! a wake-up pipe, for at most the timeout (and never more than a second). The transport writes to the
//! pipe (through [`Kick`]) when the device is activated or reset, when a notification left work over
//! its budget, and when a back end's descriptor set changed, so the thread never sleeps on stale state.
//!
//! The network card needs a worker to receive frames, the console (when fed by
//! [`console::spawn_input_reader`](super::console::spawn_input_reader)) does not; block and entropy
//! devices use one only to finish work a notification cut short, which an honest driver rarely causes.
//!
//! The thread holds a weak reference to the device and stops when the [`Worker`] is dropped (which
//! joins it: do not drop it while holding the device's lock) or the device is gone.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::mmio::VirtioMmio;
use super::{HostFd, Kick, VirtioDevice};
use crate::error::{DeviceError, Result};

/// The longest the thread sleeps without being asked.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// The wake-up pipe and the stop flag.
#[derive(Debug)]
struct Waker {
    read: File,
    write: File,
    pending: AtomicBool,
    stop: AtomicBool,
}

impl Kick for Waker {
    fn kick(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            // Non-blocking; a full pipe already wakes the thread.
            let _ = (&self.write).write(&[1]);
        }
    }
}

impl Waker {
    fn new() -> Result<Self> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `pipe` writes two descriptors into the two-element array, which lives across the call.
        let r = unsafe { libc::pipe(fds.as_mut_ptr()) };
        if r != 0 {
            return Err(DeviceError::Io {
                what: "creating the VirtIO worker's wake-up pipe",
                source: std::io::Error::last_os_error(),
            });
        }
        let [rfd, wfd] = fds;
        // SAFETY: `pipe` succeeded, so both descriptors are open and owned by nobody else.
        let read = File::from(unsafe { OwnedFd::from_raw_fd(rfd) });
        // SAFETY: as above.
        let write = File::from(unsafe { OwnedFd::from_raw_fd(wfd) });
        for f in [&read, &write] {
            set_flags(f)?;
        }
        Ok(Self {
            read,
            write,
            pending: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        })
    }

    /// Empty the pipe, then allow the next kick to write again. In this order a kick that comes in
    /// between finds `pending` still set and writes nothing, which is fine: the thread polls the device
    /// right after draining. The other order could swallow a kick's byte and leave `pending` set, so
    /// that no later kick would wake the thread.
    fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.read).read(&mut buf), Ok(n) if n > 0) {}
        self.pending.store(false, Ordering::Release);
    }
}

/// Make `f` non-blocking and close-on-exec.
fn set_flags(f: &File) -> Result<()> {
    let fd = f.as_raw_fd();
    let err = || DeviceError::Io {
        what: "configuring the VirtIO worker's wake-up pipe",
        source: std::io::Error::last_os_error(),
    };
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 {
        return Err(err());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) } < 0 {
        return Err(err());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(err());
    }
    Ok(())
}

/// A running poller thread; dropping it stops and joins the thread.
#[derive(Debug)]
pub struct Worker {
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Ask the thread to poll the device now.
    pub fn kick(&self) {
        self.waker.kick();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.waker.stop.store(true, Ordering::Release);
        self.waker.kick();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Start the poller thread for `device` (named `name` for debuggers) and register it with the
/// transport; see the module docs.
pub fn spawn<D: VirtioDevice + 'static>(
    device: &Arc<Mutex<VirtioMmio<D>>>,
    name: &str,
) -> Result<Worker> {
    let waker = Arc::new(Waker::new()?);
    device
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .set_kick(Some(Arc::clone(&waker) as Arc<dyn Kick>));
    let weak = Arc::downgrade(device);
    let w = Arc::clone(&waker);
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut fds = Vec::new();
            while !w.stop.load(Ordering::Acquire) {
                let Some(dev) = weak.upgrade() else {
                    break;
                };
                fds.clear();
                let timeout = {
                    let mut m = dev.lock().unwrap_or_else(PoisonError::into_inner);
                    m.poll();
                    m.host_fds(&mut fds);
                    m.poll_timeout()
                };
                drop(dev);
                wait(&w, &fds, timeout.map_or(MAX_WAIT, |t| t.min(MAX_WAIT)));
                w.drain();
            }
        })
        .map_err(|source| DeviceError::Io {
            what: "starting a VirtIO worker thread",
            source,
        })?;
    Ok(Worker {
        waker,
        thread: Some(thread),
    })
}

/// Sleep until the wake-up pipe or one of `fds` is ready, or `timeout` passes.
fn wait(waker: &Waker, fds: &[HostFd], timeout: Duration) {
    let mut pfds: Vec<libc::pollfd> = Vec::with_capacity(fds.len() + 1);
    pfds.push(libc::pollfd {
        fd: waker.read.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    });
    for f in fds {
        let mut events = 0;
        if f.readable {
            events |= libc::POLLIN;
        }
        if f.writable {
            events |= libc::POLLOUT;
        }
        pfds.push(libc::pollfd {
            fd: f.fd,
            events,
            revents: 0,
        });
    }
    let ms = libc::c_int::try_from(timeout.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: `pfds` is a live, initialised array of `pfds.len()` pollfd structures for the whole call;
    // poll only writes their `revents` fields.
    unsafe {
        libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::uart::CaptureBackend;
    use crate::virtio::console::Console;
    use crate::virtio::driver::{Driver, Ring};
    use crate::virtio::testing::{DATA, RAM, ram};

    #[test]
    fn kicks_wake_the_thread_and_drop_stops_it_promptly() {
        let mut d = Driver::new(Console::new(Box::new(CaptureBackend::new())), ram());
        d.init(u64::MAX, RAM, 8);
        let mem = d.mem.clone();
        let mut rx: Ring = d.rings[0].clone();
        let head = rx.add_chain(&*mem, &[(DATA, 16, true)]);
        rx.push(&*mem, head);
        let dev = Arc::new(Mutex::new(d.mmio));
        for _ in 0..20 {
            let w = spawn(&dev, "virtio-test").unwrap();
            for _ in 0..10 {
                w.kick();
            }
            let t = Instant::now();
            drop(w);
            assert!(
                t.elapsed() < Duration::from_millis(500),
                "{:?}",
                t.elapsed()
            );
        }
        // With a worker running, input queued from outside reaches the guest without a notification.
        let w = spawn(&dev, "virtio-test").unwrap();
        dev.lock().unwrap().device_mut().queue_input(b"hi");
        w.kick();
        let t = Instant::now();
        let mut used = Vec::new();
        while used.is_empty() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
            used = rx.take_used(&*mem);
        }
        assert_eq!(used, vec![(u32::from(head), 2)]);
    }
}
