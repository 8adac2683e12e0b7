//! The local AWS stand-in: `moto_server` on a free loopback port, started per test and stopped
//! by PID when the handle drops (also when the test fails: drop runs on unwind). It is started
//! through `tools/moto_server.py`, which makes moto's DynamoDB conditional writes atomic, as
//! DynamoDB's are (moto checks a condition and writes without a lock across its request threads,
//! and two runs could then both take the run lock).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::tools;

/// A running moto server. Dropping it stops the process.
pub struct Moto {
    child: Child,
    endpoint: String,
    log: tempfile::NamedTempFile,
}

impl Moto {
    /// Starts moto on a free port and waits until it answers (at most 30 s).
    pub fn start() -> Self {
        let python = tools::venv_bin("python");
        let launcher = tools::project_root().join("tools/moto_server.py");
        let mut last_error = String::new();
        // A free port can be taken between our probe and moto's bind: try a few.
        for _ in 0..5 {
            match Self::try_start(&python, &launcher) {
                Ok(moto) => return moto,
                Err(err) => last_error = err,
            }
        }
        panic!("moto_server did not start: {last_error}");
    }

    fn try_start(python: &PathBuf, launcher: &PathBuf) -> Result<Self, String> {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        let stderr = log.reopen().map_err(|e| e.to_string())?;
        let stdout = log.reopen().map_err(|e| e.to_string())?;
        let child = Command::new(python)
            .arg(launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {} {}: {e}",
                    python.display(),
                    launcher.display()
                )
            })?;
        let mut moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        moto.wait_ready(port)?;
        Ok(moto)
    }

    fn wait_ready(&mut self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited with {status}: {}", self.log_tail()));
            }
            if answers(port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "no answer on port {port} within 30 s: {}",
            self.log_tail()
        ))
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The moto server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An SDK configuration pointed at this server with dummy credentials, as the deployer and
    /// the refresher build theirs from `AWS_ENDPOINT_URL` and the standard chain.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }

    /// An S3 client for the stand-in (path-style addressing, which a local endpoint needs).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The suite's secret scan reads the stand-in's log too (every request line it served).
        // Its state is not dumped: `/moto-api/data.json` fails once a Lambda function exists.
        if let Some(dir) = secret_ledger::capture_subdir(secret_ledger::LOGS_DIR) {
            let port = self.endpoint.rsplit(':').next().unwrap_or("0");
            let name = format!("moto-{}-{port}.log", std::process::id());
            let _ = std::fs::copy(self.log.path(), dir.join(name));
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_or_else(|e| panic!("no free loopback port: {e}"), |a| a.port())
}

/// Whether an HTTP server answers on the port.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}
