//! Ring 0: descriptor tables, the `syscall` handler, the exception handler and the two devices the
//! runtime drives (the UART at port `0x3f8` and the exit port `0xf4`).
//!
//! Everything here runs with interrupts off, on the kernel stack, and only briefly: under PVM every
//! ring-0 instruction is emulated, by an emulator that knows the general-purpose instructions but not
//! SSE arithmetic. So ring-0 code stays scalar: table and buffer loops use volatile accesses (which
//! the compiler does not vectorise) and the exception report formats its numbers by hand instead of
//! through `core::fmt`. The formatting of everything else happens in ring 3.

use core::ptr::{addr_of, addr_of_mut};

use crate::start;

/// Base port of the 16550 UART (COM1).
pub const UART_PORT: u16 = 0x3f8;
/// Line status register.
const UART_LSR: u16 = UART_PORT + 5;
/// LSR bit: the transmit holding register is empty.
const LSR_THRE: u8 = 1 << 5;
/// The exit port: a byte written here ends the VM with that status.
pub const EXIT_PORT: u16 = 0xf4;

/// GDT selectors. 0x10 and 0x18 are the boot protocol's, so the segment registers the VMM loaded stay
/// valid when the runtime's GDT replaces the VMM's.
pub const KERNEL_CS: u16 = 0x10;
/// Kernel data.
pub const KERNEL_DS: u16 = 0x18;
/// Ring-3 data (RPL 3).
pub const USER_DS: u16 = 0x20 | 3;
/// Ring-3 64-bit code (RPL 3).
pub const USER_CS: u16 = 0x28 | 3;
/// The TSS.
pub const TSS_SEL: u16 = 0x30;

/// The system call vector: `int 0x80`, with the number in `rax`, the arguments in `rdi` and `rsi`,
/// the result in `rax`.
pub const SYSCALL_VECTOR: u8 = 0x80;
/// Opcode bytes of `int 0x80`.
const INT80: [u8; 2] = [0xcd, SYSCALL_VECTOR];
/// #UD.
const VECTOR_UD: u64 = 6;
/// #PF.
const VECTOR_PF: u64 = 14;

/// System call numbers (`rax`).
pub const SYS_WRITE: u64 = 1;
/// End the program with the status in `rdi`.
pub const SYS_EXIT: u64 = 60;
/// Error returned for an unknown system call.
pub const ENOSYS: u64 = u64::MAX - 37;

/// Exception mnemonics, by vector.
const NAMES: [&str; 32] = [
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "?", "#TS", "#NP", "#SS", "#GP",
    "#PF", "?", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "?", "?", "?", "?", "?", "?", "#HV",
    "#VC", "#SX", "?",
];

/// The 64-bit task state segment (only `rsp0` is used: the stack of exceptions from ring 3).
#[repr(C, packed)]
struct Tss {
    _reserved0: u32,
    rsp: [u64; 3],
    _reserved1: u64,
    ist: [u64; 7],
    _reserved2: u64,
    _reserved3: u16,
    iomap_base: u16,
}

/// The descriptor tables, written once by [`setup`] before ring 3 starts.
#[repr(C, align(16))]
struct Tables {
    gdt: [u64; 8],
    idt: [u64; IDT_WORDS],
    tss: Tss,
}

/// The IDT covers vectors 0 to 0x80, two words each.
const IDT_WORDS: usize = 2 * (SYSCALL_VECTOR as usize + 1);

static mut TABLES: Tables = Tables {
    gdt: [0; 8],
    idt: [0; IDT_WORDS],
    tss: Tss {
        _reserved0: 0,
        rsp: [0; 3],
        _reserved1: 0,
        ist: [0; 7],
        _reserved2: 0,
        _reserved3: 0,
        iomap_base: 0,
    },
};

/// A pseudo-descriptor for `lgdt`/`lidt`.
#[repr(C, packed)]
struct Pointer {
    limit: u16,
    base: u64,
}

/// Whether the code runs in ring 0 (the low bits of CS).
pub fn in_ring0() -> bool {
    let cs: u16;
    // SAFETY: reading CS has no side effects.
    unsafe { core::arch::asm!("mov {0:x}, cs", out(reg) cs, options(nomem, nostack)) };
    cs & 3 == 0
}

/// A volatile store (the compiler neither merges nor vectorises it; see the module docs).
fn vstore<T: Copy>(dst: &mut T, value: T) {
    // SAFETY: `dst` is a valid, exclusive reference.
    unsafe { core::ptr::write_volatile(dst, value) }
}

/// A volatile load.
fn vload<T: Copy>(src: &T) -> T {
    // SAFETY: `src` is a valid reference.
    unsafe { core::ptr::read_volatile(src) }
}

