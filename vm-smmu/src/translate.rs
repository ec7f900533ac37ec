//! The translation pipeline: stream table → STE → context descriptor → stage 1 → stage 2.
//!
//! Configuration structures are looked up in the configuration cache first and decoded from guest
//! memory on a miss; translations are looked up in the TLB first and walked on a miss (both caches exist
//! only with the `tlb` feature; without it every translation reads the tables).

use vm_core::GuestPhysAddr;

use crate::cd::{cd_address, parse_cd};
use crate::fault::{Access, FaultClass, FaultKind, FaultStage, Permissions, Translation};
use crate::perms::{Mapping, is_global, s1_permissions, s2_permissions};
use crate::smmu::{Regime, Smmu, StreamConfig, Term, TlbTag};
use crate::ste::{NoSubstream, S2Config, SteLimits, StreamMode, parse_ste, read_dwords};
use crate::ste::{read_ste, ste_address};
use crate::walk::{Leaf, WalkFault, walk};
use crate::{ats, regs};

/// Why a stage-1 descriptor read failed.
enum DescError {
    /// The read of physical address `.0` failed.
    External(u64),
    /// Translating the descriptor's IPA through stage 2 failed.
    Stage2(Term),
}

impl Smmu {
    /// Translate an untranslated transaction (the normal DMA path).
    pub(crate) fn translate_untranslated(
        &mut self,
        sid: u32,
        ssid: Option<u32>,
        iova: u64,
        access: Access,
    ) -> Result<Translation, Term> {
        if !self.is_enabled() {
            return self.disabled_access(iova);
        }
        let cfg = self.stream_config(sid, ssid)?;
        match cfg.mode {
            StreamMode::Abort => Err(Term {
                kind: FaultKind::Aborted,
                record: false,
            }),
            StreamMode::Bypass => Ok(Translation::identity(iova)),
            StreamMode::Translate => {
                let mapping = self.mapping(&cfg, iova)?;
                match mapping {
                    None => Ok(Translation::identity(iova)),
                    Some(m) => m.check(iova, access).map_err(|kind| Term {
                        record: Self::record_flag(&kind, &cfg),
                        kind,
                    }),
                }
            }
        }
    }

    /// The configuration of `(sid, ssid)`, from the configuration cache or guest memory.
    pub(crate) fn stream_config(
        &mut self,
        sid: u32,
        ssid: Option<u32>,
    ) -> Result<StreamConfig, Term> {
        if let Some(cfg) = self.tlb.config_lookup(sid, ssid) {
            return Ok(cfg);
        }
        let cfg = self.decode_config(sid, ssid)?;
        self.tlb.config_insert(sid, ssid, cfg);
        Ok(cfg)
    }

    fn decode_config(&self, sid: u32, ssid: Option<u32>) -> Result<StreamConfig, Term> {
        let mem = &*self.mem;
        let addr = ste_address(
            mem,
            self.strtab_base,
            self.strtab_cfg,
            self.config.sid_bits,
            sid,
        )?;
        let limits = SteLimits {
            ssid_bits: self.config.ssid_bits,
            ats: ats::SUPPORTED,
        };
        let ste = parse_ste(&read_ste(mem, addr)?, &limits)?;
        let mut cfg = StreamConfig {
            mode: ste.mode,
            vmid: ste.vmid,
            eats: ste.eats,
            cd: None,
            s2: ste.s2,
        };
        if ste.mode != StreamMode::Translate {
            return Ok(cfg);
        }
        let Some(s1) = ste.s1 else {
            // Substreams need stage 1.
            return match ssid {
                Some(_) => Err(FaultKind::BadSubstreamId.into()),
                None => Ok(cfg),
            };
        };
        let index = match ssid {
            Some(ssid) => {
                let out_of_range = s1.cdmax == 0 || u64::from(ssid) >> s1.cdmax != 0;
                let reserved = ssid == 0 && s1.no_substream == NoSubstream::UseCd0;
                if out_of_range || reserved {
                    return Err(FaultKind::BadSubstreamId.into());
                }
                ssid
            }
            None if s1.cdmax == 0 => 0,
            None => match s1.no_substream {
                NoSubstream::Terminate => return Err(FaultKind::StreamDisabled.into()),
                NoSubstream::Bypass => return Ok(cfg),
                NoSubstream::UseCd0 => 0,
            },
        };
        let s2 = ste.s2;
        let cd_addr = cd_address(&s1, index, &mut |ipa| {
            self.read_config(ipa, s2.as_ref()).map(|w: [u64; 1]| w[0])
        })?;
        let words: [u64; 8] = self.read_config(cd_addr, s2.as_ref())?;
        cfg.cd = Some(parse_cd(&words)?);
        Ok(cfg)
    }

