//! The recorder's end of the live stream and what the live thread shares with it: the hub
//! (an inbox of chunks, the viewers' figures, the close handshake), the bound socket, and how
//! a chunk is taken apart.

use crate::format;
use crate::raw::ListenAddr;
use crate::recorder::error::RecordError;
use parking_lot::{Condvar, Mutex};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Default bound of one viewer's queue of live chunks.
pub(crate) const DEFAULT_QUEUE_BYTES: usize = 4 << 20;
/// Viewers served at once; more connections are closed at once (with one line on stderr).
pub(crate) const MAX_VIEWERS: usize = 16;
/// How often the live thread looks for new viewers and writable sockets when nothing wakes it.
pub(crate) const POLL: Duration = Duration::from_millis(10);
/// How long the end of the trace may take to reach the viewers once the recording stops.
pub(crate) const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// Event chunks waiting for the live thread, at most (the thread only ever does non-blocking
/// work, so this bound is a safety net).
pub(crate) const INBOX_BYTES: usize = 64 << 20;
/// Size of the chunks a late viewer's replay is cut into.
pub(crate) const REPLAY_CHUNK: usize = 1 << 20;
/// The longest client frame (a line); a longer one is malformed.
pub(crate) const MAX_FRAME: usize = 256;
/// Bytes read from one viewer per pass, at most (a flood is read, discarded, and bounded).
pub(crate) const READ_PER_PASS: usize = 64 * 1024;

/// What a chunk holds, which decides what a viewer that connects late or falls behind needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The 24-byte header.
    Header,
    /// Definitions and alerts: kept for every later viewer, never lost by any viewer.
    Meta,
    /// Events: forwarded to the viewers connected now; skipped when there are none.
    Events,
    /// Class figures and the dropped-event count: the latest are kept for later viewers.
    Stats,
    /// The `End` record.
    End,
    /// Every wait begun and not ended as of the recorder's last pass (`WaitBegin` records):
    /// the latest replaces the one before, and a viewer that connects gets it after the
    /// definitions, so it sees who is stuck right away.
    OpenWaits,
}

/// A viewer of the live stream, as [`Recording::live_viewers`](crate::Recording::live_viewers)
/// reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveViewer {
    /// The viewer's address.
    pub addr: SocketAddr,
    /// The format version it said it reads (`hello <version>`), if it said so.
    pub hello: Option<u16>,
    /// Bytes written to its socket so far.
    pub bytes_sent: u64,
    /// Chunks it lost because its queue was full.
    pub chunks_dropped: u64,
    /// Events in those chunks. (Lost class figures are not counted: the latest figures are
    /// sent again when the viewer catches up, so nothing of them is missing.)
    pub events_dropped: u64,
    /// Bytes waiting for it: in its queue, and handed over by the recorder but not yet
    /// taken by the live thread. 0 means everything recorded so far reached its socket.
    pub queued_bytes: usize,
}

/// A bound listening socket and the queue bound, ready for [`spawn`].
#[derive(Debug)]
pub(crate) struct LiveConfig {
    pub(crate) listener: TcpListener,
    pub(crate) queue_bytes: usize,
}

/// Binds the live stream's socket. Only loopback addresses unless `any`.
pub(crate) fn bind(addr: impl ToSocketAddrs, any: bool) -> Result<LiveConfig, RecordError> {
    let addrs = crate::raw::listen_addrs(addr, any).map_err(|e| match e {
        ListenAddr::Unresolved(source) => RecordError::LiveAddress { source },
        ListenAddr::NotLoopback(addr) => RecordError::LiveNotLoopback { addr },
    })?;
    let listener = TcpListener::bind(&addrs[..])
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|source| RecordError::Live {
            addr: addrs[0],
            source,
        })?;
    Ok(LiveConfig {
        listener,
        queue_bytes: DEFAULT_QUEUE_BYTES,
    })
}

