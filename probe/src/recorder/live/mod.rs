//! The live stream: the trace, in the very encoding of a trace file (the 24-byte header, then
//! CRC-checked chunks), served over TCP to viewers (`LOCKSCOPE_LIVE=127.0.0.1:PORT`,
//! [`Recorder::live`](super::Recorder::live)).
//!
//! The recorder thread hands every chunk it writes to the `lockscope-live` thread: a push onto
//! a list and an unpark, never a wait for a viewer. The live thread keeps every definition seen
//! so far (strings, actors, classes, locks, frames, stacks, spans, alerts) and the latest class
//! figures, so a viewer that connects late gets the header and all of those first, then the
//! live chunks.
//!
//! Each viewer has a bounded queue and a non-blocking socket. A viewer whose queue is full
//! loses chunks, which are counted; once its queue has drained it is sent the definitions it
//! missed, the latest figures, and a `Dropped` record whose count includes the events it lost
//! (so a viewer's `Dropped` is "events this stream is missing": the host's own drops plus its
//! own). A stalled viewer costs the host nothing but its queue.
//!
//! Viewers need not send anything. Whatever they send is read and discarded; the one frame
//! defined is a line `hello <version>\n` (the format version the viewer reads). Anything else
//! is reported once per connection on stderr and ignored.

use super::RecordError;
use super::writer::split_point;
use crate::config::warn;
use crate::format::varint::Cursor;
use crate::format::{self, CHUNK_HEADER_LEN, Record, tag};
use parking_lot::{Condvar, Mutex};
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Default bound of one viewer's queue of live chunks.
pub(crate) const DEFAULT_QUEUE_BYTES: usize = 4 << 20;
/// Viewers served at once; more connections are closed at once (with one line on stderr).
const MAX_VIEWERS: usize = 16;
/// How often the live thread looks for new viewers and writable sockets when nothing wakes it.
const POLL: Duration = Duration::from_millis(10);
/// How long the end of the trace may take to reach the viewers once the recording stops.
const CLOSE_WAIT: Duration = Duration::from_millis(500);
/// Event chunks waiting for the live thread, at most (the thread only ever does non-blocking
/// work, so this bound is a safety net).
const INBOX_BYTES: usize = 64 << 20;
/// Size of the chunks a late viewer's replay is cut into.
const REPLAY_CHUNK: usize = 1 << 20;
/// The longest client frame (a line); a longer one is malformed.
const MAX_FRAME: usize = 256;
/// Bytes read from one viewer per pass, at most (a flood is read, discarded, and bounded).
const READ_PER_PASS: usize = 64 * 1024;

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
}

/// A viewer of the live stream, as [`Recording::live_viewers`](super::Recording::live_viewers)
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
    /// Records (events and figures) in those chunks.
    pub events_dropped: u64,
    /// Bytes waiting in its queue.
    pub queued_bytes: usize,
}

/// A bound listening socket and the queue bound, ready for [`spawn`].
#[derive(Debug)]
pub(crate) struct LiveConfig {
    listener: TcpListener,
    pub(crate) queue_bytes: usize,
}

/// Binds the live stream's socket. Only loopback addresses unless `any`.
pub(crate) fn bind(addr: impl ToSocketAddrs, any: bool) -> Result<LiveConfig, RecordError> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|source| RecordError::LiveAddress { source })?
        .collect();
    if addrs.is_empty() {
        return Err(RecordError::LiveAddress {
            source: io::Error::new(io::ErrorKind::InvalidInput, "it names no address"),
        });
    }
    if !any && let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        return Err(RecordError::LiveNotLoopback { addr: *a });
    }
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

/// What to do about a bind error, for [`RecordError::Live`]'s message.
pub(crate) fn bind_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::AddrInUse => {
            "another program (or another lockscope recording) listens there; choose a free port, or port 0 for any free one"
        }
        io::ErrorKind::AddrNotAvailable => {
            "no interface of this machine has that address; use 127.0.0.1:PORT"
        }
        io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges; choose a port above 1024"
        }
        _ => "choose another address, such as 127.0.0.1:7878",
    }
}

