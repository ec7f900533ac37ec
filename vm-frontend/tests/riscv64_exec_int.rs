//! Execution tests of the integer lowering: raw instruction words run through `decode_block` and
//! vm-engine's interpreter on vm-mem RAM. Every expected value is worked out from the RISC-V
//! specification (the comments say how), never taken from running the code under test.
#![cfg(feature = "riscv64")]

mod common;

use common::asm::{self, A0, A1, A2, A3, RA, T0, ZERO};
use common::{BASE, DATA, exec2, poke_u64, run, run_bytes, run_with};
use vm_core::exec::{Exception, Exit, FaultKind};
use vm_core::ir::TrapCause;
use vm_core::mem::AccessKind;
use vm_frontend::riscv64::helpers;

const M1: u64 = u64::MAX; // -1
const MIN: u64 = 1 << 63; // i64::MIN

fn neg(v: i64) -> u64 {
    v as u64
}

#[test]
fn rv64i_register_ops() {
    let cases: &[(&str, u64, u64, u64)] = &[
        ("add", M1, 2, 1),
        ("sub", 0, 1, M1),
        ("sll", 1, 65, 2), // amount = 65 & 63 = 1
        ("sll", 1, 63, MIN),
        ("slt", M1, 0, 1),  // -1 < 0
        ("sltu", M1, 0, 0), // 2^64-1 > 0
        ("xor", 0xf0f0, 0xff00, 0x0ff0),
        ("srl", MIN, 67, 1 << 60), // amount 3
        ("sra", MIN, 67, 0xf000_0000_0000_0000),
        ("or", 0xf0, 0x0f, 0xff),
        ("and", 0xf0, 0x3c, 0x30),
        // The *w forms: 32-bit results sign-extended, amounts of five bits.
        ("addw", 0x7fff_ffff, 1, 0xffff_ffff_8000_0000),
        ("addw", 0x1_0000_0000, 5, 5),
        ("subw", 0, 1, M1),
        ("subw", 0x8000_0000, 0, 0xffff_ffff_8000_0000),
        ("sllw", 1, 31, 0xffff_ffff_8000_0000),
        ("sllw", 1, 33, 2),
        ("sllw", 0xffff_ffff, 32, M1),
        ("srlw", 0xffff_ffff_8000_0000, 31, 1),
        ("srlw", 0x8000_0000, 32, 0xffff_ffff_8000_0000),
        ("sraw", 0x8000_0000, 4, 0xffff_ffff_f800_0000),
        ("sraw", 0x1_7fff_ffff, 36, 0x07ff_ffff),
    ];
    for &(name, a, b, want) in cases {
        assert_eq!(exec2(asm::rr(name), a, b), want, "{name} {a:#x}, {b:#x}");
    }
}

