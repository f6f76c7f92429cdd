//! Every detector's alert in one shape: a typed value built once by the detector that found
//! it (kind, locks, actors, text, structured details), rendered to JSON once, then handed to
//! the `on_alert` callbacks and into the trace. Nothing downstream parses it back.

use crate::clock;
use crate::format::Record;
use parking_lot::RwLock;
use std::sync::Arc;

/// One alert, as written into the trace and shown by `lockscope report`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Alert {
    /// `deadlock`, `starvation`, `lock_order_inversion`, `stampede`, `pool_saturation`,
    /// `pool_leak`, `stuck`.
    pub kind: String,
    /// The human-readable report.
    pub text: String,
    /// The locks (or pools, or cache keys) involved, by name.
    pub locks: Vec<String>,
    /// The actors involved, by name.
    pub actors: Vec<String>,
    /// The machine-readable report (a JSON object with at least `kind`, `locks`, `actors`).
    pub json: String,
}

impl Alert {
    /// An alert whose JSON is `details` (an object of the detector's own fields) with `kind`,
    /// `locks` and `actors` added.
    pub(crate) fn with_details(
        kind: &str,
        text: String,
        locks: Vec<String>,
        actors: Vec<String>,
        details: serde_json::Value,
    ) -> Alert {
        let mut object = match details {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        object.insert("kind".into(), kind.into());
        object.insert("locks".into(), locks.clone().into());
        object.insert("actors".into(), actors.clone().into());
        Alert {
            kind: kind.to_owned(),
            text,
            locks,
            actors,
            json: serde_json::Value::Object(object).to_string(),
        }
    }

    /// An alert for a report type that renders its own JSON (deadlocks, lock-order
    /// inversions: their public `to_json`).
    pub(crate) fn from_report(
        kind: &str,
        text: String,
        locks: Vec<String>,
        actors: Vec<String>,
        json: String,
    ) -> Alert {
        Alert {
            kind: kind.to_owned(),
            text,
            locks,
            actors,
            json,
        }
    }

    /// The trace record of this alert, stamped `ts_ns`.
    fn record(&self, ts_ns: u64) -> Record {
        Record::Alert {
            ts_ns,
            kind: self.kind.clone(),
            text: self.text.clone(),
            json: self.json.clone(),
        }
    }
}

type Callback = Arc<dyn Fn(&Alert) + Send + Sync>;
static CALLBACKS: RwLock<Vec<Callback>> = RwLock::new(Vec::new());

/// Calls `f` with every alert of every kind, from the thread that raised it. Deadlocks still
/// go to [`on_deadlock`](crate::on_deadlock) callbacks and their policy as well.
///
/// Like `on_deadlock`'s, the callback runs inside lockscope's wait paths: it must not wait for
/// locks other threads may hold.
pub fn on_alert(f: impl Fn(&Alert) + Send + Sync + 'static) {
    CALLBACKS.write().push(Arc::new(f));
}

/// Raises an alert: the `on_alert` callbacks (a panicking callback is contained), then the
/// trace (queued in the sink, never dropped; only while a recording runs).
pub(crate) fn raise(alert: &Alert) {
    {
        let mut counts = RAISED.lock();
        match counts.iter_mut().find(|(k, _)| *k == alert.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((alert.kind.clone(), 1)),
        }
    }
    let callbacks = CALLBACKS.read().clone();
    for cb in &callbacks {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(alert)));
    }
    if crate::sink::recording() {
        crate::sink::alert(&alert.record(clock::now_ns()));
    }
}

/// Alerts raised so far, by kind (a handful of kinds: a list beats a map).
static RAISED: parking_lot::Mutex<Vec<(String, u64)>> = parking_lot::Mutex::new(Vec::new());

/// How many alerts of each kind were raised since the program started, by kind.
pub(crate) fn raised() -> Vec<(String, u64)> {
    let mut v = RAISED.lock().clone();
    v.sort();
    v
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 2] {
    [&CALLBACKS, &RAISED]
}
