//! The whole user-mode networking path: a guest TCP/IP stack (smoltcp) whose network card is the
//! virtio-net device, driven through virtqueues in guest memory, with the device's worker thread
//! delivering received frames. The guest takes a DHCP lease and talks to a host listener on 127.0.0.1
//! through the gateway 10.0.2.2.
#![cfg(all(feature = "smoltcp", unix))]

#[path = "support/driver.rs"]
mod driver;

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use driver::{Driver, Ring};
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::socket::{dhcpv4, tcp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};
use vm_core::GuestPhysAddr;
use vm_core::device::MmioDevice;
use vm_core::mem::{AccessSize, GuestMemory};
use vm_device::virtio::mmio::{VirtioMmio, regs};
use vm_device::virtio::net::user::{GATEWAY_IP, GUEST_IP, UserNet, UserNetConfig};
use vm_device::virtio::net::{NET_HDR_SIZE, Net};
use vm_device::virtio::{features, worker};

const RAM: u64 = 0x8000_0000;
const RX_BUFS: u64 = RAM + 0x10_0000;
const TX_BUFS: u64 = RAM + 0x20_0000;
const BUF_SIZE: u32 = 1526;
const SLOTS: u16 = 16;
const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

type Shared = Arc<Mutex<VirtioMmio<Net>>>;

/// The guest's network card, as its driver sees it.
struct VirtioPhy {
    dev: Shared,
    mem: Arc<dyn GuestMemory + Send + Sync>,
    rx: Ring,
    tx: Ring,
    tx_slot: u16,
    received: VecDeque<Vec<u8>>,
}

impl VirtioPhy {
    fn notify(&self, q: u32) {
        self.dev
            .lock()
            .unwrap()
            .write(regs::QUEUE_NOTIFY, AccessSize::U32, u64::from(q));
    }

    /// Collect used receive buffers and give them back to the device.
    fn harvest(&mut self) {
        let used = self.rx.take_used(&*self.mem);
        for &(id, len) in &used {
            let mut f = vec![0u8; len as usize];
            self.mem
                .read(GuestPhysAddr(RX_BUFS + u64::from(id) * 0x800), &mut f)
                .unwrap();
            self.received.push_back(f[NET_HDR_SIZE..].to_vec());
            self.rx.push(&*self.mem, id as u16);
        }
        if !used.is_empty() {
            self.notify(0);
        }
        self.tx.take_used(&*self.mem);
    }
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VirtioPhy);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0u8; NET_HDR_SIZE + len];
        let r = f(&mut packet[NET_HDR_SIZE..]);
        let p = self.0;
        let slot = p.tx_slot;
        p.tx_slot = (slot + 1) % SLOTS;
        let addr = TX_BUFS + u64::from(slot) * 0x800;
        p.mem.write(GuestPhysAddr(addr), &packet).unwrap();
        p.tx.write_desc(&*p.mem, slot, addr, packet.len() as u32, 0, 0);
        p.tx.push(&*p.mem, slot);
        p.notify(1);
        r
    }
}

impl phy::Device for VirtioPhy {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;
    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        self.harvest();
        let f = self.received.pop_front()?;
        Some((Rx(f), Tx(self)))
    }
    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx(self))
    }
    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c
    }
}

/// A guest with its card set up and its stack created; the device's worker thread runs.
struct Machine {
    dev: Shared,
    phy: VirtioPhy,
    iface: Interface,
    sockets: SocketSet<'static>,
    epoch: std::time::Instant,
    _worker: worker::Worker,
}

impl Machine {
    fn new(config: &UserNetConfig) -> (Self, Vec<std::net::SocketAddr>) {
        let mem: Arc<dyn GuestMemory + Send + Sync> = Arc::new(
            vm_mem::PhysMemory::builder()
                .ram("ram", GuestPhysAddr(RAM), 0x40_0000)
                .build()
                .unwrap(),
        );
        let backend = UserNet::new(config).unwrap();
        let forwards = backend.host_forward_addrs();
        let mut d = Driver::new(Net::new(Box::new(backend), MAC), mem.clone());
        let status = d.init(features::TRANSPORT | (1 << 5), RAM, SLOTS);
        assert_eq!(status, 0xf);
        let (rx, tx) = (d.rings[0].clone(), d.rings[1].clone());
        let dev: Shared = Arc::new(Mutex::new(d.mmio));
        let worker = worker::spawn(&dev, "virtio-net-test").unwrap();
        let mut phy = VirtioPhy {
            dev: dev.clone(),
            mem: mem.clone(),
            rx,
            tx,
            tx_slot: 0,
            received: VecDeque::new(),
        };
        for i in 0..SLOTS {
            phy.rx
                .write_desc(&*mem, i, RX_BUFS + u64::from(i) * 0x800, BUF_SIZE, 2, 0);
            phy.rx.push(&*mem, i);
        }
        phy.notify(0);
        let epoch = std::time::Instant::now();
        let iface = Interface::new(
            Config::new(HardwareAddress::Ethernet(EthernetAddress(MAC))),
            &mut phy,
            Instant::ZERO,
        );
        let m = Self {
            dev,
            phy,
            iface,
            sockets: SocketSet::new(Vec::new()),
            epoch,
            _worker: worker,
        };
        (m, forwards)
    }

