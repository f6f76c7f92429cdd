//! Encoding: [`Record::encode`], and the encoders the probe's slow path uses to write a
//! record straight into its buffer without building a [`Record`].

use super::types::{Record, tag};
use crate::kinds::{ActorKind, Mode};
use crate::varint::{put_str, put_u64, varint_bytes};

impl Record {
    /// Appends the record: tag, body length (varint), body.
    /// Writes straight into `out`: no allocation when `out` has room.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_framed(out, |b| self.encode_body(b));
    }

    fn encode_body(&self, b: &mut Vec<u8>) -> u8 {
        match self {
            Record::String { id, text } => {
                put_u64(b, *id);
                put_str(b, text);
                tag::STRING
            }
            Record::Actor {
                actor,
                kind,
                os_id,
                name,
                spawn_site,
            } => {
                put_u64(b, *actor);
                put_u64(b, matches!(kind, ActorKind::Task) as u64);
                put_u64(b, *os_id);
                put_u64(b, *name);
                // Trailing and optional: an actor without one keeps the original body.
                if *spawn_site != 0 {
                    put_u64(b, *spawn_site);
                }
                tag::ACTOR
            }
            Record::Class {
                class,
                kind,
                name,
                site,
            } => {
                for v in [*class, kind.code(), *name, *site] {
                    put_u64(b, v);
                }
                tag::CLASS
            }
            Record::Lock {
                lock,
                class,
                capacity,
            } => {
                for v in [*lock, *class, *capacity] {
                    put_u64(b, v);
                }
                tag::LOCK
            }
            Record::Channel { room, items } => {
                put_u64(b, *room);
                put_u64(b, *items);
                tag::CHANNEL
            }
            Record::Frame {
                frame,
                function,
                file,
                line,
            } => {
                for v in [*frame, *function, *file, u64::from(*line)] {
                    put_u64(b, v);
                }
                tag::FRAME
            }
            Record::Stack { stack, frames } => {
                put_u64(b, *stack);
                put_u64(b, frames.len() as u64);
                frames.iter().for_each(|f| put_u64(b, *f));
                tag::STACK
            }
            Record::WaitBegin {
                ts_ns,
                actor,
                lock,
                mode,
                site,
                stack,
                holders,
                span,
            } => {
                encode_wait_begin(b, *ts_ns, *actor, *lock, *mode, *site, *stack, holders);
                put_u64(b, *span);
                tag::WAIT_BEGIN
            }
            Record::WaitEnd {
                ts_ns,
                actor,
                lock,
                outcome,
            } => {
                for v in [*ts_ns, *actor, *lock, *outcome as u64] {
                    put_u64(b, v);
                }
                tag::WAIT_END
            }
            Record::Hold {
                begin_ns,
                contended_ns,
                end_ns,
                actor,
                lock,
                mode,
                site,
                span,
            } => {
                for v in [*begin_ns, *contended_ns, *end_ns, *actor, *lock] {
                    put_u64(b, v);
                }
                mode.encode(b);
                put_u64(b, *site);
                put_u64(b, *span);
                tag::HOLD
            }
            Record::Pool {
                ts_ns,
                lock,
                actor,
                event,
                permits,
                in_use,
                waiters,
                capacity,
                duration_ns,
            } => {
                for v in [
                    *ts_ns,
                    *lock,
                    *actor,
                    *event as u64,
                    *permits,
                    *in_use,
                    *waiters,
                    *capacity,
                    *duration_ns,
                ] {
                    put_u64(b, v);
                }
                tag::POOL
            }
            Record::Fill {
                begin_ns,
                end_ns,
                actor,
                key,
                key_text,
                site,
            } => {
                for v in [*begin_ns, *end_ns, *actor, *key, *key_text, *site] {
                    put_u64(b, v);
                }
                tag::FILL
            }
            Record::Span {
                span,
                name,
                fields,
                parent,
            } => {
                for v in [*span, *name, *fields, *parent] {
                    put_u64(b, v);
                }
                tag::SPAN
            }
            Record::ThreadSched {
                ts_ns,
                actor,
                voluntary,
                involuntary,
                run_delay_ns,
                cpu_ns,
            } => {
                for v in [
                    *ts_ns,
                    *actor,
                    *voluntary,
                    *involuntary,
                    *run_delay_ns,
                    *cpu_ns,
                ] {
                    put_u64(b, v);
                }
                tag::THREAD_SCHED
            }
            Record::Process {
                ts_ns,
                cpu_ns,
                rss_bytes,
                threads,
            } => {
                for v in [*ts_ns, *cpu_ns, *rss_bytes, *threads] {
                    put_u64(b, v);
                }
                tag::PROCESS
            }
            Record::ClassStats {
                class,
                instances,
                acquisitions,
                contentions,
                max_waiters,
                hold_sample_period,
                wait,
                hold,
            } => {
                for v in [
                    *class,
                    *instances,
                    *acquisitions,
                    *contentions,
                    *max_waiters,
                    *hold_sample_period,
                ] {
                    put_u64(b, v);
                }
                wait.encode(b);
                hold.encode(b);
                tag::CLASS_STATS
            }
            Record::Dropped { events } => {
                put_u64(b, *events);
                tag::DROPPED
            }
            Record::Alert {
                ts_ns,
                kind,
                text,
                json,
            } => {
                put_u64(b, *ts_ns);
                put_str(b, kind);
                put_str(b, text);
                put_str(b, json);
                tag::ALERT
            }
            Record::Chaos {
                ts_ns,
                seed,
                delays,
                delay_ns,
                yields,
                inversion_delays,
            } => {
                for v in [
                    *ts_ns,
                    *seed,
                    *delays,
                    *delay_ns,
                    *yields,
                    *inversion_delays,
                ] {
                    put_u64(b, v);
                }
                tag::CHAOS
            }
            Record::Causal {
                ts_ns,
                class,
                speedup_pct,
                duration_ns,
                delay_ns,
                progress,
                count,
            } => {
                for v in [*ts_ns, *class, *speedup_pct, *duration_ns, *delay_ns] {
                    put_u64(b, v);
                }
                put_str(b, progress);
                put_u64(b, *count);
                tag::CAUSAL
            }
            Record::End { ts_ns } => {
                put_u64(b, *ts_ns);
                tag::END
            }
        }
    }
}

