//! The ATS unit: PCIe Address Translation Services for devices with their own translation cache (ATC).
//!
//! A device whose STE has `EATS == 1` may ask the SMMU to translate an address ahead of time
//! ([`Smmu::translate_ats`]), cache the answer in its ATC, and later issue DMA with the translated address
//! ([`Smmu::translated_access`]). When software changes a mapping it sends `CMD_ATC_INV`, which this unit
//! forwards to the device registered for the stream ([`AtsDevice`]); a device that fails to invalidate
//! makes the next `CMD_SYNC` report `CERROR_ATC_INV_SYNC`.
//!
//! Translation faults answer an ATS request with a "no access" completion and are not recorded (the
//! device may use PRI or fall back to untranslated DMA); configuration errors are recorded and answered
//! with Completer Abort; a request on a stream without ATS records `F_BAD_ATS_TREQ` and is answered with
//! Unsupported Request.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use vm_core::GuestPhysAddr;

use crate::error::{Error, Result};
use crate::fault::{Access, Fault, FaultKind, Permissions, Translation};
use crate::regs::{CERROR_ATC_INV_SYNC, IDR0_ATS, IDR0_NS1ATS};
use crate::smmu::{Smmu, Term};
use crate::ste::StreamMode;

/// Whether STEs' `EATS` field is honoured.
pub(crate) const SUPPORTED: bool = true;
/// `IDR0` bits this unit adds: ATS, without split-stage ATS.
pub(crate) const IDR0_BITS: u32 = IDR0_ATS | IDR0_NS1ATS;

/// One ATC invalidation, as a device receives it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AtcInvalidation {
    /// The device's stream ID.
    pub stream_id: u32,
    /// The PASID whose translations to drop; `None` for translations without a PASID.
    pub substream_id: Option<u32>,
    /// Also drop global translations (of every PASID).
    pub global: bool,
    /// First untranslated address of the range.
    pub start: u64,
    /// Length of the range in bytes; `u64::MAX` with `start == 0` means every address.
    pub len: u64,
}

impl AtcInvalidation {
    /// Whether the invalidation covers every address.
    pub const fn is_everything(&self) -> bool {
        self.start == 0 && self.len == u64::MAX
    }

    /// Whether `[addr, addr + len)` overlaps the invalidated range.
    pub fn overlaps(&self, addr: u64, len: u64) -> bool {
        if self.is_everything() {
            return true;
        }
        let end = u128::from(self.start) + u128::from(self.len);
        let other_end = u128::from(addr) + u128::from(len.max(1));
        u128::from(self.start) < other_end && u128::from(addr) < end
    }
}

/// A device with an address translation cache, as the SMMU sees it.
pub trait AtsDevice: Send + Sync {
    /// Drop every cached translation `request` covers. An error makes the next `CMD_SYNC` fail with
    /// `CERROR_ATC_INV_SYNC`.
    fn invalidate(&self, request: &AtcInvalidation) -> Result<()>;
}

/// An ATS Translation Request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AtsRequest {
    /// The requesting device's stream ID.
    pub stream_id: u32,
    /// PASID, if the request carries one.
    pub substream_id: Option<u32>,
    /// The untranslated address.
    pub iova: u64,
    /// Privileged mode (PASID prefix).
    pub privileged: bool,
    /// The device asks for read-only access (`NW`).
    pub no_write: bool,
}

/// A successful ATS translation: what the device may cache.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AtsTranslation {
    /// Start of the untranslated range (aligned to `size`).
    pub iova: u64,
    /// Translated address of `iova`.
    pub translated: GuestPhysAddr,
    /// Size of the range in bytes (a power of two).
    pub size: u64,
    /// What the device may do with translated accesses.
    pub permissions: Permissions,
    /// The translation is valid for every PASID (`Global`).
    pub global: bool,
}

/// The answer to an ATS Translation Request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum AtsCompletion {
    /// A translation the device may cache.
    Translated(AtsTranslation),
    /// The address has no mapping the device may use (`R == W == 0`).
    NoAccess,
    /// ATS is not enabled for the stream, or the stream aborts all traffic.
    UnsupportedRequest,
    /// The SMMU's configuration for the stream is broken (an event was recorded).
    CompleterAbort,
}

