//! Access permissions of translation table descriptors, and the cached result of a translation.
//!
//! Stage 1 uses `AP[2:1]`, `UXN`, `PXN`, the hierarchical `APTable`/`UXNTable`/`PXNTable` bits of the
//! table descriptors on the way, and the context descriptor's `WXN`. Stage 2 uses `S2AP` and `XN`.

use crate::fault::{Access, FaultClass, FaultKind, FaultStage, Permissions, Translation};
use vm_core::GuestPhysAddr;

const AP1_EL0: u64 = 1 << 6;
const AP2_RO: u64 = 1 << 7;
const NOT_GLOBAL: u64 = 1 << 11;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const PXN_TABLE: u64 = 1 << 59;
const UXN_TABLE: u64 = 1 << 60;
const AP_TABLE_NO_EL0: u64 = 1 << 61;
const AP_TABLE_RO: u64 = 1 << 62;
const S2AP_READ: u64 = 1 << 6;
const S2AP_WRITE: u64 = 1 << 7;
const S2_XN: u64 = 1 << 54;

/// Stage-1 permissions for unprivileged and privileged accesses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct S1Perms {
    pub user: Permissions,
    pub privileged: Permissions,
}

impl S1Perms {
    /// The permissions that apply to an access with this privilege.
    pub const fn for_privilege(&self, privileged: bool) -> Permissions {
        if privileged {
            self.privileged
        } else {
            self.user
        }
    }
}

/// Stage-1 permissions of a leaf descriptor reached through tables with `table_attrs`.
pub(crate) fn s1_permissions(desc: u64, table_attrs: u64, wxn: bool) -> S1Perms {
    let read_only = desc & AP2_RO != 0 || table_attrs & AP_TABLE_RO != 0;
    let user_read = desc & AP1_EL0 != 0 && table_attrs & AP_TABLE_NO_EL0 == 0;
    let user_write = user_read && !read_only;
    let priv_write = !read_only;
    let user_exec = desc & UXN == 0 && table_attrs & UXN_TABLE == 0 && !(wxn && user_write);
    // Memory that unprivileged code can write is never privileged-executable.
    let priv_exec =
        desc & PXN == 0 && table_attrs & PXN_TABLE == 0 && !user_write && !(wxn && priv_write);
    S1Perms {
        user: Permissions {
            read: user_read,
            write: user_write,
            execute: user_exec,
        },
        privileged: Permissions {
            read: true,
            write: priv_write,
            execute: priv_exec,
        },
    }
}

/// Stage-2 permissions of a leaf descriptor.
pub(crate) fn s2_permissions(desc: u64) -> Permissions {
    Permissions {
        read: desc & S2AP_READ != 0,
        write: desc & S2AP_WRITE != 0,
        execute: desc & S2_XN == 0,
    }
}

/// Whether a stage-1 leaf is global (matches every ASID).
pub(crate) const fn is_global(desc: u64) -> bool {
    desc & NOT_GLOBAL == 0
}

/// A translation as the TLB caches it: a naturally aligned input region mapped linearly.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mapping {
    /// log2 of the region size.
    pub size_shift: u32,
    /// Output address of the region's start.
    pub out_base: u64,
    /// Intermediate physical address of the region's start (the input of stage 2).
    pub ipa_base: u64,
    /// Stage-1 permissions and leaf level, if stage 1 translated.
    pub s1: Option<(S1Perms, u8)>,
    /// Stage-2 permissions and leaf level, if stage 2 translated.
    pub s2: Option<(Permissions, u8)>,
    /// Whether the stage-1 leaf was global (`nG == 0`).
    pub global: bool,
}

