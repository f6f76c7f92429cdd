//! Tracing spans: the `Span` records a trace defines (name, fields, parent), which waits and
//! holds refer to, so lock time can be grouped by endpoint or request.

use lockscope::format::Record;

use super::Model;
use super::hash::IdMap;

/// A tracing span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanDef {
    /// The span's name.
    pub name: String,
    /// Its fields as `key=value` text, empty when none.
    pub fields: String,
    /// The enclosing span, 0 at the root.
    pub parent: u64,
}

/// The spans of a trace, by id.
#[derive(Clone, Debug, Default)]
pub struct SpanTable {
    /// Span definitions by id.
    pub by_id: IdMap<u64, SpanDef>,
}

impl SpanTable {
    /// True when the trace defined no span.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The span's name; empty for 0, `span N` when its definition was lost.
    pub fn name(&self, span: u64) -> String {
        match (span, self.by_id.get(&span)) {
            (0, _) => String::new(),
            (_, Some(s)) => s.name.clone(),
            (n, None) => format!("span {n}"),
        }
    }
}

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
