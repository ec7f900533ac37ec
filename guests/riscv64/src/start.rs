//! The reset entry `_start`, the trap vector, and the [`entry!`](crate::entry) macro.
//!
//! `_start` is placed in `.text.init`, which the linker script puts first, at 0x8000_0000. Harts other
//! than hart 0 park in a `wfi` loop. The trap vector saves every integer register into a
//! [`TrapFrame`](crate::trap::TrapFrame) on the current stack, calls
//! [`trap::dispatch`](crate::trap::dispatch), writes back `mepc` and `mstatus` from the frame, restores
//! the registers and returns with `mret`. Floating-point registers are not saved: trap handlers are
//! integer-only code.

core::arch::global_asm!(
    r#"
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    bnez a0, 3f
    la sp, __stack_top
    la t0, __bss_start
    la t1, __bss_end
1:
    bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:
    la t0, _rt_trap_vector
    csrw mtvec, t0
    csrw mie, zero
    li t0, 0x2000
    csrs mstatus, t0
    csrwi fcsr, 0
    call _rt_start_rust
3:
    wfi
    j 3b

    .text
    .balign 4
    .globl _rt_trap_vector
_rt_trap_vector:
    addi sp, sp, -288
    sd x1, 8(sp)
    sd x3, 24(sp)
    sd x4, 32(sp)
    sd x5, 40(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x8, 64(sp)
    sd x9, 72(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x18, 144(sp)
    sd x19, 152(sp)
    sd x20, 160(sp)
    sd x21, 168(sp)
    sd x22, 176(sp)
    sd x23, 184(sp)
    sd x24, 192(sp)
    sd x25, 200(sp)
    sd x26, 208(sp)
    sd x27, 216(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
    addi t0, sp, 288
    sd t0, 16(sp)
    sd zero, 0(sp)
    csrr t0, mepc
    sd t0, 256(sp)
    csrr t0, mcause
    sd t0, 264(sp)
    csrr t0, mtval
    sd t0, 272(sp)
    csrr t0, mstatus
    sd t0, 280(sp)
    mv a0, sp
    call _rt_trap
    ld t0, 256(sp)
    csrw mepc, t0
    ld t0, 280(sp)
    csrw mstatus, t0
    ld x1, 8(sp)
    ld x3, 24(sp)
    ld x4, 32(sp)
    ld x5, 40(sp)
    ld x6, 48(sp)
    ld x7, 56(sp)
    ld x8, 64(sp)
    ld x9, 72(sp)
    ld x10, 80(sp)
    ld x11, 88(sp)
    ld x12, 96(sp)
    ld x13, 104(sp)
    ld x14, 112(sp)
    ld x15, 120(sp)
    ld x16, 128(sp)
    ld x17, 136(sp)
    ld x18, 144(sp)
    ld x19, 152(sp)
    ld x20, 160(sp)
    ld x21, 168(sp)
    ld x22, 176(sp)
    ld x23, 184(sp)
    ld x24, 192(sp)
    ld x25, 200(sp)
    ld x26, 208(sp)
    ld x27, 216(sp)
    ld x28, 224(sp)
    ld x29, 232(sp)
    ld x30, 240(sp)
    ld x31, 248(sp)
    addi sp, sp, 288
    mret
"#
);

unsafe extern "Rust" {
    /// The program's entry function, defined by [`entry!`](crate::entry).
    fn __rt_main(hartid: usize, dtb: usize) -> u32;
}

/// Called by `_start` on hart 0 once the stack, `.bss`, `mtvec` and the FPU are set up.
#[unsafe(no_mangle)]
extern "C" fn _rt_start_rust(hartid: usize, dtb: usize) -> ! {
    // SAFETY: every binary of this crate defines `__rt_main` with exactly this signature through the
    // `entry!` macro, and `_start` calls this function once.
    let code = unsafe { __rt_main(hartid, dtb) };
    if code == 0 {
        crate::exit::pass()
    } else {
        crate::exit::fail(code)
    }
}

/// Declares a program's entry function: `fn(hartid: usize, dtb: usize) -> u32`, whose return value is
/// the exit status (0 = pass).
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The entry point the runtime's `_start` calls.
        #[unsafe(no_mangle)]
        extern "Rust" fn __rt_main(hartid: usize, dtb: usize) -> u32 {
            let main: fn(usize, usize) -> u32 = $main;
            main(hartid, dtb)
        }
    };
}
