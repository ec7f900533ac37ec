//! Warns at build time when a deprecated feature alias is switched on.

fn main() {
    for (alias, replacement) in [("ASYNC", "optimizations"), ("TLB", "optimizations")] {
        println!("cargo::rerun-if-env-changed=CARGO_FEATURE_{alias}");
        if std::env::var_os(format!("CARGO_FEATURE_{alias}")).is_some() {
            println!(
                "cargo::warning=vm-mem: feature `{}` is deprecated; use `{replacement}` instead",
                alias.to_ascii_lowercase()
            );
        }
    }
}
