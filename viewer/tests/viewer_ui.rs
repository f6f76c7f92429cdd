//! The desktop viewer's panels driven without a window (egui_kittest): load synthetic
//! traces, click through every panel and check what a user would read.

mod support;

use egui::accesskit::Role;
use egui::{PointerButton, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lockscope_format::{LockKind, Record};
use lockscope_viewer::app::ViewerApp;
use support::ui::{bank_viewer, drag, open_panel, shows, type_into, viewer};
use support::{TraceBuilder, bank};

#[test]
fn overview_shows_facts_top_locks_threads_stuck_waiters_and_alerts() {
    let h = bank_viewer("ui-overview.lst");
    for text in [
        "Dropped events",
        "the probe dropped 3 events",
        "Most contended locks",
        "worker-1",
        "Still waiting when the trace ended (1), longest first",
        "deadlock: main waits for src/cache.rs:20:9 held by worker-1",
    ] {
        assert!(shows(&h, text), "overview lacks {text:?}");
    }
    assert!(h.query_by_label("ledger").is_some());
}

#[test]
fn with_a_lock_selected_the_overview_counts_and_lists_that_lock_only() {
    let mut h = bank_viewer("ui-overview-selected.lst");
    let link = |h: &Harness<'_, ViewerApp>, name: &str| {
        h.query_by_role_and_label(Role::Link, name).is_some()
    };
    assert!(link(&h, "ledger") && link(&h, "src/cache.rs:20:9"));
    assert!(!shows(&h, "Selection"));
    open_panel(&mut h, "Locks");
    h.get_by_label("ledger").click();
    h.run();
    open_panel(&mut h, "Overview");
    assert!(link(&h, "ledger"), "the selected lock stays listed");
    assert!(
        !link(&h, "src/cache.rs:20:9"),
        "Most contended lists the selected lock only"
    );
    assert!(shows(&h, "Selection") && shows(&h, "lock ledger"));
    // ledger's 3 of the trace's 5 contended waits (the header counts follow the selection).
    assert!(shows(&h, "3 of 5"), "the header counts the selection");
}

#[test]
fn lock_table_shows_the_figures_sorts_and_selecting_a_lock_filters_the_flamegraph() {
    let mut h = bank_viewer("ui-locks.lst");
    open_panel(&mut h, "Locks");
    for text in ["1000", "0.3 %", "103 µs", "100 µs", "src/bank.rs:10:5"] {
        assert!(shows(&h, text), "lock table lacks {text:?}");
    }
    // The first node with the name is the lock column (an unnamed lock's name is its site).
    let top = |h: &Harness<'_, ViewerApp>, name: &str| {
        h.get_all_by_label(name).next().unwrap().rect().top()
    };
    assert!(
        top(&h, "ledger") < top(&h, "src/cache.rs:20:9"),
        "most wait first"
    );
    // A named lock's creation site sits whole under its name, in the lock's own column.
    let (name, site) = (
        h.get_all_by_label("ledger").next().unwrap().rect(),
        h.get_by_label("src/bank.rs:10:5").rect(),
    );
    assert!(
        (site.left() - name.left()).abs() < 8.0 && site.top() >= name.bottom() - 1.0,
        "{name:?} {site:?}"
    );
    h.get_by_label_contains("Contentions").click();
    h.run();
    h.get_by_label_contains("Contentions").click();
    h.run();
    assert!(
        top(&h, "src/cache.rs:20:9") < top(&h, "ledger"),
        "ascending contentions: 2 before 3"
    );

    h.get_by_label("ledger").click();
    h.run();
    assert!(shows(&h, "Who made ledger wait"));
    assert!(shows(
        &h,
        "held by worker-2 (taken at src/bank.rs:41:9) — 3 waits"
    ));
    assert!(
        shows(&h, "lock ledger ×"),
        "the selection bar names the lock"
    );

    open_panel(&mut h, "Timeline");
    assert!(
        shows(&h, "lock ledger"),
        "the selected lock has its own track above the threads"
    );
    open_panel(&mut h, "Flamegraph");
    assert!(h.query_all_by_label("ledger").next().is_some());
    assert!(
        h.query_by_label("src/cache.rs:20:9").is_none(),
        "the other lock is filtered out"
    );
    h.get_by_label("lock ledger ×").click();
    h.run();
    assert!(
        h.query_by_label("src/cache.rs:20:9").is_some(),
        "back after clearing"
    );
}

