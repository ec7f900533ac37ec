//! A minimal spin lock for state that must be shared without the standard library.
//!
//! Written by hand because the crate must build `no_std` and the lock guards only a few short critical
//! sections (appending to or copying a byte buffer); pulling in a lock crate for that is not worth a
//! dependency. It is deliberately small: a closure-based API (no guard type can escape), acquire/release
//! ordering, test-and-test-and-set spinning, and release on unwind through a drop guard. It is not
//! reentrant: calling [`SpinLock::with`] on the same lock from inside the closure deadlocks, so it is
//! kept private to the crate.

use core::cell::UnsafeCell;
use core::hint::spin_loop;
use core::sync::atomic::{AtomicBool, Ordering};

/// Mutual exclusion by spinning; see the module docs for its limits.
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with`, which hands out `&mut T` only while `locked` is held
// (acquired with `Acquire`, released with `Release`), so at most one thread touches it at a time; moving
// `T` between threads that way needs `T: Send`, nothing more.
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Releases the lock when dropped, also when the closure unwinds.
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<T: Default> Default for SpinLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> SpinLock<T> {
    /// A new, unlocked lock around `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Run `f` with exclusive access to the value.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.locked.load(Ordering::Relaxed) {
                spin_loop();
            }
        }
        let _release = Release(&self.locked);
        // SAFETY: this thread set `locked` from false to true above and no other thread can do so until
        // `_release` drops after `f` returns, so this is the only reference to the value; the closure API
        // keeps the reference from outliving the critical section.
        let value = unsafe { &mut *self.value.get() };
        f(value)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::SpinLock;
    use alloc::sync::Arc;
    use alloc::vec::Vec;

    #[test]
    fn counts_under_contention() {
        let lock = Arc::new(SpinLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        lock.with(|v| *v += 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(lock.with(|v| *v), 40_000);
    }

    #[test]
    fn released_after_panic() {
        let lock = Arc::new(SpinLock::new(1u32));
        let l2 = Arc::clone(&lock);
        let r = std::thread::spawn(move || l2.with(|_| panic!("inside the lock"))).join();
        assert!(r.is_err());
        assert_eq!(lock.with(|v| *v), 1);
    }
}
