//! Tracing spans: the `Span` records a trace defines (name, fields, parent), which waits and
//! holds refer to, so lock time can be grouped by endpoint or request.

use lockscope_format::Record;

use super::Model;
pub use super::series::{SpanDef, SpanTable};

impl Model {
    /// Adds a `Span` record (other records are ignored).
    pub(super) fn add_span(&mut self, r: Record) {
        if let Record::Span {
            span,
            name,
            fields,
            parent,
        } = r
        {
            let def = SpanDef {
                name: self.text(name).to_owned(),
                fields: self.text(fields).to_owned(),
                parent,
            };
            self.spans.by_id.insert(span, def);
        }
    }
}

/// Above this many distinct (span name, fields) groups on one lock class, the class's spans
/// are grouped by name alone: fields that carry a request id would make every group one
/// request.
pub const MAX_GROUPS_PER_CLASS: usize = 50;

/// Lock time of one class spent under one span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanRow {
    /// The lock class.
    pub class: u64,
    /// The span's name; `None` for waits and holds outside any span.
    pub span: Option<String>,
    /// The span's fields, when the group is one (name, fields) pair and it had fields.
    pub fields: Option<String>,
    /// Contended waits in the span.
    pub waits: u64,
    /// Their summed time (waits that ended).
    pub wait_ns_total: u64,
    /// The longest of them.
    pub wait_ns_max: u64,
    /// Recorded holds in the span.
    pub holds: u64,
    /// Their summed known time.
    pub hold_ns_total: u64,
}

impl Model {
    /// True when some wait or hold carries a span: only then is a breakdown by span worth
    /// showing.
    pub fn has_spans(&self) -> bool {
        !self.spans.is_empty()
            || self.waits.iter().any(|w| w.span != 0)
            || self.holds.iter().any(|h| h.span != 0)
    }

    /// Lock time by span for every class, each class's groups most total wait first (then
    /// most hold time). Empty when the trace has no spans.
    pub fn span_rows(&self) -> Vec<SpanRow> {
        self.span_rows_where(|_| true)
    }

    /// Like [`Model::span_rows`], for one class.
    pub fn span_rows_of(&self, class: u64) -> Vec<SpanRow> {
        self.span_rows_where(|c| c == class)
    }

    fn span_rows_where(&self, keep: impl Fn(u64) -> bool) -> Vec<SpanRow> {
        if !self.has_spans() {
            return Vec::new();
        }
        // (class, span name, fields) → row; names and fields resolved once per span id.
        let mut groups: std::collections::HashMap<(u64, Option<&str>, Option<&str>), SpanRow> =
            Default::default();
        let label = |span: u64| -> (Option<&str>, Option<&str>) {
            match self.spans.by_id.get(&span) {
                _ if span == 0 => (None, None),
                Some(d) => (
                    Some(d.name.as_str()),
                    (!d.fields.is_empty()).then_some(d.fields.as_str()),
                ),
                None => (Some("(span definition lost)"), None),
            }
        };
        fn row<'a, 'm>(
            groups: &'a mut std::collections::HashMap<
                (u64, Option<&'m str>, Option<&'m str>),
                SpanRow,
            >,
            class: u64,
            (name, fields): (Option<&'m str>, Option<&'m str>),
        ) -> &'a mut SpanRow {
            groups
                .entry((class, name, fields))
                .or_insert_with(|| SpanRow {
                    class,
                    span: name.map(str::to_owned),
                    fields: fields.map(str::to_owned),
                    waits: 0,
                    wait_ns_total: 0,
                    wait_ns_max: 0,
                    holds: 0,
                    hold_ns_total: 0,
                })
        }
        for w in self.waits.iter().filter(|w| keep(w.class)) {
            let r = row(&mut groups, w.class, label(w.span));
            r.waits += 1;
            if let Some(d) = self.waited_ns(&w) {
                r.wait_ns_total = r.wait_ns_total.saturating_add(d);
                r.wait_ns_max = r.wait_ns_max.max(d);
            }
        }
        for h in self.holds.iter().filter(|h| keep(h.class)) {
            let r = row(&mut groups, h.class, label(h.span));
            r.holds += 1;
            r.hold_ns_total = r.hold_ns_total.saturating_add(self.held_ns(&h));
        }
        let mut by_class: std::collections::BTreeMap<u64, Vec<SpanRow>> = Default::default();
        for r in groups.into_values() {
            by_class.entry(r.class).or_default().push(r);
        }
        let mut out = Vec::new();
        for (_, mut rows) in by_class {
            if rows.len() > MAX_GROUPS_PER_CLASS {
                rows = merge_fields(rows);
            }
            rows.sort_by(|a, b| {
                (b.wait_ns_total.cmp(&a.wait_ns_total))
                    .then(b.hold_ns_total.cmp(&a.hold_ns_total))
                    .then(b.waits.cmp(&a.waits))
                    .then((&a.span, &a.fields).cmp(&(&b.span, &b.fields)))
            });
            out.extend(rows);
        }
        out
    }
}

