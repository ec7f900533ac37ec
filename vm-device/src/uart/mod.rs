//! NS16550A UART, as on QEMU's `virt` machine (MMIO) and the PC's COM1 (port I/O at 0x3f8).
//!
//! The model covers what OpenSBI's `uart8250` driver and Linux's 8250 driver use: RBR/THR, IER, IIR/FCR
//! with a 16-byte receive FIFO and trigger levels, LCR with the divisor latch, MCR with loopback, LSR,
//! MSR with delta bits, SCR and DLL/DLM. Registers are one byte wide; the register stride is
//! `1 << reg_shift` bytes (0 on QEMU `virt` and on port I/O).
//!
//! Transmission is instantaneous: a byte written to THR goes straight to the [`CharBackend`], so THR and
//! the transmitter are always empty (LSR.THRE and LSR.TEMT stay set) and the THR-empty interrupt is
//! raised again right after each write, as QEMU does. Received bytes come from the host through
//! [`Uart16550::receive`]; when the FIFO is full the byte is lost and LSR.OE is set, as on hardware.
//! Hosts that must not lose input pace themselves with [`Uart16550::rx_space`] (the standard-library
//! stdin reader does).
//!
//! Interrupt identification follows the 16550 priorities: receiver line status, received data (the
//! character-timeout code 0xC when the FIFO holds fewer bytes than the trigger level — there is no line
//! timing to wait for, so it is reported at once), THR empty, modem status. The interrupt output is a
//! level: it follows "IIR reports an interrupt" and drives the [`InterruptLine`] on every change.
//!
//! Accesses wider than one byte reach the register at their offset with the low byte of the value;
//! offsets that are not a multiple of the stride, or past the eighth register, read 0 and ignore writes.

mod backend;
#[cfg(feature = "std")]
mod host;
#[cfg(test)]
mod tests;

use alloc::boxed::Box;
use alloc::sync::Arc;

use vm_core::device::{InterruptLine, MmioDevice, PioDevice};
use vm_core::mem::AccessSize;

pub use backend::{CaptureBackend, CharBackend};
#[cfg(feature = "std")]
pub use host::{IoBackend, spawn_input_reader, spawn_stdin_reader};

use crate::error::{DeviceError, Result};

/// Size of the MMIO window QEMU `virt` gives the UART.
pub const UART_MMIO_SIZE: u64 = 0x100;
/// Number of byte registers (before the stride is applied).
pub const UART_NUM_REGS: u64 = 8;
/// Depth of the receive FIFO.
pub const UART_FIFO_SIZE: usize = 16;
/// Largest supported register shift (a stride of 8 bytes).
pub const UART_MAX_REG_SHIFT: u8 = 3;

/// Register indexes (before the stride is applied).
pub mod reg {
    /// Receiver buffer (read) / transmitter holding (write); divisor latch low with LCR.DLAB.
    pub const RBR_THR_DLL: u64 = 0;
    /// Interrupt enable; divisor latch high with LCR.DLAB.
    pub const IER_DLM: u64 = 1;
    /// Interrupt identification (read) / FIFO control (write).
    pub const IIR_FCR: u64 = 2;
    /// Line control.
    pub const LCR: u64 = 3;
    /// Modem control.
    pub const MCR: u64 = 4;
    /// Line status.
    pub const LSR: u64 = 5;
    /// Modem status.
    pub const MSR: u64 = 6;
    /// Scratch.
    pub const SCR: u64 = 7;
}

/// Register bits.
pub mod bits {
    /// IER: received data available.
    pub const IER_RDI: u8 = 0x01;
    /// IER: transmitter holding register empty.
    pub const IER_THRI: u8 = 0x02;
    /// IER: receiver line status.
    pub const IER_RLSI: u8 = 0x04;
    /// IER: modem status.
    pub const IER_MSI: u8 = 0x08;

