//! Build a machine configuration, validate it and print it as JSON.
//!
//! `cargo run -p vm-service --example config`

use vm_core::config::{DeviceConfig, EngineKind, Machine, NetBackend, PortForward};
use vm_service::VmConfig;

fn main() -> Result<(), vm_service::Error> {
    let mut cfg = VmConfig::new(Machine::Riscv64Virt);
    cfg.memory_mib = 512;
    cfg.vcpus = 2;
    cfg.engine = EngineKind::Jit;
    cfg.boot.kernel = Some("Image".into());
    cfg.boot.cmdline = "console=ttyS0 root=/dev/vda".into();
    cfg.devices.push(DeviceConfig::Block {
        path: "rootfs.ext4".into(),
        read_only: false,
    });
    cfg.devices.push(DeviceConfig::Net(NetBackend::User {
        hostfwd: vec![PortForward {
            host_port: 2222,
            guest_port: 22,
        }],
    }));
    cfg.validate()?;
    println!("{}", cfg.to_json());

    // A mistake is a typed error with what is needed to fix it.
    cfg.vcpus = 1000;
    if let Err(e) = cfg.validate() {
        println!("rejected: {e}");
    }
    Ok(())
}
