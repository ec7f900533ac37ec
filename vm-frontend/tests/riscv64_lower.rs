//! Structural tests of the RISC-V lowering through the public API: the test assembler agrees with the
//! objdump-exact disassembler, and for any bytes `decode_block` never panics, returns a block that
//! validates, never writes `x0`, and is accepted and run by the interpreter.
#![cfg(feature = "riscv64")]

mod common;

use common::asm::{self, A0, A1, A2};
use proptest::prelude::*;
use vm_core::exec::{Exception, InsnFetch};
use vm_core::ir::{Place, Reg, Terminator};
use vm_core::regs::riscv64::NUM_SLOTS;
use vm_frontend::riscv64::decode;
use vm_frontend::riscv64::lower::{LowerCtx, decode_block};

/// The objdump text (no aliases) of `word`.
fn dis(word: u32) -> String {
    decode(word)
        .unwrap_or_else(|e| panic!("{e}"))
        .display()
        .no_aliases()
        .to_string()
}

#[test]
fn assembler_matches_disassembler() {
    for &(name, ..) in asm::RR {
        assert_eq!(dis(asm::rr(name)), format!("{name}\ta0,a1,a2"));
    }
    for &(name, ..) in asm::RI {
        // objdump prints shift amounts and bit indices in hex, other immediates in decimal.
        let text = dis(asm::ri(name, 5));
        assert!(
            text == format!("{name}\ta0,a1,5") || text == format!("{name}\ta0,a1,0x5"),
            "{text}"
        );
    }
    for &(name, ..) in asm::UNARY {
        assert_eq!(dis(asm::un(name)), format!("{name}\ta0,a1"));
    }
    assert_eq!(dis(asm::un("zext.h")), "zext.h\ta0,a1");
    for &(name, _) in asm::LOADS {
        assert_eq!(
            dis(asm::load(name, A0, A1, -8)),
            format!("{name}\ta0,-8(a1)")
        );
    }
    for (bytes, name) in [(1, "sb"), (2, "sh"), (4, "sw"), (8, "sd")] {
        assert_eq!(
            dis(asm::store(bytes, A2, A1, 12)),
            format!("{name}\ta2,12(a1)")
        );
    }
    assert_eq!(
        dis(asm::amo("lr", false, true, false, A0, 0, A1)),
        "lr.w.aq\ta0,(a1)"
    );
    assert_eq!(
        dis(asm::amo("sc", true, false, true, A0, A2, A1)),
        "sc.d.rl\ta0,a2,(a1)"
    );
    for &(stem, _) in &asm::AMOS[2..] {
        assert_eq!(
            dis(asm::amo(stem, true, true, true, A0, A2, A1)),
            format!("{stem}.d.aqrl\ta0,a2,(a1)")
        );
    }
    for &(name, _) in asm::BRANCHES {
        assert_eq!(
            dis(asm::branch(name, A1, A2, -4)).split('\t').next(),
            Some(name)
        );
    }
    assert_eq!(dis(asm::jal(1, 8)).split('\t').next(), Some("jal"));
    assert_eq!(dis(asm::jalr(A1, A1, 0)), "jalr\ta1,0(a1)");
    assert_eq!(
        dis(asm::csr(1, false, A0, 0x340, A1)),
        "csrrw\ta0,mscratch,a1"
    );
    assert_eq!(dis(asm::csr(2, true, A0, 0x001, 3)), "csrrsi\ta0,fflags,3");
    assert_eq!(dis(asm::fp(0, 0, 2, 1, 3, 0)), "fadd.s\tft0,ft1,ft2,rup");
    assert_eq!(
        dis(asm::fma(0x4f, 1, 0, 1, 2, 3, 0)),
        "fnmadd.d\tft0,ft1,ft2,ft3,rne"
    );
    assert_eq!(dis(asm::fload(false, 1, A1, 4)), "flw\tft1,4(a1)");
    assert_eq!(dis(asm::fstore(true, 1, A1, -4)), "fsd\tft1,-4(a1)");
}

/// Code at 0x1000 (up to `limit` bytes fetchable); other addresses fault.
struct Bytes<'a> {
    bytes: &'a [u8],
    limit: usize,
}

impl InsnFetch for Bytes<'_> {
    fn fetch(&mut self, vaddr: u64, buf: &mut [u8]) -> Result<(), Exception> {
        let fault = Exception::fetch_fault(vaddr);
        let start = usize::try_from(vaddr.wrapping_sub(0x1000)).map_err(|_| fault)?;
        let end = start.checked_add(buf.len()).ok_or(fault)?;
        if end > self.limit {
            return Err(fault);
        }
        buf.copy_from_slice(self.bytes.get(start..end).ok_or(fault)?);
        Ok(())
    }
}

