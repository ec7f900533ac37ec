//! Async control of a running VM (feature `performance`): a [`VmHandle`] an async program holds to
//! start, pause, resume and stop a VM, wait for its end, and follow its console and events.
//!
//! The VM runs on a host thread of its own (the vCPU hot path stays synchronous); the handle talks to it
//! through atomics and tokio channels, so any number of VMs can be driven from one runtime, a
//! current-thread one included. Console output and state changes are published as
//! [`VmEvent`]s on the VM's [`EventBus`].
//!
//! ```no_run
//! use vm_core::config::{Firmware, Machine};
//! use vm_service::{VmConfig, handle::VmHandle, vm::VmBuilder};
//!
//! # async fn demo() -> Result<(), vm_service::Error> {
//! let mut cfg = VmConfig::new(Machine::Riscv64Virt);
//! cfg.boot.firmware = Firmware::None;
//! cfg.boot.kernel = Some("guests/prebuilt/riscv64/bench.elf".into());
//! let mut vm = VmHandle::start(VmBuilder::new(cfg))?;
//! vm.pause().await;
//! vm.resume().await;
//! vm.stop();
//! let outcome = vm.wait().await?;
//! # Ok(()) }
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use tokio::sync::{broadcast, watch};
use vm_core::asynch::{EventBus, VmEvent};
use vm_device::uart::CharBackend;

use crate::error::{Error, Result};
use crate::machine::riscv64_virt::{RunOutcome, StopReason};
use crate::vm::VmBuilder;

/// Events kept for a subscriber that falls behind (the UART hands over console output a byte at a
/// time, so this is also how many console bytes a slow subscriber can miss reading before it lags).
pub const EVENT_CAPACITY: usize = 1 << 16;

/// Where a VM run by a [`VmHandle`] is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VmState {
    /// Running guest code (or waiting in the guest for an interrupt).
    Running,
    /// Paused by [`VmHandle::pause`].
    Paused,
    /// Ended; [`VmHandle::wait`] returns how.
    Exited,
}

/// A console back end that publishes the guest's output on the event bus.
struct EventConsole(EventBus);

impl CharBackend for EventConsole {
    fn write(&mut self, bytes: &[u8]) -> vm_device::Result<()> {
        self.0.publish(VmEvent::Console(Arc::from(bytes)));
        Ok(())
    }
}

/// Requests from the handle to the VM's thread.
#[derive(Default)]
struct Requests {
    pause: AtomicBool,
    stop: AtomicBool,
    /// Wakes the VM's thread while it is paused.
    wake: (Mutex<()>, Condvar),
}

impl Requests {
    fn wake(&self) {
        let _guard = self.wake.0.lock().unwrap_or_else(PoisonError::into_inner);
        self.wake.1.notify_all();
    }

