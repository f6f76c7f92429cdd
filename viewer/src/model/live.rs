//! A live trace: bytes arrive from a running process's live stream (the encoding of a trace
//! file), are decoded chunk by chunk into a model builder, and snapshots of the model are
//! taken whenever the viewer wants to show what arrived.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};

use lockscope_format::{
    DecodeError, Header, MAX_CHUNK, Record, StreamDecoder, split_point, write_chunk,
};

use super::decode::{ModelBuilder, parse_alert};
use super::{Alert, Model};

/// Decodes a live stream incrementally.
#[derive(Debug, Default)]
pub struct LiveSession {
    decoder: StreamDecoder,
    builder: ModelBuilder,
    records: Vec<Record>,
    /// Alerts already passed on, by (timestamp, hash of kind and text): a stream that fell
    /// behind is sent the definitions and alerts it missed again.
    seen_alerts: HashSet<(u64, u64)>,
    bytes: u64,
    events: u64,
    dirty: bool,
    ended: bool,
    /// The latest event timestamp received.
    last_event_ns: u64,
    /// After a reconnect to the same run: events at or before this were received already
    /// (a server replays the waits still open), so they are not added twice.
    replayed_up_to: Option<u64>,
    /// After a reconnect: the header of the stream before, to tell whether the new stream is
    /// the same run (same process, same start) or a new one.
    previous: Option<Header>,
    /// Every record the model was built from, encoded again: what [`LiveSession::trace_bytes`]
    /// saves (replayed events and repeated alerts are not in it twice).
    kept: Vec<u8>,
}

/// An event record's timestamp (`None` for definitions, alerts and figures).
fn event_ns(r: &Record) -> Option<u64> {
    match r {
        Record::WaitBegin { ts_ns, .. }
        | Record::WaitEnd { ts_ns, .. }
        | Record::Pool { ts_ns, .. }
        | Record::ThreadSched { ts_ns, .. }
        | Record::Process { ts_ns, .. } => Some(*ts_ns),
        Record::Hold { end_ns, .. } | Record::Fill { end_ns, .. } => Some(*end_ns),
        _ => None,
    }
}

impl LiveSession {
    /// A session waiting for the stream's header.
    pub fn new() -> Self {
        LiveSession::default()
    }

