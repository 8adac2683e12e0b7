//! The Lambda artifact: `bootstrap` alone in a zip whose bytes depend only on the binary's bytes
//! (one entry, fixed timestamp, fixed mode, fixed compression), so the same source gives the same
//! SHA-256 and an unchanged refresher is never uploaded twice.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Zips `binary` as an executable `bootstrap` entry.
pub fn bootstrap_zip(binary: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        // 1980-01-01 00:00, the zip epoch: no build time leaks into the bytes.
        .last_modified_time(DateTime::default())
        .unix_permissions(0o755);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_same_binary_gives_the_same_bytes() {
        let binary: Vec<u8> = (0..100_000u32).flat_map(u32::to_le_bytes).collect();
        let first = bootstrap_zip(&binary).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(first, bootstrap_zip(&binary).unwrap());
        assert_ne!(first, bootstrap_zip(&binary[1..]).unwrap());
    }

    #[test]
    fn the_entry_is_an_executable_bootstrap() {
        let zip = bootstrap_zip(b"\x7fELF...").unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, b"\x7fELF...");
    }
}
