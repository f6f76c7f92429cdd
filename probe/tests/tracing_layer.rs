//! The tracing layer: waits and holds land in the trace with the span the thread was in,
//! nested spans keep their parents, and alerts can come out as tracing events. Each test runs
//! in a fresh child process: the subscriber, the recorder and the alert hooks are global.

mod support;

use lockscope::format::{self, Record, Trace};
use lockscope::{Mutex, Recorder};
use std::sync::{Arc, mpsc};
use std::thread;
use support::*;
use tracing_subscriber::layer::SubscriberExt;

/// Thread "holder" holds `m` until thread "waiter", inside whatever spans `enter` opens,
/// waits for it; the holder itself runs inside `holder_span`, if any.
fn contend_in(
    m: &Arc<Mutex<u32>>,
    holder_span: Option<&'static str>,
    enter: impl FnOnce() -> Vec<tracing::span::EnteredSpan> + Send + 'static,
) {
    let (locked_tx, locked_rx) = mpsc::channel();
    let mh = m.clone();
    let holder = thread::Builder::new()
        .name("holder".into())
        .spawn(move || {
            let _s = holder_span.map(|name| tracing::info_span!("holder", job = name).entered());
            let mut g = mh.lock();
            locked_tx.send(()).unwrap();
            while mh.stats().waiters == 0 {
                thread::yield_now();
            }
            *g += 1;
        })
        .unwrap();
    locked_rx.recv().unwrap();
    let mw = m.clone();
    let waiter = thread::Builder::new()
        .name("waiter".into())
        .spawn(move || {
            let _spans = enter();
            *mw.lock() += 1;
        })
        .unwrap();
    holder.join().unwrap();
    waiter.join().unwrap();
}

/// (name, fields, parent) of span `id`.
fn span(t: &Trace, id: u64) -> (String, String, u64) {
    t.records
        .iter()
        .find_map(|r| match r {
            Record::Span {
                span,
                name,
                fields,
                parent,
            } if *span == id => Some((
                string(t, *name).unwrap_or("").to_owned(),
                string(t, *fields).unwrap_or("").to_owned(),
                *parent,
            )),
            _ => None,
        })
        .unwrap_or_else(|| panic!("span {id} is not defined"))
}

/// The span of every wait on the only instance of the class named `class`, in the order the
/// waits began (records of different threads reach the file in the order their buffers were
/// flushed, not in time order).
fn wait_spans(t: &Trace, class: &str) -> Vec<u64> {
    let lock = locks_of(t, class_named(t, class))[0];
    let mut waits: Vec<(u64, u64)> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::WaitBegin {
                lock: l,
                span,
                ts_ns,
                ..
            } if *l == lock => Some((*ts_ns, *span)),
            _ => None,
        })
        .collect();
    waits.sort_unstable();
    waits.into_iter().map(|(_, span)| span).collect()
}

#[test]
fn waits_land_in_the_trace_with_their_spans_and_nested_spans_keep_parents() {
    const NAME: &str = "waits_land_in_the_trace_with_their_spans_and_nested_spans_keep_parents";
    let path = trace_path(NAME);
    if is_child(NAME) {
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(lockscope::tracing::layer()),
        )
        .unwrap();
        let rec = Recorder::to_file(&path).unwrap().start();
        let a = Arc::new(Mutex::named("by-endpoint", 0));
        contend_in(&a, Some("report"), || {
            vec![tracing::info_span!("GET /a").entered()]
        });
        contend_in(&a, None, || {
            vec![tracing::info_span!("GET /b", user = 7, path = "/b", note = "two words").entered()]
        });
        contend_in(&a, None, || {
            let outer = tracing::info_span!("request", id = 1).entered();
            let inner = tracing::info_span!("db").entered();
            vec![inner, outer]
        });
        // A span entered and left again: the wait after it is in no span.
        contend_in(&a, None, || {
            drop(tracing::info_span!("GET /c").entered());
            Vec::new()
        });
        // The same span name and fields from two requests: one span record.
        for _ in 0..2 {
            contend_in(&a, None, || vec![tracing::info_span!("GET /a").entered()]);
        }
        drop(a);
        drop(rec);
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
    let t = format::read_file(&path).unwrap();
    assert!(t.is_complete());
    let spans = wait_spans(&t, "by-endpoint");
    assert_eq!(spans.len(), 6, "{spans:?}");
    assert_eq!(span(&t, spans[0]), ("GET /a".into(), String::new(), 0));
    assert_eq!(
        span(&t, spans[1]),
        (
            "GET /b".into(),
            "user=7 path=/b note=\"two words\"".into(),
            0
        )
    );
    let (name, fields, parent) = span(&t, spans[2]);
    assert_eq!((name.as_str(), fields.as_str()), ("db", ""));
    assert_eq!(span(&t, parent), ("request".into(), "id=1".into(), 0));
    assert_eq!(spans[3], 0, "no span after leaving one");
    assert_eq!(
        (spans[4], spans[5]),
        (spans[0], spans[0]),
        "equal spans share one record"
    );
    let span_records = t
        .records
        .iter()
        .filter(|r| matches!(r, Record::Span { .. }))
        .count();
    assert_eq!(
        span_records, 6,
        "GET /a, GET /b, request, db, GET /c, the holder's"
    );
    // The holder's hold that the first waiter waited on carries the holder's span.
    let holds: Vec<u64> = t
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Hold {
                contended_ns, span, ..
            } if *contended_ns != 0 => Some(*span),
            _ => None,
        })
        .collect();
    assert_eq!(
        span(&t, holds[0]),
        ("holder".into(), "job=report".into(), 0)
    );
}

