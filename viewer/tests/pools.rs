//! Pools, context switches and the system-signal alerts: `lockscope report` (text and JSON)
//! and the viewer's Pools panel, over traces with a hand-computed schedule.

mod support;

use egui_kittest::kittest::Queryable as _;
use lockscope_format::{LockKind, PoolEvent, Record};
use serde_json::Value;
use support::ui::{open_panel, shows, viewer};
use support::{TraceBuilder, lockscope, stderr, stdout, write};

const MS: u64 = 1_000_000;

/// One `Pool` record.
#[allow(clippy::too_many_arguments)]
fn pool(
    t: &mut TraceBuilder,
    ts_ns: u64,
    lock: u64,
    actor: u64,
    event: PoolEvent,
    in_use: u64,
    waiters: u64,
    duration_ns: u64,
) {
    t.push(Record::Pool {
        ts_ns,
        lock,
        actor,
        event,
        permits: 1,
        in_use,
        waiters,
        capacity: 4,
        duration_ns,
    });
}

/// `db` (a semaphore of 4 permits): four workers take every permit at 0; w5 waits from
/// 100 ms; w1 releases at 300 ms (held 300 ms) and w5 gets the permit (waited 200 ms); the
/// other four release at 500 ms. The trace ends at 1 s. By hand: utilisation 4 × 500 ms /
/// (4 × 1000 ms) = 50 %, saturated 500 ms, starved 200 ms, acquire latencies 0, 0, 0, 0,
/// 200 ms. w1's scheduler samples: 0 switches at 0, 50 voluntary and 5 involuntary at 1 s.
/// Alerts: a stampede and a pool saturation.
fn pool_trace() -> TraceBuilder {
    use PoolEvent::*;
    let mut t = TraceBuilder::new();
    let w: Vec<u64> = (1..=5).map(|i| t.actor(&format!("w{i}"))).collect();
    let (_, db) = t.lock(LockKind::Semaphore, "db", "src/db.rs:7:1");
    for (i, &a) in w[..4].iter().enumerate() {
        pool(&mut t, 0, db, a, Acquire, i as u64 + 1, 0, 0);
    }
    pool(&mut t, 100 * MS, db, w[4], Wait, 4, 1, 0);
    pool(&mut t, 300 * MS, db, w[0], Release, 3, 1, 300 * MS);
    pool(&mut t, 300 * MS, db, w[4], Acquire, 4, 0, 200 * MS);
    for (i, &a) in w[1..].iter().enumerate() {
        let held = if a == w[4] { 200 * MS } else { 500 * MS };
        pool(&mut t, 500 * MS, db, a, Release, 3 - i as u64, 0, held);
    }
    for (ts_ns, voluntary, involuntary) in [(0, 0, 0), (1_000 * MS, 50, 5)] {
        t.push(Record::ThreadSched {
            ts_ns,
            actor: w[0],
            voluntary,
            involuntary,
            run_delay_ns: ts_ns / 100,
            cpu_ns: ts_ns / 4,
        });
    }
    t.push(Record::Process {
        ts_ns: 1_000 * MS,
        cpu_ns: 700 * MS,
        rss_bytes: 64 << 20,
        threads: 6,
    });
    t.push(Record::Alert {
        ts_ns: 200 * MS,
        kind: "stampede".into(),
        text: "stampede: 4 threads filled key \"user:42\" at once (3 duplicate fills)".into(),
        json: r#"{"kind":"stampede","key":"user:42","locks":[],"actors":["w1","w2","w3","w4"]}"#
            .into(),
    });
    t.push(Record::Alert {
        ts_ns: 400 * MS,
        kind: "pool_saturation".into(),
        text: "pool db: no permit free with 1 waiter for 200 ms".into(),
        json: r#"{"kind":"pool_saturation","locks":["db"],"actors":["w5"]}"#.into(),
    });
    t.push(Record::End { ts_ns: 1_000 * MS });
    t
}

