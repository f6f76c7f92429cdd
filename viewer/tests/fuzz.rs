//! The `report_model` and `live_stream` fuzz targets on stable: their corpus
//! (`fuzz/corpus/*`: real traces, what the fuzzer kept, every crash it found) replayed
//! through the targets' own checks: the report, the exports and the live view never panic.

#[path = "../../fuzz/src/corpus.rs"]
mod corpus;
#[path = "../../fuzz/src/input.rs"]
mod input;
#[path = "../../fuzz/src/live_stream.rs"]
mod live_stream;
#[path = "../../fuzz/src/report_model.rs"]
mod report_model;
mod support;

use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

#[test]
fn every_corpus_input_reports_and_exports_without_a_panic() {
    assert!(corpus::replay(&dir(), report_model::check) >= 6);
}

#[test]
fn every_corpus_input_streams_live_without_a_panic() {
    assert!(corpus::replay(&dir(), live_stream::check) >= 6);
}

/// Found by the `report_model` target: a wait whose end record is stamped before its begin
/// (a corrupt trace) made `lockscope export --format chrome` subtract past zero, a panic in
/// a debug build and a duration of 584 years in a release one.
#[test]
fn a_wait_that_ends_before_it_began_exports_to_chrome_as_an_empty_slice() {
    use lockscope_format::{Mode, Outcome, Record};
    use lockscope_viewer::{export, model::Model};

    let mut t = support::TraceBuilder::new();
    let records = [
        Record::WaitBegin {
            ts_ns: 100,
            actor: 1,
            lock: 1,
            mode: Mode::Exclusive,
            site: 0,
            stack: 0,
            holders: vec![2],
            span: 0,
        },
        Record::Hold {
            begin_ns: 90,
            contended_ns: 0,
            end_ns: 40,
            actor: 2,
            lock: 1,
            mode: Mode::Exclusive,
            site: 0,
            span: 0,
        },
        Record::WaitEnd {
            ts_ns: 50,
            actor: 1,
            lock: 1,
            outcome: Outcome::Acquired,
        },
        Record::End { ts_ns: 200 },
    ];
    records.into_iter().for_each(|r| {
        t.push(r);
    });
    let bytes = t.bytes();
    let m = Model::from_trace(&lockscope_format::decode(&bytes).unwrap());
    let trace = export::chrome_trace(&m);
    let wait = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["cat"] == "wait")
        .expect("the wait is exported");
    assert_eq!(wait["dur"], 0.0);
    assert_eq!(wait["ts"], 0.1);
    // The report and the other exports take it too.
    report_model::check(&bytes);
}
