//! Lock waits and holds attributed to `tracing` spans (feature `tracing`).
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let subscriber = tracing_subscriber::registry().with(lockscope::tracing::layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     let _request = tracing::info_span!("GET /orders", user = 7).entered();
//!     let stats = lockscope::Mutex::named("stats", 0u64);
//!     *stats.lock() += 1; // a wait or hold here is attributed to "GET /orders user=7"
//! });
//! ```
//!
//! The layer keeps lockscope's per-thread current span in step with tracing's: every
//! `WaitBegin` and `Hold` in the trace names the span the waiting (or releasing) thread was
//! in, so the report and the viewer can break a lock down by endpoint or request. Each
//! distinct span (name, fields, parent) is written into the trace once, as a `Span` record,
//! the first time it is entered; spans with the same name, fields and parent share one
//! record. Fields are those the span was created with plus any recorded before it was first
//! entered, as `key=value` text.
//!
//! Past 65 536 distinct spans (a field that differs per request, such as a request id, makes
//! every span distinct), further spans are recorded by name alone, with no fields or parent,
//! and one line on stderr says so: memory stays bounded in a long-running service.
//!
//! [`Layer::with_alerts`] also emits every lockscope alert (deadlock, lock-order inversion,
//! stampede, pool saturation...) as a `tracing` event at level ERROR with target `lockscope`.

use crate::diag::warn;
use crate::format::Record;
use crate::raw::WordHasher;
use crate::sink;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::BuildHasherDefault;
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id};
use tracing_core::{Subscriber, span};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

/// Distinct spans recorded with their fields and parent, at most.
const MAX_SPANS: usize = 65_536;
/// Longest fields text kept per span, in bytes.
const MAX_FIELDS: usize = 256;

/// The `tracing-subscriber` layer that attributes lock waits and holds to the current span.
/// Made by [`layer`].
#[derive(Clone, Debug, Default)]
pub struct Layer {
    alerts: bool,
}

/// A layer for a `tracing_subscriber::registry()` (or any subscriber that looks spans up):
/// with it, every recorded wait and hold carries the span the thread was in.
pub fn layer() -> Layer {
    Layer::default()
}

impl Layer {
    /// Also emits every lockscope alert as a `tracing` event (level ERROR, target
    /// `lockscope`, fields `kind`, `locks`, `actors`, the report as the message). Alerts are
    /// still printed and written to the trace as before; installing several such layers
    /// emits each alert once.
    pub fn with_alerts(mut self, on: bool) -> Self {
        self.alerts = on;
        self
    }
}

/// The span's fields as text, until the span is first entered.
struct Fields(String);
/// The span's lockscope span id, once entered.
struct SpanId(u64);

impl<S> tracing_subscriber::Layer<S> for Layer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_layer(&mut self, _subscriber: &mut S) {
        if self.alerts {
            emit_alerts();
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut text = FieldText(String::new());
        attrs.record(&mut text);
        if !text.0.is_empty()
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().replace(Fields(text.0));
        }
    }

    fn on_record(&self, id: &Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if ext.get_mut::<SpanId>().is_some() {
            return; // already written into the trace: later values are not recorded
        }
        let mut text = FieldText(ext.remove::<Fields>().map(|f| f.0).unwrap_or_default());
        values.record(&mut text);
        ext.replace(Fields(text.0));
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            crate::span::replace(span_id(&span));
        }
    }

    fn on_exit(&self, _id: &Id, ctx: Context<'_, S>) {
        // The registry has already left `id`: whatever it calls current now is ours too.
        let now = ctx.lookup_current().map_or(0, |s| span_id(&s));
        crate::span::replace(now);
    }
}

/// The lockscope span id of `span`, writing its `Span` record (and its parents') on first use.
fn span_id<'a, R: LookupSpan<'a>>(span: &SpanRef<'a, R>) -> u64 {
    if let Some(id) = span.extensions().get::<SpanId>() {
        return id.0;
    }
    let parent = span.parent().map_or(0, |p| span_id(&p));
    let id = {
        let ext = span.extensions();
        let fields = ext.get::<Fields>().map_or("", |f| f.0.as_str());
        intern(span.name(), fields, parent)
    };
    // Two threads entering one span at once compute the same id: replacing is harmless.
    let mut ext = span.extensions_mut();
    ext.remove::<Fields>();
    ext.replace(SpanId(id));
    id
}

