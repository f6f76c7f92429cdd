//! The recorder: one named thread (`lockscope-recorder`) that collects every thread's event
//! buffer, resolves stacks to symbols, and writes the trace.
//!
//! User threads never wait for it: each writes into its own pre-allocated buffer, which the
//! recorder swaps for an empty one (a pointer swap under a lock only the two of them use).
//! A full buffer drops events and counts them; the count is written into the trace.

mod live;
pub(crate) mod symbols;
mod writer;

pub use live::LiveViewer;

use crate::config::warn;
use parking_lot::{Condvar, Mutex};
use std::fs::File;
use std::net::{SocketAddr, ToSocketAddrs};
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
/// How long finishing a recording waits for the live stream's last bytes to leave.
const LIVE_CLOSE_WAIT: Duration = Duration::from_millis(600);

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
    /// The live stream's address could not be bound.
    #[error(
        "cannot serve the live stream on {addr}: {source}; {}",
        live::bind_hint(source)
    )]
    Live {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The live stream's address is not an address.
    #[error(
        "the live stream's address is not valid ({source}); use HOST:PORT, such as 127.0.0.1:7878"
    )]
    LiveAddress {
        /// The cause.
        source: std::io::Error,
    },
    /// The live stream was asked to listen beyond this machine without saying so explicitly.
    #[error(
        "refusing to serve the live stream on {addr}: it is not a loopback address, and the stream shows lock names, \
         thread names and stacks to anyone who connects; use 127.0.0.1:PORT, or allow it explicitly \
         (LOCKSCOPE_LIVE_ANY=1, or Recorder::live_remote in code)"
    )]
    LiveNotLoopback {
        /// The address.
        addr: SocketAddr,
    },
}

