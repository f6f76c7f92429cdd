//! Framing: chunks (length, CRC, payload) and the records back to back in a payload (tag,
//! length, body). Every reader and writer in this crate, and the probe, frames through these
//! functions, so the layout is parsed in one place.

use crate::varint::Cursor;

/// Size of a chunk's frame (length and CRC).
pub const CHUNK_HEADER_LEN: usize = 8;
/// Largest chunk payload a writer produces and a reader accepts.
pub const MAX_CHUNK: u32 = 16 << 20;

/// Frames `payload` as one chunk onto `out`.
pub fn write_chunk(out: &mut Vec<u8>, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_CHUNK as usize);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The chunk at the front of some bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// Fewer bytes than the frame, or than the payload its length announces.
    Partial,
    /// A length over [`MAX_CHUNK`]: garbage, so nothing after it can be framed.
    Oversized {
        /// The length field.
        len: u32,
    },
    /// A whole chunk; its CRC is not checked yet.
    Whole {
        /// The payload.
        payload: &'a [u8],
        /// The CRC its frame carries.
        crc: u32,
    },
}

/// Bytes a chunk with `payload` takes, frame included.
pub(crate) fn framed_len(payload: &[u8]) -> usize {
    CHUNK_HEADER_LEN + payload.len()
}

/// Reads the chunk at the front of `buf` (more bytes may follow it).
pub(crate) fn read_frame(buf: &[u8]) -> Frame<'_> {
    let Some(frame) = buf.get(..CHUNK_HEADER_LEN) else {
        return Frame::Partial;
    };
    let len = u32::from_le_bytes(frame[..4].try_into().expect("4 bytes"));
    let crc = u32::from_le_bytes(frame[4..].try_into().expect("4 bytes"));
    if len > MAX_CHUNK {
        return Frame::Oversized { len };
    }
    match buf.get(CHUNK_HEADER_LEN..CHUNK_HEADER_LEN + len as usize) {
        Some(payload) => Frame::Whole { payload, crc },
        None => Frame::Partial,
    }
}

/// The payload of `chunk`, one chunk as [`write_chunk`] frames it: `None` unless its length
/// field (at most [`MAX_CHUNK`]) accounts for exactly the bytes after the frame. The CRC is
/// not checked: this is for chunks a writer just framed, not for bytes read back.
///
/// ```
/// use lockscope_format::{chunk_payload, write_chunk};
///
/// let mut chunk = Vec::new();
/// write_chunk(&mut chunk, b"records");
/// assert_eq!(chunk_payload(&chunk), Some(&b"records"[..]));
/// assert_eq!(chunk_payload(&chunk[..chunk.len() - 1]), None);
/// ```
pub fn chunk_payload(chunk: &[u8]) -> Option<&[u8]> {
    match read_frame(chunk) {
        Frame::Whole { payload, .. } if framed_len(payload) == chunk.len() => Some(payload),
        _ => None,
    }
}

/// The record at the front of `buf`: its tag, the whole record (tag, length and body) and its
/// body. `None` when `buf` is empty or the record is malformed: its length is not a varint or
/// runs past the end of `buf`.
pub(crate) fn next_record(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let mut c = Cursor::new(buf);
    let t = c.u8()?;
    let len = c.count()?;
    let body = c.bytes(len)?;
    Some((t, &buf[..c.position()], body))
}

/// The records of `payload` (records back to back, as in a chunk), without decoding their
/// bodies: each record's tag and its whole encoding (tag, length and body). Stops at the
/// first malformed record, such as one cut short.
///
/// ```
/// use lockscope_format::{Record, record_spans, tag};
///
/// let mut payload = Vec::new();
/// Record::Dropped { events: 3 }.encode(&mut payload);
/// Record::End { ts_ns: 9 }.encode(&mut payload);
/// let tags: Vec<u8> = record_spans(&payload).map(|(t, _)| t).collect();
/// assert_eq!(tags, [tag::DROPPED, tag::END]);
/// assert_eq!(record_spans(&payload[..payload.len() - 1]).count(), 1);
/// ```
pub fn record_spans(payload: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = payload;
    std::iter::from_fn(move || {
        let (t, whole, _) = next_record(rest)?;
        rest = &rest[whole.len()..];
        Some((t, whole))
    })
}

