//! `lockscope view --connect`: a live stream served by a real TCP listener on 127.0.0.1, read
//! by the viewer's live source and shown in the viewer (egui_kittest), and the ways a live
//! connection goes wrong.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui::vec2;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lockscope_format::{Header, LockKind, Record, VERSION, write_chunk};
use lockscope_viewer::app::ViewerApp;
use lockscope_viewer::model::Model;
use lockscope_viewer::source::{Live, LiveStatus, LiveUpdate, Source};
use support::TraceBuilder;
use support::ui::shows;

/// How long a test waits for the viewer to see what the server sent.
const DEADLINE: Duration = Duration::from_secs(10);

/// A one-connection server on 127.0.0.1: it accepts, then writes each piece of bytes sent
/// on the channel, and closes the connection when the channel is dropped.
fn serve() -> (String, Sender<Vec<u8>>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, server) = serve_on(listener);
    (addr, tx, server)
}

/// Like [`serve`], on a listener already bound.
fn serve_on(listener: TcpListener) -> (Sender<Vec<u8>>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let server = std::thread::Builder::new()
        .name("test-live-server".into())
        .spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // Read the viewer's hello first, as the probe's server does: a socket closed
            // with unread data resets the connection instead of ending it.
            let mut hello = Vec::new();
            let mut byte = [0u8];
            while s.read_exact(&mut byte).is_ok() && byte[0] != b'\n' {
                hello.push(byte[0]);
            }
            assert_eq!(hello, format!("hello {VERSION}").as_bytes());
            for piece in rx {
                s.write_all(&piece).unwrap();
            }
        })
        .unwrap();
    (tx, server)
}

fn header() -> Vec<u8> {
    Header {
        version: VERSION,
        flags: 0,
        epoch_unix_ns: 1_700_000_000_000_000_000,
        pid: 77,
    }
    .to_bytes()
    .to_vec()
}

/// Each record in a chunk of its own, as the recorder flushes them.
fn chunks(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        let mut payload = Vec::new();
        r.encode(&mut payload);
        write_chunk(&mut out, &payload);
    }
    out
}

/// Definitions and a contended wait on `ledger`: what a viewer sees first.
fn first_part() -> TraceBuilder {
    let mut t = TraceBuilder::new();
    let (a, b) = (t.actor("teller-a"), t.actor("teller-b"));
    let (_, ledger) = t.lock(LockKind::Mutex, "ledger", "src/bank.rs:10:5");
    t.hold(b, ledger, "src/bank.rs:41:9", 1_000, 2_000, 9_000);
    t.wait(a, ledger, "src/bank.rs:42:9", 0, &[b], 2_000, Some(9_000));
    t
}

fn deadlock_alert(ts_ns: u64) -> Record {
    Record::Alert {
        ts_ns,
        kind: "deadlock".into(),
        text: "DEADLOCK: teller-a and teller-b wait for each other".into(),
        json: r#"{"locks":["ledger"],"actors":["teller-a","teller-b"]}"#.into(),
    }
}

/// What the live source has said so far.
#[derive(Default)]
struct Seen {
    model: Option<Model>,
    alerts: Vec<String>,
    status: Option<LiveStatus>,
}

/// Reads updates until `done` holds, failing after [`DEADLINE`].
fn until(live: &Live, seen: &mut Seen, what: &str, done: impl Fn(&Seen) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {what} within {DEADLINE:?}");
        match live.recv_timeout(left) {
            Some(LiveUpdate::Snapshot(m)) => seen.model = Some(*m),
            Some(LiveUpdate::Alert(a)) => seen.alerts.push(a.kind),
            Some(LiveUpdate::Status(s)) => seen.status = Some(s),
            None => {}
        }
    }
}

fn has_lock(s: &Seen, name: &str) -> bool {
    (s.model.as_ref()).is_some_and(|m| m.classes.values().any(|c| c.name == name))
}

fn disconnected(s: &Seen) -> Option<&str> {
    match &s.status {
        Some(LiveStatus::Disconnected(why)) => Some(why),
        _ => None,
    }
}

