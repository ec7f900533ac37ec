use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use vm_core::GuestPhysAddr;

use super::*;
use crate::virtio::driver::{Buf, Driver};
use crate::virtio::queue::DESC_F_WRITE;
use crate::virtio::testing::{DATA, RAM, RAM_SIZE, ram};
use crate::virtio::{VirtioDevice, features};

const HDR: u64 = DATA;
const BUF: u64 = DATA + 0x1000;
const STATUS: u64 = DATA + 0x80;
const SECTORS: u64 = 64;

fn disk(read_only: bool) -> Driver<Block> {
    let mut image = vec![0u8; (SECTORS * SECTOR_SIZE) as usize];
    for (i, b) in image.iter_mut().enumerate() {
        *b = (i / 512) as u8;
    }
    let config = BlockConfig {
        read_only,
        serial: b"disk-serial-0123456789".to_vec(),
    };
    let mut d = Driver::new(Block::new(Box::new(MemStorage::new(image)), config), ram());
    d.init(u64::MAX, RAM, 16);
    d
}

fn header(d: &Driver<Block>, kind: u32, sector: u64) {
    let mem = d.mem();
    mem.write_u32(GuestPhysAddr(HDR), kind).unwrap();
    mem.write_u32(GuestPhysAddr(HDR + 4), 0).unwrap();
    mem.write_u64(GuestPhysAddr(HDR + 8), sector).unwrap();
    mem.write_u8(GuestPhysAddr(STATUS), 0xff).unwrap();
}

/// Submit a request and return (status byte, used length).
fn run(d: &mut Driver<Block>, bufs: &[Buf]) -> (u8, u32) {
    let head = d.submit(0, bufs);
    let used = d.take_used(0);
    assert_eq!(used.len(), 1, "one completion");
    assert_eq!(used[0].0, u32::from(head));
    (d.mem().read_u8(GuestPhysAddr(STATUS)).unwrap(), used[0].1)
}

fn rw(d: &mut Driver<Block>, kind: u32, sector: u64, len: u32) -> (u8, u32) {
    header(d, kind, sector);
    let writable = kind == req_type::IN || kind == req_type::GET_ID;
    run(
        d,
        &[(HDR, 16, false), (BUF, len, writable), (STATUS, 1, true)],
    )
}

fn storage(d: &mut Driver<Block>) -> Vec<u8> {
    let mut out = vec![0u8; (SECTORS * SECTOR_SIZE) as usize];
    d.mmio.device_mut().storage.read_at(0, &mut out).unwrap();
    out
}

#[test]
fn features_and_config() {
    let mut d = disk(false);
    let f = d.device_features();
    assert_eq!(
        f,
        features::TRANSPORT
            | blk_features::SEG_MAX
            | blk_features::BLK_SIZE
            | blk_features::FLUSH
            | blk_features::DISCARD
            | blk_features::WRITE_ZEROES
    );
    let ro = disk(true).device_features();
    assert_eq!(ro & blk_features::RO, blk_features::RO);
    assert_eq!(ro & (blk_features::DISCARD | blk_features::WRITE_ZEROES), 0);
    let mut cap = [0u8; 8];
    d.mmio.device().read_config(0, &mut cap);
    assert_eq!(u64::from_le_bytes(cap), SECTORS);
}

#[test]
fn read_returns_sector_contents() {
    let mut d = disk(false);
    assert_eq!(rw(&mut d, req_type::IN, 3, 1024), (blk_status::OK, 1025));
    let mut got = vec![0u8; 1024];
    d.mem().read(GuestPhysAddr(BUF), &mut got).unwrap();
    assert!(got[..512].iter().all(|&b| b == 3));
    assert!(got[512..].iter().all(|&b| b == 4));
}

#[test]
fn write_then_read_back_across_split_buffers() {
    let mut d = disk(false);
    let data: Vec<u8> = (0..1024u32).map(|i| (i * 7) as u8).collect();
    d.mem().write(GuestPhysAddr(BUF), &data).unwrap();
    header(&d, req_type::OUT, 10);
    // Header split in two, data in three pieces.
    let (s, len) = run(
        &mut d,
        &[
            (HDR, 5, false),
            (HDR + 5, 11, false),
            (BUF, 100, false),
            (BUF + 100, 412, false),
            (BUF + 512, 512, false),
            (STATUS, 1, true),
        ],
    );
    assert_eq!((s, len), (blk_status::OK, 1));
    assert_eq!(&storage(&mut d)[10 * 512..12 * 512], &data[..]);
}

