//! Definitions (strings, actors, classes, lock instances) travel to the recorder through one
//! log, written once per definition on cold paths and never on the fast path.
//!
//! Strings, actors and classes are kept for the life of the process, so a recorder started
//! late (or a live viewer connecting late) gets every definition first. Lock-instance
//! definitions are kept only while a recorder runs: instances can be created by the million.

use crate::format::Record;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::LazyLock;

pub(crate) struct MetaLog {
    /// Encoded String/Actor/Class records, in order, since process start.
    pub(crate) history: Vec<u8>,
    /// Encoded Lock records not yet taken by the recorder.
    pub(crate) instances: Vec<u8>,
    strings: HashMap<String, u64>,
}

pub(crate) static META: LazyLock<Mutex<MetaLog>> = LazyLock::new(|| {
    Mutex::new(MetaLog {
        history: Vec::new(),
        instances: Vec::new(),
        strings: HashMap::new(),
    })
});

impl MetaLog {
    /// The string-table id of `text`, defining it on first use. The empty string is id 0.
    pub(crate) fn intern(&mut self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        if let Some(&id) = self.strings.get(text) {
            return id;
        }
        let id = self.strings.len() as u64 + 1;
        self.strings.insert(text.to_owned(), id);
        Record::String {
            id,
            text: text.to_owned(),
        }
        .encode(&mut self.history);
        id
    }

    pub(crate) fn define(&mut self, r: &Record) {
        r.encode(&mut self.history);
    }
}

/// Interns one string (takes the log's lock: cold paths only).
pub(crate) fn intern(text: &str) -> u64 {
    META.lock().intern(text)
}
