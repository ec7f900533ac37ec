//! NVIDIA devices through the CUDA driver API (feature `cuda`, experimental).
//!
//! Uses [`cudarc`]'s driver bindings with dynamic loading: `libcuda` (installed by the NVIDIA driver,
//! not the SDK) is opened at run time, so the crate builds anywhere. The bindings are pinned to the CUDA
//! 12.8 driver API, but symbols are resolved one by one when first called, and [`probe`] calls only
//! functions every CUDA 11+ driver exports (`cuInit`, `cuDeviceGetCount`, `cuDeviceGet`,
//! `cuDeviceGetName`, `cuDeviceTotalMem_v2`, `cuDeviceGetAttribute`).
//!
//! cudarc panics when the library or a symbol is missing. [`probe`] checks for the library first and
//! runs the calls inside [`std::panic::catch_unwind`], so callers always get a
//! [`PassthroughError`], never a panic.
//!
//! ```
//! use vm_passthrough::{PassthroughError, cuda};
//!
//! match cuda::probe() {
//!     Ok(devices) => devices.iter().for_each(|d| println!("{}: {} bytes, sm_{}{}", d.name, d.total_memory, d.compute_capability.0, d.compute_capability.1)),
//!     Err(PassthroughError::DriverUnavailable { detail, .. }) => println!("no CUDA here: {detail}"),
//!     Err(other) => println!("CUDA failed: {other}"),
//! }
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};

use cudarc::driver::result::{self as cu, DriverError};
use cudarc::driver::sys::{CUdevice_attribute, CUresult};

use crate::error::{PassthroughError, Result};

const RUNTIME: &str = "CUDA";

/// One CUDA device as the driver reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CudaDevice {
    /// Device ordinal (what `cuDeviceGet` takes).
    pub ordinal: i32,
    /// Marketing name, e.g. `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Total device memory in bytes.
    pub total_memory: u64,
    /// Compute capability (major, minor), e.g. `(9, 0)`.
    pub compute_capability: (i32, i32),
}

/// The file names tried when loading the driver library (`libcuda.so`, `libcuda.so.1`, ...).
pub fn library_candidates() -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    cudarc::get_lib_name_candidates("cuda")
        .into_iter()
        .filter(|n| seen.insert(n.clone()))
        .collect()
}

fn call_error(call: &'static str, e: DriverError) -> PassthroughError {
    if e.0 == CUresult::CUDA_ERROR_NO_DEVICE {
        return PassthroughError::NoDevices { runtime: RUNTIME };
    }
    PassthroughError::RuntimeCall {
        runtime: RUNTIME,
        call,
        detail: format!("{:?}", e.0),
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "the CUDA bindings panicked".to_owned())
}

/// Initialise CUDA and list its devices.
///
/// Errors: [`DriverUnavailable`](PassthroughError::DriverUnavailable) (`runtime: "CUDA"`) when `libcuda`
/// cannot be loaded or lacks a needed symbol, [`NoDevices`](PassthroughError::NoDevices) when the driver
/// sees no GPU, [`RuntimeCall`](PassthroughError::RuntimeCall) when a driver call fails.
pub fn probe() -> Result<Vec<CudaDevice>> {
    // SAFETY: `is_culib_present` dlopens the NVIDIA driver library by its well-known names and closes it
    // again; loading runs the library's initialisers, which is the contract of using it at all.
    let present =
        catch_unwind(|| unsafe { cudarc::driver::sys::is_culib_present() }).unwrap_or(false);
    if !present {
        return Err(PassthroughError::DriverUnavailable {
            runtime: RUNTIME,
            detail: format!(
                "the NVIDIA driver library could not be loaded (looked for {}); install the NVIDIA driver",
                library_candidates().join(", ")
            ),
        });
    }
    catch_unwind(AssertUnwindSafe(probe_loaded)).unwrap_or_else(|payload| {
        Err(PassthroughError::DriverUnavailable {
            runtime: RUNTIME,
            detail: panic_text(payload.as_ref()),
        })
    })
}

fn probe_loaded() -> Result<Vec<CudaDevice>> {
    cu::init().map_err(|e| call_error("cuInit", e))?;
    let count = cu::device::get_count().map_err(|e| call_error("cuDeviceGetCount", e))?;
    if count <= 0 {
        return Err(PassthroughError::NoDevices { runtime: RUNTIME });
    }
    (0..count).map(device).collect()
}

fn device(ordinal: i32) -> Result<CudaDevice> {
    let dev = cu::device::get(ordinal).map_err(|e| call_error("cuDeviceGet", e))?;
    let name = cu::device::get_name(dev).map_err(|e| call_error("cuDeviceGetName", e))?;
    // SAFETY: `dev` was returned by `cuDeviceGet` after a successful `cuInit`.
    let total_memory =
        unsafe { cu::device::total_mem(dev) }.map_err(|e| call_error("cuDeviceTotalMem", e))?;
    let attribute = |attr| {
        // SAFETY: as above, `dev` is a valid device handle.
        unsafe { cu::device::get_attribute(dev, attr) }
            .map_err(|e| call_error("cuDeviceGetAttribute", e))
    };
    let major = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
    let minor = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
    Ok(CudaDevice {
        ordinal,
        name,
        total_memory: u64::try_from(total_memory).unwrap_or(u64::MAX),
        compute_capability: (major, minor),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_name_the_driver_library() {
        let names = library_candidates();
        assert!(names.iter().any(|n| n == "libcuda.so"), "{names:?}");
        assert!(names.iter().any(|n| n == "libcuda.so.1"), "{names:?}");
    }

    #[test]
    fn no_device_is_its_own_error() {
        let e = call_error("cuInit", DriverError(CUresult::CUDA_ERROR_NO_DEVICE));
        assert!(matches!(e, PassthroughError::NoDevices { runtime: "CUDA" }));
        let e = call_error("cuInit", DriverError(CUresult::CUDA_ERROR_INVALID_VALUE));
        match e {
            PassthroughError::RuntimeCall {
                runtime,
                call,
                detail,
            } => {
                assert_eq!(
                    (runtime, call, detail.as_str()),
                    ("CUDA", "cuInit", "CUDA_ERROR_INVALID_VALUE")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn panic_payloads_become_text() {
        let payload = catch_unwind(|| panic!("Missing symbol {}", "cuInit")).unwrap_err();
        assert_eq!(panic_text(payload.as_ref()), "Missing symbol cuInit");
        let payload = catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(panic_text(payload.as_ref()), "the CUDA bindings panicked");
    }
}
