//! Polled output on QEMU virt's NS16550A UART0 at 0x1000_0000.

use core::fmt;

/// Base address of UART0.
pub const UART0: usize = 0x1000_0000;
/// Transmit holding register offset.
const THR: usize = 0;
/// Line status register offset.
const LSR: usize = 5;
/// LSR bit: the transmit holding register is empty.
const LSR_THRE: u8 = 1 << 5;

/// Writes one byte, waiting until the transmitter accepts it.
pub fn putc(b: u8) {
    let lsr = (UART0 + LSR) as *const u8;
    let thr = (UART0 + THR) as *mut u8;
    // SAFETY: UART0 is a device register block of QEMU virt's (and the project's) memory map; byte
    // accesses to LSR and THR have no effect beyond the UART.
    while unsafe { lsr.read_volatile() } & LSR_THRE == 0 {}
    // SAFETY: as above.
    unsafe { thr.write_volatile(b) };
}

/// Writes every byte of `s`.
pub fn puts(s: &[u8]) {
    for &b in s {
        putc(b);
    }
}

/// The console, as a [`fmt::Write`] sink.
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        puts(s.as_bytes());
        Ok(())
    }
}

/// Prints formatted text on UART0.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::uart::Console, $($arg)*);
    }};
}

/// Prints formatted text and a newline (`\n` only) on UART0.
#[macro_export]
macro_rules! println {
    () => { $crate::uart::putc(b'\n') };
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::uart::Console, $($arg)*);
    }};
}
