//! Every detector's alert in one shape, for callbacks that want all of them (deadlocks,
//! lock-order inversions, stampedes, pool saturation and leaks).

use parking_lot::RwLock;
use std::sync::Arc;

/// One alert, as written into the trace and shown by `lockscope report`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Alert {
    /// `deadlock`, `starvation`, `lock_order_inversion`, `stampede`, `pool_saturation`,
    /// `pool_leak`.
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

/// Hands an alert to the `on_alert` callbacks (a panicking callback is contained).
pub(crate) fn dispatch(kind: &str, text: &str, json: &str) {
    let callbacks = CALLBACKS.read().clone();
    if callbacks.is_empty() {
        return;
    }
    let parsed: Option<serde_json::Value> = serde_json::from_str(json).ok();
    let names = |key: &str| -> Vec<String> {
        parsed
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let alert = Alert {
        kind: kind.to_owned(),
        text: text.to_owned(),
        locks: names("locks"),
        actors: names("actors"),
        json: json.to_owned(),
    };
    for cb in &callbacks {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&alert)));
    }
}
