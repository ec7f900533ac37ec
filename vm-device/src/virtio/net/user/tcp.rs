//! TCP NAT between smoltcp sockets (the guest's side) and host `TcpStream`s.
//!
//! Outbound: when the guest sends a SYN to an address and port nobody listens on yet, a smoltcp socket
//! starts listening there (the interface accepts any destination address) so that it completes the
//! guest's handshake, and a helper thread connects the host socket: connections to the gateway
//! 10.0.2.2 go to the host's 127.0.0.1, others to the address the guest asked for, addresses on the
//! virtual network other than the gateway are refused. If the host connection fails the guest's
//! connection is reset. Inbound (host forwards): a host listener accepts and a smoltcp socket connects
//! from the gateway to the guest's port.
//!
//! Each poll copies bytes both ways without blocking, passes half-closes on (guest FIN → host
//! `shutdown(Write)`, host EOF → FIN to the guest) and drops connections that are closed, reset, or
//! listening for a handshake that never came.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use smoltcp::iface::{Context, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{Socket, SocketBuffer, State};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint};

use super::frames::{GATEWAY_IP, GUEST_IP, on_virtual_net};
use crate::virtio::HostFd;

/// Socket buffer size per direction.
const BUFFER: usize = 64 * 1024;
/// Most connections at once (each holds two buffers); SYNs beyond it are reset.
pub const MAX_CONNECTIONS: usize = 256;
/// How long an outbound host connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a listening socket waits for the guest's handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// First local port for connections to the guest.
const FIRST_EPHEMERAL: u16 = 49152;

/// The host side of a connection.
enum Host {
    Connecting(Receiver<std::io::Result<TcpStream>>),
    Connected(TcpStream),
    Closed,
}

/// One NATed connection.
struct Conn {
    handle: SocketHandle,
    host: Host,
    /// The guest's endpoint.
    guest_port: u16,
    /// The endpoint the guest talks to (outbound) or the gateway port (inbound).
    peer: SocketAddrV4,
    created: Instant,
    host_write_closed: bool,
    host_read_eof: bool,
    /// Bytes from the guest wait for the host socket to become writable.
    want_write: bool,
    /// The socket was aborted and its reset has not gone out yet (needs one interface poll).
    abort_pending: bool,
}

/// All connections and the forward listeners.
pub(super) struct TcpNat {
    conns: Vec<Conn>,
    forwards: Vec<(TcpListener, u16)>,
    next_port: u16,
}

fn new_socket() -> Socket<'static> {
    let mut s = Socket::new(
        SocketBuffer::new(vec![0; BUFFER]),
        SocketBuffer::new(vec![0; BUFFER]),
    );
    s.set_nagle_enabled(false);
    s
}

/// Where on the host a guest connection to `dst` goes, if anywhere.
pub(super) fn host_target(dst: SocketAddrV4) -> Option<SocketAddrV4> {
    if *dst.ip() == GATEWAY_IP {
        Some(SocketAddrV4::new(Ipv4Addr::LOCALHOST, dst.port()))
    } else if on_virtual_net(*dst.ip())
        || dst.ip().is_broadcast()
        || dst.ip().is_multicast()
        || dst.ip().is_unspecified()
    {
        None
    } else {
        Some(dst)
    }
}

impl TcpNat {
    pub(super) fn new(forwards: Vec<(TcpListener, u16)>) -> Self {
        Self {
            conns: Vec::new(),
            forwards,
            next_port: FIRST_EPHEMERAL,
        }
    }

