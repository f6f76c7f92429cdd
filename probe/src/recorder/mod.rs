//! The recorder: one named thread (`lockscope-recorder`) that collects every thread's event
//! buffer, resolves stacks to symbols, and writes the trace.
//!
//! User threads never wait for it: each writes into its own pre-allocated buffer, which the
//! recorder swaps for an empty one (a pointer swap under a lock only the two of them use).
//! A full buffer drops events and counts them; the count is written into the trace.

pub(crate) mod symbols;
mod writer;

use crate::config::warn;
use parking_lot::{Condvar, Mutex};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

static RECORDING: AtomicBool = AtomicBool::new(false);
/// Set in a forked child: the recorder thread did not survive the fork, so nothing waits
/// for it (exit, panic and flush return at once) and nothing more is recorded.
static FORKED: AtomicBool = AtomicBool::new(false);
static SESSION: AtomicU32 = AtomicU32::new(0);
static NEXT_SESSION: AtomicU32 = AtomicU32::new(1);
static ACTIVE: Mutex<Option<Arc<Shared>>> = Mutex::new(None);
static ENV_RECORDING: Mutex<Option<Recording>> = Mutex::new(None);
static HOOKS: std::sync::Once = std::sync::Once::new();
/// The recorder thread, for waking it without touching `ACTIVE`.
static WRITER_THREAD: parking_lot::RwLock<Option<Thread>> = parking_lot::RwLock::new(None);

/// How long a flush requested on panic, exit or deadlock may take before lockscope gives up
/// waiting (the host must never hang on our account).
const FLUSH_WAIT: Duration = Duration::from_secs(2);
/// The panic hook's bound: a caught panic must not stall a request for long.
const PANIC_FLUSH_WAIT: Duration = Duration::from_millis(250);

/// Is a recorder running? (Events are only buffered while one is.)
#[inline]
pub(crate) fn recording() -> bool {
    RECORDING.load(Relaxed)
}

/// The running recorder's session number, 0 when none runs.
pub(crate) fn session() -> u32 {
    SESSION.load(Relaxed)
}

/// Wakes the recorder early (a thread's buffer is half full).
pub(crate) fn wake() {
    if let Some(t) = WRITER_THREAD.try_read().as_deref().and_then(Option::as_ref) {
        t.unpark();
    }
}

/// Why a recording could not start.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The trace file could not be created.
    #[error("cannot create trace file {}: {source}; choose a path in a writable directory", path.display())]
    Create {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The recorder thread could not be started.
    #[error("cannot start the lockscope-recorder thread: {0}")]
    Spawn(std::io::Error),
}

/// Configures a recording. `Recorder::to_file(path)?.start()` records every lock to `path`
/// until the returned [`Recording`] is dropped.
///
/// ```no_run
/// let _recording = lockscope::Recorder::to_file("app.lstrace")?.start();
/// // ... run the workload ...
/// # Ok::<(), lockscope::RecordError>(())
/// ```
#[derive(Debug)]
pub struct Recorder {
    file: File,
    path: PathBuf,
    interval: Duration,
}

impl Recorder {
    /// Creates (or truncates) the trace file now, so a bad path fails here, not later.
    pub fn to_file(path: impl AsRef<Path>) -> Result<Recorder, RecordError> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path).map_err(|source| RecordError::Create {
            path: path.clone(),
            source,
        })?;
        Ok(Recorder {
            file,
            path,
            interval: Duration::from_millis(20),
        })
    }

    /// How often buffered events are written (default 20 ms; at most 100 ms is kept).
    pub fn flush_interval(mut self, every: Duration) -> Self {
        self.interval = every.clamp(Duration::from_millis(1), Duration::from_millis(100));
        self
    }

    /// Starts recording. A recording already running is finished first (one trace at a time).
    pub fn start(self) -> Recording {
        install_hooks();
        let previous = ACTIVE.lock().clone();
        if let Some(p) = previous {
            p.finish();
        }
        let session = NEXT_SESSION.fetch_add(1, Relaxed);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Shared>>(1);
        let interval = self.interval;
        let path = self.path.clone();
        let file = self.file;
        let spawned = std::thread::Builder::new()
            .name("lockscope-recorder".into())
            .spawn(move || {
                let Ok(shared) = rx.recv() else { return };
                writer::run(file, &shared, interval);
            });
        let handle = match spawned {
            Ok(h) => h,
            Err(e) => {
                warn(&RecordError::Spawn(e).to_string());
                return Recording {
                    shared: None,
                    handle: None,
                    path,
                };
            }
        };
        let shared = Arc::new(Shared {
            thread: handle.thread().clone(),
            stop: AtomicBool::new(false),
            flush_req: AtomicU64::new(0),
            flush_done: Mutex::new(0),
            flushed: Condvar::new(),
            finished: AtomicBool::new(false),
        });
        SESSION.store(session, Relaxed);
        RECORDING.store(true, Release);
        *ACTIVE.lock() = Some(shared.clone());
        *WRITER_THREAD.write() = Some(shared.thread.clone());
        let _ = tx.send(shared.clone());
        crate::sampler::start();
        Recording {
            shared: Some(shared),
            handle: Some(handle),
            path,
        }
    }
}

