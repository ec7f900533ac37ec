//! The `riscv64-virt` machine: QEMU `virt`'s memory map, interrupt wiring and device tree, so that
//! firmware and kernels built for QEMU run unchanged.
//!
//! | region | base | size | interrupt |
//! |---|---|---|---|
//! | SiFive test/finisher | `0x0010_0000` | `0x1000` | |
//! | CLINT | `0x0200_0000` | `0x1_0000` | MSIP, MTIP per hart |
//! | PLIC | `0x0c00_0000` | `0x60_0000` | MEIP, SEIP per hart |
//! | NS16550A UART0 | `0x1000_0000` | `0x100` | PLIC 10 |
//! | virtio-mmio slot *n* (0–7) | `0x1000_1000 + n × 0x1000` | `0x1000` | PLIC 1 + *n* |
//! | RAM | `0x8000_0000` | `VmConfig::memory_mib` | |

use vm_core::config::VmConfig;
use vm_fdt::FdtWriter;

#[cfg(all(feature = "std", feature = "devices"))]
mod board;
#[cfg(all(feature = "std", feature = "devices"))]
pub use board::{
    DEFAULT_FIRMWARE, Image, MROM_BASE, MROM_SIZE, Riscv64Virt, RunOutcome, SLICE_INSNS,
    StopReason, reset_stub,
};

use crate::error::Result;

/// SiFive test/finisher base.
pub const TEST_BASE: u64 = 0x10_0000;
/// SiFive test/finisher size.
pub const TEST_SIZE: u64 = 0x1000;
/// CLINT base.
pub const CLINT_BASE: u64 = 0x200_0000;
/// CLINT size.
pub const CLINT_SIZE: u64 = 0x1_0000;
/// PLIC base.
pub const PLIC_BASE: u64 = 0xc00_0000;
/// PLIC size.
pub const PLIC_SIZE: u64 = 0x60_0000;
/// Number of PLIC interrupt sources advertised (`riscv,ndev`), as QEMU virt.
pub const PLIC_NDEV: u32 = 95;
/// UART0 base.
pub const UART0_BASE: u64 = 0x1000_0000;
/// UART0 size.
pub const UART0_SIZE: u64 = 0x100;
/// UART0 PLIC source.
pub const UART0_IRQ: u32 = 10;
/// UART input clock advertised to the guest (3.6864 MHz, as QEMU).
pub const UART0_CLOCK: u32 = 3_686_400;
/// First virtio-mmio slot base.
pub const VIRTIO_BASE: u64 = 0x1000_1000;
/// Distance between virtio-mmio slots.
pub const VIRTIO_STRIDE: u64 = 0x1000;
/// PLIC source of virtio-mmio slot 0 (slot n uses `VIRTIO_IRQ0 + n`).
pub const VIRTIO_IRQ0: u32 = 1;
/// RAM base.
pub const RAM_BASE: u64 = 0x8000_0000;
/// CLINT timebase frequency (10 MHz).
pub const TIMEBASE_HZ: u32 = 10_000_000;
/// ISA string advertised for each hart (`riscv,isa`).
pub const ISA: &str = "rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc";
/// The same extensions for the newer `riscv,isa-base` + `riscv,isa-extensions` binding.
pub const ISA_EXTENSIONS: [&str; 13] = [
    "i", "m", "a", "f", "d", "c", "zicsr", "zifencei", "zicntr", "zba", "zbb", "zbs", "sstc",
];

/// Supervisor/machine interrupt numbers as RISC-V numbers them (for `interrupts-extended`).
const IRQ_M_SOFT: u32 = 3;
const IRQ_M_TIMER: u32 = 7;
const IRQ_S_EXT: u32 = 9;
const IRQ_M_EXT: u32 = 11;

/// Base address of virtio-mmio slot `slot`.
pub const fn virtio_base(slot: usize) -> u64 {
    VIRTIO_BASE + slot as u64 * VIRTIO_STRIDE
}

