//! The DHCP server of the virtual network: one lease, 10.0.2.15, with 10.0.2.2 as router and server.
//!
//! smoltcp has a DHCP client but no server, so the server is written here over smoltcp's DHCP wire
//! format: DISCOVER gets an OFFER, REQUEST for our address (or with none) an ACK, REQUEST for another
//! address a NAK; everything else is ignored. Replies are broadcast (to 255.255.255.255 and
//! ff:ff:ff:ff:ff:ff), which every client accepts before it has an address. No DNS server is announced.

use std::net::SocketAddrV4;

use smoltcp::wire::{
    DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DhcpMessageType, DhcpPacket, DhcpRepr, EthernetAddress,
    Ipv4Address,
};

use super::frames::{GATEWAY_IP, GUEST_IP, NETMASK, udp_frame};

/// Lease time handed out: one day.
pub const LEASE_SECS: u32 = 86_400;
/// BOOTP's minimum message size; some clients drop shorter replies.
const MIN_MESSAGE: usize = 300;

/// The reply frame to a DHCP message `payload` (the UDP payload of a datagram to port 67), if any.
pub(super) fn reply(payload: &[u8]) -> Option<Vec<u8>> {
    let packet = DhcpPacket::new_checked(payload).ok()?;
    let request = DhcpRepr::parse(&packet).ok()?;
    let message_type = match request.message_type {
        DhcpMessageType::Discover => DhcpMessageType::Offer,
        DhcpMessageType::Request => {
            let wanted = request
                .requested_ip
                .or_else(|| (!request.client_ip.is_unspecified()).then_some(request.client_ip));
            match wanted {
                Some(ip) if ip != GUEST_IP => DhcpMessageType::Nak,
                _ => DhcpMessageType::Ack,
            }
        }
        _ => return None,
    };
    let nak = message_type == DhcpMessageType::Nak;
    let repr = DhcpRepr {
        message_type,
        transaction_id: request.transaction_id,
        secs: 0,
        client_hardware_address: request.client_hardware_address,
        client_ip: Ipv4Address::UNSPECIFIED,
        your_ip: if nak {
            Ipv4Address::UNSPECIFIED
        } else {
            GUEST_IP
        },
        server_ip: GATEWAY_IP,
        router: (!nak).then_some(GATEWAY_IP),
        subnet_mask: (!nak).then_some(NETMASK),
        relay_agent_ip: Ipv4Address::UNSPECIFIED,
        broadcast: request.broadcast,
        requested_ip: None,
        client_identifier: None,
        server_identifier: Some(GATEWAY_IP),
        parameter_request_list: None,
        dns_servers: None,
        max_size: None,
        lease_duration: (!nak).then_some(LEASE_SECS),
        renew_duration: None,
        rebind_duration: None,
        additional_options: &[],
    };
    let mut message = vec![0u8; repr.buffer_len().max(MIN_MESSAGE)];
    let mut out = DhcpPacket::new_unchecked(&mut message[..]);
    repr.emit(&mut out).ok()?;
    udp_frame(
        EthernetAddress::BROADCAST,
        SocketAddrV4::new(GATEWAY_IP, DHCP_SERVER_PORT),
        SocketAddrV4::new(Ipv4Address::BROADCAST, DHCP_CLIENT_PORT),
        &message,
    )
}
