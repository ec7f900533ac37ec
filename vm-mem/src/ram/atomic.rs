//! Host atomics on guest memory, for LR/SC, AMOs and `lock cmpxchg`.
//!
//! Guest atomics must be atomic with respect to every other vCPU thread, so they use the host's own
//! atomic instructions on the guest's bytes (`AtomicU*::from_ptr`), never a read-compare-write sequence.
//! Values are little-endian in guest memory whatever the host's byte order.

use core::sync::atomic::{AtomicU8, AtomicU16, AtomicU32, AtomicU64, Ordering};

use vm_core::mem::AccessSize;

/// Atomically replaces the `size`-byte little-endian value at `p` with (the low bytes of) `new` if it
/// equals (the low bytes of) `current`. Returns `Ok(old)` on success, `Err(actual)` on a mismatch, both
/// zero-extended. Sequentially consistent, which satisfies every guest ordering annotation.
///
/// # Safety
///
/// `p` must be valid for reads and writes of `size` bytes for the duration of the call and aligned to
/// `size`. Other threads may access the same bytes concurrently only through raw pointers or atomics
/// (never through Rust references), which is how all guest memory in this crate is accessed.
pub(super) unsafe fn compare_exchange(
    p: *mut u8,
    size: AccessSize,
    current: u64,
    new: u64,
) -> Result<u64, u64> {
    const SC: Ordering = Ordering::SeqCst;
    // The truncating casts select the low `size` bytes, which is what a `size`-byte exchange compares.
    match size {
        AccessSize::U8 => {
            // SAFETY: the caller guarantees `p` is valid for one byte (alignment 1 is trivial).
            let a = unsafe { AtomicU8::from_ptr(p) };
            a.compare_exchange(current as u8, new as u8, SC, SC)
                .map(u64::from)
                .map_err(u64::from)
        }
        AccessSize::U16 => {
            // SAFETY: the caller guarantees `p` is valid for 2 bytes and 2-byte aligned.
            let a = unsafe { AtomicU16::from_ptr(p.cast()) };
            a.compare_exchange((current as u16).to_le(), (new as u16).to_le(), SC, SC)
                .map(|v| u64::from(u16::from_le(v)))
                .map_err(|v| u64::from(u16::from_le(v)))
        }
        AccessSize::U32 => {
            // SAFETY: the caller guarantees `p` is valid for 4 bytes and 4-byte aligned.
            let a = unsafe { AtomicU32::from_ptr(p.cast()) };
            a.compare_exchange((current as u32).to_le(), (new as u32).to_le(), SC, SC)
                .map(|v| u64::from(u32::from_le(v)))
                .map_err(|v| u64::from(u32::from_le(v)))
        }
        AccessSize::U64 => {
            // SAFETY: the caller guarantees `p` is valid for 8 bytes and 8-byte aligned.
            let a = unsafe { AtomicU64::from_ptr(p.cast()) };
            a.compare_exchange(current.to_le(), new.to_le(), SC, SC)
                .map(u64::from_le)
                .map_err(u64::from_le)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_size_compares_only_its_bytes() {
        let mut word = 0x1122_3344_5566_7788_u64.to_le();
        let p = (&raw mut word).cast::<u8>();
        let cas = |size, current, new| {
            // SAFETY: `p` points at a live, 8-byte aligned local used only through this pointer here.
            unsafe { compare_exchange(p, size, current, new) }
        };
        assert_eq!(cas(AccessSize::U8, 0xff88, 0x99), Ok(0x88));
        assert_eq!(cas(AccessSize::U16, 0x7788, 0), Err(0x7799));
        assert_eq!(
            cas(AccessSize::U32, 0x5566_7799, 0xdead_beef),
            Ok(0x5566_7799)
        );
        assert_eq!(cas(AccessSize::U64, 1, 2), Err(0x1122_3344_dead_beef));
        assert_eq!(u64::from_le(word), 0x1122_3344_dead_beef);
    }
}
