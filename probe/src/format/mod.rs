//! The lockscope trace format, version 1: one encoding for trace files and the live stream.
//!
//! This module depends on nothing heavier than `crc32fast` and `thiserror`, so a viewer or a
//! third-party tool can read traces without pulling in the probe.
//!
//! # Layout
//!
//! All fixed-width integers are little-endian. A trace is a 24-byte header followed by chunks.
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0      | 8    | magic `89 4C 4B 53 43 4F 50 45` (`\x89LKSCOPE`; the high first byte catches text-mode mangling) |
//! | 8      | 2    | format version, `u16` (this reader: [`VERSION`]) |
//! | 10     | 2    | flags, `u16`, reserved, written 0 |
//! | 12     | 8    | wall-clock time of the trace epoch, Unix nanoseconds, `u64` |
//! | 20     | 4    | process id, `u32` |
//! | 24     | …    | chunks until end of file (or of stream) |
//!
//! Each chunk:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0      | 4    | payload length `n`, `u32`, at most [`MAX_CHUNK`] |
//! | 4      | 4    | CRC-32 (IEEE) of the payload |
//! | 8      | n    | payload: records, back to back |
//!
//! Each record: one tag byte ([`tag`]), the body length as an unsigned LEB128 varint, then the
//! body. A reader skips records whose tag it does not know, so later revisions of version 1 may
//! add record types; changing an existing body is a new format version.
//!
//! Inside a body every integer is an unsigned LEB128 varint and a string is a varint length
//! followed by UTF-8. Bodies of version 1 (fields in order; `str` = string-table id):
//!
//! | tag | record | fields |
//! |----:|--------|--------|
//! | 0x01 | String | id, text (inline string) |
//! | 0x02 | Actor | actor, kind (0 thread, 1 task), os id, name:str |
//! | 0x03 | Class | class, kind (0 mutex, 1 rwlock, 2 semaphore, 3 condvar), name:str (0 = unnamed), site:str |
//! | 0x04 | Lock | lock, class, capacity |
//! | 0x05 | Frame | frame, function:str, file:str, line |
//! | 0x06 | Stack | stack, count, frame ids innermost first |
//! | 0x07 | Span | span, name:str, fields:str (`key=value ...`, 0 = none), parent span (0 = root) |
//! | 0x10 | WaitBegin | ts, actor, lock, mode, site:str, stack, holder count, holder actor ids, span¹ |
//! | 0x11 | WaitEnd | ts, actor, lock, outcome (0 acquired, 1 timed out, 2 closed) |
//! | 0x12 | Hold | begin ts (0 = untimed), first-waiter ts (0 = none), end ts, actor, lock, mode, site:str, span¹ |
//! | 0x13 | Pool | ts, lock, actor, event (0 acquire, 1 release, 2 wait, 3 timeout, 4 resize), permits, in use, waiters, capacity, duration (acquire: waited; release: held) |
//! | 0x14 | Fill | begin ts, end ts, actor, key hash, key text:str (0 = none), site:str |
//! | 0x20 | ClassStats | class, instances, acquisitions, contentions, max waiters, hold sample period, wait histogram, hold histogram |
//! | 0x21 | ThreadSched | ts, actor, voluntary switches, involuntary switches, run-queue delay ns, cpu ns (all cumulative) |
//! | 0x22 | Process | ts, cpu ns (cumulative), resident bytes, threads |
//! | 0x30 | Dropped | events dropped so far (cumulative) |
//! | 0x40 | Alert | ts, kind (inline string), text (inline string), json (inline string) |
//! | 0x7f | End | ts: the trace was closed cleanly |
//!
//! ¹ A field appended by a later revision of version 1: a reader treats a body that ends before
//! it as 0 (traces written before the field existed).
//!
//! A mode is 0 exclusive, 1 shared, 2 condvar wait, `3 + n` for `n` semaphore permits.
//! A histogram is the count of non-empty buckets, then (bucket-index delta, count) pairs, then
//! total and max (see [`histogram`] for the bucket layout). Ids are never reused within a
//! trace; id 0 means "none". Definitions (String, Actor, Class, Lock, Frame, Stack) always
//! come before the first record that refers to them.
//!
//! # Damage
//!
//! A trace cut short (the process was killed mid-write) decodes up to the last whole chunk and
//! says so in [`Trace::truncated`]. A chunk whose CRC does not match is skipped and listed in
//! [`Trace::damage`]; decoding goes on with the next chunk. Only a missing magic or a newer
//! version is an error ([`DecodeError`]).