/// The recorder's end of the live stream.
#[derive(Debug)]
pub(crate) struct Hub {
    inbox: Mutex<Inbox>,
    /// Viewers connected (events are not even handed over when there are none).
    viewers: AtomicUsize,
    closing: std::sync::atomic::AtomicBool,
    /// The live thread has ended: nothing is handed over any more.
    gone: std::sync::atomic::AtomicBool,
    done: Mutex<bool>,
    done_cv: Condvar,
    thread: Mutex<Option<Thread>>,
    addr: SocketAddr,
    report: Mutex<Vec<LiveViewer>>,
}

#[derive(Debug, Default)]
struct Inbox {
    items: Vec<(Kind, Vec<u8>)>,
    event_bytes: usize,
    /// Records refused because the inbox was full: lost for every viewer.
    lost_records: u64,
    lost_chunks: u64,
}

/// Starts the `lockscope-live` thread serving `cfg`'s socket.
pub(crate) fn spawn(cfg: LiveConfig) -> io::Result<Arc<Hub>> {
    let addr = cfg.listener.local_addr()?;
    let hub = Arc::new(Hub {
        inbox: Mutex::new(Inbox::default()),
        viewers: AtomicUsize::new(0),
        closing: std::sync::atomic::AtomicBool::new(false),
        gone: std::sync::atomic::AtomicBool::new(false),
        done: Mutex::new(false),
        done_cv: Condvar::new(),
        thread: Mutex::new(None),
        addr,
        report: Mutex::new(Vec::new()),
    });
    let h = hub.clone();
    let handle = std::thread::Builder::new()
        .name("lockscope-live".into())
        .spawn(move || {
            let hub = h.clone();
            // Whatever happens in the server, the recorder must learn that it is done.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Server::new(cfg, &h).run();
            }));
            hub.gone.store(true, Release);
            std::mem::take(&mut *hub.inbox.lock());
            *hub.done.lock() = true;
            hub.done_cv.notify_all();
        })?;
    *hub.thread.lock() = Some(handle.thread().clone());
    Ok(hub)
}

impl Hub {
    /// The address viewers connect to.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The viewers connected now.
    pub(crate) fn viewers(&self) -> Vec<LiveViewer> {
        self.report.lock().clone()
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

/// The live thread's state.
struct Server<'a> {
    hub: &'a Hub,
    listener: Option<TcpListener>,
    queue_bytes: usize,
    header: Vec<u8>,
    /// Every definition and alert so far, encoded records back to back.
    meta: Vec<u8>,
    /// The latest `ClassStats` record of each class, encoded.
    figures: BTreeMap<u64, Vec<u8>>,
    /// The host's own dropped-event count (its latest `Dropped`).
    host_dropped: u64,
    viewers: Vec<Viewer>,
    warned_full: bool,
    warned_accept: bool,
}

struct Viewer {
    stream: TcpStream,
    addr: SocketAddr,
    /// Chunks to send; the bool says whether it counts against the queue bound (live chunks
    /// do; a replay does not).
    queue: VecDeque<(Arc<Vec<u8>>, bool)>,
    /// Bytes of the front chunk already written.
    written: usize,
    live_bytes: usize,
    queued_bytes: usize,
    /// How much of `Server::meta` this viewer has (or has queued).
    meta_sent: usize,
    /// Lost chunks since it last caught up: it gets a replay once its queue has drained.
    lagging: bool,
    events_dropped: u64,
    chunks_dropped: u64,
    bytes_sent: u64,
    /// Bytes of an unfinished client frame.
    frame: Vec<u8>,
    /// Inside an over-long frame: discard up to the next newline.
    skipping: bool,
    read_closed: bool,
    warned: bool,
    hello: Option<u16>,
}

impl<'a> Server<'a> {
    fn new(cfg: LiveConfig, hub: &'a Hub) -> Self {
        Server {
            hub,
            listener: Some(cfg.listener),
            queue_bytes: cfg.queue_bytes,
            header: Vec::new(),
            meta: Vec::new(),
            figures: BTreeMap::new(),
            host_dropped: 0,
            viewers: Vec::new(),
            warned_full: false,
            warned_accept: false,
        }
    }

