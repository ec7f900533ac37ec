use alloc::boxed::Box;
use alloc::vec;

use vm_core::GuestPhysAddr;
use vm_core::device::MmioDevice;

use super::*;
use crate::uart::CaptureBackend;
use crate::virtio::driver::Driver;
use crate::virtio::testing::{DATA, RAM, RAM_SIZE, ram};

fn console() -> (Driver<Console>, CaptureBackend) {
    let out = CaptureBackend::new();
    let mut d = Driver::new(Console::new(Box::new(out.clone())), ram());
    d.init(u64::MAX, RAM, 8);
    (d, out)
}

#[test]
fn output_reaches_the_backend() {
    let (mut d, out) = console();
    d.mem().write(GuestPhysAddr(DATA), b"Hello, ").unwrap();
    d.mem()
        .write(GuestPhysAddr(DATA + 0x100), b"world\n")
        .unwrap();
    d.submit(1, &[(DATA, 7, false), (DATA + 0x100, 6, false)]);
    assert_eq!(out.contents(), b"Hello, world\n");
    assert_eq!(d.take_used(1), vec![(0, 0)]);
}

#[test]
fn input_is_delivered_into_receive_buffers() {
    let (mut d, _) = console();
    assert_eq!(d.mmio.device_mut().queue_input(b"abcdef"), 6);
    // No buffer: the input waits.
    d.mmio.poll();
    assert_eq!(d.mmio.device().input_waiting(), 6);
    // A 4-byte buffer takes the first four bytes, the next buffer the rest.
    d.submit(0, &[(DATA, 4, true)]);
    assert_eq!(d.take_used(0), vec![(0, 4)]);
    d.submit(0, &[(DATA + 0x100, 16, true)]);
    assert_eq!(d.take_used(0), vec![(1, 2)]);
    let mut got = [0u8; 6];
    d.mem().read(GuestPhysAddr(DATA), &mut got[..4]).unwrap();
    d.mem()
        .read(GuestPhysAddr(DATA + 0x100), &mut got[4..])
        .unwrap();
    assert_eq!(&got, b"abcdef");
    // A buffer already posted receives at the next poll.
    d.submit(0, &[(DATA + 0x200, 16, true)]);
    d.mmio.device_mut().queue_input(b"x");
    d.mmio.poll();
    assert_eq!(d.take_used(0), vec![(2, 1)]);
}

#[test]
fn input_is_bounded() {
    let (mut d, _) = console();
    let big = vec![b'a'; INPUT_CAPACITY + 10];
    assert_eq!(d.mmio.device_mut().queue_input(&big), INPUT_CAPACITY);
    assert_eq!(d.mmio.device_mut().queue_input(b"b"), 0);
}

#[test]
fn emergency_write_and_config() {
    let (mut d, out) = console();
    d.mmio
        .write(0x100 + 8, vm_core::mem::AccessSize::U32, u64::from(b'E'));
    assert_eq!(out.contents(), b"E");
    let mut c = [0u8; 12];
    d.mmio.device().read_config(0, &mut c);
    assert_eq!(u32::from_le_bytes([c[4], c[5], c[6], c[7]]), 1);
}

#[test]
fn bad_buffers_need_reset() {
    let (mut d, _) = console();
    d.submit(1, &[(DATA, 4, true)]);
    assert!(d.needs_reset());
    let (mut d, _) = console();
    d.mmio.device_mut().queue_input(b"z");
    d.submit(0, &[(DATA, 4, false)]);
    assert!(d.needs_reset());
    let (mut d, _) = console();
    d.submit(1, &[(RAM + RAM_SIZE, 4, false)]);
    assert!(d.needs_reset());
}

#[cfg(feature = "std")]
#[test]
fn input_reader_thread_feeds_the_guest() {
    use std::sync::{Arc, Mutex};
    use vm_core::mem::GuestMemory;
    let out = CaptureBackend::new();
    let mut d = Driver::new(Console::new(Box::new(out)), ram());
    d.init(u64::MAX, RAM, 8);
    d.submit(0, &[(DATA, 64, true)]);
    let mem = d.mem.clone();
    let mut ring = d.rings[0].clone();
    let shared = Arc::new(Mutex::new(d.mmio));
    let t = spawn_input_reader(&shared, &b"typed"[..]).unwrap();
    t.join().unwrap().unwrap();
    assert_eq!(ring.take_used(&*mem), vec![(0, 5)]);
    let mut got = [0u8; 5];
    mem.read(GuestPhysAddr(DATA), &mut got).unwrap();
    assert_eq!(&got, b"typed");
}
