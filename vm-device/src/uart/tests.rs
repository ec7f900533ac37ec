use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use vm_core::device::{InterruptLine, MmioDevice, PioDevice};
use vm_core::mem::AccessSize;

use super::bits::*;
use super::reg::*;
use super::*;

/// Records the level and how many times it was driven.
#[derive(Default)]
struct TestLine {
    level: AtomicBool,
    calls: AtomicU32,
}

impl InterruptLine for TestLine {
    fn set_level(&self, high: bool) {
        self.level.store(high, Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl TestLine {
    fn high(&self) -> bool {
        self.level.load(Ordering::SeqCst)
    }
}

struct Rig {
    uart: Uart16550,
    out: CaptureBackend,
    line: Arc<TestLine>,
}

fn rig() -> Rig {
    let out = CaptureBackend::new();
    let line = Arc::new(TestLine::default());
    let uart = Uart16550::new(Box::new(out.clone()), line.clone());
    Rig { uart, out, line }
}

impl Rig {
    fn r(&mut self, index: u64) -> u8 {
        self.uart.read(index, AccessSize::U8) as u8
    }
    fn w(&mut self, index: u64, v: u8) {
        self.uart.write(index, AccessSize::U8, u64::from(v));
    }
}

/// A back end that always fails.
struct Closed;
impl CharBackend for Closed {
    fn write(&mut self, _bytes: &[u8]) -> crate::Result<()> {
        Err(DeviceError::BackendClosed { reason: "test" })
    }
}

#[test]
fn reset_values() {
    let mut t = rig();
    assert_eq!(t.r(IER_DLM), 0x00);
    assert_eq!(t.r(IIR_FCR), 0x01);
    assert_eq!(t.r(LCR), 0x00);
    assert_eq!(t.r(MCR), 0x00);
    assert_eq!(t.r(LSR), 0x60);
    assert_eq!(t.r(MSR), 0xb0);
    assert_eq!(t.r(SCR), 0x00);
    assert_eq!(t.uart.divisor(), 0x000c);
    assert!(!t.line.high());
    assert_eq!(t.line.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn transmit_goes_to_backend() {
    let mut t = rig();
    for b in b"OpenSBI\n" {
        t.w(RBR_THR_DLL, *b);
    }
    assert_eq!(t.out.contents(), b"OpenSBI\n");
    assert_eq!(t.r(LSR), LSR_THRE | LSR_TEMT);
    assert_eq!(t.uart.tx_dropped(), 0);
}

#[test]
fn backend_errors_are_counted_and_kept() {
    let line = Arc::new(TestLine::default());
    let mut uart = Uart16550::new(Box::new(Closed), line);
    uart.write(0, AccessSize::U8, u64::from(b'a'));
    uart.write(0, AccessSize::U8, u64::from(b'b'));
    assert_eq!(uart.tx_dropped(), 2);
    assert!(matches!(
        uart.take_backend_error(),
        Some(DeviceError::BackendClosed { reason: "test" })
    ));
    assert!(uart.take_backend_error().is_none());
}

#[test]
fn divisor_latch() {
    let mut t = rig();
    t.w(IER_DLM, 0x05); // IER while DLAB is clear
    t.w(LCR, LCR_DLAB | 0x03);
    assert_eq!(t.r(LCR), 0x83);
    t.w(RBR_THR_DLL, 0x01);
    t.w(IER_DLM, 0x02);
    assert_eq!(t.r(RBR_THR_DLL), 0x01);
    assert_eq!(t.r(IER_DLM), 0x02);
    assert_eq!(t.uart.divisor(), 0x0201);
    // Nothing was transmitted while the latch was open.
    assert!(t.out.is_empty());
    t.w(LCR, 0x03);
    assert_eq!(t.r(IER_DLM), 0x05);
    assert_eq!(t.uart.divisor(), 0x0201);
}

#[test]
fn ier_keeps_low_nibble_only() {
    let mut t = rig();
    t.w(IER_DLM, 0xff);
    assert_eq!(t.r(IER_DLM), 0x0f);
    t.w(IER_DLM, 0x00);
    assert_eq!(t.r(IER_DLM), 0x00);
}

#[test]
fn scratch_register() {
    let mut t = rig();
    t.w(SCR, 0xa5);
    assert_eq!(t.r(SCR), 0xa5);
    t.w(SCR, 0x5a);
    assert_eq!(t.r(SCR), 0x5a);
}

#[test]
fn receive_without_fifo_and_overrun() {
    let mut t = rig();
    t.w(IER_DLM, IER_RDI | IER_RLSI);
    t.uart.receive(b'x');
    assert!(t.line.high());
    assert_eq!(t.r(IIR_FCR), IIR_RDI);
    assert_eq!(t.r(LSR), LSR_DR | LSR_THRE | LSR_TEMT);
    // A second byte before the first was read overruns and replaces it (16450 behaviour).
    t.uart.receive(b'y');
    assert_eq!(t.r(IIR_FCR), IIR_RLSI);
    assert_eq!(t.r(LSR), LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
    // Reading LSR cleared OE; received data is next.
    assert_eq!(t.r(IIR_FCR), IIR_RDI);
    assert_eq!(t.r(RBR_THR_DLL), b'y');
    assert_eq!(t.r(LSR), LSR_THRE | LSR_TEMT);
    assert_eq!(t.r(IIR_FCR), IIR_NO_INT);
    assert!(!t.line.high());
}

#[test]
fn fifo_enable_and_iir_fifo_bits() {
    let mut t = rig();
    t.w(IIR_FCR, FCR_ENABLE);
    assert_eq!(t.r(IIR_FCR), 0xc1);
    assert_eq!(t.uart.rx_space(), 16);
    t.w(IIR_FCR, 0);
    assert_eq!(t.r(IIR_FCR), 0x01);
    assert_eq!(t.uart.rx_space(), 1);
    // Other FCR bits are ignored without FCR0.
    t.w(IIR_FCR, 0xc0);
    assert_eq!(t.r(IIR_FCR), 0x01);
}

#[test]
fn fifo_overflow_sets_oe_and_keeps_old_data() {
    let mut t = rig();
    t.w(IIR_FCR, FCR_ENABLE);
    t.w(IER_DLM, IER_RDI | IER_RLSI);
    let input: Vec<u8> = (0..17u8).map(|i| b'a' + i).collect();
    t.uart.receive_bytes(&input);
    assert_eq!(t.uart.rx_space(), 0);
    assert_eq!(t.r(IIR_FCR), 0xc0 | IIR_RLSI);
    assert_eq!(t.r(LSR), LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT);
    assert_eq!(t.r(LSR), LSR_DR | LSR_THRE | LSR_TEMT);
    // Trigger level 1: data available, not timeout.
    assert_eq!(t.r(IIR_FCR), 0xc0 | IIR_RDI);
    let got: Vec<u8> = (0..16).map(|_| t.r(RBR_THR_DLL)).collect();
    assert_eq!(got, &input[..16]);
    assert_eq!(t.r(LSR), LSR_THRE | LSR_TEMT);
    assert_eq!(t.r(RBR_THR_DLL), 0);
    assert_eq!(t.r(IIR_FCR), 0xc1);
    assert!(!t.line.high());
}

#[test]
fn fifo_trigger_levels_and_timeout() {
    for (fcr, trigger) in [(0x01u8, 1usize), (0x41, 4), (0x81, 8), (0xc1, 14)] {
        let mut t = rig();
        t.w(IIR_FCR, fcr);
        t.w(IER_DLM, IER_RDI);
        for i in 0..trigger {
            t.uart.receive(i as u8);
            let want = if i + 1 < trigger {
                IIR_TIMEOUT
            } else {
                IIR_RDI
            };
            assert_eq!(t.r(IIR_FCR), 0xc0 | want, "fcr {fcr:#x}, {} bytes", i + 1);
        }
        assert!(t.line.high());
    }
}

#[test]
fn fcr_clear_rx() {
    let mut t = rig();
    t.w(IIR_FCR, FCR_ENABLE);
    t.uart.receive_bytes(b"abc");
    assert_eq!(t.uart.rx_space(), 13);
    t.w(IIR_FCR, FCR_ENABLE | FCR_CLEAR_RX | FCR_CLEAR_TX);
    assert_eq!(t.uart.rx_space(), 16);
    assert_eq!(t.r(LSR), LSR_THRE | LSR_TEMT);
    // Turning the FIFO off empties it too.
    t.uart.receive_bytes(b"de");
    t.w(IIR_FCR, 0);
    assert_eq!(t.r(LSR), LSR_THRE | LSR_TEMT);
}

#[test]
fn thre_interrupt_follows_linux_startup_probe() {
    let mut t = rig();
    t.w(IER_DLM, IER_THRI);
    assert!(t.line.high());
    assert_eq!(t.r(IIR_FCR), IIR_THRI);
    // Reading IIR cleared the THRE condition.
    assert!(!t.line.high());
    assert_eq!(t.r(IIR_FCR), IIR_NO_INT);
    t.w(IER_DLM, 0);
    t.w(IER_DLM, IER_THRI);
    assert_eq!(t.r(IIR_FCR), IIR_THRI);
    // A transmitted byte empties THR again and re-raises it.
    t.w(RBR_THR_DLL, b'z');
    assert!(t.line.high());
    assert_eq!(t.r(IIR_FCR), IIR_THRI);
    assert!(!t.line.high());
}

#[test]
fn interrupt_priorities() {
    let mut t = rig();
    t.w(IIR_FCR, FCR_ENABLE);
    t.w(MCR, MCR_LOOP);
    t.w(MCR, MCR_LOOP | MCR_RTS); // sets DCTS
    t.w(IER_DLM, IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
    for i in 0..17u8 {
        t.w(RBR_THR_DLL, i); // loopback: overflows into OE
    }
    assert_eq!(t.r(IIR_FCR), 0xc0 | IIR_RLSI);
    t.r(LSR);
    assert_eq!(t.r(IIR_FCR), 0xc0 | IIR_RDI);
    for _ in 0..16 {
        t.r(RBR_THR_DLL);
    }
    assert_eq!(t.r(IIR_FCR), 0xc0 | IIR_THRI);
    assert_eq!(t.r(IIR_FCR), 0xc0 | IIR_MSI);
    assert_eq!(t.r(MSR), MSR_CTS | MSR_DCTS | MSR_DDSR | MSR_DDCD);
    assert_eq!(t.r(IIR_FCR), 0xc1);
    assert!(!t.line.high());
}

#[test]
fn loopback_routes_tx_to_rx_and_modem_lines() {
    let mut t = rig();
    t.w(MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
    // Linux's autoconfig loopback check: MSR status nibble 0x90.
    assert_eq!(t.r(MSR) & 0xf0, MSR_DCD | MSR_CTS);
    assert_eq!(t.r(MCR), 0x1a);
    t.w(RBR_THR_DLL, b'L');
    assert!(t.out.is_empty());
    assert_eq!(t.r(LSR), LSR_DR | LSR_THRE | LSR_TEMT);
    assert_eq!(t.r(RBR_THR_DLL), b'L');
    // The serial input is disconnected.
    assert_eq!(t.uart.rx_space(), 0);
    t.uart.receive(b'h');
    assert_eq!(t.r(LSR), LSR_THRE | LSR_TEMT);
    t.w(MCR, 0);
    t.w(RBR_THR_DLL, b'O');
    assert_eq!(t.out.contents(), b"O");
}

#[test]
fn modem_status_deltas() {
    let mut t = rig();
    t.w(MCR, MCR_LOOP); // host inputs (CTS, DSR, DCD) drop to loopback's zeros
    assert_eq!(t.r(MSR), MSR_DCTS | MSR_DDSR | MSR_DDCD);
    assert_eq!(t.r(MSR), 0x00);
    t.w(MCR, MCR_LOOP | MCR_DTR | MCR_OUT1);
    assert_eq!(t.r(MSR), MSR_DSR | MSR_RI | MSR_DDSR);
    t.w(MCR, MCR_LOOP | MCR_DTR); // RI falls: trailing edge
    assert_eq!(t.r(MSR), MSR_DSR | MSR_TERI);
    t.w(IER_DLM, IER_MSI);
    t.w(MCR, MCR_LOOP);
    assert!(t.line.high());
    assert_eq!(t.r(IIR_FCR), IIR_MSI);
    assert_eq!(t.r(MSR), MSR_DDSR);
    assert!(!t.line.high());
}

#[test]
fn disabled_interrupts_do_not_raise_the_line() {
    let mut t = rig();
    t.uart.receive(b'a');
    assert!(!t.line.high());
    assert_eq!(t.r(IIR_FCR), IIR_NO_INT);
    t.w(IER_DLM, IER_RDI);
    assert!(t.line.high());
    t.w(IER_DLM, 0);
    assert!(!t.line.high());
    // The line is driven only on changes.
    assert_eq!(t.line.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn reg_shift_stride_and_wide_accesses() {
    let out = CaptureBackend::new();
    let line = Arc::new(TestLine::default());
    let mut uart = Uart16550::with_reg_shift(Box::new(out.clone()), line.clone(), 2).unwrap();
    uart.write(7 << 2, AccessSize::U32, 0x1234_5677);
    assert_eq!(uart.read(7 << 2, AccessSize::U32), 0x77);
    assert_eq!(uart.read(7 << 2 | 1, AccessSize::U8), 0);
    uart.write(7 << 2 | 1, AccessSize::U8, 0);
    assert_eq!(uart.read(7 << 2, AccessSize::U8), 0x77);
    assert_eq!(uart.read(8 << 2, AccessSize::U8), 0);
    uart.write(0, AccessSize::U32, u64::from(b'Q'));
    assert_eq!(out.contents(), b"Q");
    assert!(matches!(
        Uart16550::with_reg_shift(Box::new(CaptureBackend::new()), line, 4),
        Err(DeviceError::InvalidRegShift { shift: 4, max: 3 })
    ));
}

#[test]
fn port_io_matches_mmio() {
    let mut t = rig();
    t.uart.pio_write(7, AccessSize::U8, 0x42);
    assert_eq!(t.uart.pio_read(7, AccessSize::U8), 0x42);
    t.uart.pio_write(0, AccessSize::U8, u64::from(b'P'));
    assert_eq!(t.out.contents(), b"P");
    assert_eq!(t.uart.pio_read(5, AccessSize::U8), 0x60);
}

#[test]
fn reset_restores_registers() {
    let mut t = rig();
    t.w(IER_DLM, IER_RDI);
    t.w(IIR_FCR, 0xc1);
    t.w(LCR, 0x1b);
    t.w(SCR, 9);
    t.uart.receive(b'r');
    assert!(t.line.high());
    t.uart.reset();
    assert!(!t.line.high());
    assert_eq!(t.r(IER_DLM), 0);
    assert_eq!(t.r(IIR_FCR), 0x01);
    assert_eq!(t.r(LCR), 0);
    assert_eq!(t.r(SCR), 0);
    assert_eq!(t.r(LSR), 0x60);
}

#[test]
fn capture_backend_take() {
    let mut c = CaptureBackend::new();
    c.write(b"ab").unwrap();
    c.write(&[0xff]).unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(c.contents_lossy(), "ab\u{fffd}");
    assert_eq!(c.take(), b"ab\xff");
    assert!(c.is_empty());
}

#[cfg(feature = "std")]
mod host {
    extern crate std;

    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn io_backend_writes_and_flushes() {
        let mut b = IoBackend::new(Vec::new());
        b.write(b"hello").unwrap();
        assert_eq!(b.into_inner(), b"hello");
    }

    #[test]
    fn input_reader_never_overruns() {
        let line = Arc::new(TestLine::default());
        let uart = Arc::new(Mutex::new(Uart16550::new(
            Box::new(CaptureBackend::new()),
            line,
        )));
        {
            let mut u = uart.lock().unwrap();
            u.write(2, AccessSize::U8, u64::from(FCR_ENABLE));
            u.write(1, AccessSize::U8, u64::from(IER_RDI));
        }
        let input: Vec<u8> = (0..200u32).map(|i| (i % 251) as u8).collect();
        let handle = spawn_input_reader(&uart, std::io::Cursor::new(input.clone())).unwrap();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < input.len() && Instant::now() < deadline {
            let mut u = uart.lock().unwrap();
            let lsr = u.read(5, AccessSize::U8) as u8;
            assert_eq!(lsr & LSR_OE, 0, "the reader overran the FIFO");
            if lsr & LSR_DR != 0 {
                got.push(u.read(0, AccessSize::U8) as u8);
            } else {
                drop(u);
                std::thread::yield_now();
            }
        }
        assert_eq!(got, input);
        handle.join().unwrap().unwrap();
    }

    #[test]
    fn input_reader_stops_when_uart_dropped() {
        let line = Arc::new(TestLine::default());
        let uart = Arc::new(Mutex::new(Uart16550::new(
            Box::new(CaptureBackend::new()),
            line,
        )));
        // Two bytes with FIFOs off: the second waits for space, then finds the UART gone.
        let handle = spawn_input_reader(&uart, std::io::Cursor::new(b"ab".to_vec())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while uart.lock().unwrap().rx_space() != 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        drop(uart);
        handle.join().unwrap().unwrap();
    }
}
