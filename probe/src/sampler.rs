//! The context-switch sampler: a `lockscope-sampler` thread that, while a recording runs,
//! reads every thread's voluntary and involuntary context switches, run-queue delay and CPU
//! time from `/proc/self/task/<tid>/` (procfs), and the process's CPU and memory (sysinfo),
//! and writes them into the trace as `ThreadSched` and `Process` records.
//!
//! `/proc/self/status` would cover only the main thread; the per-task files cover all of
//! them. Where `/proc` cannot be read, the sampler says so once and stops; nothing else
//! depends on it.

use crate::diag::warn;
use crate::format::Record;
use crate::settings::{self, sample_hz};
use crate::{actor, clock, sink};
use std::collections::HashMap;
use std::sync::Once;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

static STARTED: Once = Once::new();

/// Starts the sampler thread (once per process); called when a recording starts.
pub(crate) fn start() {
    STARTED.call_once(|| {
        actor::on_thread_exit(thread_exiting);
        let spawned = std::thread::Builder::new()
            .name("lockscope-sampler".into())
            .spawn(run);
        match spawned {
            Ok(h) => settings::listen_sample_hz(h.thread().clone()),
            Err(e) => warn(&format!(
                "cannot start the lockscope-sampler thread ({e}); traces will have no context-switch figures"
            )),
        }
    });
}

/// One thread's last figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sched {
    pub(crate) voluntary: u64,
    pub(crate) involuntary: u64,
    pub(crate) run_delay_ns: u64,
    pub(crate) cpu_ns: u64,
}

/// Reads one thread's figures; `None` when the thread is gone or `/proc` is unreadable.
fn read_task(task: &procfs::process::Task) -> Option<Sched> {
    let status = task.status().ok()?;
    let sched = task.schedstat().ok();
    Some(Sched {
        voluntary: status.voluntary_ctxt_switches.unwrap_or(0),
        involuntary: status.nonvoluntary_ctxt_switches.unwrap_or(0),
        run_delay_ns: sched.as_ref().map_or(0, |s| s.run_delay),
        cpu_ns: sched.as_ref().map_or(0, |s| s.sum_exec_runtime),
    })
}

/// The threads of this process and their figures, keyed by tid, with each one's name. A
/// thread may be missing from one listing while others exit during it (the kernel's
/// directory walk of `/proc/self/task` can step over it); the next pass finds it.
pub(crate) fn read_threads() -> Result<Vec<(u64, String, Sched)>, String> {
    let me =
        procfs::process::Process::myself().map_err(|e| format!("cannot read /proc/self ({e})"))?;
    let tasks = me
        .tasks()
        .map_err(|e| format!("cannot list /proc/self/task ({e})"))?;
    let mut out = Vec::new();
    for task in tasks.flatten() {
        let Some(s) = read_task(&task) else { continue };
        let name = task
            .stat()
            .map(|st| st.comm)
            .unwrap_or_else(|_| format!("tid-{}", task.tid));
        out.push((task.tid as u64, name, s));
    }
    Ok(out)
}

/// Switch counts come from `/proc/self/task/<tid>/status`, which costs the kernel ~50-80 µs
/// per thread to produce, against ~9 µs for `schedstat`: `status` is read at most this often
/// per thread, and only for threads that ran since.
const STATUS_EVERY_NS: u64 = 1_000_000_000;

#[derive(Debug)]
struct ThreadState {
    actor: u64,
    /// The actor is one of lockscope's threads (not one defined here for the sampler): once it
    /// is no longer live it has written its own final figures as it exited.
    own: bool,
    exec_ns: u64,
    pcount: u64,
    status_ns: u64,
    sched: Sched,
}

/// The sampler's memory of the threads it has seen, by tid.
#[derive(Default, Debug)]
#[doc(hidden)]
pub struct Tracker {
    threads: HashMap<u64, ThreadState>,
}

