//! Exact decoding tests: immediates of every format, compressed immediate scrambles and
//! expansions. Encodings come from GNU as (binutils 2.40).
#![cfg(feature = "riscv64")]

use vm_frontend::riscv64::{
    AluOp, BranchCond, CForm, Extension, FReg, FpFmt, Insn, LoadOp, Op, StoreOp, XReg, decode,
    decode_compressed, decode_full,
};

fn x(n: u8) -> XReg {
    XReg::new(n).expect("register number")
}

fn f(n: u8) -> FReg {
    FReg::new(n).expect("register number")
}

fn op(raw: u32) -> Op {
    decode(raw).unwrap_or_else(|e| panic!("{e}")).op
}

#[test]
fn u_and_j_immediates() {
    assert_eq!(
        op(0x1234_5537),
        Op::Lui {
            rd: x(10),
            imm: 0x1234_5000
        }
    );
    assert_eq!(
        op(0xffff_ffb7),
        Op::Lui {
            rd: x(31),
            imm: -4096
        }
    );
    assert_eq!(
        op(0x8000_0d97),
        Op::Auipc {
            rd: x(27),
            imm: i32::MIN
        }
    );
    // jal zero,+0xffffe (largest) and jal ra,-0x100000 (smallest).
    assert_eq!(
        op(0x7fff_f06f),
        Op::Jal {
            rd: x(0),
            offset: 0xf_fffe
        }
    );
    assert_eq!(
        op(0x8000_00ef),
        Op::Jal {
            rd: x(1),
            offset: -0x10_0000
        }
    );
    assert_eq!(
        op(0xf91f_f06f),
        Op::Jal {
            rd: x(0),
            offset: -0x70
        }
    );
}

#[test]
fn i_s_b_immediates() {
    assert_eq!(
        op(0x7ff5_0567),
        Op::Jalr {
            rd: x(10),
            rs1: x(10),
            offset: 2047
        }
    );
    assert_eq!(
        op(0x8002_8067),
        Op::Jalr {
            rd: x(0),
            rs1: x(5),
            offset: -2048
        }
    );
    assert_eq!(
        op(0xfff5_9503),
        Op::Load {
            op: LoadOp::Lh,
            rd: x(10),
            rs1: x(11),
            offset: -1
        }
    );
    assert_eq!(
        op(0x0043_6283),
        Op::Load {
            op: LoadOp::Lwu,
            rd: x(5),
            rs1: x(6),
            offset: 4
        }
    );
    assert_eq!(
        op(0x8001_3003),
        Op::Load {
            op: LoadOp::Ld,
            rd: x(0),
            rs1: x(2),
            offset: -2048
        }
    );
    assert_eq!(
        op(0xfea5_9f23),
        Op::Store {
            op: StoreOp::Sh,
            rs1: x(11),
            rs2: x(10),
            offset: -2
        }
    );
    assert_eq!(
        op(0x7ea1_2fa3),
        Op::Store {
            op: StoreOp::Sw,
            rs1: x(2),
            rs2: x(10),
            offset: 2047
        }
    );
    assert_eq!(
        op(0x8011_3023),
        Op::Store {
            op: StoreOp::Sd,
            rs1: x(2),
            rs2: x(1),
            offset: -2048
        }
    );
    // beq a0,a1,+4094 (largest) / bltu a0,a1,-4096 (smallest).
    let b = |cond, offset| Op::Branch {
        cond,
        rs1: x(10),
        rs2: x(11),
        offset,
    };
    assert_eq!(op(0x7eb5_0fe3), b(BranchCond::Eq, 4094));
    assert_eq!(op(0x80b5_6063), b(BranchCond::Ltu, -4096));
    assert_eq!(op(0x00b5_1463), b(BranchCond::Ne, 8));
    assert_eq!(
        op(0x80a5_8513),
        Op::AluImm {
            op: AluOp::Add,
            rd: x(10),
            rs1: x(11),
            imm: -2038
        }
    );
    assert_eq!(
        op(0xfff5_c513),
        Op::AluImm {
            op: AluOp::Xor,
            rd: x(10),
            rs1: x(11),
            imm: -1
        }
    );
    // sltiu compares unsigned but its immediate is sign-extended.
    assert_eq!(
        op(0x8005_b513),
        Op::AluImm {
            op: AluOp::Sltu,
            rd: x(10),
            rs1: x(11),
            imm: -2048
        }
    );
}

