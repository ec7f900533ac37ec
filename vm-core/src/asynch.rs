//! Async building blocks (feature `async`, on tokio): async guest-memory access, async device I/O and
//! the VM event bus.
//!
//! The vCPU hot path stays synchronous; these traits serve the parts of a VMM that wait on the host:
//! device back ends doing file or network I/O, batched address translation off the vCPU thread
//! (vm-mem's async MMU), and programs that manage VMs from an async runtime.
//!
//! ```
//! use vm_core::asynch::{EventBus, VmEvent};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let bus = EventBus::new(16);
//! let mut rx = bus.subscribe();
//! bus.publish(VmEvent::Started);
//! assert_eq!(rx.recv().await.unwrap(), VmEvent::Started);
//! # });
//! ```

use alloc::sync::Arc;
use alloc::vec::Vec;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::addr::GuestPhysAddr;
use crate::mem::{AccessSize, GuestMemory, MemFault};

/// Guest memory accessed from async code.
///
/// Every [`GuestMemory`] that is `Send + Sync` is also an `AsyncGuestMemory`: RAM accesses never block, so
/// they complete immediately. Memory whose accesses may wait (remote or file-backed regions, an MMU whose
/// walk is batched on another thread) implements this trait itself.
#[async_trait]
pub trait AsyncGuestMemory: Send + Sync {
    /// Read `len` bytes at `addr`.
    async fn read_async(&self, addr: GuestPhysAddr, len: usize) -> Result<Vec<u8>, MemFault>;
    /// Write `data` at `addr`.
    async fn write_async(&self, addr: GuestPhysAddr, data: &[u8]) -> Result<(), MemFault>;
}

#[async_trait]
impl<M: GuestMemory + Send + Sync + ?Sized> AsyncGuestMemory for M {
    async fn read_async(&self, addr: GuestPhysAddr, len: usize) -> Result<Vec<u8>, MemFault> {
        let mut buf = alloc::vec![0u8; len];
        self.read(addr, &mut buf)?;
        Ok(buf)
    }

    async fn write_async(&self, addr: GuestPhysAddr, data: &[u8]) -> Result<(), MemFault> {
        self.write(addr, data)
    }
}

/// A device whose register accesses may wait on host I/O (a disk or network back end).
#[async_trait]
pub trait AsyncMmioDevice: Send {
    /// Read `size` bytes at `offset`.
    async fn read_async(&mut self, offset: u64, size: AccessSize) -> u64;
    /// Write the low `size` bytes of `value` at `offset`.
    async fn write_async(&mut self, offset: u64, size: AccessSize, value: u64);
}

/// Something that happened to a VM, as published on its [`EventBus`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VmEvent {
    /// The VM started running.
    Started,
    /// The VM was paused.
    Paused,
    /// The VM resumed.
    Resumed,
    /// Bytes the guest wrote to its console.
    Console(Arc<[u8]>),
    /// The guest powered off with this exit code.
    Shutdown(u32),
    /// The guest asked for a reset.
    Reset,
    /// The VM stopped because of a host-side error (the message says which).
    Failed(alloc::string::String),
}

/// A broadcast channel of [`VmEvent`]s: every subscriber sees every event published after it
/// subscribed. A subscriber that falls more than `capacity` events behind loses the oldest ones and is
/// told how many (tokio's `RecvError::Lagged`).
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<VmEvent>,
}

impl EventBus {
    /// A bus that buffers up to `capacity` events per subscriber (at least 1).
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self { tx }
    }

    /// Publish an event; returns how many subscribers will see it.
    pub fn publish(&self, event: VmEvent) -> usize {
        self.tx.send(event).unwrap_or(0)
    }

    /// A new subscriber.
    pub fn subscribe(&self) -> broadcast::Receiver<VmEvent> {
        self.tx.subscribe()
    }

    /// Number of live subscribers.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Flat(Mutex<Vec<u8>>);

    impl GuestMemory for Flat {
        fn read(&self, addr: GuestPhysAddr, buf: &mut [u8]) -> Result<(), MemFault> {
            let m = self.0.lock().unwrap();
            let s = addr.raw() as usize;
            buf.copy_from_slice(m.get(s..s + buf.len()).ok_or(MemFault::Unmapped { addr })?);
            Ok(())
        }
        fn write(&self, addr: GuestPhysAddr, buf: &[u8]) -> Result<(), MemFault> {
            let mut m = self.0.lock().unwrap();
            let s = addr.raw() as usize;
            m.get_mut(s..s + buf.len())
                .ok_or(MemFault::Unmapped { addr })?
                .copy_from_slice(buf);
            Ok(())
        }
    }

    #[tokio::test]
    async fn sync_memory_is_async_memory() {
        let m: Arc<dyn AsyncGuestMemory> = Arc::new(Flat(Mutex::new(alloc::vec![0; 16])));
        m.write_async(GuestPhysAddr(4), &[1, 2, 3]).await.unwrap();
        assert_eq!(
            m.read_async(GuestPhysAddr(3), 5).await.unwrap(),
            [0, 1, 2, 3, 0]
        );
        assert_eq!(
            m.read_async(GuestPhysAddr(15), 2).await,
            Err(MemFault::Unmapped {
                addr: GuestPhysAddr(15)
            })
        );
    }

    #[tokio::test]
    async fn bus_fans_out_and_reports_lag() {
        let bus = EventBus::new(2);
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        assert_eq!(bus.subscribers(), 2);
        assert_eq!(bus.publish(VmEvent::Started), 2);
        assert_eq!(a.recv().await.unwrap(), VmEvent::Started);
        assert_eq!(b.recv().await.unwrap(), VmEvent::Started);
        for code in 0..3 {
            bus.publish(VmEvent::Shutdown(code));
        }
        assert!(matches!(
            a.recv().await,
            Err(broadcast::error::RecvError::Lagged(1))
        ));
        assert_eq!(a.recv().await.unwrap(), VmEvent::Shutdown(1));
        drop(b);
        assert_eq!(bus.subscribers(), 1);
    }
}