/// ATS counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AtsStats {
    /// Translation requests received.
    pub requests: u64,
    /// `CMD_ATC_INV` commands delivered to a registered device.
    pub invalidations: u64,
    /// Invalidations a device failed.
    pub failed_invalidations: u64,
}

/// Registered devices and pending ATC invalidation state.
pub(crate) struct AtsUnit {
    devices: BTreeMap<u32, Arc<dyn AtsDevice>>,
    sync_error: bool,
    stats: AtsStats,
}

impl AtsUnit {
    pub(crate) fn new() -> Self {
        Self {
            devices: BTreeMap::new(),
            sync_error: false,
            stats: AtsStats::default(),
        }
    }

    /// Execute `CMD_ATC_INV`.
    pub(crate) fn atc_inv(
        &mut self,
        stream_id: u32,
        substream_id: Option<u32>,
        global: bool,
        size: u8,
        addr: u64,
    ) -> core::result::Result<(), u32> {
        let (start, len) = if size >= 52 {
            (0, u64::MAX)
        } else {
            let span = 4096u64 << size;
            (addr & !(span - 1), span)
        };
        let request = AtcInvalidation {
            stream_id,
            substream_id,
            global,
            start,
            len,
        };
        if let Some(device) = self.devices.get(&stream_id) {
            self.stats.invalidations += 1;
            if device.invalidate(&request).is_err() {
                self.stats.failed_invalidations += 1;
                self.sync_error = true;
            }
        }
        Ok(())
    }

    /// The `CERROR` a `CMD_SYNC` reports because of failed invalidations since the last one, if any.
    pub(crate) fn take_sync_error(&mut self) -> Option<u32> {
        core::mem::take(&mut self.sync_error).then_some(CERROR_ATC_INV_SYNC)
    }
}

impl Smmu {
    /// Register the ATC of the device with `stream_id`, to receive its `CMD_ATC_INV` invalidations.
    /// Replaces any device registered for the stream.
    pub fn register_ats_device(
        &mut self,
        stream_id: u32,
        device: Arc<dyn AtsDevice>,
    ) -> Result<()> {
        let sid_bits = self.config.sid_bits;
        if sid_bits < 32 && stream_id >> sid_bits != 0 {
            return Err(Error::StreamIdOutOfRange {
                stream_id,
                sid_bits,
            });
        }
        self.ats.devices.insert(stream_id, device);
        Ok(())
    }

    /// Remove the device registered for `stream_id`, returning it.
    pub fn unregister_ats_device(&mut self, stream_id: u32) -> Option<Arc<dyn AtsDevice>> {
        self.ats.devices.remove(&stream_id)
    }

    /// ATS counters.
    pub const fn ats_stats(&self) -> AtsStats {
        self.ats.stats
    }

    /// Answer an unprivileged read/write ATS Translation Request without PASID for `iova`.
    pub fn translate_ats(&mut self, stream_id: u32, iova: u64) -> AtsCompletion {
        self.translate_ats_request(&AtsRequest {
            stream_id,
            substream_id: None,
            iova,
            privileged: false,
            no_write: false,
        })
    }