#[test]
fn a_live_stream_shows_its_locks_then_an_alert_the_moment_it_arrives() {
    let (addr, tx, server) = serve();
    let live = Source::Live(addr.clone()).connect(|| {});
    let mut seen = Seen::default();
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    tx.send(bytes).unwrap();
    until(&live, &mut seen, "snapshot with the ledger", |s| {
        has_lock(s, "ledger")
    });
    assert_eq!(seen.status, Some(LiveStatus::Connected));
    let m = seen.model.as_ref().unwrap();
    assert_eq!(m.waits.len(), 1);
    assert_eq!(m.header.unwrap().pid, 77);
    assert!(seen.alerts.is_empty());

    tx.send(chunks(&[deadlock_alert(10_000)])).unwrap();
    until(&live, &mut seen, "alert", |s| !s.alerts.is_empty());
    assert_eq!(seen.alerts, ["deadlock"]);

    drop(tx);
    server.join().unwrap();
    until(&live, &mut seen, "disconnection", |s| {
        disconnected(s).is_some()
    });
    let why = disconnected(&seen).unwrap();
    assert!(
        why.contains(&addr) && why.contains("closed the stream without an end record"),
        "{why}"
    );
    assert_eq!(
        seen.model.as_ref().unwrap().alerts.len(),
        1,
        "the last snapshot has it"
    );
}

#[test]
fn a_stream_that_ends_cleanly_says_the_recording_finished() {
    let (addr, tx, server) = serve();
    let live = Source::Live(addr).connect(|| {});
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    bytes.extend(chunks(&[Record::End { ts_ns: 20_000 }]));
    tx.send(bytes).unwrap();
    drop(tx);
    server.join().unwrap();
    let mut seen = Seen::default();
    until(&live, &mut seen, "end", |s| {
        s.status == Some(LiveStatus::Ended)
    });
    until(&live, &mut seen, "final snapshot", |s| {
        has_lock(s, "ledger")
    });
    assert!(seen.model.unwrap().integrity.closed);
}

#[test]
fn a_refused_connection_is_named_with_the_fix() {
    // A port that was just free: nothing listens on it now.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let live = Source::Live(addr.clone()).connect(|| {});
    let mut seen = Seen::default();
    until(&live, &mut seen, "refusal", |s| disconnected(s).is_some());
    let why = disconnected(&seen).unwrap();
    assert!(why.contains("connection refused"), "{why}");
    assert!(why.contains(&format!("LOCKSCOPE_LIVE={addr}")), "{why}");
}

#[test]
fn an_address_that_is_not_host_port_is_refused_with_an_example() {
    let live = Source::Live("no-port-here".into()).connect(|| {});
    let mut seen = Seen::default();
    until(&live, &mut seen, "refusal", |s| disconnected(s).is_some());
    let why = disconnected(&seen).unwrap();
    assert!(
        why.contains("HOST:PORT") && why.contains("127.0.0.1:7878"),
        "{why}"
    );
}

#[test]
fn garbage_on_the_socket_is_named_not_a_lockscope_stream() {
    let (addr, tx, server) = serve();
    let live = Source::Live(addr).connect(|| {});
    tx.send(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())
        .unwrap();
    let mut seen = Seen::default();
    until(&live, &mut seen, "refusal", |s| disconnected(s).is_some());
    let why = disconnected(&seen).unwrap();
    assert!(why.contains("not a lockscope live stream"), "{why}");
    assert!(why.contains("LOCKSCOPE_LIVE address"), "{why}");
    assert!(seen.model.is_none());
    drop(tx);
    server.join().unwrap();
}

#[test]
fn a_stream_cut_mid_chunk_keeps_what_arrived_and_says_what_was_lost() {
    let (addr, tx, server) = serve();
    let live = Source::Live(addr).connect(|| {});
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    let alert = chunks(&[deadlock_alert(10_000)]);
    bytes.extend(&alert[..alert.len() / 2]);
    tx.send(bytes).unwrap();
    drop(tx);
    server.join().unwrap();
    let mut seen = Seen::default();
    until(&live, &mut seen, "disconnection", |s| {
        disconnected(s).is_some()
    });
    let why = disconnected(&seen).unwrap();
    assert!(why.contains("dropped mid-chunk"), "{why}");
    assert!(
        why.contains(&format!("last {} bytes", alert.len() / 2)),
        "{why}"
    );
    until(&live, &mut seen, "snapshot", |s| has_lock(s, "ledger"));
    assert!(seen.alerts.is_empty(), "the cut alert never arrived");
}

/// A harness over a viewer connected to `addr`.
fn live_viewer(addr: &str) -> Harness<'static, ViewerApp> {
    let mut app = ViewerApp::new();
    app.connect(addr.to_owned(), None);
    Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut ViewerApp| app.show_ui(ui), app)
}

