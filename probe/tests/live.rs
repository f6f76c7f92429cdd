//! The live stream: the same records as the file, metadata first for a viewer that connects
//! late, a stalled viewer that costs the program nothing and is told what it lost, garbage
//! from a viewer tolerated, and a port in use reported with the fix. Tests that record run in
//! a fresh child process: recording state is process-wide.

mod support;

use lockscope::format::{self, Record, StreamDecoder};
use lockscope::{Mutex, RecordError, Recorder, Recording};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use support::*;

/// How long any one wait in these tests may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(60);

/// Polls `cond` until it holds; fails after [`HANG`].
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + HANG;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Connects a viewer that reads the whole stream (until the recording closes it).
fn viewer(addr: SocketAddr, hello: &[u8]) -> thread::JoinHandle<Vec<u8>> {
    let mut s = TcpStream::connect(addr).expect("connect to the live stream");
    s.set_read_timeout(Some(HANG)).unwrap();
    s.write_all(hello).unwrap();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        s.read_to_end(&mut bytes).expect("the stream ends cleanly");
        bytes
    })
}

/// Waits until the recording serves `n` viewers (each has its replay queued).
fn wait_viewers(rec: &Recording, n: usize) {
    wait_until("the viewer is accepted", || rec.live_viewers().len() == n);
}

/// Records the sampler may write at any moment, before a viewer could connect.
fn comparable(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| !matches!(r, Record::ThreadSched { .. } | Record::Process { .. }))
        .collect()
}

/// Every id an event names was defined earlier in the stream.
fn assert_defined_before_use(records: &[Record]) {
    let (mut strings, mut actors, mut locks, mut classes) = (
        HashSet::from([0]),
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
    );
    for (i, r) in records.iter().enumerate() {
        match r {
            Record::String { id, .. } => {
                strings.insert(*id);
            }
            Record::Actor { actor, name, .. } => {
                assert!(strings.contains(name), "record {i}: {r:?}");
                actors.insert(*actor);
            }
            Record::Class {
                class, name, site, ..
            } => {
                assert!(
                    strings.contains(name) && strings.contains(site),
                    "record {i}: {r:?}"
                );
                classes.insert(*class);
            }
            Record::Lock { lock, class, .. } => {
                assert!(classes.contains(class), "record {i}: {r:?}");
                locks.insert(*lock);
            }
            Record::WaitBegin {
                actor,
                lock,
                site,
                holders,
                ..
            } => {
                assert!(
                    actors.contains(actor) && locks.contains(lock) && strings.contains(site),
                    "record {i} names something undefined: {r:?}"
                );
                assert!(
                    holders.iter().all(|h| actors.contains(h)),
                    "record {i}: {r:?}"
                );
            }
            _ => {}
        }
    }
}

fn string_id(records: &[Record], text: &str) -> Option<u64> {
    records.iter().find_map(|r| match r {
        Record::String { id, text: t } if t == text => Some(*id),
        _ => None,
    })
}

/// The instance ids of the class named `name`.
fn locks_named(records: &[Record], name: &str) -> Vec<u64> {
    let Some(n) = string_id(records, name) else {
        return Vec::new();
    };
    let classes: HashSet<u64> = records
        .iter()
        .filter_map(|r| match r {
            Record::Class { class, name, .. } if *name == n => Some(*class),
            _ => None,
        })
        .collect();
    records
        .iter()
        .filter_map(|r| match r {
            Record::Lock { lock, class, .. } if classes.contains(class) => Some(*lock),
            _ => None,
        })
        .collect()
}

fn waits_on(records: &[Record], locks: &[u64]) -> usize {
    records
        .iter()
        .filter(|r| matches!(r, Record::WaitBegin { lock, .. } if locks.contains(lock)))
        .count()
}

