//! Where a trace comes from: a file, loaded off the UI thread, or a live connection to a
//! running process, read on a background thread.

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lockscope_format::DecodeError;

use crate::model::live::LiveSession;
use crate::model::{self, Alert, Model};

/// A trace's origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A trace file.
    File(PathBuf),
    /// A running process's live stream (`LOCKSCOPE_LIVE=ADDR`), at `HOST:PORT`.
    Live(String),
}

impl Source {
    /// A short name for tabs: the file name, or `live ADDR`.
    pub fn label(&self) -> String {
        match self {
            Source::File(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            Source::Live(addr) => format!("live {addr}"),
        }
    }

    /// The full path (the address of a live source), for warnings and headings.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Source::File(p) => p,
            Source::Live(addr) => std::path::Path::new(addr.as_str()),
        }
    }

    /// Starts loading a file on a named background thread; `wake` is called whenever there
    /// is progress to show (a UI passes its repaint request). A live source is not loaded but
    /// connected ([`Source::connect`]): loading one fails with a message saying so.
    pub fn load(&self, wake: impl Fn() + Send + 'static) -> Loading {
        let progress = Arc::new(Progress::default());
        let (tx, rx) = mpsc::channel();
        let path = match self {
            Source::File(path) => path.clone(),
            Source::Live(addr) => {
                let _ = tx.send(Err(format!(
                    "{addr} is a live address: connect to it (lockscope view --connect {addr})"
                )));
                return Loading { rx, progress };
            }
        };
        let p = Arc::clone(&progress);
        let spawned = std::thread::Builder::new()
            .name("lockscope-loader".to_owned())
            .spawn(move || {
                let result = model::load_with_progress(&path, |read, total| {
                    p.read.store(read, Ordering::Relaxed);
                    p.total.store(total, Ordering::Relaxed);
                    wake();
                })
                .map_err(|e| format!("{e:#}"));
                // The receiver is gone only when the tab was closed: nothing to tell.
                let _ = tx.send(result);
                wake();
            });
        if let Err(e) = spawned {
            let (tx, rx2) = mpsc::channel();
            let _ = tx.send(Err(format!("cannot start a loader thread: {e}")));
            return Loading { rx: rx2, progress };
        }
        Loading { rx, progress }
    }
}

#[derive(Debug, Default)]
struct Progress {
    read: AtomicU64,
    total: AtomicU64,
}

/// A load under way.
#[derive(Debug)]
pub struct Loading {
    rx: Receiver<Result<Model, String>>,
    progress: Arc<Progress>,
}

impl Loading {
    /// Bytes read and the file's size.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.progress.read.load(Ordering::Relaxed),
            self.progress.total.load(Ordering::Relaxed),
        )
    }

    /// The model or the error, once loading finished.
    pub fn try_finish(&self) -> Option<Result<Model, String>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err("the loader thread stopped".to_owned())),
        }
    }

    /// Blocks until loading finished.
    pub fn wait(&self) -> Result<Model, String> {
        self.rx
            .recv()
            .unwrap_or_else(|_| Err("the loader thread stopped".to_owned()))
    }
}

/// How often a live view's model is rebuilt at most: at least this long apart, and longer
/// when rebuilding takes longer (never more than a fifth of the time).
pub const LIVE_SNAPSHOT_EVERY: Duration = Duration::from_millis(250);
/// How long a live connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the reader thread looks up from a quiet socket (to snapshot and to stop).
const READ_POLL: Duration = Duration::from_millis(50);

/// The state of a live connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    /// Opening the connection.
    Connecting,
    /// Connected; data arrives as the process records it.
    Connected,
    /// The process finished recording and closed the stream.
    Ended,
    /// The connection failed or dropped: why, and what to do about it.
    Disconnected(String),
}

/// What the reader thread of a live connection tells the viewer.
#[derive(Debug)]
pub enum LiveUpdate {
    /// The connection changed state.
    Status(LiveStatus),
    /// A model of everything received so far.
    Snapshot(Box<Model>),
    /// An alert, the moment it arrived.
    Alert(Box<Alert>),
}

