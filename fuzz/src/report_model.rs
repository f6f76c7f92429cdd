//! The `report_model` target: a decoded trace indexed into the viewer's model, and every
//! headless output built from it: `lockscope report` (text, JSON, `--diff`) and
//! `lockscope export` (folded stacks, Chrome trace, pprof).
//!
//! Checks: no panic, whatever the records say (definitions missing or repeated, waits that
//! never end, timestamps out of order, strings of any length).

use std::path::Path;

use lockscope_viewer::cli;
use lockscope_viewer::export;
use lockscope_viewer::model::{FlameKind, Model};

use crate::input::with_checksums_mended;

/// Runs the checks on `data`, and on `data` with its chunk checksums mended; bytes that do
/// not decode are the `decode` target's concern.
pub fn check(data: &[u8]) {
    check_bytes(data);
    if let Some(mended) = with_checksums_mended(data) {
        check_bytes(&mended);
    }
}

fn check_bytes(data: &[u8]) {
    let Ok(trace) = lockscope_format::decode(data) else {
        return;
    };
    let m = Model::from_trace(&trace);
    m.pair_holders();
    let path = Path::new("fuzz.lstrace");
    let _ = m.warnings(path);
    let text = cli::report::text(&m, path, 10_000_000_000);
    assert!(text.starts_with("lockscope report"), "{text}");
    let json = cli::json::report_with(&m, path, 1);
    serde_json::to_string(&json).expect("the JSON report serializes");
    let _ = cli::diff::text(&m, path, &m, path);
    let _ = export::folded(&m, FlameKind::Wait);
    let _ = export::folded(&m, FlameKind::Hold);
    let _ = export::chrome_trace(&m);
    let _ = export::profile(&m);
}
