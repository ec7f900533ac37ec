//! The user-mode network against a guest made of a second smoltcp interface, exchanging raw frames.
//! Host sockets are on 127.0.0.1 only.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::socket::{dhcpv4, tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Cidr,
};

use super::*;
use crate::virtio::net::{MAX_FRAME, NetBackend};

const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
/// Most rounds a test waits for something (each round sleeps a millisecond).
const ROUNDS: usize = 3000;

#[derive(Default)]
struct Phy {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut b = vec![0; len];
        let r = f(&mut b);
        self.0.push_back(b);
        r
    }
}

impl phy::Device for Phy {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;
    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        let f = self.rx.pop_front()?;
        Some((Rx(f), Tx(&mut self.tx)))
    }
    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }
    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = 1514;
        c
    }
}

/// The guest: a smoltcp interface and its sockets.
struct Guest {
    iface: Interface,
    sockets: SocketSet<'static>,
    phy: Phy,
    epoch: std::time::Instant,
}

impl Guest {
    fn new() -> Self {
        let mut phy = Phy::default();
        let cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(GUEST_MAC)));
        let iface = Interface::new(cfg, &mut phy, Instant::ZERO);
        Self {
            iface,
            sockets: SocketSet::new(Vec::new()),
            phy,
            epoch: std::time::Instant::now(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_micros(self.epoch.elapsed().as_micros() as i64)
    }

    /// One round: guest sends, the network processes, the guest receives.
    fn step(&mut self, net: &mut UserNet) {
        let now = self.now();
        self.iface.poll(now, &mut self.phy, &mut self.sockets);
        while let Some(f) = self.phy.tx.pop_front() {
            net.send(&f).unwrap();
        }
        net.poll().unwrap();
        let mut buf = vec![0u8; MAX_FRAME];
        while let Some(n) = net.recv(&mut buf).unwrap() {
            self.phy.rx.push_back(buf[..n].to_vec());
        }
        let now = self.now();
        self.iface.poll(now, &mut self.phy, &mut self.sockets);
        std::thread::sleep(Duration::from_millis(1));
    }

    /// Run rounds until `done` holds; panics after [`ROUNDS`].
    fn until(&mut self, net: &mut UserNet, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        for _ in 0..ROUNDS {
            self.step(net);
            if done(self) {
                return;
            }
        }
        panic!("timed out waiting for {what}");
    }

    /// Take a DHCP lease and configure the interface with it: (address, router, server).
    fn dhcp(
        &mut self,
        net: &mut UserNet,
    ) -> (Ipv4Cidr, Option<std::net::Ipv4Addr>, std::net::Ipv4Addr) {
        let h = self.sockets.add(dhcpv4::Socket::new());
        let mut lease = None;
        self.until(net, "a DHCP lease", |g| {
            if let Some(dhcpv4::Event::Configured(c)) =
                g.sockets.get_mut::<dhcpv4::Socket>(h).poll()
            {
                lease = Some((c.address, c.router, c.server.address));
            }
            lease.is_some()
        });
        let lease = lease.unwrap();
        self.iface.update_ip_addrs(|a| {
            a.push(IpCidr::Ipv4(lease.0)).unwrap();
        });
        if let Some(r) = lease.1 {
            self.iface.routes_mut().add_default_ipv4_route(r).unwrap();
        }
        lease
    }

    fn configure_static(&mut self) {
        self.iface.update_ip_addrs(|a| {
            a.push(IpCidr::Ipv4(Ipv4Cidr::new(GUEST_IP, 24))).unwrap();
        });
        self.iface
            .routes_mut()
            .add_default_ipv4_route(GATEWAY_IP)
            .unwrap();
    }

    fn tcp_socket(&mut self) -> SocketHandle {
        let s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 8192]),
            tcp::SocketBuffer::new(vec![0; 8192]),
        );
        self.sockets.add(s)
    }

    fn tcp(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(h)
    }
}

fn net(config: &UserNetConfig) -> UserNet {
    UserNet::new(config).unwrap()
}

