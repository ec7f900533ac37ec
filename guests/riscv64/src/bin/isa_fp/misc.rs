//! NaN-boxing, classification, min/max, comparisons and sign injection.

use super::*;

pub(super) fn boxing(c: &mut Checker) {
    let (moved, loaded, xw_neg, xw_unboxed): (u64, u64, u64, u64);
    let word: u32 = 0x4049_0fdb;
    let mut stored: u64 = 0xdead_beef_dead_beef;
    // SAFETY: FP moves, one load from `word` and one 4-byte store into `stored` (both live locals).
    unsafe {
        asm!(
            "fmv.w.x {f}, {one}",
            "fmv.x.d {moved}, {f}",
            "flw {f}, 0({pw})",
            "fmv.x.d {loaded}, {f}",
            "fmv.w.x {f}, {neg}",
            "fmv.x.w {xw_neg}, {f}",
            "fmv.d.x {f}, {raw}",
            "fmv.x.w {xw_unboxed}, {f}",
            "fsw {f}, 0({ps})",
            one = in(reg) 0x3f80_0000u64, pw = in(reg) &word, neg = in(reg) 0x8000_0000u64,
            raw = in(reg) 0x1234_5678_89ab_cdefu64, ps = in(reg) &mut stored,
            moved = out(reg) moved, loaded = out(reg) loaded, xw_neg = out(reg) xw_neg,
            xw_unboxed = out(reg) xw_unboxed, f = out(freg) _, options(nostack),
        )
    };
    c.check("fmv.w.x then fmv.x.d", moved, ONE_S);
    c.check("flw then fmv.x.d", loaded, bx(word));
    c.check("fmv.x.w sign-extends", xw_neg, 0xffff_ffff_8000_0000);
    c.check("fmv.x.w of unboxed", xw_unboxed, 0xffff_ffff_89ab_cdef);
    c.check(
        "fsw of unboxed stores low word",
        stored,
        0xdead_beef_89ab_cdef,
    );
    // An improperly boxed single reads as the canonical NaN in arithmetic, sign injection, classification.
    let unboxed_one = 0x0000_0000_3f80_0000;
    one(
        c,
        "fadd.s unboxed+1",
        f2!("fadd.s", ", rne", unboxed_one, ONE_S),
        QNAN_S,
        0,
    );
    one(
        c,
        "fsgnj.s unboxed,-1",
        f2!("fsgnj.s", "", unboxed_one, bx(0xbf80_0000)),
        bx(0xffc0_0000),
        0,
    );
    one(
        c,
        "fclass.s unboxed",
        x1!("fclass.s", "", unboxed_one),
        0x200,
        0,
    );
    one(
        c,
        "feq.s unboxed",
        x2!("feq.s", unboxed_one, unboxed_one),
        0,
        0,
    );
    one(
        c,
        "fcvt.d.s unboxed",
        f1!("fcvt.d.s", "", unboxed_one),
        QNAN_D,
        0,
    );
}

pub(super) fn classify(c: &mut Checker) {
    let cases: [(&str, u64, u64); 10] = [
        ("-inf", NINF_D, 0x1),
        ("-normal", NEG_ONE, 0x2),
        ("-subnormal", 0x8000_0000_0000_0001, 0x4),
        ("-0", 0x8000_0000_0000_0000, 0x8),
        ("+0", 0, 0x10),
        ("+subnormal", 1, 0x20),
        ("+normal", ONE, 0x40),
        ("+inf", INF_D, 0x80),
        ("snan", SNAN_D, 0x100),
        ("qnan", QNAN_D, 0x200),
    ];
    for (name, bits, want) in cases {
        one(
            c,
            format_args!("fclass.d {name}"),
            x1!("fclass.d", "", bits),
            want,
            0,
        );
    }
    one(c, "fclass.s snan", x1!("fclass.s", "", SNAN_S), 0x100, 0);
    one(
        c,
        "fclass.s -inf",
        x1!("fclass.s", "", bx(0xff80_0000)),
        0x1,
        0,
    );
    one(
        c,
        "fclass.s +subnormal",
        x1!("fclass.s", "", bx(0x0000_0001)),
        0x20,
        0,
    );
}

