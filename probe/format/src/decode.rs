//! Reading traces: whole ([`decode`], [`read_file`]) or as bytes arrive ([`StreamDecoder`]),
//! and what can go wrong.

use std::path::Path;

use crate::chunk::{Frame, MAX_CHUNK, framed_len, next_record, read_frame};
use crate::consts::{HEADER_LEN, MAGIC};
use crate::error::DecodeError;
use crate::header::Header;
use crate::record::Record;
use crate::varint::Cursor;

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
    /// A chunk length was garbage: nothing after it can be framed, so every later byte is
    /// skipped (as when the whole trace is decoded at once).
    unframed: bool,
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
        self.feed_each(bytes, |r| out.push(r))
    }

    /// Adds `bytes` and hands every record now complete to `each`, in order, without
    /// collecting them first (what a reader that indexes records as they come wants).
    pub fn feed_each(
        &mut self,
        bytes: &[u8],
        mut each: impl FnMut(Record),
    ) -> Result<(), DecodeError> {
        if self.unframed {
            self.offset += bytes.len() as u64;
            return Ok(());
        }
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
        loop {
            let (payload, crc) = match read_frame(&self.pending[pos..]) {
                Frame::Partial => break,
                Frame::Oversized { len } => {
                    // The length itself is garbage: nothing after this point can be framed.
                    self.damage.push(Damage {
                        offset: self.offset,
                        reason: format!("chunk length {len} exceeds the {MAX_CHUNK}-byte limit; the rest of the trace is unreadable"),
                    });
                    self.offset += (self.pending.len() - pos) as u64;
                    pos = self.pending.len();
                    self.unframed = true;
                    break;
                }
                Frame::Whole { payload, crc } => (payload, crc),
            };
            if crc32fast::hash(payload) != crc {
                self.damage.push(Damage {
                    offset: self.offset,
                    reason: format!(
                        "chunk of {} bytes fails its checksum; skipped",
                        payload.len()
                    ),
                });
            } else if let Err(reason) = decode_payload(payload, &mut each) {
                self.damage.push(Damage {
                    offset: self.offset,
                    reason,
                });
            }
            let total = framed_len(payload);
            pos += total;
            self.offset += total as u64;
        }
        self.pending.drain(..pos);
        Ok(())
    }
}

/// Hands the records of one chunk's payload to `each`; on a malformed record, says where and
/// skips the rest of the chunk.
fn decode_payload(payload: &[u8], each: &mut impl FnMut(Record)) -> Result<(), String> {
    let mut rest = payload;
    while !rest.is_empty() {
        let at = payload.len() - rest.len();
        let (t, whole, body) =
            next_record(rest).ok_or_else(|| format!("record at +{at}: bad length"))?;
        match Record::decode_fields(t, &mut Cursor::new(body)) {
            Some(Some(r)) => each(r),
            Some(None) => {}
            None => {
                return Err(format!(
                    "record 0x{t:02x} at +{at} is malformed; rest of chunk skipped"
                ));
            }
        }
        rest = &rest[whole.len()..];
    }
    Ok(())
}