/// Writes one record onto `out`: its tag, its body length, then the body that `body` appends
/// to the buffer it is given (which is `out` itself: nothing is copied or allocated when `out`
/// has room).
///
/// ```
/// use lockscope_format::{Record, encode_record_with, tag, varint::put_u64};
///
/// let mut fast = Vec::new();
/// encode_record_with(&mut fast, tag::DROPPED, |b| put_u64(b, 3));
/// let mut slow = Vec::new();
/// Record::Dropped { events: 3 }.encode(&mut slow);
/// assert_eq!(fast, slow);
/// ```
pub fn encode_record_with(out: &mut Vec<u8>, tag: u8, body: impl FnOnce(&mut Vec<u8>)) {
    encode_framed(out, |b| {
        body(b);
        tag
    });
}

/// Writes a whole `WaitBegin` record (tag, length, body with its trailing span), the same bytes
/// as [`Record::WaitBegin`]'s [`encode`](Record::encode) without building its `Vec` of holders.
#[allow(clippy::too_many_arguments)]
pub fn encode_wait_begin_record(
    out: &mut Vec<u8>,
    ts_ns: u64,
    actor: u64,
    lock: u64,
    mode: Mode,
    site: u64,
    stack: u64,
    holders: &[u64],
    span: u64,
) {
    encode_record_with(out, tag::WAIT_BEGIN, |b| {
        encode_wait_begin(b, ts_ns, actor, lock, mode, site, stack, holders);
        put_u64(b, span);
    });
}

/// The one place a record is framed on the way out: a tag placeholder and a one-byte length
/// placeholder, the body (`body` returns the tag), then the length fixed up.
fn encode_framed(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>) -> u8) {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    out[start] = body(out);
    finish_length(out, start + 1);
}

