//! The memory functions the compiler calls (`memcpy`, `memmove`, `memset`, `memcmp`, `bcmp`), which a
//! freestanding build on a Linux target must supply itself (its `compiler_builtins` leaves them to the
//! C library), and the unwinding personality symbol that the prebuilt `core` refers to.
//!
//! Copies and fills use `rep movsb`/`rep stosb`, which every x86-64 CPU since Ivy Bridge runs at full
//! speed (ERMSB); the comparisons are plain byte loops.

/// `memcpy`: copy `n` bytes from `src` to `dest` (the ranges do not overlap).
///
/// # Safety
///
/// As C's: both ranges valid for `n` bytes and disjoint.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges; `rep movsb` copies forwards (DF is clear: the runtime
    // clears it on every entry to ring 0 and the ABI keeps it clear).
    unsafe {
        core::arch::asm!("rep movsb", inout("rdi") dest => _, inout("rsi") src => _,
            inout("rcx") n => _, options(nostack, preserves_flags));
    }
    dest
}

/// `memmove`: copy `n` bytes from `src` to `dest`; the ranges may overlap.
///
/// # Safety
///
/// As C's: both ranges valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // SAFETY: `dest` is not inside `src .. src + n`, so a forward copy reads every byte before it
        // is overwritten.
        return unsafe { memcpy(dest, src, n) };
    }
    // SAFETY: `dest` lies inside the source range, so copy backwards (DF set for the copy only); the
    // caller guarantees both ranges.
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld",
            inout("rdi") dest.wrapping_add(n).wrapping_sub(1) => _,
            inout("rsi") src.wrapping_add(n).wrapping_sub(1) => _,
            inout("rcx") n => _, options(nostack));
    }
    dest
}

/// `memset`: fill `n` bytes at `dest` with the low byte of `c`.
///
/// # Safety
///
/// As C's: the range valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees the range; DF is clear.
    unsafe {
        core::arch::asm!("rep stosb", inout("rdi") dest => _, inout("rcx") n => _, in("al") c as u8,
            options(nostack, preserves_flags));
    }
    dest
}

/// `memcmp`: compare `n` bytes; the sign of the first difference (as unsigned bytes), or 0.
///
/// # Safety
///
/// As C's: both ranges valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n`, inside the first range.
        let x = unsafe { a.wrapping_add(i).read() };
        // SAFETY: `i < n`, inside the second range.
        let y = unsafe { b.wrapping_add(i).read() };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// `bcmp`: 0 if the `n` bytes are equal, non-zero otherwise.
///
/// # Safety
///
/// As C's: both ranges valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract.
    unsafe { memcmp(a, b, n) }
}

/// The unwinding personality that the prebuilt `core` of a Linux target refers to from its unwind
/// tables. Nothing unwinds here (panics abort), so it is never called.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