pub mod histogram;
mod kinds;
mod record;
pub mod varint;

pub use histogram::{Histogram, Summary};
pub use kinds::{ActorKind, LockKind, Mode, Outcome, PoolEvent};
pub use record::{Record, tag};
pub(crate) use record::{encode_wait_begin, finish_length};

use std::path::{Path, PathBuf};

/// The eight magic bytes every trace starts with.
pub const MAGIC: [u8; 8] = *b"\x89LKSCOPE";
/// The format version this crate writes and the newest it reads.
pub const VERSION: u16 = 1;
/// Size of the file header.
pub const HEADER_LEN: usize = 24;
/// Size of a chunk's frame (length and CRC).
pub const CHUNK_HEADER_LEN: usize = 8;
/// Largest chunk payload a writer produces and a reader accepts.
pub const MAX_CHUNK: u32 = 16 << 20;

/// The file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u16,
    /// Reserved flags.
    pub flags: u16,
    /// Wall-clock time of the epoch that record timestamps count from, Unix nanoseconds.
    pub epoch_unix_ns: u64,
    /// Recording process id.
    pub pid: u32,
}

impl Header {
    /// The 24 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&self.version.to_le_bytes());
        b[10..12].copy_from_slice(&self.flags.to_le_bytes());
        b[12..20].copy_from_slice(&self.epoch_unix_ns.to_le_bytes());
        b[20..24].copy_from_slice(&self.pid.to_le_bytes());
        b
    }

    /// Parses and checks a header.
    pub fn parse(b: &[u8]) -> Result<Header, DecodeError> {
        if b.len() < 8 || b[..8] != MAGIC {
            if b.len() < 8 && MAGIC.starts_with(b) {
                return Err(DecodeError::TooShort { len: b.len() });
            }
            let mut found = [0u8; 8];
            let n = b.len().min(8);
            found[..n].copy_from_slice(&b[..n]);
            return Err(DecodeError::NotATrace { found });
        }
        if b.len() < HEADER_LEN {
            return Err(DecodeError::TooShort { len: b.len() });
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version > VERSION || version == 0 {
            return Err(DecodeError::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        Ok(Header {
            version,
            flags: u16::from_le_bytes([b[10], b[11]]),
            epoch_unix_ns: u64::from_le_bytes(b[12..20].try_into().expect("8 bytes")),
            pid: u32::from_le_bytes(b[20..24].try_into().expect("4 bytes")),
        })
    }
}

/// Frames `payload` as one chunk onto `out`.
pub fn write_chunk(out: &mut Vec<u8>, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_CHUNK as usize);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Why a trace could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The data does not start with the lockscope magic bytes.
    #[error(
        "not a lockscope trace: it starts with {found:02x?} instead of the lockscope magic bytes; \
         check the path (traces are written by LOCKSCOPE_TRACE=path or Recorder::to_file)"
    )]
    NotATrace {
        /// The first bytes found.
        found: [u8; 8],
    },
    /// Shorter than a header.
    #[error(
        "the trace is only {len} bytes, shorter than its {HEADER_LEN}-byte header: the recording \
         process stopped before it wrote anything; record again"
    )]
    TooShort {
        /// Bytes available.
        len: usize,
    },
    /// Written by a newer lockscope.
    #[error(
        "the trace is format version {found}, but this lockscope reads versions 1 to {supported}; \
         upgrade the lockscope viewer to one at least as new as the probe that recorded it"
    )]
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Newest version this reader knows.
        supported: u16,
    },
    /// The file could not be read.
    #[error("cannot read trace {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A damaged region that was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset of the damaged chunk.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
}

/// A decoded trace.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The header.
    pub header: Header,
    /// Every record that decoded, in file order.
    pub records: Vec<Record>,
    /// `Some(offset)` when the data ends inside a chunk: everything before it was decoded.
    pub truncated: Option<u64>,
    /// Chunks that were skipped because they were corrupt.
    pub damage: Vec<Damage>,
}

