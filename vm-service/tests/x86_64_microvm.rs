//! The `x86_64-microvm` machine on the host's KVM. Every test skips, saying why, where `/dev/kvm`
//! cannot be opened; the bzImage test is `#[ignore]`d (it needs `guests/x86_64/fetch-linux.sh`).
//! Without the `accel` feature, building the machine is a clear error.
#![cfg(all(feature = "devices", feature = "std", target_arch = "x86_64"))]

#[cfg(not(feature = "accel"))]
#[test]
fn without_accel_the_machine_says_what_it_needs() {
    let mut c = vm_core::config::VmConfig::new(vm_core::config::Machine::X86_64Microvm);
    c.accel = vm_core::config::AccelKind::Kvm;
    c.boot.kernel = Some("unused.elf".into());
    let err = vm_service::vm::VmBuilder::new(c).build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "The x86_64-microvm machine needs vm-service's `accel` feature (KVM); this build leaves it out"
    );
}

#[cfg(feature = "accel")]
mod kvm {

    use std::time::Duration;

    use vm_core::config::{AccelKind, Machine, VmConfig};
    use vm_device::uart::CaptureBackend;
    use vm_service::machine::riscv64_virt::Image;
    use vm_service::machine::x86_64_microvm::{KernelFormat, X86_64Microvm, X86StopReason};

    /// Where the guest programs are, from this crate's directory.
    const PREBUILT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../guests/prebuilt/x86_64");

    /// Whether KVM opens; prints why the test is skipped otherwise.
    fn kvm_or_skip(test: &str) -> bool {
        match vm_accel::probe(AccelKind::Kvm) {
            Ok(_) => true,
            Err(e) if e.is_unavailable() => {
                println!("SKIPPED {test}: KVM is not usable here: {e}");
                false
            }
            Err(e) => panic!("{test}: KVM is present but failed: {e}"),
        }
    }

    fn cfg(vcpus: u32, memory_mib: u64) -> VmConfig {
        let mut c = VmConfig::new(Machine::X86_64Microvm);
        c.accel = AccelKind::Kvm;
        c.vcpus = vcpus;
        c.memory_mib = memory_mib;
        c
    }

    fn program(name: &str) -> Image {
        Image::from_file(&format!("{PREBUILT}/{name}.elf")).unwrap()
    }

    /// Run `kernel` on a fresh machine; returns the console output and the outcome.
    fn run(
        cfg: &VmConfig,
        kernel: Image,
        timeout: Duration,
    ) -> (String, X86StopReason, X86_64Microvm) {
        let console = CaptureBackend::new();
        let mut m = X86_64Microvm::new(cfg, kernel, None, Box::new(console.clone())).unwrap();
        let out = m.run_with_timeout(Some(timeout)).unwrap();
        (console.contents_lossy(), out.reason, m)
    }

    #[test]
    fn hello_prints_from_ring_3_and_exits_0() {
        if !kvm_or_skip("hello_prints_from_ring_3_and_exits_0") {
            return;
        }
        let (out, reason, m) = run(&cfg(1, 64), program("hello"), Duration::from_secs(20));
        assert_eq!(
            out,
            "hello from x86-64 ring 3\n\
         primes below 100: count 25 sum 1060 largest 97\n\
         sha256(\"abc\") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n\
         hello: done\n"
        );
        assert_eq!(reason, X86StopReason::ExitPort(0));
        assert_eq!(m.kernel().1, 0x10_0000, "entry at the ELF's e_entry");
        assert_eq!(
            m.unclaimed_io(),
            0,
            "the runtime touches only the UART and the exit port"
        );
    }

    #[test]
    fn runtime_checks_pass_and_the_status_reaches_the_host() {
        if !kvm_or_skip("runtime_checks_pass_and_the_status_reaches_the_host") {
            return;
        }
        let (out, reason, _) = run(&cfg(1, 64), program("rt_check"), Duration::from_secs(20));
        assert!(out.ends_with("PASS (13 checks)\n"), "{out}");
        assert!(!out.contains("MISMATCH"), "{out}");
        assert_eq!(reason, X86StopReason::ExitPort(42));
        assert_eq!(reason.exit_code(), 42);
    }

