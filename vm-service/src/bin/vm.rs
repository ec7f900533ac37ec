//! The `vm` command. Thin: every sub-command goes through vm-service's library API.

use std::process::ExitCode;

use vm_service::{cli, machine::riscv64_virt};

const USAGE: &str = "\
usage: vm config [OPTIONS]           print the validated machine configuration as JSON
       vm dumpdtb FILE [OPTIONS]     write the machine's device tree blob to FILE

options: --machine riscv64-virt|x86_64-microvm  -m SIZE  --smp N  --engine interp|jit
         --accel none|auto|kvm  --bios FILE|none  --kernel FILE  --initrd FILE  --append STR
         --disk FILE[,ro]  --net user[,hostfwd=tcp:HOSTPORT-:GUESTPORT]|tap,ifname=NAME";

fn run(args: &[String]) -> Result<(), vm_service::Error> {
    match args.first().map(String::as_str) {
        Some("config") => {
            let cfg = cli::parse_config(&args[1..])?;
            println!("{}", cfg.to_json());
            Ok(())
        }
        Some("dumpdtb") => {
            let file = args
                .get(1)
                .ok_or_else(|| vm_service::Error::Usage("dumpdtb needs a FILE".into()))?;
            let cfg = cli::parse_config(&args[2..])?;
            let blob = riscv64_virt::device_tree(&cfg, cfg.devices.len(), None)?;
            std::fs::write(file, blob)
                .map_err(|e| vm_service::Error::Usage(format!("Cannot write {file}: {e}")))?;
            Ok(())
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(vm_service::Error::Usage(format!(
            "Unknown command `{other}`\n{USAGE}"
        ))),
        None => Err(vm_service::Error::Usage(USAGE.into())),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vm: {e}");
            ExitCode::from(2)
        }
    }
}