    fn run(mut self) {
        let mut close_by: Option<Instant> = None;
        loop {
            // Read before draining: everything published before `close` is in the inbox.
            let closing = self.hub.closing.load(Acquire);
            self.drain_inbox();
            if closing && close_by.is_none() {
                close_by = Some(Instant::now() + CLOSE_WAIT);
                self.listener = None; // no new viewers once the trace has ended
            }
            self.accept();
            let mut viewers = std::mem::take(&mut self.viewers);
            viewers.retain_mut(|v| self.serve(v));
            self.viewers = viewers;
            self.hub.viewers.store(self.viewers.len(), Release);
            self.report();
            if let Some(by) = close_by
                && (self.viewers.iter().all(|v| v.queue.is_empty()) || Instant::now() >= by)
            {
                for v in &mut self.viewers {
                    let _ = v.stream.shutdown(Shutdown::Write);
                    v.read_discard();
                }
                return;
            }
            std::thread::park_timeout(POLL);
        }
    }

    fn drain_inbox(&mut self) {
        let inbox = std::mem::take(&mut *self.hub.inbox.lock());
        if inbox.lost_records > 0 || inbox.lost_chunks > 0 {
            for v in &mut self.viewers {
                v.lagging = true;
                v.events_dropped += inbox.lost_records;
                v.chunks_dropped += inbox.lost_chunks;
            }
        }
        for (kind, chunk) in inbox.items {
            self.take(kind, chunk);
        }
    }

    /// One item from the recorder: keep what later viewers need, forward it to the others.
    fn take(&mut self, kind: Kind, chunk: Vec<u8>) {
        match kind {
            Kind::Header => {
                self.header = chunk;
                return;
            }
            Kind::Meta => self.meta.extend_from_slice(payload(&chunk)),
            Kind::Stats | Kind::Events | Kind::End => {}
        }
        let has_dropped = kind == Kind::Stats && self.keep_figures(payload(&chunk));
        let records = if kind == Kind::Meta {
            0
        } else {
            count_records(payload(&chunk))
        };
        let chunk = Arc::new(chunk);
        let mut viewers = std::mem::take(&mut self.viewers);
        for v in &mut viewers {
            if kind == Kind::End {
                if v.lagging {
                    self.catch_up(v);
                }
                v.push(chunk.clone(), false);
                continue;
            }
            if v.lagging || (v.live_bytes > 0 && v.live_bytes + chunk.len() > self.queue_bytes) {
                v.lagging = true;
                if kind != Kind::Meta {
                    v.events_dropped += records;
                    v.chunks_dropped += 1;
                }
                continue;
            }
            v.push(chunk.clone(), true);
            if kind == Kind::Meta {
                v.meta_sent = self.meta.len();
            }
            if has_dropped && v.events_dropped > 0 {
                // Its own losses stay in its count: the host's `Dropped` alone would hide them.
                let own = self.dropped_chunk(v.events_dropped);
                v.push(Arc::new(own), false);
            }
        }
        self.viewers = viewers;
    }

    /// Keeps the latest figures of each class and the host's drop count; says whether the
    /// payload held a `Dropped` record.
    fn keep_figures(&mut self, payload: &[u8]) -> bool {
        let mut has_dropped = false;
        for (t, raw, body) in records(payload) {
            match t {
                tag::CLASS_STATS => {
                    if let Ok(Some(Record::ClassStats { class, .. })) = Record::decode_body(t, body)
                    {
                        self.figures.insert(class, raw.to_vec());
                    }
                }
                tag::DROPPED => {
                    if let Ok(Some(Record::Dropped { events })) = Record::decode_body(t, body) {
                        self.host_dropped = events;
                        has_dropped = true;
                    }
                }
                _ => {}
            }
        }
        has_dropped
    }

    fn dropped_chunk(&self, own: u64) -> Vec<u8> {
        let mut p = Vec::new();
        Record::Dropped {
            events: self.host_dropped + own,
        }
        .encode(&mut p);
        let mut chunk = Vec::with_capacity(p.len() + CHUNK_HEADER_LEN);
        format::write_chunk(&mut chunk, &p);
        chunk
    }