#[test]
fn flamegraph_shows_wait_by_stack_zooms_on_click_and_search_counts_matches() {
    let mut h = bank_viewer("ui-flame.lst");
    open_panel(&mut h, "Flamegraph");
    assert!(shows(&h, "all — "), "the figures line");
    // 4 ended waits and main's, still going when the trace ended (counted up to its end).
    assert!(shows(&h, "5 events"));
    h.get_all_by_label("ledger").next().unwrap().hover();
    h.run();
    assert!(
        shows(&h, "ledger — 103 µs (50.6 % of all), 3 events"),
        "hover figures"
    );
    h.get_by_label("bank::transfer").click();
    h.run();
    assert!(shows(&h, "bank::transfer — 103 µs"), "zoomed on the frame");
    assert!(
        h.query_by_label("src/cache.rs:31:13").is_none(),
        "sibling hidden"
    );

    type_into(&mut h, "Search frames", "bank::");
    assert!(shows(&h, "2 frames match “bank::”"));
    assert!(
        shows(&h, "% of all)"),
        "the search says how much of the wait the matches hold"
    );

    open_panel(&mut h, "Hold by holder site");
    assert!(h.query_by_label("src/bank.rs:41:9").is_some());

    // Inverted: each lock right under the root, its holders' sites beneath it.
    open_panel(&mut h, "Wait by waiter stack");
    let top = |h: &Harness<'_, ViewerApp>, name: &str| {
        h.get_all_by_label(name).next().unwrap().rect().top()
    };
    let (root, ledger) = (top(&h, "all"), top(&h, "ledger"));
    assert!(ledger > root + 30.0, "a leaf, under its stack");
    h.get_by_label("Lock first").click();
    h.run();
    let (root, ledger) = (top(&h, "all"), top(&h, "ledger"));
    assert!(
        (ledger - root - 20.0).abs() < 1.0,
        "the lock is right under the root: {root} {ledger}"
    );
}

#[test]
fn timeline_hover_names_the_holder_and_dragging_a_range_filters_the_other_panels() {
    let mut h = bank_viewer("ui-timeline.lst");
    open_panel(&mut h, "Timeline");
    assert!(shows(&h, "worker-2"));
    assert!(shows(&h, "Showing 10.0 µs to 1.00 ms (990 µs of 990 µs)"));
    h.get_by_role_and_label(Role::Button, "Zoom in").click();
    h.run();
    assert!(shows(&h, "(495 µs of 990 µs)"), "zoomed to half the window");
    let window = |h: &Harness<'_, ViewerApp>| {
        let node = h.get_by_label_contains("Showing ");
        node.value().unwrap_or_default()
    };
    let zoomed = window(&h);
    let r = h.get_by_label("Timeline lanes").rect();
    let left = r.center() - vec2(100.0, 0.0);
    drag(&mut h, r.center(), left, PointerButton::Secondary);
    assert_ne!(window(&h), zoomed, "a right-button drag pans");
    assert!(shows(&h, "(495 µs of 990 µs)"), "panning keeps the zoom");
    h.get_by_role_and_label(Role::Button, "Fit").click();
    h.run();
    h.get_all_by_label("worker-1 waits for ledger")
        .next()
        .unwrap()
        .hover();
    h.run();
    assert!(shows(
        &h,
        "worker-1 waited 100 µs for ledger at src/bank.rs:42:9; held by worker-2 (took it at src/bank.rs:41:9"
    ));

    // Drag across the first half of the lanes: the alert at 950 µs falls outside.
    let lane_top =
        |h: &Harness<'_, ViewerApp>| h.get_all_by_label("worker-2").next().unwrap().rect().top();
    let top = lane_top(&h);
    let lanes_before = h.get_all_by_label_contains(" waits for ").count();
    let r = h.get_by_label("Timeline lanes").rect();
    let (from, to) = (r.left_center() + vec2(2.0, 0.0), r.center());
    drag(&mut h, from, to, PointerButton::Primary);
    let range_button = |n: &egui_kittest::kittest::AccessKitNode<'_>| {
        n.label()
            .is_some_and(|l| l.starts_with("time ") && l.ends_with(" ×"))
    };
    assert!(
        h.query_by(range_button).is_some(),
        "the selection bar shows the range"
    );
    open_panel(&mut h, "Alerts");
    assert!(shows(&h, "No detector raised an alert in this selection."));

    // Back on the timeline: the lanes stay where they were (the range is drawn on them, not
    // cut out of them), and the view zooms to the selection.
    open_panel(&mut h, "Timeline");
    assert_eq!(lane_top(&h), top, "no lane moved");
    assert_eq!(
        h.get_all_by_label_contains(" waits for ").count(),
        lanes_before,
        "waits outside the range stay drawn"
    );
    h.get_by_role_and_label(Role::Button, "Zoom to selection")
        .click();
    h.run();
    assert!(
        !shows(&h, "(990 µs of 990 µs)"),
        "zoomed to the selected range"
    );
    assert_eq!(lane_top(&h), top, "no lane moved");
}

