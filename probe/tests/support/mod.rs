//! Helpers shared by the integration tests: running a test body in a fresh child process
//! (recording state is process-wide) and looking things up in decoded traces.

#![allow(dead_code)]

use lockscope::format::{Record, Trace};

#[cfg(feature = "tokio")]
pub mod tasks;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The env var that tells a re-executed test binary which body to run.
pub const CHILD: &str = "LOCKSCOPE_TEST_CHILD";

/// True inside the child run of test `name` (which says so on stderr, for
/// [`assert_child_ok`]).
pub fn is_child(name: &str) -> bool {
    let child = std::env::var(CHILD).as_deref() == Ok(name);
    if child {
        eprintln!("{CHILD_RAN}{name}");
    }
    child
}

/// What a child prints when its test starts.
const CHILD_RAN: &str = "lockscope test child: ";

/// Re-runs this test binary with only test `name`, as a child, with extra env vars.
pub fn run_child(name: &str, envs: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .env(DIR, test_dir());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run child test process")
}

/// Where a parent and its children put trace files.
const DIR: &str = "LOCKSCOPE_TEST_DIR";

fn test_dir() -> PathBuf {
    let dir = std::env::var_os(DIR).map(PathBuf::from).unwrap_or_else(|| {
        let own = std::env::temp_dir().join(format!("lockscope-tests-{}", std::process::id()));
        remove_at_exit(&own);
        own
    });
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The directory this test process made (its children write into it too), removed when the
/// process exits: traces of some tests run to gigabytes.
static OWN_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

fn remove_at_exit(dir: &std::path::Path) {
    extern "C" fn remove() {
        if let Some(dir) = OWN_DIR.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    if OWN_DIR.set(dir.to_owned()).is_ok() {
        // SAFETY: `remove` is a plain function that touches only a static set before it is
        // registered; the test harness ends the process through `exit`, which runs it.
        unsafe { libc::atexit(remove) };
    }
}

/// Copies the trace at `path` out of the test directory (removed when the test process exits)
/// into the target directory, and says where, for a failing assertion's message: a flaky
/// test's next failure leaves the file itself to read, not only what the message printed.
pub fn keep_trace(path: &std::path::Path) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("failed-traces");
    let name = path
        .file_name()
        .map_or_else(|| "trace".into(), |n| n.to_string_lossy().into_owned());
    let to = dir.join(format!("{}-{name}", std::process::id()));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::copy(path, &to)) {
        Ok(_) => format!("the trace is kept at {}", to.display()),
        Err(e) => format!("the trace could not be kept ({e})"),
    }
}

/// For a failing assertion about `lock`'s wait between `actors`: every record of that lock or
/// of those actors, the lock's definition, the actors' and what the probe dropped; and where
/// the trace is kept ([`keep_trace`]).
pub fn evidence(t: &Trace, path: &std::path::Path, lock: u64, actors: &[u64]) -> String {
    let about = |r: &&Record| match r {
        Record::WaitBegin { actor, lock: l, .. }
        | Record::WaitEnd { actor, lock: l, .. }
        | Record::Hold { actor, lock: l, .. } => *l == lock || actors.contains(actor),
        Record::Lock { lock: l, .. } => *l == lock,
        Record::Dropped { .. } | Record::Actor { .. } => true,
        _ => false,
    };
    let about: Vec<_> = t.records.iter().filter(about).collect();
    format!("{about:#?}; {}", keep_trace(path))
}

/// The trace file path for test `name` (the same in the parent and its child).
pub fn trace_path(name: &str) -> PathBuf {
    test_dir().join(format!("{name}.lstrace"))
}

/// The string with id `id`.
pub fn string(t: &Trace, id: u64) -> Option<&str> {
    t.records.iter().find_map(|r| match r {
        Record::String { id: i, text } if *i == id => Some(text.as_str()),
        _ => None,
    })
}