    /// Read a CD-table structure at `addr`, an IPA translated through `s2` when stage 2 is enabled.
    fn read_config<const N: usize>(
        &self,
        addr: u64,
        s2: Option<&S2Config>,
    ) -> Result<[u64; N], Term> {
        let pa = match s2 {
            None => addr,
            Some(s2) => {
                // A CD spans 64 bytes inside one page, so translating its first byte is enough.
                let (leaf, perms) = self.s2_walk(s2, addr, FaultClass::ContextDescriptor)?;
                self.s2_check_read(s2, &leaf, perms, addr, FaultClass::ContextDescriptor)?;
                leaf.out_base | (addr & ((1u64 << leaf.size_shift) - 1))
            }
        };
        read_dwords::<N>(&*self.mem, pa).map_err(|_| FaultKind::CdFetch { fetch_addr: pa }.into())
    }

    /// The mapping of `iova` under `cfg` (TLB first); `None` when both stages are bypassed.
    pub(crate) fn mapping(
        &mut self,
        cfg: &StreamConfig,
        iova: u64,
    ) -> Result<Option<Mapping>, Term> {
        let regime = match (cfg.cd.is_some(), cfg.s2.is_some()) {
            (false, false) => return Ok(None),
            (true, false) => Regime::Stage1,
            (false, true) => Regime::Stage2,
            (true, true) => Regime::Nested,
        };
        let tag = TlbTag {
            vmid: cfg.vmid,
            asid: cfg.cd.map(|cd| cd.asid),
            regime,
        };
        if let Some(m) = self.tlb.lookup(&tag, iova) {
            return Ok(Some(m));
        }
        let m = self.walk_stages(cfg, iova)?;
        self.tlb.insert(&tag, iova, &m);
        Ok(Some(m))
    }

    fn walk_stages(&self, cfg: &StreamConfig, iova: u64) -> Result<Mapping, Term> {
        let (ipa, s1) = match &cfg.cd {
            None => (iova, None),
            Some(cd) => {
                let record = cd.record;
                let stage1 = |kind| Term { kind, record };
                let params = cd.select(iova).map_err(stage1)?;
                let mut read = |addr: u64| self.read_s1_descriptor(addr, cfg.s2.as_ref());
                let leaf = walk(params, iova, &mut read).map_err(|f| {
                    let stage = FaultStage::Stage1;
                    match f {
                        WalkFault::Translation { level } => stage1(FaultKind::Translation {
                            stage,
                            level: level as u8,
                        }),
                        WalkFault::AddressSize { level } => stage1(FaultKind::AddressSize {
                            stage,
                            level: level as u8,
                        }),
                        WalkFault::AccessFlag { level } => stage1(FaultKind::AccessFlag {
                            stage,
                            level: level as u8,
                        }),
                        WalkFault::Fetch {
                            error: DescError::Stage2(t),
                            ..
                        } => t,
                        WalkFault::Fetch {
                            level,
                            error: DescError::External(pa),
                        } => Term::from(FaultKind::WalkExternalAbort {
                            stage,
                            level: level as u8,
                            fetch_addr: pa,
                        }),
                    }
                })?;
                let ipa = leaf.out_base | (iova & ((1u64 << leaf.size_shift) - 1));
                (ipa, Some((leaf, cd.wxn)))
            }
        };
        let s2 = match &cfg.s2 {
            None => None,
            Some(s2) => Some(self.s2_walk(s2, ipa, FaultClass::Input)?),
        };
        let shift = match (&s1, &s2) {
            (Some((l1, _)), Some((l2, _))) => l1.size_shift.min(l2.size_shift),
            (Some((l1, _)), None) => l1.size_shift,
            (None, Some((l2, _))) => l2.size_shift,
            // `mapping` returns early when both stages are bypassed.
            (None, None) => regs::OAS_BITS,
        };
        let pa = match &s2 {
            Some((l2, _)) => l2.out_base | (ipa & ((1u64 << l2.size_shift) - 1)),
            None => ipa,
        };
        let region = !((1u64 << shift) - 1);
        Ok(Mapping {
            size_shift: shift,
            out_base: pa & region,
            ipa_base: ipa & region,
            s1: s1.map(|(l, wxn)| (s1_permissions(l.desc, l.table_attrs, wxn), l.level as u8)),
            s2: s2.map(|(l, p)| (p, l.level as u8)),
            global: s1.is_none_or(|(l, _)| is_global(l.desc)),
        })
    }

