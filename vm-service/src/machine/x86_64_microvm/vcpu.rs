//! One vCPU thread: run the vCPU, hand its exits to the buses, stop when the machine stops.

use std::sync::Arc;

use vm_accel::{AccelVcpu, SystemEventKind, VcpuExit};

use super::io::{Io, RunControl, X86StopReason};

/// What to do after an exit, decided while the exit still borrows the vCPU.
enum Next {
    Continue,
    CompletePio(Vec<u8>),
    CompleteMmio(Vec<u8>),
    Stop(X86StopReason),
    /// This vCPU halted for good (no interrupt controller can wake it).
    Park,
}

/// Run `vcpu` until the machine stops (or it halts for good); returns it so that the machine can run
/// it again.
pub fn run_vcpu(
    mut vcpu: Box<dyn AccelVcpu>,
    io: &Io,
    ctl: &Arc<RunControl>,
) -> Box<dyn AccelVcpu> {
    let id = vcpu.id();
    loop {
        if ctl.stopping() {
            return vcpu;
        }
        let next = match vcpu.run() {
            Err(e) => Next::Stop(X86StopReason::AccelFailure {
                vcpu: id,
                detail: e.to_string(),
            }),
            Ok(exit) => match exit {
                VcpuExit::PioOut { port, size, data } => {
                    io.pio_out(port, size, data);
                    Next::Continue
                }
                VcpuExit::PioIn { port, size, count } => {
                    let mut buf = vec![0u8; size * count as usize];
                    io.pio_in(port, size, &mut buf);
                    Next::CompletePio(buf)
                }
                VcpuExit::MmioRead { addr, size } => {
                    let mut buf = vec![0u8; size];
                    io.mmio_read(addr, &mut buf);
                    Next::CompleteMmio(buf)
                }
                VcpuExit::MmioWrite { addr, data } => {
                    io.mmio_write(addr, data);
                    Next::Continue
                }
                VcpuExit::Interrupted => Next::Continue,
                VcpuExit::Hlt => Next::Park,
                VcpuExit::Shutdown => Next::Stop(X86StopReason::TripleFault { vcpu: id, rip: 0 }),
                VcpuExit::SystemEvent { kind } => Next::Stop(match kind {
                    SystemEventKind::Reset => X86StopReason::Reset,
                    SystemEventKind::Shutdown => X86StopReason::PowerOff,
                    SystemEventKind::Crash => X86StopReason::Crash { vcpu: id },
                    other => X86StopReason::AccelFailure {
                        vcpu: id,
                        detail: format!("unexpected system event {other:?}"),
                    },
                }),
                VcpuExit::InternalError { suberror } => Next::Stop(X86StopReason::AccelFailure {
                    vcpu: id,
                    detail: format!(
                        "the accelerator failed to run the guest (internal error {suberror})"
                    ),
                }),
                VcpuExit::FailEntry { reason, cpu } => Next::Stop(X86StopReason::AccelFailure {
                    vcpu: id,
                    detail: format!(
                        "the hardware refused to enter the guest (reason {reason:#x}, host CPU {cpu})"
                    ),
                }),
                VcpuExit::Other { code } => Next::Stop(X86StopReason::AccelFailure {
                    vcpu: id,
                    detail: format!("unhandled exit {code}"),
                }),
            },
        };
        let done = match next {
            Next::Continue => Ok(()),
            Next::CompletePio(buf) => vcpu.complete_pio_in(&buf),
            Next::CompleteMmio(buf) => vcpu.complete_mmio_read(&buf),
            Next::Stop(reason) => {
                ctl.stop(with_rip(reason, vcpu.as_ref()));
                return vcpu;
            }
            Next::Park => {
                log::info!("x86_64-microvm: vCPU {id} halted with nothing to wake it");
                return vcpu;
            }
        };
        if let Err(e) = done {
            ctl.stop(X86StopReason::AccelFailure {
                vcpu: id,
                detail: e.to_string(),
            });
            return vcpu;
        }
    }
}

/// Add the vCPU's instruction pointer to a failure.
fn with_rip(reason: X86StopReason, vcpu: &dyn AccelVcpu) -> X86StopReason {
    let rip = vcpu.get_regs().map(|r| r.rip).unwrap_or(0);
    match reason {
        X86StopReason::TripleFault { vcpu, .. } => X86StopReason::TripleFault { vcpu, rip },
        X86StopReason::AccelFailure { vcpu, detail } => X86StopReason::AccelFailure {
            vcpu,
            detail: format!("{detail} at rip {rip:#x}"),
        },
        other => other,
    }
}
