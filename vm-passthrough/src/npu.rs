//! Vendor NPU runtimes (feature `npu`, experimental).
//!
//! NPUs have no common API: each vendor ships a user-space runtime library. [`KNOWN_RUNTIMES`] lists the
//! ones this crate knows; [`probe`] loads each at run time with [`libloading`] and resolves its entry
//! point, so the crate builds without any vendor SDK. A runtime counts as available when every library
//! it needs loads and exports its entry point. Talking to the NPUs through those runtimes is up to the
//! caller; this module says which runtimes a host has, or exactly what was looked for.
//!
//! ```
//! use vm_passthrough::{PassthroughError, npu};
//!
//! match npu::probe() {
//!     Ok(found) => found.iter().for_each(|a| println!("{} {} from {:?}", a.runtime.vendor, a.runtime.name, a.loaded_from)),
//!     Err(PassthroughError::NoNpuRuntime { searched }) => println!("no NPU runtime; tried:\n{}", searched.join("\n")),
//!     Err(other) => println!("{other}"),
//! }
//! ```

use std::ffi::CString;

use crate::dynlib::{self, describe, error_text};
use crate::error::{PassthroughError, Result};

/// A shared library a runtime needs and a symbol that identifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpuLibrary {
    /// File names to try, in order.
    pub candidates: &'static [&'static str],
    /// An exported function the library must have.
    pub symbol: &'static str,
}

/// A vendor NPU runtime: the libraries that must all be present for it to work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpuRuntime {
    /// Vendor.
    pub vendor: &'static str,
    /// Runtime name.
    pub name: &'static str,
    /// Libraries it needs.
    pub libraries: &'static [NpuLibrary],
}

/// The NPU runtimes this crate knows.
pub const KNOWN_RUNTIMES: &[NpuRuntime] = &[
    NpuRuntime {
        vendor: "Intel",
        name: "NPU (Level Zero)",
        libraries: &[
            NpuLibrary {
                candidates: &["libze_loader.so.1", "libze_loader.so"],
                symbol: "zeInit",
            },
            // The NPU driver proper; the loader alone may only serve GPUs. `libze_intel_vpu` is its old name.
            NpuLibrary {
                candidates: &[
                    "libze_intel_npu.so.1",
                    "libze_intel_npu.so",
                    "libze_intel_vpu.so.1",
                    "libze_intel_vpu.so",
                ],
                symbol: "zeGetDriverProcAddrTable",
            },
        ],
    },
    NpuRuntime {
        vendor: "Huawei",
        name: "Ascend (ACL)",
        libraries: &[NpuLibrary {
            candidates: &[
                "libascendcl.so",
                "/usr/local/Ascend/ascend-toolkit/latest/lib64/libascendcl.so",
            ],
            symbol: "aclInit",
        }],
    },
    NpuRuntime {
        vendor: "Rockchip",
        name: "RKNN",
        libraries: &[NpuLibrary {
            candidates: &["librknnrt.so"],
            symbol: "rknn_init",
        }],
    },
    NpuRuntime {
        vendor: "Qualcomm",
        name: "QNN HTP",
        libraries: &[NpuLibrary {
            candidates: &["libQnnHtp.so"],
            symbol: "QnnInterface_getProviders",
        }],
    },
];

/// A runtime that is present, and the files its libraries loaded from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvailableNpu {
    /// The runtime.
    pub runtime: &'static NpuRuntime,
    /// For each of its libraries, the name that loaded.
    pub loaded_from: Vec<String>,
}

/// The outcome of checking one runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NpuStatus {
    /// All its libraries loaded and export their symbols.
    Available(AvailableNpu),
    /// Something is missing; the text says what was tried and why it failed.
    Missing {
        /// The runtime.
        runtime: &'static NpuRuntime,
        /// What was looked for and why it failed.
        reason: String,
    },
}

fn check_library(lib: &NpuLibrary) -> std::result::Result<String, String> {
    let loaded = dynlib::open_first(lib.candidates).map_err(|failures| describe(&failures))?;
    let symbol = CString::new(lib.symbol)
        .map_err(|_| format!("symbol name {:?} contains NUL", lib.symbol))?;
    // SAFETY: the symbol is only looked up, never called, so its type does not matter; `*const ()` is a
    // plain address. The library stays loaded for the lookup.
    match unsafe { loaded.library.get::<*const ()>(&symbol) } {
        Ok(_) => Ok(loaded.name),
        Err(e) => Err(format!(
            "{} has no symbol {}: {}",
            loaded.name,
            lib.symbol,
            error_text(&e)
        )),
    }
}

/// Check each runtime of `table`.
pub fn check_runtimes(table: &'static [NpuRuntime]) -> Vec<NpuStatus> {
    table
        .iter()
        .map(|runtime| {
            let loaded: std::result::Result<Vec<String>, String> =
                runtime.libraries.iter().map(check_library).collect();
            match loaded {
                Ok(loaded_from) => NpuStatus::Available(AvailableNpu {
                    runtime,
                    loaded_from,
                }),
                Err(reason) => NpuStatus::Missing { runtime, reason },
            }
        })
        .collect()
}

/// The runtimes of `table` that are available; [`NoNpuRuntime`](PassthroughError::NoNpuRuntime) listing
/// every runtime and what was tried for it when none is.
pub fn probe_runtimes(table: &'static [NpuRuntime]) -> Result<Vec<AvailableNpu>> {
    let mut available = Vec::new();
    let mut searched = Vec::new();
    for status in check_runtimes(table) {
        match status {
            NpuStatus::Available(a) => available.push(a),
            NpuStatus::Missing { runtime, reason } => {
                searched.push(format!("{} {} ({reason})", runtime.vendor, runtime.name));
            }
        }
    }
    if available.is_empty() {
        Err(PassthroughError::NoNpuRuntime { searched })
    } else {
        Ok(available)
    }
}

/// The [`KNOWN_RUNTIMES`] that are available on this host.
pub fn probe() -> Result<Vec<AvailableNpu>> {
    probe_runtimes(KNOWN_RUNTIMES)
}
