//! The lock table's unit tests: figures from real encoded records, filtered and whole.

use lockscope_format::{ActorKind, Histogram, LockKind, Mode, Outcome, Record};

use crate::model::{FiguresFrom, WaitState};

use crate::model::tests_support::model;

fn s(id: u64, text: &str) -> Record {
    Record::String {
        id,
        text: text.into(),
    }
}

fn begin(ts_ns: u64, actor: u64, lock: u64, site: u64, holders: &[u64]) -> Record {
    Record::WaitBegin {
        ts_ns,
        actor,
        lock,
        mode: Mode::Exclusive,
        site,
        stack: 0,
        holders: holders.to_vec(),
        span: 0,
    }
}

fn end(ts_ns: u64, actor: u64, lock: u64) -> Record {
    Record::WaitEnd {
        ts_ns,
        actor,
        lock,
        outcome: Outcome::Acquired,
    }
}

fn hold(begin_ns: u64, end_ns: u64, actor: u64, lock: u64, site: u64) -> Record {
    Record::Hold {
        begin_ns,
        contended_ns: 0,
        end_ns,
        actor,
        lock,
        mode: Mode::Exclusive,
        site,
        span: 0,
    }
}

/// Two classes: "ledger" (named, lock 10) and an unnamed one at `src/b.rs:2:1` (lock 20);
/// actors 1 "alice", 2 "bob", 3 "carol".
fn defs() -> Vec<Record> {
    vec![
        s(1, "ledger"),
        s(2, "src/a.rs:1:1"),
        s(3, "src/b.rs:2:1"),
        s(4, "alice"),
        s(5, "bob"),
        s(6, "carol"),
        s(7, "src/take.rs:9:5"),
        s(8, "src/hold.rs:3:3"),
        Record::Actor {
            actor: 1,
            kind: ActorKind::Thread,
            os_id: 101,
            name: 4,
            spawn_site: 0,
        },
        Record::Actor {
            actor: 2,
            kind: ActorKind::Thread,
            os_id: 102,
            name: 5,
            spawn_site: 0,
        },
        Record::Actor {
            actor: 3,
            kind: ActorKind::Task,
            os_id: 7,
            name: 6,
            spawn_site: 0,
        },
        Record::Class {
            class: 1,
            kind: LockKind::Mutex,
            name: 1,
            site: 2,
        },
        Record::Class {
            class: 2,
            kind: LockKind::RwLock,
            name: 0,
            site: 3,
        },
        Record::Lock {
            lock: 10,
            class: 1,
            capacity: 1,
        },
        Record::Lock {
            lock: 20,
            class: 2,
            capacity: 1,
        },
    ]
}

#[test]
fn events_stand_in_for_a_missing_class_stats_snapshot() {
    let mut r = defs();
    r.extend([
        hold(90, 400, 2, 10, 8),
        begin(100, 1, 10, 7, &[2]),
        begin(150, 3, 10, 7, &[2]),
        end(400, 1, 10),
        hold(400, 450, 1, 10, 7),
        end(450, 3, 10),
        begin(500, 1, 20, 7, &[3]),
    ]);
    let m = model(r);
    let rows = m.lock_rows();
    assert_eq!(rows[0].name, "ledger");
    let ledger = &rows[0];
    assert_eq!(ledger.figures_from, FiguresFrom::Events);
    assert_eq!(
        (ledger.contentions, ledger.acquisitions, ledger.max_waiters),
        (2, 2, 2)
    );
    assert_eq!(
        (ledger.wait.count(), ledger.wait.total(), ledger.wait.max()),
        (2, 600, 300)
    );
    assert_eq!((ledger.hold.count(), ledger.hold.total()), (2, 360));
    assert_eq!(ledger.instances, 1);
    let unnamed = &rows[1];
    assert_eq!(
        (unnamed.name.as_str(), unnamed.kind),
        ("src/b.rs:2:1", Some(LockKind::RwLock))
    );
    assert_eq!(
        (
            unnamed.contentions,
            unnamed.still_waiting,
            unnamed.wait.count()
        ),
        (1, 1, 1),
        "the wait still going counts, up to the trace's end"
    );
    assert_eq!(unnamed.wait.total(), m.end_ns - 500);
    assert_eq!(m.still_waiting().count(), 1);
}

