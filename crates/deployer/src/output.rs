//! The one writer of stdout: a command's result is a value that is both `Serialize` (for
//! `--json`) and `Display` (for people), and the printer picks. Diagnostics go to stderr.

use std::fmt;
use std::io::Write;

use anyhow::{Context, Result};
use serde::Serialize;

/// `--color`: `auto` follows the terminal, `NO_COLOR` and `FORCE_COLOR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Applies the choice to every stream written through `anstream`.
    pub fn apply(self) {
        let env_set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let choice = match self {
            Self::Always => anstream::ColorChoice::Always,
            Self::Never => anstream::ColorChoice::Never,
            Self::Auto if env_set("NO_COLOR") => anstream::ColorChoice::Never,
            Self::Auto if env_set("FORCE_COLOR") => anstream::ColorChoice::Always,
            Self::Auto => anstream::ColorChoice::Auto,
        };
        choice.write_global();
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub json: bool,
}

impl Printer {
    /// Writes a result to stdout, as pretty JSON with `--json`, else as text.
    pub fn emit<T: Serialize + fmt::Display>(&self, value: &T) -> Result<()> {
        let mut out = anstream::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, value).context("cannot write JSON to stdout")?;
            writeln!(out).context("cannot write to stdout")?;
        } else {
            write!(out, "{value}").context("cannot write to stdout")?;
        }
        out.flush().context("cannot write to stdout")
    }

    /// Writes raw text (a rendered template) to stdout.
    pub fn raw(&self, text: &str) -> Result<()> {
        let mut out = anstream::stdout().lock();
        out.write_all(text.as_bytes())
            .context("cannot write to stdout")?;
        out.flush().context("cannot write to stdout")
    }
}

/// `rows` as lines, each column padded to its widest cell, columns two spaces apart.
pub fn aligned<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    let mut widths = [0; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect()
}

/// Rows under a header, aligned as [`aligned`] does.
pub fn write_table<const N: usize>(
    f: &mut fmt::Formatter<'_>,
    header: [&str; N],
    rows: &[[String; N]],
) -> fmt::Result {
    let all: Vec<[String; N]> = std::iter::once(header.map(str::to_owned))
        .chain(rows.iter().cloned())
        .collect();
    for line in aligned(&all) {
        writeln!(f, "{line}")?;
    }
    Ok(())
}

/// A message for the operator on stderr (progress, notes); never data.
pub fn note(message: &str) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "{message}");
}

/// Asks the operator on stderr and reads one line of stdin; the answer, trimmed. Callers check
/// for a terminal first: a pipeline is never asked.
pub fn ask(prompt: &str) -> Result<String> {
    let mut err = std::io::stderr().lock();
    write!(err, "{prompt} ").context("cannot write to stderr")?;
    err.flush().context("cannot write to stderr")?;
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(answer.trim().to_owned())
}

/// [`ask`] with `[y/N]`: whether the answer is yes.
pub fn ask_yes(question: &str) -> Result<bool> {
    Ok(matches!(
        ask(&format!("{question} [y/N]"))?.as_str(),
        "y" | "Y" | "yes"
    ))
}