#[test]
fn rv64m() {
    let cases: &[(&str, u64, u64, u64)] = &[
        ("mul", M1, 3, neg(-3)),
        ("mul", 0x1_0000_0001, 0x1_0000_0001, 0x2_0000_0001), // 2^64 + 2^33 + 1
        ("mulh", M1, M1, 0),                                  // (-1)(-1) = 1
        ("mulh", MIN, MIN, 1 << 62),                          // 2^126
        ("mulh", MIN, 2, M1),                                 // -2^64
        ("mulh", neg(-3), 5, M1),                             // -15
        ("mulhsu", M1, M1, M1),                               // -(2^64 - 1)
        ("mulhsu", MIN, M1, MIN),                             // -2^127 + 2^63
        ("mulhsu", 5, M1, 4),                                 // 5*2^64 - 5
        ("mulhu", M1, M1, M1 - 1),                            // 2^128 - 2^65 + 1
        ("mulhu", MIN, 4, 2),
        ("div", neg(-7), 2, neg(-3)),
        ("div", neg(-7), neg(-2), 3),
        ("div", 7, 0, M1),     // division by zero: all ones
        ("div", MIN, M1, MIN), // overflow: the dividend
        ("divu", 7, 0, M1),
        ("divu", M1, 2, 0x7fff_ffff_ffff_ffff),
        ("rem", neg(-7), 2, neg(-1)),
        ("rem", 7, neg(-2), 1),
        ("rem", neg(-7), 0, neg(-7)), // remainder by zero: the dividend
        ("rem", MIN, M1, 0),          // overflow: 0
        ("remu", 7, 0, 7),
        ("remu", M1, 10, 5),
        ("mulw", 0x1_0000, 0x1_0000, 0),
        ("mulw", 0x8000, 0x1_0000, 0xffff_ffff_8000_0000),
        ("mulw", 0xffff_ffff_0000_0003, 5, 15),
        ("divw", 0x8000_0000, 0xffff_ffff, 0xffff_ffff_8000_0000),
        ("divw", 7, 0, M1),
        ("divw", 0xffff_fff9, 2, neg(-3)),
        ("divw", 0x1_0000_0007, 0x1_0000_0002, 3),
        ("divuw", 7, 0, M1), // 2^32 - 1, sign-extended
        ("divuw", 0xffff_ffff, 2, 0x7fff_ffff),
        ("divuw", 0x8000_0000, 1, 0xffff_ffff_8000_0000),
        ("remw", 0x8000_0000, 0xffff_ffff, 0),
        ("remw", 0xffff_fff9, 0, neg(-7)),
        ("remw", 0x1_0000_0007, 0, 7),
        ("remuw", 0xffff_fff9, 0, neg(-7)),
        ("remuw", 0xffff_ffff, 10, 5),
    ];
    for &(name, a, b, want) in cases {
        assert_eq!(exec2(asm::rr(name), a, b), want, "{name} {a:#x}, {b:#x}");
    }
}

#[test]
fn zba_zbb_zbs_register_ops() {
    let cases: &[(&str, u64, u64, u64)] = &[
        ("add.uw", 0xffff_ffff_8000_0000, 1, 0x8000_0001),
        ("sh1add", 3, 100, 106),
        ("sh2add", 3, 100, 112),
        ("sh3add", 3, 100, 124),
        ("sh1add.uw", 0xffff_ffff_0000_0003, 100, 106),
        ("sh2add.uw", 0x1_ffff_ffff, 0, 0x3_ffff_fffc),
        ("sh3add.uw", 0x1_ffff_ffff, 0, 0x7_ffff_fff8),
        ("andn", 0xff, 0x0f, 0xf0),
        ("orn", 0, 0xffff_ffff_ffff_ff00, 0xff),
        ("xnor", 0xff, 0x0f, 0xffff_ffff_ffff_ff0f),
        ("min", M1, 1, M1),
        ("minu", M1, 1, 1),
        ("max", M1, 1, 1),
        ("maxu", M1, 1, M1),
        ("rol", 0x8000_0000_0000_0001, 65, 3),
        ("ror", 1, 1, MIN),
        ("ror", 1, 64, 1),
        ("rolw", 0x8000_0001, 1, 3),
        ("rolw", 0x4000_0000, 1, 0xffff_ffff_8000_0000),
        ("rorw", 1, 33, 0xffff_ffff_8000_0000),
        ("bclr", M1, 65, M1 - 2),
        ("bext", MIN, 127, 1),
        ("bext", MIN, 62, 0),
        ("binv", 0, 64, 1),
        ("binv", 1, 0, 0),
        ("bset", 0, 63, MIN),
    ];
    for &(name, a, b, want) in cases {
        assert_eq!(exec2(asm::rr(name), a, b), want, "{name} {a:#x}, {b:#x}");
    }
}