    /// Adds bytes from the stream and returns the alerts among the records they completed,
    /// new ones only. Fails when the bytes are not a lockscope stream (or a newer version).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Alert>, DecodeError> {
        self.bytes += bytes.len() as u64;
        self.decoder.feed(bytes, &mut self.records)?;
        if let (Some(before), Some(now)) = (self.previous, self.decoder.header()) {
            self.previous = None;
            if (before.pid, before.epoch_unix_ns) != (now.pid, now.epoch_unix_ns) {
                // Another run of the program: it starts a session of its own.
                let (decoder, records, bytes) = (
                    std::mem::take(&mut self.decoder),
                    std::mem::take(&mut self.records),
                    self.bytes,
                );
                *self = LiveSession {
                    decoder,
                    records,
                    bytes,
                    ..LiveSession::default()
                };
            }
        }
        let mut alerts = Vec::new();
        for r in self.records.drain(..) {
            if let Some(ts) = event_ns(&r) {
                if self.replayed_up_to.is_some_and(|upto| ts <= upto) {
                    continue;
                }
                self.last_event_ns = self.last_event_ns.max(ts);
            }
            self.dirty = true;
            self.events += 1;
            match &r {
                Record::Alert {
                    ts_ns,
                    kind,
                    text,
                    json,
                } => {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    (kind, text).hash(&mut h);
                    if !self.seen_alerts.insert((*ts_ns, h.finish())) {
                        continue;
                    }
                    alerts.push(parse_alert(*ts_ns, kind, text, json));
                }
                Record::End { .. } => self.ended = true,
                _ => {}
            }
            r.encode(&mut self.kept);
            self.builder.add(r);
        }
        Ok(alerts)
    }

    /// Continues this session on a new connection (after the last one dropped): if the next
    /// stream is the same run (its header names the same process and start), what arrives is
    /// added to what was received before, minus the events received already; a new run
    /// starts over.
    pub fn resume(&mut self) {
        let Some(header) = self.decoder.header() else {
            self.decoder = StreamDecoder::default();
            return;
        };
        self.previous = Some(header);
        self.replayed_up_to = Some(self.last_event_ns);
        self.decoder = StreamDecoder::default();
        self.records.clear();
        self.ended = false;
    }

    /// The session as the bytes of a trace file (`None` before the header arrived): the
    /// stream's header, then every record the model was built from. A stream that has not
    /// ended has no end record, so the file reads as cut short, which it is.
    pub fn trace_bytes(&self) -> Option<Vec<u8>> {
        let header = self.decoder.header().or(self.previous)?;
        let mut out = Vec::with_capacity(lockscope_format::HEADER_LEN + self.kept.len() + 64);
        out.extend_from_slice(&header.to_bytes());
        let mut rest = &self.kept[..];
        while !rest.is_empty() {
            let n = split_point(rest, MAX_CHUNK as usize);
            write_chunk(&mut out, &rest[..n]);
            rest = &rest[n..];
        }
        Some(out)
    }

    /// True once the header arrived.
    pub fn started(&self) -> bool {
        self.decoder.header().is_some()
    }

    /// True when records arrived since the last snapshot.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// True once the stream's `End` record arrived: the process finished recording.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Bytes received.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Records decoded.
    pub fn records(&self) -> u64 {
        self.events
    }

    /// Bytes of a chunk that has not arrived whole yet.
    pub fn pending_len(&self) -> usize {
        self.decoder.pending_len()
    }

    /// The model of everything received so far (`None` before the header). Waits with no
    /// end yet are still waiting.
    pub fn snapshot(&mut self) -> Option<Model> {
        let header = self.decoder.header()?;
        self.dirty = false;
        let damage = self.decoder.damage().to_vec();
        let mut m = self.builder.clone().finish(header, None, damage);
        m.integrity.streaming = !self.ended;
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use lockscope_format::{Header, Record, VERSION, write_chunk};

    use super::LiveSession;
    use crate::model::tests_support::{begin, definitions};

    fn stream(records: &[Record]) -> Vec<u8> {
        let header = Header {
            version: VERSION,
            flags: 0,
            epoch_unix_ns: 0,
            pid: 7,
        };
        let mut out = header.to_bytes().to_vec();
        for r in records {
            let mut payload = Vec::new();
            r.encode(&mut payload);
            write_chunk(&mut out, &payload);
        }
        out
    }

    fn alert(ts_ns: u64) -> Record {
        Record::Alert {
            ts_ns,
            kind: "deadlock".into(),
            text: "t1 and t2 wait for each other".into(),
            json: r#"{"locks":["alpha"],"actors":["t1","t2"]}"#.into(),
        }
    }

    #[test]
    fn bytes_in_any_pieces_build_the_model_and_alerts_come_out_once() {
        let mut records = definitions();
        records.push(begin(10, 1, 11, &[2]));
        records.push(alert(20));
        records.push(alert(20));
        let bytes = stream(&records);
        let mut s = LiveSession::new();
        let mut alerts = Vec::new();
        for piece in bytes.chunks(7) {
            alerts.extend(s.feed(piece).unwrap());
        }
        assert_eq!(alerts.len(), 1, "the repeated alert is passed on once");
        assert_eq!(alerts[0].actors, ["t1", "t2"]);
        assert!(s.is_dirty());
        let m = s.snapshot().unwrap();
        assert!(!s.is_dirty());
        assert_eq!(m.class_name(10), "alpha");
        assert_eq!(m.still_waiting().count(), 1, "the wait has not ended yet");
        assert_eq!(m.alerts.len(), 1);
        assert!(!s.ended());
        // A healthy stream has no end record yet: nothing is lost, nothing to warn about.
        assert_eq!(m.integrity.label(), "live");
        let warnings = m.warnings(std::path::Path::new("127.0.0.1:7878"));
        assert!(warnings.is_empty(), "{warnings:?}");
        s.feed(&stream(&[Record::End { ts_ns: 30 }])[lockscope_format::HEADER_LEN..])
            .unwrap();
        let m = s.snapshot().unwrap();
        assert!(s.ended());
        assert_eq!(m.integrity.label(), "complete");
    }

    #[test]
    fn a_reconnect_to_the_same_run_keeps_what_arrived_and_adds_only_what_is_new() {
        use crate::model::tests_support::end;
        let mut records = definitions();
        records.push(begin(10, 1, 11, &[2]));
        records.push(begin(20, 2, 21, &[1]));
        records.push(end(30, 1, 11));
        let mut s = LiveSession::new();
        s.feed(&stream(&records)).unwrap();
        // The connection drops; the server replays definitions and the wait still open,
        // then new events follow.
        s.resume();
        let mut again = definitions();
        again.push(begin(20, 2, 21, &[1]));
        again.push(begin(40, 3, 11, &[2]));
        s.feed(&stream(&again)).unwrap();
        let m = s.snapshot().unwrap();
        assert_eq!(
            m.waits.len(),
            3,
            "t1's ended wait, t2's open one once, t3's new one"
        );
        assert_eq!(m.still_waiting().count(), 2);
        // A new run of the program (another pid) starts over.
        s.resume();
        let mut bytes = stream(&definitions());
        bytes[20..24].copy_from_slice(&8u32.to_le_bytes());
        s.feed(&bytes).unwrap();
        let m = s.snapshot().unwrap();
        assert_eq!((m.waits.len(), m.header.unwrap().pid), (0, 8));
    }

    #[test]
    fn a_saved_session_reads_back_as_the_model_it_shows() {
        use crate::model::tests_support::end;
        let mut records = definitions();
        records.push(begin(10, 1, 11, &[2]));
        records.push(end(30, 1, 11));
        records.push(begin(40, 2, 21, &[1]));
        records.push(alert(45));
        let mut s = LiveSession::new();
        assert!(
            s.trace_bytes().is_none(),
            "nothing to save before the header"
        );
        s.feed(&stream(&records)).unwrap();
        // A reconnect to the same run: the open wait and the alert are sent again.
        s.resume();
        let mut again = definitions();
        again.push(begin(40, 2, 21, &[1]));
        again.push(alert(45));
        again.push(begin(50, 3, 11, &[2]));
        s.feed(&stream(&again)).unwrap();
        let shown = s.snapshot().unwrap();
        let saved = lockscope_format::decode(&s.trace_bytes().unwrap()).unwrap();
        assert_eq!(saved.header.pid, 7);
        assert!(
            !saved.is_complete(),
            "no end record yet: the file says it was cut short"
        );
        let m = crate::model::Model::from_trace(&saved);
        assert_eq!((m.waits.len(), shown.waits.len()), (3, 3));
        assert_eq!(m.still_waiting().count(), shown.still_waiting().count());
        assert_eq!(m.alerts.len(), 1, "the repeated alert is saved once");
        let rows = |m: &crate::model::Model| format!("{:?}", m.lock_rows());
        assert_eq!(rows(&m), rows(&shown), "the same lock table");
    }

    #[test]
    fn garbage_is_refused_and_nothing_is_shown_before_the_header() {
        let mut s = LiveSession::new();
        assert!(s.snapshot().is_none());
        let e = s.feed(b"HTTP/1.1 200 OK\r\n").unwrap_err();
        assert!(e.to_string().contains("not a lockscope trace"), "{e}");
    }
}