/// Configures a recording. `Recorder::to_file(path)?.start()` records every lock to `path`
/// until the returned [`Recording`] is dropped.
///
/// ```no_run
/// let _recording = lockscope::Recorder::to_file("app.lstrace")?.start();
/// // ... run the workload ...
/// # Ok::<(), lockscope::RecordError>(())
/// ```
///
/// The same trace can be served live to viewers (`lockscope view --connect 127.0.0.1:7878`),
/// with or without a file:
///
/// ```no_run
/// let recording = lockscope::Recorder::to_file("app.lstrace")?
///     .live("127.0.0.1:7878")?
///     .start();
/// let _watch_only = lockscope::Recorder::to_live("127.0.0.1:0")?; // port 0: any free port
/// # Ok::<(), lockscope::RecordError>(())
/// ```
#[derive(Debug)]
pub struct Recorder {
    file: Option<File>,
    path: PathBuf,
    interval: Duration,
    live: Option<live::LiveConfig>,
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
            file: Some(file),
            path,
            interval: Duration::from_millis(20),
            live: None,
        })
    }

    /// Records without a file, only serving the live stream on `addr` (see [`Recorder::live`]).
    pub fn to_live(addr: impl ToSocketAddrs) -> Result<Recorder, RecordError> {
        Recorder {
            file: None,
            path: PathBuf::new(),
            interval: Duration::from_millis(20),
            live: None,
        }
        .live(addr)
    }

    /// Also serves the trace live over TCP on `addr`, a loopback address such as
    /// `127.0.0.1:7878` (port 0 picks a free port; [`Recording::live_addr`] tells which).
    /// Viewers receive exactly the bytes of a trace file: the header, then every definition so
    /// far (however late they connect), then the chunks as they are written. Each viewer has a
    /// bounded queue (4 MiB by default, [`Recorder::live_queue_bytes`]); one that falls behind
    /// loses chunks, is told how many events it lost, and never slows the program.
    ///
    /// The socket is bound now, so a port in use fails here. Addresses beyond loopback are
    /// refused unless `LOCKSCOPE_LIVE_ANY=1` is set (or [`Recorder::live_remote`] is used):
    /// the stream shows lock names, threads and stacks to anyone who connects.
    pub fn live(self, addr: impl ToSocketAddrs) -> Result<Recorder, RecordError> {
        let any = std::env::var_os("LOCKSCOPE_LIVE_ANY").is_some_and(|v| v == "1");
        self.serve(addr, any)
    }

    /// Like [`Recorder::live`], but any address is accepted, such as `0.0.0.0:7878`.
    pub fn live_remote(self, addr: impl ToSocketAddrs) -> Result<Recorder, RecordError> {
        self.serve(addr, true)
    }

    /// Bounds each live viewer's queue of chunks (default 4 MiB, at least 64 KiB).
    pub fn live_queue_bytes(mut self, bytes: usize) -> Self {
        if let Some(l) = &mut self.live {
            l.queue_bytes = bytes.max(64 * 1024);
        }
        self
    }

    fn serve(mut self, addr: impl ToSocketAddrs, any: bool) -> Result<Recorder, RecordError> {
        let queue = self.live.as_ref().map(|l| l.queue_bytes);
        let mut cfg = live::bind(addr, any)?;
        if let Some(q) = queue {
            cfg.queue_bytes = q;
        }
        self.live = Some(cfg);
        Ok(self)
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
        let hub = self.live.and_then(|cfg| {
            live::spawn(cfg)
                .map_err(|e| warn(&format!("cannot start the lockscope-live thread ({e}); recording goes on without the live stream")))
                .ok()
        });
        let writer_hub = hub.clone();
        let spawned = std::thread::Builder::new()
            .name("lockscope-recorder".into())
            .spawn(move || {
                let Ok(shared) = rx.recv() else { return };
                writer::run(file, writer_hub, &shared, interval);
            });
        let handle = match spawned {
            Ok(h) => h,
            Err(e) => {
                warn(&RecordError::Spawn(e).to_string());
                if let Some(h) = &hub {
                    h.close();
                }
                return Recording {
                    shared: None,
                    handle: None,
                    path,
                    live: None,
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
            live: hub.clone(),
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
            live: hub,
        }
    }
}

/// A running recording; finishing the trace (final flush and end marker) when dropped.
#[derive(Debug)]
pub struct Recording {
    shared: Option<Arc<Shared>>,
    handle: Option<JoinHandle<()>>,
    path: PathBuf,
    live: Option<Arc<live::Hub>>,
}

impl Recording {
    /// The trace file's path (empty for a live-only recording).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The address the live stream is served on, if it is.
    pub fn live_addr(&self) -> Option<SocketAddr> {
        self.live.as_ref().map(|h| h.addr())
    }

    /// The live stream's viewers connected now, with what each was sent and lost.
    pub fn live_viewers(&self) -> Vec<LiveViewer> {
        self.live.as_ref().map(|h| h.viewers()).unwrap_or_default()
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
    live: Option<Arc<live::Hub>>,
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
        if !self.stop.load(Acquire) {
            crate::sampler::final_round();
        }
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
        if let Some(h) = &self.live {
            // Viewers get the end of the trace (and the alert that may have caused it) before
            // an exit; bounded, so a stalled viewer cannot hold the process.
            h.wait_closed(LIVE_CLOSE_WAIT);
        }
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

/// Starts the recording `LOCKSCOPE_TRACE=path` and `LOCKSCOPE_LIVE=addr` ask for. A path
/// that cannot be written or an address that cannot be served is reported once on stderr, and
/// the program goes on with what could be started.
pub(crate) fn start_from_env() {
    let path = std::env::var_os("LOCKSCOPE_TRACE").filter(|p| !p.is_empty());
    let live = match std::env::var("LOCKSCOPE_LIVE") {
        Ok(a) if !a.trim().is_empty() => Some(a.trim().to_owned()),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            warn(
                "LOCKSCOPE_LIVE is not valid UTF-8 and is ignored; set it to HOST:PORT, such as 127.0.0.1:7878.",
            );
            None
        }
    };
    let mut recorder = None;
    if let Some(path) = &path {
        match Recorder::to_file(path) {
            Ok(r) => recorder = Some(r),
            Err(e) => warn(&format!(
                "LOCKSCOPE_TRACE: {e}. The program continues without a trace file; set LOCKSCOPE_TRACE to a writable file path."
            )),
        }
    }
    if let Some(addr) = &live {
        let any = std::env::var_os("LOCKSCOPE_LIVE_ANY").is_some_and(|v| v == "1");
        let bound = live::bind(addr.as_str(), any);
        match (bound, recorder.take()) {
            (Ok(cfg), Some(mut r)) => {
                r.live = Some(cfg);
                recorder = Some(r);
            }
            (Ok(cfg), None) => {
                recorder = Some(Recorder {
                    file: None,
                    path: PathBuf::new(),
                    interval: Duration::from_millis(20),
                    live: Some(cfg),
                });
            }
            (Err(e), r) => {
                let goes_on = if r.is_some() {
                    "recording to the trace file goes on"
                } else {
                    "the program continues unrecorded"
                };
                warn(&format!(
                    "LOCKSCOPE_LIVE={addr}: {e}. No live stream; {goes_on}."
                ));
                recorder = r;
            }
        }
    }
    if let Some(r) = recorder {
        *ENV_RECORDING.lock() = Some(r.start());
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