#[test]
fn shift_amounts() {
    let imm = |op, imm| Op::AluImm {
        op,
        rd: x(10),
        rs1: x(11),
        imm,
    };
    assert_eq!(op(0x03f5_9513), imm(AluOp::Sll, 63));
    assert_eq!(op(0x4205_d513), imm(AluOp::Sra, 32));
    assert_eq!(op(0x0205_d513), imm(AluOp::Srl, 32));
    assert_eq!(op(0x6005_d513), imm(AluOp::Ror, 0));
    assert_eq!(op(0x4bf5_d513), imm(AluOp::Bext, 63));
    assert_eq!(op(0x0bf5_951b), imm(AluOp::SllUw, 63));
    assert_eq!(
        op(0x01f5_951b),
        Op::AluImmW {
            op: AluOp::Sll,
            rd: x(10),
            rs1: x(11),
            imm: 31
        }
    );
    assert_eq!(
        op(0x4115_d51b),
        Op::AluImmW {
            op: AluOp::Sra,
            rd: x(10),
            rs1: x(11),
            imm: 17
        }
    );
}

#[test]
fn compressed_immediate_scrambles() {
    let c = |raw| decode_compressed(raw).unwrap_or_else(|e| panic!("{e}"));
    let addi = |rd, rs1, imm| Op::AluImm {
        op: AluOp::Add,
        rd,
        rs1,
        imm,
    };
    assert_eq!(c(0x1ffc).op, addi(x(15), x(2), 1020)); // c.addi4spn a5,sp,1020
    assert_eq!(c(0x7101).op, addi(x(2), x(2), -512)); // c.addi16sp sp,-512
    assert_eq!(c(0x617d).op, addi(x(2), x(2), 496)); // c.addi16sp sp,496
    assert_eq!(c(0x1f81).op, addi(x(31), x(31), -32)); // c.addi t6,-32
    assert_eq!(c(0x5081).op, addi(x(1), x(0), -32)); // c.li ra,-32
    assert_eq!(
        c(0x757d).op,
        Op::Lui {
            rd: x(10),
            imm: -4096
        }
    );
    assert_eq!(
        c(0x6dfd).op,
        Op::Lui {
            rd: x(27),
            imm: 0x1_f000
        }
    );
    assert_eq!(
        c(0x5de8).op,
        Op::Load {
            op: LoadOp::Lw,
            rd: x(10),
            rs1: x(11),
            offset: 124
        }
    );
    assert_eq!(
        c(0x3cfc).op,
        Op::FLoad {
            fmt: FpFmt::D,
            rd: f(15),
            rs1: x(9),
            offset: 248
        }
    );
    assert_eq!(
        c(0x557e).op,
        Op::Load {
            op: LoadOp::Lw,
            rd: x(10),
            rs1: x(2),
            offset: 252
        }
    );
    assert_eq!(
        c(0x70fe).op,
        Op::Load {
            op: LoadOp::Ld,
            rd: x(1),
            rs1: x(2),
            offset: 504
        }
    );
    assert_eq!(
        c(0xdfaa).op,
        Op::Store {
            op: StoreOp::Sw,
            rs1: x(2),
            rs2: x(10),
            offset: 252
        }
    );
    assert_eq!(
        c(0xff86).op,
        Op::Store {
            op: StoreOp::Sd,
            rs1: x(2),
            rs2: x(1),
            offset: 504
        }
    );
    assert_eq!(
        c(0x93fd).op,
        Op::AluImm {
            op: AluOp::Srl,
            rd: x(15),
            rs1: x(15),
            imm: 63
        }
    );
    // c.j and c.beqz offsets (every offset bit set: -2).
    assert_eq!(
        c(0xbffd).op,
        Op::Jal {
            rd: x(0),
            offset: -2
        }
    );
    assert_eq!(
        c(0xa001).op,
        Op::Jal {
            rd: x(0),
            offset: 0
        }
    );
    let beqz = |rs1, offset| Op::Branch {
        cond: BranchCond::Eq,
        rs1,
        rs2: x(0),
        offset,
    };
    assert_eq!(c(0xdc7d).op, beqz(x(8), -2));
    assert_eq!(c(0xc119).op, beqz(x(10), 6));
}

