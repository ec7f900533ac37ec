//! Structural tests of the lowering: exact IR for chosen encodings (in the IR's text form), how
//! blocks end, and the fetch rules.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use vm_core::exec::{Exception, InsnFetch};
use vm_core::ir::{Block, Terminator, TrapCause};

use super::{LowerCtx, MAX_BLOCK_INSNS, decode_block};

/// Code at `base`; fetching outside it faults. Records every fetch.
struct Code {
    base: u64,
    bytes: Vec<u8>,
    fetches: Vec<(u64, usize)>,
}

impl Code {
    fn new(base: u64, bytes: Vec<u8>) -> Code {
        Code {
            base,
            bytes,
            fetches: Vec::new(),
        }
    }

    fn words(base: u64, words: &[u32]) -> Code {
        Code::new(base, words.iter().flat_map(|w| w.to_le_bytes()).collect())
    }
}

impl InsnFetch for Code {
    fn fetch(&mut self, vaddr: u64, buf: &mut [u8]) -> Result<(), Exception> {
        self.fetches.push((vaddr, buf.len()));
        let fault = Exception::fetch_fault(vaddr);
        let start =
            usize::try_from(vaddr.checked_sub(self.base).ok_or(fault)?).map_err(|_| fault)?;
        let src = self.bytes.get(start..start + buf.len()).ok_or(fault)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

const ALL: LowerCtx = LowerCtx {
    fp_enabled: true,
    frm_valid: true,
};

fn block(words: &[u32], ctx: LowerCtx) -> Block {
    let mut code = Code::words(0x8000_0000, words);
    let b = decode_block(0x8000_0000, &mut code, 64, ctx).expect("first fetch");
    b.validate().expect("valid block");
    b
}

/// The ops of the block after its header line, as text.
fn text(words: &[u32]) -> String {
    let b = block(words, ALL);
    let full = b.to_string();
    full.lines()
        .skip(1)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn integer_instructions() {
    // addi a0, a0, -1; ecall
    assert_eq!(
        text(&[0xfff5_0513, 0x0000_0073]),
        "; 0x80000000 +4\nr10 = add.i64 r10, 0xffffffffffffffff\n; 0x80000004 +4\ntrap systemcall (0x0)"
    );
    // addw a0, a1, a2
    assert_eq!(
        text(&[0x00c5_853b, 0x0000_0073])
            .lines()
            .take(3)
            .collect::<Vec<_>>(),
        [
            "; 0x80000000 +4",
            "r10 = add.i32 r11, r12",
            "r10 = sext.i32 r10"
        ]
    );
    // sh2add.uw a0, a1, a2
    assert_eq!(
        text(&[0x20c5_c53b, 0x0000_0073])
            .lines()
            .take(4)
            .collect::<Vec<_>>(),
        [
            "; 0x80000000 +4",
            "t0 = zext.i32 r11",
            "t0 = shl.i64 t0, 0x2",
            "r10 = add.i64 t0, r12"
        ]
    );
    // addi x0, x1, 5 (a hint): nothing but the marker. lui a0, 0xfffff: sign-extended.
    assert_eq!(
        text(&[0x0050_8013, 0xffff_f537, 0x0000_0073]),
        "; 0x80000000 +4\n; 0x80000004 +4\nr10 = 0xfffffffffffff000\n; 0x80000008 +4\ntrap systemcall (0x0)"
    );
    // divuw a0, a1, a2 and mulhsu a0, a1, a2.
    let t = text(&[0x02c5_d53b, 0x02c5_a533, 0x0000_0073]);
    assert!(
        t.contains("r10 = divu.i32 r11, r12\nr10 = sext.i32 r10"),
        "{t}"
    );
    assert!(t.contains("r10 = mulhsu.i64 r11, r12"), "{t}");
}

#[test]
fn control_flow_ends_blocks() {
    // jalr ra, 8(ra): the target is computed before ra is written.
    assert_eq!(
        text(&[0x0080_80e7]),
        "; 0x80000000 +4\nt0 = add.i64 r1, 0x8\nt0 = and.i64 t0, 0xfffffffffffffffe\nr1 = 0x80000004\njump t0"
    );
    // bltu a0, a1, -4 after an addi.
    assert_eq!(
        text(&[0x0015_0513, 0xfeb5_6ee3]),
        "; 0x80000000 +4\nr10 = add.i64 r10, 0x1\n; 0x80000004 +4\nt0 = cmp.ltu.i64 r10, r11\nbranch t0 ? 0x80000000 : 0x80000008"
    );
    // jal x0, 16: no link.
    assert_eq!(text(&[0x0100_006f]), "; 0x80000000 +4\njump 0x80000010");
    // ebreak: tval is the PC.
    assert_eq!(
        text(&[0x0000_0013, 0x0010_0073]),
        "; 0x80000000 +4\n; 0x80000004 +4\ntrap breakpoint (0x80000004)"
    );
}

#[test]
fn memory_and_atomics() {
    // lbu x0, 3(a0) still loads; sd a1, -8(sp).
    let t = text(&[0x0035_4003, 0xfeb1_3c23, 0x0000_0073]);
    assert!(t.contains("t0 = load.u8 [r10+3]"), "{t}");
    assert!(t.contains("store.64 [r2-8], r11"), "{t}");
    // lr.w.aq a0, (a1); sc.w.rl a2, a3, (a1); amoadd.d.aqrl a4, a5, (a1)
    let t = text(&[0x1405_a52f, 0x1ad5_a62f, 0x06f5_b72f, 0x0000_0073]);
    assert!(t.contains("r10 = load_reserved.32.acquire [r11]"), "{t}");
    assert!(
        t.contains("r12 = store_conditional.32.release [r11], r13"),
        "{t}"
    );
    assert!(t.contains("r14 = atomic.add.64.seqcst [r11], r15"), "{t}");
    let b = block(&[0x1405_a52f, 0x0000_0073], ALL);
    assert!(matches!(
        b.ops[1],
        vm_core::ir::Op::LoadReserved { mem, .. } if mem.aligned && mem.signed
    ));
    // fence rw,rw / fence r,rw / fence.tso / pause / fence.i
    let t = text(&[
        0x0330_000f,
        0x0230_000f,
        0x8330_000f,
        0x0100_000f,
        0x0000_100f,
    ]);
    assert_eq!(
        t,
        "; 0x80000000 +4\nfence data(seqcst)\n; 0x80000004 +4\nfence data(acquire)\n; 0x80000008 +4\nfence data(acqrel)\n; 0x8000000c +4\n; 0x80000010 +4\nfence instruction\njump 0x80000014"
    );
}

#[test]
fn system_instructions() {
    // csrr a0, mstatus: a read-only access, then a sync.
    let info = crate::riscv64::helpers::csr_info(0x300, 2, true, false);
    assert_eq!(
        text(&[0x3000_2573, 0x0000_0073]),
        alloc::format!(
            "; 0x80000000 +4\nr10 = helper#1 {info:#x}, 0x0, 0x30002573\nsync, then 0x80000004"
        )
    );
    // csrw mscratch, a0 (csrrw x0): writes without reading.
    let info = crate::riscv64::helpers::csr_info(0x340, 1, false, true);
    assert_eq!(
        text(&[0x3405_1073]),
        alloc::format!(
            "; 0x80000000 +4\nhelper#1 {info:#x}, r10, 0x34051073\nsync, then 0x80000004"
        )
    );
    // frflags a0 then fsflags a1: the block goes on.
    let b = block(&[0x0010_2573, 0x0015_9073, 0x0000_0073], ALL);
    assert_eq!(b.insn_count, 3);
    assert_eq!(
        b.term,
        Terminator::Trap {
            cause: TrapCause::SystemCall,
            tval: 0
        }
    );
    // mret, wfi, sfence.vma x0, a0
    assert_eq!(
        text(&[0x3020_0073]),
        "; 0x80000000 +4\nt0 = helper#2 0x0, 0x0, 0x30200073\njump t0"
    );
    assert_eq!(
        text(&[0x1050_0073]),
        "; 0x80000000 +4\nhelper#5 0x0, 0x0, 0x10500073\nwait, then 0x80000004"
    );
    assert_eq!(
        text(&[0x12a0_0073]),
        "; 0x80000000 +4\nhelper#4 0x0, r10, 0x112a00073\nfence translations\nsync, then 0x80000004"
    );
}

#[test]
fn floating_point_instructions() {
    // flw fa0, 4(a0): load, then box. fmv.x.w a0, fa0: sign-extend.
    assert_eq!(
        text(&[0x0045_2507, 0xe005_0553])
            .lines()
            .take(5)
            .collect::<Vec<_>>(),
        [
            "; 0x80000000 +4",
            "r42 = load.u32 [r10+4]",
            "r42 = or.i64 r42, 0xffffffff00000000",
            "; 0x80000004 +4",
            "r10 = sext.i32 r42"
        ]
    );
    // fadd.d fa0, fa1, fa2, rtz / dyn
    let t = text(&[0x02c5_9553, 0x02c5_f553]);
    assert!(
        t.contains("r42 = fadd.f64 r43, r44 (static(towardzero))"),
        "{t}"
    );
    assert!(
        t.contains("r42 = fadd.f64 r43, r44 (dynamic(reg(66)))"),
        "{t}"
    );
    // fcvt.wu.s a0, fa0, rtz: saturating conversion, then sign extension.
    let t = text(&[0xc015_1553]);
    assert!(
        t.contains("r10 = fcvt.u32.f32 r42 (static(towardzero))\nr10 = sext.i32 r10"),
        "{t}"
    );
    // fsgnjn.s fa0, fa1, fa1 (fneg.s): one unboxing for both operands.
    let t = text(&[0x20b5_9553]);
    assert_eq!(t.matches("select").count(), 1, "{t}");
}

#[test]
fn fp_context_rules() {
    let fadd_dyn = 0x02c5_f553; // fadd.d fa0, fa1, fa2 (dyn)
    let fadd_rne = 0x02c5_8553;
    let ill = |raw: u32| Terminator::Trap {
        cause: TrapCause::IllegalInstruction,
        tval: u64::from(raw),
    };
    // FP off: even a load is illegal, after its marker.
    let off = LowerCtx {
        fp_enabled: false,
        frm_valid: true,
    };
    let b = block(&[0x0000_0013, 0x0045_3507], off);
    assert_eq!((b.insn_count, b.term), (2, ill(0x0045_3507)));
    // Invalid frm: only the dynamic rounding mode is illegal.
    let bad_frm = LowerCtx {
        fp_enabled: true,
        frm_valid: false,
    };
    let b = block(&[fadd_rne, fadd_dyn], bad_frm);
    assert_eq!((b.insn_count, b.term), (2, ill(fadd_dyn)));
    // After fsrmi 5 in the same block the check moves to run time.
    let t = text(&[0x0022_d073, fadd_dyn, 0x0000_0073]);
    assert!(
        t.contains("t0 = cmp.gtu.i64 r66, 0x4\ntrap_if t0, illegalinstruction (0x2c5f553)"),
        "{t}"
    );
    let b = block(&[0x0022_d073, fadd_dyn, 0x0000_0073], bad_frm);
    assert_eq!(b.insn_count, 3);
}

#[test]
fn illegal_and_compressed() {
    // c.addi a0, -1; c.unimp (all zero) traps with the halfword.
    let mut code = Code::new(0x1000, [0x7d, 0x15, 0, 0].to_vec());
    let b = decode_block(0x1000, &mut code, 64, ALL).unwrap();
    b.validate().unwrap();
    assert_eq!((b.insn_count, b.guest_len), (2, 4));
    assert_eq!(
        b.term,
        Terminator::Trap {
            cause: TrapCause::IllegalInstruction,
            tval: 0
        }
    );
    // A 48-bit encoding is illegal with its first 32 bits as the value.
    let b = block(&[0x1234_001f], ALL);
    assert_eq!(
        b.term,
        Terminator::Trap {
            cause: TrapCause::IllegalInstruction,
            tval: 0x1234_001f
        }
    );
    // c.jalr a0 links pc + 2.
    let mut code = Code::new(0x1000, [0x02, 0x95].to_vec());
    let b = decode_block(0x1000, &mut code, 64, ALL).unwrap();
    assert!(b.to_string().contains("r1 = 0x1002"), "{b}");
}

#[test]
fn fetch_rules() {
    // A compressed instruction in the last two bytes: its fetch never reads past them, and the
    // block ends before the unfetchable next instruction.
    let mut code = Code::new(0x1000, [0x13, 0, 0, 0, 0x7d, 0x15].to_vec());
    let b = decode_block(0x1000, &mut code, 64, ALL).unwrap();
    b.validate().unwrap();
    assert_eq!(b.term, Terminator::Jump { target: 0x1006 });
    assert_eq!(b.insn_count, 2);
    assert!(
        code.fetches
            .iter()
            .all(|&(a, n)| a + n as u64 <= 0x1006 || a == 0x1006)
    );
    // The first fetch faulting is an error.
    let mut code = Code::new(0x1000, Vec::new());
    assert_eq!(
        decode_block(0x1000, &mut code, 64, ALL),
        Err(Exception::fetch_fault(0x1000))
    );
    // Only the second halfword of the first instruction missing: also the first fetch's error.
    let mut code = Code::new(0x1000, [0x13, 0].to_vec());
    assert_eq!(
        decode_block(0x1000, &mut code, 64, ALL),
        Err(Exception::fetch_fault(0x1002))
    );
    // max_insns, and its bounds.
    let nops = [0x0000_0013u32; 10];
    let mut code = Code::words(0, &nops);
    let b = decode_block(0, &mut code, 3, ALL).unwrap();
    assert_eq!((b.insn_count, b.term), (3, Terminator::Jump { target: 12 }));
    let mut code = Code::words(0, &nops);
    assert_eq!(decode_block(0, &mut code, 0, ALL).unwrap().insn_count, 1);
    let many = alloc::vec![0x0000_0013u32; MAX_BLOCK_INSNS as usize + 8];
    let mut code = Code::words(0, &many);
    let b = decode_block(0, &mut code, u32::MAX, ALL).unwrap();
    assert_eq!(b.insn_count, MAX_BLOCK_INSNS);
    // Wrapping around the top of the address space.
    let mut code = Code::new(u64::MAX - 1, [0x7d, 0x15].to_vec());
    let b = decode_block(u64::MAX - 1, &mut code, 64, ALL).unwrap();
    b.validate().unwrap();
    assert_eq!(b.term, Terminator::Jump { target: 0 });
}

#[test]
fn every_block_validates() {
    // A sample of every instruction class lowered together.
    let words = [
        0x0015_0513u32,
        0x00c5_853b,
        0x02c5_d53b,
        0x0035_4003,
        0xfeb1_3c23,
        0x1405_a52f,
        0x06f5_b72f,
        0x0330_000f,
        0x0010_2573,
        0x0045_2507,
        0x02c5_9553,
        0xc015_1553,
        0x20b5_9553,
        0x20c5_c53b,
        0x6005_1513,
        0x0000_0073,
    ];
    let b = block(&words, ALL);
    assert_eq!(b.insn_count, words.len() as u32);
    let _ = b.to_string();
}
