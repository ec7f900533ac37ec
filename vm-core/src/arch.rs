//! Guest architectures.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

/// A guest instruction-set architecture. `VmConfig::guest_arch` chooses it at run time; the
/// `x86_64`/`arm64`/`riscv64` Cargo features of vm-core only add that architecture's register layout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GuestArch {
    /// 64-bit RISC-V (RV64GC).
    #[serde(rename = "riscv64")]
    Riscv64,
    /// 64-bit ARM (AArch64).
    #[serde(rename = "arm64")]
    Arm64,
    /// x86-64.
    #[serde(rename = "x86_64")]
    X86_64,
}

impl GuestArch {
    /// Every architecture, in a stable order.
    pub const ALL: [GuestArch; 3] = [GuestArch::Riscv64, GuestArch::Arm64, GuestArch::X86_64];

    /// The canonical name (`riscv64`, `arm64`, `x86_64`), as used in configuration files.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Riscv64 => "riscv64",
            Self::Arm64 => "arm64",
            Self::X86_64 => "x86_64",
        }
    }

    /// The architecture of the host this code was compiled for, if it is one we can also emulate.
    pub const fn host() -> Option<GuestArch> {
        if cfg!(target_arch = "x86_64") {
            Some(Self::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Self::Arm64)
        } else if cfg!(target_arch = "riscv64") {
            Some(Self::Riscv64)
        } else {
            None
        }
    }

    /// Width of a general-purpose register in bits (all three are 64-bit architectures).
    pub const fn xlen(self) -> u32 {
        64
    }

    /// Smallest instruction size in bytes (the alignment of the PC).
    pub const fn min_insn_bytes(self) -> u64 {
        match self {
            Self::Riscv64 => 2,
            Self::Arm64 => 4,
            Self::X86_64 => 1,
        }
    }
}

impl fmt::Display for GuestArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name given is not an architecture we know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unknown guest architecture `{0}` (expected riscv64, arm64 or x86_64)")]
pub struct UnknownArch(pub alloc::string::String);

impl FromStr for GuestArch {
    type Err = UnknownArch;

    /// Accepts the canonical names and the common aliases (`rv64`, `aarch64`, `amd64`, `x86-64`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "riscv64" | "rv64" | "riscv64gc" => Ok(Self::Riscv64),
            "arm64" | "aarch64" => Ok(Self::Arm64),
            "x86_64" | "x86-64" | "amd64" => Ok(Self::X86_64),
            other => Err(UnknownArch(other.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in GuestArch::ALL {
            assert_eq!(a.name().parse::<GuestArch>().unwrap(), a);
        }
        assert_eq!("aarch64".parse::<GuestArch>().unwrap(), GuestArch::Arm64);
        assert_eq!("amd64".parse::<GuestArch>().unwrap(), GuestArch::X86_64);
        assert!("mips".parse::<GuestArch>().is_err());
    }

    #[test]
    fn host_is_known_here() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(GuestArch::host(), Some(GuestArch::X86_64));
    }
}
