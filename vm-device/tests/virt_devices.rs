//! The devices of a QEMU `virt` machine on one MMIO bus, driven the way firmware drives them.
#![cfg(feature = "std")]

use std::sync::{Arc, Mutex};

use vm_core::GuestPhysAddr;
use vm_core::device::{Bus, BusError};
use vm_core::mem::AccessSize;
use vm_device::bus::MmioBus;
use vm_device::clint::{CLINT_SIZE, Clint, ManualClock};
use vm_device::plic::{Plic, PlicMode};
use vm_device::test_finisher::{PowerControl, PowerEvent, TEST_FINISHER_SIZE, TestFinisher};
use vm_device::uart::{CaptureBackend, UART_MMIO_SIZE, Uart16550};

const TEST: u64 = 0x10_0000;
const CLINT: u64 = 0x200_0000;
const PLIC: u64 = 0xc00_0000;
const UART0: u64 = 0x1000_0000;
const UART0_IRQ: u32 = 10;

struct Virt {
    bus: MmioBus,
    console: CaptureBackend,
    uart: Arc<Mutex<Uart16550>>,
    plic: Plic,
    clint: Clint,
    clock: Arc<ManualClock>,
    power: PowerControl,
}

fn virt(harts: usize) -> Virt {
    let clock = Arc::new(ManualClock::new(0));
    let clint = Clint::new(harts, clock.clone()).unwrap();
    let plic = Plic::new(harts).unwrap();
    let console = CaptureBackend::new();
    let uart = Arc::new(Mutex::new(Uart16550::new(
        Box::new(console.clone()),
        plic.line(UART0_IRQ).unwrap(),
    )));
    let power = PowerControl::new();
    let mut bus = MmioBus::new();
    bus.insert(
        GuestPhysAddr(TEST),
        TEST_FINISHER_SIZE,
        Arc::new(Mutex::new(TestFinisher::new(power.clone()))),
    )
    .unwrap();
    bus.insert(
        GuestPhysAddr(CLINT),
        CLINT_SIZE,
        Arc::new(Mutex::new(clint.clone())),
    )
    .unwrap();
    bus.insert(
        GuestPhysAddr(PLIC),
        plic.mmio_size(),
        Arc::new(Mutex::new(plic.clone())),
    )
    .unwrap();
    bus.insert(GuestPhysAddr(UART0), UART_MMIO_SIZE, uart.clone())
        .unwrap();
    Virt {
        bus,
        console,
        uart,
        plic,
        clint,
        clock,
        power,
    }
}

impl Virt {
    fn w8(&self, addr: u64, v: u8) {
        self.bus
            .write(GuestPhysAddr(addr), AccessSize::U8, u64::from(v))
            .unwrap();
    }
    fn r8(&self, addr: u64) -> u8 {
        self.bus.read(GuestPhysAddr(addr), AccessSize::U8).unwrap() as u8
    }
    fn w32(&self, addr: u64, v: u32) {
        self.bus
            .write(GuestPhysAddr(addr), AccessSize::U32, u64::from(v))
            .unwrap();
    }
    fn r32(&self, addr: u64) -> u32 {
        self.bus.read(GuestPhysAddr(addr), AccessSize::U32).unwrap() as u32
    }
    fn w64(&self, addr: u64, v: u64) {
        self.bus
            .write(GuestPhysAddr(addr), AccessSize::U64, v)
            .unwrap();
    }
    fn r64(&self, addr: u64) -> u64 {
        self.bus.read(GuestPhysAddr(addr), AccessSize::U64).unwrap()
    }
}

/// OpenSBI's uart8250 driver: program the divisor and line, poll LSR.THRE, write THR.
#[test]
fn firmware_console_output() {
    let m = virt(1);
    m.w8(UART0 + 3, 0x80);
    m.w8(UART0, 0x01);
    m.w8(UART0 + 1, 0x00);
    m.w8(UART0 + 3, 0x03);
    m.w8(UART0 + 2, 0x01);
    for b in b"OpenSBI v1.5\n" {
        while m.r8(UART0 + 5) & 0x20 == 0 {}
        m.w8(UART0, *b);
    }
    assert_eq!(m.console.contents_lossy(), "OpenSBI v1.5\n");
    assert_eq!(m.uart.lock().unwrap().divisor(), 1);
}

/// Host input raises PLIC source 10 in the S-mode context; the handler claims, drains RBR, completes.
#[test]
fn console_input_through_plic() {
    let m = virt(2);
    let ctx = m.plic.context(1, PlicMode::Supervisor).unwrap();
    let ctx_page = PLIC + 0x20_0000 + 0x1000 * ctx as u64;
    m.w32(PLIC + 4 * u64::from(UART0_IRQ), 1);
    m.w32(PLIC + 0x2000 + 0x80 * ctx as u64, 1 << UART0_IRQ);
    m.w32(ctx_page, 0);
    m.w8(UART0 + 2, 0x81); // FIFO, trigger level 8
    m.w8(UART0 + 1, 0x01); // RDI
    assert!(!m.plic.context_pending(ctx));

    m.uart.lock().unwrap().receive_bytes(b"ls\r");
    assert!(m.plic.context_pending(ctx));
    assert!(
        !m.plic
            .context_pending(m.plic.context(0, PlicMode::Supervisor).unwrap())
    );

    assert_eq!(m.r32(ctx_page + 4), UART0_IRQ);
    assert_eq!(m.r8(UART0 + 2), 0xcc); // character timeout: 3 bytes < trigger level 8
    let mut got = Vec::new();
    while m.r8(UART0 + 5) & 0x01 != 0 {
        got.push(m.r8(UART0));
    }
    assert_eq!(got, b"ls\r");
    assert_eq!(m.r8(UART0 + 2), 0xc1);
    m.w32(ctx_page + 4, UART0_IRQ);
    assert!(!m.plic.context_pending(ctx));
    assert_eq!(m.r32(ctx_page + 4), 0);
}

/// SBI timer and IPI paths through the CLINT.
#[test]
fn timer_and_ipi() {
    let m = virt(2);
    m.clock.set(1_000);
    assert_eq!(m.r64(CLINT + 0xbff8), 1_000);
    m.w64(CLINT + 0x4008, 1_500);
    assert!(!m.clint.timer_pending(1));
    m.clock.advance(500);
    assert!(m.clint.timer_pending(1));
    assert!(!m.clint.timer_pending(0));
    m.w32(CLINT + 0x4, 1);
    assert!(m.clint.msip_pending(1));
    assert!(!m.clint.msip_pending(0));
    m.w32(CLINT + 0x4, 0);
    assert!(!m.clint.msip_pending(1));
}

#[test]
fn finisher_and_bus_errors() {
    let m = virt(1);
    assert_eq!(
        m.bus.read(GuestPhysAddr(UART0 + 0xfc), AccessSize::U64),
        Err(BusError::CrossesBoundary {
            addr: UART0 + 0xfc,
            size: AccessSize::U64
        })
    );
    assert_eq!(
        m.bus.read(GuestPhysAddr(0x3000_0000), AccessSize::U32),
        Err(BusError::NoDevice { addr: 0x3000_0000 })
    );
    assert_eq!(m.power.peek(), None);
    m.w32(TEST, (7 << 16) | 0x3333);
    assert_eq!(m.power.take(), Some(PowerEvent::Fail { code: 7 }));
    m.w32(TEST, 0x5555);
    assert_eq!(m.power.take().and_then(PowerEvent::exit_code), Some(0));
}
