//! `deployer serve` for a test: started on a free port, its endpoint read from what it prints,
//! its log collected as it runs, stopped with SIGTERM (also when the test panics).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command};

use serde_json::Value;

/// `deployer serve`, its endpoint, and its log collected as it runs (a pipe nobody reads would
/// block the functions' output).
pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) endpoint: String,
    log: Option<std::thread::JoinHandle<String>>,
}

impl Served {
    /// Serves `stage` with the functions' AWS calls going to `endpoint` (the stand-in, or a
    /// proxy in front of it).
    pub(crate) fn start_at(endpoint: &str, stage: &str) -> Self {
        let mut child = super::spawn_at(
            endpoint,
            &["--json", "serve", "--stage", stage, "--port", "0"],
        );
        let stderr = child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        let serving: Value = loop {
            let mut line = String::new();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "serve ended before it was ready: {printed}"
            );
            printed.push_str(&line);
            if let Ok(value) = serde_json::from_str(&printed) {
                break value;
            }
        };
        Self {
            child,
            endpoint: serving["endpoint"].as_str().unwrap().to_owned(),
            log: Some(log),
        }
    }

    /// Stops it as Ctrl-C would; its log goes to the test's stderr (kept and scanned).
    #[allow(clippy::print_stderr)]
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let status = self.child.wait().unwrap();
        if let Some(log) = self.log.take() {
            eprintln!("deployer serve -> {status}\n{}", log.join().unwrap());
        }
    }
}

impl Drop for Served {
    /// A test that panics before `stop` must not leave the endpoint and its instances running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // SIGTERM, as `stop` sends: serve stops its instances before it exits.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
