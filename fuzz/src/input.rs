//! How a fuzz input is fed to lockscope: cut into pieces, as a socket or a file reader hands
//! bytes over, and with its chunk checksums mended, so that mutations inside a chunk reach
//! the record decoders and the model instead of stopping at the checksum.

use lockscope_format::{CHUNK_HEADER_LEN, HEADER_LEN, MAX_CHUNK, write_chunk};

/// `data` cut into pieces whose sizes follow from its last byte: one input is also tried
/// cut one byte at a time, in odd sizes and in pieces of up to 4 KiB, with its bytes
/// unchanged.
pub fn pieces(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let seed = usize::from(data.last().copied().unwrap_or(0));
    let largest = 1usize << (seed % 13);
    let mut rest = data;
    let mut i = 0usize;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        i += 1;
        let size = 1 + (i.wrapping_mul(40_503) + seed) % largest;
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        Some(piece)
    })
}

/// `data` read as a trace (a header, then chunks) with every whole chunk's checksum set to
/// match its payload; `None` when that changes nothing (the checksums were right, or there
/// is no whole chunk), so the caller checks only what is new.
pub fn with_checksums_mended(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = data.get(..HEADER_LEN)?.to_vec();
    let mut rest = &data[HEADER_LEN..];
    while let Some(frame) = rest.get(..CHUNK_HEADER_LEN) {
        let len = u32::from_le_bytes(frame[..4].try_into().expect("4 bytes"));
        let Some(payload) = rest.get(CHUNK_HEADER_LEN..CHUNK_HEADER_LEN + len as usize) else {
            break;
        };
        if len > MAX_CHUNK {
            break;
        }
        write_chunk(&mut out, payload);
        rest = &rest[CHUNK_HEADER_LEN + payload.len()..];
    }
    out.extend_from_slice(rest);
    (out != data).then_some(out)
}
