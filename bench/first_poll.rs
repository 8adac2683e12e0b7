//! `first-poll CMD [ARGS...]`: starts CMD as Lambda would (with `AWS_LAMBDA_RUNTIME_API` pointing at
//! a loopback listener here) and prints `first_poll_ms=12.34 peak_rss_kb=12345`: the time from
//! spawning it to its first `GET /2018-06-01/runtime/invocation/next`, and its peak RSS at that
//! moment (`VmHWM` in /proc/<pid>/status). That is the cold start a function pays before its first
//! event.
//!
//! std only, built by scripts/bench with plain `rustc -O` (no Cargo.lock, no workspace change).
//! The poll is never answered: what happens after init is the throughput benchmark's business.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const TIMEOUT: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: first-poll CMD [ARGS...]");
        return ExitCode::from(2);
    };
    match measure(program, rest) {
        Ok((ms, kb)) => {
            println!("first_poll_ms={ms:.2} peak_rss_kb={kb}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("first-poll: {program}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn measure(program: &str, args: &[String]) -> Result<(f64, u64), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot listen: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (polled, first) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let at = Instant::now();
            if BufReader::new(&stream).read_line(&mut line).is_ok() && line.contains(NEXT) {
                // The stream goes along: held open, the poll just waits until the process is killed.
                let _ = polled.send((at, stream));
                return;
            }
        }
    });
    let spawned = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    let polled = wait_for_poll(&first, &mut child, spawned);
    // Read the peak before killing: a dead process has no /proc entry.
    let peak = peak_rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let (at, _stream) = polled?;
    Ok(((at - spawned).as_secs_f64() * 1000.0, peak?))
}

/// The first poll, or why there was none: the process exited, or it took longer than `TIMEOUT`.
fn wait_for_poll<T>(
    first: &mpsc::Receiver<(Instant, T)>,
    child: &mut Child,
    spawned: Instant,
) -> Result<(Instant, T), String> {
    loop {
        match first.recv_timeout(Duration::from_millis(5)) {
            Ok(polled) => return Ok(polled),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err("the listener failed".into()),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "it exited ({status}) before polling (its stderr is above)"
            ));
        }
        if spawned.elapsed() > TIMEOUT {
            return Err(format!(
                "no {NEXT} poll within {TIMEOUT:?} (its stderr is above)"
            ));
        }
    }
}

fn peak_rss_kb(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc/<pid>/status".to_owned())
}
