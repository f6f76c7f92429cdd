//! Lock time by tracing span: `lockscope report` (text and JSON) and the Locks panel's
//! breakdown under the selected lock.

mod support;

use egui_kittest::kittest::Queryable as _;
use lockscope_format::{LockKind, Mode, Outcome, Record};
use serde_json::Value;
use support::ui::{open_panel, shows, viewer};
use support::{TraceBuilder, lockscope, stderr, stdout, write};

/// `accounts` (a mutex): in span `POST /transfer` (fields `user=7`) w1 waits 300 µs and
/// 100 µs; in `GET /balance` w2 waits 50 µs; one wait outside any span (20 µs). The holder
/// w3 holds it 400 µs inside `POST /transfer` and 30 µs inside `GET /balance`.
fn span_trace() -> TraceBuilder {
    let mut t = TraceBuilder::new();
    let (w1, w2, w3) = (t.actor("w1"), t.actor("w2"), t.actor("w3"));
    let (_, accounts) = t.lock(LockKind::Mutex, "accounts", "src/bank.rs:3:1");
    let span = |t: &mut TraceBuilder, id: u64, name: &str, fields: &str| {
        let (name, fields) = (t.str(name), t.str(fields));
        t.push(Record::Span {
            span: id,
            name,
            fields,
            parent: 0,
        });
    };
    span(&mut t, 9_001, "POST /transfer", "user=7");
    span(&mut t, 9_002, "GET /balance", "");
    let wait = |t: &mut TraceBuilder, actor: u64, from: u64, to: u64, span: u64| {
        t.push(Record::WaitBegin {
            ts_ns: from * 1_000,
            actor,
            lock: accounts,
            mode: Mode::Exclusive,
            site: 0,
            stack: 0,
            holders: vec![w3],
            span,
        });
        t.push(Record::WaitEnd {
            ts_ns: to * 1_000,
            actor,
            lock: accounts,
            outcome: Outcome::Acquired,
        });
    };
    wait(&mut t, w1, 100, 400, 9_001);
    wait(&mut t, w1, 500, 600, 9_001);
    wait(&mut t, w2, 700, 750, 9_002);
    wait(&mut t, w2, 800, 820, 0);
    for (from, to, span) in [(50, 450, 9_001), (720, 750, 9_002)] {
        t.push(Record::Hold {
            begin_ns: from * 1_000,
            contended_ns: 0,
            end_ns: to * 1_000,
            actor: w3,
            lock: accounts,
            mode: Mode::Exclusive,
            site: 0,
            span,
        });
    }
    t.push(Record::End { ts_ns: 1_000_000 });
    t
}

#[test]
fn json_locks_break_down_by_span() {
    let path = write("spans.lst", &span_trace().bytes());
    let out = lockscope(&["report", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by = r["locks"][0]["by_span"].as_array().unwrap();
    let got: Vec<(Value, Value, Value, Value, Value)> = (by.iter())
        .map(|s| {
            let f = |k: &str| s.get(k).cloned().unwrap_or(Value::Null);
            (
                f("span"),
                f("fields"),
                f("waits"),
                f("wait_ns_total"),
                f("hold_ns_total"),
            )
        })
        .collect();
    use serde_json::json;
    assert_eq!(
        got,
        [
            (
                json!("POST /transfer"),
                json!("user=7"),
                json!(2),
                json!(400_000),
                json!(400_000)
            ),
            (
                json!("GET /balance"),
                Value::Null,
                json!(1),
                json!(50_000),
                json!(30_000)
            ),
            (Value::Null, Value::Null, json!(1), json!(20_000), json!(0)),
        ]
    );
}

#[test]
fn text_report_lists_the_top_spans_per_lock() {
    let path = write("spans-text.lst", &span_trace().bytes());
    let out = lockscope(&["report", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let section = text
        .split("\nLocks by tracing span (top 5 per lock, most wait first)\n")
        .nth(1)
        .expect("a spans section");
    let lines: Vec<&str> = section.lines().take(5).collect();
    assert_eq!(lines[0].trim(), "accounts");
    assert!(
        lines[1].contains("span") && lines[1].contains("total wait"),
        "{section}"
    );
    assert!(
        lines[2].trim_start().starts_with("POST /transfer{user=7}"),
        "{section}"
    );
    assert!(lines[2].contains("400 µs"), "{section}");
    assert!(
        lines[3].trim_start().starts_with("GET /balance"),
        "{section}"
    );
    assert!(lines[4].trim_start().starts_with("(no span)"), "{section}");
}

#[test]
fn a_trace_without_spans_has_no_span_section() {
    let (t, _) = support::bank();
    let path = write("no-spans.lst", &t.bytes());
    let out = lockscope(&["report", path.to_str().unwrap()]);
    assert!(!stdout(&out).contains("Locks by tracing span"));
}

#[test]
fn the_selected_lock_shows_its_spans_in_the_locks_panel() {
    let mut h = viewer(&[("ui-spans.lst", span_trace().bytes())]);
    open_panel(&mut h, "Locks");
    assert!(
        !shows(&h, "accounts by tracing span"),
        "nothing selected yet"
    );
    h.get_by_label("accounts").click();
    h.run();
    for text in [
        "accounts by tracing span",
        "POST /transfer",
        "user=7",
        "GET /balance",
        "(no span)",
        "400 µs",
    ] {
        assert!(shows(&h, text), "the span breakdown lacks {text:?}");
    }
}

#[test]
fn timeline_hover_names_the_span_of_a_wait() {
    let mut h = viewer(&[("ui-spans-timeline.lst", span_trace().bytes())]);
    support::ui::open_panel_then_wait(&mut h, "Timeline");
    h.get_all_by_label("w1 waits for accounts")
        .next()
        .unwrap()
        .hover();
    h.run();
    let hover = "w1 waited 300 µs for accounts at unknown site in POST /transfer{user=7}; \
                 held by w3";
    assert!(shows(&h, hover), "the hover names the span");
}
