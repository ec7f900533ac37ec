//! Command-line options of the `vm` command, turned into a [`VmConfig`].
//!
//! The options follow QEMU's where QEMU has one (`-m`, `--smp`, `--kernel`, `--initrd`, `--append`,
//! `--bios`), so a user can move a command line over.

use vm_core::config::{
    AccelKind, DeviceConfig, EngineKind, Firmware, Machine, NetBackend, PortForward, VmConfig,
};

use crate::error::{Error, Result};

/// Parse a memory size: a number of MiB, or a number with a `K`, `M`, `G` or `T` suffix (QEMU's `-m`).
pub fn parse_memory_mib(s: &str) -> Result<u64> {
    let bad = || {
        Error::Usage(format!(
            "Invalid memory size `{s}` (examples: 512, 512M, 2G)"
        ))
    };
    let (num, shift) = match s.as_bytes().last().map(u8::to_ascii_uppercase) {
        Some(b'K') => (&s[..s.len() - 1], -10i32),
        Some(b'M') => (&s[..s.len() - 1], 0),
        Some(b'G') => (&s[..s.len() - 1], 10),
        Some(b'T') => (&s[..s.len() - 1], 20),
        _ => (s, 0),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mib = if shift < 0 {
        if !n.is_multiple_of(1024) {
            return Err(bad());
        }
        n / 1024
    } else {
        n.checked_shl(shift as u32)
            .filter(|v| v >> shift == n)
            .ok_or_else(bad)?
    };
    Ok(mib)
}

fn parse_disk(spec: &str) -> Result<DeviceConfig> {
    let mut parts = spec.split(',');
    let path = parts.next().unwrap_or_default().to_string();
    let mut read_only = false;
    for opt in parts {
        match opt {
            "ro" | "readonly" => read_only = true,
            "rw" => read_only = false,
            other => {
                return Err(Error::Usage(format!(
                    "Unknown disk option `{other}` in `{spec}`"
                )));
            }
        }
    }
    Ok(DeviceConfig::Block { path, read_only })
}

fn parse_net(spec: &str) -> Result<DeviceConfig> {
    let mut parts = spec.split(',');
    match parts.next() {
        Some("user") => {
            let mut hostfwd = Vec::new();
            for opt in parts {
                let fwd = opt
                    .strip_prefix("hostfwd=tcp:")
                    .and_then(|rest| rest.split_once("-:"))
                    .and_then(|(h, g)| Some((h.parse().ok()?, g.parse().ok()?)))
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "Invalid net option `{opt}` (expected hostfwd=tcp:HOSTPORT-:GUESTPORT)"
                        ))
                    })?;
                hostfwd.push(PortForward {
                    host_port: fwd.0,
                    guest_port: fwd.1,
                });
            }
            Ok(DeviceConfig::Net(NetBackend::User { hostfwd }))
        }
        Some("tap") => {
            let ifname = parts
                .find_map(|o| o.strip_prefix("ifname="))
                .ok_or_else(|| Error::Usage("--net tap needs ifname=NAME".into()))?;
            Ok(DeviceConfig::Net(NetBackend::Tap {
                ifname: ifname.into(),
            }))
        }
        _ => Err(Error::Usage(format!(
            "Unknown network back end in `{spec}` (user or tap)"
        ))),
    }
}

/// Build a validated [`VmConfig`] from `vm run`-style options (without the sub-command).
pub fn parse_config(args: &[String]) -> Result<VmConfig> {
    let mut cfg = VmConfig::new(Machine::Riscv64Virt);
    let mut machine_set = false;
    let mut it = args.iter();
    while let Some(opt) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("Option {name} needs a value")))
        };
        match opt.as_str() {
            "--machine" | "-M" => {
                cfg.machine = value(opt)?.parse()?;
                cfg.guest_arch = cfg.machine.arch();
                machine_set = true;
            }
            "-m" | "--memory" => cfg.memory_mib = parse_memory_mib(&value(opt)?)?,
            "--smp" => {
                let v = value(opt)?;
                cfg.vcpus = v
                    .parse()
                    .map_err(|_| Error::Usage(format!("Invalid vCPU count `{v}`")))?;
            }
            "--engine" => cfg.engine = value(opt)?.parse::<EngineKind>()?,
            "--accel" => cfg.accel = value(opt)?.parse::<AccelKind>()?,
            "--kernel" => cfg.boot.kernel = Some(value(opt)?),
            "--initrd" => cfg.boot.initrd = Some(value(opt)?),
            "--append" => cfg.boot.cmdline = value(opt)?,
            "--bios" => {
                let v = value(opt)?;
                cfg.boot.firmware = if v == "none" {
                    Firmware::None
                } else {
                    Firmware::File(v)
                };
            }
            "--deterministic" => cfg.deterministic = true,
            "--disk" => cfg.devices.push(parse_disk(&value(opt)?)?),
            "--net" => cfg.devices.push(parse_net(&value(opt)?)?),
            "--numa-node" => {
                let v = value(opt)?;
                cfg.numa_node = Some(
                    v.parse()
                        .map_err(|_| Error::Usage(format!("Invalid NUMA node `{v}`")))?,
                );
            }
            other => return Err(Error::Usage(format!("Unknown option `{other}`"))),
        }
    }
    if !machine_set && cfg.accel != AccelKind::None && cfg.guest_arch != cfg.machine.arch() {
        cfg.guest_arch = cfg.machine.arch();
    }
    cfg.validate()?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory_mib("512").unwrap(), 512);
        assert_eq!(parse_memory_mib("512M").unwrap(), 512);
        assert_eq!(parse_memory_mib("2G").unwrap(), 2048);
        assert_eq!(parse_memory_mib("2048k").unwrap(), 2);
        assert!(parse_memory_mib("1000K").is_err());
        assert!(parse_memory_mib("lots").is_err());
        assert!(parse_memory_mib("99999999999999999T").is_err());
    }

    #[test]
    fn full_command_line() {
        let c = parse_config(&args(
            "--machine riscv64-virt -m 1G --smp 4 --engine jit --kernel k.elf --initrd i.cpio \
             --append console=ttyS0 --bios none --disk d.img,ro --net user,hostfwd=tcp:2222-:22",
        ))
        .unwrap();
        assert_eq!(
            (c.memory_mib, c.vcpus, c.engine),
            (1024, 4, EngineKind::Jit)
        );
        assert_eq!(c.boot.firmware, Firmware::None);
        assert_eq!(c.boot.cmdline, "console=ttyS0");
        assert_eq!(
            c.devices[0],
            DeviceConfig::Block {
                path: "d.img".into(),
                read_only: true
            }
        );
        assert_eq!(
            c.devices[1],
            DeviceConfig::Net(NetBackend::User {
                hostfwd: vec![PortForward {
                    host_port: 2222,
                    guest_port: 22
                }]
            })
        );
    }

    #[test]
    fn errors_are_one_clear_line() {
        for (line, msg) in [
            ("--smp", "Option --smp needs a value"),
            ("--smp zero", "Invalid vCPU count `zero`"),
            ("--frobnicate", "Unknown option `--frobnicate`"),
            ("--machine pdp11", "Unknown machine `pdp11`"),
            ("--smp 0", "0 vCPUs requested; the machine supports 1 to 64"),
            ("--net tap", "--net tap needs ifname=NAME"),
        ] {
            let err = parse_config(&args(line)).unwrap_err().to_string();
            assert_eq!(err, msg);
            assert!(!err.contains('\n'));
        }
    }
}