/// A live connection, read on a named background thread. Dropping it closes the connection.
///
/// The thread keeps the session: when the program is not listening yet, or the connection
/// drops without the trace's end, it tries again every [`RETRY_EVERY`] (saying so once), and a
/// new connection to the same run adds to what arrived before.
#[derive(Debug)]
pub struct Live {
    rx: Receiver<LiveUpdate>,
    stop: Arc<AtomicBool>,
    stream: Arc<Mutex<Option<TcpStream>>>,
    /// Set to try the next connection now instead of at the next retry.
    retry_now: Arc<AtomicBool>,
    /// True while the reader thread runs (connected, or waiting to retry).
    running: Arc<AtomicBool>,
    /// What arrived, shared with the reader thread (which locks it per read) for saving.
    session: Arc<Mutex<LiveSession>>,
}

/// How often a live connection that failed or dropped is tried again.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

impl Source {
    /// Connects to a live source on a named background thread; `wake` is called whenever
    /// there is something new to show. A file source gives a connection that failed at once.
    pub fn connect(&self, wake: impl Fn() + Send + 'static) -> Live {
        let (tx, rx) = mpsc::channel();
        let live = Live {
            rx,
            stop: Arc::default(),
            stream: Arc::default(),
            retry_now: Arc::default(),
            running: Arc::new(AtomicBool::new(true)),
            session: Arc::default(),
        };
        let addr = match self {
            Source::Live(addr) => addr.clone(),
            Source::File(p) => {
                let why = format!("{} is a file: open it instead of connecting", p.display());
                let _ = tx.send(LiveUpdate::Status(LiveStatus::Disconnected(why)));
                live.running.store(false, Ordering::Relaxed);
                return live;
            }
        };
        let (stop, stream) = (Arc::clone(&live.stop), Arc::clone(&live.stream));
        let (retry_now, running) = (Arc::clone(&live.retry_now), Arc::clone(&live.running));
        let session = Arc::clone(&live.session);
        let failed = tx.clone();
        let spawned = std::thread::Builder::new()
            .name("lockscope-live".to_owned())
            .spawn(move || {
                let reader = Reader {
                    addr,
                    tx,
                    wake: &wake,
                    stop,
                    stream,
                    retry_now,
                    session,
                };
                reader.run();
                running.store(false, Ordering::Relaxed);
                wake();
            });
        if let Err(e) = spawned {
            let why = format!("cannot start the live reader thread: {e}");
            let _ = failed.send(LiveUpdate::Status(LiveStatus::Disconnected(why)));
            live.running.store(false, Ordering::Relaxed);
        }
        live
    }
}

impl Live {
    /// Asks a reader that waits to retry to connect now; false when the reader has stopped
    /// (the stream ended, or cannot be retried), and a new connection is needed.
    pub fn retry_now(&self) -> bool {
        self.retry_now.store(true, Ordering::Relaxed);
        self.running.load(Ordering::Relaxed)
    }

    /// The next update, if one is waiting.
    pub fn try_recv(&self) -> Option<LiveUpdate> {
        self.rx.try_recv().ok()
    }

    /// Writes everything received so far to `path` as a trace file that `lockscope report`
    /// and the viewer open (cut short, without an end record, while the program still runs).
    /// Returns the bytes written.
    pub fn save(&self, path: &std::path::Path) -> Result<u64, String> {
        let bytes = locked(&self.session).trace_bytes().ok_or_else(|| {
            "nothing to save yet: no trace header has arrived from the program".to_owned()
        })?;
        std::fs::write(path, &bytes)
            .map(|()| bytes.len() as u64)
            .map_err(|e| {
                format!(
                    "cannot write {}: {e}; choose a writable path",
                    path.display()
                )
            })
    }

