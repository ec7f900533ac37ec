//! Robustness of the RISC-V decoder: for every input, decoding and printing never panic, and the
//! result is consistent with the encoding's length.
#![cfg(feature = "riscv64")]

use proptest::prelude::*;
use vm_frontend::riscv64::{Illegal, Syntax, decode, decode_compressed, decode_full, insn_len};

/// Decodes `raw` and prints it every way; checks the invariants that hold for every word.
fn check(raw: u32, pc: u64) {
    let compressed = raw & 3 != 3;
    match decode(raw) {
        Ok(insn) => {
            assert_eq!(insn.is_compressed(), compressed, "{raw:#010x}");
            assert_eq!(insn.len(), if compressed { 2 } else { 4 });
            assert_eq!(insn_len(raw as u16), Some(insn.len() as usize));
            for syntax in [Syntax::Aliases, Syntax::NoAliases] {
                for text in [
                    insn.display().with_syntax(syntax).to_string(),
                    insn.display_at(pc).with_syntax(syntax).to_string(),
                ] {
                    assert!(
                        !text.is_empty() && !text.starts_with('.'),
                        "{raw:#010x}: `{text}`"
                    );
                    assert_eq!(text.trim(), text);
                }
            }
            let _ = format!("{insn:?} {:?}", insn.extension());
        }
        Err(illegal) => {
            let expected = if compressed { raw & 0xffff } else { raw };
            assert_eq!(illegal, Illegal { raw: expected });
            assert!(!illegal.to_string().is_empty());
            let text = illegal.disasm().to_string();
            assert!(text.starts_with(".2byte") || text.starts_with(".4byte") || text == "unimp");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn any_word_decodes_without_panic(raw in any::<u32>(), pc in any::<u64>()) {
        check(raw, pc);
    }

    #[test]
    fn any_32_bit_instruction_decodes_without_panic(bits in any::<u32>(), pc in any::<u64>()) {
        // Force a 32-bit length so the interesting half of the space is hit every time.
        let raw = (bits | 3) & !(0b111 << 2) | (bits & (0b011 << 2));
        check(raw, pc);
        prop_assert_eq!(decode(raw), decode_full(raw));
    }

    #[test]
    fn compressed_ignores_the_upper_halfword(low in any::<u16>(), high in any::<u16>()) {
        let low = if low & 3 == 3 { low & !1 } else { low };
        let raw = u32::from(low) | (u32::from(high) << 16);
        prop_assert_eq!(decode(raw), decode_compressed(low));
    }
}

#[test]
fn every_halfword() {
    let mut legal = 0;
    for h in 0..=u16::MAX {
        if h & 3 == 3 {
            continue;
        }
        check(u32::from(h), 0x8000_0000);
        legal += usize::from(decode_compressed(h).is_ok());
    }
    // 49152 halfwords with a 16-bit length, minus the reserved ones: c.addi4spn with a zero
    // immediate (8), quadrant 0 funct3 4 (2048), c.addiw with rd = x0 (64), c.lui/c.addi16sp with a
    // zero immediate (32), the two reserved CA points (128), c.lwsp and c.ldsp with rd = x0 (64 each),
    // c.jr with rs1 = x0 (1).
    assert_eq!(legal, 49_152 - (8 + 2048 + 64 + 32 + 128 + 64 + 64 + 1));
}