/// Applies live updates and draws until `text` shows, failing after [`DEADLINE`].
fn until_shown(h: &mut Harness<'_, ViewerApp>, text: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        h.run_steps(2);
        if shows(h, text) {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "the window never showed {text:?}");
        h.state_mut().wait_for_live(left);
    }
}

#[test]
fn the_window_shows_live_data_pops_up_the_alert_and_says_when_disconnected() {
    let (addr, tx, server) = serve();
    let mut h = live_viewer(&addr);
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    tx.send(bytes).unwrap();
    until_shown(&mut h, &format!("live — connected to {addr}"));
    until_shown(&mut h, "ledger");
    assert!(
        h.query_by_label_contains("Alert: deadlock").is_none(),
        "no popup before the alert"
    );

    tx.send(chunks(&[deadlock_alert(10_000)])).unwrap();
    until_shown(&mut h, "Alert: deadlock");
    assert!(shows(
        &h,
        "DEADLOCK: teller-a and teller-b wait for each other"
    ));
    assert!(shows(&h, "Threads and tasks: teller-a, teller-b"));
    h.get_by_role_and_label(Role::Button, "Dismiss").click();
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("Alert: deadlock").is_none(),
        "dismissed"
    );

    drop(tx);
    server.join().unwrap();
    until_shown(&mut h, "live — disconnected:");
    assert!(shows(&h, "closed the stream without an end record"));
    // The data that arrived stays on screen.
    assert!(shows(&h, "ledger"));
}

#[test]
fn a_refused_connection_shows_in_the_window() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut h = live_viewer(&addr);
    until_shown(&mut h, "live — disconnected: nothing listens on");
    assert!(shows(&h, &format!("Nothing arrived from {addr}")));
}

#[test]
fn reconnect_follows_a_program_started_after_a_refusal() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let mut h = live_viewer(&addr);
    until_shown(&mut h, "live — disconnected: nothing listens on");

    // The program starts on that port; the user clicks Reconnect.
    let (tx, server) = serve_on(TcpListener::bind(&addr).unwrap());
    h.get_by_role_and_label(Role::Button, "Reconnect").click();
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    bytes.extend(chunks(&[Record::End { ts_ns: 20_000 }]));
    tx.send(bytes).unwrap();
    drop(tx);
    until_shown(&mut h, "finished recording; the stream is closed");
    until_shown(&mut h, "ledger");
    server.join().unwrap();
}

#[test]
fn reconnecting_to_the_same_program_does_not_pop_up_its_old_alerts_again() {
    let (addr, tx, server) = serve();
    let mut h = live_viewer(&addr);
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    bytes.extend(chunks(&[deadlock_alert(10_000)]));
    tx.send(bytes.clone()).unwrap();
    until_shown(&mut h, "Alert: deadlock");
    h.get_by_role_and_label(Role::Button, "Dismiss").click();
    drop(tx);
    server.join().unwrap();
    until_shown(&mut h, "live — disconnected:");

    // The program serves on, and replays its definitions and alerts to the new connection;
    // then a new alert comes.
    let (tx, server) = serve_on(TcpListener::bind(&addr).unwrap());
    h.get_by_role_and_label(Role::Button, "Reconnect").click();
    tx.send(bytes).unwrap();
    let newer = Record::Alert {
        ts_ns: 30_000,
        kind: "lock_order_inversion".into(),
        text: "checking, savings are taken in conflicting orders".into(),
        json: "{}".into(),
    };
    tx.send(chunks(&[newer])).unwrap();
    until_shown(&mut h, "Alert: lock_order_inversion");
    assert!(
        h.query_by_label_contains("Alert: deadlock").is_none(),
        "the replayed alert stays dismissed"
    );
    drop(tx);
    server.join().unwrap();
}

#[test]
fn a_program_that_starts_listening_later_is_followed_without_a_click() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let live = Source::Live(addr.clone()).connect(|| {});
    let mut seen = Seen::default();
    until(&live, &mut seen, "refusal", |s| disconnected(s).is_some());
    assert!(disconnected(&seen).unwrap().contains("retrying"));
    // The program starts on that port: the viewer connects by itself.
    let (tx, server) = serve_on(TcpListener::bind(&addr).unwrap());
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    tx.send(bytes).unwrap();
    until(&live, &mut seen, "the program's data", |s| {
        has_lock(s, "ledger")
    });
    drop(tx);
    server.join().unwrap();
}