#[test]
fn dhcp_hands_out_the_slirp_lease() {
    let mut n = net(&UserNetConfig::default());
    let mut g = Guest::new();
    let (address, router, server) = g.dhcp(&mut n);
    assert_eq!(address, Ipv4Cidr::new(GUEST_IP, 24));
    assert_eq!(router, Some(GATEWAY_IP));
    assert_eq!(server, GATEWAY_IP);
}

#[test]
fn dhcp_naks_a_foreign_address() {
    use smoltcp::wire::{DhcpMessageType, DhcpPacket, DhcpRepr, Ipv4Address};
    let repr = DhcpRepr {
        message_type: DhcpMessageType::Request,
        transaction_id: 0x1234,
        secs: 0,
        client_hardware_address: EthernetAddress(GUEST_MAC),
        client_ip: Ipv4Address::UNSPECIFIED,
        your_ip: Ipv4Address::UNSPECIFIED,
        server_ip: Ipv4Address::UNSPECIFIED,
        router: None,
        subnet_mask: None,
        relay_agent_ip: Ipv4Address::UNSPECIFIED,
        broadcast: true,
        requested_ip: Some(Ipv4Address::new(10, 0, 2, 99)),
        client_identifier: None,
        server_identifier: None,
        parameter_request_list: None,
        dns_servers: None,
        max_size: None,
        lease_duration: None,
        renew_duration: None,
        rebind_duration: None,
        additional_options: &[],
    };
    let mut msg = vec![0u8; repr.buffer_len()];
    repr.emit(&mut DhcpPacket::new_unchecked(&mut msg[..]))
        .unwrap();
    let frame = dhcp::reply(&msg).unwrap();
    let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
    let ip = smoltcp::wire::Ipv4Packet::new_checked(eth.payload()).unwrap();
    let udp = smoltcp::wire::UdpPacket::new_checked(ip.payload()).unwrap();
    let packet = DhcpPacket::new_checked(udp.payload()).unwrap();
    let reply = DhcpRepr::parse(&packet).unwrap();
    assert_eq!(reply.message_type, DhcpMessageType::Nak);
    assert_eq!(reply.transaction_id, 0x1234);
    // Garbage gets no answer.
    assert!(dhcp::reply(&[1, 2, 3]).is_none());
}

#[test]
fn tcp_to_the_gateway_reaches_host_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut n = net(&UserNetConfig::default());
    let mut g = Guest::new();
    g.dhcp(&mut n);

    let h = g.tcp_socket();
    let cx = g.iface.context();
    g.sockets
        .get_mut::<tcp::Socket>(h)
        .connect(cx, (IpAddress::Ipv4(GATEWAY_IP), port), 49_500)
        .unwrap();
    let mut host: Option<TcpStream> = None;
    g.until(&mut n, "the connection", |g| {
        if host.is_none()
            && let Ok((s, _)) = listener.accept()
        {
            host = Some(s);
        }
        host.is_some() && g.tcp(h).may_send()
    });
    let mut host = host.unwrap();
    host.set_nonblocking(true).unwrap();

    g.tcp(h).send_slice(b"ping from guest").unwrap();
    let mut got = Vec::new();
    g.until(&mut n, "guest data on the host", |_| {
        let mut b = [0u8; 64];
        match host.read(&mut b) {
            Ok(k) => got.extend_from_slice(&b[..k]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        got.len() >= 15
    });
    assert_eq!(got, b"ping from guest");

    host.write_all(b"pong from host").unwrap();
    let mut back = Vec::new();
    g.until(&mut n, "host data in the guest", |g| {
        let s = g.tcp(h);
        if s.can_recv() {
            s.recv(|d| {
                back.extend_from_slice(d);
                (d.len(), ())
            })
            .unwrap();
        }
        back.len() >= 14
    });
    assert_eq!(back, b"pong from host");

    // The guest closes: the host reads EOF, and the connection goes away once the host closes too.
    g.tcp(h).close();
    g.until(&mut n, "EOF on the host", |_| {
        let mut b = [0u8; 8];
        matches!(host.read(&mut b), Ok(0))
    });
    drop(host);
    for _ in 0..ROUNDS {
        g.step(&mut n);
        if n.tcp_connections() == 0 {
            break;
        }
    }
    assert_eq!(n.tcp_connections(), 0, "the NAT retires the connection");
    assert!(matches!(
        g.tcp(h).state(),
        tcp::State::Closed | tcp::State::TimeWait
    ));
}

#[test]
fn tcp_to_a_closed_host_port_is_reset() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut n = net(&UserNetConfig::default());
    let mut g = Guest::new();
    g.configure_static();
    let h = g.tcp_socket();
    let cx = g.iface.context();
    g.sockets
        .get_mut::<tcp::Socket>(h)
        .connect(cx, (IpAddress::Ipv4(GATEWAY_IP), port), 49_501)
        .unwrap();
    assert_eq!(n.tcp_connections(), 0);
    g.until(&mut n, "the reset", |g| {
        g.tcp(h).state() == tcp::State::Closed
    });
    g.step(&mut n);
    assert_eq!(n.tcp_connections(), 0);
}

