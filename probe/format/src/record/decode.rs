//! Decoding of record bodies.

use super::types::{MalformedRecord, Record, tag};
use crate::chunk::next_record;
use crate::histogram::Histogram;
use crate::kinds::{ActorKind, LockKind, Mode, Outcome, PoolEvent};
use crate::varint::Cursor;

impl Record {
    /// Decodes one whole record as [`encode`](Record::encode) writes it (tag, length, body;
    /// nothing after it), such as one that [`record_spans`](crate::record_spans) yields.
    /// `Ok(None)` means a tag this reader does not know.
    ///
    /// ```
    /// use lockscope_format::Record;
    ///
    /// let mut bytes = Vec::new();
    /// Record::End { ts_ns: 7 }.encode(&mut bytes);
    /// assert_eq!(Record::decode(&bytes), Ok(Some(Record::End { ts_ns: 7 })));
    /// assert!(Record::decode(&bytes[..bytes.len() - 1]).is_err());
    /// ```
    pub fn decode(record: &[u8]) -> Result<Option<Record>, MalformedRecord> {
        match next_record(record) {
            Some((t, whole, body)) if whole.len() == record.len() => Record::decode_body(t, body),
            _ => Err(MalformedRecord {
                tag: record.first().copied().unwrap_or(0),
            }),
        }
    }

    /// Decodes one record body with tag `t`. `Ok(None)` means a tag this reader does not know
    /// (a record a newer minor revision added), which the caller skips.
    pub fn decode_body(t: u8, body: &[u8]) -> Result<Option<Record>, MalformedRecord> {
        Record::decode_fields(t, &mut Cursor::new(body)).ok_or(MalformedRecord { tag: t })
    }

    /// [`Record::decode_body`] from a cursor over the body: `None` when it is malformed,
    /// `Some(None)` for a tag this reader does not know. Inlined into the stream decoder, so
    /// a record is built where its consumer takes it, not moved through a `Result` first.
    #[inline(always)]
    pub(crate) fn decode_fields(t: u8, c: &mut Cursor<'_>) -> Option<Option<Record>> {
        Some(Some(match t {
            tag::STRING => Record::String {
                id: c.u64()?,
                text: c.str()?.to_owned(),
            },
            tag::ACTOR => Record::Actor {
                actor: c.u64()?,
                kind: if c.u64()? == 1 {
                    ActorKind::Task
                } else {
                    ActorKind::Thread
                },
                os_id: c.u64()?,
                name: c.u64()?,
                spawn_site: c.trailing_u64()?,
            },
            tag::CLASS => Record::Class {
                class: c.u64()?,
                kind: LockKind::from_code(c.u64()?)?,
                name: c.u64()?,
                site: c.u64()?,
            },
            tag::LOCK => Record::Lock {
                lock: c.u64()?,
                class: c.u64()?,
                capacity: c.u64()?,
            },
            tag::CHANNEL => Record::Channel {
                room: c.u64()?,
                items: c.u64()?,
            },
            tag::FRAME => Record::Frame {
                frame: c.u64()?,
                function: c.u64()?,
                file: c.u64()?,
                line: c.u32()?,
            },
            tag::STACK => {
                let stack = c.u64()?;
                let n = c.count()?;
                let frames = c.u64s(n)?;
                Record::Stack { stack, frames }
            }
            tag::WAIT_BEGIN => {
                let (ts_ns, actor, lock) = (c.u64()?, c.u64()?, c.u64()?);
                let mode = Mode::decode(c)?;
                let (site, stack) = (c.u64()?, c.u64()?);
                let n = c.count()?;
                let holders = c.u64s(n)?;
                Record::WaitBegin {
                    ts_ns,
                    actor,
                    lock,
                    mode,
                    site,
                    stack,
                    holders,
                    span: c.trailing_u64()?,
                }
            }
            tag::WAIT_END => Record::WaitEnd {
                ts_ns: c.u64()?,
                actor: c.u64()?,
                lock: c.u64()?,
                outcome: Outcome::from_code(c.u64()?)?,
            },
            tag::HOLD => Record::Hold {
                begin_ns: c.u64()?,
                contended_ns: c.u64()?,
                end_ns: c.u64()?,
                actor: c.u64()?,
                lock: c.u64()?,
                mode: Mode::decode(c)?,
                site: c.u64()?,
                span: c.trailing_u64()?,
            },
            tag::POOL => Record::Pool {
                ts_ns: c.u64()?,
                lock: c.u64()?,
                actor: c.u64()?,
                event: PoolEvent::from_code(c.u64()?)?,
                permits: c.u64()?,
                in_use: c.u64()?,
                waiters: c.u64()?,
                capacity: c.u64()?,
                duration_ns: c.u64()?,
            },
            tag::FILL => Record::Fill {
                begin_ns: c.u64()?,
                end_ns: c.u64()?,
                actor: c.u64()?,
                key: c.u64()?,
                key_text: c.u64()?,
                site: c.u64()?,
            },
            tag::SPAN => Record::Span {
                span: c.u64()?,
                name: c.u64()?,
                fields: c.u64()?,
                parent: c.u64()?,
            },
            tag::THREAD_SCHED => Record::ThreadSched {
                ts_ns: c.u64()?,
                actor: c.u64()?,
                voluntary: c.u64()?,
                involuntary: c.u64()?,
                run_delay_ns: c.u64()?,
                cpu_ns: c.u64()?,
            },
            tag::PROCESS => Record::Process {
                ts_ns: c.u64()?,
                cpu_ns: c.u64()?,
                rss_bytes: c.u64()?,
                threads: c.u64()?,
            },
            tag::CLASS_STATS => Record::ClassStats {
                class: c.u64()?,
                instances: c.u64()?,
                acquisitions: c.u64()?,
                contentions: c.u64()?,
                max_waiters: c.u64()?,
                hold_sample_period: c.u64()?,
                wait: Histogram::decode(c)?,
                hold: Histogram::decode(c)?,
            },
            tag::DROPPED => Record::Dropped { events: c.u64()? },
            tag::ALERT => Record::Alert {
                ts_ns: c.u64()?,
                kind: c.str()?.to_owned(),
                text: c.str()?.to_owned(),
                json: c.str()?.to_owned(),
            },
            tag::CHAOS => Record::Chaos {
                ts_ns: c.u64()?,
                seed: c.u64()?,
                delays: c.u64()?,
                delay_ns: c.u64()?,
                yields: c.u64()?,
                inversion_delays: c.u64()?,
            },
            tag::CAUSAL => Record::Causal {
                ts_ns: c.u64()?,
                class: c.u64()?,
                speedup_pct: c.u64()?,
                duration_ns: c.u64()?,
                delay_ns: c.u64()?,
                progress: c.str()?.to_owned(),
                count: c.u64()?,
            },
            tag::END => Record::End { ts_ns: c.u64()? },
            _ => return Some(None),
        }))
    }
}
