//! What a built `bootstrap` needs from the system it runs on: its ELF machine, and the newest
//! glibc symbol version it links against. provided.al2023 has glibc 2.34, so a binary that
//! needs a newer symbol fails there at start-up; the deployer refuses it before uploading.

use object::read::elf::{ElfFile64, FileHeader};
use object::{Endianness, elf};

use crate::stage::Architecture;

/// The glibc of Lambda's provided.al2023 runtime.
pub const AL2023_GLIBC: (u32, u32) = (2, 34);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    pub architecture: Option<Architecture>,
    /// The newest `GLIBC_x.y` version needed, `None` for a static binary.
    pub max_glibc: Option<(u32, u32)>,
}

/// Reads the ELF header and the version needs (`.gnu.version_r`) of a binary.
pub fn inspect(data: &[u8]) -> Result<ElfInfo, String> {
    let file = ElfFile64::<Endianness>::parse(data)
        .map_err(|e| format!("not a 64-bit ELF binary: {e}"))?;
    let endian = file.endian();
    let header = file.elf_header();
    let architecture = match header.e_machine(endian) {
        elf::EM_X86_64 => Some(Architecture::X86_64),
        elf::EM_AARCH64 => Some(Architecture::Arm64),
        _ => None,
    };
    let sections = header
        .sections(endian, data)
        .map_err(|e| format!("unreadable section table: {e}"))?;
    let mut max_glibc = None;
    if let Some((mut needs, link)) = sections
        .gnu_verneed(endian, data)
        .map_err(|e| e.to_string())?
    {
        let strings = sections
            .strings(endian, data, link)
            .map_err(|e| e.to_string())?;
        while let Some((_, mut aux)) = needs.next().map_err(|e| e.to_string())? {
            while let Some(entry) = aux.next().map_err(|e| e.to_string())? {
                let name = entry.name(endian, strings).map_err(|e| e.to_string())?;
                if let Some(version) = glibc_version(name) {
                    max_glibc = max_glibc.max(Some(version));
                }
            }
        }
    }
    Ok(ElfInfo {
        architecture,
        max_glibc,
    })
}

/// `GLIBC_2.34` -> (2, 34); `GLIBC_2.2.5` -> (2, 2).
fn glibc_version(name: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(name).ok()?.strip_prefix("GLIBC_")?;
    let mut parts = text.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_names() {
        assert_eq!(glibc_version(b"GLIBC_2.34"), Some((2, 34)));
        assert_eq!(glibc_version(b"GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(glibc_version(b"GLIBC_PRIVATE"), None);
        assert_eq!(glibc_version(b"GCC_3.0"), None);
    }

    #[test]
    fn reads_this_test_binary() {
        // The test binary itself is a dynamically linked x86_64 or aarch64 ELF on Linux.
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let info = inspect(&exe).unwrap();
        let expected = match std::env::consts::ARCH {
            "x86_64" => Some(Architecture::X86_64),
            "aarch64" => Some(Architecture::Arm64),
            _ => None,
        };
        assert_eq!(info.architecture, expected);
        assert!(info.max_glibc.is_some_and(|v| v >= (2, 2)), "{info:?}");
    }

    #[test]
    fn rejects_what_is_not_elf() {
        assert!(inspect(b"#!/bin/sh\n").is_err());
    }
}
