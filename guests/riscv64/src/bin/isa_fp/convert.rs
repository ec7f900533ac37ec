//! Conversions between integers and floats, and between single and double.

use super::*;

pub(super) fn conversions(c: &mut Checker) {
    let m = |x: i64| x as u64;
    five(
        c,
        "fcvt.w.d 2.5",
        "",
        modes!(x1, "fcvt.w.d", 0x4004_0000_0000_0000),
        [2, 2, 2, 3, 3],
        [NX; 5],
    );
    five(
        c,
        "fcvt.w.d -2.5",
        "",
        modes!(x1, "fcvt.w.d", 0xc004_0000_0000_0000),
        [m(-2), m(-2), m(-3), m(-2), m(-3)],
        [NX; 5],
    );
    five(
        c,
        "fcvt.w.d -2.5",
        " dyn",
        dyn_modes!(x1, "fcvt.w.d", 0xc004_0000_0000_0000),
        [m(-2), m(-2), m(-3), m(-2), m(-3)],
        [NX; 5],
    );
    five(
        c,
        "fcvt.w.s 3.5",
        "",
        modes!(x1, "fcvt.w.s", bx(0x4060_0000)),
        [4, 3, 3, 4, 4],
        [NX; 5],
    );
    five(
        c,
        "fcvt.l.d -0.5",
        "",
        modes!(x1, "fcvt.l.d", 0xbfe0_0000_0000_0000),
        [0, 0, m(-1), 0, m(-1)],
        [NX; 5],
    );
    // Unsigned: -0.5 rounding to 0 is only inexact; rounding to -1 is invalid (0, NV only).
    five(
        c,
        "fcvt.wu.d -0.5",
        "",
        modes!(x1, "fcvt.wu.d", 0xbfe0_0000_0000_0000),
        [0, 0, 0, 0, 0],
        [NX, NX, NV, NX, NV],
    );
    one(
        c,
        "fcvt.w.d 1e10",
        x1!("fcvt.w.d", ", rtz", 0x4202_a05f_2000_0000),
        0x7fff_ffff,
        NV,
    );
    one(
        c,
        "fcvt.w.d -1e10",
        x1!("fcvt.w.d", ", rtz", 0xc202_a05f_2000_0000),
        m(-0x8000_0000),
        NV,
    );
    one(
        c,
        "fcvt.w.d +inf",
        x1!("fcvt.w.d", ", rtz", INF_D),
        0x7fff_ffff,
        NV,
    );
    one(
        c,
        "fcvt.w.d -inf",
        x1!("fcvt.w.d", ", rtz", NINF_D),
        m(-0x8000_0000),
        NV,
    );
    one(
        c,
        "fcvt.w.d qnan",
        x1!("fcvt.w.d", ", rtz", QNAN_D),
        0x7fff_ffff,
        NV,
    );
    one(
        c,
        "fcvt.w.d -qnan",
        x1!("fcvt.w.d", ", rtz", 0xfff8_0000_0000_0000),
        0x7fff_ffff,
        NV,
    );
    one(
        c,
        "fcvt.w.s snan",
        x1!("fcvt.w.s", ", rtz", SNAN_S),
        0x7fff_ffff,
        NV,
    );
    one(
        c,
        "fcvt.wu.d 3e9 sign-extends",
        x1!("fcvt.wu.d", ", rtz", 0x41e6_5a0b_c000_0000),
        0xffff_ffff_b2d0_5e00,
        0,
    );
    one(
        c,
        "fcvt.wu.d 2^32",
        x1!("fcvt.wu.d", ", rtz", 0x41f0_0000_0000_0000),
        u64::MAX,
        NV,
    );
    one(c, "fcvt.wu.d -1", x1!("fcvt.wu.d", ", rtz", NEG_ONE), 0, NV);
    one(
        c,
        "fcvt.l.d 2^63",
        x1!("fcvt.l.d", ", rtz", 0x43e0_0000_0000_0000),
        i64::MAX as u64,
        NV,
    );
    one(
        c,
        "fcvt.l.d -2^63",
        x1!("fcvt.l.d", ", rtz", 0xc3e0_0000_0000_0000),
        i64::MIN as u64,
        0,
    );
    one(
        c,
        "fcvt.l.d qnan",
        x1!("fcvt.l.d", ", rtz", QNAN_D),
        i64::MAX as u64,
        NV,
    );
    one(
        c,
        "fcvt.l.s -inf",
        x1!("fcvt.l.s", ", rtz", bx(0xff80_0000)),
        i64::MIN as u64,
        NV,
    );
    one(
        c,
        "fcvt.lu.d qnan",
        x1!("fcvt.lu.d", ", rtz", QNAN_D),
        u64::MAX,
        NV,
    );
    one(
        c,
        "fcvt.lu.d -inf",
        x1!("fcvt.lu.d", ", rtz", NINF_D),
        0,
        NV,
    );
    one(
        c,
        "fcvt.lu.d 2^64",
        x1!("fcvt.lu.d", ", rtz", 0x43f0_0000_0000_0000),
        u64::MAX,
        NV,
    );

    five(
        c,
        "fcvt.s.w 2^24+1",
        "",
        modes!(fx, "fcvt.s.w", 0x100_0001),
        [
            bx(0x4b80_0000),
            bx(0x4b80_0000),
            bx(0x4b80_0000),
            bx(0x4b80_0001),
            bx(0x4b80_0001),
        ],
        [NX; 5],
    );
    five(
        c,
        "fcvt.s.w -(2^24+1)",
        "",
        modes!(fx, "fcvt.s.w", m(-0x100_0001)),
        [
            bx(0xcb80_0000),
            bx(0xcb80_0000),
            bx(0xcb80_0001),
            bx(0xcb80_0000),
            bx(0xcb80_0001),
        ],
        [NX; 5],
    );
    five(
        c,
        "fcvt.s.wu 2^32-1",
        "",
        modes!(fx, "fcvt.s.wu", 0xffff_ffff),
        [
            bx(0x4f80_0000),
            bx(0x4f7f_ffff),
            bx(0x4f7f_ffff),
            bx(0x4f80_0000),
            bx(0x4f80_0000),
        ],
        [NX; 5],
    );
    five(
        c,
        "fcvt.d.l 2^53+1",
        "",
        modes!(fx, "fcvt.d.l", 0x20_0000_0000_0001),
        [
            0x4340_0000_0000_0000,
            0x4340_0000_0000_0000,
            0x4340_0000_0000_0000,
            0x4340_0000_0000_0001,
            0x4340_0000_0000_0001,
        ],
        [NX; 5],
    );
    five(
        c,
        "fcvt.d.lu 2^64-1",
        "",
        modes!(fx, "fcvt.d.lu", u64::MAX),
        [
            0x43f0_0000_0000_0000,
            0x43ef_ffff_ffff_ffff,
            0x43ef_ffff_ffff_ffff,
            0x43f0_0000_0000_0000,
            0x43f0_0000_0000_0000,
        ],
        [NX; 5],
    );
    one(
        c,
        "fcvt.d.w ignores upper",
        fx!("fcvt.d.w", "", 0x1234_5678_ffff_ffff),
        NEG_ONE,
        0,
    );
    one(
        c,
        "fcvt.d.wu ignores upper",
        fx!("fcvt.d.wu", "", 0x1234_5678_ffff_ffff),
        0x41ef_ffff_ffe0_0000,
        0,
    );

    five(
        c,
        "fcvt.s.d tie",
        "",
        modes!(f1, "fcvt.s.d", 0x3ff0_0000_3000_0000),
        [
            bx(0x3f80_0002),
            bx(0x3f80_0001),
            bx(0x3f80_0001),
            bx(0x3f80_0002),
            bx(0x3f80_0002),
        ],
        [NX; 5],
    );
    five(
        c,
        "fcvt.s.d 1e300",
        "",
        modes!(f1, "fcvt.s.d", 0x7e37_e43c_8800_759c),
        [
            bx(0x7f80_0000),
            bx(0x7f7f_ffff),
            bx(0x7f7f_ffff),
            bx(0x7f80_0000),
            bx(0x7f80_0000),
        ],
        [OF | NX; 5],
    );
    one(
        c,
        "fcvt.s.d qnan payload",
        f1!("fcvt.s.d", ", rne", 0x7ff8_0000_0000_0123),
        QNAN_S,
        0,
    );
    one(c, "fcvt.d.s snan", f1!("fcvt.d.s", "", SNAN_S), QNAN_D, NV);
    one(
        c,
        "fcvt.d.s -1.5",
        f1!("fcvt.d.s", "", bx(0xbfc0_0000)),
        0xbff8_0000_0000_0000,
        0,
    );
}
