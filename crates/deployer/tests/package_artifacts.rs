//! The refresher packaged for both Lambda architectures, the way `deploy` packages it: each
//! artifact is an ELF for its machine that needs no glibc newer than provided.al2023's 2.34, and
//! the same source gives the same zip.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use deployer::package::{self, build::BuildSpec, elf};
use deployer::stage::Architecture;

fn package(architecture: Architecture) -> package::Artifact {
    let spec = BuildSpec {
        project_dir: support::project(),
        architecture,
        profile: "dev".to_owned(),
    };
    let binary = package::build::build(&spec).unwrap();
    package::from_binary(binary, architecture).unwrap()
}

#[test]
fn both_architectures_build_for_provided_al2023() {
    for architecture in [Architecture::X86_64, Architecture::Arm64] {
        let artifact = package(architecture);
        let bytes = std::fs::read(&artifact.binary_path).unwrap();
        let info = elf::inspect(&bytes).unwrap();
        assert_eq!(info.architecture, Some(architecture));
        let glibc = info.max_glibc.unwrap();
        assert!(
            glibc <= elf::AL2023_GLIBC,
            "{architecture}: needs GLIBC_{}.{}",
            glibc.0,
            glibc.1
        );
        println!(
            "{architecture}: bootstrap {} bytes, zip {} bytes, needs {}",
            artifact.binary_bytes,
            artifact.zip_bytes,
            artifact.max_glibc.as_deref().unwrap_or("-")
        );
        // Packaging again gives the same bytes: the same key, nothing to upload.
        assert_eq!(package(architecture).sha256, artifact.sha256);
    }
}
