//! A Linux TAP interface as a network back end.
//!
//! [`Tap::open`] opens `/dev/net/tun` non-blocking and attaches to (or creates) the interface with
//! `TUNSETIFF`, flags `IFF_TAP | IFF_NO_PI`: each `read` is one Ethernet frame, each `write` sends one.
//! No `IFF_VNET_HDR`, since the device negotiates no offloads. Creating an interface needs
//! `CAP_NET_ADMIN`; an unprivileged user can attach to one created for it beforehand
//! (`ip tuntap add dev tap0 mode tap user $USER`). Failures are [`DeviceError::Tap`] with a
//! [`TapFailure`] that says what to do.
//!
//! Configuring the host side (addresses, bridges, bringing the link up) is left to the user, as QEMU
//! leaves it to its `ifup` script.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{NetBackend, TapFailure};
use crate::error::{DeviceError, Result};
use crate::virtio::HostFd;

/// The clone device.
pub const TUN_DEVICE: &str = "/dev/net/tun";
/// `IFNAMSIZ`: interface names are at most 15 bytes plus NUL.
const IFNAMSIZ: usize = 16;
/// `TUNSETIFF = _IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `IFF_TAP`.
const IFF_TAP: libc::c_short = 0x0002;
/// `IFF_NO_PI`.
const IFF_NO_PI: libc::c_short = 0x1000;

/// `struct ifreq` as `TUNSETIFF` reads it: the name, then the flags, padded to the kernel's size.
#[repr(C)]
struct IfReq {
    name: [u8; IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// A TAP interface; see the module docs.
#[derive(Debug)]
pub struct Tap {
    file: File,
    ifname: String,
}

impl Tap {
    /// Attach to (or create) the TAP interface `ifname`.
    pub fn open(ifname: &str) -> Result<Self> {
        Self::open_at(Path::new(TUN_DEVICE), ifname)
    }

    /// Like [`open`](Self::open) with another clone device path (tests use a missing one).
    pub fn open_at(tun: &Path, ifname: &str) -> Result<Self> {
        let fail = |reason, source| DeviceError::Tap {
            ifname: ifname.to_owned(),
            reason,
            source,
        };
        let name = encode_name(ifname).ok_or_else(|| {
            fail(
                TapFailure::InvalidName,
                std::io::Error::from(ErrorKind::InvalidInput),
            )
        })?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(tun)
            .map_err(|e| {
                let reason = match e.kind() {
                    ErrorKind::NotFound => TapFailure::NoTunDevice,
                    ErrorKind::PermissionDenied => TapFailure::PermissionDenied,
                    _ => TapFailure::Other,
                };
                fail(reason, e)
            })?;
        let mut req = IfReq {
            name,
            flags: IFF_TAP | IFF_NO_PI,
            _pad: [0; 22],
        };
        // SAFETY: TUNSETIFF reads and writes one `struct ifreq`; `req` is a live, properly sized and
        // aligned `#[repr(C)]` value for the whole call, and the descriptor is open.
        let r = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, &mut req as *mut IfReq) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            let reason = match e.raw_os_error() {
                Some(libc::EPERM | libc::EACCES) => TapFailure::PermissionDenied,
                Some(libc::EBUSY) => TapFailure::Busy,
                Some(libc::EINVAL) => TapFailure::InvalidName,
                Some(libc::ENOTTY | libc::EBADFD) => TapFailure::NoTunDevice,
                _ => TapFailure::Other,
            };
            return Err(fail(reason, e));
        }
        let len = req.name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
        let ifname = String::from_utf8_lossy(req.name.get(..len).unwrap_or_default()).into_owned();
        Ok(Self { file, ifname })
    }

    /// The interface name the kernel gave (the one asked for, or the template expanded).
    pub fn ifname(&self) -> &str {
        &self.ifname
    }
}

/// The NUL-padded name, if Linux could accept it.
fn encode_name(ifname: &str) -> Option<[u8; IFNAMSIZ]> {
    let bytes = ifname.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() < IFNAMSIZ
        && ifname != "."
        && ifname != ".."
        && bytes
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if !ok {
        return None;
    }
    let mut name = [0u8; IFNAMSIZ];
    name.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(name)
}

impl NetBackend for Tap {
    fn send(&mut self, frame: &[u8]) -> Result<()> {
        match self.file.write(frame) {
            Ok(_) => Ok(()),
            // The interface queue is full, or the link is down: drop the frame as a NIC would.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(()),
            Err(source) => Err(DeviceError::Io {
                what: "writing a frame to the TAP interface",
                source,
            }),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>> {
        match self.file.read(buf) {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(n)),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                Ok(None)
            }
            Err(source) => Err(DeviceError::Io {
                what: "reading a frame from the TAP interface",
                source,
            }),
        }
    }

    fn host_fds(&self, fds: &mut Vec<HostFd>) {
        fds.push(HostFd::read(self.file.as_raw_fd()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_clone_device_is_a_typed_error() {
        let e = Tap::open_at(Path::new("/nonexistent/net/tun"), "vmtest0").unwrap_err();
        match e {
            DeviceError::Tap { reason, ifname, .. } => {
                assert_eq!(reason, TapFailure::NoTunDevice);
                assert_eq!(ifname, "vmtest0");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn bad_names_are_refused_before_any_syscall() {
        for name in ["", "this-name-is-too-long", "a/b", "a b", "..", "x:y"] {
            let e = Tap::open_at(Path::new("/nonexistent"), name).unwrap_err();
            assert!(
                matches!(
                    e,
                    DeviceError::Tap {
                        reason: TapFailure::InvalidName,
                        ..
                    }
                ),
                "{name:?}: {e:?}"
            );
        }
        assert!(encode_name("tap0").is_some());
        assert!(encode_name("tap-%d").is_some());
    }

    #[test]
    fn not_a_tun_device_is_refused() {
        // /dev/null opens but does not understand TUNSETIFF.
        let e = Tap::open_at(Path::new("/dev/null"), "vmtest0").unwrap_err();
        assert!(
            matches!(
                e,
                DeviceError::Tap {
                    reason: TapFailure::NoTunDevice,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    /// With privileges and /dev/net/tun, a real (non-persistent) interface opens and takes a frame.
    #[test]
    fn open_real_interface_when_permitted() {
        match Tap::open("vmdevtap%d") {
            Ok(mut tap) => {
                assert!(tap.ifname().starts_with("vmdevtap"), "{}", tap.ifname());
                // The link is down: the frame is dropped, not an error.
                tap.send(&[0xff; 60]).unwrap();
                let mut buf = vec![0u8; super::super::MAX_FRAME];
                assert_eq!(tap.recv(&mut buf).unwrap(), None);
            }
            Err(DeviceError::Tap { reason, .. }) => {
                eprintln!("skipping: cannot open a TAP interface here ({reason})");
                assert!(matches!(
                    reason,
                    TapFailure::NoTunDevice | TapFailure::PermissionDenied | TapFailure::Other
                ));
            }
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
}
