//! The viewer's live source against the probe's own live server: a recording in this process
//! serves 127.0.0.1, the viewer follows it and sees a contended lock and an alert as they
//! happen, then the end of the recording. (One test: recording state is process-wide.)

use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use lockscope::{Mutex, Recorder};
use lockscope_viewer::model::Model;
use lockscope_viewer::source::{LiveStatus, LiveUpdate, Source};

const DEADLINE: Duration = Duration::from_secs(30);

/// `holder` takes `m` and keeps it until `waiter` is blocked on it.
fn contend(m: &Arc<Mutex<u32>>) {
    let (locked_tx, locked_rx) = mpsc::channel();
    let mh = Arc::clone(m);
    let holder = thread::Builder::new()
        .name("holder".into())
        .spawn(move || {
            let mut g = mh.lock();
            locked_tx.send(()).unwrap();
            while mh.stats().waiters == 0 {
                thread::yield_now();
            }
            *g += 1;
        })
        .unwrap();
    locked_rx.recv().unwrap();
    let mw = Arc::clone(m);
    let waiter = thread::Builder::new()
        .name("waiter".into())
        .spawn(move || *mw.lock() += 1)
        .unwrap();
    holder.join().unwrap();
    waiter.join().unwrap();
}

/// Two threads take `a` and `b` in opposite orders, one after the other: an inversion.
fn inversion() {
    let a = Arc::new(Mutex::named("checking", 0));
    let b = Arc::new(Mutex::named("savings", 0));
    let (a1, b1, a2, b2) = (a.clone(), b.clone(), a, b);
    thread::spawn(move || {
        let _a = a1.lock();
        *b1.lock() += 1;
    })
    .join()
    .unwrap();
    thread::spawn(move || {
        let _b = b2.lock();
        *a2.lock() += 1;
    })
    .join()
    .unwrap();
}

#[test]
fn the_viewer_follows_a_recording_live_and_gets_its_alert() {
    let rec = Recorder::to_live("127.0.0.1:0")
        .expect("bind a loopback port")
        .start();
    let addr = rec.live_addr().expect("the live address").to_string();
    let live = Source::Live(addr).connect(|| {});
    // Events reach only the viewers already served (late ones get definitions, not past
    // events): contend once the recording serves this one.
    let deadline = Instant::now() + DEADLINE;
    while rec.live_viewers().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the recording never served the viewer"
        );
        thread::sleep(Duration::from_millis(1));
    }

    let ledger = Arc::new(Mutex::named("ledger", 0u32));
    contend(&ledger);
    lockscope::flush();

    let deadline = Instant::now() + DEADLINE;
    let mut model: Option<Model> = None;
    let mut alerts = Vec::new();
    let mut status = None;
    let next = |what: &str| {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {what} within {DEADLINE:?}");
        live.recv_timeout(left)
    };
    let waited_on_ledger = |m: &Option<Model>| {
        m.as_ref().is_some_and(|m| {
            m.waits
                .iter()
                .any(|w| m.class_name(w.class) == "ledger" && w.duration_ns().is_some())
        })
    };
    while !waited_on_ledger(&model) {
        match next("wait on the ledger") {
            Some(LiveUpdate::Snapshot(m)) => model = Some(*m),
            Some(LiveUpdate::Alert(a)) => alerts.push(a.kind),
            Some(LiveUpdate::Status(s)) => status = Some(s),
            None => {}
        }
    }
    assert_eq!(status, Some(LiveStatus::Connected));

    inversion();
    lockscope::flush();
    while !alerts.iter().any(|k| k == "lock_order_inversion") {
        match next("inversion alert") {
            Some(LiveUpdate::Alert(a)) => alerts.push(a.kind),
            Some(LiveUpdate::Status(s)) => status = Some(s),
            Some(LiveUpdate::Snapshot(m)) => model = Some(*m),
            None => {}
        }
    }

    drop(rec);
    while status != Some(LiveStatus::Ended) {
        match next("end of the stream") {
            Some(LiveUpdate::Status(s)) => status = Some(s),
            Some(LiveUpdate::Snapshot(m)) => model = Some(*m),
            Some(LiveUpdate::Alert(a)) => alerts.push(a.kind),
            None => {}
        }
        assert!(
            !matches!(status, Some(LiveStatus::Disconnected(_))),
            "{status:?}"
        );
    }
    let m = model.unwrap();
    assert!(m.integrity.closed, "the last snapshot has the end record");
    assert!(m.alerts.iter().any(|a| a.kind == "lock_order_inversion"));
}
