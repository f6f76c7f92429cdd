//! Builds synthetic traces the way the probe writes them, and runs the `lockscope` binary.
#![allow(dead_code)]

#[cfg(feature = "gui")]
pub mod ui;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use lockscope_format::{
    ActorKind, Header, Histogram, LockKind, Mode, Outcome, Record, VERSION, write_chunk,
};

/// Records to encode, with interning helpers that hand out ids as the probe does.
#[derive(Debug, Default)]
pub struct TraceBuilder {
    pub records: Vec<Record>,
    strings: HashMap<String, u64>,
    next_id: u64,
}

impl TraceBuilder {
    pub fn new() -> Self {
        TraceBuilder::default()
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn push(&mut self, r: Record) -> &mut Self {
        self.records.push(r);
        self
    }

    /// Interns `text` (0 for the empty string).
    pub fn str(&mut self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        if let Some(&id) = self.strings.get(text) {
            return id;
        }
        let id = self.id();
        self.strings.insert(text.to_owned(), id);
        self.push(Record::String {
            id,
            text: text.to_owned(),
        });
        id
    }

    pub fn actor(&mut self, name: &str) -> u64 {
        let (actor, name) = (self.id(), self.str(name));
        self.push(Record::Actor {
            actor,
            kind: ActorKind::Thread,
            os_id: 1000 + actor,
            name,
            spawn_site: 0,
        });
        actor
    }

    /// A tokio task named `name` with tokio id `tokio_id`.
    pub fn task(&mut self, name: &str, tokio_id: u64) -> u64 {
        self.spawned_task(name, tokio_id, "")
    }

    /// A tokio task named `name` with tokio id `tokio_id`, spawned at `site` (`file:line:col`,
    /// empty for none: the layout of a trace from before spawn sites).
    pub fn spawned_task(&mut self, name: &str, tokio_id: u64, site: &str) -> u64 {
        let (actor, name, spawn_site) = (self.id(), self.str(name), self.str(site));
        self.push(Record::Actor {
            actor,
            kind: ActorKind::Task,
            os_id: tokio_id,
            name,
            spawn_site,
        });
        actor
    }

    /// A class and one lock instance of it; returns (class, lock).
    pub fn lock(&mut self, kind: LockKind, name: &str, site: &str) -> (u64, u64) {
        let (class, name, site) = (self.id(), self.str(name), self.str(site));
        self.push(Record::Class {
            class,
            kind,
            name,
            site,
        });
        let lock = self.id();
        let capacity = if kind == LockKind::Semaphore { 4 } else { 1 };
        self.push(Record::Lock {
            lock,
            class,
            capacity,
        });
        (class, lock)
    }

    /// A stack of (function, file, line) frames, innermost first.
    pub fn stack(&mut self, frames: &[(&str, &str, u32)]) -> u64 {
        let mut ids = Vec::new();
        for &(function, file, line) in frames {
            let (frame, function, file) = (self.id(), self.str(function), self.str(file));
            self.push(Record::Frame {
                frame,
                function,
                file,
                line,
            });
            ids.push(frame);
        }
        let stack = self.id();
        self.push(Record::Stack { stack, frames: ids });
        stack
    }

    /// A contended wait from `begin_ns` to `end_ns` (`None`: still waiting at the end).
    #[allow(clippy::too_many_arguments)]
    pub fn wait(
        &mut self,
        actor: u64,
        lock: u64,
        site: &str,
        stack: u64,
        holders: &[u64],
        begin_ns: u64,
        end_ns: Option<u64>,
    ) -> &mut Self {
        let site = self.str(site);
        let holders = holders.to_vec();
        self.push(Record::WaitBegin {
            ts_ns: begin_ns,
            actor,
            lock,
            mode: Mode::Exclusive,
            site,
            stack,
            holders,
            span: 0,
        });
        if let Some(ts_ns) = end_ns {
            self.push(Record::WaitEnd {
                ts_ns,
                actor,
                lock,
                outcome: Outcome::Acquired,
            });
        }
        self
    }

    /// A timed hold that others waited on from `contended_ns`.
    pub fn hold(
        &mut self,
        actor: u64,
        lock: u64,
        site: &str,
        begin_ns: u64,
        contended_ns: u64,
        end_ns: u64,
    ) -> &mut Self {
        let site = self.str(site);
        self.push(Record::Hold {
            begin_ns,
            contended_ns,
            end_ns,
            actor,
            lock,
            mode: Mode::Exclusive,
            site,
            span: 0,
        })
    }

    /// The trace bytes: header, then one chunk per three records.
    pub fn bytes_with_version(&self, version: u16) -> Vec<u8> {
        self.bytes_of(version, 4242)
    }

    /// The trace bytes as process `pid` would have recorded them.
    #[allow(dead_code)]
    pub fn bytes_with_pid(&self, pid: u32) -> Vec<u8> {
        self.bytes_of(VERSION, pid)
    }

    fn bytes_of(&self, version: u16, pid: u32) -> Vec<u8> {
        let header = Header {
            version,
            flags: 0,
            epoch_unix_ns: 1_700_000_000_000_000_000,
            pid,
        };
        let mut out = header.to_bytes().to_vec();
        for group in self.records.chunks(3) {
            let mut payload = Vec::new();
            group.iter().for_each(|r| r.encode(&mut payload));
            write_chunk(&mut out, &payload);
        }
        out
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.bytes_with_version(VERSION)
    }
}

/// A fresh path under cargo's scratch directory for integration tests, in a directory of
/// this test process's own: test binaries that run at once (two `cargo test`s over one
/// target directory) must not overwrite each other's traces.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("lockscope-viewer-tests")
        .join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Writes `bytes` to a scratch file named `name`, whole or not at all: the file is written
/// under a temporary name and renamed, so a test that reads a file another test is writing
/// (both tests use `diff-base.lst`, say) never sees it half written.
pub fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch(name);
    let tmp = scratch(&format!("{name}.{:?}.part", std::thread::current().id()));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// Runs `lockscope ARGS`.
pub fn lockscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockscope"))
        .args(args)
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn histogram(values: &[u64]) -> Histogram {
    let mut h = Histogram::default();
    values.iter().for_each(|&v| h.record(v));
    h
}

/// Ids in [`bank`].
#[derive(Debug)]
pub struct Bank {
    pub main: u64,
    pub worker1: u64,
    pub worker2: u64,
    pub ledger: u64,
    pub cache: u64,
}

/// A small scenario with known answers:
/// - `ledger` (named mutex): worker-1 waits 1 µs, 2 µs and 100 µs at `src/bank.rs:42:9`
///   (stack `bank::main` → `bank::transfer`) while worker-2 holds it, taken at
///   `src/bank.rs:41:9`; two ClassStats snapshots, the second one final.
/// - the unnamed rwlock at `src/cache.rs:20:9`: no ClassStats; worker-2 waits 500 ns at
///   `src/cache.rs:31:13` (no stack) while worker-1 holds it; `main` is still waiting for it
///   when the trace ends, held by worker-1.
/// - `db-pool` (semaphore) and a condvar: defined, never contended.
/// - a deadlock alert, 3 dropped events, a clean end at 1 ms.
pub fn bank() -> (TraceBuilder, Bank) {
    let mut t = TraceBuilder::new();
    let (main, worker1, worker2) = (t.actor("main"), t.actor("worker-1"), t.actor("worker-2"));
    let (ledger_class, ledger) = t.lock(LockKind::Mutex, "ledger", "src/bank.rs:10:5");
    let (_, cache) = t.lock(LockKind::RwLock, "", "src/cache.rs:20:9");
    t.lock(LockKind::Semaphore, "db-pool", "src/db.rs:7:1");
    t.lock(LockKind::Condvar, "", "src/queue.rs:15:3");
    let stack = t.stack(&[
        ("bank::transfer", "src/bank.rs", 42),
        ("bank::main", "src/main.rs", 5),
    ]);
    let at = "src/bank.rs:42:9";
    t.hold(worker2, ledger, "src/bank.rs:41:9", 10_000, 11_000, 12_000);
    t.wait(worker1, ledger, at, stack, &[worker2], 11_000, Some(12_000));
    t.hold(worker2, ledger, "src/bank.rs:41:9", 20_000, 21_000, 23_000);
    t.wait(worker1, ledger, at, stack, &[worker2], 21_000, Some(23_000));
    t.push(stats(ledger_class, 10, &[1_000, 2_000], &[500]));
    t.hold(worker2, ledger, "src/bank.rs:41:9", 30_000, 31_000, 131_000);
    t.wait(
        worker1,
        ledger,
        at,
        stack,
        &[worker2],
        31_000,
        Some(131_000),
    );
    t.push(stats(
        ledger_class,
        1_000,
        &[1_000, 2_000, 100_000],
        &[500, 700],
    ));
    t.hold(
        worker1,
        cache,
        "src/cache.rs:30:9",
        200_000,
        200_100,
        200_600,
    );
    t.wait(
        worker2,
        cache,
        "src/cache.rs:31:13",
        0,
        &[worker1],
        200_100,
        Some(200_600),
    );
    t.wait(
        main,
        cache,
        "src/cache.rs:31:13",
        0,
        &[worker1],
        900_000,
        None,
    );
    t.push(Record::Dropped { events: 3 });
    let json = r#"{"locks": ["ledger", "src/cache.rs:20:9"], "actors": ["main", "worker-1"]}"#;
    let text = "deadlock: main waits for src/cache.rs:20:9 held by worker-1\nworker-1 waits for ledger held by main";
    t.push(Record::Alert {
        ts_ns: 950_000,
        kind: "deadlock".into(),
        text: text.into(),
        json: json.into(),
    });
    t.push(Record::End { ts_ns: 1_000_000 });
    (
        t,
        Bank {
            main,
            worker1,
            worker2,
            ledger,
            cache,
        },
    )
}

fn stats(class: u64, acquisitions: u64, waits: &[u64], holds: &[u64]) -> Record {
    Record::ClassStats {
        class,
        instances: 1,
        acquisitions,
        contentions: waits.len() as u64,
        max_waiters: 1,
        hold_sample_period: 8,
        wait: histogram(waits),
        hold: histogram(holds),
    }
}