/// Two threads each holding the lock the other waits for, until the trace ends.
fn deadlock() -> Vec<u8> {
    let mut t = TraceBuilder::new();
    let (a, b) = (t.actor("philosopher-1"), t.actor("philosopher-2"));
    let (_, fork1) = t.lock(LockKind::Mutex, "fork-1", "src/dine.rs:3:5");
    let (_, fork2) = t.lock(LockKind::Mutex, "fork-2", "src/dine.rs:4:5");
    t.wait(a, fork2, "src/dine.rs:10:9", 0, &[b], 1_000, None);
    t.wait(b, fork1, "src/dine.rs:11:9", 0, &[a], 1_200, None);
    t.push(Record::Alert {
        ts_ns: 5_000,
        kind: "deadlock".into(),
        text: "deadlock: philosopher-1 waits for fork-2 held by philosopher-2".into(),
        json: r#"{"locks": ["fork-1", "fork-2"], "actors": ["philosopher-1", "philosopher-2"]}"#
            .into(),
    });
    t.push(Record::End { ts_ns: 10_000 });
    t.bytes()
}

#[test]
fn wait_for_graph_highlights_the_deadlock_with_its_report() {
    let mut h = viewer(&[("ui-deadlock.lst", deadlock())]);
    assert!(shows(
        &h,
        "Deadlock: philosopher-1, philosopher-2 wait for each other"
    ));
    assert!(!shows(&h, "No lock was contended."), "stuck waiters count");
    // Who is stuck, longest wait first, with what for and held by whom.
    assert!(shows(
        &h,
        "Still waiting when the trace ended (2), longest first"
    ));
    // (The waiting list comes first; the lock table below repeats the figures.)
    let row = |h: &Harness<'_, ViewerApp>, text: &str| {
        h.get_all_by_label(text)
            .map(|n| n.rect().top())
            .fold(f32::MAX, f32::min)
    };
    assert!(
        row(&h, "9.00 µs") < row(&h, "8.80 µs"),
        "philosopher-1 (9.00 µs) above philosopher-2 (8.80 µs)"
    );
    h.get_by_label("Show the wait-for graph").click();
    h.run();
    assert!(shows(
        &h,
        "philosopher-1, philosopher-2 wait for each other and never stop waiting"
    ));
    assert!(shows(
        &h,
        "philosopher-1 waits for fork-2 (since 1.00 µs), held by philosopher-2"
    ));
    assert!(shows(
        &h,
        "deadlock: philosopher-1 waits for fork-2 held by philosopher-2"
    ));
    // The stuck waits count up to the trace's end (10 µs) everywhere: 9.00 µs on fork-2,
    // 8.80 µs on fork-1, and the flamegraph has them though no wait ever ended.
    open_panel(&mut h, "Locks");
    assert!(shows(&h, "9.00 µs") && shows(&h, "8.80 µs"));
    open_panel(&mut h, "Flamegraph");
    assert!(!shows(&h, "No contended wait"), "the stuck waits are drawn");
    assert!(h.query_all_by_label_contains("fork-2").next().is_some());
}

