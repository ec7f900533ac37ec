//! Where `rustc_apfloat`'s exception flags differ from IEEE-754 as RISC-V uses it, and the
//! corrections: overflow in the directed rounding modes, and tininess detected after rounding.

use core::cmp::Ordering;

use rustc_apfloat::{Round, Status, StatusAnd};

use super::Fmt;

/// `rustc_apfloat` (like LLVM's APFloat) does not raise overflow when a directed rounding mode turns an
/// overflowing result into the largest finite number. IEEE-754 does: overflow is raised when the result
/// rounded with an unbounded exponent exceeds the largest finite number, which for these modes means
/// the exact result is at least 2^(emax+1). `halved` recomputes the operation on halved operands
/// (exact for the normal operands an overflow needs) rounding toward zero, so the test is
/// `|halved| >= 2^emax`.
pub(super) fn overflow_fix<F: Fmt>(
    mut r: StatusAnd<F>,
    rm: Round,
    halved: impl FnOnce() -> StatusAnd<F>,
) -> StatusAnd<F> {
    let directed = matches!(
        rm,
        Round::TowardZero | Round::TowardNegative | Round::TowardPositive
    );
    if directed
        && r.value.is_largest()
        && r.status.contains(Status::INEXACT)
        && !r.status.contains(Status::OVERFLOW)
    {
        let h = halved().value.abs();
        if h.partial_cmp(&F::from_bits(F::TOP)) != Some(Ordering::Less) {
            r.status |= Status::OVERFLOW;
        }
    }
    r
}

/// How far [`tininess_fix`] scales a result away from the subnormal range.
pub(super) const TINY_SCALE: i32 = 64;

/// IEEE-754 leaves it to the implementation whether tininess is detected before or after rounding;
/// RISC-V (like ARM and x86) detects it after: a result is tiny when, rounded to the destination's
/// precision with an unbounded exponent range, it is below the smallest normal number, and underflow
/// is raised for a tiny inexact result. `rustc_apfloat` raises underflow only when the delivered
/// result is subnormal or zero. The two differ for exactly one kind of result: an inexact one that
/// rounds (with the bounded exponent range, where the subnormal spacing is coarser) up to ±the
/// smallest normal number although with an unbounded exponent it would stay below it.
///
/// For such a result `scaled` recomputes the operation with its exact result multiplied by
/// 2^[`TINY_SCALE`] (scaling operands exactly), which rounds the same significand with the
/// exponent range out of the way: the result is tiny when that is below 2^(emin + `TINY_SCALE`).
/// Products, quotients, fused multiply-adds and narrowing conversions can land there (quotients only
/// when rounding away from zero: a ratio `n / d` of integer significands below 2^p is never
/// less than 2^-p below a power of two without being one, which round-to-nearest would need). Sums and differences cannot (the
/// exact sum of two numbers of a format is a multiple of its smallest subnormal, so a sum below the
/// smallest normal is exact), nor square roots (never tiny).
pub(super) fn tininess_fix<F: Fmt>(
    mut r: StatusAnd<F>,
    scaled: impl FnOnce() -> F,
) -> StatusAnd<F> {
    let min = F::smallest_normalized();
    if r.status.contains(Status::INEXACT)
        && !r.status.contains(Status::UNDERFLOW)
        && r.value.abs().to_bits() == min.to_bits()
        && scaled().abs().partial_cmp(&min.scalbn(TINY_SCALE)) == Some(Ordering::Less)
    {
        r.status |= Status::UNDERFLOW;
    }
    r
}

/// The smaller-magnitude of two factors first (scaling it up keeps a product near the bottom of the
/// exponent range exact and finite).
pub(super) fn smaller_first<F: Fmt>(a: F, b: F) -> (F, F) {
    if a.abs().partial_cmp(&b.abs()) == Some(Ordering::Less) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Halve the larger-magnitude of two factors (keeps a product or quotient exact).
pub(super) fn half_larger<F: Fmt>(a: F, b: F) -> (F, F) {
    if a.abs().partial_cmp(&b.abs()) == Some(Ordering::Less) {
        (a, b.scalbn(-1))
    } else {
        (a.scalbn(-1), b)
    }
}
