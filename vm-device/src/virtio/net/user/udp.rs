//! UDP NAT: each (guest endpoint, destination) pair gets a connected host `UdpSocket`.
//!
//! Datagrams to the gateway go to the host's 127.0.0.1, others to the destination the guest named;
//! replies come back from the address the guest sent to. Datagrams that would not fit one frame of the
//! virtual network (over 1472 bytes) are dropped rather than fragmented, and fragmented guest datagrams
//! are not reassembled. Flows idle for two minutes are closed; at most [`MAX_FLOWS`] exist, the least
//! recently used giving way to a new one.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use smoltcp::wire::EthernetAddress;

use super::frames::{Frames, MAX_QUEUED, udp_frame};
use super::tcp::host_target;
use crate::virtio::HostFd;

/// Most flows at once.
pub const MAX_FLOWS: usize = 64;
/// How long an idle flow lives.
const IDLE: Duration = Duration::from_secs(120);
/// Most datagrams read from one flow per poll.
const PER_POLL: usize = 64;

struct Flow {
    guest: SocketAddrV4,
    remote: SocketAddrV4,
    socket: UdpSocket,
    last: Instant,
}

/// All UDP flows.
#[derive(Default)]
pub(super) struct UdpNat {
    flows: Vec<Flow>,
    buf: Vec<u8>,
}

impl UdpNat {
    /// Send the guest's datagram from `guest` to `remote`. Returns whether a flow (descriptor) was
    /// added.
    pub(super) fn send(
        &mut self,
        guest: SocketAddrV4,
        remote: SocketAddrV4,
        payload: &[u8],
    ) -> bool {
        let Some(target) = host_target(remote) else {
            return false;
        };
        let mut added = false;
        let index = match self
            .flows
            .iter()
            .position(|f| f.guest == guest && f.remote == remote)
        {
            Some(i) => i,
            None => {
                let Some(socket) = open(target) else {
                    return false;
                };
                if self.flows.len() >= MAX_FLOWS
                    && let Some(oldest) = self
                        .flows
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, f)| f.last)
                        .map(|(i, _)| i)
                {
                    self.flows.swap_remove(oldest);
                }
                self.flows.push(Flow {
                    guest,
                    remote,
                    socket,
                    last: Instant::now(),
                });
                added = true;
                self.flows.len() - 1
            }
        };
        if let Some(flow) = self.flows.get_mut(index) {
            flow.last = Instant::now();
            // A full host buffer or an unreachable port drops the datagram, as a network would.
            let _ = flow.socket.send(payload);
        }
        added
    }

    /// Turn replies into frames for the guest (at `guest_mac`) and close idle flows. Returns whether a
    /// flow was closed.
    pub(super) fn poll(&mut self, guest_mac: Option<EthernetAddress>, frames: &mut Frames) -> bool {
        if self.buf.is_empty() {
            self.buf = vec![0; 65536];
        }
        for flow in &mut self.flows {
            for _ in 0..PER_POLL {
                if frames.to_guest.len() >= MAX_QUEUED {
                    break;
                }
                match flow.socket.recv(&mut self.buf) {
                    Ok(n) => {
                        flow.last = Instant::now();
                        let payload = self.buf.get(..n).unwrap_or_default();
                        if let Some(mac) = guest_mac
                            && let Some(frame) = udp_frame(mac, flow.remote, flow.guest, payload)
                        {
                            frames.push_to_guest(frame);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // WouldBlock, or an ICMP error reported on the connected socket.
                    Err(_) => break,
                }
            }
        }
        let before = self.flows.len();
        self.flows.retain(|f| f.last.elapsed() < IDLE);
        self.flows.len() != before
    }

    /// The flows' descriptors.
    pub(super) fn host_fds(&self, fds: &mut Vec<HostFd>) {
        use std::os::fd::AsRawFd;
        fds.extend(
            self.flows
                .iter()
                .map(|f| HostFd::read(f.socket.as_raw_fd())),
        );
    }
}

/// A non-blocking host socket connected to `target`.
fn open(target: SocketAddrV4) -> Option<UdpSocket> {
    let bind = if target.ip().is_loopback() {
        Ipv4Addr::LOCALHOST
    } else {
        Ipv4Addr::UNSPECIFIED
    };
    let socket = UdpSocket::bind(SocketAddr::V4(SocketAddrV4::new(bind, 0))).ok()?;
    socket.connect(SocketAddr::V4(target)).ok()?;
    socket.set_nonblocking(true).ok()?;
    Some(socket)
}