#[test]
fn the_last_class_stats_wins_and_hold_total_is_scaled_by_the_period() {
    let stats = |acquisitions: u64, wait_ns: u64| {
        let mut wait = Histogram::default();
        wait.record(wait_ns);
        let mut hold = Histogram::default();
        hold.record(1_000);
        hold.record(3_000);
        Record::ClassStats {
            class: 2,
            instances: 4,
            acquisitions,
            contentions: 1,
            max_waiters: 1,
            hold_sample_period: 16,
            wait,
            hold,
        }
    };
    let mut r = defs();
    r.extend([stats(10, 5), stats(200, 9_000)]);
    let m = model(r);
    let rows = m.lock_rows();
    assert_eq!(rows[0].class, 2, "the class with wait time sorts first");
    let row = &rows[0];
    assert_eq!(
        (row.acquisitions, row.instances, row.figures_from),
        (200, 4, FiguresFrom::ClassStats)
    );
    assert_eq!(row.wait_summary().total, 9_000);
    let h = row.hold_summary();
    assert_eq!((h.total, h.max), (4_000 * 16, 3_000));
    assert!((row.contention_pct() - 0.5).abs() < 1e-9);
}

#[test]
fn sites_name_the_holders_and_where_they_took_the_lock() {
    let mut r = defs();
    r.extend([
        begin(100, 1, 10, 7, &[2]),
        hold(50, 300, 2, 10, 8),
        end(300, 1, 10),
        begin(400, 1, 10, 7, &[2]),
        hold(350, 500, 2, 10, 8),
        end(500, 1, 10),
        begin(600, 2, 10, 8, &[3]),
        end(610, 2, 10),
    ]);
    let m = model(r);
    let sites = m.site_rows();
    assert_eq!(sites.len(), 2);
    let top = &sites[0];
    assert_eq!(
        (
            m.text(top.site),
            top.waits,
            top.wait_total_ns,
            top.wait_max_ns
        ),
        ("src/take.rs:9:5", 2, 300, 200)
    );
    assert_eq!(top.holders.len(), 1);
    assert_eq!(
        (
            top.holders[0].actor,
            top.holders[0].site,
            top.holders[0].waits
        ),
        (2, Some(8), 2)
    );
    assert_eq!(
        sites[1].holders[0].site, None,
        "carol's hold was not recorded"
    );

    let actors = m.actor_rows();
    assert_eq!(
        (
            actors[0].name.as_str(),
            actors[0].waits,
            actors[0].wait_total_ns
        ),
        ("alice", 2, 300)
    );
    assert_eq!(
        (actors[1].name.as_str(), actors[1].wait_total_ns),
        ("bob", 10)
    );
    assert_eq!((actors[2].name.as_str(), actors[2].waits), ("carol", 0));
}

#[test]
fn a_wait_whose_end_was_lost_is_not_reported_as_still_waiting() {
    let mut r = defs();
    r.extend([
        begin(100, 1, 10, 7, &[]),
        begin(200, 1, 20, 7, &[]),
        end(250, 1, 20),
        end(260, 2, 10),
    ]);
    let m = model(r);
    assert_eq!(m.waits.get(0).unwrap().state, WaitState::Lost);
    assert_eq!(m.waits.get(1).unwrap().duration_ns(), Some(50));
    assert_eq!(m.still_waiting().count(), 0);
    assert_eq!(m.integrity.orphan_wait_ends, 1);
}

