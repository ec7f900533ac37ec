//! virtio-net header parser, then the device's transmit and receive paths.
//! The body lives in `../harness`, which `vm-device/tests/fuzz_corpus.rs` also replays.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    let _ = harness::net(data);
});
