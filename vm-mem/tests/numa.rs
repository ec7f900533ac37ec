//! NUMA binding of guest RAM, checked against the kernel's own report in `/proc/self/numa_maps`.
#![cfg(feature = "optimizations")]

use vm_mem::numa::{NodeSet, bind_to_node, host_numa_nodes};
use vm_mem::{Error, GuestRam};

/// The `numa_maps` line of the mapping that contains `addr`: the one with the greatest start `<= addr`
/// (a neighbouring mapping with the same policy may have been merged with ours, moving the start down).
fn numa_maps_line(maps: &str, addr: usize) -> Option<&str> {
    maps.lines()
        .filter_map(|l| {
            let start = usize::from_str_radix(l.split_whitespace().next()?, 16).ok()?;
            (start <= addr).then_some((start, l))
        })
        .max_by_key(|&(start, _)| start)
        .map(|(_, l)| l)
}

#[test]
fn fresh_ram_bound_to_node_0_shows_in_numa_maps() {
    let nodes = match host_numa_nodes() {
        Ok(n) => n,
        Err(e) => {
            println!("SKIP: the host NUMA topology is unavailable: {e}");
            return;
        }
    };
    assert!(
        nodes.contains(0),
        "node 0 is always online on Linux, got {nodes}"
    );
    let ram = GuestRam::new(4 << 20).unwrap();
    let binding = match bind_to_node(&ram, 0) {
        Ok(b) => b,
        Err(Error::Mbind { errno, .. }) if matches!(errno.raw(), libc::EPERM | libc::ENOSYS) => {
            println!(
                "SKIP: the kernel refuses mbind here ({errno}): no NUMA support or a seccomp filter"
            );
            return;
        }
        Err(e) => panic!("binding to node 0 failed: {e}"),
    };
    assert_eq!(binding.node(), 0);
    assert_eq!(binding.host_addr(), ram.as_ptr() as usize);
    assert_eq!(binding.size(), 4 << 20);
    assert_eq!(binding.host_nodes(), &nodes);
    assert_eq!(binding.single_node_host(), nodes.len() == 1);
    // Touch the memory so that pages exist and are counted per node.
    ram.fill(0, 4 << 20, 1).unwrap();

    let maps = match std::fs::read_to_string("/proc/self/numa_maps") {
        Ok(m) => m,
        Err(e) => {
            println!("SKIP: /proc/self/numa_maps is missing ({e}); the binding cannot be checked");
            return;
        }
    };
    let line = numa_maps_line(&maps, ram.as_ptr() as usize).expect("our mapping is listed");
    let mut fields = line.split_whitespace().skip(1);
    assert_eq!(fields.next(), Some("bind:0"), "numa_maps line: {line}");
    // All 1024 touched pages live on node 0 (the count includes any merged neighbour's pages).
    let on_node0: u64 = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("N0="))
        .and_then(|n| n.parse().ok())
        .expect("N0= page count");
    assert!(on_node0 >= 1024, "numa_maps line: {line}");
    assert!(
        !line.split_whitespace().any(|f| f.starts_with("N1=")),
        "numa_maps line: {line}"
    );
}

#[test]
fn offline_node_is_a_typed_error() {
    let nodes = match host_numa_nodes() {
        Ok(n) => n,
        Err(e) => {
            println!("SKIP: the host NUMA topology is unavailable: {e}");
            return;
        }
    };
    let missing = nodes.nodes().last().copied().unwrap_or(0) + 1;
    let ram = GuestRam::new(4096).unwrap();
    let err = bind_to_node(&ram, missing).unwrap_err();
    assert_eq!(
        err,
        Error::NumaNodeOffline {
            node: missing,
            online: nodes.to_string()
        }
    );
    assert_eq!(
        err.to_string(),
        format!("NUMA node {missing} is not online; online nodes: {nodes}")
    );
}

#[test]
fn host_node_list_parses_and_round_trips() {
    match std::fs::read_to_string(vm_mem::numa::NODE_ONLINE_PATH) {
        Ok(text) => {
            let nodes = host_numa_nodes().unwrap();
            assert!(!nodes.is_empty());
            assert_eq!(nodes.to_string(), text.trim());
            assert_eq!(NodeSet::parse(&text).unwrap(), nodes);
        }
        Err(e) => println!(
            "SKIP: {} is unreadable: {e}",
            vm_mem::numa::NODE_ONLINE_PATH
        ),
    }
}