#[test]
fn a_wait_end_read_before_its_begin_still_closes_it() {
    // A task's wait begins on one worker thread and ends on another, whose buffer was
    // written to the trace first.
    let mut r = defs();
    r.extend([end(300, 1, 10), begin(100, 1, 10, 7, &[2])]);
    let m = model(r);
    assert_eq!(m.waits.get(0).unwrap().duration_ns(), Some(200));
    assert_eq!(m.still_waiting().count(), 0);
    assert_eq!(m.integrity.orphan_wait_ends, 0);
}

#[test]
fn a_task_that_moved_between_workers_keeps_each_wait_with_its_own_end() {
    // Waits 100→200 and 250→400 on one lock. The second one's end was buffered by the
    // worker thread whose buffer reached the file first, before the first one's end and the
    // second one's begin; the last two come in either order.
    for tail in [
        [end(200, 1, 10), begin(250, 1, 10, 7, &[2])],
        [begin(250, 1, 10, 7, &[2]), end(200, 1, 10)],
    ] {
        let mut r = defs();
        r.extend([begin(100, 1, 10, 7, &[2]), end(400, 1, 10)]);
        r.extend(tail);
        let m = model(r);
        let spans: Vec<(u64, Option<u64>)> = (m.waits.iter())
            .map(|w| (w.begin_ns, w.duration_ns()))
            .collect();
        assert_eq!(spans, [(100, Some(100)), (250, Some(150))]);
        assert_eq!(m.still_waiting().count(), 0);
        assert_eq!(m.integrity.orphan_wait_ends, 0);
    }
}

#[test]
fn a_wait_nested_in_another_ends_without_closing_it() {
    let mut r = defs();
    // A condvar-style wait on lock 20, a nested wait to re-take lock 10, then both end.
    r.extend([
        begin(100, 1, 20, 7, &[]),
        begin(150, 1, 10, 7, &[2]),
        end(170, 1, 10),
        end(180, 1, 20),
    ]);
    let m = model(r);
    assert_eq!(m.waits.get(0).unwrap().duration_ns(), Some(80));
    assert_eq!(m.waits.get(1).unwrap().duration_ns(), Some(20));
    assert_eq!(m.integrity.orphan_wait_ends, 0);
}

#[test]
fn records_about_undefined_locks_and_actors_get_placeholder_names() {
    let m = model(vec![begin(5, 9, 77, 0, &[8]), end(15, 9, 77)]);
    let rows = m.lock_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].name.as_str(), rows[0].kind, rows[0].contentions),
        ("lock #77 (definition lost)", None, 1)
    );
    assert_eq!(m.actor_name(9), "actor 9");
    assert_eq!(m.actor_rows()[0].name, "actor 9");
    assert_eq!(m.site_name(0), "unknown site");
}

#[test]
fn alerts_take_their_names_from_the_json_and_tolerate_its_absence() {
    let json = r#"{"locks": ["a", "b"], "actors": ["t1", 2], "cycle": true}"#;
    let m = model(vec![
        Record::Alert {
            ts_ns: 1,
            kind: "deadlock".into(),
            text: "t1 waits for a".into(),
            json: json.into(),
        },
        Record::Alert {
            ts_ns: 2,
            kind: "stampede".into(),
            text: "x".into(),
            json: "not json".into(),
        },
    ]);
    assert_eq!(m.alerts[0].locks, ["a", "b"]);
    assert_eq!(m.alerts[0].actors, ["t1", "2"]);
    assert!(m.alerts[1].locks.is_empty() && m.alerts[1].details.is_none());
}

