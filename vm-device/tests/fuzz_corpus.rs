//! Replays the fuzz targets' committed seed corpus (`vm-device/fuzz/corpus/<target>/`) with stable
//! Rust, plus deterministic mutations of every seed, so the guest-facing parsers are exercised on every
//! `cargo test` even where cargo-fuzz and nightly are not installed. The fuzz targets share these
//! bodies (`vm-device/fuzz/harness`).
#![cfg(feature = "std")]

use std::path::Path;

#[path = "../fuzz/harness/mod.rs"]
mod harness;

/// Mutated variants per seed.
const MUTATIONS: u64 = 48;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// xorshift64*, so the mutations are the same on every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn replay<T>(target: &str, run: fn(&[u8]) -> T) {
    for (i, seed) in seeds(target).iter().enumerate() {
        run(seed);
        let mut state = 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1);
        for _ in 0..MUTATIONS {
            let mut m = seed.clone();
            let edits = 1 + next(&mut state) % 8;
            for _ in 0..edits {
                if m.is_empty() {
                    break;
                }
                // Mostly the first KiB: rings, descriptors and headers live there.
                let span = m.len().min(if next(&mut state).is_multiple_of(4) {
                    usize::MAX
                } else {
                    1024
                });
                let at = (next(&mut state) % span as u64) as usize;
                m[at] = next(&mut state) as u8;
            }
            if next(&mut state).is_multiple_of(5) {
                let cut = (next(&mut state) % (m.len() as u64 + 1)) as usize;
                m.truncate(cut);
            }
            run(&m);
        }
    }
}

/// What each seed must do, so that the seeds keep matching the harness layouts.
#[test]
fn seeds_do_what_their_names_say() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let seed = |t: &str, n: &str| std::fs::read(dir.join(t).join(n)).unwrap();
    for (name, chains) in [
        ("two_buffers", 1),
        ("indirect", 1),
        ("loop", 0),
        ("event_idx", 2),
    ] {
        assert_eq!(harness::queue(&seed("queue", name)), chains, "queue/{name}");
    }
    for (name, status) in [
        ("read", 0),
        ("write", 0),
        ("flush", 0),
        ("get_id", 0),
        ("discard", 0),
        ("write_zeroes", 0),
        ("indirect_read", 0),
        ("beyond_end", 1),
    ] {
        assert_eq!(harness::blk(&seed("blk", name)), Some(status), "blk/{name}");
    }
    assert_eq!(harness::net(&seed("net", "tx_then_rx")), (1, 1));
    assert_eq!(harness::net(&seed("net", "split_header")), (1, 0));
    assert_eq!(harness::net(&seed("net", "offload_header")), (0, 0));
    assert_eq!(harness::mmio(&seed("mmio", "linux_init")), 0xf);
    assert_eq!(harness::mmio(&seed("mmio", "reset_midway")), 0xf);
    assert_eq!(harness::mmio(&seed("mmio", "bad_queue_size")) & 0x40, 0x40);
}

#[test]
fn queue_corpus() {
    replay("queue", harness::queue);
}

#[test]
fn blk_corpus() {
    replay("blk", harness::blk);
}

#[test]
fn net_corpus() {
    replay("net", harness::net);
}

#[test]
fn mmio_corpus() {
    replay("mmio", harness::mmio);
}

#[test]
fn empty_and_tiny_inputs() {
    for data in [&[][..], &[0][..], &[0xff; 3][..], &[0xff; 64][..]] {
        assert_eq!(harness::queue(data), 0);
        let _ = harness::blk(data);
        assert_eq!(harness::net(data), (0, 0));
        let _ = harness::mmio(data);
    }
}
