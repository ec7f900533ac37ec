//! Property test: random guest and host accesses never panic and agree, result and contents, with a
//! byte-by-byte model of the documented rules.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::sample::select;
use vm_core::GuestPhysAddr;
use vm_core::mem::{AccessKind, AccessSize, GuestMemory, MemFault};
use vm_mem::{Error, PhysMemory, RegionKind};

const TOP: u64 = u64::MAX - 0xff;

/// ROM and RAM adjacent, RAM running into MMIO, holes, an odd-sized MMIO window, RAM at the very top.
const LAYOUT: &[(RegionKind, u64, u64)] = &[
    (RegionKind::Rom, 0x1000, 0x1000),
    (RegionKind::Ram, 0x2000, 0x1000),
    (RegionKind::Mmio, 0x3000, 0x10),
    (RegionKind::Ram, 0x4000, 0x100),
    (RegionKind::Mmio, 0x4100, 0x3),
    (RegionKind::Ram, 0x4108, 0xf8),
    (RegionKind::Ram, TOP, 0x100),
];

const EDGES: &[u64] = &[
    0, 0x1000, 0x2000, 0x3000, 0x3010, 0x4000, 0x4100, 0x4103, 0x4108, 0x4200, TOP,
];

fn build() -> PhysMemory {
    let mut b = PhysMemory::builder();
    for (i, &(kind, start, size)) in LAYOUT.iter().enumerate() {
        let name = format!("r{i}");
        let start = GuestPhysAddr(start);
        b = match kind {
            RegionKind::Ram => b.ram(name, start, size),
            RegionKind::Rom => b.rom(name, start, size),
            RegionKind::Mmio => b.mmio(name, start, size),
        };
    }
    b.build().unwrap()
}

/// The model: which kind covers each address, and the bytes written so far (others read as zero).
#[derive(Default)]
struct Model {
    bytes: HashMap<u64, u8>,
}

fn kind_at(a: u64) -> Option<RegionKind> {
    LAYOUT
        .iter()
        .find(|&&(_, start, size)| a >= start && a - start < size)
        .map(|&(k, ..)| k)
}

impl Model {
    fn byte(&self, a: u64) -> u8 {
        self.bytes.get(&a).copied().unwrap_or(0)
    }

    /// The fault for the first byte of `[addr, addr + len)` that `ok` rejects.
    fn check(
        addr: u64,
        len: usize,
        ok: impl Fn(u64, Option<RegionKind>) -> Result<(), MemFault>,
    ) -> Result<(), MemFault> {
        if len == 0 {
            return Ok(());
        }
        if addr.checked_add(len as u64 - 1).is_none() {
            return Err(MemFault::Unmapped {
                addr: GuestPhysAddr(addr),
            });
        }
        (0..len as u64).try_for_each(|i| ok(addr + i, kind_at(addr + i)))
    }

    fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, MemFault> {
        Self::check(addr, len, |a, k| match k {
            Some(RegionKind::Ram | RegionKind::Rom) => Ok(()),
            _ => Err(MemFault::Unmapped {
                addr: GuestPhysAddr(a),
            }),
        })?;
        Ok((0..len as u64)
            .map(|i| self.byte(addr.wrapping_add(i)))
            .collect())
    }

    fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemFault> {
        Self::check(addr, data.len(), |a, k| match k {
            Some(RegionKind::Ram) => Ok(()),
            Some(RegionKind::Rom) => Err(MemFault::Denied {
                addr: GuestPhysAddr(a),
                kind: AccessKind::Write,
            }),
            _ => Err(MemFault::Unmapped {
                addr: GuestPhysAddr(a),
            }),
        })?;
        self.store(addr, data);
        Ok(())
    }

    fn store(&mut self, addr: u64, data: &[u8]) {
        for (i, &b) in data.iter().enumerate() {
            self.bytes.insert(addr.wrapping_add(i as u64), b);
        }
    }

    fn host_load(&mut self, addr: u64, data: &[u8]) -> Result<(), Error> {
        let len = data.len() as u64;
        if len == 0 {
            return Ok(());
        }
        if addr.checked_add(len - 1).is_none() {
            return Err(Error::RangeWraps {
                addr: GuestPhysAddr(addr),
                len,
            });
        }
        if let Some(at) =
            (addr..=addr + (len - 1)).find(|&a| !kind_at(a).is_some_and(RegionKind::is_memory))
        {
            return Err(Error::NotBacked {
                addr: GuestPhysAddr(addr),
                len,
                at: GuestPhysAddr(at),
            });
        }
        self.store(addr, data);
        Ok(())
    }