#[test]
fn host_forward_reaches_a_guest_port() {
    let config = UserNetConfig {
        host_forwards: vec![HostForward {
            host_addr: std::net::Ipv4Addr::LOCALHOST,
            host_port: 0,
            guest_port: 8080,
        }],
    };
    let mut n = net(&config);
    let addr: SocketAddr = n.host_forward_addrs()[0];
    assert!(addr.ip().is_loopback());
    let mut g = Guest::new();
    g.dhcp(&mut n);
    let h = g.tcp_socket();
    g.tcp(h).listen(8080).unwrap();

    let mut host = TcpStream::connect(addr).unwrap();
    host.set_nonblocking(true).unwrap();
    g.until(&mut n, "the forwarded connection", |g| g.tcp(h).may_send());
    let remote: IpEndpoint = g.tcp(h).remote_endpoint().unwrap();
    assert_eq!(remote.addr, IpAddress::Ipv4(GATEWAY_IP));

    host.write_all(b"hello guest").unwrap();
    let mut got = Vec::new();
    g.until(&mut n, "data in the guest", |g| {
        let s = g.tcp(h);
        if s.can_recv() {
            s.recv(|d| {
                got.extend_from_slice(d);
                (d.len(), ())
            })
            .unwrap();
        }
        got.len() >= 11
    });
    assert_eq!(got, b"hello guest");
    g.tcp(h).send_slice(b"hello host").unwrap();
    let mut back = Vec::new();
    g.until(&mut n, "data on the host", |_| {
        let mut b = [0u8; 32];
        if let Ok(k) = host.read(&mut b) {
            back.extend_from_slice(&b[..k]);
        }
        back.len() >= 10
    });
    assert_eq!(back, b"hello host");
}

#[test]
fn udp_to_the_gateway_reaches_host_loopback_and_replies_return() {
    let host = UdpSocket::bind("127.0.0.1:0").unwrap();
    host.set_nonblocking(true).unwrap();
    let port = host.local_addr().unwrap().port();
    let mut n = net(&UserNetConfig::default());
    let mut g = Guest::new();
    g.dhcp(&mut n);
    let s = udp::Socket::new(
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]),
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4096]),
    );
    let h = g.sockets.add(s);
    g.sockets.get_mut::<udp::Socket>(h).bind(5000).unwrap();
    g.sockets
        .get_mut::<udp::Socket>(h)
        .send_slice(b"query", (IpAddress::Ipv4(GATEWAY_IP), port))
        .unwrap();
    let mut from = None;
    g.until(&mut n, "the datagram on the host", |_| {
        let mut b = [0u8; 16];
        if let Ok((k, a)) = host.recv_from(&mut b) {
            assert_eq!(&b[..k], b"query");
            from = Some(a);
        }
        from.is_some()
    });
    host.send_to(b"answer", from.unwrap()).unwrap();
    let mut got = None;
    g.until(&mut n, "the reply in the guest", |g| {
        if let Ok((d, meta)) = g.sockets.get_mut::<udp::Socket>(h).recv() {
            got = Some((d.to_vec(), meta.endpoint));
        }
        got.is_some()
    });
    let (data, endpoint) = got.unwrap();
    assert_eq!(data, b"answer");
    assert_eq!(endpoint, IpEndpoint::new(IpAddress::Ipv4(GATEWAY_IP), port));
}