impl Tracker {
    /// One round: a record for every thread that is new or ran since the last round (an idle
    /// thread's figures have not changed); threads that exited are forgotten.
    pub(crate) fn round(&mut self, now: u64) -> Result<Vec<Record>, String> {
        let me = procfs::process::Process::myself()
            .map_err(|e| format!("cannot read /proc/self ({e})"))?;
        let tasks = me
            .tasks()
            .map_err(|e| format!("cannot list /proc/self/task ({e})"))?;
        let known: HashMap<u64, u64> = actor::live_tids().into_iter().collect();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for task in tasks.flatten() {
            let tid = task.tid as u64;
            let Ok(ss) = task.schedstat() else { continue };
            seen.insert(tid);
            let st = self.threads.entry(tid).or_insert_with(|| ThreadState {
                actor: 0,
                own: false,
                exec_ns: u64::MAX,
                pcount: u64::MAX,
                status_ns: 0,
                sched: Sched::default(),
            });
            match known.get(&tid) {
                Some(&id) => {
                    st.actor = id;
                    st.own = true;
                }
                // Exiting: it wrote its final figures itself, and this round's (read while it
                // tears down, the switch counts possibly a second old) would come after them.
                None if st.own => continue,
                None if st.actor == 0 => {
                    let name = std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                        .map(|n| n.trim_end().to_owned())
                        .unwrap_or_else(|_| format!("tid-{tid}"));
                    match actor::define_foreign(tid, &name) {
                        actor::Defined::Foreign(id) => st.actor = id,
                        // It took its first lock since `known` was read: lockscope's own.
                        actor::Defined::Own { id, exited } => {
                            st.actor = id;
                            st.own = true;
                            if exited {
                                continue;
                            }
                        }
                    }
                }
                None => {}
            }
            if ss.sum_exec_runtime == st.exec_ns && ss.pcount == st.pcount {
                continue;
            }
            if (st.status_ns == 0 || now.saturating_sub(st.status_ns) >= STATUS_EVERY_NS)
                && let Ok(status) = task.status()
            {
                st.sched.voluntary = status.voluntary_ctxt_switches.unwrap_or(0);
                st.sched.involuntary = status.nonvoluntary_ctxt_switches.unwrap_or(0);
                st.status_ns = now.max(1);
            }
            st.exec_ns = ss.sum_exec_runtime;
            st.pcount = ss.pcount;
            st.sched.cpu_ns = ss.sum_exec_runtime;
            st.sched.run_delay_ns = ss.run_delay;
            out.push(Record::ThreadSched {
                ts_ns: now,
                actor: st.actor,
                voluntary: st.sched.voluntary,
                involuntary: st.sched.involuntary,
                run_delay_ns: st.sched.run_delay_ns,
                cpu_ns: st.sched.cpu_ns,
            });
        }
        self.threads.retain(|tid, _| {
            let alive = seen.contains(tid);
            if !alive {
                actor::forget_foreign(*tid);
            }
            alive
        });
        Ok(out)
    }

    /// Threads tracked right now.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.threads.len()
    }

    #[cfg(test)]
    fn knows(&self, tid: u64) -> bool {
        self.threads.contains_key(&tid)
    }
}

/// The sampler's memory of threads, shared with the final round a stopping recording runs.
static TRACKER: parking_lot::Mutex<Option<Tracker>> = parking_lot::Mutex::new(None);

/// A thread with an actor is exiting while a recording runs: its last figures, which the
/// sampler could not read once the thread is gone (`getrusage` on the thread itself, and its
/// `schedstat` for the run-queue delay).
fn thread_exiting(a: &actor::ActorShared) {
    if sample_hz() == 0 || !settings::enabled() {
        return;
    }
    let Some((voluntary, involuntary, cpu)) = crate::raw::thread_rusage() else {
        return;
    };
    let (cpu_ns, run_delay_ns) = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            let mut f = s.split_whitespace().map(|v| v.parse::<u64>().ok());
            Some((f.next()??, f.next()??))
        })
        .unwrap_or((cpu, 0));
    let r = Record::ThreadSched {
        ts_ns: clock::now_ns(),
        actor: a.id.load(Relaxed),
        voluntary,
        involuntary,
        run_delay_ns,
        cpu_ns,
    };
    a.sink.emit(|b| r.encode(b));
}