#[test]
fn alerts_come_out_as_tracing_events_with_target_lockscope() {
    const NAME: &str = "alerts_come_out_as_tracing_events_with_target_lockscope";
    if is_child(NAME) {
        #[derive(Clone, Default)]
        struct Seen(Arc<std::sync::Mutex<Vec<(String, tracing::Level, String)>>>);
        struct Message<'a>(&'a mut String);
        impl tracing::field::Visit for Message<'_> {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                use std::fmt::Write;
                let _ = write!(self.0, "{}={v:?};", f.name());
            }
        }
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Seen {
            fn on_event(
                &self,
                e: &tracing::Event<'_>,
                _: tracing_subscriber::layer::Context<'_, S>,
            ) {
                let mut text = String::new();
                e.record(&mut Message(&mut text));
                let m = e.metadata();
                self.0
                    .lock()
                    .unwrap()
                    .push((m.target().to_owned(), *m.level(), text));
            }
        }
        let seen = Seen::default();
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry()
                .with(lockscope::tracing::layer().with_alerts(true))
                .with(lockscope::tracing::layer().with_alerts(true))
                .with(seen.clone()),
        )
        .unwrap();
        inversion("alpha", "beta");
        let events = seen.0.lock().unwrap().clone();
        assert_eq!(events.len(), 1, "one event per alert: {events:?}");
        let (target, level, text) = &events[0];
        assert_eq!(
            (target.as_str(), *level),
            ("lockscope", tracing::Level::ERROR)
        );
        assert!(
            text.contains("kind=lock_order_inversion")
                && text.contains("LOCK ORDER INVERSION")
                && text.contains("alpha")
                && text.contains("beta"),
            "{text}"
        );
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn a_live_viewer_connecting_late_gets_the_spans_defined_before_it() {
    const NAME: &str = "a_live_viewer_connecting_late_gets_the_spans_defined_before_it";
    if is_child(NAME) {
        use std::io::{Read, Write};
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(lockscope::tracing::layer()),
        )
        .unwrap();
        let rec = Recorder::to_live("127.0.0.1:0").unwrap().start();
        let a = Arc::new(Mutex::named("spanned", 0));
        // The span is defined (first entered) before the viewer connects...
        contend_in(&a, None, || {
            vec![tracing::info_span!("GET /early").entered()]
        });
        assert!(lockscope::flush());
        let mut s = std::net::TcpStream::connect(rec.live_addr().unwrap()).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        s.write_all(b"hello 1\n").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while rec.live_viewers().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "viewer never accepted"
            );
            thread::sleep(std::time::Duration::from_millis(1));
        }
        // ...and used again after: the wait names a span the viewer was sent with the replay.
        contend_in(&a, None, || {
            vec![tracing::info_span!("GET /early").entered()]
        });
        drop(rec);
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).unwrap();
        let t = format::decode(&bytes).unwrap();
        assert!(t.is_complete());
        let spans = wait_spans(&t, "spanned");
        assert_eq!(spans.len(), 1, "only the wait after connecting: {spans:?}");
        assert_eq!(span(&t, spans[0]), ("GET /early".into(), String::new(), 0));
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}
