//! Statically allocated buffers handed out once (the programs have no heap).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A `static` value that can be borrowed mutably exactly once.
pub struct StaticCell<T> {
    taken: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reachable only through `take`, which hands out at most one reference (guarded by
// the atomic flag), so no two threads of execution can reach it at once.
unsafe impl<T: Send> Sync for StaticCell<T> {}

impl<T> StaticCell<T> {
    /// A cell holding `value` (a zero `value` lands in `.bss`).
    pub const fn new(value: T) -> Self {
        Self {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, the first time; `None` afterwards.
    #[expect(
        clippy::mut_from_ref,
        reason = "the atomic flag makes the returned reference unique, like `StaticCell` crates do"
    )]
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, Ordering::AcqRel) {
            None
        } else {
            // SAFETY: the flag was false, so this is the only reference ever handed out, and the cell is
            // `'static`.
            Some(unsafe { &mut *self.value.get() })
        }
    }
}
