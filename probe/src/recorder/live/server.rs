//! The `lockscope-live` thread: takes the recorder's chunks from the hub's inbox, keeps what
//! a late viewer needs first (definitions, latest figures), accepts viewers and feeds each its
//! bounded queue.

use super::hub::*;
use super::viewer::Viewer;
use crate::diag::warn;
use crate::format::CHUNK_HEADER_LEN;
use crate::format::{self, Record, split_point, tag};
use std::collections::BTreeMap;
use std::io;
use std::io::Write;
use std::net::{Shutdown, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Instant;

/// The live thread's state.
pub(super) struct Server<'a> {
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
    /// The waits in progress as of the recorder's last pass (`WaitBegin` records), for
    /// viewers that connect later.
    open_waits: Vec<u8>,
    viewers: Vec<Viewer>,
    /// The inbox's (items, bytes) published counts as of the last drain.
    taken: (u64, u64),
    warned_full: bool,
    warned_accept: bool,
}

impl<'a> Server<'a> {
    pub(super) fn new(cfg: LiveConfig, hub: &'a Hub) -> Self {
        Server {
            hub,
            listener: Some(cfg.listener),
            queue_bytes: cfg.queue_bytes,
            header: Vec::new(),
            meta: Vec::new(),
            figures: BTreeMap::new(),
            host_dropped: 0,
            open_waits: Vec::new(),
            viewers: Vec::new(),
            taken: (0, 0),
            warned_full: false,
            warned_accept: false,
        }
    }

    pub(super) fn run(mut self) {
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
        let (items, lost_records, lost_chunks) = {
            let mut inbox = self.hub.inbox.lock();
            self.taken = (inbox.published, inbox.published_bytes);
            inbox.event_bytes = 0;
            (
                std::mem::take(&mut inbox.items),
                std::mem::take(&mut inbox.lost_records),
                std::mem::take(&mut inbox.lost_chunks),
            )
        };
        if lost_records > 0 || lost_chunks > 0 {
            for v in &mut self.viewers {
                v.lagging = true;
                v.events_dropped += lost_records;
                v.chunks_dropped += lost_chunks;
            }
        }
        for (kind, chunk) in items {
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
            Kind::OpenWaits => {
                // For viewers still to come: those connected have the events themselves.
                self.open_waits = payload(&chunk).to_vec();
                return;
            }
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
                // Figures are replaced by the latest ones when it catches up: only events
                // are lost for good.
                if kind == Kind::Events {
                    v.events_dropped += records;
                }
                if kind != Kind::Meta {
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
        for (t, raw) in format::record_spans(payload) {
            match t {
                tag::CLASS_STATS => {
                    if let Ok(Some(Record::ClassStats { class, .. })) = Record::decode(raw) {
                        self.figures.insert(class, raw.to_vec());
                    }
                }
                tag::DROPPED => {
                    if let Ok(Some(Record::Dropped { events })) = Record::decode(raw) {
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
            // The waits in progress, after the definitions they name: a viewer that connects
            // once a deadlock has formed sees it.
            push_chunked(&mut v, &self.open_waits);
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
        *self.hub.report.lock() = (now, self.taken);
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
