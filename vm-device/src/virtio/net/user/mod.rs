//! User-mode networking on smoltcp: a virtual 10.0.2.0/24 network in the QEMU slirp layout, with no
//! privileges and no host configuration.
//!
//! - The gateway 10.0.2.2 (MAC 52:55:0a:00:02:02) is a smoltcp interface: it answers ARP for itself and
//!   pings to itself, and terminates the guest's TCP connections.
//! - A DHCP server (module `dhcp`) leases 10.0.2.15/24 with the gateway as router. No DNS server.
//! - TCP and UDP from the guest are NATed to host sockets (modules `tcp`, `udp`): the gateway
//!   address means the host's 127.0.0.1, other addresses are reached from the host as they are.
//! - Host forwards ([`HostForward`]) listen on a host address and port (127.0.0.1 by default) and
//!   connect each accepted connection to a guest TCP port.
//!
//! Driving: [`UserNet`] is a [`NetBackend`]. The device hands it the guest's frames
//! ([`send`](NetBackend::send) only queues them) and calls [`poll`](NetBackend::poll) right after each
//! transmit and whenever the [`worker`](crate::virtio::worker) wakes it, which it does when a host
//! socket is ready ([`host_fds`](NetBackend::host_fds)) or smoltcp's next timer is due
//! ([`poll_timeout`](NetBackend::poll_timeout)). No thread of its own, except one short-lived thread
//! per outbound TCP connection while the host connects.
//!
//! ```no_run
//! use vm_device::virtio::net::Net;
//! use vm_device::virtio::net::user::{UserNet, UserNetConfig};
//!
//! let config = UserNetConfig::parse("hostfwd=tcp:2222-:22")?;
//! let net = UserNet::new(&config)?;
//! let nic = Net::new(Box::new(net), [0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
//! # Ok::<(), vm_device::DeviceError>(())
//! ```

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::str::FromStr;
use std::time::Duration;

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, DHCP_SERVER_PORT, EthernetAddress, EthernetFrame,
    EthernetProtocol, HardwareAddress, IpAddress, IpCidr, IpProtocol, Ipv4Packet, TcpPacket,
    UdpPacket, UdpRepr,
};

use super::NetBackend;
use crate::error::{DeviceError, Result};
use crate::virtio::HostFd;

mod dhcp;
mod frames;
mod tcp;
mod udp;

pub use frames::{GATEWAY_IP, GATEWAY_MAC, GUEST_IP, NETMASK};

/// How often the poller looks while a host connection is being made.
const CONNECT_POLL: Duration = Duration::from_millis(5);

/// A host TCP port forwarded to a guest port.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HostForward {
    /// The host address to listen on (127.0.0.1 unless given).
    pub host_addr: Ipv4Addr,
    /// The host port (0: any free port; see [`UserNet::host_forward_addrs`]).
    pub host_port: u16,
    /// The guest's TCP port.
    pub guest_port: u16,
}

impl FromStr for HostForward {
    type Err = DeviceError;

    /// Parse `tcp:[HOSTADDR:]HOSTPORT-[GUESTADDR]:GUESTPORT` (QEMU's `hostfwd=` value, also with its
    /// empty host address as in `tcp::8080-:80`). The guest address, if given, must be 10.0.2.15.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason| DeviceError::NetConfig {
            setting: s.to_owned(),
            reason,
        };
        let rest = if let Some(r) = s.strip_prefix("tcp:") {
            r
        } else if s.starts_with("udp:") {
            return Err(bad("only TCP ports can be forwarded"));
        } else {
            return Err(bad(
                "expected tcp:[HOSTADDR:]HOSTPORT-[GUESTADDR]:GUESTPORT",
            ));
        };
        let (host, guest) = rest
            .split_once('-')
            .ok_or_else(|| bad("expected HOSTPORT-:GUESTPORT"))?;
        let (host_addr, host_port) = match host.rsplit_once(':') {
            Some((a, p)) => (a, p),
            None => ("", host),
        };
        let host_addr = if host_addr.is_empty() {
            Ipv4Addr::LOCALHOST
        } else {
            host_addr
                .parse()
                .map_err(|_| bad("the host address is not an IPv4 address"))?
        };
        let host_port = host_port
            .parse()
            .map_err(|_| bad("the host port is not a number from 0 to 65535"))?;
        let (guest_addr, guest_port) = guest
            .rsplit_once(':')
            .ok_or_else(|| bad("expected [GUESTADDR]:GUESTPORT after '-'"))?;
        if !guest_addr.is_empty() && guest_addr.parse::<Ipv4Addr>().ok() != Some(GUEST_IP) {
            return Err(bad("the guest address must be 10.0.2.15 (or left out)"));
        }
        let guest_port: u16 = guest_port
            .parse()
            .map_err(|_| bad("the guest port is not a number from 1 to 65535"))?;
        if guest_port == 0 {
            return Err(bad("the guest port is not a number from 1 to 65535"));
        }
        Ok(Self {
            host_addr,
            host_port,
            guest_port,
        })
    }
}