/// The actor id of the thread named `name`.
pub fn actor_named(t: &Trace, name: &str) -> u64 {
    t.records
        .iter()
        .find_map(|r| match r {
            Record::Actor { actor, name: n, .. } if string(t, *n) == Some(name) => Some(*actor),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no actor named {name}"))
}

/// The class id of the class named `name`.
pub fn class_named(t: &Trace, name: &str) -> u64 {
    t.records
        .iter()
        .find_map(|r| match r {
            Record::Class { class, name: n, .. } if string(t, *n) == Some(name) => Some(*class),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no class named {name}"))
}

/// The instance ids of class `class`.
pub fn locks_of(t: &Trace, class: u64) -> Vec<u64> {
    t.records
        .iter()
        .filter_map(|r| match r {
            Record::Lock { lock, class: c, .. } if *c == class => Some(*lock),
            _ => None,
        })
        .collect()
}

/// The last `ClassStats` record of `class`.
pub fn last_stats(t: &Trace, class: u64) -> Option<&Record> {
    t.records
        .iter()
        .rev()
        .find(|r| matches!(r, Record::ClassStats { class: c, .. } if *c == class))
}

/// Fails with the child's output when it did not succeed, or ran no test (a name that
/// matches no test, such as one missing its module path, runs nothing and exits 0).
pub fn assert_child_ok(out: &Output) {
    let ran = String::from_utf8_lossy(&out.stderr).contains(CHILD_RAN);
    assert!(
        out.status.success() && ran,
        "child failed: {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In the child: print every report as one JSON line and exit when a deadlock arrives.
pub fn report_and_exit() {
    lockscope::on_deadlock(|r| {
        println!("REPORT {}", r.to_json());
        if r.kind == "deadlock" {
            std::process::exit(0);
        }
    });
}

/// Runs child test `name` and returns its first deadlock report.
pub fn deadlock_report(name: &str) -> serde_json::Value {
    let out = run_child(name, &[]);
    assert_child_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("REPORT ").map(|(_, json)| json))
        .unwrap_or_else(|| {
            panic!(
                "no report; stdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    serde_json::from_str(line).unwrap()
}

/// Makes `waiter` block on `m` while `holder` holds it, without sleeping: the holder waits
/// until the probe itself counts a waiter.
pub fn forced_contention(m: &std::sync::Arc<lockscope::Mutex<u32>>) {
    use std::sync::mpsc;
    use std::thread;
    let (locked_tx, locked_rx) = mpsc::channel();
    let mh = m.clone();
    let holder = thread::Builder::new()
        .name("holder".into())
        .spawn(move || {
            let mut g = mh.lock();
            locked_tx.send(()).unwrap();
            while mh.stats().waiters == 0 {
                thread::yield_now();
            }
            *g += 1;
        })
        .unwrap();
    locked_rx.recv().unwrap();
    let mw = m.clone();
    let waiter = thread::Builder::new()
        .name("waiter".into())
        .spawn(move || *mw.lock() += 1)
        .unwrap();
    holder.join().unwrap();
    waiter.join().unwrap();
}

/// Two threads take `a` and `b` in opposite orders, one after the other: an inversion alert.
pub fn inversion(a: &str, b: &str) {
    use lockscope::Mutex;
    use std::sync::Arc;
    use std::thread;
    let a = Arc::new(Mutex::named(a, 0));
    let b = Arc::new(Mutex::named(b, 0));
    let (a1, b1, a2, b2) = (a.clone(), b.clone(), a.clone(), b.clone());
    thread::spawn(move || {
        let _a = a1.lock();
        *b1.lock() += 1;
    })
    .join()
    .unwrap();
    thread::spawn(move || {
        let _b = b2.lock();
        *a2.lock() += 1;
    })
    .join()
    .unwrap();
}

/// Runs `f` on a new thread named `name` and waits for it.
pub fn in_thread(name: &str, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

/// (class name, mode) of every lock the calling thread holds, as `lockscope::dump()` sees it.
pub fn holds_here() -> Vec<(String, String)> {
    let me = std::thread::current().name().unwrap_or_default().to_owned();
    lockscope::dump()
        .actors
        .into_iter()
        .filter(|a| a.name == me)
        .flat_map(|a| a.holds.into_iter().map(|h| (h.name, h.mode)))
        .collect()
}

/// The field `field` of every participant of a deadlock report, sorted.
pub fn participant_names(r: &serde_json::Value, field: &str) -> Vec<String> {
    let mut v: Vec<String> = r["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[field].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// Each participant of a deadlock report as "`thread` holds `its first lock` waits `lock`",
/// sorted.
pub fn holds_and_waits(r: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = r["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} holds {} waits {}",
                p["name"].as_str().unwrap(),
                p["holds"][0]["name"].as_str().unwrap(),
                p["waits_for"]["name"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

/// Runs `first` and `second` on two threads named by their names, each given a barrier to wait
/// on once it holds its first lock, and returns only if `first` finishes: a child test body
/// whose threads must deadlock (the report ends the process) fails if they do not.
pub fn deadlock_pair(
    first: (&str, impl FnOnce(&std::sync::Barrier) + Send + 'static),
    second: (&str, impl FnOnce(&std::sync::Barrier) + Send + 'static),
) -> ! {
    let both = std::sync::Arc::new(std::sync::Barrier::new(2));
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (name, f) = first;
    let b = both.clone();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            f(&b);
            drop(tx);
        })
        .unwrap();
    let (name, f) = second;
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || f(&both))
        .unwrap();
    let _ = rx.recv();
    unreachable!("the threads deadlock");
}
