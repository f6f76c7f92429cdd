//! `lockscope report|export|flamegraph|view`: the headless commands, for terminals and CI.

pub mod causal;
pub mod diff;
pub mod fleet;
pub mod json;
pub mod report;

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::export;
use crate::model::{self, Filter, FlameKind, Model};
#[cfg(feature = "gui")]
use crate::panels::Panel;
use crate::units::ns;
#[cfg(feature = "gui")]
use crate::window::{self, WindowOptions};

/// Lock contention profiler: reads traces written by the lockscope probe.
#[derive(Debug, Parser)]
#[command(
    name = "lockscope",
    version,
    propagate_version = true,
    after_help = EXIT_STATUS
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the lock table, most contended sites, per-thread waits, alerts and still-waiting
    /// actors of a trace; with `--diff BASE`, what changed per lock class since BASE.
    Report {
        /// The trace file (with `--diff`, the new trace). Several traces (one per process of
        /// a service, say) are read as one: each lock class summed over the processes with
        /// its row in each, and every process's alerts.
        #[arg(required = true, num_args = 1.., value_name = "TRACE")]
        traces: Vec<PathBuf>,
        /// Compare TRACE with this earlier trace: per lock class (matched by name and kind),
        /// acquisitions, contentions, wait p50/p99/total and hold p50/p99 in both, with the
        /// change, the largest change in total wait first.
        #[arg(long, value_name = "BASE")]
        diff: Option<PathBuf>,
        /// Print the machine-readable report (schema 1) instead of text.
        #[arg(long)]
        json: bool,
        /// Exit with status 1 when the trace has alerts of these kinds (comma-separated:
        /// deadlock, lock_order_inversion, starvation, ... or `any`), for CI. A name that is
        /// no alert kind is a usage error (status 2), so a typo cannot switch the gate off.
        #[arg(
            long,
            value_delimiter = ',',
            value_name = "KINDS",
            value_parser = clap::builder::PossibleValuesParser::new(FAIL_ON_KINDS)
        )]
        fail_on: Vec<String>,
        /// Count pool permits held at least this many milliseconds as leaks (the pools'
        /// `leaks`; the probe's own `pool_leak` alerts follow LOCKSCOPE_POOL_LEAK_MS).
        #[arg(long, value_name = "MS", default_value_t = 10_000)]
        pool_leak_ms: u64,
        /// Only what happened from this time into the recording (a number with a unit: ns,
        /// us, ms, s): waits and holds are clipped to the range, as the viewer's time
        /// selection clips them.
        #[arg(long, value_name = "TIME", value_parser = crate::units::parse_ns, conflicts_with = "diff")]
        from: Option<u64>,
        /// Only what happened up to this time into the recording (default: the trace's end).
        #[arg(long, value_name = "TIME", value_parser = crate::units::parse_ns, conflicts_with = "diff")]
        to: Option<u64>,
    },
    /// Convert a trace for other tools: folded stacks, Chrome/Perfetto JSON or pprof.
    Export {
        /// The trace file.
        trace: PathBuf,
        /// Output format.
        #[arg(long, short = 'f', value_enum)]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
        /// Folded stacks of hold time (by the holder's site) instead of wait time.
        #[arg(long)]
        hold: bool,
        /// Which pprof profile: `lock` (waits by the waiter's stack and holds, the default),
        /// `block` (Go's block profile: waits by the waiter's stack) or `mutex` (Go's mutex
        /// profile: each wait charged to where its holder took the lock).
        #[arg(long, value_enum, default_value_t = PprofProfile::Lock)]
        profile: PprofProfile,
    },
    /// Draw a flame graph (SVG) of where actors waited for locks.
    Flamegraph {
        /// The trace file.
        trace: PathBuf,
        /// The SVG file to write (`-` for standard output).
        #[arg(long, short = 'o')]
        output: PathBuf,
        /// Show hold time by the holder's site instead of wait time by the waiter's stack.
        #[arg(long)]
        hold: bool,
        /// Title of the graph.
        #[arg(long)]
        title: Option<String>,
    },
    /// Open the desktop viewer.
    #[cfg(feature = "gui")]
    View {
        /// Trace files to open, one tab each.
        traces: Vec<PathBuf>,
        /// Follow a running program live: connect to its LOCKSCOPE_LIVE address (HOST:PORT,
        /// such as 127.0.0.1:7878). Data shows as it arrives; alerts pop up when they happen.
        /// Repeatable.
        #[arg(long, value_name = "ADDR")]
        connect: Vec<String>,
        /// The panel to show first.
        #[arg(long, value_enum, default_value_t = Panel::Overview)]
        panel: Panel,
        /// Select this lock (by name) at first: every panel shows only it.
        #[arg(long, value_name = "NAME")]
        lock: Option<String>,
        /// Open the Flamegraph panel's sandwich view on this frame (a function, or a lock):
        /// who called it, and what it called.
        #[arg(long, value_name = "FUNCTION")]
        frame: Option<String>,
        /// Select this time range at first (with --to; a number with a unit: ns, us, ms, s),
        /// as dragging it on the timeline does.
        #[arg(long, value_name = "TIME", value_parser = crate::units::parse_ns)]
        from: Option<u64>,
        /// The end of the range selected at first (default: the trace's end).
        #[arg(long, value_name = "TIME", value_parser = crate::units::parse_ns)]
        to: Option<u64>,
        /// Render the window once the traces loaded, save it as this PNG and exit.
        #[arg(long, value_name = "PNG")]
        screenshot: Option<PathBuf>,
        /// Window size, `WIDTHxHEIGHT` in points.
        #[arg(long, default_value = "1400x900", value_parser = parse_size)]
        size: (f32, f32),
    },
}

