//! One host thread per hart (the default with more than one hart).
//!
//! Each hart's thread runs slices on the hart's own engine against the shared memory and bus, routes
//! interrupt levels before each slice, and parks in `wfi` until its next timer deadline (at most
//! 10 ms) or until a guest's device access wakes it (an IPI through the CLINT, a PLIC change). This
//! thread watches for the end of the run (stop request, power event, HTIF, instruction budget) every
//! millisecond, then stops the engines at their next block boundary and joins the harts.
//!
//! Memory ordering between harts is the host's: RAM accesses are plain or atomic host accesses (the
//! engines use host atomics for LR/SC and AMOs), so the guest sees at least RVWMO's guarantees on x86-64
//! (TSO) and on AArch64 the fences the engines emit.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use vm_core::exec::{ExecEnv, ExecutionEngine, Exit, GuestCpu};
use vm_device::bus::MmioBus;
use vm_mem::PhysMemory;

use super::{Event, Hart, IrqRouter, MAX_SLEEP, Riscv64Virt, SLICE_INSNS};
use crate::error::Result;

/// How often the controlling thread checks for the end of the run.
const POLL: Duration = Duration::from_millis(1);

impl Riscv64Virt {
    /// Run every hart on its own thread until an event ends the run.
    pub(super) fn run_threads(&mut self, budget: u64) -> Result<Event> {
        let halt = AtomicBool::new(false);
        let executed = AtomicU64::new(0);
        let stops: Vec<_> = self.harts.iter().map(|h| h.engine.stop_handle()).collect();
        let mut harts = std::mem::take(&mut self.harts);
        let this: &Self = self;
        let power_pending = || this.power.peek().is_some();
        let shared = Shared {
            mem: &this.mem,
            bus: &this.bus,
            router: &this.router,
            halt: &halt,
            executed: &executed,
            power_pending: &power_pending,
        };
        let result = std::thread::scope(|s| {
            let handles: Vec<_> = harts
                .iter_mut()
                .enumerate()
                .map(|(n, h)| {
                    let shared = &shared;
                    s.spawn(move || hart_loop(n, h, shared))
                })
                .collect();
            *this
                .router
                .threads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                handles.iter().map(|h| h.thread().clone()).collect();
            let event = loop {
                std::thread::sleep(POLL);
                if handles.iter().any(|h| h.is_finished()) {
                    // A hart stopped on a host error: stop the others and report it below.
                    break None;
                }
                if let Some(e) = this.poll_events(executed.load(Ordering::Relaxed), budget) {
                    break Some(e);
                }
            };
            halt.store(true, Ordering::Release);
            for stop in &stops {
                stop.store(true, Ordering::Release);
            }
            let threads = std::mem::take(
                &mut *this
                    .router
                    .threads
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            for t in &threads {
                t.unpark();
            }
            let mut first_err = None;
            for h in handles {
                match h.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        first_err.get_or_insert(e);
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            match (first_err, event) {
                (Some(e), _) => Err(e),
                (None, Some(e)) => Ok(e),
                (None, None) => Ok(Event::Stop(super::StopReason::Stopped)),
            }
        });
        // Stop flags left set by the halt would end the next run at once.
        for stop in &stops {
            stop.store(false, Ordering::Release);
        }
        self.harts = harts;
        result
    }
}

/// What the hart threads share.
struct Shared<'a> {
    mem: &'a PhysMemory,
    bus: &'a MmioBus,
    router: &'a IrqRouter,
    halt: &'a AtomicBool,
    executed: &'a AtomicU64,
    power_pending: &'a (dyn Fn() -> bool + Sync),
}

/// One hart's thread.
fn hart_loop(n: usize, h: &mut Hart, sh: &Shared<'_>) -> Result<()> {
    let env = ExecEnv {
        mem: sh.mem,
        bus: sh.bus,
    };
    while !sh.halt.load(Ordering::Acquire) {
        sh.router.route();
        if (sh.power_pending)() || (h.waiting && !h.cpu.wake_pending()) {
            std::thread::park_timeout(h.sleep_for(n, sh.router));
            continue;
        }
        let before = h.engine.stats().insns;
        let exit = h.run_slice(&env, SLICE_INSNS)?;
        sh.executed
            .fetch_add(h.engine.stats().insns - before, Ordering::Relaxed);
        if exit == Exit::Stopped {
            // The finisher or the controller stopped the engine: wait for the halt.
            std::thread::park_timeout(MAX_SLEEP);
        }
    }
    Ok(())
}