    /// Waits up to `timeout` for the next update (`None`: none came, or the reader stopped).
    pub fn recv_timeout(&self, timeout: Duration) -> Option<LiveUpdate> {
        self.rx.recv_timeout(timeout).ok()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Ok(mut s) = self.stream.lock()
            && let Some(s) = s.take()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// The reader thread of one live connection.
struct Reader<'a> {
    addr: String,
    tx: Sender<LiveUpdate>,
    wake: &'a (dyn Fn() + Send),
    stop: Arc<AtomicBool>,
    stream: Arc<Mutex<Option<TcpStream>>>,
    retry_now: Arc<AtomicBool>,
    session: Arc<Mutex<LiveSession>>,
}

/// The session, also after a thread panicked while holding it (what arrived stays usable).
fn locked(s: &Mutex<LiveSession>) -> std::sync::MutexGuard<'_, LiveSession> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why a connection ended, and whether trying again may help.
struct Outcome {
    status: LiveStatus,
    retry: bool,
}

impl Reader<'_> {
    fn send(&self, u: LiveUpdate) {
        // Nobody listens once the tab was closed; the stop flag ends the thread then.
        let _ = self.tx.send(u);
        (self.wake)();
    }

    /// Connects, reads, and while the failure is one that time may mend (nothing listens
    /// yet, the connection dropped), tries again: the status line says why once, with the
    /// retrying, and the session goes on where it was.
    fn run(self) {
        self.send(LiveUpdate::Status(LiveStatus::Connecting));
        let session = &*self.session;
        let mut said: Option<String> = None;
        loop {
            let outcome = match self.open() {
                Ok(stream) => {
                    said = None;
                    locked(session).resume();
                    self.read(stream, session)
                }
                Err(o) => o,
            };
            if !outcome.retry || self.stop.load(Ordering::Relaxed) {
                self.send(LiveUpdate::Status(outcome.status));
                return;
            }
            // The first reason of an outage is the one shown (a dropped connection stays the
            // news while the retries are refused), until a connection succeeds.
            if let LiveStatus::Disconnected(why) = &outcome.status
                && said.is_none()
            {
                said = Some(why.clone());
                let retrying = format!("{why} (retrying every {} s)", RETRY_EVERY.as_secs());
                self.send(LiveUpdate::Status(LiveStatus::Disconnected(retrying)));
            }
            if !self.pause() {
                return;
            }
        }
    }

    /// Waits until the next retry (or a retry asked for now); false when the viewer closed.
    fn pause(&self) -> bool {
        let until = Instant::now() + RETRY_EVERY;
        while Instant::now() < until && !self.retry_now.swap(false, Ordering::Relaxed) {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(READ_POLL);
        }
        !self.stop.load(Ordering::Relaxed)
    }