    #[test]
    fn ring_3_fault_is_reported_by_the_runtime() {
        if !kvm_or_skip("ring_3_fault_is_reported_by_the_runtime") {
            return;
        }
        let (out, reason, _) = run(&cfg(1, 64), program("fault"), Duration::from_secs(20));
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("fault: executing ud2 in ring 3"));
        let report = lines.next().unwrap_or_default();
        assert!(
            report.starts_with("unexpected exception: vector 6 (#UD) error 0x0 rip 0x"),
            "{out}"
        );
        assert!(report.contains(" cs 0x2b rsp 0x"), "{out}");
        assert_eq!(lines.next(), None, "nothing runs after the fault: {out}");
        assert_eq!(reason, X86StopReason::ExitPort(0x7f));
    }

    #[test]
    fn bench_matches_the_risc_v_reference_output() {
        if !kvm_or_skip("bench_matches_the_risc_v_reference_output") {
            return;
        }
        let (out, reason, _) = run(&cfg(1, 64), program("bench"), Duration::from_secs(60));
        let expected = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../guests/expected/riscv64/bench.out"
        ))
        .unwrap();
        assert_eq!(
            out, expected,
            "same source, same digests as on RISC-V (QEMU)"
        );
        assert_eq!(reason, X86StopReason::ExitPort(0));
    }

    #[test]
    fn application_processors_wait_and_the_run_still_ends() {
        if !kvm_or_skip("application_processors_wait_and_the_run_still_ends") {
            return;
        }
        // Four vCPU threads; the three APs wait for a start-up IPI that never comes, inside KVM_RUN, until
        // the exit port kicks them out.
        let (out, reason, m) = run(&cfg(4, 5 * 1024), program("hello"), Duration::from_secs(20));
        assert!(out.ends_with("hello: done\n"), "{out}");
        assert_eq!(reason, X86StopReason::ExitPort(0));
        assert!(m.has_irqchip());
        assert_eq!(
            m.memory()
                .regions()
                .iter()
                .map(|r| (r.name(), r.start().raw(), r.size()))
                .collect::<Vec<_>>(),
            vec![
                ("ram-low", 0, 0xc000_0000),
                ("virtio-mmio", 0xd000_0000, 0x8000),
                ("ram-high", 1 << 32, (5 << 30) - 0xc000_0000),
            ]
        );
    }

    #[test]
    fn the_stop_handle_ends_a_running_guest_and_it_runs_again() {
        if !kvm_or_skip("the_stop_handle_ends_a_running_guest_and_it_runs_again") {
            return;
        }
        // The bench runs for a while; stop it early, then let it finish: its output must be whole.
        let console = CaptureBackend::new();
        let mut m = X86_64Microvm::new(
            &cfg(1, 64),
            program("bench"),
            None,
            Box::new(console.clone()),
        )
        .unwrap();
        let stop = m.stop_handle();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            stop.store(true, std::sync::atomic::Ordering::Release);
        });
        let first = m.run().unwrap();
        t.join().unwrap();
        assert_eq!(first.reason, X86StopReason::Stopped);
        assert!(first.elapsed < Duration::from_secs(5));
        m.stop_handle()
            .store(false, std::sync::atomic::Ordering::Release);
        let second = m.run_with_timeout(Some(Duration::from_secs(60))).unwrap();
        assert_eq!(second.reason, X86StopReason::ExitPort(0));
        assert!(console.contents_lossy().ends_with("bench: done\n"));
    }

    #[test]
    fn vm_builder_runs_the_machine_with_exit_status() {
        if !kvm_or_skip("vm_builder_runs_the_machine_with_exit_status") {
            return;
        }
        let mut c = cfg(1, 64);
        c.boot.kernel = Some(format!("{PREBUILT}/rt_check.elf"));
        let console = CaptureBackend::new();
        let mut vm = vm_service::vm::VmBuilder::new(c)
            .console(Box::new(console.clone()))
            .build()
            .unwrap();
        let out = vm.run().unwrap();
        assert_eq!(out.reason.exit_code(), 42);
        assert!(vm.riscv64_virt().is_none());
        assert!(vm.x86_64_microvm().is_some());
        assert!(
            vm.run_for(1000)
                .unwrap_err()
                .to_string()
                .contains("does not count instructions")
        );
    }

    #[test]
    fn bad_images_and_configurations_are_refused() {
        if !kvm_or_skip("bad_images_and_configurations_are_refused") {
            return;
        }
        let console = || Box::new(CaptureBackend::new());
        let junk = Image {
            name: "junk".into(),
            bytes: b"not a kernel".to_vec(),
        };
        let err = X86_64Microvm::new(&cfg(1, 64), junk, None, console()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot load junk: Neither an ELF file nor a Linux bzImage"
        );
        let riscv = Image::from_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../guests/prebuilt/riscv64/demo.elf"
        ))
        .unwrap();
        let err = X86_64Microvm::new(&cfg(1, 64), riscv, None, console()).unwrap_err();
        assert!(err.to_string().contains("is not the guest's (62)"), "{err}");
        let mut with_disk = cfg(1, 64);
        with_disk.devices.push(vm_core::config::DeviceConfig::Rng);
        let err = X86_64Microvm::new(&with_disk, program("hello"), None, console()).unwrap_err();
        assert!(
            err.to_string().contains("no VirtIO device models yet"),
            "{err}"
        );
    }

    /// Debian bookworm's stock kernel (`guests/x86_64/fetch-linux.sh`) prints its decompressor's early
    /// console lines through our UART: the zero page, the command line, the 64-bit entry and the console
    /// all work. Debian builds without `CONFIG_X86_VERBOSE_BOOTUP`, so the decompressor's one unconditional
    /// line is its warning about `nokaslr`; decompressing the kernel itself takes many minutes where ring 0
    /// is emulated (PVM), so the test stops at that line.
    #[test]
    #[ignore = "needs images/x86_64/vmlinuz from guests/x86_64/fetch-linux.sh"]
    fn bzimage_early_console() {
        if !kvm_or_skip("bzimage_early_console") {
            return;
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../images/x86_64/vmlinuz");
        let Ok(kernel) = Image::from_file(path) else {
            panic!("{path} is missing: run guests/x86_64/fetch-linux.sh first");
        };
        let mut c = cfg(1, 512);
        c.boot.cmdline = "earlyprintk=serial,ttyS0,115200 console=ttyS0 nokaslr".into();
        let console = CaptureBackend::new();
        let mut m = X86_64Microvm::new(&c, kernel, None, Box::new(console.clone())).unwrap();
        assert_eq!(m.kernel(), (KernelFormat::BzImage, 0x10_0200));
        const LINE: &str = "KASLR disabled: 'nokaslr' on cmdline.";
        let stop = m.stop_handle();
        let watch = console.clone();
        let watcher = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while !watch.contents_lossy().contains(LINE)
                && start.elapsed() < Duration::from_secs(60)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            stop.store(true, std::sync::atomic::Ordering::Release);
        });
        let out = m.run().unwrap();
        watcher.join().unwrap();
        let text = console.contents_lossy();
        println!("after {:?}:\n{text}", out.elapsed);
        assert_eq!(out.reason, X86StopReason::Stopped);
        assert!(text.contains(&format!("\r\n{LINE}\r\n")), "{text:?}");
    }
}
