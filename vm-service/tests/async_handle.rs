//! Async control: two VMs driven from one tokio runtime; one is paused, resumed and stopped while the
//! other runs on to its end.

#![cfg(all(feature = "performance", feature = "devices"))]

use std::path::Path;
use std::time::Duration;

use vm_core::asynch::VmEvent;
use vm_core::config::{Firmware, Machine};
use vm_service::VmConfig;
use vm_service::handle::{VmHandle, VmState};
use vm_service::machine::riscv64_virt::StopReason;
use vm_service::vm::VmBuilder;

fn builder(program: &str) -> VmBuilder {
    let mut cfg = VmConfig::new(Machine::Riscv64Virt);
    cfg.boot.firmware = Firmware::None;
    cfg.memory_mib = 64;
    cfg.boot.kernel = Some(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../guests/prebuilt/riscv64/{program}.elf"))
            .display()
            .to_string(),
    );
    VmBuilder::new(cfg)
}

/// Collect console output from `rx` until the channel is closed or `until` is seen (a lagging
/// receiver ends the loop too: the assertions then show what was lost).
async fn console_until(rx: &mut tokio::sync::broadcast::Receiver<VmEvent>, until: &str) -> String {
    let mut text = String::new();
    while let Ok(ev) = rx.recv().await {
        if let VmEvent::Console(bytes) = ev {
            text.push_str(&String::from_utf8_lossy(&bytes));
            if text.contains(until) {
                break;
            }
        }
    }
    text
}

#[tokio::test(flavor = "current_thread")]
async fn two_vms_on_one_runtime_one_stopped_while_the_other_runs_on() {
    // A: the long CPU-bound benchmark (seconds to minutes); B: the integer ISA checks.
    let mut a = VmHandle::start(builder("bench")).unwrap();
    let mut a_events = a.events();
    let mut b = VmHandle::start(builder("isa_int")).unwrap();
    let mut b_events = b.events();

    a.pause().await;
    assert_eq!(a.state(), VmState::Paused);
    a.resume().await;
    assert_eq!(a.state(), VmState::Running);

    a.stop();
    let a_out = tokio::time::timeout(Duration::from_secs(30), a.wait())
        .await
        .expect("a stop takes effect at the next block boundary")
        .unwrap();
    assert_eq!(a_out.reason, StopReason::Stopped);
    assert_eq!(a.state(), VmState::Exited);
    let mut a_seen = Vec::new();
    while let Ok(ev) = a_events.try_recv() {
        if !matches!(ev, VmEvent::Console(_)) {
            a_seen.push(ev);
        }
    }
    assert_eq!(
        a_seen,
        [VmEvent::Started, VmEvent::Paused, VmEvent::Resumed]
    );

    // B was not disturbed: it runs to its end and passes.
    let text = console_until(&mut b_events, "checks)").await;
    assert!(
        text.starts_with("add max+1: 0x8000000000000000\n"),
        "{text}"
    );
    assert!(text.ends_with("PASS (155 checks)"), "{text}");
    let b_out = b.wait().await.unwrap();
    assert_eq!(b_out.reason.exit_code(), 0);
    assert!(matches!(b_out.reason, StopReason::Finisher(_)));
    assert!(b.wait().await.is_err(), "a second wait is an error");
}
