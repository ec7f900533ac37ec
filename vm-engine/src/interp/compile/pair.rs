//! Superinstructions: adjacent ops that often follow each other in real guest code (RISC-V address
//! and counter updates, the shifts of 32-bit rotations, hash rounds) are merged into one op that runs
//! both, saving a dispatch. Each half behaves exactly as the op alone, in order (the second sees the
//! first's result); only ops that cannot fault are paired.

use super::super::ops::COp;

/// The pair op for `a` then `b`, if there is one.
fn pair_of(a: COp, b: COp) -> Option<COp> {
    let imm16 = |v: u64| i16::try_from(v as i64).ok();
    Some(match (a, b) {
        (
            COp::AddI {
                d: d1,
                a: a1,
                imm: x,
            },
            COp::AddI {
                d: d2,
                a: a2,
                imm: y,
            },
        ) => COp::AddIAddI {
            d1,
            a1,
            i1: imm16(x)?,
            d2,
            a2,
            i2: imm16(y)?,
        },
        (
            COp::Add {
                d: d1,
                a: a1,
                b: b1,
            },
            COp::Add {
                d: d2,
                a: a2,
                b: b2,
            },
        ) => COp::AddAdd {
            d1,
            a1,
            b1,
            d2,
            a2,
            b2,
        },
        (
            COp::Xor {
                d: d1,
                a: a1,
                b: b1,
            },
            COp::Xor {
                d: d2,
                a: a2,
                b: b2,
            },
        ) => COp::XorXor {
            d1,
            a1,
            b1,
            d2,
            a2,
            b2,
        },
        (
            COp::ShrUWI {
                d: d1,
                a: a1,
                imm: x,
            },
            COp::ShlI {
                d: d2,
                a: a2,
                imm: y,
            },
        ) => COp::ShrUWIShlI {
            d1,
            a1,
            s1: x as u8,
            d2,
            a2,
            s2: y as u8,
        },
        (
            COp::ShlI {
                d: d1,
                a: a1,
                imm: x,
            },
            COp::ShrUWI {
                d: d2,
                a: a2,
                imm: y,
            },
        ) => COp::ShlIShrUWI {
            d1,
            a1,
            s1: x as u8,
            d2,
            a2,
            s2: y as u8,
        },
        (
            COp::ShlI {
                d: d1,
                a: a1,
                imm: x,
            },
            COp::Or {
                d: d2,
                a: a2,
                b: b2,
            },
        ) => COp::ShlIOr {
            d1,
            a1,
            s1: x as u8,
            d2,
            a2,
            b2,
        },
        _ => return None,
    })
}

/// Merge pairs greedily from the start.
pub(super) fn pair(ops: Vec<COp>) -> Vec<COp> {
    let mut out = Vec::with_capacity(ops.len());
    let mut it = ops.into_iter().peekable();
    while let Some(a) = it.next() {
        match it.peek().and_then(|&b| pair_of(a, b)) {
            Some(p) => {
                out.push(p);
                it.next();
            }
            None => out.push(a),
        }
    }
    out
}
