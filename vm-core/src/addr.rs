//! Guest address newtypes.
//!
//! Guest physical and guest virtual addresses are distinct types so that a virtual address can never be
//! handed to code that expects a physical one without going through a translation.

use core::fmt;

use serde::{Deserialize, Serialize};

macro_rules! address_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        #[repr(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw address.
            #[inline]
            pub const fn raw(self) -> u64 {
                self.0
            }

            /// `self + offset`, or `None` on overflow.
            #[inline]
            pub const fn checked_add(self, offset: u64) -> Option<Self> {
                match self.0.checked_add(offset) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// `self + offset`, wrapping at 2^64 (guest address arithmetic wraps).
            #[inline]
            pub const fn wrapping_add(self, offset: u64) -> Self {
                Self(self.0.wrapping_add(offset))
            }

            /// `self - base` if `self >= base`.
            #[inline]
            pub const fn offset_from(self, base: Self) -> Option<u64> {
                self.0.checked_sub(base.0)
            }

            /// The address rounded down to a multiple of `align` (a power of two).
            #[inline]
            pub const fn align_down(self, align: u64) -> Self {
                debug_assert!(align.is_power_of_two());
                Self(self.0 & !(align - 1))
            }

            /// Whether the address is a multiple of `align` (a power of two).
            #[inline]
            pub const fn is_aligned(self, align: u64) -> bool {
                debug_assert!(align.is_power_of_two());
                self.0 & (align - 1) == 0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, ":{:#x}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                Self(v)
            }
        }
    };
}

address_type!(
    /// A guest physical address: what the guest's MMU produces and what RAM and MMIO are mapped at.
    GuestPhysAddr,
    "gpa"
);
address_type!(
    /// A guest virtual address: what guest instructions compute, before translation.
    GuestVirtAddr,
    "gva"
);

/// A half-open range of guest physical addresses `[start, start + len)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GuestPhysRange {
    /// First address of the range.
    pub start: GuestPhysAddr,
    /// Length in bytes; never zero for a range built by [`GuestPhysRange::new`].
    pub len: u64,
}

impl GuestPhysRange {
    /// A range, or `None` if it is empty or wraps past the end of the address space.
    pub const fn new(start: GuestPhysAddr, len: u64) -> Option<Self> {
        if len == 0 || start.0.checked_add(len - 1).is_none() {
            None
        } else {
            Some(Self { start, len })
        }
    }

    /// The last address inside the range.
    pub const fn last(&self) -> GuestPhysAddr {
        GuestPhysAddr(self.start.0 + (self.len - 1))
    }

    /// Whether `addr` lies inside the range.
    pub const fn contains(&self, addr: GuestPhysAddr) -> bool {
        addr.0 >= self.start.0 && addr.0 - self.start.0 < self.len
    }

    /// Whether `[addr, addr + len)` lies wholly inside the range.
    pub const fn contains_span(&self, addr: GuestPhysAddr, len: u64) -> bool {
        match addr.0.checked_sub(self.start.0) {
            Some(off) => off <= self.len && len <= self.len - off,
            None => false,
        }
    }

    /// Whether the two ranges share at least one address.
    pub const fn overlaps(&self, other: &Self) -> bool {
        self.start.0 <= other.last().0 && other.start.0 <= self.last().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_bounds() {
        let r = GuestPhysRange::new(GuestPhysAddr(0x1000), 0x1000).unwrap();
        assert!(r.contains(GuestPhysAddr(0x1000)));
        assert!(r.contains(GuestPhysAddr(0x1fff)));
        assert!(!r.contains(GuestPhysAddr(0x2000)));
        assert!(!r.contains(GuestPhysAddr(0xfff)));
        assert!(r.contains_span(GuestPhysAddr(0x1ff8), 8));
        assert!(!r.contains_span(GuestPhysAddr(0x1ff9), 8));
        assert!(!r.contains_span(GuestPhysAddr(0x0), 8));
        assert_eq!(r.last(), GuestPhysAddr(0x1fff));
    }

    #[test]
    fn range_rejects_empty_and_wrapping() {
        assert!(GuestPhysRange::new(GuestPhysAddr(0), 0).is_none());
        assert!(GuestPhysRange::new(GuestPhysAddr(u64::MAX), 2).is_none());
        assert!(GuestPhysRange::new(GuestPhysAddr(u64::MAX), 1).is_some());
    }

    #[test]
    fn overlap() {
        let a = GuestPhysRange::new(GuestPhysAddr(0x1000), 0x1000).unwrap();
        let b = GuestPhysRange::new(GuestPhysAddr(0x1fff), 1).unwrap();
        let c = GuestPhysRange::new(GuestPhysAddr(0x2000), 1).unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c) && !c.overlaps(&a));
    }

    #[test]
    fn address_arithmetic() {
        let a = GuestVirtAddr(0x1234);
        assert_eq!(a.align_down(0x1000), GuestVirtAddr(0x1000));
        assert!(!a.is_aligned(8));
        assert_eq!(GuestVirtAddr(u64::MAX).checked_add(1), None);
        assert_eq!(GuestVirtAddr(u64::MAX).wrapping_add(2), GuestVirtAddr(1));
        assert_eq!(GuestPhysAddr(0x10).offset_from(GuestPhysAddr(0x20)), None);
        assert_eq!(format!("{:?}", GuestPhysAddr(0x80)), "gpa:0x80");
    }
}
