//! Lock classes: a creation site or a user-given name, registered once, then known by id.

use crate::format::{LockKind, Record};
use crate::sink;
use crate::stats::{ClassCounters, ClassStats};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::panic::Location;
use std::sync::LazyLock;
use std::sync::atomic::Ordering::Relaxed;

/// One lock class. Leaked on registration: classes are few and live for the process.
pub(crate) struct ClassInfo {
    pub(crate) id: u32,
    pub(crate) kind: LockKind,
    /// The name reports use: the user-given name, else `file:line`.
    pub(crate) label: String,
    pub(crate) site: String,
    pub(crate) named: bool,
    /// The creation site of the class's locks ([`caller_site`] for a class found from a
    /// caller's frame).
    pub(crate) location: &'static Location<'static>,
    /// On a cache line of their own (`ClassCounters` is 64-byte aligned): every lock of the
    /// class reads `id` on its fast path, and these are written on sampled acquisitions.
    pub(crate) counters: ClassCounters,
}

type Key = (LockKind, &'static str, u32, u32, Option<String>);

struct Table {
    by_key: HashMap<Key, &'static ClassInfo>,
    list: Vec<&'static ClassInfo>,
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(|| {
    Mutex::new(Table {
        by_key: HashMap::new(),
        list: Vec::new(),
    })
});

/// The site of a lock made by lock_api's `INIT` constant ([`crate::lockapi`]), which has no
/// caller location: such a lock's class is found from its first caller's frames instead
/// ([`class_for_frame`]), once per instance, when the class is first needed.
pub(crate) const fn caller_site() -> &'static Location<'static> {
    Location::caller()
}

/// Whether `site` is [`caller_site`]: a lock whose class and sites come from a stack frame.
pub(crate) fn is_caller_site(site: &'static Location<'static>) -> bool {
    let c = caller_site();
    std::ptr::eq(site, c)
        || (site.line() == c.line() && site.column() == c.column() && site.file() == c.file())
}

/// The class of a lock first used at `file:line` (a frame found by walking the stack).
pub(crate) fn class_for_frame(kind: LockKind, file: &'static str, line: u32) -> &'static ClassInfo {
    register(kind, file, line, 0, None, caller_site())
}

/// The class of an unnamed lock created at `site`: a per-thread cache (direct-mapped by the
/// location's address) answers repeat creations at one site without the global table's lock.
pub(crate) fn class_for_site(
    kind: LockKind,
    site: &'static Location<'static>,
) -> &'static ClassInfo {
    const SLOTS: usize = 32;
    type Entry = std::cell::Cell<Option<(usize, &'static ClassInfo)>>;
    thread_local! {
        // One cell per slot: a cell over the whole array would copy all of it (512 bytes)
        // to read one entry.
        static CACHE: [Entry; SLOTS] = const { [const { Entry::new(None) }; SLOTS] };
    }
    let key = site as *const Location<'static> as usize;
    let slot = (key >> 3) % SLOTS;
    let cached = CACHE.try_with(|c| c[slot].get()).ok().flatten();
    if let Some((k, class)) = cached
        && k == key
        && class.kind == kind
    {
        return class;
    }
    let class = class_for(kind, site, None);
    let _ = CACHE.try_with(|c| c[slot].set(Some((key, class))));
    class
}

/// The class of a lock created at `site` with an optional name, registering it on first use.
pub(crate) fn class_for(
    kind: LockKind,
    site: &'static Location<'static>,
    name: Option<&str>,
) -> &'static ClassInfo {
    register(kind, site.file(), site.line(), site.column(), name, site)
}

fn register(
    kind: LockKind,
    file: &'static str,
    line: u32,
    column: u32,
    name: Option<&str>,
    location: &'static Location<'static>,
) -> &'static ClassInfo {
    let key: Key = (kind, file, line, column, name.map(str::to_owned));
    let mut table = TABLE.lock();
    if let Some(c) = table.by_key.get(&key) {
        return c;
    }
    let id = table.list.len() as u32 + 1;
    let site_text = format!("{file}:{line}:{column}");
    let label = name.map_or_else(|| format!("{file}:{line}"), str::to_owned);
    let info: &'static ClassInfo = Box::leak(Box::new(ClassInfo {
        id,
        kind,
        label,
        site: site_text,
        named: name.is_some(),
        location,
        counters: ClassCounters::new(),
    }));
    sink::define_with(|d| {
        let name_id = if info.named { d.intern(&info.label) } else { 0 };
        let site_id = d.intern(&info.site);
        d.define(&Record::Class {
            class: u64::from(id),
            kind,
            name: name_id,
            site: site_id,
        });
    });
    table.by_key.insert(key, info);
    table.list.push(info);
    info
}

/// Every class registered so far.
pub(crate) fn all() -> Vec<&'static ClassInfo> {
    TABLE.lock().list.clone()
}

/// `site` as reports print it (`file:line:column`): for a lock made by lock_api's `INIT`,
/// the site of its class `class` (the caller frame it was found at).
pub(crate) fn site_text(site: &'static Location<'static>, class: u32) -> String {
    if is_caller_site(site)
        && let Some(c) = by_id(class)
    {
        return c.site.clone();
    }
    format!("{}:{}:{}", site.file(), site.line(), site.column())
}

/// The class with id `id`.
pub(crate) fn by_id(id: u32) -> Option<&'static ClassInfo> {
    TABLE
        .lock()
        .list
        .get((id as usize).checked_sub(1)?)
        .copied()
}

impl ClassInfo {
    pub(crate) fn stats(&self, sample_period: u64) -> ClassStats {
        let c = &self.counters;
        let wait = c.wait.snapshot();
        let hold = c.hold.snapshot();
        let mut hold_ns = hold.summary();
        hold_ns.total = hold_ns.total.saturating_mul(sample_period);
        ClassStats {
            name: self.label.clone(),
            kind: self.kind,
            site: self.site.clone(),
            instances: c.instances.load(Relaxed),
            acquisitions: c.acquisitions.load(Relaxed),
            contentions: c.contentions.load(Relaxed),
            max_waiters: c.max_waiters.load(Relaxed),
            wait_ns: wait.summary(),
            hold_ns,
        }
    }

    pub(crate) fn stats_record(&self, sample_period: u64) -> Record {
        let c = &self.counters;
        Record::ClassStats {
            class: u64::from(self.id),
            instances: c.instances.load(Relaxed),
            acquisitions: c.acquisitions.load(Relaxed),
            contentions: c.contentions.load(Relaxed),
            max_waiters: c.max_waiters.load(Relaxed),
            hold_sample_period: sample_period,
            wait: c.wait.snapshot(),
            hold: c.hold.snapshot(),
        }
    }
}

/// This module's internal lock, for the fork hooks.
pub(crate) fn fork_lock() -> &'static dyn crate::raw::ForkLock {
    &TABLE
}
