//! `lockscope report`: figures, ordering, the JSON schema, damaged traces and bad input; the
//! comparison of two traces (`--diff`) is in `diff.rs`, several processes' traces read as one
//! in `fleet.rs`, tasks' spawn sites in `tasks.rs`.

mod diff;
mod fleet;
#[path = "../support/mod.rs"]
mod support;
mod tasks;

use serde_json::Value;
use support::{bank, lockscope, stderr, stdout, write};

pub(crate) fn json_report(name: &str, bytes: &[u8]) -> Value {
    let path = write(name, bytes);
    let out = lockscope(&["report", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn json_report_has_the_figures_of_the_trace() {
    let (t, _) = bank();
    let r = json_report("figures.lst", &t.bytes());
    assert_eq!(r["schema"], 1);
    assert_eq!(r["dropped_events"], 3);
    assert_eq!(r["complete"], true);

    let locks = r["locks"].as_array().unwrap();
    let names: Vec<&str> = locks.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "ledger",
            "src/cache.rs:20:9",
            "db-pool",
            "src/queue.rs:15:3"
        ],
        "sorted by total wait"
    );

    let ledger = &locks[0];
    assert_eq!(ledger["kind"], "mutex");
    assert_eq!(ledger["site"], "src/bank.rs:10:5");
    assert_eq!(
        (
            ledger["acquisitions"].as_u64(),
            ledger["contentions"].as_u64()
        ),
        (Some(1_000), Some(3))
    );
    // The final snapshot wins. Percentiles are bucket upper bounds: 2 000 ns lands in
    // [1 920, 2 047]; the top bucket is capped at the exact max.
    let w = &ledger["wait_ns"];
    assert_eq!(
        [&w["p50"], &w["p90"], &w["p99"], &w["max"], &w["total"]],
        [2_047, 100_000, 100_000, 100_000, 103_000]
    );
    // Hold: the sample (500, 700 ns) times the sampling period 8.
    let h = &ledger["hold_ns"];
    assert_eq!([&h["p50"], &h["max"], &h["total"]], [511, 700, 1_200 * 8]);
    assert_eq!(ledger["hold_sample_period"], 8);
    assert_eq!(ledger["contention_pct"], 0.3);
    assert_eq!(ledger["figures_from"], "class_stats");

    // No snapshot for the cache lock: its figures come from the events.
    let cache = &locks[1];
    assert_eq!(cache["kind"], "rwlock");
    assert_eq!(cache["figures_from"], "events");
    assert_eq!(
        (
            cache["contentions"].as_u64(),
            cache["still_waiting"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert!(cache["acquisitions"].as_u64() >= cache["contentions"].as_u64());
    assert_eq!(
        (
            cache["wait_ns"]["total"].as_u64(),
            cache["max_waiters"].as_u64()
        ),
        // 500 ns ended, and main's wait still going at the end counted up to it (100 µs).
        (Some(100_500), Some(1))
    );

    let threads = r["threads"].as_array().unwrap();
    let totals: Vec<(&str, u64)> = (threads.iter())
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["wait_ns_total"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        // main is still waiting when the trace ends: its wait counts up to that end.
        [("worker-1", 103_000), ("main", 100_000), ("worker-2", 500)]
    );
    assert!(
        threads
            .iter()
            .all(|t| t["voluntary_switches"] == 0 && t["involuntary_switches"] == 0)
    );

    let alert = &r["alerts"][0];
    assert_eq!(alert["kind"], "deadlock");
    assert_eq!(
        alert["locks"],
        serde_json::json!(["ledger", "src/cache.rs:20:9"])
    );
    assert_eq!(alert["actors"], serde_json::json!(["main", "worker-1"]));
    assert!(
        alert["text"]
            .as_str()
            .unwrap()
            .contains("worker-1 waits for ledger")
    );

    let still = &r["still_waiting"][0];
    assert_eq!(
        (still["actor"].as_str(), still["lock"].as_str()),
        (Some("main"), Some("src/cache.rs:20:9"))
    );
    let site = &r["sites"][0];
    assert_eq!(
        (site["lock"].as_str(), site["waits"].as_u64()),
        (Some("ledger"), Some(3))
    );
    assert_eq!(site["holders"][0]["actor"], "worker-2");
    assert_eq!(site["holders"][0]["site"], "src/bank.rs:41:9");
}

#[test]
fn json_report_keys_are_the_schema_1_names() {
    let (t, _) = bank();
    let r = json_report("schema.lst", &t.bytes());
    let has = |v: &Value, keys: &[&str]| {
        for k in keys {
            assert!(v.get(k).is_some(), "missing {k:?} in {v}");
        }
    };
    has(
        &r,
        &[
            "schema",
            "dropped_events",
            "locks",
            "threads",
            "pools",
            "alerts",
        ],
    );
    assert_eq!(r["pools"], serde_json::json!([]));
    for l in r["locks"].as_array().unwrap() {
        has(
            l,
            &[
                "name",
                "kind",
                "site",
                "acquisitions",
                "contentions",
                "max_waiters",
                "wait_ns",
                "hold_ns",
            ],
        );
        assert!(["mutex", "rwlock", "semaphore", "condvar"].contains(&l["kind"].as_str().unwrap()));
        for s in [&l["wait_ns"], &l["hold_ns"]] {
            let mut keys: Vec<&String> = s.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["max", "p50", "p90", "p99", "total"]);
            assert!(s.as_object().unwrap().values().all(Value::is_u64));
        }
    }
    for t in r["threads"].as_array().unwrap() {
        has(
            t,
            &["id", "name", "voluntary_switches", "involuntary_switches"],
        );
    }
    for a in r["alerts"].as_array().unwrap() {
        has(a, &["kind", "locks", "actors", "text"]);
    }
}

#[test]
fn text_report_lists_locks_sites_threads_alerts_and_the_still_waiting() {
    let (t, _) = bank();
    let path = write("text.lst", &t.bytes());
    let out = lockscope(&["report", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "pid 4242",
        "recorded 2023-11-14 22:13:20 UTC",
        "duration 1.00 ms",
        "trace: complete; dropped events: 3",
        "103 µs",
        "ledger waited at src/bank.rs:42:9: 3 waits, 103 µs total, max 100 µs",
        "held by worker-2 at src/bank.rs:41:9 (3×)",
        "[deadlock] at 950 µs; locks: ledger, src/cache.rs:20:9; actors: main, worker-1",
        "    worker-1 waits for ledger held by main",
        "Still waiting at end of trace",
        "main waits for src/cache.rs:20:9 (exclusive) at src/cache.rs:31:13 since 900 µs (100 µs before the end), held by worker-1",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let order = [
        "\n  ledger ",
        "\n  src/cache.rs:20:9 ",
        "\n  db-pool ",
        "\n  src/queue.rs:15:3 ",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|n| {
            text.find(n)
                .unwrap_or_else(|| panic!("no {n:?} in\n{text}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "lock table not sorted by wait total:\n{text}"
    );
    let threads = &text[text.find("Threads").unwrap()..];
    assert!(threads.find("worker-1").unwrap() < threads.find("worker-2").unwrap());
    assert!(stderr(&out).contains("dropped 3 events"));
}

#[test]
fn a_truncated_trace_is_reported_with_a_warning() {
    let (t, _) = bank();
    let bytes = t.bytes();
    let cut = &bytes[..bytes.len() - 10];
    let path = write("truncated.lst", cut);
    let out = lockscope(&["report", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("truncated.lst is truncated at byte"),
        "{err}"
    );
    assert!(stdout(&out).contains("trace: truncated at byte"));
    assert!(stdout(&out).contains("ledger"));

    let r = json_report("truncated-json.lst", cut);
    assert_eq!(
        (r["truncated"].as_bool(), r["complete"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(r["locks"][0]["wait_ns"]["total"], 103_000);
}

#[test]
fn a_damaged_chunk_is_skipped_with_a_warning_and_the_rest_analysed() {
    let (t, _) = bank();
    let mut bytes = t.bytes();
    let last_chunk = bytes.len() - 20;
    bytes[last_chunk] ^= 0xff;
    let path = write("damaged.lst", &bytes);
    let out = lockscope(&["report", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("damaged chunk at byte"),
        "{}",
        stderr(&out)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["trace"]["status"], "damaged");
    assert_eq!(r["locks"][0]["name"], "ledger");
}

pub(crate) fn assert_fails_clearly(args: &[&str], needles: &[&str]) {
    let out = lockscope(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in {err}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_file_is_named_with_the_fix() {
    let missing = support::scratch("no-such-trace.lst");
    assert_fails_clearly(
        &["report", missing.to_str().unwrap()],
        &["no-such-trace.lst", "does not exist", "check the path"],
    );
}

#[test]
fn a_file_that_is_not_a_trace_is_named_with_the_fix() {
    let path = write("garbage.txt", b"hello, this is not a trace at all");
    assert_fails_clearly(
        &["report", path.to_str().unwrap()],
        &["garbage.txt", "not a lockscope trace", "check the path"],
    );
    let empty = write("empty.lst", b"");
    assert_fails_clearly(
        &["report", empty.to_str().unwrap(), "--json"],
        &["empty.lst", "record again"],
    );
}

#[test]
fn a_trace_from_a_newer_probe_asks_for_an_upgrade() {
    let (t, _) = bank();
    let path = write(
        "newer.lst",
        &t.bytes_with_version(lockscope_format::VERSION + 1),
    );
    assert_fails_clearly(
        &["report", path.to_str().unwrap()],
        &[
            "newer.lst",
            "format version 2",
            "upgrade the lockscope viewer",
        ],
    );
}

#[test]
fn view_screenshot_without_a_trace_says_what_is_missing() {
    let out = lockscope(&["view", "--screenshot", "out.png"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--screenshot needs a trace"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn view_rejects_a_window_size_it_cannot_use() {
    let out = lockscope(&["view", "--size", "10x10", "t.lst"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("at least 200x150"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fail_on_exits_nonzero_only_for_the_named_alert_kinds() {
    let mut t = support::TraceBuilder::new();
    t.push(lockscope_format::Record::Alert {
        ts_ns: 5,
        kind: "lock_order_inversion".into(),
        text: "inverted".into(),
        json: r#"{"locks":["a","b"],"actors":["t1","t2"]}"#.into(),
    });
    let path = support::write("fail-on.lstrace", &t.bytes());
    let p = path.to_str().unwrap();
    assert!(support::lockscope(&["report", p]).status.success());
    assert!(
        support::lockscope(&["report", p, "--fail-on", "deadlock"])
            .status
            .success()
    );
    let failing = support::lockscope(&["report", p, "--fail-on", "deadlock,lock_order_inversion"]);
    assert_eq!(failing.status.code(), Some(1));
    assert!(support::stderr(&failing).contains("lock_order_inversion"));
    assert_eq!(
        support::lockscope(&["report", p, "--fail-on", "any"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn fail_on_with_a_name_that_is_no_alert_kind_is_a_usage_error_naming_the_kinds() {
    let mut t = support::TraceBuilder::new();
    t.push(lockscope_format::Record::Alert {
        ts_ns: 5,
        kind: "deadlock".into(),
        text: "stuck".into(),
        json: r#"{"locks":["a"],"actors":["t1"]}"#.into(),
    });
    let path = support::write("fail-on-typo.lstrace", &t.bytes());
    let p = path.to_str().unwrap();
    // A typo must not pass the gate silently, even next to a valid kind.
    let out = support::lockscope(&["report", p, "--fail-on", "deadlok"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    assert!(err.contains("deadlok"), "{err}");
    assert!(err.contains("lock_order_inversion"), "{err}");
    let out = support::lockscope(&["report", p, "--fail-on", "stampede,no_such_kind"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    assert_eq!(
        support::lockscope(&["report", p, "--fail-on", "pool_leak,deadlock"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn usage_errors_exit_2_naming_the_valid_values_and_help_lists_the_exit_statuses() {
    let path = support::write("usage.lstrace", &support::TraceBuilder::new().bytes());
    let p = path.to_str().unwrap();
    let out = support::lockscope(&["export", p, "--format", "svgz"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    assert!(err.contains("folded") && err.contains("pprof"), "{err}");
    let out = support::lockscope(&["report", p, "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    let help = support::lockscope(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    for line in ["Exit status:", "  0   done", "  2   usage error", "  86  "] {
        assert!(text.contains(line), "{line:?} missing from --help:\n{text}");
    }
}

#[test]
fn a_run_under_chaos_mode_says_its_seed_and_what_was_injected_and_the_last_record_wins() {
    let (mut t, _) = bank();
    let chaos = |ts_ns, delays| lockscope_format::Record::Chaos {
        ts_ns,
        seed: 42,
        delays,
        delay_ns: 7_500_000,
        yields: 9,
        inversion_delays: 1,
    };
    t.push(chaos(100, 2)).push(chaos(200, 3));
    let path = write("chaos.lst", &t.bytes());
    let r = json_report("chaos.lst", &t.bytes());
    assert_eq!(
        r["chaos"],
        serde_json::json!({"seed": 42, "delays": 3, "delay_ns": 7_500_000, "yields": 9, "inversion_delays": 1})
    );
    let out = lockscope(&["report", path.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("chaos mode: seed 42: 3 delays (7.5 ms in all, 1 where a lock-order cycle would close) and 9 yields injected; LOCKSCOPE_CHAOS=42 repeats them"),
        "{text}"
    );

    let (plain, _) = bank();
    assert!(json_report("no-chaos.lst", &plain.bytes())["chaos"].is_null());
}
