//! Builds a [`Model`] from decoded records.

use std::num::NonZeroU64;

use lockscope_format::{Damage, Header, Record, Trace};

use super::open_waits::OpenWaits;
use super::store::{HoldStore, WaitStore};
use super::{
    Actor, Alert, Chaos, Class, ClassStats, Frame, Hold, Holds, LockInstance, Model, Waits,
};

/// Builds a [`Model`] one record at a time, so a trace is indexed as it is read instead of
/// being held whole as records first. A live view clones it to take snapshots.
#[derive(Clone, Debug, Default)]
pub struct ModelBuilder {
    m: Model,
    ev: Events,
}

/// The waits and holds while they are added, and the waits not ended yet.
#[derive(Clone, Debug, Default)]
struct Events {
    waits: WaitStore,
    holds: HoldStore,
    /// The waits not ended yet, and ends read before their begin.
    open: OpenWaits,
    /// An event named a lock whose `Lock` record had not come (yet).
    unbound: bool,
}

impl ModelBuilder {
    /// Adds the next record of the trace, taking its strings and lists without copying.
    pub fn add(&mut self, r: Record) {
        self.m.add(r, &mut self.ev);
    }

    /// The model, once every record was added. `truncated` and `damage` are what the
    /// decoder found.
    pub fn finish(self, header: Header, truncated: Option<u64>, damage: Vec<Damage>) -> Model {
        let mut m = self.m;
        m.header = Some(header);
        m.integrity.truncated_at = truncated;
        m.integrity.damage = damage;
        let Events {
            mut waits,
            holds,
            open,
            unbound,
        } = self.ev;
        m.integrity.orphan_wait_ends += open.finish(&mut waits);
        m.waits = Waits::new(waits);
        m.holds = Holds::new(holds);
        m.resolve_lost_locks(unbound);
        m.distinguish_actor_names();
        // Pool records come from each thread's buffer in turn, so not in time order: every
        // reader (figures, the chart) gets them sorted, ties in arrival order.
        for samples in m.pools.by_lock.values_mut() {
            if !samples.is_sorted_by_key(|s| s.ts_ns) {
                samples.sort_by_key(|s| s.ts_ns);
            }
        }
        m
    }
}

impl Model {
    /// Indexes a decoded trace. Never fails: records that refer to definitions lost to damage
    /// get placeholder names (`actor N`, `lock #N (definition lost)`).
    pub fn from_trace(trace: &Trace) -> Model {
        let mut b = ModelBuilder::default();
        for r in &trace.records {
            b.add(r.clone());
        }
        b.finish(trace.header, trace.truncated, trace.damage.clone())
    }

    fn add(&mut self, r: Record, ev: &mut Events) {
        match r {
            Record::String { id, text } => {
                self.strings.insert(id, text);
            }
            Record::Actor {
                actor,
                kind,
                os_id,
                name,
                spawn_site,
            } => {
                let name = match self.text(name) {
                    "" => format!("actor {actor}"),
                    n => n.to_owned(),
                };
                let spawn_site = self.text(spawn_site).to_owned();
                self.actors.insert(
                    actor,
                    Actor {
                        id: actor,
                        kind,
                        os_id,
                        name,
                        spawn_site,
                    },
                );
            }
            Record::Class {
                class,
                kind,
                name,
                site,
            } => {
                let site = self.text(site).to_owned();
                let name = match self.text(name) {
                    "" if site.is_empty() => format!("class #{class}"),
                    "" => site.clone(),
                    n => n.to_owned(),
                };
                self.classes.insert(
                    class,
                    Class {
                        id: class,
                        kind: Some(kind),
                        name,
                        site,
                    },
                );
            }
            Record::Lock {
                lock,
                class,
                capacity,
            } => {
                self.locks.insert(lock, LockInstance { class, capacity });
            }
            Record::Channel { room, items } => {
                self.pools.channels.insert(room, items);
            }
            Record::Frame {
                frame,
                function,
                file,
                line,
            } => {
                let f = Frame {
                    function: self.text(function).to_owned(),
                    file: self.text(file).to_owned(),
                    line,
                };
                self.frames.insert(frame, f);
            }
            Record::Stack { stack, frames } => {
                self.stacks.insert(stack, frames);
            }
            Record::WaitBegin {
                ts_ns,
                actor,
                lock,
                mode,
                site,
                stack,
                holders,
                span,
            } => {
                self.see(ts_ns);
                let class = self.class_of(lock, &mut ev.unbound);
                let i =
                    (ev.waits).push(actor, lock, class, mode, site, stack, &holders, ts_ns, span);
                ev.open.begin(&mut ev.waits, i, (actor, lock, ts_ns));
            }
            Record::WaitEnd {
                ts_ns,
                actor,
                lock,
                outcome,
            } => {
                self.see(ts_ns);
                ev.open.end(&mut ev.waits, (actor, lock, ts_ns), outcome);
            }
            Record::Hold {
                begin_ns,
                contended_ns,
                end_ns,
                actor,
                lock,
                mode,
                site,
                span,
            } => {
                self.see(end_ns);
                let class = self.class_of(lock, &mut ev.unbound);
                ev.holds.push(Hold {
                    begin_ns: NonZeroU64::new(begin_ns),
                    contended_ns: NonZeroU64::new(contended_ns),
                    end_ns,
                    actor,
                    lock,
                    class,
                    mode,
                    site,
                    span,
                });
            }
            Record::ClassStats {
                class,
                instances,
                acquisitions,
                contentions,
                max_waiters,
                hold_sample_period,
                wait,
                hold,
            } => {
                let s = ClassStats {
                    instances,
                    acquisitions,
                    contentions,
                    max_waiters,
                    hold_sample_period: (hold_sample_period).max(1),
                    wait,
                    hold,
                };
                self.class_stats.insert(class, s);
            }
            Record::Dropped { events } => self.dropped_events = events,
            Record::Chaos {
                ts_ns,
                seed,
                delays,
                delay_ns,
                yields,
                inversion_delays,
            } => {
                self.see(ts_ns);
                self.chaos = Some(Chaos {
                    seed,
                    delays,
                    delay_ns,
                    yields,
                    inversion_delays,
                });
            }
            Record::Alert {
                ts_ns,
                kind,
                text,
                json,
            } => {
                self.see(ts_ns);
                self.alerts.push(parse_alert(ts_ns, &kind, &text, &json));
            }
            Record::Causal {
                ts_ns,
                class,
                speedup_pct,
                duration_ns,
                delay_ns,
                progress,
                count,
            } => {
                self.see(ts_ns);
                self.causal.push(super::types::CausalRun {
                    ts_ns,
                    class,
                    speedup_pct,
                    duration_ns,
                    delay_ns,
                    progress,
                    count,
                });
            }
            Record::End { ts_ns } => {
                self.see(ts_ns);
                self.integrity.closed = true;
            }
            r @ Record::Pool { .. } => self.add_pool(r),
            r @ (Record::ThreadSched { .. } | Record::Process { .. }) => self.add_sched(r),
            r @ Record::Span { .. } => self.add_span(r),
            // Records this model does not show yet (cache fills).
            _ => {}
        }
    }

