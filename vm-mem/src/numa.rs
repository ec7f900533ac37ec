//! NUMA-aware placement of guest RAM (feature `optimizations`).
//!
//! A vCPU thread pinned to one host NUMA node runs fastest when the guest RAM it touches lives on that
//! node. [`bind_to_node`] sets the kernel memory policy of a [`GuestRam`] block to `MPOL_BIND` for one
//! node, with the `mbind(2)` system call; pages already touched are migrated (`MPOL_MF_MOVE`), pages
//! touched later are allocated there. [`host_numa_nodes`] reads which nodes are online.
//!
//! Written against `libc::syscall` directly: the only call needed is `mbind`, and the binding crates for
//! libnuma need the C library installed on the host.
//!
//! On a host with a single node the binding succeeds but cannot change placement; the returned
//! [`NumaBinding`] says so ([`NumaBinding::single_node_host`]). A node that is not online is an
//! [`Error::NumaNodeOffline`]; hosts other than Linux get [`Error::NumaUnsupported`].

use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;

use crate::error::{Error, Result};
use crate::ram::GuestRam;

/// Where the kernel lists the online NUMA nodes.
pub const NODE_ONLINE_PATH: &str = "/sys/devices/system/node/online";

/// Largest node number accepted from a node list (Linux supports at most 2^10 nodes).
pub const MAX_NODE: u32 = 65_535;

/// A set of NUMA node numbers, sorted and without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeSet(Vec<u32>);

impl NodeSet {
    /// Parses the kernel's list format: comma-separated numbers and inclusive ranges, such as `0-3,5`.
    /// Surrounding whitespace (the trailing newline of a sysfs file) is ignored.
    ///
    /// # Errors
    ///
    /// [`Error::NumaNodeList`] for an empty list, a malformed entry, a descending range or a node
    /// above [`MAX_NODE`].
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || Error::NumaNodeList {
            text: text.to_string(),
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(bad());
        }
        let number = |s: &str| -> Result<u32> {
            let n: u32 = s.parse().map_err(|_| bad())?;
            if n > MAX_NODE { Err(bad()) } else { Ok(n) }
        };
        let mut nodes = Vec::new();
        for item in trimmed.split(',') {
            let (lo, hi) = match item.split_once('-') {
                Some((lo, hi)) => (number(lo)?, number(hi)?),
                None => {
                    let n = number(item)?;
                    (n, n)
                }
            };
            if lo > hi {
                return Err(bad());
            }
            nodes.extend(lo..=hi);
        }
        nodes.sort_unstable();
        nodes.dedup();
        Ok(Self(nodes))
    }

    /// Whether `node` is in the set.
    pub fn contains(&self, node: u32) -> bool {
        self.0.binary_search(&node).is_ok()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The nodes in ascending order.
    pub fn nodes(&self) -> &[u32] {
        &self.0
    }
}

impl fmt::Display for NodeSet {
    /// The kernel's list format, ranges collapsed: `0-3,5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0.iter().copied().peekable();
        let mut first = true;
        while let Some(lo) = rest.next() {
            let mut hi = lo;
            while rest.peek() == Some(&(hi + 1)) {
                hi += 1;
                rest.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if lo == hi {
                write!(f, "{lo}")?
            } else {
                write!(f, "{lo}-{hi}")?
            }
        }
        Ok(())
    }
}

/// The online NUMA nodes of this host, from [`NODE_ONLINE_PATH`].
///
/// # Errors
///
/// [`Error::NumaTopology`] when the file cannot be read (a kernel without NUMA support has none),
/// [`Error::NumaNodeList`] when it does not parse, [`Error::NumaUnsupported`] off Linux.
pub fn host_numa_nodes() -> Result<NodeSet> {
    if !cfg!(target_os = "linux") {
        return Err(Error::NumaUnsupported {
            os: std::env::consts::OS,
        });
    }
    let text = std::fs::read_to_string(NODE_ONLINE_PATH).map_err(|e| Error::NumaTopology {
        path: NODE_ONLINE_PATH,
        errno: crate::error::Errno(e.raw_os_error().unwrap_or(0)),
    })?;
    NodeSet::parse(&text)
}

/// What [`bind_to_node`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumaBinding {
    node: u32,
    host: usize,
    size: u64,
    host_nodes: NodeSet,
}

impl NumaBinding {
    /// The node the memory is bound to.
    pub fn node(&self) -> u32 {
        self.node
    }

    /// Host address of the bound memory.
    pub fn host_addr(&self) -> usize {
        self.host
    }

    /// Size of the bound memory in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The host's online nodes when the binding was made.
    pub fn host_nodes(&self) -> &NodeSet {
        &self.host_nodes
    }