/// The last round of a recording that stops: every thread's switch counts read afresh, so
/// the trace ends with exact figures. Gives up rather than wait behind a running round.
pub(crate) fn final_round() {
    if sample_hz() == 0 || !settings::enabled() || !STARTED.is_completed() {
        return;
    }
    let Some(mut guard) = TRACKER.try_lock_for(Duration::from_millis(50)) else {
        return;
    };
    let tracker = guard.get_or_insert_with(Tracker::default);
    tracker.threads.values_mut().for_each(|t| {
        t.status_ns = 0;
        t.exec_ns = u64::MAX;
    });
    if let Ok(records) = tracker.round(clock::now_ns()) {
        let me = actor::current();
        for r in &records {
            me.sink.emit(|b| r.encode(b));
        }
    }
}

fn run() {
    let me = actor::current();
    let mut system = sysinfo::System::new();
    let pid = sysinfo::Pid::from_u32(std::process::id());
    let mut warned = false;
    loop {
        let hz = sample_hz();
        if hz == 0 {
            std::thread::park_timeout(Duration::from_secs(1));
            continue;
        }
        std::thread::park_timeout(Duration::from_nanos(1_000_000_000 / hz));
        if !sink::recording() || !settings::enabled() {
            continue;
        }
        let now = clock::now_ns();
        let mut guard = TRACKER.lock();
        let tracker = guard.get_or_insert_with(Tracker::default);
        let records = match tracker.round(now) {
            Ok(r) => r,
            Err(e) => {
                if !warned {
                    warn(&format!(
                        "{e}; traces will have no context-switch figures (this needs Linux with /proc mounted)"
                    ));
                    warned = true;
                }
                continue;
            }
        };
        for r in &records {
            me.sink.emit(|b| r.encode(b));
        }
        system.refresh_processes_specifics(
            sysinfo::ProcessesToUpdate::Some(&[pid]),
            false,
            sysinfo::ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory(),
        );
        if let Some(p) = system.process(pid) {
            let r = Record::Process {
                ts_ns: now,
                cpu_ns: p.accumulated_cpu_time().saturating_mul(1_000_000),
                rss_bytes: p.memory(),
                threads: tracker.threads.len() as u64,
            };
            me.sink.emit(|b| r.encode(b));
        }
        drop(guard);
    }
}

/// One sampler round without a recording (reads every thread's figures and builds the
/// records); returns the number of threads read. For the sampler's cost benchmark.
#[doc(hidden)]
pub fn bench_round(tracker: &mut Tracker) -> usize {
    tracker.round(clock::now_ns()).map_or(0, |r| r.len())
}

/// Reads every thread's `status`, `schedstat` and `stat` (what a round costs at most, when
/// every thread ran and is due for its switch counts). For the cost benchmark.
#[doc(hidden)]
pub fn bench_full_read() -> usize {
    read_threads().map_or(0, |t| t.len())
}