/// The length of the largest prefix of `records` (records back to back) that holds whole
/// records only and fits in `max` bytes: where to cut a long payload into chunks. All of
/// `records` when it fits. At least 1 (when `records` is not empty), so a caller cutting in a
/// loop always moves on, even past a record longer than `max` or a malformed one.
///
/// ```
/// use lockscope_format::{Record, split_point};
///
/// let mut records = Vec::new();
/// Record::End { ts_ns: 1 }.encode(&mut records); // 3 bytes
/// Record::End { ts_ns: 2 }.encode(&mut records);
/// assert_eq!(split_point(&records, 5), 3);
/// assert_eq!(split_point(&records, 6), 6);
/// ```
pub fn split_point(records: &[u8], max: usize) -> usize {
    if records.len() <= max {
        return records.len();
    }
    let mut last = 0;
    for (_, record) in record_spans(records) {
        if last + record.len() > max {
            break;
        }
        last += record.len();
    }
    last.max(1).min(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use crate::tag;

    fn encoded(records: &[Record]) -> Vec<u8> {
        let mut out = Vec::new();
        records.iter().for_each(|r| r.encode(&mut out));
        out
    }

    fn string(n: usize) -> Record {
        Record::String {
            id: 1,
            text: "s".repeat(n),
        }
    }

    #[test]
    fn chunk_payload_takes_exactly_one_framed_chunk() {
        for payload in [&b""[..], b"x", &[7u8; 300]] {
            let mut chunk = Vec::new();
            write_chunk(&mut chunk, payload);
            assert_eq!(chunk_payload(&chunk), Some(payload));
            assert_eq!(chunk_payload(&chunk[..chunk.len() - 1]), None, "cut short");
            chunk.push(0);
            assert_eq!(chunk_payload(&chunk), None, "a byte after the chunk");
        }
        assert_eq!(chunk_payload(&[0; CHUNK_HEADER_LEN - 1]), None);
        let mut oversized = (MAX_CHUNK + 1).to_le_bytes().to_vec();
        oversized.extend_from_slice(&[0; 4]);
        assert_eq!(chunk_payload(&oversized), None);
    }

    #[test]
    fn read_frame_tells_partial_from_oversized_from_whole() {
        let mut bytes = Vec::new();
        write_chunk(&mut bytes, b"abc");
        bytes.extend_from_slice(b"next");
        let crc = crc32fast::hash(b"abc");
        assert_eq!(
            read_frame(&bytes),
            Frame::Whole {
                payload: b"abc",
                crc
            }
        );
        assert_eq!(read_frame(&bytes[..10]), Frame::Partial);
        assert_eq!(read_frame(&bytes[..3]), Frame::Partial);
        let mut garbage = u32::MAX.to_le_bytes().to_vec();
        garbage.extend_from_slice(&[0; 4]);
        assert_eq!(read_frame(&garbage), Frame::Oversized { len: u32::MAX });
    }

    #[test]
    fn record_spans_yields_each_whole_record_and_its_tag() {
        let records = [string(3), string(200), Record::End { ts_ns: 9 }];
        let payload = encoded(&records);
        let spans: Vec<(u8, &[u8])> = record_spans(&payload).collect();
        assert_eq!(spans.len(), 3);
        for ((t, bytes), r) in spans.iter().zip(&records) {
            assert_eq!(*bytes, &encoded(std::slice::from_ref(r))[..]);
            assert_eq!(Record::decode(bytes), Ok(Some(r.clone())));
            assert_eq!(*t, bytes[0]);
        }
        assert_eq!(spans[2].0, tag::END);
    }

    #[test]
    fn record_spans_skips_no_unknown_tag_and_stops_at_the_first_malformed_record() {
        let mut payload = vec![0x6e, 2, 0xff, 0xff]; // Unknown tag: walked, not decoded.
        Record::End { ts_ns: 9 }.encode(&mut payload);
        let tags: Vec<u8> = record_spans(&payload).map(|(t, _)| t).collect();
        assert_eq!(tags, [0x6e, tag::END]);
        // A length past the end, then an overlong length varint.
        let mut bad = encoded(&[Record::End { ts_ns: 1 }]);
        bad.extend_from_slice(&[tag::END, 5, 1]);
        assert_eq!(record_spans(&bad).count(), 1);
        let mut overlong = encoded(&[Record::End { ts_ns: 1 }]);
        overlong.extend_from_slice(&[tag::END, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        overlong.extend_from_slice(&[0xff, 0xff, 0x01]);
        assert_eq!(record_spans(&overlong).count(), 1);
        assert_eq!(record_spans(&[]).count(), 0);
    }

    #[test]
    fn split_point_cuts_after_the_last_whole_record_that_fits() {
        let records = [string(10), string(200), string(10)];
        let payload = encoded(&records);
        let lens: Vec<usize> = record_spans(&payload).map(|(_, r)| r.len()).collect();
        assert_eq!(lens, [14, 206, 14]);
        assert_eq!(split_point(&payload, payload.len()), payload.len());
        assert_eq!(split_point(&payload, 1000), payload.len());
        assert_eq!(split_point(&payload, 14), 14);
        assert_eq!(split_point(&payload, 219), 14);
        assert_eq!(split_point(&payload, 220), 220);
        assert_eq!(split_point(&payload, 233), 220);
        assert_eq!(split_point(&[], 0), 0);
    }

    #[test]
    fn split_point_always_moves_on() {
        let payload = encoded(&[string(200), string(10)]);
        // The first record alone is longer than `max`: one byte, as the writer always did.
        assert_eq!(split_point(&payload, 100), 1);
        assert_eq!(split_point(&payload, 0), 1);
        // A malformed record after a good one: cut after the good one.
        let mut bad = encoded(&[string(10)]);
        bad.extend_from_slice(&[tag::STRING, 100, 1, 2]);
        assert_eq!(split_point(&bad, 16), 14);
    }
}
