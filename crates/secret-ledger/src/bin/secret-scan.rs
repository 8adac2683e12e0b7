//! `secret-scan CAPTURE_DIR [FILE...]`: searches every file under `CAPTURE_DIR` (but its ledger)
//! and every `FILE` (the suite's `JUnit` report) for every value in `CAPTURE_DIR/ledger/`.
//!
//! Prints `FIGURE secrets (whole suite): ...`. Exit 0: nothing found; 1: values found (each hit
//! named by file, line, test case and the value's source, never the value); 2: nothing to check
//! (an empty ledger or capture proves nothing) or a file that cannot be read.

// A report tool: printing its figure and findings is all it does.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use secret_ledger::LEDGER_DIR;
use secret_ledger::scan::MIN_LEN;
use secret_ledger::scan::{self, Scanner, Secret};

/// Hits printed; the count is always complete.
const SHOWN: usize = 40;

fn main() -> ExitCode {
    match scan_all() {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(message) => {
            eprintln!("secret-scan: {message}");
            ExitCode::from(2)
        }
    }
}

fn scan_all() -> Result<usize, String> {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let capture = args
        .next()
        .ok_or("usage: secret-scan CAPTURE_DIR [FILE...] (CAPTURE_DIR holds ledger/)")?;
    let ledger_dir = capture.join(LEDGER_DIR);
    let mut secrets: Vec<Secret> = Vec::new();
    for file in files_under(&ledger_dir, None)? {
        secrets.extend(scan::parse_ledger(&read(&file)?));
    }
    let scanner = Scanner::new(&secrets)?;
    if scanner.values() == 0 {
        return Err(format!(
            "the ledger in {} holds no value: nothing was recorded, so the scan would prove nothing \
             (run the suite with SUITE_CAPTURE_DIR set, as scripts/test does)",
            ledger_dir.display()
        ));
    }
    let mut files = files_under(&capture, Some(&ledger_dir))?;
    files.extend(args);
    files.sort();
    files.dedup();
    let (mut bytes, mut cases, mut hits) = (0_usize, 0_usize, Vec::new());
    for file in &files {
        let raw = read(file)?;
        bytes += raw.len();
        if file.extension().is_some_and(|e| e == "xml") {
            cases += scan_junit(&scanner, file, &raw, &mut hits);
        } else {
            for hit in scanner.find(&raw) {
                hits.push(format!(
                    "{}:{}: a {}-character value recorded by {}",
                    file.display(),
                    scan::line_of(&raw, hit.offset),
                    hit.value_len,
                    hit.label
                ));
            }
        }
    }
    if bytes == 0 || cases == 0 {
        return Err(format!(
            "the capture holds {bytes} bytes and {cases} test cases: nothing to check (is the JUnit report among the files?)"
        ));
    }
    println!(
        "FIGURE secrets (whole suite): {} token and secret values recorded ({} of them under {MIN_LEN} characters, not searched), \
         searched in {} files, {:.1} MB ({cases} test cases' output, every CLI run's output, function logs, the stand-in's log): {} found",
        scanner.values(),
        scanner.too_short(),
        files.len(),
        mb(bytes),
        hits.len()
    );
    for hit in hits.iter().take(SHOWN) {
        println!("  {hit}");
    }
    if hits.len() > SHOWN {
        println!("  ... and {} more", hits.len() - SHOWN);
    }
    Ok(hits.len())
}

/// A `JUnit` report, one test case's record at a time: the tag is read from the raw XML (test
/// output is escaped there, so `<testcase ` is always a real tag), the record's text unescaped.
/// The number of test cases.
fn scan_junit(scanner: &Scanner, file: &Path, raw: &str, hits: &mut Vec<String>) -> usize {
    let starts: Vec<usize> = raw.match_indices("<testcase ").map(|(i, _)| i).collect();
    let mut bounds = vec![0];
    bounds.extend(&starts);
    bounds.push(raw.len());
    for pair in bounds.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let case = scan::junit_case_at(raw, to)
            .filter(|_| starts.contains(&from))
            .map_or(String::new(), |c| format!(" (test {c})"));
        let text = scan::xml_unescape(&raw[from..to]);
        for hit in scanner.find(&text) {
            hits.push(format!(
                "{}:{}{case}: a {}-character value recorded by {}",
                file.display(),
                scan::line_of(raw, from) + scan::line_of(&text, hit.offset) - 1,
                hit.value_len,
                hit.label
            ));
        }
    }
    starts.len()
}

#[allow(clippy::cast_precision_loss)] // a size for people
fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|err| format!("cannot read {}: {err}", path.display()))
}

/// Every file under `dir` (recursively), but those under `skip`; sorted.
fn files_under(dir: &Path, skip: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        if skip.is_some_and(|s| current == s) {
            continue;
        }
        let entries = std::fs::read_dir(&current)
            .map_err(|err| format!("cannot list {}: {err}", current.display()))?;
        for entry in entries {
            let entry = entry.map_err(|err| format!("cannot list {}: {err}", current.display()))?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