/// This module's internal lock, for the fork hooks.
pub(crate) fn fork_lock() -> &'static dyn crate::raw::ForkLock {
    &TRACKER
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `gone` until it holds. A joined thread's `/proc/self/task` entry can outlive the
    /// join for a moment under load (the kernel clears the tid the join waits on before it
    /// reaps the task), and nothing can be waited on for the reaping.
    fn eventually(what: &str, mut gone: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !gone() {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::yield_now();
        }
    }

    #[test]
    fn every_live_thread_is_read_and_counters_never_go_down() {
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<u64>();
        let worker = std::thread::spawn(move || {
            ready_tx.send(crate::raw::current_tid()).unwrap();
            go_rx.recv().unwrap();
        });
        let tid = ready_rx.recv().unwrap();
        let me_tid = crate::raw::current_tid();
        // A listing of /proc/self/task can pass over a live thread while other threads (other
        // tests') exit during it: the sampler's next pass finds it, and so does a retry here.
        let mut first = Vec::new();
        eventually("the worker thread and this one are listed", || {
            first = read_threads().expect("/proc/self/task is readable");
            first.iter().any(|t| t.0 == tid) && first.iter().any(|t| t.0 == me_tid)
        });
        // Work and block a little between the two reads.
        let spin: u64 = (0..200_000u64).map(std::hint::black_box).sum();
        assert!(spin > 0);
        go_tx.send(()).unwrap();
        worker.join().unwrap();
        let mut second = Vec::new();
        eventually("an exited thread is not listed", || {
            second = read_threads().unwrap();
            !second.iter().any(|t| t.0 == tid)
        });
        // Only this thread is compared: other tests' threads come and go meanwhile, and a
        // new thread may get an exited one's tid, with counters that start again from zero.
        let mut compared = 0;
        for (t, _, after) in second.iter().filter(|t| t.0 == me_tid) {
            if let Some((_, _, before)) = first.iter().find(|f| f.0 == *t) {
                assert!(after.voluntary >= before.voluntary, "tid {t}");
                assert!(after.involuntary >= before.involuntary, "tid {t}");
                assert!(after.run_delay_ns >= before.run_delay_ns, "tid {t}");
                assert!(after.cpu_ns >= before.cpu_ns, "tid {t}");
                compared += 1;
            }
        }
        assert!(compared >= 1);
        let me = second
            .iter()
            .find(|t| t.0 == crate::raw::current_tid())
            .unwrap();
        assert!(me.2.cpu_ns > 0, "this thread has run: {:?}", me.2);
    }

    #[test]
    fn the_tracker_reads_new_threads_and_forgets_exited_ones() {
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<u64>();
        let worker = std::thread::Builder::new()
            .name("tracked-worker".into())
            .spawn(move || {
                ready_tx.send(crate::raw::current_tid()).unwrap();
                go_rx.recv().unwrap();
            })
            .unwrap();
        let tid = ready_rx.recv().unwrap();
        let mut t = Tracker::default();
        // Listing /proc/self/task while other tests' threads come and go can pass over a live
        // thread; the next round lists it.
        let mut first = Vec::new();
        eventually("the worker is listed", || {
            first = t.round(1).unwrap();
            t.knows(tid)
        });
        // Every thread is new, so each gets a record, but for lockscope's own threads that are
        // exiting (other tests' threads: they write their final figures themselves).
        let actor = t.threads[&tid].actor;
        let of_worker =
            |r: &Record| matches!(r, Record::ThreadSched { actor: a, .. } if *a == actor);
        assert_eq!(first.iter().filter(|r| of_worker(r)).count(), 1);
        assert!(first.len() <= t.tracked());
        go_tx.send(()).unwrap();
        worker.join().unwrap();
        eventually("an exited thread is forgotten", || {
            t.round(2).unwrap();
            !t.knows(tid)
        });
        assert!(t.knows(crate::raw::current_tid()));
    }

    #[test]
    fn a_thread_that_registers_after_the_list_was_read_is_not_defined_twice() {
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<u64>();
        let (id_tx, id_rx) = std::sync::mpsc::channel::<u64>();
        let worker = std::thread::spawn(move || {
            ready_tx.send(crate::raw::current_tid()).unwrap();
            go_rx.recv().unwrap();
            // Its first lock, after the sampler listed it as a thread without an actor.
            id_tx.send(actor::current().id.load(Relaxed)).unwrap();
            go_rx.recv().unwrap();
        });
        let tid = ready_rx.recv().unwrap();
        let listed_without_actor = !actor::live_tids().iter().any(|&(t, _)| t == tid);
        assert!(listed_without_actor);
        go_tx.send(()).unwrap();
        let id = id_rx.recv().unwrap();
        // The sampler now defines what it listed: the thread is found as lockscope's own.
        assert_eq!(
            actor::define_foreign(tid, "late-registrant"),
            actor::Defined::Own { id, exited: false }
        );
        go_tx.send(()).unwrap();
        worker.join().unwrap();
    }
}