#[test]
fn immediate_ops() {
    let cases: &[(&str, u64, i32, u64)] = &[
        ("addi", 5, -6, M1),
        ("slti", M1, 0, 1),
        ("sltiu", 5, -1, 1), // the immediate is sign-extended, then compared unsigned
        ("sltiu", 0, 1, 1),
        ("xori", 0xff, -1, 0xffff_ffff_ffff_ff00),
        ("ori", 0x100, 0x0f, 0x10f),
        ("andi", 0x1234, -16, 0x1230),
        ("slli", 1, 63, MIN),
        ("srli", MIN, 63, 1),
        ("srai", MIN, 63, M1),
        ("addiw", 0x7fff_ffff, 1, 0xffff_ffff_8000_0000),
        ("addiw", 0xffff_ffff_0000_0000, -1, M1),
        ("addiw", 0x8000_0000, 0, 0xffff_ffff_8000_0000), // sext.w
        ("slliw", 1, 31, 0xffff_ffff_8000_0000),
        ("srliw", 0xffff_ffff_8000_0000, 0, 0xffff_ffff_8000_0000),
        ("srliw", 0x8000_0000, 31, 1),
        ("sraiw", 0x8000_0000, 31, M1),
        ("sraiw", 0x1_0000_0000, 1, 0),
        ("slli.uw", 0xffff_ffff_8000_0001, 4, 0x8_0000_0010),
        ("rori", 1, 1, MIN),
        ("roriw", 1, 1, 0xffff_ffff_8000_0000),
        ("roriw", 0x1_0000_0002, 1, 1),
        ("bclri", M1, 63, 0x7fff_ffff_ffff_ffff),
        ("bexti", 0x10, 4, 1),
        ("binvi", 0, 40, 1 << 40),
        ("bseti", 0, 0, 1),
    ];
    for &(name, a, imm, want) in cases {
        let got = run(&[asm::ri(name, imm)], &[(A1, a)]).cpu.x(A0);
        assert_eq!(got, want, "{name} {a:#x}, {imm}");
    }
}

#[test]
fn zbb_unary_ops() {
    let cases: &[(&str, u64, u64)] = &[
        ("clz", 0, 64),
        ("clz", 1, 63),
        ("ctz", 0, 64),
        ("ctz", MIN, 63),
        ("cpop", M1, 64),
        ("clzw", 0xffff_ffff_0000_0000, 32),
        ("clzw", 0x8000, 16),
        ("ctzw", 0x1_0000_0000, 32),
        ("cpopw", 0xffff_ffff_0000_000f, 4),
        ("sext.b", 0x80, 0xffff_ffff_ffff_ff80),
        ("sext.h", 0x7fff, 0x7fff),
        ("sext.h", 0x1_8000, 0xffff_ffff_ffff_8000),
        ("zext.h", 0xffff_ffff_ffff_8000, 0x8000),
        ("orc.b", 0x0100_0000_0000_2000, 0xff00_0000_0000_ff00),
        ("rev8", 0x0102_0304_0506_0708, 0x0807_0605_0403_0201),
    ];
    for &(name, a, want) in cases {
        let got = run(&[asm::un(name)], &[(A1, a)]).cpu.x(A0);
        assert_eq!(got, want, "{name} {a:#x}");
    }
}

#[test]
fn upper_immediates_and_x0() {
    let r = run(
        &[
            asm::u(0x8000_0000, A0, 0x37), // lui a0, 0x80000: sign-extended
            asm::u(0x1000, A1, 0x17),      // auipc a1, 1 at BASE + 4
            asm::u(0xffff_f000, A2, 0x17), // auipc a2, -1 at BASE + 8
            asm::i(5, A0, 0, ZERO, 0x13),  // addi x0, a0, 5: dropped
        ],
        &[],
    );
    assert_eq!(r.cpu.x(A0), 0xffff_ffff_8000_0000);
    assert_eq!(r.cpu.x(A1), BASE + 4 + 0x1000);
    assert_eq!(r.cpu.x(A2), BASE + 8 - 0x1000);
    assert_eq!(r.cpu.x(0), 0);
}