    /// The host addresses the forwards listen on.
    pub(super) fn forward_addrs(&self) -> Vec<SocketAddr> {
        self.forwards
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// The guest sent a SYN from `guest_port` to `dst`: make sure a socket will answer it.
    /// Returns whether a new connection started.
    pub(super) fn on_guest_syn(
        &mut self,
        sockets: &mut SocketSet<'static>,
        guest_port: u16,
        dst: SocketAddrV4,
    ) -> bool {
        if self
            .conns
            .iter()
            .any(|c| c.guest_port == guest_port && c.peer == dst)
        {
            return false;
        }
        if self.conns.len() >= MAX_CONNECTIONS {
            return false;
        }
        let Some(target) = host_target(dst) else {
            return false;
        };
        let mut socket = new_socket();
        let local = IpListenEndpoint {
            addr: Some(IpAddress::Ipv4(*dst.ip())),
            port: dst.port(),
        };
        if socket.listen(local).is_err() {
            return false;
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("usernet-connect".into())
            .spawn(move || {
                let _ = tx.send(TcpStream::connect_timeout(
                    &SocketAddr::V4(target),
                    CONNECT_TIMEOUT,
                ));
            });
        if spawned.is_err() {
            return false;
        }
        let handle = sockets.add(socket);
        self.conns.push(Conn {
            handle,
            host: Host::Connecting(rx),
            guest_port,
            peer: dst,
            created: Instant::now(),
            host_write_closed: false,
            host_read_eof: false,
            want_write: false,
            abort_pending: false,
        });
        true
    }

    /// Accept host connections on the forward listeners and connect them to the guest.
    /// Returns whether the descriptor set changed.
    pub(super) fn accept_forwards(
        &mut self,
        cx: &mut Context,
        sockets: &mut SocketSet<'static>,
    ) -> bool {
        let mut changed = false;
        for i in 0..self.forwards.len() {
            while let Some((listener, guest_port)) = self.forwards.get(i) {
                let guest_port = *guest_port;
                let Ok((stream, _)) = listener.accept() else {
                    break;
                };
                if self.conns.len() >= MAX_CONNECTIONS || stream.set_nonblocking(true).is_err() {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let local_port = self.ephemeral_port();
                let mut socket = new_socket();
                let remote = IpEndpoint::new(IpAddress::Ipv4(GUEST_IP), guest_port);
                let local = IpListenEndpoint {
                    addr: Some(IpAddress::Ipv4(GATEWAY_IP)),
                    port: local_port,
                };
                if socket.connect(cx, remote, local).is_err() {
                    continue;
                }
                let handle = sockets.add(socket);
                self.conns.push(Conn {
                    handle,
                    host: Host::Connected(stream),
                    guest_port,
                    peer: SocketAddrV4::new(GATEWAY_IP, local_port),
                    created: Instant::now(),
                    host_write_closed: false,
                    host_read_eof: false,
                    want_write: false,
                    abort_pending: false,
                });
                changed = true;
            }
        }
        changed
    }

    /// A local port on the gateway no live connection uses.
    fn ephemeral_port(&mut self) -> u16 {
        loop {
            let p = self.next_port;
            self.next_port = if p == u16::MAX {
                FIRST_EPHEMERAL
            } else {
                p + 1
            };
            if !self
                .conns
                .iter()
                .any(|c| *c.peer.ip() == GATEWAY_IP && c.peer.port() == p)
            {
                return p;
            }
        }
    }

    /// Move bytes both ways and retire finished connections. Returns whether the descriptor set
    /// changed.
    pub(super) fn pump(&mut self, sockets: &mut SocketSet<'static>) -> bool {
        let mut changed = false;
        for c in &mut self.conns {
            let socket = sockets.get_mut::<Socket>(c.handle);
            changed |= pump_one(c, socket);
        }
        let before = self.conns.len();
        self.conns.retain_mut(|c| {
            let state = sockets.get::<Socket>(c.handle).state();
            let stale = state == State::Listen && c.created.elapsed() > HANDSHAKE_TIMEOUT;
            let done = matches!(state, State::Closed | State::TimeWait) || stale;
            if done && c.abort_pending {
                // Keep it for one more interface poll so that the reset reaches the guest.
                c.abort_pending = false;
                return true;
            }
            if done {
                sockets.remove(c.handle);
            }
            !done
        });
        changed || self.conns.len() != before
    }

    /// Whether a host connection is still being made (the poller then polls often).
    pub(super) fn connecting(&self) -> bool {
        self.conns
            .iter()
            .any(|c| matches!(c.host, Host::Connecting(_)))
    }

    /// Descriptors worth waking for.
    pub(super) fn host_fds(&self, sockets: &SocketSet<'static>, fds: &mut Vec<HostFd>) {
        use std::os::fd::AsRawFd;
        for (l, _) in &self.forwards {
            fds.push(HostFd::read(l.as_raw_fd()));
        }
        for c in &self.conns {
            if let Host::Connected(s) = &c.host {
                let socket = sockets.get::<Socket>(c.handle);
                let readable = !c.host_read_eof && socket.can_send();
                if readable || c.want_write {
                    fds.push(HostFd {
                        fd: s.as_raw_fd(),
                        readable,
                        writable: c.want_write,
                    });
                }
            }
        }
    }

    /// Number of live connections.
    pub(super) fn len(&self) -> usize {
        self.conns.len()
    }
}

/// Outcome of one host read.
enum Read1 {
    Data,
    Eof,
    Blocked,
    Failed,
}

fn pump_one(c: &mut Conn, socket: &mut Socket<'static>) -> bool {
    let mut changed = false;
    if let Host::Connecting(rx) = &c.host {
        match rx.try_recv() {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                c.host = match stream.set_nonblocking(true) {
                    Ok(()) => Host::Connected(stream),
                    Err(_) => Host::Closed,
                };
                changed = true;
            }
            Ok(Err(_)) | Err(TryRecvError::Disconnected) => c.host = Host::Closed,
            Err(TryRecvError::Empty) => return false,
        }
    }
    let Host::Connected(stream) = &c.host else {
        if socket.state() != State::Closed {
            socket.abort();
            c.abort_pending = true;
        }
        return changed;
    };
    let mut stream: &TcpStream = stream;
    // Guest to host.
    c.want_write = false;
    let mut failed = false;
    while socket.can_recv() {
        let r = socket.recv(|data| match stream.write(data) {
            Ok(n) => (n, Ok(n)),
            Err(e) => (0, Err(e)),
        });
        match r {
            Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.kind() == ErrorKind::WouldBlock => {
                c.want_write = true;
                break;
            }
            Ok(Err(e)) if e.kind() == ErrorKind::Interrupted => {}
            Ok(Err(_)) => {
                failed = true;
                break;
            }
            Err(_) => break,
        }
    }
    let guest_done = matches!(
        socket.state(),
        State::CloseWait | State::LastAck | State::Closing | State::TimeWait | State::Closed
    );
    if guest_done && socket.recv_queue() == 0 && !c.host_write_closed {
        let _ = stream.shutdown(Shutdown::Write);
        c.host_write_closed = true;
    }
    // Host to guest.
    while !failed && !c.host_read_eof && socket.can_send() {
        let r = socket.send(|buf| match stream.read(buf) {
            Ok(0) => (0, Read1::Eof),
            Ok(n) => (n, Read1::Data),
            Err(e) if e.kind() == ErrorKind::WouldBlock => (0, Read1::Blocked),
            Err(e) if e.kind() == ErrorKind::Interrupted => (0, Read1::Data),
            Err(_) => (0, Read1::Failed),
        });
        match r {
            Ok(Read1::Data) => {}
            Ok(Read1::Eof) => {
                c.host_read_eof = true;
                socket.close();
                changed = true;
            }
            Ok(Read1::Blocked) | Err(_) => break,
            Ok(Read1::Failed) => failed = true,
        }
    }
    if failed {
        socket.abort();
        c.abort_pending = true;
        c.host = Host::Closed;
        changed = true;
    }
    changed
}