#[test]
fn gateway_answers_arp_only_for_itself() {
    let mut n = net(&UserNetConfig::default());
    let arp = |target| {
        let repr = ArpRepr::EthernetIpv4 {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress(GUEST_MAC),
            source_protocol_addr: GUEST_IP,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        let mut f = vec![0u8; 14 + repr.buffer_len()];
        let mut eth = EthernetFrame::new_unchecked(&mut f[..]);
        EthernetRepr {
            src_addr: EthernetAddress(GUEST_MAC),
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EthernetProtocol::Arp,
        }
        .emit(&mut eth);
        repr.emit(&mut ArpPacket::new_unchecked(eth.payload_mut()));
        f
    };
    let mut buf = vec![0u8; MAX_FRAME];
    // Gratuitous ARP for the guest's own address: no answer.
    n.send(&arp(GUEST_IP)).unwrap();
    n.poll().unwrap();
    assert_eq!(n.recv(&mut buf).unwrap(), None);
    n.send(&arp(GATEWAY_IP)).unwrap();
    n.poll().unwrap();
    let len = n.recv(&mut buf).unwrap().unwrap();
    let eth = EthernetFrame::new_checked(&buf[..len]).unwrap();
    let reply = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
    let ArpRepr::EthernetIpv4 {
        operation,
        source_hardware_addr,
        source_protocol_addr,
        ..
    } = reply
    else {
        panic!("not an IPv4 ARP reply");
    };
    assert_eq!(operation, ArpOperation::Reply);
    assert_eq!(source_hardware_addr, EthernetAddress(GATEWAY_MAC));
    assert_eq!(source_protocol_addr, GATEWAY_IP);
}

#[test]
fn garbage_frames_are_ignored() {
    let mut n = net(&UserNetConfig::default());
    for f in [&[][..], &[0u8; 13][..], &[0xffu8; 60][..], &[0u8; 1514][..]] {
        n.send(f).unwrap();
    }
    n.poll().unwrap();
    let mut buf = vec![0u8; MAX_FRAME];
    assert_eq!(n.recv(&mut buf).unwrap(), None);
}

#[test]
fn forward_syntax() {
    let f: HostForward = "tcp:2222-:22".parse().unwrap();
    assert_eq!(
        f,
        HostForward {
            host_addr: std::net::Ipv4Addr::LOCALHOST,
            host_port: 2222,
            guest_port: 22
        }
    );
    let f: HostForward = "tcp::8080-10.0.2.15:80".parse().unwrap();
    assert_eq!((f.host_port, f.guest_port), (8080, 80));
    let f: HostForward = "tcp:0.0.0.0:8080-:80".parse().unwrap();
    assert_eq!(f.host_addr, std::net::Ipv4Addr::UNSPECIFIED);
    for bad in [
        "udp:1-:2",
        "2222-:22",
        "tcp:2222:22",
        "tcp:x-:22",
        "tcp:1-:0",
        "tcp:1-10.0.2.16:2",
        "tcp:1-:70000",
    ] {
        assert!(bad.parse::<HostForward>().is_err(), "{bad}");
    }
    let c = UserNetConfig::parse("hostfwd=tcp:1-:2,hostfwd=tcp:3-:4").unwrap();
    assert_eq!(c.host_forwards.len(), 2);
    assert!(UserNetConfig::parse("").unwrap().host_forwards.is_empty());
    assert!(matches!(
        UserNetConfig::parse("dns=1.1.1.1"),
        Err(DeviceError::NetConfig { .. })
    ));
}

#[test]
fn a_busy_forward_port_is_a_typed_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = UserNetConfig {
        host_forwards: vec![HostForward {
            host_addr: std::net::Ipv4Addr::LOCALHOST,
            host_port: port,
            guest_port: 22,
        }],
    };
    assert!(matches!(
        UserNet::new(&config),
        Err(DeviceError::HostForward { .. })
    ));
}