pub(super) fn min_max_compare_sign(c: &mut Checker) {
    let nz = 0x8000_0000_0000_0000;
    one(c, "fmin.d -0,+0", f2!("fmin.d", "", nz, 0), nz, 0);
    one(c, "fmin.d +0,-0", f2!("fmin.d", "", 0, nz), nz, 0);
    one(c, "fmax.d -0,+0", f2!("fmax.d", "", nz, 0), 0, 0);
    one(c, "fmin.d qnan,1", f2!("fmin.d", "", QNAN_D, ONE), ONE, 0);
    one(c, "fmax.d 1,qnan", f2!("fmax.d", "", ONE, QNAN_D), ONE, 0);
    one(c, "fmin.d snan,1", f2!("fmin.d", "", SNAN_D, ONE), ONE, NV);
    one(
        c,
        "fmin.d qnan,qnan",
        f2!("fmin.d", "", 0x7ff8_0000_0000_0042, QNAN_D),
        QNAN_D,
        0,
    );
    one(
        c,
        "fmax.d snan,snan",
        f2!("fmax.d", "", SNAN_D, SNAN_D),
        QNAN_D,
        NV,
    );
    one(
        c,
        "fmin.s -0,+0",
        f2!("fmin.s", "", bx(0x8000_0000), bx(0)),
        bx(0x8000_0000),
        0,
    );
    one(
        c,
        "fmax.s qnan,-1",
        f2!("fmax.s", "", QNAN_S, bx(0xbf80_0000)),
        bx(0xbf80_0000),
        0,
    );

    one(c, "feq.d qnan,1", x2!("feq.d", QNAN_D, ONE), 0, 0);
    one(c, "feq.d snan,1", x2!("feq.d", SNAN_D, ONE), 0, NV);
    one(c, "flt.d qnan,1", x2!("flt.d", QNAN_D, ONE), 0, NV);
    one(c, "fle.d 1,qnan", x2!("fle.d", ONE, QNAN_D), 0, NV);
    one(c, "feq.d -0,+0", x2!("feq.d", nz, 0), 1, 0);
    one(c, "flt.d -0,+0", x2!("flt.d", nz, 0), 0, 0);
    one(c, "fle.d -0,+0", x2!("fle.d", nz, 0), 1, 0);
    one(
        c,
        "flt.d 1,2",
        x2!("flt.d", ONE, 0x4000_0000_0000_0000),
        1,
        0,
    );
    one(c, "flt.s qnan,1", x2!("flt.s", QNAN_S, ONE_S), 0, NV);
    one(c, "fle.s -1,1", x2!("fle.s", bx(0xbf80_0000), ONE_S), 1, 0);

    one(
        c,
        "fsgnj.d 1,-2",
        f2!("fsgnj.d", "", ONE, 0xc000_0000_0000_0000),
        NEG_ONE,
        0,
    );
    one(
        c,
        "fsgnjn.d 1,-2",
        f2!("fsgnjn.d", "", ONE, 0xc000_0000_0000_0000),
        ONE,
        0,
    );
    one(
        c,
        "fsgnjn.d 1,2",
        f2!("fsgnjn.d", "", ONE, 0x4000_0000_0000_0000),
        NEG_ONE,
        0,
    );
    one(
        c,
        "fsgnjx.d -1,-2",
        f2!("fsgnjx.d", "", NEG_ONE, 0xc000_0000_0000_0000),
        ONE,
        0,
    );
    one(
        c,
        "fsgnjx.d -1,2",
        f2!("fsgnjx.d", "", NEG_ONE, 0x4000_0000_0000_0000),
        NEG_ONE,
        0,
    );
    one(
        c,
        "fsgnj.d snan,-1 keeps payload",
        f2!("fsgnj.d", "", SNAN_D, NEG_ONE),
        0xfff0_0000_0000_0001,
        0,
    );
    one(
        c,
        "fsgnjn.s 1,1",
        f2!("fsgnjn.s", "", ONE_S, ONE_S),
        bx(0xbf80_0000),
        0,
    );
}
