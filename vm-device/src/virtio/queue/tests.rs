use alloc::vec;
use alloc::vec::Vec;

use vm_core::GuestPhysAddr;
use vm_core::mem::{GuestMemory, MemFault};

use super::*;
use crate::virtio::driver::Ring;
use crate::virtio::testing::{DATA, RAM, RAM_SIZE, ram};

const SIZE: u16 = 8;

/// A queue over a ring at the start of test RAM.
fn setup(
    event_idx: bool,
    indirect: bool,
) -> (alloc::sync::Arc<dyn GuestMemory + Send + Sync>, Ring, Queue) {
    let mem = ram();
    let ring = Ring::new(RAM, SIZE);
    let mut q = Queue::new(16);
    q.set_size(SIZE);
    q.set_desc_table(ring.desc);
    q.set_avail_ring(ring.avail);
    q.set_used_ring(ring.used);
    q.set_ring_features(event_idx, indirect);
    q.set_ready(true);
    (mem, ring, q)
}

#[test]
fn pops_a_chain_with_readable_then_writable_buffers() {
    let (mem, mut ring, mut q) = setup(false, false);
    let head = ring.add_chain(
        &*mem,
        &[
            (DATA, 16, false),
            (DATA + 0x100, 512, true),
            (DATA + 0x400, 1, true),
        ],
    );
    ring.push(&*mem, head);
    let chain = q.pop(&*mem).unwrap().unwrap();
    assert_eq!(chain.head(), head);
    assert_eq!(chain.readable_len(), 16);
    assert_eq!(chain.writable_len(), 513);
    assert_eq!(chain.readable().len(), 1);
    assert_eq!(chain.writable().len(), 2);
    assert_eq!(
        chain.last_writable_byte(),
        Some(GuestPhysAddr(DATA + 0x400))
    );
    assert_eq!(q.pop(&*mem).unwrap(), None);

    q.add_used(&*mem, chain.head(), 513).unwrap();
    assert_eq!(ring.take_used(&*mem), vec![(u32::from(head), 513)]);
}

#[test]
fn reader_and_writer_cross_descriptor_boundaries() {
    let (mem, mut ring, mut q) = setup(false, false);
    mem.write(GuestPhysAddr(DATA), b"abc").unwrap();
    mem.write(GuestPhysAddr(DATA + 0x10), b"defgh").unwrap();
    let head = ring.add_chain(
        &*mem,
        &[
            (DATA, 3, false),
            (DATA + 0x10, 5, false),
            (DATA + 0x100, 2, true),
            (DATA + 0x200, 4, true),
        ],
    );
    ring.push(&*mem, head);
    let chain = q.pop(&*mem).unwrap().unwrap();
    let mut r = chain.reader(&*mem);
    let mut buf = [0u8; 6];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"abcdef");
    assert_eq!(r.remaining(), 2);
    assert_eq!(
        r.read_exact(&mut buf),
        Err(ChainIoError::Short { missing: 4 })
    );

    let mut w = chain.writer(&*mem);
    assert_eq!(w.write(b"123456789").unwrap(), 6);
    assert_eq!(w.written(), 6);
    let mut out = [0u8; 4];
    mem.read(GuestPhysAddr(DATA + 0x200), &mut out).unwrap();
    assert_eq!(&out, b"3456");
    let mut limited = chain.writer_limited(&*mem, 3);
    assert_eq!(
        limited.write_all(b"xyzw"),
        Err(ChainIoError::Short { missing: 1 })
    );
}

#[test]
fn indirect_tables_are_followed_when_negotiated() {
    let (mem, mut ring, mut q) = setup(false, true);
    let table = DATA + 0x8000;
    let head = ring.add_indirect(&*mem, table, &[(DATA, 16, false), (DATA + 0x100, 64, true)]);
    ring.push(&*mem, head);
    let chain = q.pop(&*mem).unwrap().unwrap();
    assert_eq!(chain.head(), head);
    assert_eq!(chain.descriptors().len(), 2);
    assert_eq!((chain.readable_len(), chain.writable_len()), (16, 64));
}

#[test]
fn direct_descriptors_may_precede_an_indirect_one() {
    let (mem, ring, mut q) = setup(false, true);
    let table = DATA + 0x8000;
    Ring::write_desc_at(&*mem, table, 0, DATA + 0x100, 8, DESC_F_WRITE, 0);
    ring.write_desc(&*mem, 0, DATA, 16, DESC_F_NEXT, 1);
    ring.write_desc(&*mem, 1, table, 16, DESC_F_INDIRECT, 0);
    let mut ring = ring;
    ring.push(&*mem, 0);
    let chain = q.pop(&*mem).unwrap().unwrap();
    assert_eq!((chain.readable_len(), chain.writable_len()), (16, 8));
}

/// Pop one chain after `build` wrote descriptor 0 onwards; returns the error.
fn pop_error(indirect: bool, build: impl FnOnce(&dyn GuestMemory, &Ring)) -> QueueError {
    let (mem, mut ring, mut q) = setup(false, indirect);
    build(&*mem, &ring);
    ring.push(&*mem, 0);
    q.pop(&*mem).unwrap_err()
}