    /// IIR: no interrupt pending.
    pub const IIR_NO_INT: u8 = 0x01;
    /// IIR: modem status.
    pub const IIR_MSI: u8 = 0x00;
    /// IIR: transmitter holding register empty.
    pub const IIR_THRI: u8 = 0x02;
    /// IIR: received data available (trigger level reached).
    pub const IIR_RDI: u8 = 0x04;
    /// IIR: receiver line status.
    pub const IIR_RLSI: u8 = 0x06;
    /// IIR: character timeout (FIFO holds data below the trigger level).
    pub const IIR_TIMEOUT: u8 = 0x0c;
    /// IIR: FIFOs enabled (both bits).
    pub const IIR_FIFO_ENABLED: u8 = 0xc0;

    /// FCR: enable the FIFOs.
    pub const FCR_ENABLE: u8 = 0x01;
    /// FCR: clear the receive FIFO.
    pub const FCR_CLEAR_RX: u8 = 0x02;
    /// FCR: clear the transmit FIFO.
    pub const FCR_CLEAR_TX: u8 = 0x04;
    /// FCR: DMA mode select (stored, no effect).
    pub const FCR_DMA: u8 = 0x08;
    /// FCR: receive trigger level field.
    pub const FCR_TRIGGER: u8 = 0xc0;

    /// LCR: divisor latch access.
    pub const LCR_DLAB: u8 = 0x80;

    /// MCR: data terminal ready.
    pub const MCR_DTR: u8 = 0x01;
    /// MCR: request to send.
    pub const MCR_RTS: u8 = 0x02;
    /// MCR: OUT1.
    pub const MCR_OUT1: u8 = 0x04;
    /// MCR: OUT2.
    pub const MCR_OUT2: u8 = 0x08;
    /// MCR: loopback.
    pub const MCR_LOOP: u8 = 0x10;

    /// LSR: data ready.
    pub const LSR_DR: u8 = 0x01;
    /// LSR: overrun error.
    pub const LSR_OE: u8 = 0x02;
    /// LSR: transmitter holding register empty.
    pub const LSR_THRE: u8 = 0x20;
    /// LSR: transmitter empty.
    pub const LSR_TEMT: u8 = 0x40;

    /// MSR: delta clear to send.
    pub const MSR_DCTS: u8 = 0x01;
    /// MSR: delta data set ready.
    pub const MSR_DDSR: u8 = 0x02;
    /// MSR: trailing edge of ring indicator.
    pub const MSR_TERI: u8 = 0x04;
    /// MSR: delta data carrier detect.
    pub const MSR_DDCD: u8 = 0x08;
    /// MSR: clear to send.
    pub const MSR_CTS: u8 = 0x10;
    /// MSR: data set ready.
    pub const MSR_DSR: u8 = 0x20;
    /// MSR: ring indicator.
    pub const MSR_RI: u8 = 0x40;
    /// MSR: data carrier detect.
    pub const MSR_DCD: u8 = 0x80;
}

use bits::*;

/// Modem inputs seen outside loopback: a host console is always "connected" (as QEMU reports).
const HOST_MODEM_INPUTS: u8 = MSR_DCD | MSR_DSR | MSR_CTS;

/// The receive FIFO: a ring of [`UART_FIFO_SIZE`] bytes.
#[derive(Clone, Debug, Default)]
struct RxFifo {
    buf: [u8; UART_FIFO_SIZE],
    head: usize,
    len: usize,
}

impl RxFifo {
    fn push(&mut self, byte: u8) {
        let tail = (self.head + self.len) % UART_FIFO_SIZE;
        if let Some(slot) = self.buf.get_mut(tail) {
            *slot = byte;
        }
        self.len = (self.len + 1).min(UART_FIFO_SIZE);
    }

    fn pop(&mut self) -> Option<u8> {
        if self.len == 0 {
            return None;
        }
        let byte = self.buf.get(self.head).copied();
        self.head = (self.head + 1) % UART_FIFO_SIZE;
        self.len -= 1;
        byte
    }

