//! The waits in progress, as the trace's events tell them: the writer follows every event
//! chunk it writes while a live stream runs, so a viewer that connects late (after a deadlock
//! formed, say) is sent the `WaitBegin` of every wait not yet ended and sees who is stuck,
//! not only the definitions.

use crate::format::{self, Record, tag};
use std::collections::BTreeMap;

/// Ends kept while their begin may still come: a task's wait can begin on one worker thread
/// and end on another, whose buffer is written first. Ends whose begin never comes (it was
/// written before the stream was followed) are forgotten oldest first past this many.
const EARLY_ENDS: usize = 1024;

/// `WaitBegin` records without their `WaitEnd` yet, by (actor, lock), innermost last.
#[derive(Debug, Default)]
pub(super) struct OpenWaits {
    open: BTreeMap<(u64, u64), Vec<Vec<u8>>>,
    /// Ends read with no open begin: (actor, lock, end), oldest first.
    early: std::collections::VecDeque<(u64, u64, u64)>,
    changed: bool,
}

impl OpenWaits {
    /// Follows one payload of events (records back to back).
    pub(super) fn follow(&mut self, payload: &[u8]) {
        for (t, raw) in format::record_spans(payload) {
            match t {
                tag::WAIT_BEGIN => {
                    if let Ok(Some(Record::WaitBegin {
                        actor, lock, ts_ns, ..
                    })) = Record::decode(raw)
                    {
                        // Its end was read already (it was written by another thread).
                        let ended = (self.early.iter())
                            .position(|&(a, l, end)| (a, l) == (actor, lock) && end >= ts_ns);
                        if let Some(at) = ended {
                            self.early.remove(at);
                            continue;
                        }
                        self.open
                            .entry((actor, lock))
                            .or_default()
                            .push(raw.to_vec());
                        self.changed = true;
                    }
                }
                tag::WAIT_END => {
                    let Ok(Some(Record::WaitEnd {
                        actor, lock, ts_ns, ..
                    })) = Record::decode(raw)
                    else {
                        continue;
                    };
                    match self.open.get_mut(&(actor, lock)) {
                        Some(stack) => {
                            stack.pop();
                            if stack.is_empty() {
                                self.open.remove(&(actor, lock));
                            }
                            self.changed = true;
                        }
                        None => {
                            if self.early.len() == EARLY_ENDS {
                                self.early.pop_front();
                            }
                            self.early.push_back((actor, lock, ts_ns));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The open waits' records back to back, when they changed since the last call.
    pub(super) fn take_changed(&mut self) -> Option<Vec<u8>> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        Some(self.open.values().flatten().flatten().copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Mode, Outcome};

    fn begin(actor: u64, lock: u64, ts_ns: u64) -> Record {
        Record::WaitBegin {
            ts_ns,
            actor,
            lock,
            mode: Mode::Exclusive,
            site: 0,
            stack: 0,
            holders: vec![9],
            span: 0,
        }
    }

    fn end(actor: u64, lock: u64) -> Record {
        Record::WaitEnd {
            ts_ns: 50,
            actor,
            lock,
            outcome: Outcome::Acquired,
        }
    }

    fn payload(records: &[Record]) -> Vec<u8> {
        let mut p = Vec::new();
        records.iter().for_each(|r| r.encode(&mut p));
        p
    }

    fn decoded(bytes: &[u8]) -> Vec<Record> {
        format::record_spans(bytes)
            .map(|(_, raw)| Record::decode(raw).unwrap().unwrap())
            .collect()
    }

    #[test]
    fn only_the_waits_not_yet_ended_are_kept() {
        let mut o = OpenWaits::default();
        assert_eq!(o.take_changed(), None);
        o.follow(&payload(&[begin(1, 11, 10), begin(2, 21, 20), end(1, 11)]));
        let open = o.take_changed().unwrap();
        assert_eq!(decoded(&open), [begin(2, 21, 20)]);
        assert_eq!(o.take_changed(), None, "nothing changed since");
        // An end whose begin came before the stream was followed changes nothing.
        o.follow(&payload(&[end(3, 31)]));
        assert_eq!(o.take_changed(), None);
        o.follow(&payload(&[end(2, 21)]));
        assert_eq!(o.take_changed().unwrap(), Vec::<u8>::new());
        // The stray end above is not taken for the next wait of its lock, which began after it.
        o.follow(&payload(&[begin(3, 31, 60)]));
        assert_eq!(decoded(&o.take_changed().unwrap()), [begin(3, 31, 60)]);
    }

    #[test]
    fn an_end_written_before_its_begin_closes_it_when_the_begin_comes() {
        // A task's wait began (at 10) on one worker and ended (at 50) on another, whose
        // buffer was written first.
        let mut o = OpenWaits::default();
        o.follow(&payload(&[end(1, 11)]));
        o.follow(&payload(&[begin(1, 11, 10)]));
        assert_eq!(o.take_changed(), None, "no wait was ever open");
        assert!(o.open.is_empty() && o.early.is_empty());
    }
}