    fn poll(&mut self) {
        let now = Instant::from_micros(self.epoch.elapsed().as_micros() as i64);
        self.iface.poll(now, &mut self.phy, &mut self.sockets);
    }

    fn tcp_socket(&mut self) -> smoltcp::iface::SocketHandle {
        self.sockets.add(tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 8192]),
            tcp::SocketBuffer::new(vec![0; 8192]),
        ))
    }
}

#[test]
fn dhcp_and_tcp_through_virtqueues_and_the_worker() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (mut m, _) = Machine::new(&UserNetConfig::default());
    let dhcp = m.sockets.add(dhcpv4::Socket::new());
    let tcp_h = m.tcp_socket();
    let mut lease = None;
    let mut host = None;
    let mut connected = false;
    let mut echoed = Vec::new();
    for _ in 0..5000 {
        m.poll();
        if lease.is_none()
            && let Some(dhcpv4::Event::Configured(c)) =
                m.sockets.get_mut::<dhcpv4::Socket>(dhcp).poll()
        {
            lease = Some(c.address);
            m.iface
                .update_ip_addrs(|a| a.push(IpCidr::Ipv4(c.address)).unwrap());
            if let Some(r) = c.router {
                m.iface.routes_mut().add_default_ipv4_route(r).unwrap();
            }
            let cx = m.iface.context();
            m.sockets
                .get_mut::<tcp::Socket>(tcp_h)
                .connect(cx, (IpAddress::Ipv4(GATEWAY_IP), port), 40_000)
                .unwrap();
        }
        if host.is_none()
            && let Ok((s, _)) = listener.accept()
        {
            s.set_nonblocking(true).unwrap();
            host = Some(s);
        }
        let sock = m.sockets.get_mut::<tcp::Socket>(tcp_h);
        if !connected && sock.may_send() {
            sock.send_slice(b"over virtio").unwrap();
            connected = true;
        }
        if let Some(h) = host.as_mut() {
            let mut b = [0u8; 64];
            match h.read(&mut b) {
                Ok(n) if n > 0 => h.write_all(&b[..n]).unwrap(),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        if sock.can_recv() {
            sock.recv(|d| {
                echoed.extend_from_slice(d);
                (d.len(), ())
            })
            .unwrap();
        }
        if echoed.len() >= 11 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(lease.map(|c| c.address()), Some(GUEST_IP));
    assert_eq!(echoed, b"over virtio");
    let stats = m.dev.lock().unwrap().device().stats();
    assert!(stats.tx_frames >= 4 && stats.rx_frames >= 4, "{stats:?}");
    assert_eq!(m.dev.lock().unwrap().status() & 0x40, 0, "no device error");
}

/// A host connection to a forwarded port reaches a guest that only listens: nothing but the worker
/// (woken by the listener's descriptor) can start that connection.
#[test]
fn host_forward_wakes_the_worker() {
    let config = UserNetConfig::parse("hostfwd=tcp:0-:7000").unwrap();
    let (mut m, forwards) = Machine::new(&config);
    m.iface.update_ip_addrs(|a| {
        a.push(IpCidr::new(IpAddress::Ipv4(GUEST_IP), 24)).unwrap();
    });
    let h = m.tcp_socket();
    m.sockets.get_mut::<tcp::Socket>(h).listen(7000).unwrap();
    m.poll();
    let mut host = std::net::TcpStream::connect(forwards[0]).unwrap();
    host.write_all(b"knock").unwrap();
    let mut got = Vec::new();
    for _ in 0..5000 {
        m.poll();
        let s = m.sockets.get_mut::<tcp::Socket>(h);
        if s.can_recv() {
            s.recv(|d| {
                got.extend_from_slice(d);
                (d.len(), ())
            })
            .unwrap();
        }
        if got.len() >= 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(got, b"knock");
}
