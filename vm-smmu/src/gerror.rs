//! The global error registers `GERROR` and `GERRORN`.
//!
//! An error is *active* while its bit differs between the two registers. The SMMU activates an error by
//! toggling its `GERROR` bit (only if it is not already active); software acknowledges it by toggling the
//! same bit of `GERRORN`.

use crate::regs::GERROR_MASK;

/// The `GERROR`/`GERRORN` pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gerror {
    gerror: u32,
    gerrorn: u32,
}

impl Gerror {
    /// No error active.
    pub const fn new() -> Self {
        Self {
            gerror: 0,
            gerrorn: 0,
        }
    }

    /// The `GERROR` register.
    pub const fn gerror(&self) -> u32 {
        self.gerror
    }

    /// The `GERRORN` register.
    pub const fn gerrorn(&self) -> u32 {
        self.gerrorn
    }

    /// The active errors.
    pub const fn active(&self) -> u32 {
        (self.gerror ^ self.gerrorn) & GERROR_MASK
    }

    /// Whether any of `bits` is active.
    pub const fn is_active(&self, bits: u32) -> bool {
        self.active() & bits != 0
    }

    /// Activate the errors in `bits`; returns those that were not active before (and so were toggled).
    pub fn raise(&mut self, bits: u32) -> u32 {
        let new = bits & GERROR_MASK & !self.active();
        self.gerror ^= new;
        new
    }

    /// Software writes `GERRORN`; returns the errors this write acknowledged.
    ///
    /// Toggling a bit whose error is not active is CONSTRAINED UNPREDICTABLE in the architecture; this
    /// model stores the value as written, which makes that error read as active.
    pub fn write_gerrorn(&mut self, value: u32) -> u32 {
        let before = self.active();
        self.gerrorn = value & GERROR_MASK;
        before & !self.active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regs::{GERROR_CMDQ_ERR, GERROR_EVTQ_ABT_ERR};

    #[test]
    fn raise_toggles_only_inactive_errors() {
        let mut g = Gerror::new();
        assert_eq!(g.raise(GERROR_CMDQ_ERR), GERROR_CMDQ_ERR);
        assert_eq!(g.gerror(), 1);
        assert_eq!(
            g.raise(GERROR_CMDQ_ERR | GERROR_EVTQ_ABT_ERR),
            GERROR_EVTQ_ABT_ERR
        );
        assert_eq!(g.gerror(), 0b101);
        assert!(g.is_active(GERROR_CMDQ_ERR));
    }

    #[test]
    fn acknowledge_by_toggling_gerrorn() {
        let mut g = Gerror::new();
        g.raise(GERROR_CMDQ_ERR);
        assert_eq!(g.write_gerrorn(GERROR_CMDQ_ERR), GERROR_CMDQ_ERR);
        assert_eq!(g.active(), 0);
        // A second error toggles GERROR back to 0; software acks by toggling GERRORN back to 0.
        assert_eq!(g.raise(GERROR_CMDQ_ERR), GERROR_CMDQ_ERR);
        assert_eq!(g.gerror(), 0);
        assert!(g.is_active(GERROR_CMDQ_ERR));
        assert_eq!(g.write_gerrorn(0), GERROR_CMDQ_ERR);
        assert!(!g.is_active(GERROR_CMDQ_ERR));
    }

    #[test]
    fn reserved_bits_are_ignored() {
        let mut g = Gerror::new();
        assert_eq!(g.raise(1 << 1), 0);
        g.write_gerrorn(u32::MAX);
        assert_eq!(g.gerrorn(), GERROR_MASK);
    }
}
