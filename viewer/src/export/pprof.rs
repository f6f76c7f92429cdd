//! pprof profiles: a gzip-compressed `perftools.profiles.Profile`, as `go tool pprof` reads,
//! written with `lockscope_format::pprof::ProfileWriter` (the probe's HTTP endpoint uses the same).
//!
//! Three profiles ([`ProfileKind`]):
//! - `lock` (the default): sample types `contentions/count`, `delay/nanoseconds` (wait time,
//!   the default type) and `hold/nanoseconds`. A wait sample's stack is the waiter's stack, or
//!   its call site when no stack was captured; a hold sample's stack is the site where the
//!   holder took the lock.
//! - `block`: Go's block profile: `contentions/count` and `delay/nanoseconds` by the waiter's
//!   stack, period type `contentions/count`.
//! - `mutex`: Go's mutex profile (as Go 1.22 charges it): the same types, each wait's delay
//!   charged to where the lock was held, the holder's acquisition site; a wait on several
//!   holders (readers, permits) counts one contention for each and splits its delay between
//!   them. A wait whose holder is not in the trace is charged to a `(holder not recorded)`
//!   frame, so both profiles add up to the same delay.
//!
//! Each stack ends in a frame named after the lock, so `-top` ranks locks, and every sample
//! carries `lock` and `thread` labels (`thread`: the waiter, or in a mutex profile the holder).

use std::collections::HashMap;

use lockscope_format::pprof::{ProfileWriter, gzip, split_site};

use crate::model::Model;

/// The sample types, in value order.
pub const SAMPLE_TYPES: [(&str, &str); 3] = [
    ("contentions", "count"),
    ("delay", "nanoseconds"),
    ("hold", "nanoseconds"),
];

/// Which profile to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProfileKind {
    /// Waits by the waiter's stack and holds by the holder's site, in one profile.
    #[default]
    Lock,
    /// Go's block profile: waits by the waiter's stack.
    Block,
    /// Go's mutex profile: waits charged to where the lock was held.
    Mutex,
}

/// What a location stands for.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Place {
    Frame(u64),
    Site(u64),
    Lock(u64),
    UnknownHolder,
}

/// The shared profile writer, with the trace's places mapped to its locations once each.
struct Builder {
    w: ProfileWriter,
    locations: HashMap<Place, u64>,
    types: usize,
}

impl Builder {
    fn location(&mut self, m: &Model, place: Place) -> u64 {
        if let Some(&id) = self.locations.get(&place) {
            return id;
        }
        let (name, file, line) = match &place {
            Place::Frame(f) => match m.frames.get(f) {
                Some(fr) => (m.frame_name(*f), fr.file.clone(), i64::from(fr.line)),
                None => (m.frame_name(*f), String::new(), 0),
            },
            Place::Site(s) => {
                let site = m.site_name(*s);
                let (file, line) = split_site(&site);
                (site.clone(), file.to_owned(), line)
            }
            Place::Lock(class) => (format!("lock {}", m.class_name(*class)), String::new(), 0),
            Place::UnknownHolder => ("(holder not recorded)".to_owned(), String::new(), 0),
        };
        let id = self.w.location(&name, &file, line);
        self.locations.insert(place, id);
        id
    }

    fn add(&mut self, stack: Vec<u64>, lock: &str, thread: &str, values: [i64; 3]) {
        self.w.add(
            stack,
            &[("lock", lock), ("thread", thread)],
            &values[..self.types],
        );
    }
}

/// The combined lock profile of `m`, protobuf-encoded (not compressed).
pub fn profile(m: &Model) -> Vec<u8> {
    profile_of(m, ProfileKind::Lock)
}

/// The `kind` profile of `m`, protobuf-encoded (not compressed).
pub fn profile_of(m: &Model, kind: ProfileKind) -> Vec<u8> {
    let types = if kind == ProfileKind::Lock { 3 } else { 2 };
    let mut b = Builder {
        w: ProfileWriter::new(&SAMPLE_TYPES[..types], "delay"),
        locations: HashMap::new(),
        types,
    };
    match kind {
        ProfileKind::Mutex => mutex_samples(m, &mut b),
        ProfileKind::Lock | ProfileKind::Block => block_samples(m, &mut b),
    }
    if kind == ProfileKind::Lock {
        hold_samples(m, &mut b);
    }
    let duration = i64::try_from(m.end_ns).unwrap_or(i64::MAX);
    match m.header {
        Some(h) => b.w.finish(
            i64::try_from(h.epoch_unix_ns).unwrap_or(0),
            duration,
            Some(&format!("lockscope trace of pid {}", h.pid)),
        ),
        None => b.w.finish(0, duration, None),
    }
}

/// Waits by the waiter's stack (or its call site when no stack was captured).
fn block_samples(m: &Model, b: &mut Builder) {
    for w in &m.waits {
        let Some(ns) = m.waited_ns(&w) else {
            continue;
        };
        let mut stack = vec![b.location(m, Place::Lock(w.class))];
        match m.stacks.get(&w.stack) {
            Some(frames) if w.stack != 0 && !frames.is_empty() => {
                for &f in frames {
                    stack.push(b.location(m, Place::Frame(f)));
                }
            }
            _ => stack.push(b.location(m, Place::Site(w.site))),
        }
        let values = [1, i64::try_from(ns).unwrap_or(i64::MAX), 0];
        b.add(stack, m.class_name(w.class), &m.actor_name(w.actor), values);
    }
}

/// Holds by the holder's site.
fn hold_samples(m: &Model, b: &mut Builder) {
    for h in &m.holds {
        let ns = m.held_ns(&h);
        if ns == 0 {
            continue;
        }
        let stack = vec![
            b.location(m, Place::Lock(h.class)),
            b.location(m, Place::Site(h.site)),
        ];
        b.add(
            stack,
            m.class_name(h.class),
            &m.actor_name(h.actor),
            [0, 0, i64::try_from(ns).unwrap_or(i64::MAX)],
        );
    }
}

/// The mutex profile's samples: every wait's delay charged to its holders' acquisition sites.
fn mutex_samples(m: &Model, b: &mut Builder) {
    for w in &m.waits {
        let Some(ns) = m.waited_ns(&w) else {
            continue;
        };
        let ns = i64::try_from(ns).unwrap_or(i64::MAX);
        let lock = b.location(m, Place::Lock(w.class));
        let holds: Vec<_> = w
            .holders
            .iter()
            .filter_map(|&h| m.holder_hold(&w, h))
            .collect();
        if holds.is_empty() {
            let stack = vec![lock, b.location(m, Place::UnknownHolder)];
            b.add(stack, m.class_name(w.class), "", [1, ns, 0]);
            continue;
        }
        let n = holds.len() as i64;
        for (i, h) in holds.iter().enumerate() {
            // The delay split evenly, the remainder to the first holders, so it adds up.
            let share = ns / n + i64::from((i as i64) < ns % n);
            let stack = vec![lock, b.location(m, Place::Site(h.site))];
            b.add(
                stack,
                m.class_name(w.class),
                &m.actor_name(h.actor),
                [1, share, 0],
            );
        }
    }
}

/// The combined lock profile of `m`, protobuf-encoded and gzip-compressed.
pub fn pprof_bytes(m: &Model) -> std::io::Result<Vec<u8>> {
    pprof_bytes_of(m, ProfileKind::Lock)
}

/// The `kind` profile of `m`, protobuf-encoded and gzip-compressed.
pub fn pprof_bytes_of(m: &Model, kind: ProfileKind) -> std::io::Result<Vec<u8>> {
    gzip(&profile_of(m, kind))
}