/// Encodes a `WaitBegin` body up to (not including) its trailing span, straight from its parts.
/// [`encode_wait_begin_record`] writes the whole record.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn encode_wait_begin(
    b: &mut Vec<u8>,
    ts_ns: u64,
    actor: u64,
    lock: u64,
    mode: Mode,
    site: u64,
    stack: u64,
    holders: &[u64],
) {
    for v in [ts_ns, actor, lock] {
        put_u64(b, v);
    }
    mode.encode(b);
    put_u64(b, site);
    put_u64(b, stack);
    put_u64(b, holders.len() as u64);
    holders.iter().for_each(|h| put_u64(b, *h));
}

/// Fixes up the one-byte length placeholder at `at` once the body after it is written. Bodies
/// under 128 bytes (nearly all) need no move; longer ones shift the body right. Allocates
/// nothing unless `out` must grow by the length's extra bytes.
#[inline]
pub fn finish_length(out: &mut Vec<u8>, at: usize) {
    let len = (out.len() - at - 1) as u64;
    if len < 0x80 {
        out[at] = len as u8;
        return;
    }
    let (prefix, n) = varint_bytes(len);
    out[at] = prefix[0];
    let extra = n - 1;
    let old_len = out.len();
    out.resize(old_len + extra, 0);
    out.copy_within(at + 1..old_len, at + 1 + extra);
    out[at + 1..at + 1 + extra].copy_from_slice(&prefix[1..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_begin(holders: Vec<u64>, span: u64) -> Record {
        Record::WaitBegin {
            ts_ns: 1_234_567_890,
            actor: 3,
            lock: 1 << 40,
            mode: Mode::Permits(7),
            site: 17,
            stack: 300,
            holders,
            span,
        }
    }

    fn encoded(r: &Record) -> Vec<u8> {
        let mut out = Vec::new();
        r.encode(&mut out);
        out
    }

    #[test]
    fn encode_wait_begin_record_writes_the_bytes_of_record_encode() {
        // 2 holders: a one-byte length; 40 holders of 8-byte varints: a two-byte length.
        for holders in [vec![], vec![2, 9], (0..40).map(|i| u64::MAX - i).collect()] {
            let r = wait_begin(holders.clone(), 99);
            let mut fast = vec![0xaa]; // Something already in the buffer stays put.
            encode_wait_begin_record(
                &mut fast,
                1_234_567_890,
                3,
                1 << 40,
                Mode::Permits(7),
                17,
                300,
                &holders,
                99,
            );
            let mut slow = vec![0xaa];
            r.encode(&mut slow);
            assert_eq!(fast, slow, "{} holders", holders.len());
        }
        let long = encoded(&wait_begin((0..40).map(|i| u64::MAX - i).collect(), 0));
        assert_eq!(long[2] & 0x80, 0, "a 400-byte body needs a two-byte length");
        assert_eq!(long[1] & 0x80, 0x80);
    }

    #[test]
    fn encode_record_with_writes_the_bytes_of_record_encode() {
        // Short, two-byte and three-byte lengths.
        for n in [3, 200, 20_000] {
            let r = Record::Alert {
                ts_ns: 5,
                kind: "deadlock".into(),
                text: "x".repeat(n),
                json: "{}".into(),
            };
            let mut fast = Vec::new();
            encode_record_with(&mut fast, tag::ALERT, |b| {
                put_u64(b, 5);
                put_str(b, "deadlock");
                put_str(b, &"x".repeat(n));
                put_str(b, "{}");
            });
            assert_eq!(fast, encoded(&r), "text of {n} bytes");
        }
        let mut empty = Vec::new();
        encode_record_with(&mut empty, 0x6e, |_| {});
        assert_eq!(empty, [0x6e, 0]);
    }

    #[test]
    fn finish_length_moves_a_long_body_in_place_when_the_buffer_has_room() {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(&[tag::STRING, 0]);
        out.extend(std::iter::repeat_n(7u8, 300));
        let before = out.as_ptr();
        finish_length(&mut out, 1);
        assert_eq!(out.as_ptr(), before, "no reallocation");
        assert_eq!(&out[..3], &[tag::STRING, 0xac, 0x02]); // 300 = 0b10_0101100
        assert_eq!(out.len(), 303);
        assert!(out[3..].iter().all(|&b| b == 7));
    }
}
