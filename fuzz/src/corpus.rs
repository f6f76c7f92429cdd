//! Replays a fuzz corpus through a target's check, for the workspace's `tests/fuzz.rs`.

use std::path::{Path, PathBuf};

/// Runs `check` on every file under `corpus` (every target's directory: any bytes are fair
/// input to any target) and panics naming each file that made it panic. Returns how many
/// files it ran.
pub fn replay(corpus: &Path, check: fn(&[u8])) -> usize {
    let mut files = Vec::new();
    collect(corpus, &mut files);
    files.sort();
    let mut failed = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if std::panic::catch_unwind(|| check(&bytes)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(failed.is_empty(), "panicked on {}", failed.join(", "));
    files.len()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
