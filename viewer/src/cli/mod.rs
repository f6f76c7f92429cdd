//! `lockscope report|export|flamegraph|view`: the headless commands, for terminals and CI.

mod fmt;
pub mod json;
mod report;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::model::{self, Model};

/// Lock contention profiler: reads traces written by the lockscope probe.
#[derive(Debug, Parser)]
#[command(name = "lockscope", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the lock table, most contended sites, per-thread waits, alerts and still-waiting
    /// actors of a trace.
    Report {
        /// The trace file.
        trace: PathBuf,
        /// Print the machine-readable report (schema 1) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Open the desktop viewer.
    View {
        /// The trace file to open.
        trace: Option<PathBuf>,
    },
}

/// Parses the command line, runs it, and prints any error with its causes.
pub fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command. Warnings about a damaged trace go to standard error.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Report { trace, json } => {
            let m = open(&trace)?;
            let out = if json {
                let mut s = serde_json::to_string_pretty(&json::report(&m, &trace))?;
                s.push('\n');
                s
            } else {
                report::text(&m, &trace)
            };
            write_output(None, out.as_bytes())?;
        }
        Command::View { .. } => {
            eprintln!("the desktop viewer is not built yet: use `lockscope report TRACE`");
            return Ok(ExitCode::from(2));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads a trace and prints its warnings.
fn open(path: &Path) -> anyhow::Result<Model> {
    let m = model::load(path)?;
    for w in m.warnings(path) {
        eprintln!("warning: {w}");
    }
    Ok(m)
}

/// Writes to `path`, or to standard output when `None`. A closed pipe (`| head`) is not an
/// error.
fn write_output(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(p) => {
            std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("cannot write to standard output"),
            }
        }
    }
}
