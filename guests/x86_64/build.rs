//! Passes the linker script to the guest binaries and rebuilds them when it changes.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| String::from("."));
    println!("cargo:rerun-if-changed=link.x");
    println!("cargo:rustc-link-arg-bins=-T{dir}/link.x");
}