/// Formats of `lockscope export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// `frame;frame;...;lock wait_ns` lines, for inferno or flamegraph.pl.
    Folded,
    /// Chrome trace-event JSON, for Perfetto or chrome://tracing.
    Chrome,
    /// gzip-compressed pprof protobuf, for `go tool pprof`.
    Pprof,
    /// The lock table as CSV: one row per lock class, the report's figures.
    Csv,
}

/// Profiles of `lockscope export --format pprof`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PprofProfile {
    /// Waits by the waiter's stack, and holds by the holder's site.
    Lock,
    /// Go's block profile: `contentions/count`, `delay/nanoseconds` by the waiter's stack.
    Block,
    /// Go's mutex profile: the same types, each wait charged to where the lock was held.
    Mutex,
}

/// The exit statuses, as `--help` and the README list them.
pub const EXIT_STATUS: &str = "Exit status:
  0   done
  1   `report --fail-on` found an alert of a kind it names, or the command failed (a trace
      that cannot be read, an output that cannot be written; the reason is on stderr)
  2   usage error: an unknown flag, subcommand or value (the valid ones are named)
  86  (a program's, not lockscope's) the probe's LOCKSCOPE_ON_DEADLOCK=exit ended it";

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

/// What `report --fail-on` accepts: every alert kind the probe raises, and `any`.
pub const FAIL_ON_KINDS: [&str; 8] = [
    "any",
    "deadlock",
    "starvation",
    "lock_order_inversion",
    "stampede",
    "pool_saturation",
    "pool_leak",
    "stuck",
];

/// Exit status 1, with the reason on standard error, when `alerts` has a kind `fail_on`
/// names; else success.
fn fail_on_status<'a>(
    fail_on: &[String],
    alerts: impl IntoIterator<Item = &'a model::Alert>,
    what: &str,
) -> ExitCode {
    let failing: Vec<&str> = alerts
        .into_iter()
        .map(|a| a.kind.as_str())
        .filter(|k| fail_on.iter().any(|f| f == "any" || f == k))
        .collect();
    if failing.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "lockscope report: {} alert(s) of a kind named by --fail-on ({}) in {what}",
        failing.len(),
        failing.join(", "),
    );
    ExitCode::from(1)
}

