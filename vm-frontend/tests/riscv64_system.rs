//! Exact decoding tests for illegal encodings, CSR instructions and numbers, floating point and
//! atomics. Encodings come from GNU as (binutils 2.40).
#![cfg(feature = "riscv64")]

use vm_frontend::riscv64::{
    AmoOp, AmoWidth, Csr, CsrOp, CsrSrc, Extension, FArithOp, FReg, FenceSet, FpFmt, Illegal,
    IntFmt, Op, Rm, RoundingMode, UnaryOp, XReg, decode, decode_compressed,
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
fn illegal_encodings() {
    let full = [
        0x0405_9513, // slli with shamt >= 64
        0x0205_951b, // slliw with shamt >= 32
        0x6065_9513, // clz-family funct12 0x606 (not assigned)
        0x0805_d53b, // OP-32 funct7 4, funct3 5
        0x0005_1067, // jalr with funct3 1
        0x00b5_2063, // branch funct3 2
        0x0005_f503, // load funct3 7
        0x00a5_c023, // store funct3 4
        0x0000_000b, // custom-0
        0x04b5_0533, // OP funct7 2
        0x0005_200f, // MISC-MEM funct3 2 (Zicbom)
        0x08c5_c53b, // pack (Zbkb), not zext.h
        0x10c5_a52f, // lr.w with rs2 != 0
        0x0005_852f, // AMO funct3 0
        0x04c5_8553, // fadd.h (Zfh)
        0x00c5_d553, // fadd.s with rm 5
        0x00c5_e553, // fadd.s with rm 6
        0x5815_f553, // fsqrt.s with rs2 != 0
        0xe005_a553, // fmv.x.w with funct3 2
        0x4005_8553, // fcvt.s.s
        0x0000_0173, // ecall with rd != 0
        0x1020_8073, // sret with rs1 != 0
        0x1050_0173, // wfi with rd != 0
        0x1200_00f3, // sfence.vma with rd != 0
        0x0020_0073, // uret (N extension, removed)
        0x7b20_0073, // dret (debug mode)
        0x7ff0_0073, // unknown SYSTEM funct12
        0x0000_001f, // 48-bit format
        0x0000_003f, // 64-bit format
        0xffff_ffff, // reserved >= 192-bit format
    ];
    for raw in full {
        assert_eq!(decode(raw), Err(Illegal { raw }), "{raw:#010x}");
    }
    let compressed = [
        0x0000, // all zero
        0x0004, // c.addi4spn with imm 0
        0x6501, // c.lui with imm 0
        0x6101, // c.addi16sp with imm 0
        0x2001, // c.addiw with rd = x0
        0x4002, // c.lwsp with rd = x0
        0x6002, // c.ldsp with rd = x0
        0x8002, // c.jr with rs1 = x0
        0x8000, // quadrant 0 funct3 4 (Zcb)
        0x9c41, // c.mulw (Zcb)
        0x9c61, // quadrant 1 reserved CA point
    ];
    for raw in compressed {
        assert_eq!(
            decode_compressed(raw),
            Err(Illegal {
                raw: u32::from(raw)
            }),
            "{raw:#06x}"
        );
    }
}

#[test]
fn csr_numbers() {
    let csr = |raw| match op(raw) {
        Op::Csr { csr, .. } => csr,
        other => panic!("{other:?}"),
    };
    // csrrw a0,mstatus,a1 / csrr a0,satp / csrr a0,mhartid / csrr a0,pmpaddr12 / csrr a0,0xfff.
    assert_eq!(csr(0x3005_9573), Csr::MSTATUS);
    assert_eq!(csr(0x1800_2573), Csr::SATP);
    assert_eq!(csr(0xf140_2573), Csr::MHARTID);
    assert_eq!(csr(0x3bc0_2573).num(), 0x3bc);
    assert_eq!(csr(0xfff0_2573).num(), 0xfff);
    let expected = [
        (Csr::FFLAGS, 0x001, "fflags"),
        (Csr::FRM, 0x002, "frm"),
        (Csr::FCSR, 0x003, "fcsr"),
        (Csr::SSTATUS, 0x100, "sstatus"),
        (Csr::SIE, 0x104, "sie"),
        (Csr::STVEC, 0x105, "stvec"),
        (Csr::SCOUNTEREN, 0x106, "scounteren"),
        (Csr::SENVCFG, 0x10a, "senvcfg"),
        (Csr::SSCRATCH, 0x140, "sscratch"),
        (Csr::SEPC, 0x141, "sepc"),
        (Csr::SCAUSE, 0x142, "scause"),
        (Csr::STVAL, 0x143, "stval"),
        (Csr::SIP, 0x144, "sip"),
        (Csr::STIMECMP, 0x14d, "stimecmp"),
        (Csr::SATP, 0x180, "satp"),
        (Csr::MSTATUS, 0x300, "mstatus"),
        (Csr::MISA, 0x301, "misa"),
        (Csr::MEDELEG, 0x302, "medeleg"),
        (Csr::MIDELEG, 0x303, "mideleg"),
        (Csr::MIE, 0x304, "mie"),
        (Csr::MTVEC, 0x305, "mtvec"),
        (Csr::MCOUNTEREN, 0x306, "mcounteren"),
        (Csr::MENVCFG, 0x30a, "menvcfg"),
        (Csr::MCOUNTINHIBIT, 0x320, "mcountinhibit"),
        (Csr::MSCRATCH, 0x340, "mscratch"),
        (Csr::MEPC, 0x341, "mepc"),
        (Csr::MCAUSE, 0x342, "mcause"),
        (Csr::MTVAL, 0x343, "mtval"),
        (Csr::MIP, 0x344, "mip"),
        (Csr::PMPCFG0, 0x3a0, "pmpcfg0"),
        (Csr::PMPADDR0, 0x3b0, "pmpaddr0"),
        (Csr::MCYCLE, 0xb00, "mcycle"),
        (Csr::MINSTRET, 0xb02, "minstret"),
        (Csr::CYCLE, 0xc00, "cycle"),
        (Csr::TIME, 0xc01, "time"),
        (Csr::INSTRET, 0xc02, "instret"),
        (Csr::MVENDORID, 0xf11, "mvendorid"),
        (Csr::MARCHID, 0xf12, "marchid"),
        (Csr::MIMPID, 0xf13, "mimpid"),
        (Csr::MHARTID, 0xf14, "mhartid"),
        (Csr::MCONFIGPTR, 0xf15, "mconfigptr"),
    ];
    for (csr, num, name) in expected {
        assert_eq!(csr.num(), num, "{name}");
        assert_eq!(csr.to_string(), name);
        assert_eq!(Csr::from_name(name), Some(csr));
    }
}

#[test]
fn csr_operands() {
    assert_eq!(
        op(0x3002_d573), // csrrwi a0,mstatus,5
        Op::Csr {
            op: CsrOp::Rw,
            rd: x(10),
            csr: Csr::MSTATUS,
            src: CsrSrc::Imm(5)
        }
    );
    assert_eq!(
        op(0x300f_f073), // csrrci zero,mstatus,31
        Op::Csr {
            op: CsrOp::Rc,
            rd: x(0),
            csr: Csr::MSTATUS,
            src: CsrSrc::Imm(31)
        }
    );
    assert_eq!(
        op(0x3005_a073), // csrrs zero,mstatus,a1
        Op::Csr {
            op: CsrOp::Rs,
            rd: x(0),
            csr: Csr::MSTATUS,
            src: CsrSrc::Reg(x(11))
        }
    );
    assert!(CsrSrc::Imm(0).is_zero() && CsrSrc::Reg(x(0)).is_zero() && !CsrSrc::Imm(1).is_zero());
}

#[test]
fn fp_and_atomics() {
    let rne = Rm::Static(RoundingMode::NearestEven);
    assert_eq!(
        op(0x00c5_8553), // fadd.s fa0,fa1,fa2,rne
        Op::FArith {
            op: FArithOp::Add,
            fmt: FpFmt::S,
            rd: f(10),
            rs1: f(11),
            rs2: f(12),
            rm: rne
        }
    );
    assert_eq!(
        op(0xc235_f553), // fcvt.lu.d a0,fa1 (dyn)
        Op::FCvtToInt {
            int: IntFmt::Lu,
            fmt: FpFmt::D,
            rd: x(10),
            rs1: f(11),
            rm: Rm::Dynamic
        }
    );
    // fcvt.d.w with rm = rtz decodes (binutils 2.40 refuses it; hardware and the spec do not).
    assert_eq!(
        op(0xd205_1553),
        Op::FCvtFromInt {
            int: IntFmt::W,
            fmt: FpFmt::D,
            rd: f(10),
            rs1: x(10),
            rm: Rm::Static(RoundingMode::TowardZero)
        }
    );
    assert_eq!(
        op(0x06c5_a52f), // amoadd.w.aqrl a0,a2,(a1)
        Op::Amo {
            op: AmoOp::Add,
            width: AmoWidth::W,
            aq: true,
            rl: true,
            rd: x(10),
            rs1: x(11),
            rs2: x(12)
        }
    );
    assert_eq!(
        op(0x6b85_d513),
        Op::Unary {
            op: UnaryOp::Rev8,
            rd: x(10),
            rs1: x(11)
        }
    );
    // fence with rd/rs1 set: the fields are ignored. fence.tso keeps fm = 8.
    assert_eq!(
        op(0x0ff5_050f),
        Op::Fence {
            pred: FenceSet::IORW,
            succ: FenceSet::IORW,
            fm: 0
        }
    );
    assert_eq!(
        op(0x8330_000f),
        Op::Fence {
            pred: FenceSet::RW,
            succ: FenceSet::RW,
            fm: 8
        }
    );
    assert_eq!(
        decode(0x0100_000f).map(|i| i.extension()),
        Ok(Extension::Zihintpause)
    );
    assert_eq!(op(0x0000_150f), Op::FenceI);
}
