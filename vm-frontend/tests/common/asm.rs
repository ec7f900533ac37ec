//! A minimal RISC-V assembler for the execution tests: the instruction formats, and named
//! constructors by mnemonic. `tests/riscv64_lower.rs` checks every constructor against the crate's
//! objdump-exact disassembler, so a wrong encoding here cannot silently test the wrong instruction.

/// `ecall`.
pub const ECALL: u32 = 0x0000_0073;

/// Register numbers by ABI name.
pub const ZERO: u32 = 0;
/// `ra`.
pub const RA: u32 = 1;
/// `sp`.
pub const SP: u32 = 2;
/// `t0`.
pub const T0: u32 = 5;
/// `a0`.
pub const A0: u32 = 10;
/// `a1`.
pub const A1: u32 = 11;
/// `a2`.
pub const A2: u32 = 12;
/// `a3`.
pub const A3: u32 = 13;
/// `a4`.
pub const A4: u32 = 14;

/// R-type.
pub const fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc
}

/// I-type.
pub const fn i(imm: i32, rs1: u32, f3: u32, rd: u32, opc: u32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc
}

/// S-type.
pub const fn s(imm: i32, rs2: u32, rs1: u32, f3: u32, opc: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7) | opc
}

/// B-type (`offset` in bytes, even).
pub const fn b(offset: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    let o = offset as u32;
    (((o >> 12) & 1) << 31)
        | (((o >> 5) & 0x3f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (f3 << 12)
        | (((o >> 1) & 0xf) << 8)
        | (((o >> 11) & 1) << 7)
        | 0x63
}

/// U-type (`imm` has its low 12 bits clear).
pub const fn u(imm: u32, rd: u32, opc: u32) -> u32 {
    (imm & 0xffff_f000) | (rd << 7) | opc
}

/// `jal rd, offset`.
pub const fn jal(rd: u32, offset: i32) -> u32 {
    let o = offset as u32;
    (((o >> 20) & 1) << 31)
        | (((o >> 1) & 0x3ff) << 21)
        | (((o >> 11) & 1) << 20)
        | (((o >> 12) & 0xff) << 12)
        | (rd << 7)
        | 0x6f
}

/// `jalr rd, offset(rs1)`.
pub const fn jalr(rd: u32, rs1: u32, offset: i32) -> u32 {
    i(offset, rs1, 0, rd, 0x67)
}

/// The register-register instructions of OP and OP-32: (mnemonic, funct7, funct3, opcode).
pub const RR: &[(&str, u32, u32, u32)] = &[
    ("add", 0x00, 0, 0x33),
    ("sub", 0x20, 0, 0x33),
    ("sll", 0x00, 1, 0x33),
    ("slt", 0x00, 2, 0x33),
    ("sltu", 0x00, 3, 0x33),
    ("xor", 0x00, 4, 0x33),
    ("srl", 0x00, 5, 0x33),
    ("sra", 0x20, 5, 0x33),
    ("or", 0x00, 6, 0x33),
    ("and", 0x00, 7, 0x33),
    ("mul", 0x01, 0, 0x33),
    ("mulh", 0x01, 1, 0x33),
    ("mulhsu", 0x01, 2, 0x33),
    ("mulhu", 0x01, 3, 0x33),
    ("div", 0x01, 4, 0x33),
    ("divu", 0x01, 5, 0x33),
    ("rem", 0x01, 6, 0x33),
    ("remu", 0x01, 7, 0x33),
    ("addw", 0x00, 0, 0x3b),
    ("subw", 0x20, 0, 0x3b),
    ("sllw", 0x00, 1, 0x3b),
    ("srlw", 0x00, 5, 0x3b),
    ("sraw", 0x20, 5, 0x3b),
    ("mulw", 0x01, 0, 0x3b),
    ("divw", 0x01, 4, 0x3b),
    ("divuw", 0x01, 5, 0x3b),
    ("remw", 0x01, 6, 0x3b),
    ("remuw", 0x01, 7, 0x3b),
    ("add.uw", 0x04, 0, 0x3b),
    ("sh1add", 0x10, 2, 0x33),
    ("sh2add", 0x10, 4, 0x33),
    ("sh3add", 0x10, 6, 0x33),
    ("sh1add.uw", 0x10, 2, 0x3b),
    ("sh2add.uw", 0x10, 4, 0x3b),
    ("sh3add.uw", 0x10, 6, 0x3b),
    ("andn", 0x20, 7, 0x33),
    ("orn", 0x20, 6, 0x33),
    ("xnor", 0x20, 4, 0x33),
    ("min", 0x05, 4, 0x33),
    ("minu", 0x05, 5, 0x33),
    ("max", 0x05, 6, 0x33),
    ("maxu", 0x05, 7, 0x33),
    ("rol", 0x30, 1, 0x33),
    ("ror", 0x30, 5, 0x33),
    ("rolw", 0x30, 1, 0x3b),
    ("rorw", 0x30, 5, 0x3b),
    ("bclr", 0x24, 1, 0x33),
    ("bext", 0x24, 5, 0x33),
    ("binv", 0x34, 1, 0x33),
    ("bset", 0x14, 1, 0x33),
];

/// `name a0, a1, a2`.
pub fn rr(name: &str) -> u32 {
    let &(_, f7, f3, opc) = RR
        .iter()
        .find(|e| e.0 == name)
        .unwrap_or_else(|| panic!("no R-type {name}"));
    r(f7, A2, A1, f3, A0, opc)
}

/// The register-immediate instructions: (mnemonic, funct3, opcode, high bits OR-ed into the
/// immediate field for the shifts and Zbb/Zbs immediates).
pub const RI: &[(&str, u32, u32, u32)] = &[
    ("addi", 0, 0x13, 0),
    ("slti", 2, 0x13, 0),
    ("sltiu", 3, 0x13, 0),
    ("xori", 4, 0x13, 0),
    ("ori", 6, 0x13, 0),
    ("andi", 7, 0x13, 0),
    ("slli", 1, 0x13, 0x000),
    ("srli", 5, 0x13, 0x000),
    ("srai", 5, 0x13, 0x400),
    ("addiw", 0, 0x1b, 0),
    ("slliw", 1, 0x1b, 0x000),
    ("srliw", 5, 0x1b, 0x000),
    ("sraiw", 5, 0x1b, 0x400),
    ("slli.uw", 1, 0x1b, 0x080),
    ("rori", 5, 0x13, 0x600),
    ("roriw", 5, 0x1b, 0x600),
    ("bclri", 1, 0x13, 0x480),
    ("bexti", 5, 0x13, 0x480),
    ("binvi", 1, 0x13, 0x680),
    ("bseti", 1, 0x13, 0x280),
];

/// `name a0, a1, imm`.
pub fn ri(name: &str, imm: i32) -> u32 {
    let &(_, f3, opc, high) = RI
        .iter()
        .find(|e| e.0 == name)
        .unwrap_or_else(|| panic!("no I-type {name}"));
    i(imm | high as i32, A1, f3, A0, opc)
}

/// The one-operand Zbb instructions: (mnemonic, immediate field, funct3, opcode).
pub const UNARY: &[(&str, u32, u32, u32)] = &[
    ("clz", 0x600, 1, 0x13),
    ("ctz", 0x601, 1, 0x13),
    ("cpop", 0x602, 1, 0x13),
    ("sext.b", 0x604, 1, 0x13),
    ("sext.h", 0x605, 1, 0x13),
    ("clzw", 0x600, 1, 0x1b),
    ("ctzw", 0x601, 1, 0x1b),
    ("cpopw", 0x602, 1, 0x1b),
    ("orc.b", 0x287, 5, 0x13),
    ("rev8", 0x6b8, 5, 0x13),
];

/// `name a0, a1` (`zext.h` is R-type: `0x080 << 20` in OP-32).
pub fn un(name: &str) -> u32 {
    if name == "zext.h" {
        return r(0x04, 0, A1, 4, A0, 0x3b);
    }
    let &(_, imm, f3, opc) = UNARY
        .iter()
        .find(|e| e.0 == name)
        .unwrap_or_else(|| panic!("no unary {name}"));
    i(imm as i32, A1, f3, A0, opc)
}

/// Loads: (mnemonic, funct3).
pub const LOADS: &[(&str, u32)] = &[
    ("lb", 0),
    ("lh", 1),
    ("lw", 2),
    ("ld", 3),
    ("lbu", 4),
    ("lhu", 5),
    ("lwu", 6),
];

/// `name rd, offset(rs1)`.
pub fn load(name: &str, rd: u32, rs1: u32, offset: i32) -> u32 {
    let &(_, f3) = LOADS.iter().find(|e| e.0 == name).expect("load");
    i(offset, rs1, f3, rd, 0x03)
}

/// `s{b,h,w,d} rs2, offset(rs1)` by width in bytes.
pub fn store(bytes: u32, rs2: u32, rs1: u32, offset: i32) -> u32 {
    s(offset, rs2, rs1, bytes.trailing_zeros(), 0x23)
}

/// AMO funct5 by mnemonic stem.
pub const AMOS: &[(&str, u32)] = &[
    ("lr", 0x02),
    ("sc", 0x03),
    ("amoswap", 0x01),
    ("amoadd", 0x00),
    ("amoxor", 0x04),
    ("amoand", 0x0c),
    ("amoor", 0x08),
    ("amomin", 0x10),
    ("amomax", 0x14),
    ("amominu", 0x18),
    ("amomaxu", 0x1c),
];

/// `stem.{w,d}[.aq][.rl] rd, rs2, (rs1)` (`rs2` = 0 for `lr`).
pub fn amo(stem: &str, double: bool, aq: bool, rl: bool, rd: u32, rs2: u32, rs1: u32) -> u32 {
    let &(_, f5) = AMOS.iter().find(|e| e.0 == stem).expect("amo");
    let f7 = (f5 << 2) | (u32::from(aq) << 1) | u32::from(rl);
    r(f7, rs2, rs1, if double { 3 } else { 2 }, rd, 0x2f)
}

/// Branches: (mnemonic, funct3).
pub const BRANCHES: &[(&str, u32)] = &[
    ("beq", 0),
    ("bne", 1),
    ("blt", 4),
    ("bge", 5),
    ("bltu", 6),
    ("bgeu", 7),
];

/// `name rs1, rs2, offset`.
pub fn branch(name: &str, rs1: u32, rs2: u32, offset: i32) -> u32 {
    let &(_, f3) = BRANCHES.iter().find(|e| e.0 == name).expect("branch");
    b(offset, rs2, rs1, f3)
}

/// `csrr{w,s,c}[i] rd, csr, src` (`imm` selects the immediate forms; `src` is then the value).
pub fn csr(op: u32, imm: bool, rd: u32, csr: u32, src: u32) -> u32 {
    i(csr as i32, src, op | if imm { 4 } else { 0 }, rd, 0x73)
}

/// Rounding-mode field values.
pub mod rm {
    /// Round to nearest, ties to even.
    pub const RNE: u32 = 0;
    /// Toward zero.
    pub const RTZ: u32 = 1;
    /// Down.
    pub const RDN: u32 = 2;
    /// Up.
    pub const RUP: u32 = 3;
    /// Nearest, ties to max magnitude.
    pub const RMM: u32 = 4;
    /// Dynamic (`frm`).
    pub const DYN: u32 = 7;
    /// All five static modes, in the order above.
    pub const STATIC: [u32; 5] = [RNE, RTZ, RDN, RUP, RMM];
}

/// OP-FP: `funct5`, format (0 S, 1 D), `rs2`, `rs1`, funct3 (rounding mode or variant), `rd`.
pub const fn fp(f5: u32, fmt: u32, rs2: u32, rs1: u32, f3: u32, rd: u32) -> u32 {
    r((f5 << 2) | fmt, rs2, rs1, f3, rd, 0x53)
}

/// Fused multiply-add: `opc` is 0x43 (fmadd), 0x47 (fmsub), 0x4b (fnmsub) or 0x4f (fnmadd).
pub const fn fma(opc: u32, fmt: u32, rd: u32, rs1: u32, rs2: u32, rs3: u32, rm: u32) -> u32 {
    (rs3 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | opc
}

/// `flw`/`fld rd, offset(rs1)`.
pub const fn fload(double: bool, rd: u32, rs1: u32, offset: i32) -> u32 {
    i(offset, rs1, if double { 3 } else { 2 }, rd, 0x07)
}

/// `fsw`/`fsd rs2, offset(rs1)`.
pub const fn fstore(double: bool, rs2: u32, rs1: u32, offset: i32) -> u32 {
    s(offset, rs2, rs1, if double { 3 } else { 2 }, 0x27)
}