/// Where the initrd lives in guest memory, if any (filled in by the loader).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InitrdRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// The flattened device tree for `cfg`, with `virtio_slots` virtio-mmio slots populated.
pub fn device_tree(
    cfg: &VmConfig,
    virtio_slots: usize,
    initrd: Option<InitrdRange>,
) -> Result<Vec<u8>> {
    cfg.validate()?;
    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_string("compatible", "riscv-virtio")?;
    fdt.property_string("model", "riscv-virtio,vm-service")?;

    let chosen = fdt.begin_node("chosen")?;
    fdt.property_string("stdout-path", &format!("/soc/serial@{UART0_BASE:x}"))?;
    if !cfg.boot.cmdline.is_empty() {
        fdt.property_string("bootargs", &cfg.boot.cmdline)?;
    }
    if let Some(r) = initrd {
        fdt.property_u64("linux,initrd-start", r.start)?;
        fdt.property_u64("linux,initrd-end", r.end)?;
    }
    fdt.end_node(chosen)?;

    let memory = fdt.begin_node(&format!("memory@{RAM_BASE:x}"))?;
    fdt.property_string("device_type", "memory")?;
    fdt.property_array_u64("reg", &[RAM_BASE, cfg.memory_bytes()])?;
    fdt.end_node(memory)?;

    // phandles: 1..=vcpus are the harts' interrupt controllers, then the PLIC and the test device.
    let intc = |hart: u32| hart + 1;
    let plic_phandle = cfg.vcpus + 1;
    let test_phandle = cfg.vcpus + 2;

    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", 1)?;
    fdt.property_u32("#size-cells", 0)?;
    fdt.property_u32("timebase-frequency", TIMEBASE_HZ)?;
    for hart in 0..cfg.vcpus {
        let cpu = fdt.begin_node(&format!("cpu@{hart}"))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_u32("reg", hart)?;
        fdt.property_string("status", "okay")?;
        fdt.property_string("compatible", "riscv")?;
        fdt.property_string("riscv,isa", ISA)?;
        fdt.property_string("riscv,isa-base", "rv64i")?;
        fdt.property_string_list(
            "riscv,isa-extensions",
            ISA_EXTENSIONS.iter().map(|e| e.to_string()).collect(),
        )?;
        fdt.property_string("mmu-type", "riscv,sv39")?;
        let ic = fdt.begin_node("interrupt-controller")?;
        fdt.property_u32("#interrupt-cells", 1)?;
        fdt.property_null("interrupt-controller")?;
        fdt.property_string("compatible", "riscv,cpu-intc")?;
        fdt.property_phandle(intc(hart))?;
        fdt.end_node(ic)?;
        fdt.end_node(cpu)?;
    }
    fdt.end_node(cpus)?;

    let soc = fdt.begin_node("soc")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_string("compatible", "simple-bus")?;
    fdt.property_null("ranges")?;

    let test = fdt.begin_node(&format!("test@{TEST_BASE:x}"))?;
    fdt.property_string_list(
        "compatible",
        vec![
            "sifive,test1".into(),
            "sifive,test0".into(),
            "syscon".into(),
        ],
    )?;
    fdt.property_array_u64("reg", &[TEST_BASE, TEST_SIZE])?;
    fdt.property_phandle(test_phandle)?;
    fdt.end_node(test)?;
    for (name, value) in [("poweroff", 0x5555u32), ("reboot", 0x7777)] {
        let n = fdt.begin_node(name)?;
        fdt.property_string("compatible", &format!("syscon-{name}"))?;
        fdt.property_u32("regmap", test_phandle)?;
        fdt.property_u32("offset", 0)?;
        fdt.property_u32("value", value)?;
        fdt.end_node(n)?;
    }

    let clint = fdt.begin_node(&format!("clint@{CLINT_BASE:x}"))?;
    fdt.property_string_list(
        "compatible",
        vec!["sifive,clint0".into(), "riscv,clint0".into()],
    )?;
    fdt.property_array_u64("reg", &[CLINT_BASE, CLINT_SIZE])?;
    let ext: Vec<u32> = (0..cfg.vcpus)
        .flat_map(|h| [intc(h), IRQ_M_SOFT, intc(h), IRQ_M_TIMER])
        .collect();
    fdt.property_array_u32("interrupts-extended", &ext)?;
    fdt.end_node(clint)?;

    let plic = fdt.begin_node(&format!("plic@{PLIC_BASE:x}"))?;
    fdt.property_string_list(
        "compatible",
        vec!["sifive,plic-1.0.0".into(), "riscv,plic0".into()],
    )?;
    fdt.property_array_u64("reg", &[PLIC_BASE, PLIC_SIZE])?;
    fdt.property_u32("#address-cells", 0)?;
    fdt.property_u32("#interrupt-cells", 1)?;
    fdt.property_null("interrupt-controller")?;
    fdt.property_u32("riscv,ndev", PLIC_NDEV)?;
    let ext: Vec<u32> = (0..cfg.vcpus)
        .flat_map(|h| [intc(h), IRQ_M_EXT, intc(h), IRQ_S_EXT])
        .collect();
    fdt.property_array_u32("interrupts-extended", &ext)?;
    fdt.property_phandle(plic_phandle)?;
    fdt.end_node(plic)?;

    let uart = fdt.begin_node(&format!("serial@{UART0_BASE:x}"))?;
    fdt.property_string("compatible", "ns16550a")?;
    fdt.property_array_u64("reg", &[UART0_BASE, UART0_SIZE])?;
    fdt.property_u32("clock-frequency", UART0_CLOCK)?;
    fdt.property_u32("interrupt-parent", plic_phandle)?;
    fdt.property_u32("interrupts", UART0_IRQ)?;
    fdt.end_node(uart)?;

    for slot in 0..virtio_slots.min(vm_core::config::VIRTIO_SLOTS) {
        let base = virtio_base(slot);
        let v = fdt.begin_node(&format!("virtio_mmio@{base:x}"))?;
        fdt.property_string("compatible", "virtio,mmio")?;
        fdt.property_array_u64("reg", &[base, VIRTIO_STRIDE])?;
        fdt.property_u32("interrupt-parent", plic_phandle)?;
        fdt.property_u32("interrupts", VIRTIO_IRQ0 + slot as u32)?;
        fdt.end_node(v)?;
    }
    fdt.end_node(soc)?;
    fdt.end_node(root)?;
    Ok(fdt.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_core::config::Machine;

    fn cfg() -> VmConfig {
        let mut c = VmConfig::new(Machine::Riscv64Virt);
        c.vcpus = 2;
        c.memory_mib = 256;
        c.boot.cmdline = "console=ttyS0 earlycon".into();
        c
    }

    fn be32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn header_and_strings() {
        let blob = device_tree(
            &cfg(),
            2,
            Some(InitrdRange {
                start: 0x8800_0000,
                end: 0x8810_0000,
            }),
        )
        .unwrap();
        assert_eq!(be32(&blob, 0), 0xd00d_feed, "FDT magic");
        assert_eq!(be32(&blob, 4) as usize, blob.len(), "totalsize");
        let text = String::from_utf8_lossy(&blob);
        for needle in [
            "console=ttyS0 earlycon",
            "serial@10000000",
            "plic@c000000",
            "clint@2000000",
            "virtio_mmio@10002000",
            "rv64imafdc_zicsr_zifencei_zba_zbb_zbs_sstc",
            "cpu@1",
        ] {
            assert!(text.contains(needle), "device tree lacks {needle}");
        }
        assert!(
            !text.contains("virtio_mmio@10003000"),
            "only two slots requested"
        );
    }

    #[test]
    fn invalid_config_is_refused() {
        let mut c = cfg();
        c.vcpus = 0;
        assert!(matches!(
            device_tree(&c, 0, None),
            Err(crate::Error::Config(_))
        ));
    }

    /// Decompile with `dtc` (Debian's device-tree-compiler) when it is installed and check the
    /// properties a guest relies on.
    #[test]
    fn dtc_reads_it_back() {
        let blob = device_tree(&cfg(), 1, None).unwrap();
        let dir = std::env::temp_dir().join(format!("vm-fdt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("virt.dtb");
        std::fs::write(&path, &blob).unwrap();
        let out = match std::process::Command::new("dtc")
            .args(["-I", "dtb", "-O", "dts"])
            .arg(&path)
            .output()
        {
            Ok(o) => o,
            Err(_) => {
                eprintln!("skipped: dtc is not installed (apt-get install device-tree-compiler)");
                return;
            }
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dts = String::from_utf8(out.stdout).unwrap();
        assert!(
            dts.contains("reg = <0x00 0x80000000 0x00 0x10000000>;"),
            "{dts}"
        );
        assert!(dts.contains("timebase-frequency = <0x989680>;"), "{dts}");
        assert!(dts.contains("interrupts = <0x0a>;"), "{dts}");
        assert!(
            dts.contains("interrupts-extended = <0x01 0x03 0x01 0x07 0x02 0x03 0x02 0x07>;"),
            "{dts}"
        );
        assert!(dts.contains("value = <0x5555>;"), "{dts}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
