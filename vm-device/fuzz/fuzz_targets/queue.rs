//! Split-virtqueue walker: rings, descriptor tables and indirect tables straight from the fuzzer.
//! The body lives in `../harness`, which `vm-device/tests/fuzz_corpus.rs` also replays.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    let _ = harness::queue(data);
});