    /// Block the VM's thread while paused and not stopped.
    fn wait_while_paused(&self) {
        let guard = self.wake.0.lock().unwrap_or_else(PoisonError::into_inner);
        let _guard = self
            .wake
            .1
            .wait_while(guard, |_| {
                self.pause.load(Ordering::Acquire) && !self.stop.load(Ordering::Acquire)
            })
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// Async control of one VM; see the module docs.
pub struct VmHandle {
    events: EventBus,
    /// Subscribed before the VM started: the first [`VmHandle::events`] call gets it, so it misses
    /// nothing.
    first_events: Option<broadcast::Receiver<VmEvent>>,
    requests: Arc<Requests>,
    vm_stop: Arc<AtomicBool>,
    state: watch::Receiver<VmState>,
    result: Option<tokio::sync::oneshot::Receiver<Result<RunOutcome>>>,
}

impl core::fmt::Debug for VmHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VmHandle")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl VmHandle {
    /// Build the VM (its console goes to the event bus as [`VmEvent::Console`]) and start it on a
    /// thread of its own. Fails as [`VmBuilder::build`] does.
    pub fn start(builder: VmBuilder) -> Result<Self> {
        let events = EventBus::new(EVENT_CAPACITY);
        let first_events = Some(events.subscribe());
        let mut vm = builder
            .console(Box::new(EventConsole(events.clone())))
            .build()?;
        let requests = Arc::new(Requests::default());
        let vm_stop = vm.stop_handle();
        let (state_tx, state) = watch::channel(VmState::Running);
        let (result_tx, result) = tokio::sync::oneshot::channel();
        let (ev, req) = (events.clone(), requests.clone());
        std::thread::Builder::new()
            .name("vm".into())
            .spawn(move || {
                ev.publish(VmEvent::Started);
                let outcome = run_loop(&mut vm, &ev, &req, &state_tx);
                match &outcome {
                    Ok(o) => match o.reason {
                        StopReason::Finisher(_) | StopReason::Htif(_) => {
                            ev.publish(VmEvent::Shutdown(o.reason.exit_code() as u32));
                        }
                        StopReason::Stopped | StopReason::InsnLimit => {}
                    },
                    Err(e) => {
                        ev.publish(VmEvent::Failed(e.to_string()));
                    }
                }
                state_tx.send_replace(VmState::Exited);
                let _ = result_tx.send(outcome);
            })
            .map_err(|e| Error::Unsupported(format!("Cannot start the VM thread: {e}")))?;
        Ok(Self {
            events,
            first_events,
            requests,
            vm_stop,
            state,
            result: Some(result),
        })
    }

    /// Subscribe to the VM's events (console output, pause/resume, shutdown). The first call's
    /// receiver sees every event since the start; later ones see events from the call on.
    pub fn events(&mut self) -> broadcast::Receiver<VmEvent> {
        self.first_events
            .take()
            .unwrap_or_else(|| self.events.subscribe())
    }

    /// Where the VM is now.
    pub fn state(&self) -> VmState {
        *self.state.borrow()
    }

    /// Pause at the next block boundary; returns once the VM is paused (or has exited).
    pub async fn pause(&mut self) {
        self.requests.pause.store(true, Ordering::Release);
        self.vm_stop.store(true, Ordering::Release);
        let _ = self
            .state
            .wait_for(|s| matches!(s, VmState::Paused | VmState::Exited))
            .await;
    }

    /// Resume a paused VM; returns once it runs again (or has exited).
    pub async fn resume(&mut self) {
        self.requests.pause.store(false, Ordering::Release);
        self.requests.wake();
        let _ = self
            .state
            .wait_for(|s| matches!(s, VmState::Running | VmState::Exited))
            .await;
    }

    /// Ask the VM to stop at the next block boundary (also when paused). [`wait`](Self::wait) then
    /// returns [`StopReason::Stopped`].
    pub fn stop(&self) {
        self.requests.stop.store(true, Ordering::Release);
        self.vm_stop.store(true, Ordering::Release);
        self.requests.wake();
    }

    /// Wait for the VM to end; the outcome covers the whole run. A second call is an error.
    pub async fn wait(&mut self) -> Result<RunOutcome> {
        let rx = self
            .result
            .take()
            .ok_or_else(|| Error::Usage("VmHandle::wait was already called".into()))?;
        rx.await
            .map_err(|_| Error::Unsupported("The VM thread ended without a result".into()))?
    }
}

/// The VM's thread: run, and between runs serve pause and stop requests.
fn run_loop(
    vm: &mut crate::vm::Vm,
    events: &EventBus,
    requests: &Requests,
    state: &watch::Sender<VmState>,
) -> Result<RunOutcome> {
    let mut total: Option<RunOutcome> = None;
    loop {
        let out = vm.run()?;
        let sum = match total {
            Some(t) => RunOutcome {
                reason: out.reason,
                insns: t.insns + out.insns,
                elapsed: t.elapsed + out.elapsed,
            },
            None => out,
        };
        total = Some(sum);
        if out.reason != StopReason::Stopped || requests.stop.load(Ordering::Acquire) {
            return Ok(sum);
        }
        if requests.pause.load(Ordering::Acquire) {
            state.send_replace(VmState::Paused);
            events.publish(VmEvent::Paused);
            requests.wait_while_paused();
            if requests.stop.load(Ordering::Acquire) {
                return Ok(sum);
            }
            state.send_replace(VmState::Running);
            events.publish(VmEvent::Resumed);
        }
    }
}
