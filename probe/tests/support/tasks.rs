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
