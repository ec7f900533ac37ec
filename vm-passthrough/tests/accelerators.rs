//! Accelerator runtimes loaded at run time (features `cuda`, `rocm`, `npu`): where the runtime is
//! installed the probe must list devices; where it is not, the probe must return the typed error that
//! names what was looked for, never panic.

#[cfg(feature = "cuda")]
mod cuda {
    use vm_passthrough::PassthroughError;
    use vm_passthrough::cuda;

    #[test]
    fn probe_lists_devices_or_names_the_missing_library() {
        match cuda::probe() {
            Ok(devices) => {
                assert!(!devices.is_empty());
                for (i, d) in devices.iter().enumerate() {
                    assert_eq!(d.ordinal, i32::try_from(i).unwrap());
                    assert!(!d.name.is_empty());
                    assert!(d.total_memory > 0);
                    assert!(d.compute_capability.0 >= 3, "{d:?}");
                }
            }
            Err(PassthroughError::DriverUnavailable { runtime, detail }) => {
                assert_eq!(runtime, "CUDA");
                assert!(detail.contains("libcuda.so.1"), "{detail}");
            }
            Err(PassthroughError::NoDevices { runtime }) => assert_eq!(runtime, "CUDA"),
            Err(other) => panic!("{other:?}"),
        }
    }
}

#[cfg(feature = "rocm")]
mod rocm {
    use vm_passthrough::PassthroughError;
    use vm_passthrough::rocm::{self, HIP_LIBRARIES, HipRuntime};

    #[test]
    fn probe_lists_devices_or_names_the_missing_library() {
        match rocm::probe() {
            Ok(devices) => {
                assert!(!devices.is_empty());
                assert!(devices.iter().all(|d| !d.name.is_empty()));
            }
            Err(PassthroughError::DriverUnavailable { runtime, detail }) => {
                assert_eq!(runtime, "HIP");
                for name in HIP_LIBRARIES {
                    assert!(detail.contains(name), "{detail} lacks {name}");
                }
            }
            Err(PassthroughError::NoDevices { runtime }) => assert_eq!(runtime, "HIP"),
            Err(other) => panic!("{other:?}"),
        }
    }

    // `libc.so.6` is glibc's name for the C library.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_library_without_hip_symbols_is_reported() {
        match HipRuntime::load_from(&["libc.so.6"]) {
            Err(PassthroughError::DriverUnavailable {
                runtime: "HIP",
                detail,
            }) => {
                assert!(
                    detail.starts_with("libc.so.6 has no symbol hipGetDeviceCount"),
                    "{detail}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_candidate_is_named_when_none_loads() {
        match HipRuntime::load_from(&["libvm-passthrough-nohip.so", "/nonexistent/libamdhip64.so"])
        {
            Err(PassthroughError::DriverUnavailable { detail, .. }) => {
                assert!(detail.contains("libvm-passthrough-nohip.so: "), "{detail}");
                assert!(
                    detail.contains("; /nonexistent/libamdhip64.so: "),
                    "{detail}"
                );
                assert!(detail.ends_with("; install ROCm"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[cfg(feature = "npu")]
mod npu {
    use vm_passthrough::PassthroughError;
    use vm_passthrough::npu::{self, KNOWN_RUNTIMES, NpuLibrary, NpuRuntime, NpuStatus};

    #[test]
    fn probe_reports_available_runtimes_or_what_was_looked_for() {
        let statuses = npu::check_runtimes(KNOWN_RUNTIMES);
        assert_eq!(statuses.len(), KNOWN_RUNTIMES.len());
        let any_available = statuses
            .iter()
            .any(|s| matches!(s, NpuStatus::Available(_)));
        match npu::probe() {
            Ok(available) => {
                assert!(any_available);
                assert!(!available.is_empty());
            }
            Err(PassthroughError::NoNpuRuntime { searched }) => {
                assert!(!any_available);
                assert_eq!(searched.len(), KNOWN_RUNTIMES.len());
                let text = searched.join("\n");
                for lib in [
                    "libze_loader.so.1",
                    "libascendcl.so",
                    "librknnrt.so",
                    "libQnnHtp.so",
                ] {
                    assert!(text.contains(lib), "{text} lacks {lib}");
                }
                assert!(
                    searched[2].starts_with("Rockchip RKNN (librknnrt.so: "),
                    "{}",
                    searched[2]
                );
            }
            Err(other) => panic!("{other:?}"),
        }
    }

    /// The loading machinery against a library every glibc Linux host has: the C library stands in for a
    /// runtime, once with a symbol it exports and once with one it does not.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    static TEST_RUNTIMES: &[NpuRuntime] = &[
        NpuRuntime {
            vendor: "Test",
            name: "libc as runtime",
            libraries: &[NpuLibrary {
                candidates: &["libvm-passthrough-npu-missing.so", "libc.so.6"],
                symbol: "getpid",
            }],
        },
        NpuRuntime {
            vendor: "Test",
            name: "libc without entry point",
            libraries: &[NpuLibrary {
                candidates: &["libc.so.6"],
                symbol: "vm_passthrough_no_such_symbol",
            }],
        },
    ];

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn available_and_missing_runtimes_from_a_table() {
        let statuses = npu::check_runtimes(TEST_RUNTIMES);
        match &statuses[0] {
            NpuStatus::Available(a) => {
                assert_eq!(a.runtime.name, "libc as runtime");
                assert_eq!(a.loaded_from, vec!["libc.so.6".to_owned()]);
            }
            other => panic!("{other:?}"),
        }
        match &statuses[1] {
            NpuStatus::Missing { runtime, reason } => {
                assert_eq!(runtime.name, "libc without entry point");
                assert!(
                    reason.starts_with("libc.so.6 has no symbol vm_passthrough_no_such_symbol"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        let available = npu::probe_runtimes(TEST_RUNTIMES).unwrap();
        assert_eq!(available.len(), 1);
        match npu::probe_runtimes(&TEST_RUNTIMES[1..]) {
            Err(PassthroughError::NoNpuRuntime { searched }) => {
                assert_eq!(searched.len(), 1);
                assert!(
                    searched[0]
                        .starts_with("Test libc without entry point (libc.so.6 has no symbol"),
                    "{}",
                    searched[0]
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
