//! The entry `_start` (ring 0), the `syscall` entry, the exception stubs, and the [`entry!`](crate::entry)
//! macro.
//!
//! `_start` sets the kernel stack, lets [`kernel`](crate::kernel) install the descriptor tables, then
//! `iretq`s to `rt_user_start` in ring 3 on the user stack (which resets the x87 and SSE control state
//! and calls the program), with `rdi` = 0 (the vCPU) and `rsi` = the zero page the VMM passed.
//!
//! Each trap stub (the 32 exceptions and vector 0x80) pushes a dummy error code where the CPU pushes
//! none, then the vector; the common entry saves the general registers into a
//! [`TrapFrame`](crate::kernel::TrapFrame) on the kernel stack (the TSS's `rsp0`), calls the trap
//! handler, restores the registers (the handler may have changed them: the system call's result in
//! `rax`, the return address) and returns with `iretq`.

use crate::kernel::{USER_CS, USER_DS};

core::arch::global_asm!(
    r#"
    .section .text.boot, "ax", @progbits
    .globl _start
_start:
    cli
    cld
    lea rsp, [rip + __kernel_stack_top]
    mov r12, rsi
    call rt_kernel_setup
    push {user_ds}
    lea rax, [rip + __user_stack_top - 8]
    push rax
    push 0x2
    push {user_cs}
    lea rax, [rip + rt_user_start]
    push rax
    xor edi, edi
    mov rsi, r12
    iretq

    .text
    .macro rt_stub vector, has_error
    .balign 16
rt_trap_\vector:
    .if \has_error == 0
    push 0
    .endif
    push \vector
    jmp rt_trap_common
    .endm

    .irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31,128
    rt_stub \v, 0
    .endr
    .irp v, 8,10,11,12,13,14,17,21,29,30
    rt_stub \v, 1
    .endr

    .balign 16
rt_trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    mov rbx, rsp
    and rsp, -16
    call rt_trap
    mov rsp, rbx
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

    .section .rodata
    .balign 8
    .globl rt_trap_table
rt_trap_table:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
    .quad rt_trap_\v
    .endr
"#,
    user_ds = const USER_DS,
    user_cs = const USER_CS,
);

unsafe extern "C" {
    static __kernel_stack_top: u8;
    static rt_trap_table: [u64; 33];
}

/// Top of the kernel stack (from the linker script).
pub fn kernel_stack_top() -> u64 {
    core::ptr::addr_of!(__kernel_stack_top) as u64
}

/// Addresses of the trap stubs: the 32 exceptions, then vector 0x80 (the system call).
pub fn trap_stubs() -> &'static [u64; 33] {
    // SAFETY: the table is 33 `.quad`s in `.rodata`, written by the assembler and never modified.
    unsafe { &*core::ptr::addr_of!(rt_trap_table) }
}

unsafe extern "Rust" {
    /// The program's entry function, defined by [`entry!`](crate::entry).
    fn __rt_main(hartid: usize, bootinfo: usize) -> u32;
}

/// Ring 3 starts here (from `_start`'s `iretq`).
#[unsafe(no_mangle)]
extern "sysv64" fn rt_user_start(hartid: usize, bootinfo: usize) -> ! {
    let mxcsr: u32 = 0x1f80;
    // SAFETY: `fninit` resets the x87 state (control word 0x37f) and 0x1f80 is MXCSR's reset value
    // (every exception masked, round to nearest); nothing else is live in those registers yet.
    unsafe { core::arch::asm!("fninit", "ldmxcsr [{0}]", in(reg) &mxcsr, options(nostack)) };
    // SAFETY: every binary of this crate defines `__rt_main` with exactly this signature through the
    // `entry!` macro, and this function runs once.
    let code = unsafe { __rt_main(hartid, bootinfo) };
    crate::user::exit(code)
}

/// Declares a program's entry function: `fn(hartid: usize, bootinfo: usize) -> u32`, whose return
/// value is the exit status (0 = pass). `hartid` is the vCPU (0), `bootinfo` the address of the zero
/// page. The signature is the RISC-V runtime's, so that a program's source can serve both.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The entry point the runtime's ring-3 start calls.
        #[unsafe(no_mangle)]
        extern "Rust" fn __rt_main(hartid: usize, bootinfo: usize) -> u32 {
            let main: fn(usize, usize) -> u32 = $main;
            main(hartid, bootinfo)
        }
    };
}
