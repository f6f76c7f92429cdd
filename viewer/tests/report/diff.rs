//! `lockscope report NEW --diff BASE`: per-lock changes between two traces, and a base that
//! cannot be read.

use lockscope_format::LockKind;
use serde_json::Value;

use super::assert_fails_clearly;
use super::support::{self, lockscope, stderr, stdout, write};

/// A trace with one `(name, wait_ns)` lock per entry: two contended waits of that length each.
fn waits_trace(name: &str, locks: &[(&str, u64)]) -> std::path::PathBuf {
    let mut t = support::TraceBuilder::new();
    let (a, b) = (t.actor("worker-a"), t.actor("worker-b"));
    let mut at = 1_000;
    for &(lock_name, wait_ns) in locks {
        let (_, lock) = t.lock(LockKind::Mutex, lock_name, "src/lib.rs:1:1");
        for _ in 0..2 {
            t.hold(b, lock, "src/lib.rs:9:9", at, at + 1, at + wait_ns + 1);
            t.wait(
                a,
                lock,
                "src/lib.rs:5:5",
                0,
                &[b],
                at + 1,
                Some(at + wait_ns + 1),
            );
            at += wait_ns + 10;
        }
    }
    write(name, &t.bytes())
}

fn diff_paths() -> (std::path::PathBuf, std::path::PathBuf) {
    let base = waits_trace(
        "diff-base.lst",
        &[("ledger", 1_000), ("cache", 50_000), ("old", 700)],
    );
    let new = waits_trace(
        "diff-new.lst",
        &[("ledger", 30_000), ("cache", 5_000), ("fresh", 400)],
    );
    (base, new)
}

#[test]
fn diff_shows_a_regression_and_an_improvement_with_their_signs() {
    let (base, new) = diff_paths();
    let out = lockscope(&[
        "report",
        "--diff",
        base.to_str().unwrap(),
        new.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["schema"], 1);
    let diff = r["diff"].as_array().unwrap();
    let names: Vec<&str> = diff.iter().map(|d| d["name"].as_str().unwrap()).collect();
    // |Δ total wait|: ledger +58 µs, cache -90 µs, old -1.4 µs, fresh +0.8 µs.
    assert_eq!(
        names,
        ["cache", "ledger", "old", "fresh"],
        "largest change first"
    );

    let cache = &diff[0];
    assert_eq!(cache["status"], "changed");
    assert_eq!(cache["kind"], "mutex");
    let w = &cache["wait_total_ns"];
    assert_eq!(
        (&w["base"], &w["new"], &w["change"]),
        (
            &Value::from(100_000),
            &Value::from(10_000),
            &Value::from(-90_000)
        )
    );
    assert_eq!(w["change_pct"], -90.0);
    assert!(cache["wait_p99_ns"]["change"].as_i64().unwrap() < 0);

    let ledger = &diff[1];
    let w = &ledger["wait_total_ns"];
    assert_eq!(
        (w["change"].as_i64(), w["change_pct"].as_f64()),
        (Some(58_000), Some(2900.0))
    );
    assert!(ledger["wait_p50_ns"]["change"].as_i64().unwrap() > 0);
    assert_eq!(ledger["contentions"]["change"], 0);
    assert_eq!(ledger["acquisitions"]["base"], 2);

    assert_eq!(diff[2]["status"], "gone");
    assert_eq!(diff[2]["contentions"]["new"], Value::Null);
    assert_eq!(diff[3]["status"], "new");
    assert_eq!(diff[3]["wait_total_ns"]["change_pct"], Value::Null);
}

#[test]
fn diff_text_lists_each_lock_with_signed_changes() {
    let (base, new) = diff_paths();
    let out = lockscope(&[
        "report",
        new.to_str().unwrap(),
        "--diff",
        base.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("4 lock classes: 1 wait more, 1 wait less, 1 new, 1 gone"),
        "{text}"
    );
    let line = |lock: &str| {
        let start = text
            .find(&format!("  {lock} "))
            .unwrap_or_else(|| panic!("{lock}: {text}"));
        let block = &text[start..];
        block[..block.find("\n").unwrap()].to_owned()
    };
    let total = |lock: &str| {
        let start = text.find(&format!("  {lock} ")).unwrap();
        let block = &text[start..];
        block
            .lines()
            .find(|l| l.contains("wait total"))
            .unwrap()
            .to_owned()
    };
    assert!(
        total("ledger").contains("+58.0 µs") && total("ledger").contains("+2900.0%"),
        "{text}"
    );
    assert!(
        total("cache").contains("-90.0 µs") && total("cache").contains("-90.0%"),
        "{text}"
    );
    assert!(line("old").contains("gone"), "{text}");
    assert!(line("fresh").contains("new"), "{text}");
    let order: Vec<usize> = ["cache", "ledger", "old", "fresh"]
        .iter()
        .map(|l| text.find(&format!("  {l} ")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn diff_with_a_missing_base_names_it_and_fails() {
    let (_, new) = diff_paths();
    assert_fails_clearly(
        &[
            "report",
            "--diff",
            "no-such-base.lst",
            new.to_str().unwrap(),
        ],
        &["--diff base", "no-such-base.lst", "does not exist"],
    );
}

#[test]
fn diff_with_a_garbage_base_names_it_and_fails() {
    let (_, new) = diff_paths();
    let garbage = write("diff-garbage.txt", b"not a trace, just some words");
    assert_fails_clearly(
        &[
            "report",
            "--diff",
            garbage.to_str().unwrap(),
            new.to_str().unwrap(),
            "--json",
        ],
        &["--diff base", "diff-garbage.txt", "not a lockscope trace"],
    );
}