#[test]
fn loads_and_stores() {
    let setup = |mem: &vm_mem::PhysMemory| {
        poke_u64(mem, DATA, 0xf1f2_f3f4_f5f6_f7f8);
        poke_u64(mem, DATA + 8, 0x0102_0304_0506_0708);
    };
    // Little-endian: the byte at DATA is 0xf8, at DATA + 8 it is 0x08.
    let cases: &[(&str, i32, u64)] = &[
        ("lb", 0, 0xffff_ffff_ffff_fff8),
        ("lbu", 0, 0xf8),
        ("lh", 0, 0xffff_ffff_ffff_f7f8),
        ("lhu", 0, 0xf7f8),
        ("lw", 0, 0xffff_ffff_f5f6_f7f8),
        ("lwu", 0, 0xf5f6_f7f8),
        ("ld", 0, 0xf1f2_f3f4_f5f6_f7f8),
        ("lb", 8, 0x08),
        ("lh", 8, 0x0708),
        ("lw", 8, 0x0506_0708),
        ("lw", 1, 0xffff_ffff_f4f5_f6f7), // misaligned: performed
        ("ld", 4, 0x0506_0708_f1f2_f3f4),
    ];
    for &(name, off, want) in cases {
        let r = run_with(&[asm::load(name, A0, A1, off - 16)], |cpu, mem| {
            setup(mem);
            cpu.slots[A1 as usize] = DATA + 16;
        });
        assert_eq!(r.cpu.x(A0), want, "{name} {off}");
    }
    let v = 0x1122_3344_5566_7788;
    let r = run_with(
        &[
            asm::store(1, A2, A1, 0),
            asm::store(2, A2, A1, 8),
            asm::store(4, A2, A1, 16),
            asm::store(8, A2, A1, 24),
            asm::store(4, A2, A1, 33), // misaligned
        ],
        |cpu, _| {
            cpu.slots[A1 as usize] = DATA;
            cpu.slots[A2 as usize] = v;
        },
    );
    assert_eq!(r.read_u64(DATA), 0x88);
    assert_eq!(r.read_u64(DATA + 8), 0x7788);
    assert_eq!(r.read_u64(DATA + 16), 0x5566_7788);
    assert_eq!(r.read_u64(DATA + 24), v);
    assert_eq!(r.read_u64(DATA + 32), 0x55_6677_8800);
}

#[test]
fn a_load_into_x0_still_faults() {
    // lw x0, 0(a1) with a1 outside RAM: a load access fault at the instruction.
    let r = run_bytes(&asm::load("lw", ZERO, A1, 0).to_le_bytes(), |cpu, _| {
        cpu.slots[A1 as usize] = 0x10
    });
    assert_eq!(
        r.trap(),
        (
            Exception::Memory {
                kind: AccessKind::Read,
                fault: FaultKind::Access,
                vaddr: 0x10
            },
            BASE
        )
    );
}

#[test]
fn branches() {
    // 0: b?? a1, a2, +12; 4: a0 = 1; 8: j +8; 12: a0 = 2; 16: ecall.
    let prog = |name| {
        [
            asm::branch(name, A1, A2, 12),
            asm::i(1, ZERO, 0, A0, 0x13),
            asm::jal(ZERO, 8),
            asm::i(2, ZERO, 0, A0, 0x13),
        ]
    };
    let cases: &[(&str, u64, u64, bool)] = &[
        ("beq", 5, 5, true),
        ("beq", 5, 6, false),
        ("bne", 5, 6, true),
        ("bne", 5, 5, false),
        ("blt", M1, 0, true),
        ("blt", 0, M1, false),
        ("bge", 0, M1, true),
        ("bge", 3, 3, true),
        ("bge", M1, 0, false),
        ("bltu", 0, M1, true),
        ("bltu", M1, 0, false),
        ("bgeu", M1, 0, true),
        ("bgeu", 0, M1, false),
    ];
    for &(name, a, b, taken) in cases {
        let r = run(&prog(name), &[(A1, a), (A2, b)]);
        assert_eq!(
            r.cpu.x(A0),
            if taken { 2 } else { 1 },
            "{name} {a:#x} {b:#x}"
        );
    }
    // A backward branch: count to 10.
    let r = run(
        &[asm::i(1, A0, 0, A0, 0x13), asm::branch("blt", A0, A1, -4)],
        &[(A1, 10)],
    );
    assert_eq!(r.cpu.x(A0), 10);
}