impl Mapping {
    /// The translation of `iova` for `access`, or the permission fault it takes.
    pub fn check(&self, iova: u64, access: Access) -> Result<Translation, FaultKind> {
        let mask = (1u64 << self.size_shift) - 1;
        let mut permissions = Permissions::ALL;
        if let Some((p, level)) = self.s1 {
            let p = p.for_privilege(access.privileged);
            if !p.allows(access.kind) {
                return Err(FaultKind::Permission {
                    stage: FaultStage::Stage1,
                    level,
                });
            }
            permissions = permissions.intersect(p);
        }
        if let Some((p, level)) = self.s2 {
            if !p.allows(access.kind) {
                let ipa = self.ipa_base | (iova & mask);
                let stage = FaultStage::Stage2 {
                    class: FaultClass::Input,
                    ipa,
                };
                return Err(FaultKind::Permission { stage, level });
            }
            permissions = permissions.intersect(p);
        }
        Ok(Translation {
            iova,
            addr: GuestPhysAddr(self.out_base | (iova & mask)),
            size: 1 << self.size_shift,
            permissions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_core::mem::AccessKind;

    const RW: Permissions = Permissions {
        read: true,
        write: true,
        execute: false,
    };
    const RO: Permissions = Permissions {
        read: true,
        write: false,
        execute: false,
    };
    const NONE: Permissions = Permissions {
        read: false,
        write: false,
        execute: false,
    };

    #[test]
    fn stage1_access_permissions() {
        // AP = 00: privileged read/write only.
        let p = s1_permissions(UXN | PXN, 0, false);
        assert_eq!((p.user, p.privileged), (NONE, RW));
        // AP = 01: read/write at both levels.
        let p = s1_permissions(AP1_EL0 | UXN | PXN, 0, false);
        assert_eq!((p.user, p.privileged), (RW, RW));
        // AP = 10: privileged read-only.
        let p = s1_permissions(AP2_RO | UXN | PXN, 0, false);
        assert_eq!((p.user, p.privileged), (NONE, RO));
        // AP = 11: read-only at both levels.
        let p = s1_permissions(AP2_RO | AP1_EL0 | UXN | PXN, 0, false);
        assert_eq!((p.user, p.privileged), (RO, RO));
    }

    #[test]
    fn stage1_hierarchical_and_execute() {
        let p = s1_permissions(AP1_EL0, AP_TABLE_RO, false);
        assert_eq!(
            p.user,
            Permissions {
                read: true,
                write: false,
                execute: true
            }
        );
        assert!(p.privileged.execute);
        let p = s1_permissions(AP1_EL0, AP_TABLE_NO_EL0, false);
        assert!(!p.user.read && p.privileged.write);
        // EL0-writable memory is not privileged-executable; WXN removes execute from writable memory.
        let p = s1_permissions(AP1_EL0, 0, false);
        assert!(p.user.execute && !p.privileged.execute);
        let p = s1_permissions(0, 0, true);
        assert!(!p.privileged.execute && p.user.execute);
        let p = s1_permissions(AP2_RO, UXN_TABLE | PXN_TABLE, false);
        assert!(!p.user.execute && !p.privileged.execute);
    }

    #[test]
    fn stage2_permissions() {
        assert_eq!(s2_permissions(S2AP_READ | S2_XN), RO);
        assert_eq!(s2_permissions(S2AP_READ | S2AP_WRITE), Permissions::ALL);
        assert_eq!(
            s2_permissions(S2AP_WRITE | S2_XN),
            Permissions {
                write: true,
                ..NONE
            }
        );
    }

    #[test]
    fn mapping_check_reports_the_denying_stage() {
        let m = Mapping {
            size_shift: 21,
            out_base: 0x8000_0000,
            ipa_base: 0x4000_0000,
            s1: Some((s1_permissions(AP1_EL0 | UXN | PXN, 0, false), 2)),
            s2: Some((RO, 3)),
            global: true,
        };
        let t = m.check(0x20_1234, Access::read()).unwrap();
        assert_eq!(t.addr, GuestPhysAddr(0x8000_1234));
        assert_eq!(t.size, 1 << 21);
        assert_eq!(t.permissions, RO);
        let stage = FaultStage::Stage2 {
            class: FaultClass::Input,
            ipa: 0x4000_1234,
        };
        assert_eq!(
            m.check(0x20_1234, Access::write()),
            Err(FaultKind::Permission { stage, level: 3 })
        );
        assert_eq!(
            m.check(0x20_1234, Access::new(AccessKind::Fetch, true)),
            Err(FaultKind::Permission {
                stage: FaultStage::Stage1,
                level: 2
            })
        );
    }

    #[test]
    fn global_bit() {
        assert!(is_global(0));
        assert!(!is_global(NOT_GLOBAL));
    }
}
