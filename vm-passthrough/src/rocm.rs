//! AMD GPUs through the HIP runtime of ROCm (feature `rocm`, experimental).
//!
//! `libamdhip64.so` is opened at run time with [`libloading`] and called through function pointers, so
//! the crate builds without ROCm. Written by hand because no maintained crate loads HIP dynamically;
//! only a handful of stable C entry points are used:
//!
//! - `hipGetDeviceCount(int*)` and `hipGetDeviceProperties[R0600](hipDeviceProp_t*, int)` (required);
//!   the properties structure changes size between ROCm releases, but `char name[256]` is its first
//!   field in every version, so it is read into a buffer far larger than any version's structure and
//!   only the name is taken from it;
//! - `hipDeviceTotalMem(size_t*, int)`, `hipDeviceComputeCapability(int*, int*, int)` and
//!   `hipGetErrorString(int)` (optional: left out of the result when the runtime lacks them).
//!
//! ```
//! match vm_passthrough::rocm::probe() {
//!     Ok(devices) => devices.iter().for_each(|d| println!("{} ({:?} bytes)", d.name, d.total_memory)),
//!     Err(why) => println!("no HIP devices: {why}"),
//! }
//! ```

use std::ffi::{CStr, c_char, c_int, c_void};

use libloading::Library;

use crate::dynlib::{self, describe, error_text};
use crate::error::{PassthroughError, Result};

const RUNTIME: &str = "HIP";

/// The file names tried, in order, when loading the HIP runtime.
pub const HIP_LIBRARIES: &[&str] = &[
    "libamdhip64.so",
    "libamdhip64.so.7",
    "libamdhip64.so.6",
    "libamdhip64.so.5",
    "/opt/rocm/lib/libamdhip64.so",
];

/// `hipErrorNoDevice`.
const HIP_ERROR_NO_DEVICE: c_int = 100;
/// Bytes reserved for `hipDeviceProp_t` (about 1.5 KiB in ROCm 6); the name is its first 256 bytes.
const PROPS_WORDS: usize = 2048;
const NAME_LEN: usize = 256;

type GetDeviceCount = unsafe extern "C" fn(*mut c_int) -> c_int;
type GetDeviceProperties = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type DeviceTotalMem = unsafe extern "C" fn(*mut usize, c_int) -> c_int;
type DeviceComputeCapability = unsafe extern "C" fn(*mut c_int, *mut c_int, c_int) -> c_int;
type GetErrorString = unsafe extern "C" fn(c_int) -> *const c_char;

/// One HIP device as the runtime reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HipDevice {
    /// Device ordinal.
    pub ordinal: i32,
    /// Marketing name, e.g. `AMD Instinct MI300X`.
    pub name: String,
    /// Total device memory in bytes, if the runtime has `hipDeviceTotalMem`.
    pub total_memory: Option<u64>,
    /// Compute capability (major, minor), if the runtime has `hipDeviceComputeCapability`.
    pub compute_capability: Option<(i32, i32)>,
}

/// A loaded HIP runtime.
pub struct HipRuntime {
    get_device_count: GetDeviceCount,
    get_device_properties: GetDeviceProperties,
    device_total_mem: Option<DeviceTotalMem>,
    device_compute_capability: Option<DeviceComputeCapability>,
    get_error_string: Option<GetErrorString>,
    loaded_from: String,
    // Keeps the function pointers above valid; dropped last.
    _library: Library,
}

impl std::fmt::Debug for HipRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HipRuntime")
            .field("loaded_from", &self.loaded_from)
            .finish_non_exhaustive()
    }
}

/// Resolve `name` in `library` as a `T` (a function pointer type).
///
/// # Safety
///
/// `T` must be the correct function pointer type for the symbol, and the result must not be called after
/// `library` is dropped.
unsafe fn symbol<T: Copy>(
    library: &Library,
    name: &CStr,
) -> std::result::Result<T, libloading::Error> {
    // SAFETY: the caller guarantees `T` matches the symbol's type and outlives no use past the library.
    unsafe { library.get::<T>(name).map(|s| *s) }
}

impl HipRuntime {
    /// Load the HIP runtime from [`HIP_LIBRARIES`].
    pub fn load() -> Result<Self> {
        Self::load_from(HIP_LIBRARIES)
    }

