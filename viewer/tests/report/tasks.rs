//! A task's identity in the reports: its spawn site (the `spawn_named`/`name_task` call) in the
//! JSON report's `threads` entries and the text report's thread table, and nothing new for a
//! trace without one.

use lockscope_format::{LockKind, Record};

use super::json_report;
use super::support::{TraceBuilder, lockscope, stderr, stdout, write};

/// A thread, a task spawned at `src/bin/teller.rs:42:5` and a task with no spawn site, each
/// waiting once for `ledger`.
fn tellers() -> TraceBuilder {
    let mut t = TraceBuilder::new();
    let main = t.actor("main");
    let teller = t.spawned_task("teller-a", 13, "src/bin/teller.rs:42:5");
    let plain = t.task("task-14", 14);
    let (_, ledger) = t.lock(LockKind::Mutex, "ledger", "src/bank.rs:10:5");
    t.wait(
        teller,
        ledger,
        "src/bank.rs:42:9",
        0,
        &[main],
        1_000,
        Some(2_000),
    );
    t.wait(
        plain,
        ledger,
        "src/bank.rs:42:9",
        0,
        &[main],
        1_500,
        Some(2_500),
    );
    t.wait(
        main,
        ledger,
        "src/bank.rs:42:9",
        0,
        &[teller],
        3_000,
        Some(3_100),
    );
    t.push(Record::End { ts_ns: 10_000 });
    t
}

#[test]
fn json_report_gives_a_task_its_spawn_site_and_leaves_the_field_out_when_unknown() {
    let r = json_report("tasks-spawn-site.lst", &tellers().bytes());
    let threads = r["threads"].as_array().unwrap();
    let by_name = |name: &str| {
        (threads.iter())
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {threads:?}"))
    };
    let teller = by_name("teller-a");
    assert_eq!(teller["kind"], "task");
    assert_eq!(teller["os_id"], 13);
    assert_eq!(teller["spawn_site"], "src/bin/teller.rs:42:5");
    for unknown in ["task-14", "main"] {
        assert!(
            by_name(unknown).get("spawn_site").is_none(),
            "{unknown}: absent, not null"
        );
    }
}

#[test]
fn text_report_thread_table_has_a_spawned_at_column_only_when_a_task_has_a_site() {
    let report = |name: &str, t: &TraceBuilder| {
        let path = write(name, &t.bytes());
        let out = lockscope(&["report", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let at = text.find("\nThreads").expect("a thread table");
        text[at..].to_owned()
    };
    let threads = report("tasks-text.lst", &tellers());
    assert!(threads.contains("spawned at"), "{threads}");
    let teller = (threads.lines())
        .find(|l| l.contains("teller-a"))
        .unwrap_or_default();
    assert!(teller.ends_with("src/bin/teller.rs:42:5"), "{threads}");
    let plain = (threads.lines())
        .find(|l| l.contains("task-14"))
        .unwrap_or_default();
    assert!(plain.ends_with(" -"), "{threads}");

    let mut old = TraceBuilder::new();
    let a = old.task("teller-a", 13);
    let (_, ledger) = old.lock(LockKind::Mutex, "ledger", "src/bank.rs:10:5");
    old.wait(a, ledger, "src/bank.rs:42:9", 0, &[], 1_000, Some(2_000));
    old.push(Record::End { ts_ns: 10_000 });
    let threads = report("tasks-text-old.lst", &old);
    assert!(!threads.contains("spawned at"), "{threads}");
}