/// Settings of the user-mode network.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserNetConfig {
    /// Host ports forwarded to the guest.
    pub host_forwards: Vec<HostForward>,
}

impl UserNetConfig {
    /// Parse the options after `user` in `--net user,OPT,...`: `hostfwd=...` any number of times
    /// (see [`HostForward`]); an empty string gives the defaults.
    pub fn parse(options: &str) -> Result<Self> {
        let mut config = Self::default();
        for opt in options.split(',').filter(|o| !o.is_empty()) {
            match opt.split_once('=') {
                Some(("hostfwd", v)) => config.host_forwards.push(v.parse()?),
                _ => {
                    return Err(DeviceError::NetConfig {
                        setting: opt.to_owned(),
                        reason: "unknown option (only hostfwd=... is supported)",
                    });
                }
            }
        }
        Ok(config)
    }
}

/// The user-mode network back end; see the module docs.
pub struct UserNet {
    iface: Interface,
    sockets: SocketSet<'static>,
    frames: frames::Frames,
    epoch: std::time::Instant,
    guest_mac: Option<EthernetAddress>,
    tcp: tcp::TcpNat,
    udp: udp::UdpNat,
    wake: bool,
    /// When smoltcp wants its next poll, as of the last poll.
    deadline: Option<std::time::Instant>,
}

impl core::fmt::Debug for UserNet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserNet")
            .field("guest_mac", &self.guest_mac)
            .field("tcp_connections", &self.tcp.len())
            .finish_non_exhaustive()
    }
}