    /// Replace the newest byte (16450 mode overrun overwrites the holding register).
    fn overwrite_last(&mut self, byte: u8) {
        if let Some(i) = self.len.checked_sub(1)
            && let Some(slot) = self.buf.get_mut((self.head + i) % UART_FIFO_SIZE)
        {
            *slot = byte;
        }
    }

    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

/// An NS16550A UART; see the module docs.
pub struct Uart16550 {
    reg_shift: u8,
    rx: RxFifo,
    ier: u8,
    fcr: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    dll: u8,
    dlm: u8,
    overrun: bool,
    /// MSR delta bits (low nibble).
    msr_delta: u8,
    /// THR-empty interrupt condition, cleared by reading IIR while it is the reported source.
    thr_pending: bool,
    irq_level: bool,
    irq: Arc<dyn InterruptLine>,
    backend: Box<dyn CharBackend>,
    tx_dropped: u64,
    backend_error: Option<DeviceError>,
}

impl core::fmt::Debug for Uart16550 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Uart16550")
            .field("reg_shift", &self.reg_shift)
            .field("rx_len", &self.rx.len)
            .field("ier", &self.ier)
            .field("fcr", &self.fcr)
            .field("lcr", &self.lcr)
            .field("mcr", &self.mcr)
            .field("irq_level", &self.irq_level)
            .finish_non_exhaustive()
    }
}

impl Uart16550 {
    /// A UART with one-byte register stride (QEMU `virt`, x86 port I/O), writing to `backend` and
    /// interrupting through `irq`.
    pub fn new(backend: Box<dyn CharBackend>, irq: Arc<dyn InterruptLine>) -> Self {
        Self {
            reg_shift: 0,
            rx: RxFifo::default(),
            ier: 0,
            fcr: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            dll: 0x0c,
            dlm: 0,
            overrun: false,
            msr_delta: 0,
            thr_pending: false,
            irq_level: false,
            irq,
            backend,
            tx_dropped: 0,
            backend_error: None,
        }
    }

    /// A UART whose registers are `1 << reg_shift` bytes apart (the device tree's `reg-shift`).
    pub fn with_reg_shift(
        backend: Box<dyn CharBackend>,
        irq: Arc<dyn InterruptLine>,
        reg_shift: u8,
    ) -> Result<Self> {
        if reg_shift > UART_MAX_REG_SHIFT {
            return Err(DeviceError::InvalidRegShift {
                shift: reg_shift,
                max: UART_MAX_REG_SHIFT,
            });
        }
        let mut uart = Self::new(backend, irq);
        uart.reg_shift = reg_shift;
        Ok(uart)
    }

    /// The register shift this UART decodes with.
    pub fn reg_shift(&self) -> u8 {
        self.reg_shift
    }

    /// Return every register to its reset value (keeps the back end and the interrupt line).
    pub fn reset(&mut self) {
        self.rx.clear();
        self.ier = 0;
        self.fcr = 0;
        self.lcr = 0;
        self.mcr = 0;
        self.scr = 0;
        self.dll = 0x0c;
        self.dlm = 0;
        self.overrun = false;
        self.msr_delta = 0;
        self.thr_pending = false;
        self.update_irq();
    }

    /// The baud-rate divisor the guest programmed (DLM:DLL).
    pub fn divisor(&self) -> u16 {
        u16::from_le_bytes([self.dll, self.dlm])
    }

    /// Whether the interrupt output is high.
    pub fn irq_level(&self) -> bool {
        self.irq_level
    }

    /// Bytes the guest wrote that the back end refused.
    pub fn tx_dropped(&self) -> u64 {
        self.tx_dropped
    }

    /// The first back-end error not yet taken, if any (later ones only count in [`tx_dropped`]).
    ///
    /// [`tx_dropped`]: Self::tx_dropped
    pub fn take_backend_error(&mut self) -> Option<DeviceError> {
        self.backend_error.take()
    }

    /// How many received bytes fit before the FIFO (or, with FIFOs off, the holding register) is full.
    ///
    /// 0 in loopback mode, where the serial input is disconnected.
    pub fn rx_space(&self) -> usize {
        if self.loopback() {
            0
        } else {
            self.rx_capacity().saturating_sub(self.rx.len)
        }
    }