#[test]
fn a_descriptor_loop_is_detected() {
    let e = pop_error(false, |mem, ring| {
        ring.write_desc(mem, 0, DATA, 8, DESC_F_NEXT, 1);
        ring.write_desc(mem, 1, DATA, 8, DESC_F_NEXT, 0);
    });
    assert_eq!(e, QueueError::ChainTooLong { table_len: 8 });
}

#[test]
fn a_self_loop_in_an_indirect_table_is_detected() {
    let e = pop_error(true, |mem, ring| {
        let table = DATA + 0x8000;
        Ring::write_desc_at(mem, table, 0, DATA, 8, DESC_F_NEXT, 1);
        Ring::write_desc_at(mem, table, 1, DATA, 8, DESC_F_NEXT, 0);
        ring.write_desc(mem, 0, table, 32, DESC_F_INDIRECT, 0);
    });
    assert_eq!(e, QueueError::ChainTooLong { table_len: 2 });
}

#[test]
fn next_outside_the_table_is_refused() {
    let e = pop_error(false, |mem, ring| {
        ring.write_desc(mem, 0, DATA, 8, DESC_F_NEXT, 8);
    });
    assert_eq!(
        e,
        QueueError::IndexOutOfRange {
            index: 8,
            table_len: 8
        }
    );
}

#[test]
fn head_outside_the_table_is_refused() {
    let (mem, mut ring, mut q) = setup(false, false);
    ring.push(&*mem, 100);
    assert_eq!(
        q.pop(&*mem),
        Err(QueueError::IndexOutOfRange {
            index: 100,
            table_len: 8
        })
    );
}

#[test]
fn address_overflow_is_refused() {
    let e = pop_error(false, |mem, ring| {
        ring.write_desc(mem, 0, u64::MAX - 4, 8, 0, 0);
    });
    assert_eq!(
        e,
        QueueError::AddressOverflow {
            addr: u64::MAX - 4,
            len: 8
        }
    );
}

#[test]
fn lengths_adding_past_4gib_are_refused() {
    let e = pop_error(false, |mem, ring| {
        ring.write_desc(mem, 0, DATA, u32::MAX, DESC_F_NEXT, 1);
        ring.write_desc(mem, 1, DATA, 2, 0, 0);
    });
    assert_eq!(e, QueueError::TotalLengthOverflow);
}

#[test]
fn readable_after_writable_is_refused() {
    let e = pop_error(false, |mem, ring| {
        ring.write_desc(mem, 0, DATA, 8, DESC_F_WRITE | DESC_F_NEXT, 1);
        ring.write_desc(mem, 1, DATA, 8, 0, 0);
    });
    assert_eq!(e, QueueError::ReadableAfterWritable);
}

#[test]
fn indirect_rules() {
    let table = DATA + 0x8000;
    let e = pop_error(false, |mem, ring| {
        ring.write_desc(mem, 0, table, 16, DESC_F_INDIRECT, 0)
    });
    assert_eq!(e, QueueError::IndirectNotNegotiated);
    let e = pop_error(true, |mem, ring| {
        ring.write_desc(mem, 0, table, 16, DESC_F_INDIRECT | DESC_F_NEXT, 1)
    });
    assert_eq!(e, QueueError::IndirectWithNext);
    for len in [0, 24, 16 * (MAX_INDIRECT_DESCRIPTORS + 1)] {
        let e = pop_error(true, |mem, ring| {
            ring.write_desc(mem, 0, table, len, DESC_F_INDIRECT, 0)
        });
        assert_eq!(
            e,
            QueueError::IndirectLength {
                len,
                max: MAX_INDIRECT_DESCRIPTORS
            }
        );
    }
    let e = pop_error(true, |mem, ring| {
        Ring::write_desc_at(mem, table, 0, table, 16, DESC_F_INDIRECT, 0);
        ring.write_desc(mem, 0, table, 16, DESC_F_INDIRECT, 0);
    });
    assert_eq!(e, QueueError::NestedIndirect);
}

#[test]
fn tables_outside_ram_are_memory_faults() {
    let end = RAM + RAM_SIZE;
    let e = pop_error(true, |mem, ring| {
        ring.write_desc(mem, 0, end, 16, DESC_F_INDIRECT, 0)
    });
    assert!(
        matches!(e, QueueError::Memory(MemFault::Unmapped { .. })),
        "{e:?}"
    );

    let mem = ram();
    let mut q = Queue::new(8);
    q.set_desc_table(end);
    q.set_avail_ring(end + 0x1000);
    q.set_used_ring(end + 0x2000);
    q.set_ready(true);
    assert!(matches!(q.pop(&*mem), Err(QueueError::Memory(_))));
}

#[test]
fn buffers_outside_ram_fault_on_access() {
    let (mem, mut ring, mut q) = setup(false, false);
    let head = ring.add_chain(&*mem, &[(RAM + RAM_SIZE - 4, 8, false)]);
    ring.push(&*mem, head);
    let chain = q.pop(&*mem).unwrap().unwrap();
    let mut buf = [0u8; 8];
    assert!(matches!(
        chain.reader(&*mem).read_exact(&mut buf),
        Err(ChainIoError::Memory(_))
    ));
}

