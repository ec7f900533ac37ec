//! A raw disk image file as block storage.
//!
//! Reads and writes are positioned (`pread`/`pwrite`), flush is `fdatasync` (`File::sync_data`),
//! discard and write-zeroes use `fallocate` with `FALLOC_FL_KEEP_SIZE` (punching a hole, or zeroing a
//! range) on Linux and fall back to writing zeros where the file system or the OS does not support
//! them. The size is fixed when the image is opened: no operation extends the file.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::storage::{BlockStorage, check_range};
use crate::error::{DeviceError, Result};

/// A raw image file; see the module docs.
#[derive(Debug)]
pub struct RawFile {
    file: File,
    path: PathBuf,
    size: u64,
    read_only: bool,
}

impl RawFile {
    /// Open the image at `path`, for reading only when `read_only`.
    pub fn open(path: impl AsRef<Path>, read_only: bool) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(&path)
            .map_err(|source| DeviceError::DiskOpen {
                path: path.clone(),
                source,
            })?;
        let meta = file.metadata().map_err(|source| DeviceError::DiskOpen {
            path: path.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(DeviceError::DiskImage {
                path,
                reason: "it is not a regular file",
            });
        }
        Ok(Self {
            file,
            path,
            size: meta.len(),
            read_only,
        })
    }

    /// The image path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> DeviceError {
        move |source| DeviceError::Io { what, source }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(DeviceError::Io {
                what: "writing a read-only disk image",
                source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            });
        }
        Ok(())
    }

    /// `fallocate(mode)` over the range; `Ok(false)` when the file system does not support it.
    #[cfg(target_os = "linux")]
    fn fallocate(&self, mode: libc::c_int, offset: u64, len: u64) -> Result<bool> {
        use std::os::fd::AsRawFd;
        let (Ok(off), Ok(n)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
            return Ok(false);
        };
        // SAFETY: fallocate only reads its integer arguments; the descriptor is owned by `self.file`
        // and open for the duration of the call.
        let r = unsafe { libc::fallocate(self.file.as_raw_fd(), mode, off, n) };
        if r == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL) => Ok(false),
            _ => Err(DeviceError::Io {
                what: "deallocating or zeroing disk image blocks",
                source: e,
            }),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn fallocate(&self, _mode: i32, _offset: u64, _len: u64) -> Result<bool> {
        Ok(false)
    }
}

#[cfg(target_os = "linux")]
const PUNCH_HOLE: i32 = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
#[cfg(target_os = "linux")]
const ZERO_RANGE: i32 = libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE;
#[cfg(not(target_os = "linux"))]
const PUNCH_HOLE: i32 = 0;
#[cfg(not(target_os = "linux"))]
const ZERO_RANGE: i32 = 0;

impl BlockStorage for RawFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        check_range(offset, buf.len() as u64, self.size)?;
        self.file
            .read_exact_at(buf, offset)
            .map_err(Self::io("reading the disk image"))
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<()> {
        self.check_writable()?;
        check_range(offset, buf.len() as u64, self.size)?;
        self.file
            .write_all_at(buf, offset)
            .map_err(Self::io("writing the disk image"))
    }

    fn flush(&mut self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.file
            .sync_data()
            .map_err(Self::io("syncing the disk image"))
    }

    fn discard(&mut self, offset: u64, len: u64) -> Result<()> {
        self.write_zeroes(offset, len, true)
    }

    fn write_zeroes(&mut self, offset: u64, len: u64, may_unmap: bool) -> Result<()> {
        self.check_writable()?;
        check_range(offset, len, self.size)?;
        if len == 0 {
            return Ok(());
        }
        if may_unmap && self.fallocate(PUNCH_HOLE, offset, len)? {
            return Ok(());
        }
        if self.fallocate(ZERO_RANGE, offset, len)? {
            return Ok(());
        }
        let zeros = vec![0u8; 64 * 1024];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(zeros.len() as u64) as usize;
            self.write_at(offset + done, zeros.get(..n).unwrap_or_default())?;
            done += n as u64;
        }
        Ok(())
    }
}

impl super::Block {
    /// A block device over the raw image at `path` (read-only when `read_only`), with the image's file
    /// name (its last 20 bytes) as the serial.
    pub fn open(path: impl AsRef<Path>, read_only: bool) -> Result<Self> {
        let file = RawFile::open(path, read_only)?;
        let name = file
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = name.as_bytes();
        let serial = bytes
            .get(bytes.len().saturating_sub(20)..)
            .unwrap_or_default()
            .to_vec();
        Ok(Self::new(
            Box::new(file),
            super::BlockConfig { read_only, serial },
        ))
    }
}
