//! Ring 3: system calls, the console macros and the program's exit.

use core::fmt;

use crate::kernel::{SYS_EXIT, SYS_WRITE};

/// System call `number` with up to two arguments (`int 0x80`); returns `rax`.
pub fn syscall2(number: u64, a0: u64, a1: u64) -> u64 {
    let ret: u64;
    // SAFETY: `int 0x80` enters the runtime's ring-0 trap handler, which reads only the arguments (a
    // buffer of this program's memory for `write`), sets `rax` and returns with every other register
    // as it was.
    unsafe {
        core::arch::asm!(
            "int 0x80",
            inlateout("rax") number => ret,
            in("rdi") a0,
            in("rsi") a1,
            options(nostack),
        );
    }
    ret
}

/// Writes `bytes` to the console (through ring 0); returns the number of bytes written.
pub fn write(bytes: &[u8]) -> u64 {
    syscall2(SYS_WRITE, bytes.as_ptr() as u64, bytes.len() as u64)
}

/// Ends the program (and the VM) with status `code`: its low byte, except that a non-zero code whose
/// low byte is 0 becomes 1, so a failure never reads as a pass.
pub fn exit(code: u32) -> ! {
    syscall2(SYS_EXIT, u64::from(code), 0);
    // The exit system call does not return; if it did, spin rather than run off the end.
    loop {
        core::hint::spin_loop();
    }
}

/// The console, as a [`fmt::Write`] sink. Each `write!` is buffered into system calls of up to 256
/// bytes (ring 0 costs far more per call than per byte).
pub struct Console {
    buf: [u8; 256],
    len: usize,
}

impl Console {
    /// An empty buffer.
    pub const fn new() -> Self {
        Self {
            buf: [0; 256],
            len: 0,
        }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            write(self.buf.get(..self.len).unwrap_or_default());
        }
        self.len = 0;
    }
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// Prints formatted text on the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut console = $crate::user::Console::new();
        let _ = write!(console, $($arg)*);
        console.flush();
    }};
}

/// Prints formatted text and a newline (`\n` only) on the console.
#[macro_export]
macro_rules! println {
    () => {{ $crate::user::write(b"\n"); }};
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut console = $crate::user::Console::new();
        let _ = writeln!(console, $($arg)*);
        console.flush();
    }};
}