/// An interrupt gate to `handler` in the kernel code segment, with privilege `dpl`.
fn gate(handler: u64, dpl: u64) -> [u64; 2] {
    let low = (handler & 0xffff)
        | u64::from(KERNEL_CS) << 16
        | (0x8e | dpl << 5) << 40
        | (handler >> 16 & 0xffff) << 48;
    [low, handler >> 32]
}

/// Install the GDT, TSS and IDT. Called once by `_start` on the kernel stack.
/// (The x87/SSE control state is set in ring 3, by `rt_user_start`: `fninit` and `ldmxcsr` need no
/// privilege, and PVM's ring-0 emulator does not know `ldmxcsr`.)
#[unsafe(no_mangle)]
extern "sysv64" fn rt_kernel_setup() {
    let tables = &raw mut TABLES;
    // SAFETY: `_start` calls this once, in ring 0, before ring 3 or any exception can run, so this is
    // the only reference to `TABLES` while it lives.
    let t = unsafe { &mut *tables };
    vstore(&mut t.gdt[2], 0x00af_9a00_0000_ffff); // kernel code, 64-bit
    vstore(&mut t.gdt[3], 0x00cf_9200_0000_ffff); // kernel data
    vstore(&mut t.gdt[4], 0x00cf_f200_0000_ffff); // user data, DPL 3
    vstore(&mut t.gdt[5], 0x00af_fa00_0000_ffff); // user code, 64-bit, DPL 3
    let tss = addr_of!(t.tss) as u64;
    let limit = (core::mem::size_of::<Tss>() - 1) as u64;
    vstore(
        &mut t.gdt[6],
        limit | (tss & 0xff_ffff) << 16 | 0x89 << 40 | (tss >> 24 & 0xff) << 56,
    );
    vstore(&mut t.gdt[7], tss >> 32);
    // SAFETY: a field of the packed TSS, written unaligned.
    unsafe {
        addr_of_mut!(t.tss.rsp)
            .cast::<u64>()
            .write_unaligned(start::kernel_stack_top())
    };
    // No I/O bitmap: ring 3 has no ports.
    // SAFETY: as above.
    unsafe { addr_of_mut!(t.tss.iomap_base).write_unaligned(core::mem::size_of::<Tss>() as u16) };
    for (i, stub) in start::trap_stubs().iter().enumerate() {
        let vector = if i < 32 { i } else { SYSCALL_VECTOR as usize };
        // Ring 3 may raise #BP (`int3`) and the system call; every other vector comes from the CPU.
        let dpl = if vector == 3 || vector == SYSCALL_VECTOR as usize {
            3
        } else {
            0
        };
        let [low, high] = gate(vload(stub), dpl);
        if let Some([l, h]) = t.idt.get_mut(vector * 2..vector * 2 + 2) {
            vstore(l, low);
            vstore(h, high);
        }
    }
    let (gdt_base, idt_base) = (t.gdt.as_ptr() as u64, t.idt.as_ptr() as u64);
    let gdt = Pointer {
        limit: (8 * 8 - 1) as u16,
        base: gdt_base,
    };
    let idt = Pointer {
        limit: (IDT_WORDS * 8 - 1) as u16,
        base: idt_base,
    };
    // SAFETY: the tables are complete and 'static; the selectors in use (CS 0x10, DS/SS 0x18) mean the
    // same in the new GDT as in the VMM's; the TSS descriptor is available (type 9) before `ltr`.
    unsafe {
        core::arch::asm!(
            "lgdt [{gdt}]",
            "lidt [{idt}]",
            "ltr {tss:x}",
            gdt = in(reg) &gdt,
            idt = in(reg) &idt,
            tss = in(reg) TSS_SEL,
            options(nostack),
        );
    }
}

/// Write one byte to the UART, waiting until it accepts it.
fn uart_putc(b: u8) {
    loop {
        let lsr: u8;
        // SAFETY: ring 0; reading the UART's line status register has no side effects.
        unsafe {
            core::arch::asm!("in al, dx", in("dx") UART_LSR, out("al") lsr, options(nomem, nostack))
        };
        if lsr & LSR_THRE != 0 {
            break;
        }
    }
    // SAFETY: ring 0; writing the transmit holding register sends the byte.
    unsafe {
        core::arch::asm!("out dx, al", in("dx") UART_PORT, in("al") b, options(nomem, nostack))
    };
}

/// End the VM with the low byte of `code` (a non-zero code whose low byte is 0 becomes 1).
fn exit_vm(code: u64) -> ! {
    let byte = match code & 0xff {
        0 if code != 0 => 1,
        b => b as u8,
    };
    loop {
        // SAFETY: ring 0; the exit port ends the VM. If nothing ends it, halt (interrupts are off).
        unsafe {
            core::arch::asm!("out dx, al", "hlt", in("dx") EXIT_PORT, in("al") byte, options(nomem, nostack));
        }
    }
}

