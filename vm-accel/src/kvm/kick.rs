//! Stopping a KVM vCPU from another thread: `kvm_run.immediate_exit` plus a signal.
//!
//! The documented KVM way (Documentation/virt/kvm/api.rst, `immediate_exit`): the kicker sets
//! `immediate_exit` in the vCPU's shared `kvm_run` page, so a `KVM_RUN` that has not started yet returns
//! `EINTR` at once, and sends a real-time signal to the thread inside `KVM_RUN`, which makes the kernel
//! leave the guest with `EINTR`. The signal's handler does nothing; it only has to exist so that the
//! signal interrupts instead of killing the process.
//!
//! The thread is signalled only while it is between the start and the end of [`KickState::running`]
//! (a mutex guards both the thread id and the `kvm_run` address), so a kick never reaches a thread that
//! has left the vCPU, and never touches a `kvm_run` page that was unmapped.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use vmm_sys_util::signal::{SIGRTMIN, register_signal_handler};

use crate::accel::VcpuKicker;
use crate::error::{Error, Result};

/// Offset of the kick signal from `SIGRTMIN` (applications often use `SIGRTMIN` itself).
pub const KICK_SIGNAL_OFFSET: i32 = 3;

/// The kick signal: `SIGRTMIN + KICK_SIGNAL_OFFSET`.
pub fn kick_signal() -> i32 {
    SIGRTMIN() + KICK_SIGNAL_OFFSET
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

/// Install the (empty) kick signal handler once per process.
pub(super) fn install_kick_handler() -> Result<()> {
    static INSTALLED: OnceLock<Result<()>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let signal = kick_signal();
            register_signal_handler(signal, on_kick).map_err(|e| Error::KickSignal {
                signal,
                errno: e.errno(),
            })
        })
        .clone()
}

#[derive(Debug)]
struct Inner {
    /// Address of the vCPU's `kvm_run` page; 0 once the vCPU is gone.
    run: usize,
    /// Offset of `immediate_exit` in it.
    immediate_exit: usize,
    /// The thread inside `KVM_RUN`, if any.
    thread: Option<libc::pthread_t>,
}

/// What a vCPU shares with its kickers.
#[derive(Debug)]
pub(super) struct KickState {
    inner: Mutex<Inner>,
}

impl KickState {
    pub(super) fn new(run: usize, immediate_exit: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner {
                run,
                immediate_exit,
                thread: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record (`true`) or forget (`false`) the calling thread as the one inside `KVM_RUN`.
    pub(super) fn running(&self, on: bool) {
        // SAFETY: pthread_self has no preconditions.
        self.lock().thread = on.then(|| unsafe { libc::pthread_self() });
    }

    /// Set `immediate_exit` to `value`.
    pub(super) fn set_immediate_exit(&self, value: u8) {
        let inner = self.lock();
        if inner.run != 0 {
            // SAFETY: `run` is the vCPU's live `kvm_run` mapping (it is reset to 0 under this lock before
            // the mapping goes away) and `immediate_exit` a `u8` field inside it. The kernel reads the
            // field at each KVM_RUN entry; a volatile byte store is how the KVM API expects it written,
            // from any thread.
            unsafe {
                std::ptr::with_exposed_provenance_mut::<u8>(inner.run + inner.immediate_exit)
                    .write_volatile(value);
            }
        }
    }

    /// The vCPU is being dropped: its `kvm_run` page goes away.
    pub(super) fn detach(&self) {
        let mut inner = self.lock();
        inner.run = 0;
        inner.thread = None;
    }
}

/// The [`VcpuKicker`] of a KVM vCPU.
#[derive(Debug)]
pub struct KvmKicker(pub(super) Arc<KickState>);

impl VcpuKicker for KvmKicker {
    fn kick(&self) {
        self.0.set_immediate_exit(1);
        let inner = self.0.lock();
        if let Some(thread) = inner.thread {
            // SAFETY: `thread` is inside `KvmVcpu::run` (it clears the id under this lock before it
            // returns), so it is alive for as long as we hold the lock. The signal's handler was
            // installed when the vCPU was created, so the signal only interrupts the ioctl.
            let rc = unsafe { libc::pthread_kill(thread, kick_signal()) };
            if rc != 0 {
                log::warn!("pthread_kill of a vCPU thread failed: errno {rc}");
            }
        }
    }
}