    /// Load the HIP runtime from the first of `candidates` that loads.
    ///
    /// Errors: [`DriverUnavailable`](PassthroughError::DriverUnavailable) (`runtime: "HIP"`) naming every
    /// candidate and why it failed, or the library and the required symbol it lacks.
    pub fn load_from(candidates: &[&str]) -> Result<Self> {
        let loaded = dynlib::open_first(candidates).map_err(|failures| {
            PassthroughError::DriverUnavailable {
                runtime: RUNTIME,
                detail: format!(
                    "the HIP runtime could not be loaded ({}); install ROCm",
                    describe(&failures)
                ),
            }
        })?;
        let lib = &loaded.library;
        let missing = |name: &str, e: libloading::Error| PassthroughError::DriverUnavailable {
            runtime: RUNTIME,
            detail: format!("{} has no symbol {name}: {}", loaded.name, error_text(&e)),
        };
        // The types below are the C signatures of these HIP functions as declared in `hip_runtime_api.h`
        // (`hipError_t` is a C enum, so `int`; `hipDevice_t` is `int`), and the pointers are stored next to
        // the library, which is dropped after them: that is what `symbol` requires.
        // SAFETY: see the comment above.
        let get_device_count = unsafe { symbol::<GetDeviceCount>(lib, c"hipGetDeviceCount") }
            .map_err(|e| missing("hipGetDeviceCount", e))?;
        // ROCm 6 renamed the entry point when the structure grew; older runtimes only have the plain name.
        // SAFETY: see the comment above.
        let props_r0600 =
            unsafe { symbol::<GetDeviceProperties>(lib, c"hipGetDevicePropertiesR0600") };
        let get_device_properties = match props_r0600 {
            Ok(f) => f,
            // SAFETY: see the comment above.
            Err(_) => unsafe { symbol::<GetDeviceProperties>(lib, c"hipGetDeviceProperties") }
                .map_err(|e| missing("hipGetDeviceProperties", e))?,
        };
        // SAFETY: see the comment above.
        let device_total_mem = unsafe { symbol::<DeviceTotalMem>(lib, c"hipDeviceTotalMem") }.ok();
        // SAFETY: see the comment above.
        let device_compute_capability =
            unsafe { symbol::<DeviceComputeCapability>(lib, c"hipDeviceComputeCapability") }.ok();
        // SAFETY: see the comment above.
        let get_error_string = unsafe { symbol::<GetErrorString>(lib, c"hipGetErrorString") }.ok();
        Ok(Self {
            get_device_count,
            get_device_properties,
            device_total_mem,
            device_compute_capability,
            get_error_string,
            loaded_from: loaded.name,
            _library: loaded.library,
        })
    }

    /// The library name the runtime was loaded from.
    pub fn loaded_from(&self) -> &str {
        &self.loaded_from
    }

    fn check(&self, call: &'static str, code: c_int) -> Result<()> {
        if code == 0 {
            return Ok(());
        }
        if code == HIP_ERROR_NO_DEVICE {
            return Err(PassthroughError::NoDevices { runtime: RUNTIME });
        }
        let text = self.get_error_string.and_then(|f| {
            // SAFETY: `hipGetErrorString` takes any error code and returns NULL or a pointer to a static
            // NUL-terminated string owned by the runtime, which outlives this call.
            let ptr = unsafe { f(code) };
            (!ptr.is_null()).then(|| {
                // SAFETY: non-NULL results point to static NUL-terminated strings (see above).
                let text = unsafe { CStr::from_ptr(ptr) };
                text.to_string_lossy().into_owned()
            })
        });
        let detail = match text {
            Some(text) => format!("error {code} ({text})"),
            None => format!("error {code}"),
        };
        Err(PassthroughError::RuntimeCall {
            runtime: RUNTIME,
            call,
            detail,
        })
    }

    /// `hipGetDeviceCount`.
    pub fn device_count(&self) -> Result<i32> {
        let mut count: c_int = 0;
        // SAFETY: `hipGetDeviceCount` writes one `int` through its argument, which points to `count`.
        let code = unsafe { (self.get_device_count)(&raw mut count) };
        self.check("hipGetDeviceCount", code)?;
        Ok(count)
    }

    /// The device with this ordinal.
    pub fn device(&self, ordinal: i32) -> Result<HipDevice> {
        let mut props = vec![0_u64; PROPS_WORDS];
        // SAFETY: the function fills a `hipDeviceProp_t` at the pointer; `props` is 16 KiB, 8-byte aligned,
        // larger than the structure in any ROCm release, and lives past the call.
        let code = unsafe { (self.get_device_properties)(props.as_mut_ptr().cast(), ordinal) };
        self.check("hipGetDeviceProperties", code)?;
        let bytes: Vec<u8> = props
            .iter()
            .take(NAME_LEN / 8)
            .flat_map(|w| w.to_ne_bytes())
            .collect();
        let name_end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let name = String::from_utf8_lossy(bytes.get(..name_end).unwrap_or_default()).into_owned();

        let total_memory = match self.device_total_mem {
            Some(f) => {
                let mut bytes: usize = 0;
                // SAFETY: `hipDeviceTotalMem` writes one `size_t` through its first argument.
                let code = unsafe { f(&raw mut bytes, ordinal) };
                self.check("hipDeviceTotalMem", code)?;
                Some(u64::try_from(bytes).unwrap_or(u64::MAX))
            }
            None => None,
        };
        let compute_capability = match self.device_compute_capability {
            Some(f) => {
                let (mut major, mut minor): (c_int, c_int) = (0, 0);
                // SAFETY: `hipDeviceComputeCapability` writes one `int` through each of its first two
                // arguments.
                let code = unsafe { f(&raw mut major, &raw mut minor, ordinal) };
                self.check("hipDeviceComputeCapability", code)?;
                Some((major, minor))
            }
            None => None,
        };
        Ok(HipDevice {
            ordinal,
            name,
            total_memory,
            compute_capability,
        })
    }

    /// Every device the runtime sees.
    pub fn devices(&self) -> Result<Vec<HipDevice>> {
        (0..self.device_count()?).map(|i| self.device(i)).collect()
    }
}

/// Load the HIP runtime and list its devices.
///
/// Errors: [`DriverUnavailable`](PassthroughError::DriverUnavailable) (`runtime: "HIP"`) when the runtime
/// cannot be loaded, [`NoDevices`](PassthroughError::NoDevices) when it sees no GPU,
/// [`RuntimeCall`](PassthroughError::RuntimeCall) when a call fails.
pub fn probe() -> Result<Vec<HipDevice>> {
    let devices = HipRuntime::load()?.devices()?;
    if devices.is_empty() {
        return Err(PassthroughError::NoDevices { runtime: RUNTIME });
    }
    Ok(devices)
}