type SpanKey = (&'static str, String, u64);
static SPANS: Mutex<Option<HashMap<SpanKey, u64>>> = Mutex::new(None);

/// Span ids this thread has looked up, by (the name's address and length, parent), a few
/// field texts each: a service creates a span per request, and most are equal to one seen
/// before. The name is its callsite's `&'static str`, so its address stands for it: no hash
/// or comparison of its text (another callsite with the same name gets its own entry, and
/// the same id from [`intern_global`]).
type LocalSpans =
    HashMap<(usize, usize, u64), Vec<(Box<str>, u64)>, BuildHasherDefault<WordHasher>>;

thread_local! {
    static LOCAL: RefCell<LocalSpans> = RefCell::new(HashMap::default());
}
/// Keys kept per thread (the cache is emptied past this).
const LOCAL_KEYS: usize = 4096;
/// Field texts kept per key.
const LOCAL_FIELDS: usize = 8;

/// The id of the span (name, fields, parent), defining it in the trace on first use.
fn intern(name: &'static str, fields: &str, parent: u64) -> u64 {
    let key = (name.as_ptr() as usize, name.len(), parent);
    let cached = LOCAL.try_with(|l| {
        let l = l.try_borrow().ok()?;
        let known = l.get(&key)?;
        known
            .iter()
            // Most spans have no fields: told apart by length, with no call to compare.
            .find(|(f, _)| f.len() == fields.len() && (fields.is_empty() || &**f == fields))
            .map(|(_, id)| *id)
    });
    if let Ok(Some(id)) = cached {
        return id;
    }
    let id = intern_global(name, fields, parent);
    let _ = LOCAL.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            if l.len() >= LOCAL_KEYS {
                l.clear();
            }
            let known = l.entry(key).or_default();
            if known.len() < LOCAL_FIELDS {
                known.push((fields.into(), id));
            }
        }
    });
    id
}

fn intern_global(name: &'static str, fields: &str, parent: u64) -> u64 {
    static FORK_GUARDED: std::sync::Once = std::sync::Once::new();
    FORK_GUARDED.call_once(|| crate::fork::guard(&SPANS));
    let mut guard = SPANS.lock();
    let spans = guard.get_or_insert_with(HashMap::new);
    let mut key = (name, fields.to_owned(), parent);
    if let Some(&id) = spans.get(&key) {
        return id;
    }
    if spans.len() >= MAX_SPANS {
        if spans.len() == MAX_SPANS {
            warn(&format!(
                "more than {MAX_SPANS} distinct tracing spans; further spans are recorded by name only (a field that differs per request, such as an id, makes every span distinct)"
            ));
        }
        key = (name, String::new(), 0);
        if let Some(&id) = spans.get(&key) {
            return id;
        }
    }
    let id = spans.len() as u64 + 1;
    sink::define_with(|d| {
        let r = Record::Span {
            span: id,
            name: d.intern(name),
            fields: d.intern(&key.1),
            parent: key.2,
        };
        d.define(&r);
    });
    spans.insert(key, id);
    id
}

/// Collects a span's fields as `key=value key2=value2`.
struct FieldText(String);

impl FieldText {
    fn push(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        if self.0.len() >= MAX_FIELDS {
            return;
        }
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let _ = write!(self.0, "{}={value}", field.name());
        if self.0.len() > MAX_FIELDS {
            let mut cut = MAX_FIELDS;
            while !self.0.is_char_boundary(cut) {
                cut -= 1;
            }
            self.0.truncate(cut);
        }
    }
}

impl Visit for FieldText {
    fn record_str(&mut self, field: &Field, value: &str) {
        // Bare when unambiguous (`path=/a`), quoted when it would not read back as one value.
        if value.is_empty() || value.contains(|c: char| c.is_whitespace() || c == '=' || c == '"') {
            self.push(field, format_args!("{value:?}"));
        } else {
            self.push(field, format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.push(field, format_args!("{value:?}"));
    }
}

/// Installs (once per process) the alert hook that emits `tracing` events.
fn emit_alerts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        crate::detect::on_alert(|a| {
            ::tracing::error!(
                target: "lockscope",
                kind = %a.kind,
                locks = ?a.locks,
                actors = ?a.actors,
                "{}",
                a.text
            );
        });
    });
}