impl Trace {
    /// True when the trace ends with an `End` record and nothing was cut or damaged.
    pub fn is_complete(&self) -> bool {
        self.truncated.is_none()
            && self.damage.is_empty()
            && matches!(self.records.last(), Some(Record::End { .. }))
    }
}

/// Decodes a whole trace held in memory.
pub fn decode(bytes: &[u8]) -> Result<Trace, DecodeError> {
    let mut d = StreamDecoder::default();
    let mut records = Vec::new();
    d.feed(bytes, &mut records)?;
    let header = d.header.ok_or(DecodeError::TooShort { len: bytes.len() })?;
    let truncated = (!d.pending.is_empty()).then_some(d.offset);
    Ok(Trace {
        header,
        records,
        truncated,
        damage: d.damage,
    })
}

/// Reads and decodes a trace file.
pub fn read_file(path: impl AsRef<Path>) -> Result<Trace, DecodeError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| DecodeError::Io {
        path: path.into(),
        source,
    })?;
    decode(&bytes)
}

/// An incremental decoder: feed it bytes as they arrive (a file being written, a live TCP
/// stream) and it yields every record completed so far.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    header: Option<Header>,
    pending: Vec<u8>,
    offset: u64,
    damage: Vec<Damage>,
}

impl StreamDecoder {
    /// The header, once it arrived.
    pub fn header(&self) -> Option<Header> {
        self.header
    }

    /// Chunks skipped so far because they were corrupt.
    pub fn damage(&self) -> &[Damage] {
        &self.damage
    }

    /// Bytes received that do not yet form a whole chunk.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Adds `bytes` and appends every record now complete to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Record>) -> Result<(), DecodeError> {
        self.pending.extend_from_slice(bytes);
        if self.header.is_none() {
            if self.pending.len() < HEADER_LEN {
                // Reject garbage as soon as its first bytes show it.
                let n = self.pending.len().min(8);
                if self.pending[..n] != MAGIC[..n] {
                    return Header::parse(&self.pending).map(|_| ());
                }
                return Ok(());
            }
            self.header = Some(Header::parse(&self.pending)?);
            self.pending.drain(..HEADER_LEN);
            self.offset = HEADER_LEN as u64;
        }
        let mut pos = 0;
        while self.pending.len() - pos >= CHUNK_HEADER_LEN {
            let p = &self.pending[pos..];
            let len = u32::from_le_bytes(p[..4].try_into().expect("4 bytes"));
            let crc = u32::from_le_bytes(p[4..8].try_into().expect("4 bytes"));
            if len > MAX_CHUNK {
                // The length itself is garbage: nothing after this point can be framed.
                self.damage.push(Damage {
                    offset: self.offset,
                    reason: format!("chunk length {len} exceeds the {MAX_CHUNK}-byte limit; the rest of the trace is unreadable"),
                });
                self.offset += (self.pending.len() - pos) as u64;
                pos = self.pending.len();
                break;
            }
            let total = CHUNK_HEADER_LEN + len as usize;
            if p.len() < total {
                break;
            }
            let payload = &p[CHUNK_HEADER_LEN..total];
            if crc32fast::hash(payload) != crc {
                self.damage.push(Damage {
                    offset: self.offset,
                    reason: format!("chunk of {len} bytes fails its checksum; skipped"),
                });
            } else if let Err(reason) = decode_payload(payload, out) {
                self.damage.push(Damage {
                    offset: self.offset,
                    reason,
                });
            }
            pos += total;
            self.offset += total as u64;
        }
        self.pending.drain(..pos);
        Ok(())
    }
}

fn decode_payload(payload: &[u8], out: &mut Vec<Record>) -> Result<(), String> {
    let mut c = varint::Cursor::new(payload);
    while !c.is_empty() {
        let at = c.position();
        let t = c.u8().ok_or("record tag missing")?;
        let len = c
            .count()
            .ok_or_else(|| format!("record at +{at}: bad length"))?;
        let body = c
            .bytes(len)
            .ok_or_else(|| format!("record at +{at}: body cut short"))?;
        match Record::decode_body(t, body) {
            Ok(Some(r)) => out.push(r),
            Ok(None) => {}
            Err(()) => {
                return Err(format!(
                    "record 0x{t:02x} at +{at} is malformed; rest of chunk skipped"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
