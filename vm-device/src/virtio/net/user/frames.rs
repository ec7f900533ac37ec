//! The virtual network's addresses, the frame queues between the guest and the smoltcp interface, and
//! building the frames the NAT sends without smoltcp (UDP replies, DHCP).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::phy::{self, Checksum, ChecksumCapabilities, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol,
    Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
};

/// The gateway (the host, as the guest sees it): QEMU slirp's 10.0.2.2.
pub const GATEWAY_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The address the DHCP server hands out: QEMU slirp's 10.0.2.15.
pub const GUEST_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
/// The network mask of 10.0.2.0/24.
pub const NETMASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);
/// Prefix length of the virtual network.
pub const PREFIX_LEN: u8 = 24;
/// The gateway's MAC address (QEMU slirp's).
pub const GATEWAY_MAC: [u8; 6] = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
/// The virtual network's MTU.
pub const MTU: usize = 1500;
/// Most frames waiting for the guest; more are dropped, as a full NIC queue would.
pub const MAX_QUEUED: usize = 1024;

/// Whether `ip` is on the virtual network.
pub fn on_virtual_net(ip: Ipv4Addr) -> bool {
    u32::from(ip) & u32::from(NETMASK) == u32::from(GATEWAY_IP) & u32::from(NETMASK)
}

/// Frames from the guest to smoltcp, and from smoltcp (and the NAT) to the guest.
#[derive(Debug, Default)]
pub(super) struct Frames {
    pub(super) from_guest: VecDeque<Vec<u8>>,
    pub(super) to_guest: VecDeque<Vec<u8>>,
}

impl Frames {
    /// Queue a frame for the guest unless the queue is full.
    pub(super) fn push_to_guest(&mut self, frame: Vec<u8>) {
        if self.to_guest.len() < MAX_QUEUED {
            self.to_guest.push_back(frame);
        }
    }
}

/// smoltcp's receive token: one frame from the guest.
pub(super) struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// smoltcp's transmit token: one frame to the guest.
pub(super) struct TxToken<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0u8; len];
        let r = f(&mut frame);
        if self.0.len() < MAX_QUEUED {
            self.0.push_back(frame);
        }
        r
    }
}

impl phy::Device for Frames {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = self.from_guest.pop_front()?;
        Some((RxToken(frame), TxToken(&mut self.to_guest)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.to_guest))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU + 14;
        caps.checksum = checksums();
        caps
    }
}

/// Compute and verify every checksum: the guest's frames are not trusted.
pub(super) fn checksums() -> ChecksumCapabilities {
    let mut c = ChecksumCapabilities::default();
    c.ipv4 = Checksum::Both;
    c.udp = Checksum::Both;
    c.tcp = Checksum::Both;
    c.icmpv4 = Checksum::Both;
    c
}

/// An Ethernet + IPv4 + UDP frame from `src` to `dst` carrying `payload`, or `None` if it would not fit
/// the MTU (the NAT does not fragment).
pub(super) fn udp_frame(
    dst_mac: EthernetAddress,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
) -> Option<Vec<u8>> {
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    if ip_len > MTU {
        return None;
    }
    let mut frame = vec![0u8; 14 + ip_len];
    let eth = EthernetRepr {
        src_addr: EthernetAddress(GATEWAY_MAC),
        dst_addr: dst_mac,
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut eth_frame = EthernetFrame::new_unchecked(&mut frame[..]);
    eth.emit(&mut eth_frame);
    let ip = Ipv4Repr {
        src_addr: *src.ip(),
        dst_addr: *dst.ip(),
        next_header: IpProtocol::Udp,
        payload_len: udp_len,
        hop_limit: 64,
    };
    let caps = checksums();
    let mut ip_packet = Ipv4Packet::new_unchecked(eth_frame.payload_mut());
    ip.emit(&mut ip_packet, &caps);
    let udp = UdpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
    };
    let mut udp_packet = UdpPacket::new_unchecked(ip_packet.payload_mut());
    udp.emit(
        &mut udp_packet,
        &IpAddress::Ipv4(*src.ip()),
        &IpAddress::Ipv4(*dst.ip()),
        payload.len(),
        |buf| buf.copy_from_slice(payload),
        &caps,
    );
    Some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_frame_round_trips_through_the_parsers() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let src = SocketAddrV4::new(GATEWAY_IP, 53);
        let dst = SocketAddrV4::new(GUEST_IP, 4000);
        let frame = udp_frame(mac, src, dst, b"hello").unwrap();
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.dst_addr(), mac);
        assert_eq!(eth.src_addr(), EthernetAddress(GATEWAY_MAC));
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        let ip_repr = Ipv4Repr::parse(&ip, &checksums()).unwrap();
        assert_eq!(ip_repr.src_addr, GATEWAY_IP);
        assert_eq!(ip_repr.dst_addr, GUEST_IP);
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        let repr = UdpRepr::parse(
            &udp,
            &IpAddress::Ipv4(GATEWAY_IP),
            &IpAddress::Ipv4(GUEST_IP),
            &checksums(),
        )
        .unwrap();
        assert_eq!((repr.src_port, repr.dst_port), (53, 4000));
        assert_eq!(udp.payload(), b"hello");
        assert!(udp_frame(mac, src, dst, &[0; MTU]).is_none());
    }

    #[test]
    fn virtual_net_membership() {
        assert!(on_virtual_net(GUEST_IP));
        assert!(on_virtual_net(Ipv4Addr::new(10, 0, 2, 255)));
        assert!(!on_virtual_net(Ipv4Addr::new(10, 0, 3, 1)));
        assert!(!on_virtual_net(Ipv4Addr::LOCALHOST));
    }
}