#[test]
fn avail_index_too_far_ahead_is_refused() {
    let (mem, mut ring, mut q) = setup(false, false);
    ring.set_avail_idx(&*mem, SIZE + 1);
    assert_eq!(
        q.pop(&*mem),
        Err(QueueError::AvailIndex {
            avail_idx: 9,
            pending: 9,
            size: 8
        })
    );
}

#[test]
fn configuration_checks() {
    let mut q = Queue::new(16);
    for (size, ok) in [(0, false), (3, false), (32, false), (16, true), (1, true)] {
        q.set_size(size);
        assert_eq!(q.validate().is_ok(), ok, "size {size}");
    }
    q.set_size(8);
    q.set_desc_table(8);
    assert!(q.validate().is_err());
    q.set_desc_table(0);
    q.set_used_ring(2);
    assert!(q.validate().is_err());
    q.set_used_ring(u64::MAX - 3);
    assert!(q.validate().is_err());
    q.set_used_ring(0);
    assert_eq!(q.validate(), Ok(()));
    // A queue that is not ready yields nothing and accepts no used buffers.
    let mem = ram();
    assert_eq!(q.pop(&*mem), Ok(None));
    assert!(q.add_used(&*mem, 0, 0).is_err());
}

#[test]
fn flags_suppress_notifications_without_event_idx() {
    let (mem, mut ring, mut q) = setup(false, false);
    q.disable_notification(&*mem).unwrap();
    assert_eq!(ring.used_flags(&*mem), 1);
    assert!(!q.enable_notification(&*mem).unwrap());
    assert_eq!(ring.used_flags(&*mem), 0);

    let head = ring.add_chain(&*mem, &[(DATA, 8, true)]);
    ring.push(&*mem, head);
    let c = q.pop(&*mem).unwrap().unwrap();
    q.add_used(&*mem, c.head(), 0).unwrap();
    assert!(q.needs_notification(&*mem).unwrap());
    ring.set_avail_flags(&*mem, 1);
    assert!(!q.needs_notification(&*mem).unwrap());
}

#[test]
fn event_idx_decides_interrupts_and_publishes_avail_event() {
    let (mem, mut ring, mut q) = setup(true, false);
    let complete = |ring: &mut Ring, q: &mut Queue| {
        let head = ring.add_chain(&*mem, &[(DATA, 8, true)]);
        ring.push(&*mem, head);
        let c = q.pop(&*mem).unwrap().unwrap();
        q.add_used(&*mem, c.head(), 8).unwrap();
    };
    // The first completion always interrupts.
    complete(&mut ring, &mut q);
    assert!(q.needs_notification(&*mem).unwrap());
    // used_event = 5: the driver wants to hear only once the used index passes 5.
    ring.set_used_event(&*mem, 5);
    complete(&mut ring, &mut q); // used idx 2
    assert!(!q.needs_notification(&*mem).unwrap());
    for _ in 0..3 {
        complete(&mut ring, &mut q); // 3, 4, 5
    }
    assert!(!q.needs_notification(&*mem).unwrap());
    complete(&mut ring, &mut q); // 6: crosses used_event
    assert!(q.needs_notification(&*mem).unwrap());
    // Nothing new: no interrupt.
    assert!(!q.needs_notification(&*mem).unwrap());

    assert!(!q.enable_notification(&*mem).unwrap());
    assert_eq!(ring.avail_event(&*mem), q.next_avail());
    assert_eq!(
        ring.used_flags(&*mem),
        0,
        "flags are not used with event idx"
    );
}

#[test]
fn process_respects_the_budget_and_asks_for_more() {
    let (mem, mut ring, mut q) = setup(true, false);
    for i in 0..5u64 {
        let head = ring.add_chain(&*mem, &[(DATA + i * 16, 8, true)]);
        ring.push(&*mem, head);
    }
    let mut seen = Vec::new();
    let p = q
        .process::<QueueError, _>(&*mem, 3, |c| {
            seen.push(c.head());
            Ok(4)
        })
        .unwrap();
    assert_eq!(
        p,
        Processed {
            chains: 3,
            more: true
        }
    );
    // The driver is asked to notify on its next buffer even though two wait.
    assert_eq!(ring.avail_event(&*mem), 5);
    let p = q.process::<QueueError, _>(&*mem, 3, |_| Ok(4)).unwrap();
    assert_eq!(
        p,
        Processed {
            chains: 2,
            more: false
        }
    );
    assert_eq!(ring.take_used(&*mem).len(), 5);
    assert_eq!(seen, vec![0, 1, 2]);
    assert_eq!(ring.avail_event(&*mem), 5);
}

#[test]
fn undo_pop_returns_the_chain() {
    let (mem, mut ring, mut q) = setup(false, false);
    let head = ring.add_chain(&*mem, &[(DATA, 8, true)]);
    ring.push(&*mem, head);
    let a = q.pop(&*mem).unwrap().unwrap();
    q.undo_pop();
    let b = q.pop(&*mem).unwrap().unwrap();
    assert_eq!(a, b);
}
