//! Starting and finishing recordings: the public [`Recorder`] builder and [`Recording`] guard,
//! the recording the environment asked for, and the process hooks that finish the trace at
//! exit, stop recording in a forked child, and flush (bounded) when a thread panics, so a crash
//! leaves a readable trace.

use super::error::RecordError;
use super::live::{self, LiveViewer};
use super::session::{ACTIVE, FLUSH_WAIT, Shared, flush};
use super::writer;
use crate::diag::warn;
use crate::sink;
use parking_lot::{Condvar, Mutex};
use std::fs::File;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::thread::JoinHandle;
use std::time::Duration;

static NEXT_SESSION: AtomicU32 = AtomicU32::new(1);
static ENV_RECORDING: Mutex<Option<Recording>> = Mutex::new(None);
/// The panic hook's bound: a caught panic must not stall a request for long.
const PANIC_FLUSH_WAIT: Duration = Duration::from_millis(250);

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
        let any = crate::diag::env_flag("LOCKSCOPE_LIVE_ANY");
        self.serve(addr, any)
    }

    /// A recorder with neither a file nor a live stream yet (for `boot`, which adds the live
    /// stream the environment asks for).
    pub(crate) fn unstarted() -> Recorder {
        Recorder {
            file: None,
            path: PathBuf::new(),
            interval: Duration::from_millis(20),
            live: None,
        }
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
        self.try_serve(addr, any)?;
        Ok(self)
    }

    /// Binds the live stream's socket; on failure the recorder is left as it was.
    pub(crate) fn try_serve(
        &mut self,
        addr: impl ToSocketAddrs,
        any: bool,
    ) -> Result<(), RecordError> {
        let queue = self.live.as_ref().map(|l| l.queue_bytes);
        let mut cfg = live::bind(addr, any)?;
        if let Some(q) = queue {
            cfg.queue_bytes = q;
        }
        self.live = Some(cfg);
        Ok(())
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
                // The gate was opened before `shared` was sent: this recorder's last pass is
                // over when this thread ends, however it ends.
                struct LastPass;
                impl Drop for LastPass {
                    fn drop(&mut self) {
                        sink::collector_done();
                    }
                }
                let _last = LastPass;
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
        // The sampler (and its thread-exit hook) first: a thread that exits once the gate is
        // open writes its final figures.
        crate::sampler::start();
        sink::open(session, shared.thread.clone());
        *ACTIVE.lock() = Some(shared.clone());
        let _ = tx.send(shared.clone());
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

/// Keeps the recording the environment started until the process exits.
pub(crate) fn keep_env_recording(r: Recording) {
    *ENV_RECORDING.lock() = Some(r);
}

static HOOKS: std::sync::Once = std::sync::Once::new();

/// Finishes the environment-started recording (at exit) or flushes the running one.
fn finish_at_exit() {
    if sink::forked() {
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
    sink::close_after_fork();
}

extern "C" fn at_exit() {
    // Nothing may unwind out of an atexit handler.
    let _ = std::panic::catch_unwind(finish_at_exit);
}

/// Installs the exit, fork and panic hooks (once per process).
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

/// This module's internal locks, for the fork hooks (outer ones first).
pub(super) fn fork_locks() -> [&'static dyn crate::raw::ForkLock; 1] {
    [&ENV_RECORDING]
}
