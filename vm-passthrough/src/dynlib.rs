//! Loading vendor runtime libraries at run time with [`libloading`], with failures collected as text
//! for the typed errors of [`crate::rocm`] and [`crate::npu`].

use libloading::Library;

/// A library that loaded, and the name it loaded under.
pub(crate) struct Loaded {
    pub(crate) library: Library,
    pub(crate) name: String,
}

/// Why one candidate did not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LoadFailure {
    pub(crate) name: String,
    pub(crate) reason: String,
}

/// The error text of a `libloading` error, with its source (the `dlerror` message) when there is one.
pub(crate) fn error_text(e: &libloading::Error) -> String {
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

/// Load the first of `candidates` that loads (names are searched like `dlopen` does; paths are used as
/// given). On failure, every candidate's reason.
pub(crate) fn open_first(candidates: &[&str]) -> Result<Loaded, Vec<LoadFailure>> {
    let mut failures = Vec::new();
    for &name in candidates {
        // SAFETY: loading a shared library runs its initialisers. The names loaded here are vendor runtime
        // libraries (or, in tests, the C library), whose initialisers are written to be run by any
        // process that links them; this is the contract of using those runtimes at all.
        match unsafe { Library::new(name) } {
            Ok(library) => {
                return Ok(Loaded {
                    library,
                    name: name.to_owned(),
                });
            }
            Err(e) => failures.push(LoadFailure {
                name: name.to_owned(),
                reason: error_text(&e),
            }),
        }
    }
    Err(failures)
}

/// `name: reason; name: reason`.
pub(crate) fn describe(failures: &[LoadFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("{}: {}", f.name, f.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // `libc.so.6` is glibc's name for the C library.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn loads_the_c_library_and_reports_missing_ones() {
        let loaded =
            open_first(&["libvm-passthrough-missing.so", "libc.so.6"]).map_err(|f| describe(&f));
        assert_eq!(loaded.map(|l| l.name).as_deref(), Ok("libc.so.6"));

        let failures = open_first(&["libvm-passthrough-missing.so", "/nonexistent/libx.so"])
            .err()
            .unwrap();
        assert_eq!(failures.len(), 2);
        assert_eq!(failures[0].name, "libvm-passthrough-missing.so");
        assert!(
            failures[0].reason.contains("libvm-passthrough-missing.so"),
            "{}",
            failures[0].reason
        );
        assert!(describe(&failures).starts_with("libvm-passthrough-missing.so: "));
        assert!(describe(&failures).contains("; /nonexistent/libx.so: "));
    }
}
