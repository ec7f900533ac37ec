//! The `vm` command. Thin: every sub-command goes through vm-service's library API.

use std::process::ExitCode;

use vm_core::config::{Firmware, Machine};
use vm_service::vm::VmBuilder;
use vm_service::{VmConfig, cli, machine::riscv64_virt};

const USAGE: &str = "\
usage: vm                            run the built-in RISC-V demo guest
       vm run [OPTIONS]              run a virtual machine; exits with the guest's exit code
       vm config [OPTIONS]           print the validated machine configuration as JSON
       vm dumpdtb FILE [OPTIONS]     write the machine's device tree blob to FILE
       vm accel-info [--accel KIND] [--json]
                                     the host CPU, the accelerator (flavour, capabilities), the guest CPU

options: --machine riscv64-virt|x86_64-microvm  -m SIZE  --smp N  --engine interp|jit
         --accel none|auto|kvm  --bios FILE|none  --kernel FILE  --initrd FILE  --append STR
         --deterministic (emulated harts take turns on one thread, for repeatable runs)
         --disk FILE[,ro]  --net user[,hostfwd=tcp:HOSTPORT-:GUESTPORT]|tap,ifname=NAME";

/// The demo guest (source: `guests/riscv64/src/bin/demo.rs`; rebuilt by `guests/build.sh`).
const DEMO: &[u8] = include_bytes!("../../../guests/prebuilt/riscv64/demo.elf");

fn run(args: &[String]) -> Result<u8, vm_service::Error> {
    match args.first().map(String::as_str) {
        None => {
            let mut cfg = VmConfig::new(Machine::Riscv64Virt);
            cfg.boot.firmware = Firmware::None;
            cfg.memory_mib = 64;
            let mut vm = VmBuilder::new(cfg)
                .kernel_bytes("the embedded demo", DEMO.to_vec())
                .build()?;
            let out = vm.run()?;
            eprintln!(
                "vm: demo guest ended ({:?}) after {} instructions in {:.3} s: {:.0} MIPS",
                out.reason,
                out.insns,
                out.elapsed.as_secs_f64(),
                out.mips()
            );
            Ok(exit_status(out.reason.exit_code()))
        }
        Some("run") => {
            let cfg = cli::parse_config(&args[1..])?;
            let mut vm = VmBuilder::new(cfg).console_stdin(true).build()?;
            let out = vm.run()?;
            Ok(exit_status(out.reason.exit_code()))
        }
        Some("config") => {
            let cfg = cli::parse_config(&args[1..])?;
            println!("{}", cfg.to_json());
            Ok(0)
        }
        Some("dumpdtb") => {
            let file = args
                .get(1)
                .ok_or_else(|| vm_service::Error::Usage("dumpdtb needs a FILE".into()))?;
            let cfg = cli::parse_config(&args[2..])?;
            let blob = riscv64_virt::device_tree(&cfg, cfg.devices.len(), None)?;
            std::fs::write(file, blob).map_err(|source| vm_service::Error::Io {
                action: "write",
                path: file.clone(),
                source,
            })?;
            Ok(0)
        }
        Some("accel-info") => accel_info(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(0)
        }
        Some(other) => Err(vm_service::Error::Usage(format!(
            "Unknown command `{other}` (vm --help lists them)"
        ))),
    }
}

/// `vm accel-info [--accel KIND] [--json]`.
fn accel_info(args: &[String]) -> Result<u8, vm_service::Error> {
    let mut json = false;
    let mut kind = vm_core::config::AccelKind::Auto;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--accel" => {
                kind = it
                    .next()
                    .ok_or_else(|| vm_service::Error::Usage("Option --accel needs a value".into()))?
                    .parse()?;
            }
            other => {
                return Err(vm_service::Error::Usage(format!(
                    "Unknown option `{other}` for accel-info (--accel KIND, --json)"
                )));
            }
        }
    }
    #[cfg(feature = "accel")]
    {
        use std::io::Write as _;
        let report = vm_service::accel::AccelReport::gather(kind);
        // A closed pipe (`vm accel-info | head`) is not an error worth a panic.
        let _ = if json {
            writeln!(std::io::stdout(), "{}", report.to_json())
        } else {
            write!(std::io::stdout(), "{report}")
        };
        Ok(0)
    }
    #[cfg(not(feature = "accel"))]
    {
        let _ = (json, kind);
        Err(vm_service::Error::Unsupported(
            "vm accel-info needs vm-service's `accel` feature (cargo build --features accel)"
                .into(),
        ))
    }
}

/// A guest exit code as a process status: 0..=255 as is, anything else 1 (a failure must not read as
/// success after truncation).
fn exit_status(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // One line: the error and its causes.
            let mut line = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                let text = c.to_string();
                if !line.contains(&text) {
                    line.push_str(": ");
                    line.push_str(&text);
                }
                cause = c.source();
            }
            eprintln!("vm: {line}");
            ExitCode::from(2)
        }
    }
}