    fn see(&mut self, ts_ns: u64) {
        self.end_ns = self.end_ns.max(ts_ns);
    }

    /// The class of a lock instance; `u64::MAX - lock` stands in for a lock whose `Lock`
    /// record was lost, and is given a placeholder class by `resolve_lost_locks`.
    fn class_of(&self, lock: u64, unbound: &mut bool) -> u64 {
        match self.locks.get(&lock) {
            Some(l) => l.class,
            None => {
                *unbound = true;
                u64::MAX - lock
            }
        }
    }

    /// Names the classes that events refer to but no `Class` record defined. `unbound`: some
    /// event's lock had no `Lock` record when it was read.
    fn resolve_lost_locks(&mut self, unbound: bool) {
        // A whole trace defines every lock before its events and every class of its locks:
        // then nothing is lost, and no pass over millions of events is needed to say so.
        if !unbound && (self.locks.values()).all(|l| self.classes.contains_key(&l.class)) {
            return;
        }
        let mut lost = self.waits.lock_classes();
        lost.extend(self.holds.lock_classes());
        lost.retain(|(_, c)| !self.classes.contains_key(c));
        lost.sort_unstable();
        for (lock, class) in lost {
            self.classes.entry(class).or_insert_with(|| Class {
                id: class,
                kind: None,
                name: if class == u64::MAX - lock {
                    format!("lock #{lock} (definition lost)")
                } else {
                    format!("class #{class} (definition lost)")
                },
                site: String::new(),
            });
        }
    }
}

pub(super) fn parse_alert(ts_ns: u64, kind: &str, text: &str, json: &str) -> Alert {
    let details: Option<serde_json::Value> = serde_json::from_str(json).ok();
    let names = |key: &str| -> Vec<String> {
        let Some(arr) = details
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| v.as_array())
        else {
            return Vec::new();
        };
        arr.iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    };
    Alert {
        ts_ns,
        kind: kind.to_owned(),
        text: text.to_owned(),
        locks: names("locks"),
        actors: names("actors"),
        details,
    }
}

#[cfg(test)]
mod tests {
    use crate::model::tests_support::{begin, definitions, end, hold, model};

    #[test]
    fn holds_recorded_out_of_end_order_are_still_found() {
        // t2 holds alpha (lock 11) twice; the later hold is recorded first.
        let mut r = definitions();
        r.push(hold(500, 550, 600, 2, 11));
        r.push(hold(100, 150, 200, 2, 11));
        r.push(begin(150, 1, 11, &[2]));
        r.push(end(200, 1, 11));
        r.push(begin(550, 1, 11, &[2]));
        r.push(end(600, 1, 11));
        let m = model(r);
        let found: Vec<u64> = (m.waits.iter())
            .map(|w| m.holder_hold(&w, 2).unwrap().end_ns)
            .collect();
        assert_eq!(found, [200, 600]);
    }
}