/// Runs one command. Warnings about a damaged trace go to standard error.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Report {
            traces,
            diff,
            json,
            fail_on,
            pool_leak_ms,
            from,
            to,
        } => {
            let leak_ns = pool_leak_ms.saturating_mul(1_000_000);
            if traces.len() > 1 {
                if let Some(why) =
                    fleet::refused_flag(diff.is_some(), from.is_some() || to.is_some())
                {
                    eprintln!("error: {why}");
                    return Ok(ExitCode::from(2));
                }
                let mut models = Vec::with_capacity(traces.len());
                for p in &traces {
                    models.push((p.clone(), open(p)?));
                }
                let out = if json {
                    let mut s = serde_json::to_string_pretty(&fleet::json(&models, leak_ns))?;
                    s.push('\n');
                    s
                } else {
                    fleet::text(&models)
                };
                write_output(None, out.as_bytes())?;
                let alerts = models.iter().flat_map(|(_, m)| &m.alerts);
                return Ok(fail_on_status(&fail_on, alerts, &fleet::names(&traces)));
            }
            let trace = traces.into_iter().next().context("no trace given")?;
            let base = match &diff {
                Some(p) => Some(open(p).context("cannot read the --diff base trace")?),
                None => None,
            };
            let mut m = open(&trace)?;
            if from.is_some() || to.is_some() {
                let given_to = to;
                let (from, to) = (from.unwrap_or(0), to.unwrap_or(m.end_ns));
                if from >= to {
                    let end = if given_to.is_some() {
                        format!("--to ({})", ns(to))
                    } else {
                        "the trace's end".to_owned()
                    };
                    eprintln!(
                        "error: --from ({}) must come before {end}; {} runs from 0 to {}",
                        ns(from),
                        trace.display(),
                        ns(m.end_ns)
                    );
                    return Ok(ExitCode::from(2));
                }
                m = m.filtered(&Filter {
                    class: None,
                    range_ns: Some((from, to)),
                });
            }
            let out = if let (Some(base), Some(base_path)) = (&base, &diff) {
                if json {
                    let r = self::diff::json(base, base_path, &m, &trace);
                    let mut s = serde_json::to_string_pretty(&r)?;
                    s.push('\n');
                    s
                } else {
                    self::diff::text(base, base_path, &m, &trace)
                }
            } else if json {
                let mut s = serde_json::to_string_pretty(&json::report_with(&m, &trace, leak_ns))?;
                s.push('\n');
                s
            } else {
                report::text(&m, &trace, leak_ns)
            };
            write_output(None, out.as_bytes())?;
            let status = fail_on_status(&fail_on, &m.alerts, &trace.display().to_string());
            if status != ExitCode::SUCCESS {
                return Ok(status);
            }
        }
        Command::Export {
            trace,
            format,
            output,
            hold,
            profile,
        } => {
            if profile != PprofProfile::Lock && format != ExportFormat::Pprof {
                bail!("--profile applies to --format pprof only");
            }
            if hold && format != ExportFormat::Folded {
                bail!(
                    "--hold applies to --format folded only (chrome and pprof carry both waits and holds)"
                );
            }
            if format == ExportFormat::Pprof && output.is_none() && std::io::stdout().is_terminal()
            {
                bail!(
                    "pprof output is binary: give -o FILE, or redirect standard output to a file"
                );
            }
            let m = open(&trace)?;
            let bytes = match format {
                ExportFormat::Folded => export::folded(
                    &m,
                    if hold {
                        FlameKind::Hold
                    } else {
                        FlameKind::Wait
                    },
                )
                .into_bytes(),
                ExportFormat::Chrome => serde_json::to_vec(&export::chrome_trace(&m))?,
                ExportFormat::Pprof => {
                    let kind = match profile {
                        PprofProfile::Lock => export::ProfileKind::Lock,
                        PprofProfile::Block => export::ProfileKind::Block,
                        PprofProfile::Mutex => export::ProfileKind::Mutex,
                    };
                    export::pprof_bytes_of(&m, kind).context("cannot compress the pprof profile")?
                }
                ExportFormat::Csv => export::locks_csv(&m).into_bytes(),
            };
            write_output(output.as_deref(), &bytes)?;
        }
        Command::Flamegraph {
            trace,
            output,
            hold,
            title,
        } => {
            let m = open(&trace)?;
            let kind = if hold {
                FlameKind::Hold
            } else {
                FlameKind::Wait
            };
            let svg = export::flamegraph_svg(&m, kind, title.as_deref())
                .context("cannot draw the flame graph")?;
            let Some(svg) = svg else {
                let what = if hold {
                    "no hold was recorded"
                } else {
                    "no contended wait ended"
                };
                bail!(
                    "nothing to draw from {}: {what}; {} not written (try `lockscope report` to see the trace's figures)",
                    trace.display(),
                    output.display()
                );
            };
            let out = (output.as_os_str() != "-").then_some(output.as_path());
            write_output(out, &svg)?;
        }
        #[cfg(feature = "gui")]
        Command::View {
            traces,
            connect,
            panel,
            lock,
            frame,
            from,
            to,
            screenshot,
            size,
        } => {
            if screenshot.is_some() && traces.is_empty() && connect.is_empty() {
                bail!(
                    "--screenshot needs a trace to show: lockscope view TRACE --screenshot out.png"
                );
            }
            if let (Some(f), Some(t)) = (from, to)
                && f >= t
            {
                eprintln!(
                    "error: --from ({}) must come before --to ({})",
                    ns(f),
                    ns(t)
                );
                return Ok(ExitCode::from(2));
            }
            let range = (from.is_some() || to.is_some()).then(|| (from.unwrap_or(0), to));
            window::run(WindowOptions {
                traces,
                connect,
                panel,
                lock,
                frame,
                range,
                screenshot,
                size: [size.0, size.1],
            })?;
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

/// Parses `WIDTHxHEIGHT`.
#[cfg(feature = "gui")]
fn parse_size(s: &str) -> Result<(f32, f32), String> {
    let bad = || format!("expected WIDTHxHEIGHT such as 1400x900, got {s:?}");
    let (w, h) = s.split_once('x').ok_or_else(bad)?;
    let (w, h) = (
        w.parse::<f32>().map_err(|_| bad())?,
        h.parse::<f32>().map_err(|_| bad())?,
    );
    if w < 200.0 || h < 150.0 {
        return Err(format!("the window must be at least 200x150, got {s}"));
    }
    Ok((w, h))
}
