//! The `decode` fuzz target on stable: its corpus (`fuzz/corpus/*`: real traces, what the
//! fuzzer kept, every crash it found) replayed through the target's own checks, and each
//! crash it found as a regression test named after what it caught.

#[path = "../../../fuzz/src/corpus.rs"]
mod corpus;
#[path = "../../../fuzz/src/decode.rs"]
mod decode;
#[path = "../../../fuzz/src/input.rs"]
mod input;

use std::path::Path;

use lockscope_format::varint::put_u64;
use lockscope_format::{Header, MAX_CHUNK, Record, StreamDecoder, VERSION, tag, write_chunk};

#[test]
fn every_corpus_input_decodes_the_same_in_pieces_or_fails_with_a_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let files = corpus::replay(&dir, decode::check);
    assert!(
        files >= 6,
        "only {files} corpus files under {}",
        dir.display()
    );
}

/// Found by the `decode` target: after a chunk length over the limit, a trace decoded whole
/// skipped the rest (nothing after a garbage length can be framed), but one fed in pieces (a
/// file read 1 MiB at a time by `lockscope report`, a live stream) framed the next piece's
/// bytes as new chunks, so the two disagreed on the records and the damage.
#[test]
fn a_garbage_chunk_length_ends_the_trace_whatever_the_pieces() {
    let header = Header {
        version: VERSION,
        flags: 0,
        epoch_unix_ns: 0,
        pid: 1,
    };
    let mut bytes = header.to_bytes().to_vec();
    let mut payload = Vec::new();
    Record::Dropped { events: 1 }.encode(&mut payload);
    write_chunk(&mut bytes, &payload);
    bytes.extend_from_slice(&(MAX_CHUNK + 1).to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    // What would frame as a good chunk if a reader started over here.
    let mut after = Vec::new();
    Record::End { ts_ns: 9 }.encode(&mut after);
    write_chunk(&mut bytes, &after);

    let whole = lockscope_format::decode(&bytes).unwrap();
    assert_eq!(whole.records, [Record::Dropped { events: 1 }]);
    assert_eq!(whole.damage.len(), 1);
    assert!(
        whole.damage[0].reason.contains("exceeds"),
        "{:?}",
        whole.damage
    );
    assert_eq!(whole.truncated, None);
    for cut in 1..bytes.len() {
        let (a, b) = bytes.split_at(cut);
        let mut d = StreamDecoder::default();
        let mut records = Vec::new();
        d.feed(a, &mut records).unwrap();
        d.feed(b, &mut records).unwrap();
        assert_eq!(records, whole.records, "cut at byte {cut}");
        assert_eq!(d.damage(), &whole.damage[..], "cut at byte {cut}");
        assert_eq!(d.pending_len(), 0, "cut at byte {cut}");
    }
}

/// Found while writing the `decode` target (reading `Histogram::decode` for what a fuzzer
/// should reach once checksums are mended): a class's histogram naming one bucket twice
/// with counts that add past `u64::MAX` overflowed the bucket, a panic in a debug build,
/// before the total's overflow check could call the record malformed.
#[test]
fn a_histogram_bucket_counted_past_u64_max_is_a_malformed_record() {
    let mut body = Vec::new();
    for field in [1, 1, 2, 2, 1, 1] {
        put_u64(&mut body, field); // class, instances, ..., hold_sample_period
    }
    // Wait histogram: bucket 3 with u64::MAX, then the same bucket (delta 0) with 1 more.
    for v in [2, 3, u64::MAX, 0, 1, 0, 0] {
        put_u64(&mut body, v);
    }
    // Hold histogram: empty.
    for v in [0, 0, 0] {
        put_u64(&mut body, v);
    }
    let e = Record::decode_body(tag::CLASS_STATS, &body).unwrap_err();
    assert!(!e.to_string().is_empty());
    // In a trace, it is a damaged chunk, the same however the bytes arrive.
    let mut record = vec![tag::CLASS_STATS];
    put_u64(&mut record, body.len() as u64);
    record.extend_from_slice(&body);
    let mut bytes = Header {
        version: VERSION,
        flags: 0,
        epoch_unix_ns: 0,
        pid: 1,
    }
    .to_bytes()
    .to_vec();
    write_chunk(&mut bytes, &record);
    let trace = lockscope_format::decode(&bytes).unwrap();
    assert!(trace.records.is_empty());
    assert_eq!(trace.damage.len(), 1, "{:?}", trace.damage);
    decode::check(&bytes);
}
