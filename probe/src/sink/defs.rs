//! The definitions log: strings, actors, classes, lock instances, spans and frames, plus the
//! alerts, in the order they were made. Written on cold paths only, under one lock.
//!
//! Strings, actors, classes and spans are kept for the life of the process, so a recording
//! started late (or a live viewer connecting late) gets every definition first. Lock-instance
//! definitions and alerts are kept only until the recorder takes them: instances can be
//! created by the million.

use crate::format::Record;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::LazyLock;

/// The log. Reached through [`define_with`] (writers) and the sink's reader.
pub(crate) struct Definitions {
    /// Encoded String/Actor/Class/Span/Frame records, in order, since process start.
    pub(super) history: Vec<u8>,
    /// Encoded Lock records not yet taken by the recorder.
    pub(super) instances: Vec<u8>,
    /// Encoded Alert records not yet taken by the recorder.
    pub(super) alerts: Vec<u8>,
    strings: HashMap<String, u64>,
}

pub(super) static LOG: LazyLock<Mutex<Definitions>> = LazyLock::new(|| {
    Mutex::new(Definitions {
        history: Vec::new(),
        instances: Vec::new(),
        alerts: Vec::new(),
        strings: HashMap::new(),
    })
});

impl Definitions {
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

    /// Logs a definition kept for every later recording (actor, class, span, frame, stack).
    pub(crate) fn define(&mut self, r: &Record) {
        r.encode(&mut self.history);
    }

    /// Logs a lock instance's definition for the running recording only.
    pub(crate) fn define_instance(&mut self, r: &Record) {
        r.encode(&mut self.instances);
    }

    pub(super) fn alert(&mut self, r: &Record) {
        r.encode(&mut self.alerts);
    }
}

/// Runs `f` with the log locked (cold paths only: this takes a lock).
pub(crate) fn define_with<R>(f: impl FnOnce(&mut Definitions) -> R) -> R {
    f(&mut LOG.lock())
}

/// Interns one string (takes the log's lock: cold paths only).
pub(crate) fn intern(text: &str) -> u64 {
    LOG.lock().intern(text)
}

/// The string id of a call site (`file:line:column`), cached per thread (64 entries, direct
/// mapped by the location's address) so steady-state releases take no global lock.
pub(crate) fn site_id(site: &'static Location<'static>) -> u64 {
    text_site_id(site as *const Location<'static> as usize, || {
        format!("{}:{}:{}", site.file(), site.line(), site.column())
    })
}

/// The id of a site whose text `text` gives, cached per thread under `key` (an address that
/// stands for that text for the life of the process).
pub(crate) fn text_site_id(key: usize, text: impl FnOnce() -> String) -> u64 {
    const SLOTS: usize = 64;
    thread_local! {
        static CACHE: std::cell::RefCell<[(usize, u64); SLOTS]> = const { std::cell::RefCell::new([(0, 0); SLOTS]) };
    }
    let slot = (key >> 3) % SLOTS;
    if let Some(id) = CACHE.with(|c| {
        c.try_borrow()
            .ok()
            .and_then(|c| (c[slot].0 == key).then_some(c[slot].1))
    }) {
        return id;
    }
    let id = intern(&text());
    CACHE.with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            c[slot] = (key, id);
        }
    });
    id
}

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&LOG]
}
