//! Buses that map device models at guest physical addresses ([`MmioBus`]) or x86 I/O ports
//! ([`PioBus`]) and dispatch accesses to them with the offset into the device's window.
//!
//! Devices are shared as `Arc<Mutex<dyn …Device>>`: the bus locks a device for the length of one access,
//! so vCPU threads, the KVM exit handler and host back ends (a UART's input thread) serialise on it.
//! A poisoned lock (a device panicked) is taken over rather than propagated: a guest access must never
//! panic the host. Windows are kept sorted by start address and found by binary search. Mapping happens
//! while the machine is built (`&mut self`); accesses take `&self`.

mod mmio;
mod pio;
mod range_map;

pub use mmio::MmioBus;
pub use pio::PioBus;