/// Write `s` to the UART from ring 0.
fn puts(s: &[u8]) {
    for b in s {
        uart_putc(vload(b));
    }
}

/// Write `v` in hexadecimal (without leading zeros) from ring 0.
fn put_hex(v: u64) {
    let digits = if v == 0 {
        1
    } else {
        16 - v.leading_zeros() / 4
    };
    for i in (0..digits).rev() {
        let nibble = (v >> (i * 4) & 0xf) as u8;
        uart_putc(if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        });
    }
}

/// Write `v` (below 1000) in decimal from ring 0.
fn put_dec(v: u64) {
    if v >= 100 {
        uart_putc(b'0' + (v / 100 % 10) as u8);
    }
    if v >= 10 {
        uart_putc(b'0' + (v / 10 % 10) as u8);
    }
    uart_putc(b'0' + (v % 10) as u8);
}

/// Print `message` from ring 0 and end the VM with `code`.
pub fn report_and_exit(message: &[u8], code: u32) -> ! {
    puts(message);
    exit_vm(u64::from(code))
}

/// A system call: `number` with arguments `a0`, `a1`; returns the result.
fn syscall(number: u64, a0: u64, a1: u64) -> u64 {
    match number {
        SYS_WRITE => {
            let (ptr, len) = (a0 as *const u8, a1 as usize);
            for i in 0..len {
                // SAFETY: ring 3 passed a buffer of its own address space, which is identity-mapped RAM
                // that ring 0 may read; a bad pointer faults and ends the program with a report.
                uart_putc(unsafe { ptr.wrapping_add(i).read_volatile() });
            }
            a1
        }
        SYS_EXIT => exit_vm(a0),
        _ => ENOSYS,
    }
}

/// The registers the trap entry saves (in this order from the lowest address), then what the stub
/// pushes (vector, error code or 0) and what the CPU pushes.
#[repr(C)]
#[expect(missing_docs, reason = "the fields are the registers of the same name")]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Whether the trap is a system call: vector 0x80, or (under PVM, which turns `int 0x80` into #UD
/// for guests that are not PVM kernels) a #UD from ring 3 at an `int 0x80` instruction.
fn is_syscall(frame: &TrapFrame) -> bool {
    if frame.vector == u64::from(SYSCALL_VECTOR) {
        return true;
    }
    if frame.vector != VECTOR_UD || frame.cs & 3 != 3 {
        return false;
    }
    let at = frame.rip as *const u8;
    // SAFETY: the #UD came from fetching and decoding an instruction at `rip`, so its first byte is
    // mapped.
    let b0 = unsafe { at.read_volatile() };
    // SAFETY: as above for the second byte; should a 1-byte instruction end the last mapped page, the
    // read faults in ring 0, which is reported like any fault.
    let b1 = unsafe { at.wrapping_add(1).read_volatile() };
    [b0, b1] == INT80
}

/// The trap handler: serve a system call (and return to ring 3), or report an exception and end.
#[unsafe(no_mangle)]
extern "sysv64" fn rt_trap(frame: &mut TrapFrame) {
    if is_syscall(frame) {
        if frame.vector == VECTOR_UD {
            frame.rip += INT80.len() as u64;
        }
        frame.rax = syscall(frame.rax, frame.rdi, frame.rsi);
        return;
    }
    report_exception(frame)
}

/// Report an exception and end the VM with [`EXIT_EXCEPTION`](crate::EXIT_EXCEPTION): one line,
/// `unexpected exception: vector V (#XX) error 0x.. rip 0x.. cs 0x.. rsp 0x.. cr2 0x..`.
fn report_exception(frame: &TrapFrame) -> ! {
    let vector = frame.vector;
    let name = NAMES.get(vector as usize).copied().unwrap_or("?");
    let cr2: u64;
    // SAFETY: ring 0; reading CR2 has no side effects.
    unsafe { core::arch::asm!("mov {0}, cr2", out(reg) cr2, options(nomem, nostack)) };
    puts(b"unexpected exception: vector ");
    put_dec(vector);
    puts(b" (");
    puts(name.as_bytes());
    puts(b") error 0x");
    put_hex(frame.error);
    puts(b" rip 0x");
    put_hex(frame.rip);
    puts(b" cs 0x");
    put_hex(frame.cs);
    puts(b" rsp 0x");
    put_hex(frame.rsp);
    puts(b" cr2 0x");
    put_hex(if vector == VECTOR_PF { cr2 } else { 0 });
    puts(b"\n");
    exit_vm(u64::from(crate::EXIT_EXCEPTION))
}
