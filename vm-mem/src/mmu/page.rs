//! What the TLB stores and checks: page sizes, permissions, the access being made and the mapping
//! a walk found.

use vm_core::mem::AccessKind;

/// The base page size the TLB works in.
pub const TLB_PAGE_SHIFT: u32 = 12;

/// The size of a leaf mapping.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageSize {
    /// 4 KiB (a level-0 leaf).
    Size4K,
    /// 2 MiB (a level-1 leaf: RISC-V megapage).
    Size2M,
    /// 1 GiB (a level-2 leaf: RISC-V gigapage).
    Size1G,
    /// 512 GiB (a level-3 leaf: Sv48/Sv57 terapage).
    Size512G,
    /// 256 TiB (a level-4 leaf: Sv57 petapage).
    Size256T,
}

impl PageSize {
    /// log2 of the size in bytes.
    pub const fn shift(self) -> u32 {
        match self {
            Self::Size4K => 12,
            Self::Size2M => 21,
            Self::Size1G => 30,
            Self::Size512G => 39,
            Self::Size256T => 48,
        }
    }

    /// The size in bytes.
    pub const fn bytes(self) -> u64 {
        1 << self.shift()
    }

    /// The size whose log2 is `shift`, if it is one of the five.
    pub const fn from_shift(shift: u32) -> Option<Self> {
        match shift {
            12 => Some(Self::Size4K),
            21 => Some(Self::Size2M),
            30 => Some(Self::Size1G),
            39 => Some(Self::Size512G),
            48 => Some(Self::Size256T),
            _ => None,
        }
    }

    /// The size of a leaf at page-table `level` (0 is the last level of a 9-bit-per-level walk).
    pub const fn at_level(level: u32) -> Option<Self> {
        if level > 4 {
            return None;
        }
        Self::from_shift(TLB_PAGE_SHIFT + 9 * level)
    }
}

/// What a cached mapping allows, and whether it is dirty. A set of flags.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Perms(pub(super) u8);

impl Perms {
    /// Loads allowed (RISC-V `R`).
    pub const READ: Self = Self(1 << 0);
    /// Stores and atomics allowed (RISC-V `W`).
    pub const WRITE: Self = Self(1 << 1);
    /// Instruction fetches allowed (RISC-V `X`).
    pub const EXEC: Self = Self(1 << 2);
    /// A user page (RISC-V `U`): user accesses only, supervisor data accesses only with `SUM`.
    pub const USER: Self = Self(1 << 3);
    /// The page is dirty in the page table (RISC-V `D`): stores may use the entry. A store to a
    /// clean page misses, so that the walker sets `D` first.
    pub const DIRTY: Self = Self(1 << 4);
    /// Every flag.
    pub(super) const ALL: u8 = 0x1f;

    /// No flags.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of both sets.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

impl core::ops::BitOr for Perms {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

/// The access being checked against a cached mapping and the regime it is made in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccessCheck {
    /// What the access is for.
    pub kind: AccessKind,
    /// Made with user privilege (else supervisor).
    pub user: bool,
    /// Supervisor data accesses may touch user pages (RISC-V `mstatus.SUM`; the inverse of AArch64
    /// `PAN` and x86 `SMAP`). Never for fetches.
    pub sum: bool,
    /// Loads may read execute-only pages (RISC-V `mstatus.MXR`).
    pub mxr: bool,
}

impl AccessCheck {
    /// A supervisor access of `kind` without `SUM` and `MXR`.
    pub const fn supervisor(kind: AccessKind) -> Self {
        Self {
            kind,
            user: false,
            sum: false,
            mxr: false,
        }
    }

    /// Whether a mapping with `perms` allows this access without a page-table update (stores also
    /// need [`Perms::DIRTY`]). The rules of the RISC-V privileged specification, section 4.3.1.
    #[inline]
    pub const fn allows(&self, perms: Perms) -> bool {
        let p = perms.0;
        let user_page = p & Perms::USER.0 != 0;
        let privilege_ok = if self.user {
            user_page
        } else {
            !user_page || (self.sum && !matches!(self.kind, AccessKind::Fetch))
        };
        privilege_ok
            && match self.kind {
                AccessKind::Fetch => p & Perms::EXEC.0 != 0,
                AccessKind::Read => p & Perms::READ.0 != 0 || (self.mxr && p & Perms::EXEC.0 != 0),
                AccessKind::Write | AccessKind::Atomic => {
                    let need = Perms::READ.0 | Perms::WRITE.0 | Perms::DIRTY.0;
                    p & need == need
                }
            }
    }
}

/// A leaf mapping to cache: what a page-table walk found.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mapping {
    /// Guest physical address of the first byte of the whole page (aligned to `size`).
    pub page_paddr: u64,
    /// The page size.
    pub size: PageSize,
    /// What the mapping allows, and whether it is dirty.
    pub perms: Perms,
    /// A global mapping (RISC-V `G`): present in every address space, kept by the ASID-specific
    /// flushes.
    pub global: bool,
}
