//! `lockscope report --from/--to`: every figure clipped to a time range, the same code the
//! viewer's range selection uses, and the range's usage errors.

mod support;

use lockscope_format::{LockKind, Record};
use serde_json::Value;
use support::{TraceBuilder, lockscope, stderr, stdout, write};

/// `ledger`: worker-a waits 1 ms to 101 ms for worker-b's hold; `cache`: worker-b is still
/// waiting (from 150 ms) when the trace ends at 200 ms.
fn trace(name: &str) -> std::path::PathBuf {
    let mut t = TraceBuilder::new();
    let (a, b) = (t.actor("worker-a"), t.actor("worker-b"));
    let (_, ledger) = t.lock(LockKind::Mutex, "ledger", "src/lib.rs:1:1");
    let (_, cache) = t.lock(LockKind::Mutex, "cache", "src/lib.rs:2:1");
    t.hold(b, ledger, "src/lib.rs:9:9", 500_000, 1_000_000, 101_000_000);
    t.wait(
        a,
        ledger,
        "src/lib.rs:5:5",
        0,
        &[b],
        1_000_000,
        Some(101_000_000),
    );
    t.wait(b, cache, "src/lib.rs:6:6", 0, &[a], 150_000_000, None);
    t.push(Record::End { ts_ns: 200_000_000 });
    write(name, &t.bytes())
}

fn json(path: &std::path::Path, range: &[&str]) -> Value {
    let mut args = vec!["report", path.to_str().unwrap(), "--json"];
    args.extend_from_slice(range);
    let out = lockscope(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn lock<'a>(r: &'a Value, name: &str) -> &'a Value {
    (r["locks"].as_array().unwrap().iter())
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no lock {name} in {r}"))
}

#[test]
fn a_range_clips_every_wait_and_hold_to_it() {
    let path = trace("range.lst");
    let whole = json(&path, &[]);
    assert_eq!(lock(&whole, "ledger")["wait_ns"]["total"], 100_000_000);
    assert_eq!(lock(&whole, "cache")["wait_ns"]["total"], 50_000_000);
    assert!(whole["trace"].get("range_ns").is_none());

    let r = json(&path, &["--from", "50ms", "--to", "0.16s"]);
    assert_eq!(
        r["trace"]["range_ns"],
        serde_json::json!([50_000_000, 160_000_000])
    );
    // 50-101 ms of ledger's wait and its hold; 150-160 ms of cache's wait, still going.
    let ledger = lock(&r, "ledger");
    assert_eq!(ledger["wait_ns"]["total"], 51_000_000);
    assert_eq!(ledger["wait_ns"]["max"], 51_000_000);
    assert_eq!(ledger["hold_ns"]["total"], 51_000_000);
    let cache = lock(&r, "cache");
    assert_eq!(cache["wait_ns"]["total"], 10_000_000);
    assert_eq!(cache["still_waiting"], 1);
    let threads = r["threads"].as_array().unwrap();
    let b = threads.iter().find(|t| t["name"] == "worker-b").unwrap();
    assert_eq!(b["wait_ns_total"], 10_000_000, "{b}");

    // Only the start: up to the trace's end; the text report says which range it shows.
    let tail = json(&path, &["--from", "120ms"]);
    assert_eq!(
        tail["trace"]["range_ns"],
        serde_json::json!([120_000_000, 200_000_000])
    );
    assert_eq!(lock(&tail, "cache")["wait_ns"]["total"], 50_000_000);
    let out = lockscope(&["report", path.to_str().unwrap(), "--to", "10ms"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("range: 0 ns to 10.0 ms"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_bad_range_is_a_usage_error_naming_the_fix() {
    let path = trace("bad-range.lst");
    let p = path.to_str().unwrap();
    for (args, needle) in [
        (vec!["--from", "150"], "no unit"),
        (vec!["--from", "3min"], "unknown unit `min`"),
        (
            vec!["--from", "90ms", "--to", "20ms"],
            "must come before --to",
        ),
        (vec!["--from", "5s"], "must come before the trace's end; "),
        (vec!["--from", "1ms", "--diff", p], "cannot be used with"),
    ] {
        let mut all = vec!["report", p];
        all.extend_from_slice(&args);
        let out = lockscope(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}
