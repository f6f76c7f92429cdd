//! Small models for the unit tests of the analyses.

use lockscope_format::{ActorKind, Header, LockKind, Mode, Outcome, Record, Trace, VERSION};

use super::Model;

/// A model decoded from `records`.
pub fn model(records: Vec<Record>) -> Model {
    let header = Header {
        version: VERSION,
        flags: 0,
        epoch_unix_ns: 0,
        pid: 1,
    };
    Model::from_trace(&Trace {
        header,
        records,
        truncated: None,
        damage: Vec::new(),
    })
}

/// Definitions of actors `t1` (1), `t2` (2), `t3` (3) and mutexes `alpha` (class 10, lock
/// 11) and `beta` (class 20, lock 21).
pub fn definitions() -> Vec<Record> {
    let mut r = Vec::new();
    for (id, name) in [(1, "t1"), (2, "t2"), (3, "t3")] {
        r.push(Record::String {
            id: 100 + id,
            text: name.into(),
        });
        r.push(Record::Actor {
            actor: id,
            kind: ActorKind::Thread,
            os_id: id,
            name: 100 + id,
            spawn_site: 0,
        });
    }
    for (class, name) in [(10, "alpha"), (20, "beta")] {
        r.push(Record::String {
            id: 200 + class,
            text: name.into(),
        });
        r.push(Record::Class {
            class,
            kind: LockKind::Mutex,
            name: 200 + class,
            site: 0,
        });
        r.push(Record::Lock {
            lock: class + 1,
            class,
            capacity: 1,
        });
    }
    r
}

pub fn begin(ts_ns: u64, actor: u64, lock: u64, holders: &[u64]) -> Record {
    Record::WaitBegin {
        ts_ns,
        actor,
        lock,
        mode: Mode::Exclusive,
        site: 0,
        stack: 0,
        holders: holders.to_vec(),
        span: 0,
    }
}

pub fn end(ts_ns: u64, actor: u64, lock: u64) -> Record {
    Record::WaitEnd {
        ts_ns,
        actor,
        lock,
        outcome: Outcome::Acquired,
    }
}

pub fn hold(begin_ns: u64, contended_ns: u64, end_ns: u64, actor: u64, lock: u64) -> Record {
    Record::Hold {
        begin_ns,
        contended_ns,
        end_ns,
        actor,
        lock,
        mode: Mode::Exclusive,
        site: 0,
        span: 0,
    }
}

/// t1 waits for `alpha` (held by t2) from 150 to 300; t2 waits for `beta` (held by t1)
/// from 500 to 700. Returns the model and the two classes.
pub fn two_locks() -> (Model, u64, u64) {
    let mut r = definitions();
    r.push(hold(100, 150, 300, 2, 11));
    r.push(begin(150, 1, 11, &[2]));
    r.push(end(300, 1, 11));
    r.push(begin(500, 2, 21, &[1]));
    r.push(hold(400, 500, 700, 1, 21));
    r.push(end(700, 2, 21));
    r.push(Record::End { ts_ns: 1_000 });
    (model(r), 10, 20)
}

/// Defines stack `stack` of these function names (root first), with frame ids from
/// `first_frame` up, and returns the records to add.
pub fn stack_of(stack: u64, first_frame: u64, functions: &[&str]) -> Vec<Record> {
    let mut r = Vec::new();
    let mut frames = Vec::new();
    for (i, f) in functions.iter().enumerate() {
        let id = first_frame + i as u64;
        r.push(Record::String {
            id: 9_000 + id,
            text: (*f).to_owned(),
        });
        r.push(Record::Frame {
            frame: id,
            function: 9_000 + id,
            file: 0,
            line: 0,
        });
        frames.insert(0, id); // innermost first
    }
    r.push(Record::Stack { stack, frames });
    r
}

/// A wait by `actor` for `lock` from `from` to `to` under stack `stack`.
pub fn wait_under(stack: u64, actor: u64, lock: u64, (from, to): (u64, u64)) -> Vec<Record> {
    let mut b = begin(from, actor, lock, &[]);
    if let Record::WaitBegin { stack: s, .. } = &mut b {
        *s = stack;
    }
    vec![b, end(to, actor, lock)]
}