#[test]
fn a_dropped_connection_resumes_the_same_run_and_keeps_what_arrived() {
    let (addr, tx, server) = serve();
    let live = Source::Live(addr.clone()).connect(|| {});
    let mut seen = Seen::default();
    let first = first_part();
    let mut bytes = header();
    bytes.extend(chunks(&first.records));
    tx.send(bytes).unwrap();
    until(&live, &mut seen, "the first part", |s| {
        has_lock(s, "ledger")
    });
    drop(tx);
    server.join().unwrap();
    until(&live, &mut seen, "the drop", |s| disconnected(s).is_some());

    // The same run serves again: it replays its definitions (here, all it sent), then a new
    // lock is contended.
    let (tx, server) = serve_on(TcpListener::bind(&addr).unwrap());
    let mut later = first_part();
    let (a, b) = (later.actor("teller-c"), later.actor("teller-d"));
    let (_, vault) = later.lock(LockKind::Mutex, "vault", "src/bank.rs:90:5");
    later.hold(b, vault, "src/bank.rs:91:9", 20_000, 21_000, 30_000);
    later.wait(a, vault, "src/bank.rs:92:9", 0, &[b], 21_000, Some(30_000));
    let mut bytes = header();
    bytes.extend(chunks(&later.records));
    tx.send(bytes).unwrap();
    until(&live, &mut seen, "the new lock", |s| has_lock(s, "vault"));
    let m = seen.model.as_ref().unwrap();
    assert!(has_lock(&seen, "ledger"), "what arrived before is kept");
    assert_eq!(
        m.waits.len(),
        2,
        "the ledger wait once, the vault wait once"
    );
    assert_eq!(m.holds.len(), 2);
    drop(tx);
    server.join().unwrap();
}

#[test]
fn pause_holds_the_live_view_still_and_resume_shows_what_arrived_meanwhile() {
    let (addr, tx, server) = serve();
    let mut h = live_viewer(&addr);
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    tx.send(bytes).unwrap();
    until_shown(&mut h, "ledger");
    h.get_by_role_and_label(Role::Button, "Pause").click();
    h.run_steps(2);
    assert!(shows(&h, "paused at"));
    // A new lock arrives while paused: it is received (the snapshot count grows) but not
    // shown; an alert still pops up.
    let mut t = TraceBuilder::new();
    t.lock(LockKind::Mutex, "audit-log", "src/audit.rs:3:5");
    let mut later = chunks(&t.records);
    later.extend(chunks(&[deadlock_alert(20_000)]));
    tx.send(later).unwrap();
    until_shown(&mut h, "Alert: deadlock");
    until_shown(&mut h, "newer data arrived and shows on Resume");
    let live_model = |h: &mut Harness<'_, ViewerApp>| {
        let lt = h.state_mut().active_live().unwrap();
        let v = lt.view.as_ref().unwrap();
        v.model.classes.values().any(|c| c.name == "audit-log")
    };
    assert!(!live_model(&mut h), "the view stayed as it was");
    h.get_by_role_and_label(Role::Button, "Resume").click();
    h.run_steps(2);
    assert!(live_model(&mut h), "Resume shows what arrived");
    assert!(!shows(&h, "paused at"));
    drop(tx);
    server.join().unwrap();
}

#[test]
fn save_trace_writes_the_live_session_as_a_file_report_reads() {
    let (addr, tx, server) = serve();
    let mut h = live_viewer(&addr);
    let mut bytes = header();
    bytes.extend(chunks(&first_part().records));
    bytes.extend(chunks(&[deadlock_alert(10_000)]));
    tx.send(bytes).unwrap();
    until_shown(&mut h, "Alert: deadlock");
    until_shown(&mut h, "Save trace");
    h.get_by_role_and_label(Role::Button, "Save trace").click();
    h.run_steps(2);
    // In the working directory, named after the address and the process.
    let saved = lockscope_viewer::app::live_trace_path(&addr, 77);
    let _cleanup = RemoveOnDrop(saved.clone());
    assert!(shows(&h, &format!("saved {}", saved.display())));
    let out = support::lockscope(&["report", saved.to_str().unwrap(), "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ledger = (report["locks"].as_array().unwrap().iter())
        .find(|l| l["name"] == "ledger")
        .expect("the saved trace has the ledger lock");
    assert_eq!(ledger["contentions"], 1, "{ledger}");
    assert_eq!(report["alerts"].as_array().unwrap().len(), 1);
    drop(tx);
    server.join().unwrap();
}

/// Removes a file when dropped, also when the test fails.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