    /// A byte arrives from the host side of the line.
    ///
    /// In loopback mode the serial input is disconnected and the byte is lost.
    pub fn receive(&mut self, byte: u8) {
        if !self.loopback() {
            self.receive_internal(byte);
        }
    }

    /// Several bytes arrive from the host side; bytes beyond the free space are lost and set LSR.OE.
    pub fn receive_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.receive(b);
        }
    }

    fn receive_internal(&mut self, byte: u8) {
        if self.rx.len < self.rx_capacity() {
            self.rx.push(byte);
        } else {
            self.overrun = true;
            if !self.fifo_enabled() {
                // 16450 mode: the new character overwrites the unread one.
                self.rx.overwrite_last(byte);
            }
        }
        self.update_irq();
    }

    fn loopback(&self) -> bool {
        self.mcr & MCR_LOOP != 0
    }

    fn fifo_enabled(&self) -> bool {
        self.fcr & FCR_ENABLE != 0
    }

    fn rx_capacity(&self) -> usize {
        if self.fifo_enabled() {
            UART_FIFO_SIZE
        } else {
            1
        }
    }

    fn rx_trigger(&self) -> usize {
        match self.fcr >> 6 {
            0 => 1,
            1 => 4,
            2 => 8,
            _ => 14,
        }
    }

    fn lsr(&self) -> u8 {
        let mut lsr = LSR_THRE | LSR_TEMT;
        if self.rx.len > 0 {
            lsr |= LSR_DR;
        }
        if self.overrun {
            lsr |= LSR_OE;
        }
        lsr
    }

    /// The modem status inputs (MSR high nibble).
    fn modem_inputs(&self) -> u8 {
        if self.loopback() {
            let m = self.mcr;
            let mut v = 0;
            if m & MCR_RTS != 0 {
                v |= MSR_CTS;
            }
            if m & MCR_DTR != 0 {
                v |= MSR_DSR;
            }
            if m & MCR_OUT1 != 0 {
                v |= MSR_RI;
            }
            if m & MCR_OUT2 != 0 {
                v |= MSR_DCD;
            }
            v
        } else {
            HOST_MODEM_INPUTS
        }
    }

    /// The interrupt identification code (low nibble of IIR) the current state produces.
    fn interrupt_id(&self) -> u8 {
        if self.ier & IER_RLSI != 0 && self.overrun {
            IIR_RLSI
        } else if self.ier & IER_RDI != 0 && self.rx.len > 0 {
            if self.fifo_enabled() && self.rx.len < self.rx_trigger() {
                IIR_TIMEOUT
            } else {
                IIR_RDI
            }
        } else if self.ier & IER_THRI != 0 && self.thr_pending {
            IIR_THRI
        } else if self.ier & IER_MSI != 0 && self.msr_delta != 0 {
            IIR_MSI
        } else {
            IIR_NO_INT
        }
    }

    fn update_irq(&mut self) {
        let level = self.interrupt_id() != IIR_NO_INT;
        if level != self.irq_level {
            self.irq_level = level;
            self.irq.set_level(level);
        }
    }

    fn transmit(&mut self, byte: u8) {
        if self.loopback() {
            self.receive_internal(byte);
        } else if let Err(e) = self.backend.write(&[byte]) {
            self.tx_dropped += 1;
            if self.backend_error.is_none() {
                self.backend_error = Some(e);
            }
        }
        // The byte left at once: THR is empty again.
        self.thr_pending = true;
    }

    fn write_fcr(&mut self, value: u8) {
        let enable_changed = (self.fcr ^ value) & FCR_ENABLE != 0;
        if enable_changed {
            // Switching the FIFOs on or off empties them.
            self.rx.clear();
        }
        if value & FCR_ENABLE == 0 {
            // The other bits are only programmed together with FCR0.
            self.fcr = 0;
            return;
        }
        if value & FCR_CLEAR_RX != 0 {
            self.rx.clear();
        }
        self.fcr = value & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
    }

    fn write_mcr(&mut self, value: u8) {
        let before = self.modem_inputs();
        self.mcr = value & 0x1f;
        let after = self.modem_inputs();
        let changed = before ^ after;
        if changed & MSR_CTS != 0 {
            self.msr_delta |= MSR_DCTS;
        }
        if changed & MSR_DSR != 0 {
            self.msr_delta |= MSR_DDSR;
        }
        if changed & MSR_DCD != 0 {
            self.msr_delta |= MSR_DDCD;
        }
        if before & MSR_RI != 0 && after & MSR_RI == 0 {
            self.msr_delta |= MSR_TERI;
        }
    }

    fn write_ier(&mut self, value: u8) {
        let new = value & 0x0f;
        let changed = self.ier ^ new;
        self.ier = new;
        if changed & IER_THRI != 0 {
            // THR is always empty, so enabling the interrupt raises it at once (Linux's 8250 driver
            // relies on this to start transmitting); disabling it drops the condition.
            self.thr_pending = new & IER_THRI != 0;
        }
    }

    /// Register index for `offset`, if it decodes to one.
    fn decode(&self, offset: u64) -> Option<u64> {
        let stride_mask = (1u64 << self.reg_shift) - 1;
        if offset & stride_mask != 0 {
            return None;
        }
        let index = offset >> self.reg_shift;
        (index < UART_NUM_REGS).then_some(index)
    }

    /// Read the register at index `index` (0..8), with the side effects a guest read has.
    pub fn read_reg(&mut self, index: u64) -> u8 {
        let dlab = self.lcr & LCR_DLAB != 0;
        let value = match index {
            reg::RBR_THR_DLL if dlab => self.dll,
            reg::RBR_THR_DLL => self.rx.pop().unwrap_or(0),
            reg::IER_DLM if dlab => self.dlm,
            reg::IER_DLM => self.ier,
            reg::IIR_FCR => {
                let id = self.interrupt_id();
                if id == IIR_THRI {
                    self.thr_pending = false;
                }
                if self.fifo_enabled() {
                    id | IIR_FIFO_ENABLED
                } else {
                    id
                }
            }
            reg::LCR => self.lcr,
            reg::MCR => self.mcr,
            reg::LSR => {
                let lsr = self.lsr();
                self.overrun = false;
                lsr
            }
            reg::MSR => {
                let msr = self.modem_inputs() | self.msr_delta;
                self.msr_delta = 0;
                msr
            }
            reg::SCR => self.scr,
            _ => 0,
        };
        self.update_irq();
        value
    }

    /// Write the register at index `index` (0..8), with the side effects a guest write has.
    pub fn write_reg(&mut self, index: u64, value: u8) {
        let dlab = self.lcr & LCR_DLAB != 0;
        match index {
            reg::RBR_THR_DLL if dlab => self.dll = value,
            reg::RBR_THR_DLL => self.transmit(value),
            reg::IER_DLM if dlab => self.dlm = value,
            reg::IER_DLM => self.write_ier(value),
            reg::IIR_FCR => self.write_fcr(value),
            reg::LCR => self.lcr = value,
            reg::MCR => self.write_mcr(value),
            reg::SCR => self.scr = value,
            // LSR and MSR are read-only (their factory-test writes are not modelled).
            _ => {}
        }
        self.update_irq();
    }
}

impl MmioDevice for Uart16550 {
    fn read(&mut self, offset: u64, _size: AccessSize) -> u64 {
        match self.decode(offset) {
            Some(index) => u64::from(self.read_reg(index)),
            None => 0,
        }
    }

    fn write(&mut self, offset: u64, _size: AccessSize, value: u64) {
        if let Some(index) = self.decode(offset) {
            self.write_reg(index, value as u8);
        }
    }
}

impl PioDevice for Uart16550 {
    fn pio_read(&mut self, offset: u16, size: AccessSize) -> u64 {
        MmioDevice::read(self, u64::from(offset), size)
    }

    fn pio_write(&mut self, offset: u16, size: AccessSize, value: u64) {
        MmioDevice::write(self, u64::from(offset), size, value);
    }
}
