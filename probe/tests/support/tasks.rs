//! Helpers for the tokio tests.

use serde_json::Value;

/// A multi-thread runtime with `workers` worker threads.
pub fn runtime(workers: usize) -> ::tokio::runtime::Runtime {
    ::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
}

/// In a child test: records what `run` does on a runtime of `workers` worker threads into
/// `path`. The runtime (and its threads) is gone before the recording ends, so their last
/// events are in the trace.
pub fn record_run(
    path: &std::path::Path,
    workers: usize,
    run: impl std::future::Future<Output = ()>,
) {
    let rec = lockscope::Recorder::to_file(path).unwrap().start();
    let rt = runtime(workers);
    rt.block_on(run);
    drop(rt);
    drop(rec);
}

/// The (name, kind) of every participant of a deadlock report, sorted.
pub fn participants(r: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}
