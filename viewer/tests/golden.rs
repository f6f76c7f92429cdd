//! `lockscope report` over every committed trace, byte for byte.
//!
//! For each `probe/tests/data/<name>.lstrace`, the text report must equal
//! `viewer/tests/golden/<name>.txt` and `report --json` must equal `<name>.json`. The binary runs
//! from the workspace root with the trace's path relative to it, as in
//! `cargo run -q -p lockscope-viewer --bin lockscope -- report probe/tests/data/<name>.lstrace`,
//! because the text report's first line names that path.
//!
//! A trace without its golden files fails, as does a golden file without its trace. When a
//! change to the report is intended (or a trace is added), regenerate the golden files and
//! review the diff before committing it:
//!
//! ```text
//! LOCKSCOPE_BLESS=1 cargo test -p lockscope-viewer --test golden
//! ```
//!
//! With `LOCKSCOPE_BLESS` set (to anything but `0` or nothing) the test writes every golden
//! file that is missing or differs, deletes golden files whose trace is gone, and passes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The committed traces, relative to the workspace root.
const TRACES: &str = "probe/tests/data";
/// The golden reports, relative to the workspace root.
const GOLDEN: &str = "viewer/tests/golden";
const BLESS: &str = "LOCKSCOPE_BLESS";

/// The report flavours: golden file extension and the extra `report` arguments.
const FLAVOURS: [(&str, &[&str]); 2] = [("txt", &[]), ("json", &["--json"])];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the viewer crate sits in the workspace")
        .to_path_buf()
}

fn blessing() -> bool {
    std::env::var_os(BLESS).is_some_and(|v| !v.is_empty() && v != "0")
}

fn bless_hint() -> String {
    format!(
        "regenerate with `{BLESS}=1 cargo test -p lockscope-viewer --test golden` and review the diff"
    )
}

/// Names (file stems) of the files in `dir` ending in `.ext`, sorted.
fn stems(dir: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `lockscope report <trace> <extra>` as one would type it.
fn command_line(trace: &str, extra: &[&str]) -> String {
    std::iter::once(format!("lockscope report {trace}"))
        .chain(extra.iter().map(|a| a.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `lockscope report <trace> <extra>` from the workspace root; its stdout.
fn report(root: &Path, trace: &str, extra: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_lockscope"))
        .current_dir(root)
        .arg("report")
        .arg(trace)
        .args(extra)
        .output()
        .map_err(|e| format!("running lockscope: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed ({}):\n{}",
            command_line(trace, extra),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out.stdout)
}

/// Where `actual` first departs from `expected`, line by line, for a failure message.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let (expected, actual) = (
        String::from_utf8_lossy(expected),
        String::from_utf8_lossy(actual),
    );
    let (mut e, mut a) = (expected.split('\n'), actual.split('\n'));
    for line in 1.. {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => {
                return format!(
                    "first difference at line {line}:\n  expected: {x:?}\n  actual:   {y:?}"
                );
            }
            (Some(x), None) => {
                return format!("actual ends at line {line}; expected continues with {x:?}");
            }
            (None, Some(y)) => {
                return format!("expected ends at line {line}; actual continues with {y:?}");
            }
            (None, None) => break,
        }
    }
    // Same text line by line, so the bytes differ only in invalid UTF-8.
    "the texts differ only in bytes that are not valid UTF-8".to_owned()
}

#[test]
fn reports_over_the_committed_traces_match_their_golden_files() {
    let root = workspace_root();
    let bless = blessing();
    let traces = stems(&root.join(TRACES), "lstrace");
    assert!(
        !traces.is_empty(),
        "no *.lstrace in {}",
        root.join(TRACES).display()
    );
    if bless {
        std::fs::create_dir_all(root.join(GOLDEN)).unwrap();
    }
    let mut failures = String::new();
    let mut blessed = Vec::new();
    for name in &traces {
        let trace = format!("{TRACES}/{name}.lstrace");
        for (ext, extra) in FLAVOURS {
            let golden_rel = format!("{GOLDEN}/{name}.{ext}");
            let golden = root.join(&golden_rel);
            let actual = match report(&root, &trace, extra) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let _ = writeln!(failures, "\n{golden_rel}: {e}");
                    continue;
                }
            };
            let expected = std::fs::read(&golden).ok();
            if expected.as_deref() == Some(&actual[..]) {
                continue;
            }
            if bless {
                std::fs::write(&golden, &actual)
                    .unwrap_or_else(|e| panic!("writing {golden_rel}: {e}"));
                blessed.push(golden_rel);
                continue;
            }
            let why = match expected {
                None => format!("missing (the golden `lockscope report` output for {trace})"),
                Some(expected) => format!(
                    "differs from `{}`; {}",
                    command_line(&trace, extra),
                    first_difference(&expected, &actual)
                ),
            };
            let _ = writeln!(failures, "\n{golden_rel}: {why}");
        }
    }
    for (ext, _) in FLAVOURS {
        for name in stems(&root.join(GOLDEN), ext) {
            if traces.contains(&name) {
                continue;
            }
            let golden_rel = format!("{GOLDEN}/{name}.{ext}");
            if bless {
                std::fs::remove_file(root.join(&golden_rel))
                    .unwrap_or_else(|e| panic!("removing {golden_rel}: {e}"));
                blessed.push(format!("{golden_rel} (removed)"));
            } else {
                let _ = writeln!(
                    failures,
                    "\n{golden_rel}: no trace {TRACES}/{name}.lstrace for this golden file"
                );
            }
        }
    }
    if !blessed.is_empty() {
        eprintln!("{BLESS}: wrote {}", blessed.join(", "));
    }
    assert!(failures.is_empty(), "{failures}\n\n{}", bless_hint());
}

#[test]
fn first_difference_names_the_line() {
    assert_eq!(
        first_difference(b"a\nb\nc\n", b"a\nB\nc\n"),
        "first difference at line 2:\n  expected: \"b\"\n  actual:   \"B\""
    );
    assert!(first_difference(b"a\nb", b"a").starts_with("actual ends at line 2"));
    assert!(first_difference(b"a", b"a\nb").starts_with("expected ends at line 2"));
    assert!(first_difference(b"a\nb\n", b"a\n").starts_with("first difference at line 2"));
}