#[test]
fn alerts_panel_shows_each_report_in_full() {
    let mut h = bank_viewer("ui-alerts.lst");
    open_panel(&mut h, "Alerts");
    assert!(shows(&h, "worker-1 waits for ledger held by main"));
    assert!(shows(&h, "Threads and tasks: main, worker-1"));
}

#[test]
fn diff_shows_per_lock_deltas_against_the_other_open_trace() {
    let mut base = TraceBuilder::new();
    base.lock(LockKind::Mutex, "ledger", "src/bank.rs:10:5");
    base.push(Record::End { ts_ns: 1_000 });
    let mut h = viewer(&[
        ("ui-diff-base.lst", base.bytes()),
        ("ui-diff-new.lst", bank().0.bytes()),
    ]);
    open_panel(&mut h, "Diff");
    assert!(shows(&h, "Changes from ui-diff-base.lst to this trace"));
    assert!(h.query_by_label("+3").is_some(), "three more contentions");
    assert!(h.query_by_label("+103 µs").is_some(), "more total wait");
    assert!(shows(&h, "Differential flamegraph of wait time"));
}

#[test]
fn a_deadlock_between_tasks_of_one_name_names_each_by_its_task_id() {
    let mut t = TraceBuilder::new();
    let (a, b) = (t.task("GET /refund", 7), t.task("GET /refund", 9));
    let (_, acct1) = t.lock(LockKind::Mutex, "account-1", "src/svc.rs:3:5");
    let (_, acct2) = t.lock(LockKind::Mutex, "account-2", "src/svc.rs:4:5");
    t.wait(a, acct2, "src/svc.rs:10:9", 0, &[b], 1_000, None);
    t.wait(b, acct1, "src/svc.rs:11:9", 0, &[a], 1_200, None);
    let json = format!(
        r#"{{"locks": ["account-1", "account-2"], "actors": ["GET /refund", "GET /refund"],
            "participants": [{{"actor": {a}}}, {{"actor": {b}}}]}}"#
    );
    t.push(Record::Alert {
        ts_ns: 5_000,
        kind: "deadlock".into(),
        text: "deadlock".into(),
        json,
    });
    t.push(Record::End { ts_ns: 10_000 });
    let h = viewer(&[("ui-task-deadlock.lst", t.bytes())]);
    assert!(
        shows(
            &h,
            "Deadlock: GET /refund (task 7), GET /refund (task 9) wait for each other"
        ),
        "each task told apart, as in every other view"
    );
}

#[test]
fn a_task_s_spawn_site_is_in_the_overview_and_its_timeline_lane_s_hover() {
    let mut t = TraceBuilder::new();
    let main = t.actor("main");
    let teller = t.spawned_task("teller-a", 13, "src/bin/teller.rs:42:5");
    let (_, ledger) = t.lock(LockKind::Mutex, "ledger", "src/bank.rs:10:5");
    t.wait(
        teller,
        ledger,
        "src/bank.rs:42:9",
        0,
        &[main],
        1_000,
        Some(5_000),
    );
    t.push(Record::End { ts_ns: 10_000 });
    let mut h = viewer(&[("ui-task-identity.lst", t.bytes())]);
    assert!(shows(&h, "Spawned at"), "the overview's thread table");
    assert!(shows(&h, "src/bin/teller.rs:42:5"));
    open_panel(&mut h, "Timeline");
    h.get_all_by_label("teller-a").next().unwrap().hover();
    h.run();
    assert!(shows(
        &h,
        "teller-a: task 13, spawned at src/bin/teller.rs:42:5"
    ));
}