fn json_report(name: &str, bytes: &[u8]) -> Value {
    let path = write(name, bytes);
    let out = lockscope(&["report", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn json_pools_have_the_hand_computed_figures() {
    let r = json_report("pools.lst", &pool_trace().bytes());
    let pools = r["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 1);
    let p = &pools[0];
    assert_eq!(
        (p["name"].as_str(), p["capacity"].as_u64()),
        (Some("db"), Some(4))
    );
    assert_eq!(p["utilisation"], 0.5);
    assert_eq!(p["saturated_ns"], 500 * MS);
    assert_eq!(p["starved_ns"], 200 * MS);
    let a = &p["acquire_ns"];
    assert_eq!(
        [&a["p50"], &a["p90"], &a["p99"], &a["max"], &a["total"]],
        [0, 200 * MS, 200 * MS, 200 * MS, 200 * MS]
    );
    assert_eq!(
        (p["acquisitions"].as_u64(), p["waited"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(
        (p["timeouts"].as_u64(), p["max_waiters"].as_u64()),
        (Some(0), Some(1))
    );
    let h = &p["hold_ns"];
    assert_eq!(
        [&h["p50"], &h["max"], &h["total"]],
        [500 * MS, 500 * MS, 2_000 * MS]
    );
    assert_eq!(p["leaks"], 0);
    assert_eq!(p["leak_threshold_ns"], 10_000 * MS);
    assert_eq!(p["observed_ns"], 1_000 * MS);
}

#[test]
fn json_threads_carry_their_switch_counts_and_rates() {
    let r = json_report("switches.lst", &pool_trace().bytes());
    let threads = r["threads"].as_array().unwrap();
    let w1 = threads.iter().find(|t| t["name"] == "w1").unwrap();
    assert_eq!(w1["voluntary_switches"], 50);
    assert_eq!(w1["involuntary_switches"], 5);
    assert_eq!(w1["voluntary_per_s"], 50.0);
    assert_eq!(w1["involuntary_per_s"], 5.0);
    assert_eq!(w1["run_delay_ns"], 10 * MS);
    assert_eq!(w1["sched_samples"], 2);
    let w2 = threads.iter().find(|t| t["name"] == "w2").unwrap();
    assert_eq!(w2["voluntary_switches"], 0, "not sampled");
    assert_eq!(w2["voluntary_per_s"], Value::Null);
    assert_eq!(r["process"]["rss_bytes"], 64 << 20);
    assert_eq!(r["process"]["threads"], 6);
}

#[test]
fn stampede_and_pool_saturation_alerts_are_reported() {
    let r = json_report("signal-alerts.lst", &pool_trace().bytes());
    let kinds: Vec<&str> = (r["alerts"].as_array().unwrap().iter())
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["stampede", "pool_saturation"]);
    assert_eq!(r["alerts"][0]["details"]["key"], "user:42");
    assert_eq!(r["alerts"][1]["locks"], serde_json::json!(["db"]));

    let path = write("signal-alerts-fail.lst", &pool_trace().bytes());
    let out = lockscope(&[
        "report",
        path.to_str().unwrap(),
        "--fail-on",
        "pool_saturation",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("[stampede] at 200 ms"), "{text}");
    assert!(text.contains("filled key \"user:42\""), "{text}");
    assert!(
        text.contains("[pool_saturation] at 400 ms; locks: db"),
        "{text}"
    );
}

#[test]
fn text_report_has_a_pools_section_and_switch_rates() {
    let path = write("pools-text.lst", &pool_trace().bytes());
    let out = lockscope(&["report", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let section = text
        .split("\nPools (semaphores), most starved first\n")
        .nth(1)
        .expect("a Pools section");
    let db = section.lines().nth(1).unwrap();
    let cells: Vec<&str> = db
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells[..8],
        [
            "db",
            "4",
            "50%",
            "500 ms (50%)",
            "200 ms (20%)",
            "5",
            "1",
            "0"
        ],
        "{db}"
    );
    assert!(
        section.contains("leaks: permits held 10.0 s or longer"),
        "{section}"
    );
    let threads = text
        .split("\nThreads, by total wait time\n")
        .nth(1)
        .unwrap();
    assert!(
        threads.lines().next().unwrap().contains("vol/s"),
        "{threads}"
    );
    let w1 = threads
        .lines()
        .find(|l| l.trim_start().starts_with("w1 "))
        .unwrap();
    assert!(
        w1.contains(" 50 ") && w1.contains(" 50.0 ") && w1.contains(" 5.0 "),
        "{w1}"
    );
}

#[test]
fn a_trace_without_pool_events_keeps_the_old_report() {
    let (t, _) = support::bank();
    let r = json_report("no-pools.lst", &t.bytes());
    assert_eq!(r["pools"], serde_json::json!([]));
    assert_eq!(r["process"], Value::Null);
    let path = write("no-pools-text.lst", &t.bytes());
    let text = stdout(&lockscope(&["report", path.to_str().unwrap()]));
    assert!(!text.contains("Pools (semaphores)"));
    assert!(!text.contains("vol/s"));
}
/// `jobs`, a bounded channel of 4 slots (lock `jobs`, room side; `jobs (recv)`, items side):
/// `producer` sends four messages at 0–30 ms (full from 30 ms), waits for room from 100 ms
/// and gets it at 300 ms when `consumer` receives one; the consumer drains it by 600 ms, then
/// waits for a message from 700 ms to the trace's end at 1 s. By hand: full 370 ms (30–400 ms), empty
/// 400 ms, 5 sends of which 1 waited (200 ms), 1 receive wait of 300 ms.
fn channel_trace() -> TraceBuilder {
    use PoolEvent::*;
    let mut t = TraceBuilder::new();
    let (producer, consumer) = (t.actor("producer"), t.actor("consumer"));
    let (_, room) = t.lock(LockKind::Semaphore, "jobs", "src/jobs.rs:3:5");
    let (_, items) = t.lock(LockKind::Semaphore, "jobs (recv)", "src/jobs.rs:3:5");
    t.push(Record::Channel { room, items });
    for i in 0..4 {
        pool(&mut t, i * 10 * MS, room, producer, Acquire, i + 1, 0, 0);
    }
    pool(&mut t, 100 * MS, room, producer, Wait, 4, 1, 0);
    pool(&mut t, 300 * MS, room, consumer, Release, 3, 1, 0);
    pool(&mut t, 300 * MS, room, producer, Acquire, 4, 0, 200 * MS);
    for (i, ts) in [400, 450, 500, 600].into_iter().enumerate() {
        pool(&mut t, ts * MS, room, consumer, Release, 3 - i as u64, 0, 0);
    }
    t.wait(
        consumer,
        items,
        "src/jobs.rs:20:9",
        0,
        &[producer],
        700 * MS,
        None,
    );
    t.push(Record::End { ts_ns: 1_000 * MS });
    t
}

#[test]
fn a_bounded_channel_is_a_pool_in_the_report_and_the_panel() {
    let r = json_report("channel.lst", &channel_trace().bytes());
    let pools = r["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 1, "the room side only: {pools:?}");
    let p = &pools[0];
    assert_eq!(
        (p["name"].as_str(), p["channel"].as_bool()),
        (Some("jobs"), Some(true))
    );
    assert_eq!(p["saturated_ns"], 370 * MS);
    assert_eq!(p["empty_ns"], 400 * MS);
    assert_eq!(
        (p["acquisitions"].as_u64(), p["waited"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(p["receiver_waits"], 1);
    assert_eq!(p["receiver_wait_ns"], 300 * MS, "still waiting at the end");

    let path = write("channel-text.lst", &channel_trace().bytes());
    let text = stdout(&lockscope(&["report", path.to_str().unwrap()]));
    assert!(
        text.contains("jobs (channel)"),
        "marked in the pools: {text}"
    );
    let section = (text.split("\nChannels (bounded)\n").nth(1)).expect("a Channels section");
    let jobs = section.lines().nth(1).unwrap();
    let cells: Vec<&str> = (jobs.split("  ").map(str::trim))
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        [
            "jobs",
            "4",
            "4",
            "370 ms (37%)",
            "400 ms (40%)",
            "5",
            "1",
            "1",
            "1",
            "300 ms"
        ],
        "{jobs}"
    );

    let mut h = viewer(&[("ui-channel.lst", channel_trace().bytes())]);
    open_panel(&mut h, "Pools");
    for text in [
        "bounded channel",
        "full 370 ms",
        "empty 400 ms",
        "5 sent, 1 waited for room",
        "1 receive waited for a message, 300 ms in all",
        "Wait for room (every send)",
    ] {
        assert!(shows(&h, text), "the Pools panel lacks {text:?}");
    }
    assert!(!shows(&h, "0 leaks"), "a channel has no permits to leak");
}

#[test]
fn pools_panel_plots_each_pool_with_its_figures() {
    let mut h = viewer(&[("ui-pools.lst", pool_trace().bytes())]);
    open_panel(&mut h, "Pools");
    for text in [
        "db",
        "capacity 4",
        "utilisation 50 %",
        "saturated 500 ms",
        "starved 200 ms",
        "5 acquisitions, 1 waited",
        "acquire p50 0 ns",
        "p99 200 ms",
        "pool_saturation at 400 ms: pool db: no permit free with 1 waiter for 200 ms",
    ] {
        assert!(shows(&h, text), "the Pools panel lacks {text:?}");
    }
    assert!(
        !shows(&h, "stampede at"),
        "only the alerts that name the pool"
    );
    assert!(
        h.query_by_label("db: in use, capacity and waiters over time")
            .is_some(),
        "the plot is there"
    );
}

#[test]
fn timeline_plots_context_switches_per_second_on_its_time_axis() {
    let mut t = TraceBuilder::new();
    let (a, b) = (t.actor("teller-a"), t.actor("teller-b"));
    let (_, ledger) = t.lock(LockKind::Mutex, "ledger", "src/bank.rs:10:5");
    t.hold(b, ledger, "src/bank.rs:41:9", 1, 100 * MS, 900 * MS);
    t.wait(
        a,
        ledger,
        "src/bank.rs:42:9",
        0,
        &[b],
        100 * MS,
        Some(900 * MS),
    );
    // teller-a switches 200 times a second all along (150 voluntary, 50 involuntary).
    for (ts_ns, voluntary, involuntary) in [(0, 0, 0), (500 * MS, 75, 25), (1_000 * MS, 150, 50)] {
        t.push(Record::ThreadSched {
            ts_ns,
            actor: a,
            voluntary,
            involuntary,
            run_delay_ns: 0,
            cpu_ns: 0,
        });
    }
    t.push(Record::End { ts_ns: 1_000 * MS });
    let mut h = viewer(&[("ui-switches.lst", t.bytes())]);
    support::ui::open_panel_then_wait(&mut h, "Timeline");
    assert!(shows(&h, "context switches/s"), "the legend names the line");
    assert!(
        shows(
            &h,
            "Context switches per second, all threads (peak 200/s in view)"
        ),
        "the strip says its peak"
    );
    assert!(
        h.query_by_label("Context switches per second over time")
            .is_some()
    );

    // A trace without scheduler samples has neither.
    let mut h = viewer(&[("ui-no-switches.lst", support::bank().0.bytes())]);
    support::ui::open_panel_then_wait(&mut h, "Timeline");
    assert!(!shows(&h, "context switches/s"));
    assert!(
        h.query_by_label("Context switches per second over time")
            .is_none()
    );
}

#[test]
fn stampede_and_pool_saturation_alerts_show_in_the_alerts_panel() {
    let mut h = viewer(&[("ui-signal-alerts.lst", pool_trace().bytes())]);
    open_panel(&mut h, "Alerts");
    for text in [
        "stampede",
        "filled key \"user:42\" at once",
        "pool_saturation",
        "pool db: no permit free with 1 waiter for 200 ms",
    ] {
        assert!(shows(&h, text), "the Alerts panel lacks {text:?}");
    }
}

#[test]
fn leaks_count_permits_held_past_the_threshold_which_the_flag_sets() {
    // w1 holds a permit of `db` for 12 s, w2 for 2 s.
    let mut t = TraceBuilder::new();
    let (w1, w2) = (t.actor("w1"), t.actor("w2"));
    let (_, db) = t.lock(LockKind::Semaphore, "db", "src/db.rs:7:1");
    pool(&mut t, 0, db, w1, PoolEvent::Acquire, 1, 0, 0);
    pool(&mut t, 0, db, w2, PoolEvent::Acquire, 2, 0, 0);
    pool(
        &mut t,
        2_000 * MS,
        db,
        w2,
        PoolEvent::Release,
        1,
        0,
        2_000 * MS,
    );
    pool(
        &mut t,
        12_000 * MS,
        db,
        w1,
        PoolEvent::Release,
        0,
        0,
        12_000 * MS,
    );
    t.push(Record::End { ts_ns: 12_000 * MS });
    let r = json_report("leaks.lst", &t.bytes());
    assert_eq!(r["pools"][0]["leaks"], 1, "12 s ≥ the default 10 s");
    let path = write("leaks-flag.lst", &t.bytes());
    let p = path.to_str().unwrap();
    let out = lockscope(&["report", p, "--json", "--pool-leak-ms", "1500"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["pools"][0]["leaks"], 2);
    assert_eq!(r["pools"][0]["leak_threshold_ns"], 1_500 * MS);
    let text = stdout(&lockscope(&["report", p, "--pool-leak-ms", "1500"]));
    assert!(
        text.contains("leaks: permits held 1.50 s or longer"),
        "{text}"
    );
}

#[test]
fn the_pools_panel_plots_the_most_starved_and_counts_the_rest() {
    // 30 pools; pool-i is starved for i ms (a waiter from 0, a release at i ms).
    let mut t = TraceBuilder::new();
    let w = t.actor("w");
    for i in 1..=30u64 {
        let (_, lock) = t.lock(
            LockKind::Semaphore,
            &format!("pool-{i:02}"),
            "src/db.rs:1:1",
        );
        pool(&mut t, 0, lock, w, PoolEvent::Acquire, 4, 0, 0);
        pool(&mut t, 0, lock, w, PoolEvent::Wait, 4, 1, 0);
        pool(&mut t, i * MS, lock, w, PoolEvent::Release, 3, 1, i * MS);
        pool(&mut t, i * MS, lock, w, PoolEvent::Acquire, 4, 0, i * MS);
    }
    t.push(Record::End { ts_ns: 100 * MS });
    let mut h = viewer(&[("ui-many-pools.lst", t.bytes())]);
    open_panel(&mut h, "Pools");
    assert!(shows(&h, "6 more pools, less starved"));
    assert!(
        h.query_by_label("pool-30").is_some(),
        "the most starved is plotted"
    );
    assert!(h.query_by_label("pool-07").is_some());
    assert!(
        h.query_by_label("pool-06").is_none(),
        "the 6 least starved are not"
    );
}