    fn open(&self) -> Result<TcpStream, Outcome> {
        let retry = |why: String| Outcome {
            status: LiveStatus::Disconnected(why),
            retry: true,
        };
        let give_up = |why: String| Outcome {
            status: LiveStatus::Disconnected(why),
            retry: false,
        };
        let addr = &self.addr;
        let addrs: Vec<_> = (addr.to_socket_addrs())
            .map_err(|e| {
                give_up(format!("cannot use {addr} as a live address ({e}): give HOST:PORT, such as 127.0.0.1:7878, the value of LOCKSCOPE_LIVE"))
            })?
            .collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => retry(format!(
                "nothing listens on {addr} (connection refused): start the program with \
                 LOCKSCOPE_LIVE={addr}, or check the port it printed"
            )),
            Some(e) if e.kind() == std::io::ErrorKind::TimedOut => retry(format!(
                "{addr} did not answer within {} s: check the address and that no firewall \
                 drops the connection",
                CONNECT_TIMEOUT.as_secs()
            )),
            Some(e) => retry(format!("cannot connect to {addr}: {e}")),
            None => give_up(format!(
                "{addr} resolves to no address: give HOST:PORT, such as 127.0.0.1:7878"
            )),
        })
    }

    /// Reads until the stream ends, fails or the viewer closes; returns how it ended.
    fn read(&self, mut stream: TcpStream, session: &Mutex<LiveSession>) -> Outcome {
        let status = self.read_status(&mut stream, session);
        let retry = match &status {
            LiveStatus::Disconnected(_) => {
                let s = locked(session);
                !self.stop.load(Ordering::Relaxed) && s.started() && !s.ended()
            }
            _ => false,
        };
        Outcome { status, retry }
    }

    fn read_status(&self, stream: &mut TcpStream, session: &Mutex<LiveSession>) -> LiveStatus {
        let addr = &self.addr;
        if let Ok(mut slot) = self.stream.lock() {
            *slot = stream.try_clone().ok();
        }
        // The one frame the server understands: the format version this viewer reads.
        let _ = writeln!(stream, "hello {}", lockscope_format::VERSION);
        if let Err(e) = stream.set_read_timeout(Some(READ_POLL)) {
            return LiveStatus::Disconnected(format!("cannot read from {addr}: {e}"));
        }
        self.send(LiveUpdate::Status(LiveStatus::Connected));
        let mut buf = vec![0u8; 256 * 1024];
        let mut last_snapshot = Instant::now();
        let mut every = LIVE_SNAPSHOT_EVERY;
        let status = loop {
            if self.stop.load(Ordering::Relaxed) {
                return LiveStatus::Disconnected("closed by the viewer".to_owned());
            }
            match stream.read(&mut buf) {
                Ok(0) => break self.ended(&locked(session)),
                Ok(n) => match locked(session).feed(&buf[..n]) {
                    Ok(alerts) => {
                        for a in alerts {
                            self.send(LiveUpdate::Alert(Box::new(a)));
                        }
                    }
                    Err(e) => break LiveStatus::Disconnected(not_a_stream(addr, &e)),
                },
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) => {}
                // A reset is how a server that exits with our hello unread says goodbye.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    break self.ended(&locked(session));
                }
                Err(_) if self.stop.load(Ordering::Relaxed) => {
                    return LiveStatus::Disconnected("closed by the viewer".to_owned());
                }
                Err(e) => {
                    break LiveStatus::Disconnected(format!(
                        "the connection to {addr} dropped ({e}); what arrived before is shown"
                    ));
                }
            }
            if last_snapshot.elapsed() >= every && locked(session).is_dirty() {
                let t = Instant::now();
                let snapshot = locked(session).snapshot();
                if let Some(m) = snapshot {
                    self.send(LiveUpdate::Snapshot(Box::new(m)));
                }
                every = LIVE_SNAPSHOT_EVERY.max(t.elapsed() * 5);
                last_snapshot = Instant::now();
            }
        };
        let last = {
            let mut s = locked(session);
            if s.is_dirty() { s.snapshot() } else { None }
        };
        if let Some(m) = last {
            self.send(LiveUpdate::Snapshot(Box::new(m)));
        }
        status
    }

    /// Why a stream that closed ended.
    fn ended(&self, session: &LiveSession) -> LiveStatus {
        let addr = &self.addr;
        if session.ended() {
            return LiveStatus::Ended;
        }
        LiveStatus::Disconnected(if !session.started() {
            format!(
                "{addr} closed the connection before sending a trace header: check that it is \
                 the LOCKSCOPE_LIVE address of a program recording with lockscope (a server \
                 with too many viewers also closes new ones)"
            )
        } else if session.pending_len() > 0 {
            format!(
                "the connection to {addr} dropped mid-chunk: the last {} bytes were lost; \
                 what arrived before is shown (reconnect to follow the program again)",
                session.pending_len()
            )
        } else {
            format!(
                "{addr} closed the stream without an end record: the program exited or stopped \
                 serving; what arrived is shown"
            )
        })
    }
}

fn not_a_stream(addr: &str, e: &DecodeError) -> String {
    match e {
        DecodeError::NotATrace { found } => format!(
            "{addr} sent {found:02x?}, which is not a lockscope live stream: check that the \
             address is the program's LOCKSCOPE_LIVE address, not another service"
        ),
        other => format!("{addr}: {other}"),
    }
}