/// The recorder's end of the live stream.
#[derive(Debug)]
pub(crate) struct Hub {
    pub(crate) inbox: Mutex<Inbox>,
    /// Viewers connected (events are not even handed over when there are none).
    pub(crate) viewers: AtomicUsize,
    pub(crate) closing: std::sync::atomic::AtomicBool,
    /// The live thread has ended: nothing is handed over any more.
    pub(crate) gone: std::sync::atomic::AtomicBool,
    pub(crate) done: Mutex<bool>,
    pub(crate) done_cv: Condvar,
    pub(crate) thread: Mutex<Option<Thread>>,
    pub(crate) addr: SocketAddr,
    /// The viewers as the live thread last saw them, and how many inbox items (and bytes) it
    /// had taken by then.
    pub(crate) report: Mutex<(Vec<LiveViewer>, (u64, u64))>,
}

#[derive(Debug, Default)]
pub(crate) struct Inbox {
    pub(crate) items: Vec<(Kind, Vec<u8>)>,
    pub(crate) event_bytes: usize,
    /// Records refused because the inbox was full: lost for every viewer.
    pub(crate) lost_records: u64,
    pub(crate) lost_chunks: u64,
    /// Items ever put in (never reset), and their bytes: what the live thread has not taken
    /// yet is still owed to every viewer.
    pub(crate) published: u64,
    pub(crate) published_bytes: u64,
}

impl Hub {
    /// The address viewers connect to.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The viewers connected now, with what the live thread has not taken from the inbox
    /// yet counted as queued for each.
    pub(crate) fn viewers(&self) -> Vec<LiveViewer> {
        let (published, published_bytes) = {
            let inbox = self.inbox.lock();
            (inbox.published, inbox.published_bytes)
        };
        let (mut viewers, (taken, taken_bytes)) = self.report.lock().clone();
        if published > taken {
            let owed = published_bytes.saturating_sub(taken_bytes).max(1);
            let owed = usize::try_from(owed).unwrap_or(usize::MAX);
            for v in &mut viewers {
                v.queued_bytes = v.queued_bytes.saturating_add(owed);
            }
        }
        viewers
    }

    /// Hands one framed chunk (or the header) to the live thread. Never waits for a viewer.
    pub(crate) fn publish(&self, kind: Kind, chunk: Vec<u8>) {
        if (kind == Kind::Events && self.viewers.load(Acquire) == 0) || self.gone.load(Acquire) {
            return;
        }
        {
            let mut inbox = self.inbox.lock();
            if kind == Kind::Events {
                if inbox.event_bytes + chunk.len() > INBOX_BYTES {
                    inbox.lost_records += count_records(payload(&chunk));
                    inbox.lost_chunks += 1;
                    return;
                }
                inbox.event_bytes += chunk.len();
            }
            inbox.published += 1;
            inbox.published_bytes += chunk.len() as u64;
            inbox.items.push((kind, chunk));
        }
        self.wake();
    }

    /// The trace is finished (its `End` was published): the live thread sends what is queued
    /// and closes.
    pub(crate) fn close(&self) {
        self.closing.store(true, Release);
        self.wake();
    }

    /// Waits (at most `wait`) until the live thread has sent the end of the trace and closed.
    pub(crate) fn wait_closed(&self, wait: Duration) {
        let deadline = Instant::now() + wait;
        let mut done = self.done.lock();
        while !*done {
            if self.done_cv.wait_until(&mut done, deadline).timed_out() {
                return;
            }
        }
    }

    fn wake(&self) {
        if let Some(t) = self.thread.try_lock().as_deref().and_then(Option::as_ref) {
            t.unpark();
        }
    }
}

/// The payload of a framed chunk.
pub(crate) fn payload(chunk: &[u8]) -> &[u8] {
    format::chunk_payload(chunk).unwrap_or(&[])
}

/// How many whole records a payload holds.
pub(crate) fn count_records(payload: &[u8]) -> u64 {
    format::record_spans(payload).count() as u64
}