/// Merges the groups of one class that share a span name.
fn merge_fields(rows: Vec<SpanRow>) -> Vec<SpanRow> {
    let mut by_name: std::collections::BTreeMap<Option<String>, SpanRow> = Default::default();
    for r in rows {
        let m = by_name.entry(r.span.clone()).or_insert_with(|| SpanRow {
            fields: None,
            waits: 0,
            wait_ns_total: 0,
            wait_ns_max: 0,
            holds: 0,
            hold_ns_total: 0,
            ..r.clone()
        });
        m.waits += r.waits;
        m.wait_ns_total = m.wait_ns_total.saturating_add(r.wait_ns_total);
        m.wait_ns_max = m.wait_ns_max.max(r.wait_ns_max);
        m.holds += r.holds;
        m.hold_ns_total = m.hold_ns_total.saturating_add(r.hold_ns_total);
    }
    by_name.into_values().collect()
}

#[cfg(test)]
mod tests {
    use lockscope_format::{Mode, Outcome, Record};

    use super::MAX_GROUPS_PER_CLASS;
    use crate::model::tests_support::{definitions, model};

    fn span(r: &mut Vec<Record>, id: u64, name: &str, fields: &str) {
        r.push(Record::String {
            id: 1_000 + id * 2,
            text: name.into(),
        });
        r.push(Record::String {
            id: 1_001 + id * 2,
            text: fields.into(),
        });
        r.push(Record::Span {
            span: id,
            name: 1_000 + id * 2,
            fields: if fields.is_empty() { 0 } else { 1_001 + id * 2 },
            parent: 0,
        });
    }

    fn wait(r: &mut Vec<Record>, begin: u64, end: u64, actor: u64, lock: u64, span: u64) {
        r.push(Record::WaitBegin {
            ts_ns: begin,
            actor,
            lock,
            mode: Mode::Exclusive,
            site: 0,
            stack: 0,
            holders: vec![],
            span,
        });
        r.push(Record::WaitEnd {
            ts_ns: end,
            actor,
            lock,
            outcome: Outcome::Acquired,
        });
    }

    fn hold(r: &mut Vec<Record>, begin: u64, end: u64, actor: u64, lock: u64, span: u64) {
        r.push(Record::Hold {
            begin_ns: begin,
            contended_ns: 0,
            end_ns: end,
            actor,
            lock,
            mode: Mode::Exclusive,
            site: 0,
            span,
        });
    }

    #[test]
    fn waits_and_holds_are_grouped_by_span_per_lock() {
        let mut r = definitions();
        span(&mut r, 1, "transfer", "route=/transfer");
        span(&mut r, 2, "balance", "");
        // alpha (lock 11): transfer waits 100 and 300, balance waits 50; holds in both and
        // one outside any span. beta (lock 21): one wait in balance.
        wait(&mut r, 0, 100, 1, 11, 1);
        wait(&mut r, 200, 500, 2, 11, 1);
        wait(&mut r, 600, 650, 3, 11, 2);
        hold(&mut r, 10, 200, 3, 11, 1);
        hold(&mut r, 700, 710, 3, 11, 2);
        hold(&mut r, 800, 900, 3, 11, 0);
        wait(&mut r, 1_000, 1_001, 1, 21, 2);
        let m = model(r);
        let rows = m.span_rows_of(10);
        let got: Vec<_> = (rows.iter())
            .map(|r| {
                let f = (r.span.as_deref(), r.fields.as_deref());
                (
                    f,
                    r.waits,
                    r.wait_ns_total,
                    r.wait_ns_max,
                    r.holds,
                    r.hold_ns_total,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    (Some("transfer"), Some("route=/transfer")),
                    2,
                    400,
                    300,
                    1,
                    190
                ),
                ((Some("balance"), None), 1, 50, 50, 1, 10),
                ((None, None), 0, 0, 0, 1, 100),
            ]
        );
        assert_eq!(m.span_rows().len(), 4, "beta's one group too");
        assert_eq!(
            m.spans.label(1).as_deref(),
            Some("transfer{route=/transfer}")
        );
        assert_eq!(m.spans.label(2).as_deref(), Some("balance"));
        assert_eq!(m.spans.label(0), None);
    }

    #[test]
    fn a_trace_without_spans_has_no_breakdown() {
        let mut r = definitions();
        wait(&mut r, 0, 100, 1, 11, 0);
        assert!(model(r).span_rows().is_empty());
    }

    #[test]
    fn per_request_fields_collapse_into_one_group_per_name() {
        let mut r = definitions();
        let n = MAX_GROUPS_PER_CLASS as u64 + 1;
        for i in 1..=n {
            span(&mut r, i, "request", &format!("id={i}"));
            wait(&mut r, i * 10, i * 10 + 2, 1, 11, i);
        }
        let rows = model(r).span_rows_of(10);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].span.as_deref(), Some("request"));
        assert_eq!((rows[0].fields.as_deref(), rows[0].waits), (None, n));
        assert_eq!(rows[0].wait_ns_total, 2 * n);
    }
}