/// A running recording; finishing the trace (final flush and end marker) when dropped.
#[derive(Debug)]
pub struct Recording {
    shared: Option<Arc<Shared>>,
    handle: Option<JoinHandle<()>>,
    path: PathBuf,
}

impl Recording {
    /// The trace file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything recorded so far to the file; waits up to 2 s. Returns whether the
    /// flush completed in time.
    pub fn flush(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| s.flush(FLUSH_WAIT))
    }

    /// Finishes the trace now (same as dropping the recording).
    pub fn stop(self) {}
}

impl Drop for Recording {
    fn drop(&mut self) {
        if let Some(s) = self.shared.take() {
            s.finish();
            // Join only a writer that finished: never hang the host on a stuck disk.
            if let Some(h) = self.handle.take().filter(|_| s.finished.load(Acquire)) {
                let _ = h.join();
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    thread: Thread,
    stop: AtomicBool,
    flush_req: AtomicU64,
    flush_done: Mutex<u64>,
    flushed: Condvar,
    finished: AtomicBool,
}

impl Shared {
    /// Asks the writer for a flush and waits (bounded) until it is done.
    fn flush(&self, wait: Duration) -> bool {
        if self.finished.load(Acquire) || FORKED.load(Relaxed) {
            return true;
        }
        let ticket = self.flush_req.fetch_add(1, Relaxed) + 1;
        self.thread.unpark();
        let deadline = Instant::now() + wait;
        let mut done = self.flush_done.lock();
        while *done < ticket && !self.finished.load(Acquire) {
            if self.flushed.wait_until(&mut done, deadline).timed_out() {
                return false;
            }
        }
        true
    }

    /// Stops this recording (once), writes the end marker and waits (bounded) for the writer
    /// to finish. Recording stops globally only if this is the active recording: an old
    /// guard dropped late does not switch off its successor.
    fn finish(self: &Arc<Self>) {
        if self.stop.swap(true, Release) {
            self.flush(FLUSH_WAIT);
            return;
        }
        {
            let mut active = ACTIVE.lock();
            if active.as_ref().is_some_and(|a| Arc::ptr_eq(a, self)) {
                *active = None;
                RECORDING.store(false, Release);
                SESSION.store(0, Relaxed);
                *WRITER_THREAD.write() = None;
            }
        }
        self.thread.unpark();
        self.flush(FLUSH_WAIT);
    }
}

/// Writes everything recorded so far by the running recorder, waiting up to 2 s. Returns
/// `false` if no recorder runs or the flush did not complete in time. lockscope calls this
/// itself on panic, on exit and before a deadlock policy exits the process.
pub fn flush() -> bool {
    let active = ACTIVE
        .try_lock_for(Duration::from_millis(100))
        .and_then(|a| a.clone());
    active.is_some_and(|s| s.flush(FLUSH_WAIT))
}

/// Finishes the running recording (end marker included), waiting at most 2 s: the deadlock
/// exit policy calls this right before `exit`, which skips the recording guard's drop.
pub(crate) fn finish_active() {
    let active = ACTIVE
        .try_lock_for(Duration::from_millis(100))
        .and_then(|a| a.clone());
    if let Some(s) = active {
        s.finish();
    }
}

/// Starts the recording `LOCKSCOPE_TRACE=path` asks for. A path that cannot be written is
/// reported once on stderr and the program goes on unrecorded.
pub(crate) fn start_from_env() {
    let Some(path) = std::env::var_os("LOCKSCOPE_TRACE").filter(|p| !p.is_empty()) else {
        return;
    };
    match Recorder::to_file(&path) {
        Ok(r) => {
            let rec = r.start();
            *ENV_RECORDING.lock() = Some(rec);
        }
        Err(e) => warn(&format!(
            "LOCKSCOPE_TRACE: {e}. The program continues without a trace; set LOCKSCOPE_TRACE to a writable file path."
        )),
    }
}

/// Finishes the environment-started recording (at exit) or flushes the running one.
fn finish_at_exit() {
    if FORKED.load(Relaxed) {
        return;
    }
    let env = ENV_RECORDING
        .try_lock_for(Duration::from_millis(100))
        .and_then(|mut r| r.take());
    match env {
        Some(rec) => drop(rec),
        None => {
            flush();
        }
    }
}

extern "C" fn after_fork_in_child() {
    FORKED.store(true, Relaxed);
    RECORDING.store(false, Relaxed);
    SESSION.store(0, Relaxed);
}

extern "C" fn at_exit() {
    // Nothing may unwind out of an atexit handler.
    let _ = std::panic::catch_unwind(finish_at_exit);
}

fn install_hooks() {
    if std::thread::panicking() {
        // Replacing the panic hook now would abort; the next recording installs it.
        return;
    }
    HOOKS.call_once(|| {
        crate::raw::register_at_exit(at_exit);
        crate::raw::register_after_fork(after_fork_in_child);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            // The process may abort right after this hook (panic = "abort"), so wait for the
            // flush — normally one writer cycle, about a millisecond — but never long: services
            // catch panics per request, and a stalled disk must not stall them.
            if let Some(s) = ACTIVE.try_lock().and_then(|a| a.clone()) {
                s.flush(PANIC_FLUSH_WAIT);
            }
        }));
    });
}
