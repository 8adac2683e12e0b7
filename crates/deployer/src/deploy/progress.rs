//! Live progress of a stack operation on stderr: a spinner with the elapsed time and the latest
//! status on a terminal, plain event lines otherwise (CI logs, `--json`).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::aws::cfn::StackEvent;
use crate::output::note;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A spinner when stderr is a terminal and `plain` is false; lines otherwise.
    pub fn new(plain: bool) -> Self {
        let bar = (!plain && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar }
    }

    pub fn event(&self, e: &StackEvent, elapsed: Duration) {
        let reason = e
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!("  {r}"));
        let line = format!(
            "{:>6.1}s  {:<28} {:<28} {}{reason}",
            elapsed.as_secs_f64(),
            e.status,
            e.logical_id,
            e.resource_type
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => note(&line),
        }
    }

    pub fn tick(&self, status: &str, _elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_message(status.to_owned());
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
