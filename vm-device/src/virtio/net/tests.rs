use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::Mutex;

use vm_core::GuestPhysAddr;

use super::*;
use crate::virtio::driver::Driver;
use crate::virtio::testing::{DATA, RAM, RAM_SIZE, ram};

/// Frames the guest sent, and frames waiting for the guest.
#[derive(Default)]
struct Wire {
    sent: Vec<Vec<u8>>,
    incoming: VecDeque<Vec<u8>>,
}

/// A back end over a shared [`Wire`] (tests only).
struct TestBackend(Arc<Mutex<Wire>>);

impl NetBackend for TestBackend {
    fn send(&mut self, frame: &[u8]) -> Result<()> {
        self.0.lock().unwrap().sent.push(frame.to_vec());
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>> {
        let Some(f) = self.0.lock().unwrap().incoming.pop_front() else {
            return Ok(None);
        };
        buf[..f.len()].copy_from_slice(&f);
        Ok(Some(f.len()))
    }
}

const MAC: [u8; 6] = [0x52, 0x54, 0, 1, 2, 3];

fn nic() -> (Driver<Net>, Arc<Mutex<Wire>>) {
    let wire = Arc::new(Mutex::new(Wire::default()));
    let mut d = Driver::new(Net::new(Box::new(TestBackend(wire.clone())), MAC), ram());
    d.init(u64::MAX, RAM, 16);
    (d, wire)
}

fn frame(n: usize, fill: u8) -> Vec<u8> {
    let mut f = vec![fill; n];
    f[..6].copy_from_slice(&[0xff; 6]);
    f
}

/// Transmit `packet` (header + frame) as one readable buffer.
fn transmit(d: &mut Driver<Net>, packet: &[u8]) -> Vec<(u32, u32)> {
    d.mem().write(GuestPhysAddr(DATA), packet).unwrap();
    d.submit(1, &[(DATA, packet.len() as u32, false)]);
    d.take_used(1)
}

#[test]
fn config_space_has_mac_and_link() {
    let (mut d, _) = nic();
    let mut c = [0u8; 8];
    d.mmio.device().read_config(0, &mut c);
    assert_eq!(&c[..6], &MAC);
    assert_eq!(u16::from_le_bytes([c[6], c[7]]), 1);
    assert_eq!(
        d.device_features() & (net_features::MAC | net_features::STATUS),
        net_features::MAC | net_features::STATUS
    );
}

#[test]
fn transmitted_frames_reach_the_backend_without_header() {
    let (mut d, wire) = nic();
    let mut packet = NetHeader::default().to_bytes().to_vec();
    packet.extend(frame(60, 0xab));
    assert_eq!(transmit(&mut d, &packet), vec![(0, 0)]);
    assert_eq!(wire.lock().unwrap().sent, vec![frame(60, 0xab)]);
    assert_eq!(d.mmio.device().stats().tx_frames, 1);
    assert!(d.line.is_high());
}

#[test]
fn malformed_packets_are_dropped_not_fatal() {
    let (mut d, wire) = nic();
    let mut offload = NetHeader {
        gso_type: 1,
        ..NetHeader::default()
    }
    .to_bytes()
    .to_vec();
    offload.extend(frame(60, 1));
    transmit(&mut d, &offload);
    transmit(&mut d, &[0; 5]); // shorter than a header
    let mut runt = NetHeader::default().to_bytes().to_vec();
    runt.extend([0; 4]);
    transmit(&mut d, &runt);
    assert!(wire.lock().unwrap().sent.is_empty());
    assert_eq!(d.mmio.device().stats().tx_dropped, 3);
    assert!(!d.needs_reset());
}

#[test]
fn received_frames_get_a_header_and_land_in_buffers() {
    let (mut d, wire) = nic();
    wire.lock().unwrap().incoming.push_back(frame(100, 7));
    // No buffer yet: the frame waits.
    d.mmio.poll();
    assert!(d.take_used(0).is_empty());
    // Adding a buffer notifies queue 0, which delivers.
    let head = d.submit(0, &[(DATA, 1526, true)]);
    assert_eq!(d.take_used(0), vec![(u32::from(head), 112)]);
    let mut got = vec![0u8; 112];
    d.mem().read(GuestPhysAddr(DATA), &mut got).unwrap();
    assert_eq!(NetHeader::parse(&got).unwrap(), NetHeader::rx());
    assert_eq!(&got[12..], &frame(100, 7)[..]);

    // With a buffer posted, a poll delivers the next frame.
    let head = d.submit(0, &[(DATA + 0x1000, 6, true), (DATA + 0x2000, 1520, true)]);
    wire.lock().unwrap().incoming.push_back(frame(60, 9));
    d.mmio.poll();
    assert_eq!(d.take_used(0), vec![(u32::from(head), 72)]);
    assert_eq!(d.mmio.device().stats().rx_frames, 2);
}

#[test]
fn frames_larger_than_the_buffer_are_dropped_and_the_buffer_kept() {
    let (mut d, wire) = nic();
    d.submit(0, &[(DATA, 100, true)]);
    wire.lock()
        .unwrap()
        .incoming
        .extend([frame(200, 1), frame(50, 2)]);
    d.mmio.poll();
    let used = d.take_used(0);
    assert_eq!(used, vec![(0, 62)]);
    assert_eq!(d.mmio.device().stats().rx_dropped, 1);
}

#[test]
fn wrong_direction_needs_reset() {
    let (mut d, wire) = nic();
    wire.lock().unwrap().incoming.push_back(frame(60, 1));
    d.submit(0, &[(DATA, 1526, false)]);
    assert!(d.needs_reset());

    let (mut d, _) = nic();
    d.submit(1, &[(DATA, 72, true)]);
    assert!(d.needs_reset());
}

#[test]
fn transmit_buffers_outside_ram_need_reset() {
    let (mut d, _) = nic();
    d.submit(1, &[(RAM + RAM_SIZE - 8, 72, false)]);
    assert!(d.needs_reset());
}

#[test]
fn the_poller_is_told_to_stop_watching_while_rx_is_stalled() {
    let (mut d, wire) = nic();
    wire.lock().unwrap().incoming.push_back(frame(60, 1));
    d.mmio.poll();
    let mut fds = Vec::new();
    d.mmio.host_fds(&mut fds);
    assert!(fds.is_empty());
    assert!(d.mmio.device().rx_stalled);
    d.submit(0, &[(DATA, 1526, true)]);
    assert!(!d.mmio.device().rx_stalled);
    assert_eq!(d.take_used(0).len(), 1);
}
