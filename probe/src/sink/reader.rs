//! The sink's one reader side: what the recorder takes out, in the order it must be written.

use super::defs::LOG;
use super::thread::{BUF_BYTES, ThreadSink, collector};
use std::sync::atomic::Ordering::Relaxed;

/// What one collection took out of the sink. Written in field order — `defs`, `instances`,
/// `alerts` (then the stacks' resolved frames), then `events` — every definition precedes
/// the events that refer to it.
#[derive(Default)]
pub(crate) struct Batch {
    /// Definitions logged since the last collection (strings, actors, classes, spans, frames).
    pub(crate) defs: Vec<u8>,
    /// Lock-instance definitions.
    pub(crate) instances: Vec<u8>,
    /// Alert records.
    pub(crate) alerts: Vec<u8>,
    /// Raw stacks to symbolize (id, depth, instruction pointers; repeated).
    pub(crate) stacks: Vec<u64>,
    /// Each thread's encoded events.
    pub(crate) events: Vec<Vec<u8>>,
}

/// The recorder's cursor into the definitions log. A new reader (a new recording) starts at
/// the beginning, so it gets every string, actor and class defined so far.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    history_pos: usize,
    spares: Vec<Vec<u8>>,
}

impl Reader {
    /// Takes everything buffered: first each thread's events, then the definitions log.
    ///
    /// `sink_of` gives each thread's buffer. `gone` says whether a thread exited and is gone
    /// (then both halves are drained, since it writes no more) and `retire` is called for each
    /// such thread once drained; both run under the collector role, so no other collector can
    /// reclaim the same thread in between.
    ///
    /// The order is the rule: an event can only have been written after its definitions
    /// entered the log, and the log is read after every buffer was swapped out, so `defs`
    /// holds every definition `events` refers to. (A definition made by the caller before this
    /// call, such as the strings of frames it resolved, is in `defs` too.)
    pub(crate) fn collect<T>(
        &mut self,
        threads: &[T],
        sink_of: impl Fn(&T) -> &ThreadSink,
        gone: impl Fn(&T) -> bool,
        mut retire: impl FnMut(&T),
    ) -> Batch {
        let mut batch = Batch::default();
        {
            let _collector = collector();
            for t in threads {
                let (sink, exited) = (sink_of(t), gone(t));
                for _ in 0..if exited { 2 } else { 1 } {
                    let mut spare = self
                        .spares
                        .pop()
                        .unwrap_or_else(|| Vec::with_capacity(BUF_BYTES));
                    sink.buf.collect(|b| {
                        if !b.events.is_empty() {
                            std::mem::swap(&mut b.events, &mut spare);
                        }
                        batch.stacks.extend_from_slice(&b.stacks);
                        b.stacks.clear();
                    });
                    if spare.is_empty() {
                        self.spares.push(spare);
                    } else {
                        batch.events.push(spare);
                    }
                }
                sink.drained();
                if exited {
                    retire(t);
                }
            }
        }
        let mut log = LOG.lock();
        batch.defs = log.history[self.history_pos..].to_vec();
        self.history_pos = log.history.len();
        batch.instances = std::mem::take(&mut log.instances);
        batch.alerts = std::mem::take(&mut log.alerts);
        batch
    }

    /// Gives an event buffer back for reuse once written.
    pub(crate) fn recycle(&mut self, mut events: Vec<u8>) {
        events.clear();
        if self.spares.len() < 64 {
            self.spares.push(events);
        }
    }
}

/// Events dropped so far by the given threads' buffers.
pub(crate) fn dropped<'a>(threads: impl IntoIterator<Item = &'a ThreadSink>) -> u64 {
    threads.into_iter().map(|t| t.dropped.load(Relaxed)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Outcome, Record, record_spans};
    use crate::sink::{define_with, intern};

    fn records(payload: &[u8]) -> Vec<Record> {
        record_spans(payload)
            .filter_map(|(_, whole)| Record::decode(whole).ok().flatten())
            .collect()
    }

    fn defines(payload: &[u8], id: u64, text: &str) -> bool {
        records(payload)
            .iter()
            .any(|r| matches!(r, Record::String { id: i, text: t } if *i == id && t == text))
    }

    fn event(actor: u64) -> impl FnOnce(&mut Vec<u8>) {
        move |b| {
            Record::WaitEnd {
                ts_ns: 1,
                actor,
                lock: 7,
                outcome: Outcome::Acquired,
            }
            .encode(b)
        }
    }

    #[test]
    fn a_collection_carries_every_definition_its_events_use_and_no_repeats() {
        let sink = ThreadSink::new();
        let mut reader = Reader::default();
        let first = define_with(|d| d.intern("sink-reader-first-definition"));
        sink.emit(event(first));
        let batch = reader.collect(&[&sink], |s| s, |_| false, |_| {});
        assert_eq!(batch.events.len(), 1, "one thread's events");
        assert!(defines(&batch.defs, first, "sink-reader-first-definition"));

        let second = intern("sink-reader-second-definition");
        sink.emit(event(second));
        let batch = reader.collect(&[&sink], |s| s, |_| false, |_| {});
        assert!(defines(
            &batch.defs,
            second,
            "sink-reader-second-definition"
        ));
        assert!(
            !defines(&batch.defs, first, "sink-reader-first-definition"),
            "a definition already handed out is not handed out again"
        );
        assert_eq!(records(&batch.events[0]).len(), 1);

        // A new recording (a new reader) gets every definition from the start.
        let batch = Reader::default().collect(&[&sink], |s| s, |_| false, |_| {});
        assert!(defines(&batch.defs, first, "sink-reader-first-definition"));
        assert!(batch.events.is_empty(), "nothing new was buffered");
    }

    #[test]
    fn an_exited_threads_buffers_are_drained_whole() {
        let sink = ThreadSink::new();
        sink.emit(event(1));
        let mut reader = Reader::default();
        // Swap once without draining: the event stays in the half now inactive...
        sink.buf.collect(|_| {});
        sink.emit(event(2));
        // ...and an exited thread's collection takes both halves, then retires it.
        let mut retired = 0;
        let batch = reader.collect(&[&sink], |s| s, |_| true, |_| retired += 1);
        let n: usize = batch.events.iter().map(|e| records(e).len()).sum();
        assert_eq!(n, 2, "both halves drained");
        assert_eq!(retired, 1);
    }
}