/// Storage that counts flushes, in memory.
struct Counting(MemStorage, alloc::sync::Arc<core::sync::atomic::AtomicU64>);

impl BlockStorage for Counting {
    fn size(&self) -> u64 {
        self.0.size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> crate::Result<()> {
        self.0.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> crate::Result<()> {
        self.0.write_at(offset, buf)
    }
    fn flush(&mut self) -> crate::Result<()> {
        self.1.fetch_add(1, core::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn flush_reaches_the_storage_before_completing() {
    let flushes = alloc::sync::Arc::new(core::sync::atomic::AtomicU64::new(0));
    let storage = Counting(MemStorage::new(vec![0; 4096]), flushes.clone());
    let mut d = Driver::new(Block::new(Box::new(storage), BlockConfig::default()), ram());
    d.init(u64::MAX, RAM, 16);
    header(&d, req_type::FLUSH, 0);
    assert_eq!(
        run(&mut d, &[(HDR, 16, false), (STATUS, 1, true)]),
        (blk_status::OK, 1)
    );
    assert_eq!(flushes.load(core::sync::atomic::Ordering::SeqCst), 1);
    // The default write-zeroes of a storage writes zeros through write_at.
    d.mem().write_u64(GuestPhysAddr(BUF), 2).unwrap();
    d.mem().write_u32(GuestPhysAddr(BUF + 8), 3).unwrap();
    d.mem().write_u32(GuestPhysAddr(BUF + 12), 0).unwrap();
    assert_eq!(
        rw(&mut d, req_type::WRITE_ZEROES, 0, 16),
        (blk_status::OK, 1)
    );
}

#[test]
fn get_id_returns_twenty_bytes_of_serial() {
    let mut d = disk(false);
    assert_eq!(rw(&mut d, req_type::GET_ID, 0, 20), (blk_status::OK, 21));
    let mut id = [0u8; 20];
    d.mem().read(GuestPhysAddr(BUF), &mut id).unwrap();
    assert_eq!(&id, b"disk-serial-01234567");
    // A shorter buffer gets a truncated ID.
    assert_eq!(rw(&mut d, req_type::GET_ID, 0, 4), (blk_status::OK, 5));
}

#[test]
fn discard_and_write_zeroes_clear_ranges() {
    let mut d = disk(false);
    let segs = |d: &Driver<Block>, list: &[(u64, u32, u32)]| {
        for (i, &(sector, n, flags)) in list.iter().enumerate() {
            let at = BUF + 16 * i as u64;
            d.mem().write_u64(GuestPhysAddr(at), sector).unwrap();
            d.mem().write_u32(GuestPhysAddr(at + 8), n).unwrap();
            d.mem().write_u32(GuestPhysAddr(at + 12), flags).unwrap();
        }
    };
    segs(&d, &[(1, 2, 0), (8, 1, 0)]);
    assert_eq!(rw(&mut d, req_type::DISCARD, 0, 32), (blk_status::OK, 1));
    segs(&d, &[(20, 3, 1)]);
    assert_eq!(
        rw(&mut d, req_type::WRITE_ZEROES, 0, 16),
        (blk_status::OK, 1)
    );
    let s = storage(&mut d);
    for sector in 0..SECTORS as usize {
        let zero = matches!(sector, 1 | 2 | 8 | 20..=22);
        let expect = if zero { 0 } else { sector as u8 };
        assert!(
            s[sector * 512..(sector + 1) * 512]
                .iter()
                .all(|&b| b == expect),
            "sector {sector}"
        );
    }
    // Discard must not carry the unmap flag; write-zeroes only it.
    segs(&d, &[(1, 1, 1)]);
    assert_eq!(rw(&mut d, req_type::DISCARD, 0, 16).0, blk_status::UNSUPP);
    segs(&d, &[(1, 1, 2)]);
    assert_eq!(
        rw(&mut d, req_type::WRITE_ZEROES, 0, 16).0,
        blk_status::UNSUPP
    );
    // Beyond the end, and a ragged payload.
    segs(&d, &[(SECTORS - 1, 2, 0)]);
    assert_eq!(rw(&mut d, req_type::DISCARD, 0, 16).0, blk_status::IOERR);
    assert_eq!(rw(&mut d, req_type::DISCARD, 0, 15).0, blk_status::IOERR);
    segs(&d, &[(u64::MAX, 2, 0)]);
    assert_eq!(
        rw(&mut d, req_type::WRITE_ZEROES, 0, 16).0,
        blk_status::IOERR
    );
}

#[test]
fn read_only_refuses_writes_without_touching_storage() {
    let mut d = disk(true);
    d.mem().write(GuestPhysAddr(BUF), &[0xaa; 512]).unwrap();
    let before = storage(&mut d);
    assert_eq!(rw(&mut d, req_type::OUT, 0, 512), (blk_status::IOERR, 1));
    assert_eq!(rw(&mut d, req_type::DISCARD, 0, 16).0, blk_status::IOERR);
    assert_eq!(
        rw(&mut d, req_type::WRITE_ZEROES, 0, 16).0,
        blk_status::IOERR
    );
    assert_eq!(storage(&mut d), before);
    assert_eq!(rw(&mut d, req_type::IN, 0, 512), (blk_status::OK, 513));
}

#[test]
fn requests_beyond_capacity_or_ragged_fail_with_ioerr() {
    let mut d = disk(false);
    assert_eq!(
        rw(&mut d, req_type::IN, SECTORS - 1, 1024),
        (blk_status::IOERR, 1)
    );
    assert_eq!(
        rw(&mut d, req_type::OUT, SECTORS, 512),
        (blk_status::IOERR, 1)
    );
    assert_eq!(
        rw(&mut d, req_type::IN, u64::MAX, 512),
        (blk_status::IOERR, 1)
    );
    assert_eq!(rw(&mut d, req_type::IN, 0, 100), (blk_status::IOERR, 1));
    assert_eq!(rw(&mut d, req_type::OUT, 0, 513), (blk_status::IOERR, 1));
    assert_eq!(rw(&mut d, 99, 0, 512).0, blk_status::UNSUPP);
    // A short header.
    header(&d, req_type::IN, 0);
    assert_eq!(
        run(&mut d, &[(HDR, 8, false), (STATUS, 1, true)]),
        (blk_status::IOERR, 1)
    );
    assert!(!d.needs_reset());
}

#[test]
fn data_outside_ram_is_an_ioerr() {
    let mut d = disk(false);
    header(&d, req_type::IN, 0);
    let outside = RAM + RAM_SIZE + 0x1000;
    assert_eq!(
        run(
            &mut d,
            &[(HDR, 16, false), (outside, 512, true), (STATUS, 1, true)]
        )
        .0,
        blk_status::IOERR
    );
    header(&d, req_type::OUT, 0);
    assert_eq!(
        run(
            &mut d,
            &[(HDR, 16, false), (outside, 512, false), (STATUS, 1, true)]
        )
        .0,
        blk_status::IOERR
    );
    assert!(!d.needs_reset());
}

#[test]
fn no_status_byte_or_status_outside_ram_needs_reset() {
    let mut d = disk(false);
    header(&d, req_type::IN, 0);
    d.submit(0, &[(HDR, 16, false)]);
    assert!(d.needs_reset());

    let mut d = disk(false);
    header(&d, req_type::FLUSH, 0);
    d.submit(0, &[(HDR, 16, false), (RAM + RAM_SIZE, 1, true)]);
    assert!(d.needs_reset());
}

#[test]
fn wrong_direction_chains_need_reset() {
    let mut d = disk(false);
    header(&d, req_type::IN, 0);
    let mem = d.mem.clone();
    let ring = &mut d.rings[0];
    // Writable header followed by a readable buffer.
    ring.write_desc(&*mem, 0, HDR, 16, DESC_F_WRITE | 1, 1);
    ring.write_desc(&*mem, 1, STATUS, 1, 0, 0);
    ring.push(&*mem, 0);
    d.notify(0);
    assert!(d.needs_reset());
}

#[test]
fn reset_and_reactivation() {
    let mut d = disk(false);
    d.mmio.device_mut().reset();
    assert!(d.mmio.device().active.is_none());
    d.init(u64::MAX, RAM, 16);
    assert_eq!(rw(&mut d, req_type::IN, 0, 512), (blk_status::OK, 513));
}

#[cfg(all(feature = "std", unix))]
mod file {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A temporary image file, removed on drop.
    struct TempImage(std::path::PathBuf);

    impl TempImage {
        fn new(len: usize, fill: u8) -> Self {
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "vm-device-blk-{}-{}.img",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&p, vec![fill; len]).unwrap();
            Self(p)
        }
    }

    impl Drop for TempImage {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn file_disk(img: &TempImage, read_only: bool) -> Driver<Block> {
        let mut d = Driver::new(Block::open(&img.0, read_only).unwrap(), ram());
        d.init(u64::MAX, RAM, 16);
        d
    }

    #[test]
    fn raw_file_read_write_flush_discard_zeroes() {
        // 64 sectors plus a ragged tail the device must not expose or touch.
        let img = TempImage::new(64 * 512 + 100, 0x11);
        let mut d = file_disk(&img, false);
        assert_eq!(d.mmio.device().capacity(), 64);
        d.mem().write(GuestPhysAddr(BUF), &[0x5a; 1024]).unwrap();
        assert_eq!(rw(&mut d, req_type::OUT, 62, 1024), (blk_status::OK, 1));
        header(&d, req_type::FLUSH, 0);
        assert_eq!(
            run(&mut d, &[(HDR, 16, false), (STATUS, 1, true)]).0,
            blk_status::OK
        );
        let on_disk = std::fs::read(&img.0).unwrap();
        assert_eq!(on_disk.len(), 64 * 512 + 100, "never extended");
        assert!(on_disk[62 * 512..64 * 512].iter().all(|&b| b == 0x5a));
        assert!(
            on_disk[64 * 512..].iter().all(|&b| b == 0x11),
            "tail untouched"
        );
        // Past the end fails and leaves the file alone.
        assert_eq!(rw(&mut d, req_type::OUT, 63, 1024).0, blk_status::IOERR);
        assert_eq!(std::fs::metadata(&img.0).unwrap().len(), 64 * 512 + 100);

        for (kind, flags) in [
            (req_type::DISCARD, 0),
            (req_type::WRITE_ZEROES, 0),
            (req_type::WRITE_ZEROES, 1),
        ] {
            let at = BUF;
            d.mem().write_u64(GuestPhysAddr(at), 8).unwrap();
            d.mem().write_u32(GuestPhysAddr(at + 8), 16).unwrap();
            d.mem().write_u32(GuestPhysAddr(at + 12), flags).unwrap();
            std::fs::write(&img.0, vec![0x11; 64 * 512 + 100]).unwrap();
            assert_eq!(rw(&mut d, kind, 0, 16), (blk_status::OK, 1));
            let on_disk = std::fs::read(&img.0).unwrap();
            assert_eq!(on_disk.len(), 64 * 512 + 100);
            assert!(
                on_disk[8 * 512..24 * 512].iter().all(|&b| b == 0),
                "{kind} {flags}"
            );
            assert!(on_disk[..8 * 512].iter().all(|&b| b == 0x11));
            assert!(on_disk[24 * 512..].iter().all(|&b| b == 0x11));
        }

        assert_eq!(rw(&mut d, req_type::GET_ID, 0, 20).0, blk_status::OK);
        let mut id = [0u8; 20];
        d.mem().read(GuestPhysAddr(BUF), &mut id).unwrap();
        let name = img.0.file_name().unwrap().to_string_lossy().into_owned();
        let tail = &name.as_bytes()[name.len().saturating_sub(20)..];
        assert_eq!(&id[..tail.len()], tail);
    }

    #[test]
    fn raw_file_read_only() {
        let img = TempImage::new(8 * 512, 0x22);
        let mut d = file_disk(&img, true);
        d.mem().write(GuestPhysAddr(BUF), &[0; 512]).unwrap();
        assert_eq!(rw(&mut d, req_type::OUT, 0, 512).0, blk_status::IOERR);
        assert_eq!(rw(&mut d, req_type::IN, 1, 512), (blk_status::OK, 513));
        let mut got = [0u8; 512];
        d.mem().read(GuestPhysAddr(BUF), &mut got).unwrap();
        assert!(got.iter().all(|&b| b == 0x22));
        assert!(std::fs::read(&img.0).unwrap().iter().all(|&b| b == 0x22));
        // The file itself refuses writes too.
        let mut f = RawFile::open(&img.0, true).unwrap();
        assert!(f.write_at(0, &[1]).is_err());
    }

    #[test]
    fn missing_and_non_regular_images_are_typed_errors() {
        let e = Block::open("/nonexistent/disk.img", false).unwrap_err();
        assert!(matches!(e, crate::DeviceError::DiskOpen { .. }), "{e:?}");
        let e = Block::open(std::env::temp_dir(), true).unwrap_err();
        assert!(matches!(e, crate::DeviceError::DiskImage { .. }), "{e:?}");
    }
}