    /// Whether the host has a single node, so the binding is recorded by the kernel but cannot change
    /// where pages are placed (the fallback case: nothing to gain, nothing lost).
    pub fn single_node_host(&self) -> bool {
        self.host_nodes.len() == 1
    }
}

/// Binds the memory of `ram` to host NUMA node `node` (`MPOL_BIND`, moving pages already touched).
///
/// # Errors
///
/// [`Error::NumaNodeOffline`] when `node` is not online; [`Error::Mbind`] with the kernel's errno when
/// the kernel refuses (ENOSYS without NUMA support, EPERM under a seccomp filter that forbids `mbind`);
/// the errors of [`host_numa_nodes`].
pub fn bind_to_node(ram: &GuestRam, node: u32) -> Result<NumaBinding> {
    let host_nodes = host_numa_nodes()?;
    if !host_nodes.contains(node) {
        return Err(Error::NumaNodeOffline {
            node,
            online: host_nodes.to_string(),
        });
    }
    sys::mbind_one_node(ram, node)?;
    Ok(NumaBinding {
        node,
        host: ram.as_ptr() as usize,
        size: ram.size(),
        host_nodes,
    })
}

#[cfg(target_os = "linux")]
mod sys {
    use alloc::vec;

    use libc::{c_long, c_ulong};

    use crate::error::{Errno, Error, Result};
    use crate::ram::GuestRam;

    /// `MPOL_MF_MOVE` from `<linux/mempolicy.h>` (not exported by `libc`): migrate pages already
    /// allocated elsewhere, where only this process maps them.
    const MPOL_MF_MOVE: c_ulong = 1 << 1;

    /// `mbind(ram, MPOL_BIND, {node})`.
    pub(super) fn mbind_one_node(ram: &GuestRam, node: u32) -> Result<()> {
        let bits = c_ulong::BITS as usize;
        let node_ix = node as usize;
        let mut mask = vec![0 as c_ulong; node_ix / bits + 1];
        if let Some(word) = mask.get_mut(node_ix / bits) {
            *word |= 1 << (node_ix % bits);
        }
        // The kernel reads `maxnode - 1` bits (a historical off-by-one that libnuma also compensates).
        let maxnode = (mask.len() * bits + 1) as c_ulong;
        let size = ram.size();
        let mbind_err = |errno| Error::Mbind {
            node,
            host: ram.as_ptr() as usize,
            size,
            errno,
        };
        let len = c_ulong::try_from(size).map_err(|_| mbind_err(Errno(libc::EINVAL)))?;
        // SAFETY: `mbind` only changes the memory policy of (and may migrate) the pages of the mapping
        // `ram` owns, `[as_ptr, as_ptr + size)`, which starts page-aligned; migration keeps the contents
        // and virtual addresses, so no Rust-visible memory changes. `mask` is a live buffer of
        // `maxnode - 1` bits for the duration of the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_mbind,
                ram.as_ptr() as c_long,
                len,
                libc::MPOL_BIND as c_long,
                mask.as_ptr(),
                maxnode,
                MPOL_MF_MOVE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(mbind_err(Errno::last()))
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use crate::error::{Error, Result};
    use crate::ram::GuestRam;

    /// `mbind` is Linux-only.
    pub(super) fn mbind_one_node(_ram: &GuestRam, _node: u32) -> Result<()> {
        Err(Error::NumaUnsupported {
            os: std::env::consts::OS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_lists() {
        assert_eq!(NodeSet::parse("0\n").unwrap().nodes(), [0]);
        assert_eq!(NodeSet::parse("0-3,5").unwrap().nodes(), [0, 1, 2, 3, 5]);
        assert_eq!(NodeSet::parse("5,0-1,1").unwrap().nodes(), [0, 1, 5]);
        assert_eq!(NodeSet::parse(" 2-2 ").unwrap().nodes(), [2]);
    }

    #[test]
    fn rejects_malformed_lists() {
        for bad in ["", "\n", "a", "0,,1", "3-1", "1-", "-1", "0-65536", "1 ,2"] {
            assert_eq!(
                NodeSet::parse(bad),
                Err(Error::NumaNodeList {
                    text: bad.to_string()
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn displays_in_list_format() {
        for text in ["0", "0-3,5", "0,2,4-7,9"] {
            assert_eq!(NodeSet::parse(text).unwrap().to_string(), text);
        }
        let s = NodeSet::parse("1,0,3,2").unwrap();
        assert_eq!(
            (s.to_string(), s.len(), s.contains(3), s.contains(4)),
            ("0-3".into(), 4, true, false)
        );
    }
}