#[test]
fn jumps_and_links() {
    let r = run(
        &[
            asm::jal(RA, 8),              // 0: ra = BASE + 4, to 8
            asm::jal(ZERO, 16),           // 4: to 20 (the ecall)
            asm::i(13, RA, 0, A1, 0x13),  // 8: a1 = BASE + 17
            asm::jalr(A1, A1, 0),         // 12: to (BASE + 17) & !1 = BASE + 16, a1 = BASE + 16
            asm::i(5, ZERO, 0, A2, 0x13), // 16: a2 = 5
        ],
        &[],
    );
    assert_eq!(r.cpu.x(RA), BASE + 4);
    assert_eq!(r.cpu.x(A1), BASE + 16);
    assert_eq!(r.cpu.x(A2), 5);
    assert_eq!(r.cpu.x(A0), 0);
}

#[test]
fn compressed_instructions() {
    // c.li a0, 5; c.addi a0, -1; c.mv a1, a0; c.add a1, a0; ecall
    let halves: [u16; 4] = [0x4515, 0x157d, 0x85aa, 0x95aa];
    let texts: Vec<String> = halves
        .iter()
        .map(|&h| {
            vm_frontend::riscv64::decode(u32::from(h))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        texts,
        ["li\ta0,5", "add\ta0,a0,-1", "mv\ta1,a0", "add\ta1,a1,a0"]
    );
    let mut code: Vec<u8> = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
    code.extend_from_slice(&asm::ECALL.to_le_bytes());
    let r = run_bytes(&code, |_, _| {});
    assert_eq!(r.trap().1, BASE + 8);
    assert_eq!((r.cpu.x(A0), r.cpu.x(A1)), (4, 8));
}

#[test]
fn lr_sc() {
    let lr_d = asm::amo("lr", true, true, false, A0, 0, A1);
    let sc_d = asm::amo("sc", true, false, true, A3, A2, A1);
    // Success: a3 = 0 and memory updated.
    let r = run_with(&[lr_d, sc_d], |cpu, mem| {
        poke_u64(mem, DATA, 42);
        cpu.slots[A1 as usize] = DATA;
        cpu.slots[A2 as usize] = 99;
    });
    assert_eq!((r.cpu.x(A0), r.cpu.x(A3), r.read_u64(DATA)), (42, 0, 99));
    // Without a reservation: a3 = 1 and memory unchanged.
    let r = run_with(&[sc_d], |cpu, mem| {
        poke_u64(mem, DATA, 42);
        cpu.slots[A1 as usize] = DATA;
        cpu.slots[A2 as usize] = 99;
    });
    assert_eq!((r.cpu.x(A3), r.read_u64(DATA)), (1, 42));
    // A second sc after a successful one fails: the reservation is gone.
    let r = run_with(&[lr_d, sc_d, sc_d], |cpu, mem| {
        poke_u64(mem, DATA, 42);
        cpu.slots[A1 as usize] = DATA;
        cpu.slots[A2 as usize] = 99;
    });
    assert_eq!((r.cpu.x(A3), r.read_u64(DATA)), (1, 99));
    // lr.w sign-extends; sc.w stores 32 bits.
    let lr_w = asm::amo("lr", false, false, false, A0, 0, A1);
    let sc_w = asm::amo("sc", false, false, false, A3, A2, A1);
    let r = run_with(&[lr_w, sc_w], |cpu, mem| {
        poke_u64(mem, DATA, 0xaaaa_aaaa_8000_0000);
        cpu.slots[A1 as usize] = DATA;
        cpu.slots[A2 as usize] = 0xffff_ffff_1234_5678;
    });
    assert_eq!(r.cpu.x(A0), 0xffff_ffff_8000_0000);
    assert_eq!((r.cpu.x(A3), r.read_u64(DATA)), (0, 0xaaaa_aaaa_1234_5678));
}

#[test]
fn amos() {
    // 64-bit: memory 5, operand -3.
    let m = 5u64;
    let v = neg(-3);
    let cases: &[(&str, u64)] = &[
        ("amoswap", v),
        ("amoadd", 2),
        ("amoxor", 0xffff_ffff_ffff_fff8),
        ("amoand", 5),
        ("amoor", v),
        ("amomin", v),
        ("amomax", 5),
        ("amominu", 5),
        ("amomaxu", v),
    ];
    for &(stem, new) in cases {
        let r = run_with(
            &[asm::amo(stem, true, true, true, A0, A2, A1)],
            |cpu, mem| {
                poke_u64(mem, DATA, m);
                cpu.slots[A1 as usize] = DATA;
                cpu.slots[A2 as usize] = v;
            },
        );
        assert_eq!((r.cpu.x(A0), r.read_u64(DATA)), (m, new), "{stem}.d");
    }
    // 32-bit: the word 0x8000_0000 (negative) under 0xaaaa_aaaa, operand 1; the old value is
    // sign-extended, the upper word untouched.
    let cases: &[(&str, u64, u64)] = &[
        ("amoswap", 0xffff_ffff_1234_5678, 0xaaaa_aaaa_1234_5678),
        ("amoadd", 1, 0xaaaa_aaaa_8000_0001),
        ("amoxor", 0xffff_ffff_ffff_ffff, 0xaaaa_aaaa_7fff_ffff),
        ("amoand", 0x8000_0001, 0xaaaa_aaaa_8000_0000),
        ("amoor", 1, 0xaaaa_aaaa_8000_0001),
        ("amomin", 1, 0xaaaa_aaaa_8000_0000),
        ("amomax", 1, 0xaaaa_aaaa_0000_0001),
        ("amominu", 1, 0xaaaa_aaaa_0000_0001),
        ("amomaxu", 1, 0xaaaa_aaaa_8000_0000),
    ];
    for &(stem, operand, new) in cases {
        let r = run_with(
            &[asm::amo(stem, false, false, false, A0, A2, A1)],
            |cpu, mem| {
                poke_u64(mem, DATA, 0xaaaa_aaaa_8000_0000);
                cpu.slots[A1 as usize] = DATA;
                cpu.slots[A2 as usize] = operand;
            },
        );
        assert_eq!(r.cpu.x(A0), 0xffff_ffff_8000_0000, "{stem}.w");
        assert_eq!(r.read_u64(DATA), new, "{stem}.w");
    }
    // rd = x0: the memory is still updated.
    let r = run_with(
        &[asm::amo("amoadd", true, false, false, ZERO, A2, A1)],
        |cpu, mem| {
            poke_u64(mem, DATA, 40);
            cpu.slots[A1 as usize] = DATA;
            cpu.slots[A2 as usize] = 2;
        },
    );
    assert_eq!(r.read_u64(DATA), 42);
}

#[test]
fn misaligned_atomics_fault() {
    let cases = [
        (
            asm::amo("amoadd", false, false, false, A0, A2, A1),
            2,
            AccessKind::Atomic,
        ),
        (
            asm::amo("lr", true, false, false, A0, 0, A1),
            4,
            AccessKind::Read,
        ),
        (
            asm::amo("sc", true, false, false, A0, A2, A1),
            4,
            AccessKind::Atomic,
        ),
    ];
    for (word, off, kind) in cases {
        let r = run_bytes(&word.to_le_bytes(), |cpu, _| {
            cpu.slots[A1 as usize] = DATA + off;
            cpu.slots[A0 as usize] = 7;
        });
        assert_eq!(
            r.trap(),
            (
                Exception::Memory {
                    kind,
                    fault: FaultKind::Misaligned,
                    vaddr: DATA + off
                },
                BASE
            )
        );
        assert_eq!(r.cpu.x(A0), 7, "a faulting instruction writes nothing");
    }
}

#[test]
fn csr_instructions() {
    // csrrw a0, mscratch, a1 (old value 7); csrrs a2, mscratch, x0 (read only); csrrci x0, ...
    let r = run_with(
        &[
            asm::csr(1, false, A0, 0x340, A1),
            asm::csr(2, false, A2, 0x340, ZERO),
            asm::csr(3, true, ZERO, 0x340, 0x3),
            asm::csr(1, false, ZERO, 0x340, A1),
        ],
        |cpu, _| {
            cpu.mscratch = 7;
            cpu.slots[A1 as usize] = 0xff;
        },
    );
    assert_eq!((r.cpu.x(A0), r.cpu.x(A2)), (7, 0xff));
    assert_eq!(r.cpu.mscratch, 0xff);
    let infos: Vec<_> = r
        .cpu
        .calls
        .iter()
        .map(|&(_, a)| helpers::csr_info_parts(a[0]))
        .collect();
    assert_eq!(
        infos,
        [
            (0x340, helpers::CSR_OP_RW, true, true),
            (0x340, helpers::CSR_OP_RS, true, false),
            (0x340, helpers::CSR_OP_RC, true, true),
            (0x340, helpers::CSR_OP_RW, false, true),
        ]
    );
    // An unknown CSR is illegal, with the instruction bits as value.
    let word = asm::csr(2, false, A0, 0x7c0, ZERO);
    let r = run_bytes(&word.to_le_bytes(), |_, _| {});
    assert_eq!(r.trap(), (Exception::illegal(u64::from(word)), BASE));
}

#[test]
fn system_instructions() {
    // ebreak: breakpoint with the PC.
    let r = run_bytes(&[0x13, 0, 0, 0, 0x73, 0, 0x10, 0], |_, _| {});
    let bp = Exception::Trap {
        cause: TrapCause::Breakpoint,
        tval: BASE + 4,
    };
    assert_eq!(r.trap(), (bp, BASE + 4));
    // mret jumps to mepc.
    let r = run_with(
        &[
            0x3020_0073,
            asm::i(1, ZERO, 0, A0, 0x13),
            asm::jal(ZERO, 8),
            asm::i(2, ZERO, 0, A0, 0x13),
        ],
        |cpu, _| cpu.mepc = BASE + 12,
    );
    assert_eq!(r.cpu.x(A0), 2);
    // wfi: the engine returns Wait with the PC after it.
    let r = run_bytes(&0x1050_0073u32.to_le_bytes(), |_, _| {});
    assert_eq!((r.exit, r.cpu.pc_now()), (Exit::Wait, BASE + 4));
    // fence, fence.i, sfence.vma t0, x0 run through, the last calling its helper.
    let r = run(&[0x0ff0_000f, 0x0000_100f, 0x1202_8073], &[(T0, 0x1234)]);
    assert_eq!(
        r.cpu.calls,
        [(
            helpers::SFENCE_VMA,
            [0x1234, 0, 0x1202_8073 | helpers::SFENCE_ALL_ASID]
        )]
    );
    // Illegal encodings: the all-zero halfword, and a 32-bit word.
    for (bytes, tval) in [
        (&[0u8, 0][..], 0),
        (&[0xff, 0xff, 0xff, 0xff][..], 0xffff_ffff),
    ] {
        let r = run_bytes(bytes, |_, _| {});
        assert_eq!(r.trap(), (Exception::illegal(tval), BASE));
    }
}