    /// Read a stage-1 table descriptor at `addr` (an IPA when stage 2 is enabled).
    fn read_s1_descriptor(&self, addr: u64, s2: Option<&S2Config>) -> Result<u64, DescError> {
        let pa = match s2 {
            None => addr,
            Some(s2) => {
                let class = FaultClass::TranslationTable;
                let (leaf, perms) = self.s2_walk(s2, addr, class).map_err(DescError::Stage2)?;
                self.s2_check_read(s2, &leaf, perms, addr, class)
                    .map_err(DescError::Stage2)?;
                leaf.out_base | (addr & ((1u64 << leaf.size_shift) - 1))
            }
        };
        self.mem
            .read_u64(GuestPhysAddr(pa))
            .map_err(|_| DescError::External(pa))
    }

    /// Walk stage 2 for `ipa`, translated for the purpose `class` names.
    pub(crate) fn s2_walk(
        &self,
        s2: &S2Config,
        ipa: u64,
        class: FaultClass,
    ) -> Result<(Leaf, Permissions), Term> {
        let stage = FaultStage::Stage2 { class, ipa };
        let record = s2.record;
        if ipa >> s2.walk.input_bits != 0 {
            return Err(Term {
                kind: FaultKind::Translation { stage, level: 0 },
                record,
            });
        }
        let mem = &*self.mem;
        let mut read = |a: u64| mem.read_u64(GuestPhysAddr(a)).map_err(|_| a);
        let leaf = walk(&s2.walk, ipa, &mut read).map_err(|f| match f {
            WalkFault::Translation { level } => Term {
                kind: FaultKind::Translation {
                    stage,
                    level: level as u8,
                },
                record,
            },
            WalkFault::AddressSize { level } => Term {
                kind: FaultKind::AddressSize {
                    stage,
                    level: level as u8,
                },
                record,
            },
            WalkFault::AccessFlag { level } => Term {
                kind: FaultKind::AccessFlag {
                    stage,
                    level: level as u8,
                },
                record,
            },
            WalkFault::Fetch { level, error } => Term::from(FaultKind::WalkExternalAbort {
                stage,
                level: level as u8,
                fetch_addr: error,
            }),
        })?;
        let perms = s2_permissions(leaf.desc);
        Ok((leaf, perms))
    }

    /// Stage 2 must allow the SMMU to read the configuration or table structures it translates.
    fn s2_check_read(
        &self,
        s2: &S2Config,
        leaf: &Leaf,
        perms: Permissions,
        ipa: u64,
        class: FaultClass,
    ) -> Result<(), Term> {
        if perms.read {
            return Ok(());
        }
        let stage = FaultStage::Stage2 { class, ipa };
        Err(Term {
            kind: FaultKind::Permission {
                stage,
                level: leaf.level as u8,
            },
            record: s2.record,
        })
    }
}