#[test]
fn contention_stays_within_100_pct_when_waiters_never_got_the_lock() {
    use crate::model::tests_support::{begin, definitions, end, hold};
    // Five philosophers' worth: one acquisition of alpha (lock 11) that waited, then three
    // waiters that never got it (a deadlock) and one that timed out; the snapshot counts
    // every wait that began as a contention.
    let mut r = definitions();
    r.push(hold(10, 20, 40, 2, 11));
    r.push(begin(20, 1, 11, &[2]));
    r.push(end(40, 1, 11));
    for actor in [2, 3] {
        r.push(begin(50, actor, 11, &[1]));
    }
    r.push(begin(60, 1, 21, &[]));
    r.push(Record::WaitEnd {
        ts_ns: 90,
        actor: 1,
        lock: 21,
        outcome: Outcome::TimedOut,
    });
    for (class, acquisitions, contentions) in [(10, 2, 3), (20, 0, 1)] {
        r.push(Record::ClassStats {
            class,
            instances: 1,
            acquisitions,
            contentions,
            max_waiters: 2,
            hold_sample_period: 1,
            wait: Histogram::default(),
            hold: Histogram::default(),
        });
    }
    r.push(Record::End { ts_ns: 100 });
    let m = model(r);
    let rows = m.lock_rows();
    let alpha = rows.iter().find(|r| r.class == 10).unwrap();
    assert_eq!(
        (alpha.contentions, alpha.still_waiting, alpha.gave_up),
        (3, 2, 0)
    );
    assert_eq!(alpha.contended_acquisitions(), 1);
    assert!(
        (alpha.contention_pct() - 50.0).abs() < 1e-9,
        "{}",
        alpha.contention_pct()
    );
    let beta = rows.iter().find(|r| r.class == 20).unwrap();
    assert_eq!((beta.contentions, beta.gave_up), (1, 1));
    assert_eq!(beta.contention_pct(), 0.0);
    for row in &rows {
        assert!(
            row.contention_pct() <= 100.0,
            "{}: {}",
            row.name,
            row.contention_pct()
        );
    }
}

#[test]
fn tasks_that_share_a_span_name_are_told_apart_by_their_task_id() {
    let mut r = Vec::new();
    for (actor, kind, os_id, name) in [
        (1, ActorKind::Task, 41, "GET /stats"),
        (2, ActorKind::Task, 42, "GET /stats"),
        (3, ActorKind::Task, 43, "POST /orders"),
        (4, ActorKind::Thread, 900, "worker"),
        (5, ActorKind::Thread, 901, "worker"),
    ] {
        r.push(s(100 + actor, name));
        r.push(Record::Actor {
            actor,
            kind,
            os_id,
            name: 100 + actor,
            spawn_site: 0,
        });
    }
    let m = model(r);
    let names: Vec<String> = m.actor_rows().into_iter().map(|a| a.name).collect();
    assert_eq!(
        names,
        [
            "GET /stats (task 41)",
            "GET /stats (task 42)",
            "POST /orders",
            "worker",
            "worker"
        ]
    );
}

#[test]
fn a_task_s_spawn_site_is_kept_and_said_with_its_task_id() {
    let m = model(vec![
        s(1, "teller-a"),
        s(2, "src/bin/teller.rs:42:5"),
        s(3, "main"),
        Record::Actor {
            actor: 7,
            kind: ActorKind::Task,
            os_id: 13,
            name: 1,
            spawn_site: 2,
        },
        Record::Actor {
            actor: 8,
            kind: ActorKind::Task,
            os_id: 14,
            name: 0,
            spawn_site: 0,
        },
        Record::Actor {
            actor: 1,
            kind: ActorKind::Thread,
            os_id: 4242,
            name: 3,
            spawn_site: 0,
        },
    ]);
    assert_eq!(m.actors[&7].spawn_site, "src/bin/teller.rs:42:5");
    assert_eq!(m.actors[&8].spawn_site, "", "a trace without the field");
    let said = |id| m.actor_identity(id);
    assert_eq!(
        said(7).as_deref(),
        Some("task 13, spawned at src/bin/teller.rs:42:5")
    );
    assert_eq!(said(8).as_deref(), Some("task 14"));
    assert_eq!(said(1).as_deref(), Some("thread 4242"));
    assert_eq!(said(99), None, "an actor the trace never defined");
    let rows = m.actor_rows();
    let row = rows.iter().find(|a| a.id == 7).unwrap();
    assert_eq!(row.spawn_site, "src/bin/teller.rs:42:5");
    assert_eq!(row.identity(), said(7));
}