#[test]
fn the_live_stream_decodes_to_the_same_records_as_the_file() {
    const NAME: &str = "the_live_stream_decodes_to_the_same_records_as_the_file";
    if is_child(NAME) {
        let path = trace_path(NAME);
        let rec = Recorder::to_file(&path)
            .unwrap()
            .live("127.0.0.1:0")
            .unwrap()
            .start();
        let v = viewer(rec.live_addr().unwrap(), b"hello 1\n");
        wait_viewers(&rec, 1);
        let m = Arc::new(Mutex::named("contended", 0));
        forced_contention(&m);
        inversion("first", "second");
        lockscope::set_hold_sample_period(1);
        for _ in 0..1000 {
            *m.lock() += 1;
        }
        assert_eq!(rec.live_viewers()[0].hello, Some(1));
        drop(m);
        drop(rec);
        let live = format::decode(&v.join().unwrap()).unwrap();
        let file = format::read_file(&path).unwrap();
        assert!(live.is_complete() && file.is_complete());
        assert_eq!(live.header, file.header);
        assert_eq!(comparable(&live.records), comparable(&file.records));
        assert!(
            live.records
                .iter()
                .any(|r| matches!(r, Record::Alert { .. }))
        );
        assert_eq!(
            waits_on(&live.records, &locks_named(&live.records, "contended")),
            1
        );
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn a_viewer_connecting_mid_run_gets_the_metadata_first() {
    const NAME: &str = "a_viewer_connecting_mid_run_gets_the_metadata_first";
    if is_child(NAME) {
        let rec = Recorder::to_live("127.0.0.1:0").unwrap().start();
        assert_eq!(rec.path(), std::path::Path::new(""));
        // Everything here happens, and reaches the live thread, before the viewer exists.
        let early = Arc::new(Mutex::named("early", 0));
        forced_contention(&early);
        inversion("alpha", "beta");
        assert!(lockscope::flush());
        let v = viewer(rec.live_addr().unwrap(), b"");
        wait_viewers(&rec, 1);
        // A lock defined before the viewer connected, used after.
        forced_contention(&early);
        drop(rec);
        let t = format::decode(&v.join().unwrap()).unwrap();
        assert!(t.is_complete(), "{:?} {:?}", t.truncated, t.damage);
        let early = locks_named(&t.records, "early");
        assert_eq!(early.len(), 1, "the early lock is defined once");
        assert_eq!(
            waits_on(&t.records, &early),
            1,
            "only the wait after connecting is streamed"
        );
        assert_defined_before_use(&t.records);
        let alert = t.records.iter().position(|r| {
            matches!(r, Record::Alert { kind, text, .. } if kind == "lock_order_inversion" && text.contains("alpha"))
        });
        let first_event = t
            .records
            .iter()
            .position(|r| matches!(r, Record::WaitBegin { .. } | Record::Hold { .. }));
        assert!(
            alert.is_some() && alert < first_event,
            "the earlier alert comes with the metadata, before live events"
        );
        let stats = t
            .records
            .iter()
            .position(|r| matches!(r, Record::ClassStats { .. }));
        assert!(
            stats < first_event,
            "the latest figures come before live events"
        );
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn a_viewer_connecting_after_a_deadlock_formed_is_sent_the_stuck_waits() {
    const NAME: &str = "a_viewer_connecting_after_a_deadlock_formed_is_sent_the_stuck_waits";
    if is_child(NAME) {
        let rec = Recorder::to_live("127.0.0.1:0").unwrap().start();
        let (a, b) = (
            Arc::new(Mutex::named("fork-a", ())),
            Arc::new(Mutex::named("fork-b", ())),
        );
        // Two threads take one fork each, then reach for the other's: an ABBA deadlock that
        // forms before any viewer connects, and never ends.
        let both = Arc::new(std::sync::Barrier::new(2));
        for (first, second, name) in [(&a, &b, "diner-1"), (&b, &a, "diner-2")] {
            let (first, second, both) = (first.clone(), second.clone(), both.clone());
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let _held = first.lock();
                    both.wait();
                    let _never = second.lock();
                })
                .unwrap();
        }
        wait_until("both diners wait", || {
            a.stats().waiters == 1 && b.stats().waiters == 1
        });
        // Their waits reach the recorder (and its open-wait list) before the viewer exists.
        assert!(lockscope::flush());
        assert!(lockscope::flush());
        let v = viewer(rec.live_addr().unwrap(), b"");
        wait_viewers(&rec, 1);
        drop(rec);
        let t = format::decode(&v.join().unwrap()).unwrap();
        assert!(t.is_complete(), "{:?} {:?}", t.truncated, t.damage);
        assert_defined_before_use(&t.records);
        let forks = [
            locks_named(&t.records, "fork-a"),
            locks_named(&t.records, "fork-b"),
        ];
        for (name, lock) in ["fork-a", "fork-b"].iter().zip(&forks) {
            assert_eq!(
                waits_on(&t.records, lock),
                1,
                "the wait for {name}, begun before the viewer connected, is sent to it"
            );
        }
        let ends = (t.records.iter())
            .filter(|r| matches!(r, Record::WaitEnd { lock, .. } if forks.iter().any(|f| f.contains(lock))))
            .count();
        assert_eq!(ends, 0, "the deadlocked waits never end");
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn a_stalled_viewer_never_blocks_locks_and_is_told_what_it_lost() {
    const NAME: &str = "a_stalled_viewer_never_blocks_locks_and_is_told_what_it_lost";
    if is_child(NAME) {
        let path = trace_path(NAME);
        lockscope::set_hold_sample_period(1); // every acquisition writes a record
        // Only the locking thread's events: a lost chunk of the sampler's context-switch
        // figures would count as lost events without a single hold missing from the stream.
        lockscope::set_sample_hz(0);
        let rec = Recorder::to_file(&path)
            .unwrap()
            .live("127.0.0.1:0")
            .unwrap()
            .live_queue_bytes(64 * 1024)
            .start();
        let mut stalled = TcpStream::connect(rec.live_addr().unwrap()).unwrap();
        stalled.set_read_timeout(Some(HANG)).unwrap();
        wait_viewers(&rec, 1);
        // Lock and unlock until the live thread has had to drop chunks for the viewer, which
        // reads nothing meanwhile. The locking runs in its own thread so that a probe that
        // blocked on the viewer fails this test instead of hanging it.
        let rec = Arc::new(rec);
        let (done_tx, done_rx) = mpsc::channel();
        let r = rec.clone();
        let locker = thread::spawn(move || {
            let locks: Vec<Mutex<u64>> = (0..64).map(|_| Mutex::named("busy", 0)).collect();
            let mut n = 0u64;
            while r.live_viewers()[0].events_dropped == 0 {
                for i in 0..10_000 {
                    *locks[i % 64].lock() += 1;
                }
                n += 10_000;
            }
            done_tx.send(n).unwrap();
        });
        let acquisitions = done_rx
            .recv_timeout(HANG)
            .expect("locking went on while the viewer read nothing");
        let lost = rec.live_viewers()[0].events_dropped;
        assert!(lost > 0 && acquisitions > 0);
        // The viewer reads again: the bytes already queued, then the definitions it missed
        // and a `Dropped` record that counts its loss.
        let (caught_tx, caught_rx) = mpsc::channel();
        let reader = thread::spawn(move || {
            let mut d = StreamDecoder::default();
            let (mut records, mut buf, mut told) = (Vec::new(), vec![0u8; 64 * 1024], false);
            loop {
                let n = stalled.read(&mut buf).expect("the stream ends cleanly");
                if n == 0 {
                    return records;
                }
                let from = records.len();
                d.feed(&buf[..n], &mut records).unwrap();
                let saw = records[from..]
                    .iter()
                    .any(|r| matches!(r, Record::Dropped { events } if *events >= lost));
                if saw && !told {
                    told = true;
                    caught_tx.send(()).unwrap();
                }
            }
        });
        caught_rx
            .recv_timeout(HANG)
            .expect("the viewer is told about its loss once it catches up");
        // What the locking thread still had buffered reaches the live thread first (two
        // recorder passes), and the viewer reads its 64 KiB queue empty: else those events
        // could fill it again and the next ones be dropped while it catches up a second time.
        assert!(lockscope::flush());
        assert!(lockscope::flush());
        wait_until("the viewer's queue is read", || {
            rec.live_viewers()
                .first()
                .is_some_and(|v| v.queued_bytes == 0)
        });
        let after = Arc::new(Mutex::named("after-stall", 0));
        forced_contention(&after);
        drop(after);
        // Its clone of the recording goes with the thread (after it said it was done).
        locker.join().unwrap();
        let rec = Arc::into_inner(rec).expect("the locking thread has finished");
        drop(rec);
        let live = reader.join().unwrap();
        assert!(matches!(live.last(), Some(Record::End { .. })));
        assert_eq!(
            waits_on(&live, &locks_named(&live, "after-stall")),
            1,
            "after catching up the viewer follows the stream again"
        );
        // Every event after the catch-up names something defined in the stream.
        let caught = live
            .iter()
            .position(|r| matches!(r, Record::Dropped { events } if *events >= lost))
            .unwrap();
        let mut defs: Vec<Record> = live
            .iter()
            .filter(|r| {
                matches!(
                    r,
                    Record::String { .. }
                        | Record::Actor { .. }
                        | Record::Class { .. }
                        | Record::Lock { .. }
                )
            })
            .cloned()
            .collect();
        defs.extend(live[caught..].iter().cloned());
        assert_defined_before_use(&defs);
        // The file lost nothing to the viewer.
        let file = format::read_file(&path).unwrap();
        assert!(file.is_complete());
        let holds = |rs: &[Record]| {
            let busy = locks_named(rs, "busy");
            rs.iter()
                .filter(|r| matches!(r, Record::Hold { lock, .. } if busy.contains(lock)))
                .count()
        };
        assert!(
            holds(&file.records) > holds(&live),
            "the file keeps what the viewer lost: file {} holds, live {}, lost {lost}",
            holds(&file.records),
            holds(&live)
        );
        return;
    }
    assert_child_ok(&run_child(NAME, &[]));
}

#[test]
fn a_malformed_viewer_frame_is_logged_once_and_ignored() {
    const NAME: &str = "a_malformed_viewer_frame_is_logged_once_and_ignored";
    if is_child(NAME) {
        let rec = Recorder::to_live("127.0.0.1:0").unwrap().start();
        let mut garbage = b"hello 1\nGET / HTTP/1.1\r\nHost: lockscope\r\n\r\n".to_vec();
        garbage.extend([0xffu8; 4000]);
        garbage.extend(b"\nhello x\n");
        let v = viewer(rec.live_addr().unwrap(), &garbage);
        wait_viewers(&rec, 1);
        let m = Arc::new(Mutex::named("after-garbage", 0));
        forced_contention(&m);
        wait_until("the viewer's frames are read", || {
            rec.live_viewers()[0].hello == Some(1)
        });
        drop(rec);
        let t = format::decode(&v.join().unwrap()).unwrap();
        assert!(t.is_complete());
        assert_eq!(
            waits_on(&t.records, &locks_named(&t.records, "after-garbage")),
            1
        );
        return;
    }
    let out = run_child(NAME, &[]);
    assert_child_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("malformed frame"))
        .collect();
    assert_eq!(lines.len(), 1, "one line per viewer:\n{stderr}");
    assert!(
        lines[0].starts_with("lockscope: live viewer 127.0.0.1:")
            && lines[0].contains("GET / HTTP/1.1")
            && lines[0].contains("hello <version>"),
        "{}",
        lines[0]
    );
}

#[test]
fn a_port_in_use_is_an_error_that_names_the_address_and_the_fix() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let e = Recorder::to_live(addr).unwrap_err();
    assert!(
        matches!(e, RecordError::Live { addr: a, .. } if a == addr),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains(&addr.to_string()) && msg.contains("choose a free port"),
        "{msg}"
    );
    let e = Recorder::to_live("0.0.0.0:0").unwrap_err();
    assert!(matches!(e, RecordError::LiveNotLoopback { .. }), "{e:?}");
    assert!(e.to_string().contains("LOCKSCOPE_LIVE_ANY=1"), "{e}");
    let e = Recorder::to_live("no port here").unwrap_err();
    assert!(e.to_string().contains("HOST:PORT"), "{e}");
}

#[test]
fn lockscope_live_on_a_port_in_use_warns_once_and_the_file_is_still_written() {
    const NAME: &str = "lockscope_live_on_a_port_in_use_warns_once_and_the_file_is_still_written";
    let path = trace_path(NAME);
    if is_child(NAME) {
        let m = Arc::new(Mutex::named("env-recorded", 0));
        forced_contention(&m);
        return; // the environment's recording is finished at exit
    }
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_child(
        NAME,
        &[
            ("LOCKSCOPE_TRACE", path.to_str().unwrap()),
            ("LOCKSCOPE_LIVE", &addr),
        ],
    );
    assert_child_ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("LOCKSCOPE_LIVE"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains(&addr)
            && lines[0].contains("choose a free port")
            && lines[0].contains("recording to the trace file goes on"),
        "{}",
        lines[0]
    );
    let t = format::read_file(&path).unwrap();
    assert!(t.is_complete());
    assert_eq!(
        waits_on(&t.records, &locks_named(&t.records, "env-recorded")),
        1
    );
}