#[test]
fn the_sandwich_lists_frames_and_splits_the_picked_one_into_callers_and_callees() {
    let mut h = bank_viewer("ui-sandwich.lst");
    open_panel(&mut h, "Flamegraph");
    open_panel(&mut h, "Sandwich");
    // Frames by total time: bank::main and bank::transfer are on all 103 µs of ledger's
    // waits; bank::transfer waited itself, so the time is its own (self) too.
    for text in [
        "bank::transfer",
        "bank::main",
        "ledger (lock)",
        "Self",
        "Total",
    ] {
        assert!(shows(&h, text), "the table lacks {text:?}");
    }
    assert!(shows(&h, "Pick a frame above"));
    h.get_by_label("bank::transfer").click();
    h.run();
    assert!(shows(&h, "Callers of bank::transfer"));
    assert!(shows(&h, "Callees of bank::transfer"));
    // The callers graph: bank::transfer at its root, bank::main under it; the callees
    // graph: ledger under it, with all of the frame's time.
    h.get_all_by_label("bank::main").last().unwrap().hover();
    h.run();
    assert!(
        shows(&h, "bank::main — 103 µs (100.0 % of all)"),
        "hover figures of the caller"
    );

    // Right-clicking a frame in the flame graph opens its sandwich.
    open_panel(&mut h, "Flame graph");
    h.get_by_label("bank::main").click_secondary();
    h.run();
    assert!(shows(&h, "Callers of bank::main"));
}

/// The bank trace plus causal experiments: `queue` at 50 % predicts +25 %, `stats` nothing.
fn with_causal_experiments() -> Vec<u8> {
    let (mut t, _) = bank();
    let (queue, _) = t.lock(LockKind::Mutex, "queue", "src/q.rs:1:1");
    let (stats, _) = t.lock(LockKind::Mutex, "stats", "src/s.rs:1:1");
    let run = |class, speedup_pct, count, delay_ns| Record::Causal {
        ts_ns: 900_000,
        class,
        speedup_pct,
        duration_ns: 100_000_000,
        delay_ns,
        progress: "requests".into(),
        count,
    };
    for r in [
        run(queue, 0, 990, 0),
        run(stats, 0, 1010, 0),
        run(queue, 0, 1000, 0),
        run(queue, 50, 1000, 20_000_000),
        run(queue, 50, 1000, 20_000_000),
        run(stats, 50, 900, 10_000_000),
        run(stats, 50, 900, 10_000_000),
    ] {
        t.push(r);
    }
    t.bytes()
}

#[test]
fn the_causal_panel_ranks_locks_by_predicted_throughput_with_the_reports_figures() {
    let bytes = with_causal_experiments();
    let mut h = viewer(&[("ui-causal.lst", bytes.clone())]);
    open_panel(&mut h, "Causal");
    assert!(shows(&h, "7 experiments, 3 baselines for \"requests\""));
    assert!(shows(&h, "Impact"));
    // The report's text has the same cells: one definition for both.
    let path = support::write("ui-causal-report.lst", &bytes);
    let out = support::lockscope(&["report", path.to_str().unwrap()]);
    let whole = support::stdout(&out);
    let report = whole
        .split_once("Causal profile")
        .unwrap_or_else(|| panic!("no causal section in:\n{whole}"))
        .1;
    let queue_row = report
        .lines()
        .find(|l| l.trim_start().starts_with("queue "))
        .unwrap_or_else(|| panic!("no queue row in:\n{report}"));
    let cell = queue_row
        .split_whitespace()
        .skip(3)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(cell.starts_with("+25.0 ±"), "{queue_row}");
    assert!(shows(&h, &cell), "the panel shows the report's {cell:?}");
    let stats_row = report
        .lines()
        .find(|l| l.trim_start().starts_with("stats "))
        .unwrap();
    assert!(stats_row.contains("+0.0"), "{stats_row}");
    assert!(
        report.find("  queue ") < report.find("  stats "),
        "queue ranks first:\n{report}"
    );
    // Without experiments the panel says how to get them.
    let mut plain = viewer(&[("ui-no-causal.lst", bank().0.bytes())]);
    open_panel(&mut plain, "Causal");
    assert!(shows(&plain, "LOCKSCOPE_CAUSAL=1"));
}
