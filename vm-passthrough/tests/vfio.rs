//! The VFIO open path: typed errors where VFIO is missing, and the real thing where it is present.

use std::path::Path;

use vm_passthrough::vfio::{self, VFIO_CONTAINER_PATH};
use vm_passthrough::{PassthroughError, SysfsPci, VfioContainer, VfioGroup};

fn scratch_file(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("vm-passthrough-{}-{name}", std::process::id()));
    std::fs::write(&path, b"").unwrap();
    path
}

#[test]
fn missing_container_node_is_vfio_unavailable() {
    match VfioContainer::open_at("/nonexistent/dev/vfio/vfio") {
        Err(PassthroughError::VfioUnavailable { path }) => {
            assert_eq!(path, Path::new("/nonexistent/dev/vfio/vfio"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_that_is_not_vfio_fails_the_version_ioctl() {
    let scratch = scratch_file("container");
    for path in [Path::new("/dev/null").to_owned(), scratch.clone()] {
        if !path.exists() {
            continue;
        }
        match VfioContainer::open_at(&path) {
            Err(PassthroughError::Ioctl {
                op,
                path: p,
                source,
            }) => {
                assert_eq!(op, "VFIO_GET_API_VERSION");
                assert_eq!(p, path);
                assert_eq!(source.raw_os_error(), Some(libc::ENOTTY));
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    std::fs::remove_file(scratch).unwrap();
}

#[test]
fn group_open_errors() {
    match VfioGroup::open_at("/nonexistent/dev/vfio/42", 42) {
        Err(PassthroughError::GroupNodeMissing { group, path }) => {
            assert_eq!(
                (group, path.as_path()),
                (42, Path::new("/nonexistent/dev/vfio/42"))
            );
        }
        other => panic!("{other:?}"),
    }
    let file = scratch_file("group");
    match VfioGroup::open_at(&file, 7) {
        Err(PassthroughError::Ioctl {
            op: "VFIO_GROUP_GET_STATUS",
            source,
            ..
        }) => {
            assert_eq!(source.raw_os_error(), Some(libc::ENOTTY));
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_file(file).unwrap();
}

/// On this host: either VFIO is there and speaks API version 0, or opening it says what is missing.
#[test]
fn host_container() {
    match VfioContainer::open() {
        Ok(container) => {
            assert_eq!(container.api_version().unwrap(), 0);
            assert_eq!(container.iommu(), None);
            container.best_iommu().unwrap();
        }
        Err(PassthroughError::VfioUnavailable { path }) => {
            assert_eq!(path, Path::new(VFIO_CONTAINER_PATH));
            assert!(!path.exists());
        }
        Err(PassthroughError::PermissionDenied { path }) => {
            assert_eq!(path, Path::new(VFIO_CONTAINER_PATH))
        }
        Err(other) => panic!("{other:?}"),
    }
}

/// The whole host check: without an IOMMU it fails with `NoIommu` before touching /dev/vfio.
#[test]
fn host_check() {
    let sysfs = SysfsPci::host();
    let iommu = sysfs.iommu_enabled().unwrap_or(false);
    match vfio::check_host(&sysfs) {
        Ok(info) => {
            assert!(iommu);
            assert_eq!(info.api_version, 0);
        }
        Err(PassthroughError::NoIommu { .. }) => assert!(!iommu),
        Err(
            PassthroughError::VfioUnavailable { .. } | PassthroughError::PermissionDenied { .. },
        ) => assert!(iommu),
        Err(other) => panic!("{other:?}"),
    }
}