    /// Queues what a viewer needs before it can follow the live chunks: the definitions it
    /// does not have, the latest figures, and (if anything is missing) the drop count.
    fn catch_up(&self, v: &mut Viewer) {
        push_chunked(v, &self.meta[v.meta_sent..]);
        v.meta_sent = self.meta.len();
        let figures: Vec<u8> = self.figures.values().flatten().copied().collect();
        push_chunked(v, &figures);
        if self.host_dropped + v.events_dropped > 0 {
            v.push(Arc::new(self.dropped_chunk(v.events_dropped)), false);
        }
        v.lagging = false;
    }

    fn accept(&mut self) {
        if self.header.is_empty() {
            return; // connections wait in the backlog until the trace has its header
        }
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            let (stream, addr) = match listener.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if !self.warned_accept {
                        self.warned_accept = true;
                        warn(&format!(
                            "the live stream on {} cannot accept a viewer ({e}); it keeps trying",
                            self.hub.addr
                        ));
                    }
                    return;
                }
            };
            if self.viewers.len() >= MAX_VIEWERS {
                if !self.warned_full {
                    self.warned_full = true;
                    warn(&format!(
                        "the live stream on {} serves at most {MAX_VIEWERS} viewers; {addr} was turned away (close a viewer first)",
                        self.hub.addr
                    ));
                }
                continue;
            }
            if stream.set_nonblocking(true).is_err() {
                continue;
            }
            let _ = stream.set_nodelay(true);
            // Counted before its replay is cut, so the recorder hands over every event chunk
            // from here on; chunks already handed over are older than the replay.
            self.hub.viewers.store(self.viewers.len() + 1, Release);
            self.drain_inbox();
            let mut v = Viewer::new(stream, addr);
            v.push(Arc::new(self.header.clone()), false);
            self.catch_up(&mut v);
            self.viewers.push(v);
        }
    }

    /// Reads and writes what the viewer's socket allows now; false when it is gone.
    fn serve(&self, v: &mut Viewer) -> bool {
        if !v.read_frames() {
            return false;
        }
        loop {
            let Some((front, _)) = v.queue.front() else {
                if v.lagging && !self.hub.closing.load(Relaxed) {
                    self.catch_up(v);
                    if !v.queue.is_empty() {
                        continue;
                    }
                }
                return true;
            };
            match v.stream.write(&front[v.written..]) {
                Ok(0) => return false,
                Ok(n) => {
                    v.written += n;
                    v.bytes_sent += n as u64;
                    if v.written == front.len() {
                        v.pop();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    fn report(&self) {
        let now: Vec<LiveViewer> = self
            .viewers
            .iter()
            .map(|v| LiveViewer {
                addr: v.addr,
                hello: v.hello,
                bytes_sent: v.bytes_sent,
                chunks_dropped: v.chunks_dropped,
                events_dropped: v.events_dropped,
                queued_bytes: v.queued_bytes,
            })
            .collect();
        *self.hub.report.lock() = now;
    }
}

impl Viewer {
    fn new(stream: TcpStream, addr: SocketAddr) -> Viewer {
        Viewer {
            stream,
            addr,
            queue: VecDeque::new(),
            written: 0,
            live_bytes: 0,
            queued_bytes: 0,
            meta_sent: 0,
            lagging: false,
            events_dropped: 0,
            chunks_dropped: 0,
            bytes_sent: 0,
            frame: Vec::new(),
            skipping: false,
            read_closed: false,
            warned: false,
            hello: None,
        }
    }

    fn push(&mut self, chunk: Arc<Vec<u8>>, counted: bool) {
        if counted {
            self.live_bytes += chunk.len();
        }
        self.queued_bytes += chunk.len();
        self.queue.push_back((chunk, counted));
    }

    fn pop(&mut self) {
        if let Some((chunk, counted)) = self.queue.pop_front() {
            if counted {
                self.live_bytes -= chunk.len();
            }
            self.queued_bytes -= chunk.len();
        }
        self.written = 0;
    }

    /// Reads what the viewer sent (bounded per pass) and checks its frames; false when the
    /// connection failed.
    fn read_frames(&mut self) -> bool {
        if self.read_closed {
            return true;
        }
        let mut buf = [0u8; 4096];
        let mut read = 0;
        while read < READ_PER_PASS {
            match self.stream.read(&mut buf) {
                // The viewer closed its sending side; it may still be reading.
                Ok(0) => {
                    self.read_closed = true;
                    return true;
                }
                Ok(n) => {
                    read += n;
                    self.frames(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    fn frames(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let nl = bytes.iter().position(|&b| b == b'\n');
            let (part, rest) = match nl {
                Some(i) => (&bytes[..i], &bytes[i + 1..]),
                None => (bytes, &[][..]),
            };
            bytes = rest;
            if self.skipping {
                self.skipping = nl.is_none();
                continue;
            }
            self.frame.extend_from_slice(part);
            if nl.is_some() {
                let line = std::mem::take(&mut self.frame);
                self.line(&line);
            } else if self.frame.len() > MAX_FRAME {
                let line = std::mem::take(&mut self.frame);
                self.malformed(&line);
                self.skipping = true;
            }
        }
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let version = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.strip_prefix("hello "))
            .and_then(|v| v.trim().parse::<u16>().ok());
        match version {
            Some(v) => self.hello = Some(v),
            None => self.malformed(line),
        }
    }

    fn malformed(&mut self, frame: &[u8]) {
        if self.warned {
            return;
        }
        self.warned = true;
        let text = String::from_utf8_lossy(&frame[..frame.len().min(40)]);
        warn(&format!(
            "live viewer {} sent a malformed frame ({text:?}); it is ignored. A viewer sends nothing, or the line \"hello <version>\".",
            self.addr
        ));
    }

    /// Reads whatever is left, so closing the socket does not reset the connection.
    fn read_discard(&mut self) {
        let mut buf = [0u8; 4096];
        let mut left = READ_PER_PASS;
        while left > 0 {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    }
}

/// Queues `records` (whole records back to back) as replay chunks.
fn push_chunked(v: &mut Viewer, mut records: &[u8]) {
    while !records.is_empty() {
        let cut = split_point(records, REPLAY_CHUNK);
        let mut chunk = Vec::with_capacity(cut + CHUNK_HEADER_LEN);
        format::write_chunk(&mut chunk, &records[..cut]);
        v.push(Arc::new(chunk), false);
        records = &records[cut..];
    }
}

/// The payload of a framed chunk.
fn payload(chunk: &[u8]) -> &[u8] {
    chunk.get(CHUNK_HEADER_LEN..).unwrap_or(&[])
}

/// The records of a payload: (tag, the whole encoded record, its body).
fn records(payload: &[u8]) -> impl Iterator<Item = (u8, &[u8], &[u8])> {
    let mut c = Cursor::new(payload);
    std::iter::from_fn(move || {
        let start = c.position();
        let t = c.u8()?;
        let len = c.count()?;
        let body = c.bytes(len)?;
        Some((t, &payload[start..c.position()], body))
    })
}

fn count_records(payload: &[u8]) -> u64 {
    records(payload).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_walks_whole_records_only() {
        let mut p = Vec::new();
        Record::Dropped { events: 3 }.encode(&mut p);
        Record::End { ts_ns: 9 }.encode(&mut p);
        assert_eq!(count_records(&p), 2);
        assert_eq!(count_records(&p[..p.len() - 1]), 1);
        let tags: Vec<u8> = records(&p).map(|(t, _, _)| t).collect();
        assert_eq!(tags, [tag::DROPPED, tag::END]);
    }

    #[test]
    fn client_frames_hello_and_garbage() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(a.local_addr().unwrap()).unwrap();
        let mut v = Viewer::new(c, a.local_addr().unwrap());
        v.frames(b"hel");
        v.frames(b"lo 1\r\n");
        assert_eq!(v.hello, Some(1));
        assert!(!v.warned);
        v.frames(&[b'x'; MAX_FRAME + 10]);
        assert!(v.warned && v.skipping);
        v.frames(b"still the long line\nhello 2\n");
        assert_eq!(v.hello, Some(2));
        v.frames(b"\xff\xfe\n");
        assert_eq!(v.hello, Some(2));
    }
}