    fn cas(
        &mut self,
        addr: u64,
        size: AccessSize,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemFault> {
        let g = GuestPhysAddr(addr);
        if !addr.is_multiple_of(size.bytes() as u64) {
            return Err(MemFault::Misaligned { addr: g, size });
        }
        match kind_at(addr) {
            Some(RegionKind::Ram) => {}
            Some(RegionKind::Rom) => {
                return Err(MemFault::Denied {
                    addr: g,
                    kind: AccessKind::Atomic,
                });
            }
            _ => return Err(MemFault::Unmapped { addr: g }),
        }
        let mut b = [0u8; 8];
        for (i, slot) in b.iter_mut().take(size.bytes()).enumerate() {
            *slot = self.byte(addr + i as u64);
        }
        let old = u64::from_le_bytes(b);
        if old == current & size.mask() {
            self.store(addr, &new.to_le_bytes()[..size.bytes()]);
            Ok(Ok(old))
        } else {
            Ok(Err(old))
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Read(u64, usize),
    Write(u64, Vec<u8>),
    ReadSized(u64, AccessSize),
    WriteSized(u64, AccessSize, u64),
    Cas(u64, AccessSize, u64, u64),
    Load(u64, Vec<u8>),
    Fill(u64, u8, u8),
}

fn addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => (select(EDGES), -12i64..12).prop_map(|(e, d)| e.wrapping_add_signed(d)),
        1 => any::<u64>(),
    ]
}

fn size() -> impl Strategy<Value = AccessSize> {
    select(
        &[
            AccessSize::U8,
            AccessSize::U16,
            AccessSize::U32,
            AccessSize::U64,
        ][..],
    )
}

fn op() -> impl Strategy<Value = Op> {
    let data = proptest::collection::vec(any::<u8>(), 0..24);
    prop_oneof![
        (addr(), 0usize..24).prop_map(|(a, n)| Op::Read(a, n)),
        (addr(), data.clone()).prop_map(|(a, d)| Op::Write(a, d)),
        (addr(), size()).prop_map(|(a, s)| Op::ReadSized(a, s)),
        (addr(), size(), any::<u64>()).prop_map(|(a, s, v)| Op::WriteSized(a, s, v)),
        // Small values so that comparisons succeed often.
        (addr(), size(), 0u64..3, any::<u64>()).prop_map(|(a, s, c, n)| Op::Cas(a, s, c, n)),
        (addr(), data).prop_map(|(a, d)| Op::Load(a, d)),
        (addr(), any::<u8>(), any::<u8>()).prop_map(|(a, n, b)| Op::Fill(a, n % 24, b)),
    ]
}

proptest! {
    #[test]
    fn accesses_agree_with_the_model(ops in proptest::collection::vec(op(), 1..48)) {
        let mem = build();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Read(a, n) => {
                    let mut buf = vec![0u8; n];
                    let got = mem.read(GuestPhysAddr(a), &mut buf).map(|()| buf);
                    prop_assert_eq!(got, model.read(a, n), "read {:#x}+{}", a, n);
                }
                Op::Write(a, d) => {
                    prop_assert_eq!(mem.write(GuestPhysAddr(a), &d), model.write(a, &d), "write {:#x}", a);
                }
                Op::ReadSized(a, s) => {
                    let want = model.read(a, s.bytes()).map(|b| {
                        let mut w = [0u8; 8];
                        w[..b.len()].copy_from_slice(&b);
                        u64::from_le_bytes(w)
                    });
                    prop_assert_eq!(mem.read_sized(GuestPhysAddr(a), s), want, "read_sized {:#x}", a);
                }
                Op::WriteSized(a, s, v) => {
                    let want = model.write(a, &v.to_le_bytes()[..s.bytes()]);
                    prop_assert_eq!(mem.write_sized(GuestPhysAddr(a), s, v), want, "write_sized {:#x}", a);
                }
                Op::Cas(a, s, c, n) => {
                    let want = model.cas(a, s, c, n);
                    prop_assert_eq!(mem.compare_exchange(GuestPhysAddr(a), s, c, n), want, "cas {:#x}", a);
                }
                Op::Load(a, d) => {
                    prop_assert_eq!(mem.load_image(GuestPhysAddr(a), &d), model.host_load(a, &d), "load {:#x}", a);
                }
                Op::Fill(a, n, b) => {
                    let d = vec![b; usize::from(n)];
                    prop_assert_eq!(mem.fill(GuestPhysAddr(a), u64::from(n), b), model.host_load(a, &d), "fill {:#x}", a);
                }
            }
        }
        // Finally every byte the model knows about reads back the same from the real memory.
        for (&a, &b) in &model.bytes {
            prop_assert_eq!(mem.read_u8(GuestPhysAddr(a)), Ok(b), "byte {:#x}", a);
        }
    }
}
