//! virtio-mmio register sequences (status machine, feature and queue setup, notifications).
//! The body lives in `../harness`, which `vm-device/tests/fuzz_corpus.rs` also replays.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    let _ = harness::mmio(data);
});