/// Compressed encodings and the 32-bit encodings GNU as gives their expansions.
const EXPANSIONS: [(u16, u32, CForm); 46] = [
    (0x0040, 0x0041_0413, CForm::CAddi4spn),
    (0x1ffc, 0x3fc1_0793, CForm::CAddi4spn),
    (0x2100, 0x0005_3407, CForm::CFld),
    (0x3cfc, 0x0f84_b787, CForm::CFld),
    (0x5de8, 0x07c5_a503, CForm::CLw),
    (0x6784, 0x0087_b483, CForm::CLd),
    (0xa808, 0x00a4_3827, CForm::CFsd),
    (0xc188, 0x00a5_a023, CForm::CSw),
    (0xfd7c, 0x0ef5_3c23, CForm::CSd),
    (0x0001, 0x0000_0013, CForm::CAddi),
    (0x0505, 0x0015_0513, CForm::CAddi),
    (0x1f81, 0xfe0f_8f93, CForm::CAddi),
    (0x2501, 0x0005_051b, CForm::CAddiw),
    (0x357d, 0xfff5_051b, CForm::CAddiw),
    (0x4501, 0x0000_0513, CForm::CLi),
    (0x5081, 0xfe00_0093, CForm::CLi),
    (0x7101, 0xe001_0113, CForm::CAddi16sp),
    (0x617d, 0x1f01_0113, CForm::CAddi16sp),
    (0x6505, 0x0000_1537, CForm::CLui),
    (0x757d, 0xffff_f537, CForm::CLui),
    (0x6dfd, 0x0001_fdb7, CForm::CLui),
    (0x8105, 0x0015_5513, CForm::CSrli),
    (0x93fd, 0x03f7_d793, CForm::CSrli),
    (0x9401, 0x4204_5413, CForm::CSrai),
    (0x997d, 0xfff5_7513, CForm::CAndi),
    (0x897d, 0x01f5_7513, CForm::CAndi),
    (0x8d0d, 0x40b5_0533, CForm::CSub),
    (0x8d2d, 0x00b5_4533, CForm::CXor),
    (0x8c45, 0x0094_6433, CForm::COr),
    (0x8f7d, 0x00f7_7733, CForm::CAnd),
    (0x9d0d, 0x40b5_053b, CForm::CSubw),
    (0x9d2d, 0x00b5_053b, CForm::CAddw),
    (0x0506, 0x0015_1513, CForm::CSlli),
    (0x1ffe, 0x03ff_9f93, CForm::CSlli),
    (0x2a0e, 0x0c01_3a07, CForm::CFldsp),
    (0x557e, 0x0fc1_2503, CForm::CLwsp),
    (0x70fe, 0x1f81_3083, CForm::CLdsp),
    (0x8502, 0x0005_0067, CForm::CJr),
    (0x8082, 0x0000_8067, CForm::CJr),
    // c.mv expands to `add rd, x0, rs2` (GNU as writes `mv` as addi, which is equivalent).
    (0x852e, 0x00b0_0533, CForm::CMv),
    (0x9002, 0x0010_0073, CForm::CEbreak),
    (0x9502, 0x0005_00e7, CForm::CJalr),
    (0x952e, 0x00b5_0533, CForm::CAdd),
    (0xa42a, 0x00a1_3427, CForm::CFsdsp),
    (0xdfaa, 0x0ea1_2e23, CForm::CSwsp),
    (0xff86, 0x1e11_3c23, CForm::CSdsp),
];

#[test]
fn compressed_expands_to_base_instruction() {
    for (short, full, form) in EXPANSIONS {
        let c = decode_compressed(short).unwrap_or_else(|e| panic!("{e}"));
        let w = decode_full(full).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.op, w.op, "{short:#06x} vs {full:#010x}");
        assert_eq!(c.compressed, Some(form), "{short:#06x}");
        assert_eq!((c.len(), w.len()), (2, 4));
        assert_eq!(
            (c.extension(), w.extension()),
            (Extension::C, w.op.extension())
        );
    }
}

#[test]
fn compressed_hints_are_legal() {
    let c = |raw| decode_compressed(raw).map(|i| i.op);
    let z = x(0);
    assert_eq!(
        c(0x0005),
        Ok(Op::AluImm {
            op: AluOp::Add,
            rd: z,
            rs1: z,
            imm: 1
        })
    ); // c.nop 1
    assert_eq!(
        c(0x4005),
        Ok(Op::AluImm {
            op: AluOp::Add,
            rd: z,
            rs1: z,
            imm: 1
        })
    ); // c.li zero,1
    assert_eq!(c(0x6005), Ok(Op::Lui { rd: z, imm: 0x1000 })); // c.lui zero,0x1
    assert_eq!(
        c(0x8006),
        Ok(Op::Alu {
            op: AluOp::Add,
            rd: z,
            rs1: z,
            rs2: x(1)
        })
    ); // c.mv zero,ra
    assert_eq!(
        c(0x0502),
        Ok(Op::AluImm {
            op: AluOp::Sll,
            rd: x(10),
            rs1: x(10),
            imm: 0
        })
    ); // c.slli64
    assert_eq!(
        c(0x8101),
        Ok(Op::AluImm {
            op: AluOp::Srl,
            rd: x(10),
            rs1: x(10),
            imm: 0
        })
    ); // c.srli64
}

#[test]
fn lengths_follow_the_encoding() {
    let full: Insn = decode(0x0000_0013).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((full.len(), full.is_compressed()), (4, false));
    let short = decode(0xffff_0001).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((short.len(), short.is_compressed()), (2, true));
    assert_eq!(full.op, short.op);
}