    /// Answer an ATS Translation Request.
    pub fn translate_ats_request(&mut self, req: &AtsRequest) -> AtsCompletion {
        self.ats.stats.requests += 1;
        self.stats.translations += 1;
        if !self.is_enabled() {
            return AtsCompletion::UnsupportedRequest;
        }
        let access = Access {
            privileged: req.privileged,
            ..Access::read()
        };
        let fail = |smmu: &mut Self, term: Term| {
            smmu.terminate(term, req.stream_id, req.substream_id, req.iova, access)
        };
        let cfg = match self.stream_config(req.stream_id, req.substream_id) {
            Ok(cfg) => cfg,
            Err(term) => {
                fail(self, term);
                return AtsCompletion::CompleterAbort;
            }
        };
        if cfg.mode == StreamMode::Abort {
            return AtsCompletion::UnsupportedRequest;
        }
        if cfg.eats == 0 {
            fail(self, FaultKind::BadAtsRequest.into());
            return AtsCompletion::UnsupportedRequest;
        }
        let page = req.iova & !0xfff;
        let identity = AtsTranslation {
            iova: page,
            translated: GuestPhysAddr(page),
            size: 4096,
            permissions: Permissions {
                write: !req.no_write,
                ..Permissions::ALL
            },
            global: true,
        };
        if cfg.mode == StreamMode::Bypass {
            return AtsCompletion::Translated(identity);
        }
        let mapping = match self.mapping(&cfg, req.iova) {
            Ok(Some(m)) => m,
            Ok(None) => return AtsCompletion::Translated(identity),
            Err(term) => {
                return match term.kind {
                    FaultKind::Translation { .. }
                    | FaultKind::AddressSize { .. }
                    | FaultKind::AccessFlag { .. } => AtsCompletion::NoAccess,
                    _ => {
                        fail(self, term);
                        AtsCompletion::CompleterAbort
                    }
                };
            }
        };
        let mut permissions = Permissions::ALL;
        if let Some((p, _)) = mapping.s1 {
            permissions = permissions.intersect(p.for_privilege(req.privileged));
        }
        if let Some((p, _)) = mapping.s2 {
            permissions = permissions.intersect(p);
        }
        permissions.write &= !req.no_write;
        if !permissions.read && !permissions.write {
            return AtsCompletion::NoAccess;
        }
        let size = 1u64 << mapping.size_shift;
        AtsCompletion::Translated(AtsTranslation {
            iova: req.iova & !(size - 1),
            translated: GuestPhysAddr(mapping.out_base),
            size,
            permissions,
            global: mapping.global,
        })
    }

    /// Check a DMA access that carries an ATS-translated address (`AT == Translated`).
    ///
    /// The address is used as a physical address if the stream allows translated traffic
    /// (`STE.EATS != 0`) or bypasses; otherwise the access is terminated with `F_TRANSL_FORBIDDEN`.
    pub fn translated_access(
        &mut self,
        stream_id: u32,
        addr: u64,
        access: Access,
    ) -> core::result::Result<Translation, Fault> {
        self.stats.translations += 1;
        let result = if self.is_enabled() {
            self.stream_config(stream_id, None)
                .and_then(|cfg| match cfg.mode {
                    StreamMode::Abort => Err(Term {
                        kind: FaultKind::Aborted,
                        record: false,
                    }),
                    StreamMode::Bypass => Ok(Translation::identity(addr)),
                    StreamMode::Translate if cfg.eats != 0 => Ok(Translation::identity(addr)),
                    StreamMode::Translate => Err(FaultKind::TranslationForbidden.into()),
                })
        } else {
            self.disabled_access(addr)
        };
        result.map_err(|term| self.terminate(term, stream_id, None, addr, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_ranges() {
        let all = AtcInvalidation {
            stream_id: 0,
            substream_id: None,
            global: false,
            start: 0,
            len: u64::MAX,
        };
        assert!(all.is_everything());
        assert!(all.overlaps(u64::MAX, 1));
        let page = AtcInvalidation {
            start: 0x4000,
            len: 0x2000,
            ..all
        };
        assert!(!page.is_everything());
        assert!(page.overlaps(0x5fff, 1));
        assert!(!page.overlaps(0x6000, 0x1000));
        assert!(page.overlaps(0x3000, 0x1001));
    }

    #[test]
    fn sync_error_is_reported_once() {
        struct Failing;
        impl AtsDevice for Failing {
            fn invalidate(&self, request: &AtcInvalidation) -> Result<()> {
                Err(Error::AtcInvalidationFailed {
                    stream_id: request.stream_id,
                })
            }
        }
        let mut unit = AtsUnit::new();
        unit.devices.insert(3, Arc::new(Failing));
        assert_eq!(unit.atc_inv(4, None, false, 0, 0), Ok(()));
        assert_eq!(unit.take_sync_error(), None);
        assert_eq!(unit.atc_inv(3, None, false, 0, 0), Ok(()));
        assert_eq!(unit.take_sync_error(), Some(CERROR_ATC_INV_SYNC));
        assert_eq!(unit.take_sync_error(), None);
        assert_eq!(unit.stats.failed_invalidations, 1);
    }
}