/// Lowers `bytes` and checks every invariant of the result.
fn check(bytes: &[u8], limit: usize, max_insns: u32, ctx: LowerCtx) {
    let mut fetch = Bytes { bytes, limit };
    let first_len = match bytes {
        [lo, _, ..] if lo & 3 != 3 => 2,
        _ => 4,
    };
    match decode_block(0x1000, &mut fetch, max_insns, ctx) {
        Err(e) => {
            assert!(matches!(e, Exception::Memory { .. }));
            assert!(limit.min(bytes.len()) < first_len, "{e:?}");
        }
        Ok(b) => {
            b.validate().unwrap_or_else(|e| panic!("{e}\n{b}"));
            assert!(b.insn_count >= 1 && b.insn_count <= max_insns.max(1));
            assert!(u64::from(b.guest_len) <= limit.min(bytes.len()) as u64);
            for op in &b.ops {
                assert_ne!(op.dst(), Some(Place::Reg(Reg(0))), "x0 written: {b}");
                op.for_each_operand(|v| {
                    if let vm_core::ir::Value::Reg(r) = v {
                        assert!(r.0 < NUM_SLOTS);
                    }
                });
                if let Some(Place::Reg(r)) = op.dst() {
                    assert!(r.0 < NUM_SLOTS);
                }
            }
            if let Terminator::Jump { target } = b.term {
                // A plain jump that is not control flow continues right after the block.
                let end = b.guest_len as usize;
                let ends_in_jal = bytes
                    .get(end.saturating_sub(4)..end)
                    .is_some_and(|w| w.len() == 4 && w[0] & 0x7f == 0x6f);
                let compressed_j = bytes.get(end.saturating_sub(2)..end).is_some_and(|h| {
                    let h = u16::from_le_bytes([h[0], h[1]]);
                    h & 0xe003 == 0xa001
                });
                if !ends_in_jal && !compressed_j {
                    assert_eq!(target, 0x1000 + u64::from(b.guest_len), "{b}");
                }
            }
        }
    }
}

fn ctx_strategy() -> impl Strategy<Value = LowerCtx> {
    (any::<bool>(), any::<bool>()).prop_map(|(fp_enabled, frm_valid)| LowerCtx {
        fp_enabled,
        frm_valid,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn any_word_lowers_to_a_valid_block(word in any::<u32>(), ctx in ctx_strategy()) {
        let mut bytes = word.to_le_bytes().to_vec();
        bytes.extend_from_slice(&asm::ECALL.to_le_bytes());
        check(&bytes, bytes.len(), 64, ctx);
    }

    #[test]
    fn any_byte_stream_lowers_to_a_valid_block(
        bytes in proptest::collection::vec(any::<u8>(), 0..96),
        cut in 0usize..100,
        max_insns in 0u32..40,
        ctx in ctx_strategy(),
    ) {
        check(&bytes, cut, max_insns, ctx);
    }

    #[test]
    fn likely_instructions_lower_to_valid_blocks(
        words in proptest::collection::vec(
            prop_oneof![
                any::<u32>().prop_map(|w| w | 3),
                // Valid-looking OP-FP, AMO, SYSTEM and OP-32 words.
                any::<u32>().prop_map(|w| (w & !0x7f) | 0x53),
                any::<u32>().prop_map(|w| (w & !0x707f) | 0x302f),
                any::<u32>().prop_map(|w| (w & !0x7f) | 0x73),
                any::<u32>().prop_map(|w| (w & !0x7f) | 0x3b),
            ],
            1..24,
        ),
        ctx in ctx_strategy(),
    ) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        check(&bytes, bytes.len(), 64, ctx);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The interpreter accepts (validates and compiles) and runs every block the lowering makes.
    #[test]
    fn the_interpreter_runs_random_code(
        words in proptest::collection::vec(any::<u32>(), 1..16),
        fp in any::<bool>(),
    ) {
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let r = common::run_bytes(&code, |cpu, _| {
            cpu.fp_enabled = fp;
            cpu.slots[2] = common::DATA;
        });
        // Every run ends on an exception (an illegal word, a fault, ecall...) or the limit, a wait,
        // or a jump out of RAM.
        prop_assert!(r.cpu.trap.is_some() || r.exit != vm_core::exec::Exit::Stopped);
    }
}
