//! Non-overlapping windows of a 64-bit space, found by address with a binary search.

use alloc::vec::Vec;

use crate::error::{DeviceError, Result};

/// One window: `[start, start + len)`.
#[derive(Debug)]
pub(crate) struct Window<T> {
    pub(crate) start: u64,
    pub(crate) len: u64,
    pub(crate) item: T,
}

impl<T> Window<T> {
    /// The last address inside the window.
    fn last(&self) -> u64 {
        self.start + (self.len - 1)
    }
}

/// Windows sorted by start address; no two overlap.
#[derive(Debug)]
pub(crate) struct RangeMap<T> {
    windows: Vec<Window<T>>,
    /// One past the last address of the space (`None`: the whole 64-bit space).
    end: Option<u64>,
}

impl<T> RangeMap<T> {
    /// An empty map over `[0, end)`, or over the whole 64-bit space if `end` is `None`.
    pub(crate) const fn new(end: Option<u64>) -> Self {
        Self {
            windows: Vec::new(),
            end,
        }
    }

    /// Add a window; fails if it is empty, leaves the space or overlaps another.
    pub(crate) fn insert(&mut self, start: u64, len: u64, item: T) -> Result<()> {
        let last = len.checked_sub(1).and_then(|l| start.checked_add(l));
        let fits = match (last, self.end) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(last), Some(end)) => last < end,
        };
        if !fits {
            return Err(DeviceError::InvalidRange { start, len });
        }
        let at = self.windows.partition_point(|w| w.start < start);
        let new = Window { start, len, item };
        let clash = [at.checked_sub(1), Some(at)]
            .into_iter()
            .flatten()
            .filter_map(|i| self.windows.get(i))
            .find(|w| w.start <= new.last() && new.start <= w.last());
        if let Some(w) = clash {
            return Err(DeviceError::Overlap {
                start,
                len,
                existing_start: w.start,
                existing_len: w.len,
            });
        }
        self.windows.insert(at, new);
        Ok(())
    }

    /// Remove the window starting exactly at `start`.
    pub(crate) fn remove(&mut self, start: u64) -> Option<Window<T>> {
        let at = self
            .windows
            .binary_search_by_key(&start, |w| w.start)
            .ok()?;
        Some(self.windows.remove(at))
    }

    /// The window containing `addr`.
    pub(crate) fn find(&self, addr: u64) -> Option<&Window<T>> {
        let at = self
            .windows
            .partition_point(|w| w.start <= addr)
            .checked_sub(1)?;
        self.windows.get(at).filter(|w| addr - w.start < w.len)
    }

    /// All windows, by start address.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Window<T>> {
        self.windows.iter()
    }
}

/// Where an access of `bytes` bytes at `addr` lands: the window and the offset into it.
pub(crate) enum Hit<'a, T> {
    /// Inside `window` at `offset`.
    Inside { window: &'a Window<T>, offset: u64 },
    /// Nothing is mapped at `addr`.
    Nothing,
    /// The access starts inside a window but runs past its end.
    Crosses,
}

impl<T> RangeMap<T> {
    /// Resolve an access.
    pub(crate) fn hit(&self, addr: u64, bytes: u64) -> Hit<'_, T> {
        let Some(window) = self.find(addr) else {
            return Hit::Nothing;
        };
        let offset = addr - window.start;
        if bytes > window.len - offset {
            Hit::Crosses
        } else {
            Hit::Inside { window, offset }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_remove() {
        let mut m = RangeMap::new(None);
        m.insert(0x1000, 0x100, 'a').unwrap();
        m.insert(0x3000, 0x1000, 'c').unwrap();
        m.insert(0x1100, 0x10, 'b').unwrap();
        assert_eq!(
            m.iter().map(|w| w.item).collect::<Vec<_>>(),
            ['a', 'b', 'c']
        );
        assert_eq!(m.find(0x1000).map(|w| w.item), Some('a'));
        assert_eq!(m.find(0x10ff).map(|w| w.item), Some('a'));
        assert_eq!(m.find(0x1100).map(|w| w.item), Some('b'));
        assert!(m.find(0x1110).is_none());
        assert!(m.find(0xfff).is_none());
        assert_eq!(m.find(0x3fff).map(|w| w.item), Some('c'));
        assert!(m.find(0x4000).is_none());
        assert_eq!(m.remove(0x1100).map(|w| w.item), Some('b'));
        assert!(m.remove(0x1101).is_none());
        assert!(m.find(0x1100).is_none());
    }

    #[test]
    fn overlaps_are_rejected() {
        let mut m = RangeMap::new(None);
        m.insert(0x1000, 0x1000, 0).unwrap();
        for (start, len) in [(0x1fff, 1), (0xfff, 2), (0x800, 0x2000), (0x1800, 0x10)] {
            assert!(
                matches!(
                    m.insert(start, len, 1),
                    Err(DeviceError::Overlap {
                        existing_start: 0x1000,
                        existing_len: 0x1000,
                        ..
                    })
                ),
                "{start:#x}+{len:#x}"
            );
        }
        m.insert(0x2000, 1, 2).unwrap();
        m.insert(0xfff, 1, 3).unwrap();
    }

    #[test]
    fn empty_and_out_of_space_windows() {
        let mut m = RangeMap::new(Some(0x1_0000));
        assert!(matches!(
            m.insert(0, 0, ()),
            Err(DeviceError::InvalidRange { start: 0, len: 0 })
        ));
        assert!(matches!(
            m.insert(0xffff, 2, ()),
            Err(DeviceError::InvalidRange { .. })
        ));
        m.insert(0xffff, 1, ()).unwrap();
        let mut w = RangeMap::new(None);
        assert!(matches!(
            w.insert(u64::MAX, 2, ()),
            Err(DeviceError::InvalidRange { .. })
        ));
        w.insert(u64::MAX - 1, 2, ()).unwrap();
        assert!(matches!(w.hit(u64::MAX, 1), Hit::Inside { offset: 1, .. }));
        assert!(matches!(w.hit(u64::MAX, 8), Hit::Crosses));
    }
}