impl UserNet {
    /// A fresh network; binds the forward listeners.
    pub fn new(config: &UserNetConfig) -> Result<Self> {
        let mut listeners = Vec::new();
        for f in &config.host_forwards {
            let addr = SocketAddr::V4(SocketAddrV4::new(f.host_addr, f.host_port));
            let l = TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|source| DeviceError::HostForward { addr, source })?;
            listeners.push((l, f.guest_port));
        }
        let mut frames = frames::Frames::default();
        let epoch = std::time::Instant::now();
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(GATEWAY_MAC)));
        let mut seed = [0u8; 8];
        // A fixed seed only makes TCP sequence numbers predictable to the guest; prefer a random one.
        let _ = getrandom::fill(&mut seed);
        cfg.random_seed = u64::from_le_bytes(seed);
        let mut iface = Interface::new(cfg, &mut frames, smoltcp::time::Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(GATEWAY_IP), frames::PREFIX_LEN));
        });
        // Accept packets for every destination: the NAT answers for the whole internet.
        iface.set_any_ip(true);
        Ok(Self {
            iface,
            sockets: SocketSet::new(Vec::new()),
            frames,
            epoch,
            guest_mac: None,
            tcp: tcp::TcpNat::new(listeners),
            udp: udp::UdpNat::default(),
            wake: false,
            deadline: None,
        })
    }

    /// The host addresses the forwards listen on (with the ports the OS chose for port 0).
    pub fn host_forward_addrs(&self) -> Vec<SocketAddr> {
        self.tcp.forward_addrs()
    }

    /// Live TCP connections.
    pub fn tcp_connections(&self) -> usize {
        self.tcp.len()
    }

    fn now(&self) -> smoltcp::time::Instant {
        let us = i64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(i64::MAX);
        smoltcp::time::Instant::from_micros(us)
    }

    /// Decide what to do with one frame from the guest.
    fn dispatch(&mut self, frame: &[u8]) {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return;
        };
        let src_mac = eth.src_addr();
        if src_mac.is_unicast() {
            self.guest_mac = Some(src_mac);
        }
        match eth.ethertype() {
            EthernetProtocol::Arp => {
                let Ok(repr) =
                    ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p))
                else {
                    return;
                };
                let ArpRepr::EthernetIpv4 {
                    operation,
                    target_protocol_addr,
                    ..
                } = repr
                else {
                    return;
                };
                // Answer only for the gateway (smoltcp's any-IP mode would claim every address,
                // the guest's own included).
                if operation == ArpOperation::Reply || target_protocol_addr == GATEWAY_IP {
                    self.frames.from_guest.push_back(frame.to_vec());
                }
            }
            EthernetProtocol::Ipv4 => self.dispatch_ipv4(frame, eth.payload()),
            _ => {}
        }
    }

    fn dispatch_ipv4(&mut self, frame: &[u8], packet: &[u8]) {
        let Ok(ip) = Ipv4Packet::new_checked(packet) else {
            return;
        };
        if !ip.verify_checksum() || ip.more_frags() || ip.frag_offset() != 0 {
            return;
        }
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        match ip.next_header() {
            IpProtocol::Udp => {
                let Ok(udp) = UdpPacket::new_checked(ip.payload()) else {
                    return;
                };
                let caps = frames::checksums();
                if UdpRepr::parse(&udp, &IpAddress::Ipv4(src), &IpAddress::Ipv4(dst), &caps)
                    .is_err()
                {
                    return;
                }
                if udp.dst_port() == DHCP_SERVER_PORT {
                    if let Some(reply) = dhcp::reply(udp.payload()) {
                        self.frames.push_to_guest(reply);
                    }
                    return;
                }
                if src.is_unspecified() {
                    return;
                }
                let guest = SocketAddrV4::new(src, udp.src_port());
                let remote = SocketAddrV4::new(dst, udp.dst_port());
                self.wake |= self.udp.send(guest, remote, udp.payload());
            }
            IpProtocol::Tcp => {
                let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
                    return;
                };
                if tcp.syn() && !tcp.ack() {
                    let dst = SocketAddrV4::new(dst, tcp.dst_port());
                    self.wake |= self
                        .tcp
                        .on_guest_syn(&mut self.sockets, tcp.src_port(), dst);
                }
                self.frames.from_guest.push_back(frame.to_vec());
            }
            IpProtocol::Icmp if dst == GATEWAY_IP => {
                self.frames.from_guest.push_back(frame.to_vec());
            }
            _ => {}
        }
    }

    fn iface_poll(&mut self) {
        let now = self.now();
        self.iface.poll(now, &mut self.frames, &mut self.sockets);
    }
}

impl NetBackend for UserNet {
    fn send(&mut self, frame: &[u8]) -> Result<()> {
        self.dispatch(frame);
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>> {
        while let Some(frame) = self.frames.to_guest.pop_front() {
            if let Some(dst) = buf.get_mut(..frame.len()) {
                dst.copy_from_slice(&frame);
                return Ok(Some(frame.len()));
            }
        }
        Ok(None)
    }

    fn poll(&mut self) -> Result<()> {
        let mut changed = self
            .tcp
            .accept_forwards(self.iface.context(), &mut self.sockets);
        changed |= self.tcp.pump(&mut self.sockets);
        self.iface_poll();
        // What the guest just sent may have data for the host, and the host's data needs sending.
        changed |= self.tcp.pump(&mut self.sockets);
        self.iface_poll();
        changed |= self.udp.poll(self.guest_mac, &mut self.frames);
        self.wake |= changed;
        let now = self.now();
        self.deadline = self
            .iface
            .poll_delay(now, &self.sockets)
            .map(|d| std::time::Instant::now() + Duration::from_micros(d.total_micros()));
        Ok(())
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let mut t = self
            .deadline
            .map(|d| d.saturating_duration_since(std::time::Instant::now()));
        if self.tcp.connecting() {
            t = Some(t.map_or(CONNECT_POLL, |t| t.min(CONNECT_POLL)));
        }
        t
    }

    fn host_fds(&self, fds: &mut Vec<HostFd>) {
        if self.frames.to_guest.len() >= frames::MAX_QUEUED {
            // The guest is not taking frames: reading more from the host would only spin.
            return;
        }
        self.tcp.host_fds(&self.sockets, fds);
        self.udp.host_fds(fds);
    }

    fn take_wake(&mut self) -> bool {
        core::mem::take(&mut self.wake)
    }
}

#[cfg(test)]
mod tests;
