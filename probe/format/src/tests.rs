//! The format's round-trip, truncation and damage tests over real encoded traces.

use super::*;

fn sample_records() -> Vec<Record> {
    let mut wait = Histogram::default();
    wait.record(1_500);
    wait.record(2_000_000);
    let mut hold = Histogram::default();
    hold.record(40);
    vec![
        Record::String {
            id: 1,
            text: "ledger".into(),
        },
        Record::String {
            id: 2,
            text: "src/bank.rs:10:5".into(),
        },
        Record::Actor {
            actor: 1,
            kind: ActorKind::Thread,
            os_id: 4242,
            name: 1,
            spawn_site: 0,
        },
        Record::Actor {
            actor: (1 << 56) | 13,
            kind: ActorKind::Task,
            os_id: 13,
            name: 1,
            spawn_site: 2,
        },
        Record::Class {
            class: 1,
            kind: LockKind::Mutex,
            name: 1,
            site: 2,
        },
        Record::Lock {
            lock: 7,
            class: 1,
            capacity: 1,
        },
        Record::Channel { room: 7, items: 8 },
        Record::Frame {
            frame: 1,
            function: 1,
            file: 2,
            line: 10,
        },
        Record::Stack {
            stack: 3,
            frames: vec![1, 1],
        },
        Record::WaitBegin {
            ts_ns: 100,
            actor: 1,
            lock: 7,
            mode: Mode::Permits(2),
            site: 2,
            stack: 3,
            holders: vec![2, 3],
            span: 4,
        },
        Record::WaitEnd {
            ts_ns: 250,
            actor: 1,
            lock: 7,
            outcome: Outcome::TimedOut,
        },
        Record::Hold {
            begin_ns: 0,
            contended_ns: 120,
            end_ns: 260,
            actor: 2,
            lock: 7,
            mode: Mode::Shared,
            site: 2,
            span: 4,
        },
        Record::Span {
            span: 4,
            name: 1,
            fields: 2,
            parent: 0,
        },
        Record::Pool {
            ts_ns: 270,
            lock: 7,
            actor: 2,
            event: PoolEvent::Release,
            permits: 2,
            in_use: 1,
            waiters: 3,
            capacity: 3,
            duration_ns: 150,
        },
        Record::Fill {
            begin_ns: 10,
            end_ns: 280,
            actor: 1,
            key: 0xdead_beef,
            key_text: 1,
            site: 2,
        },
        Record::ThreadSched {
            ts_ns: 290,
            actor: 1,
            voluntary: 10,
            involuntary: 2,
            run_delay_ns: 5_000,
            cpu_ns: 1_000_000,
        },
        Record::Process {
            ts_ns: 290,
            cpu_ns: 2_000_000,
            rss_bytes: 64 << 20,
            threads: 5,
        },
        Record::ClassStats {
            class: 1,
            instances: 3,
            acquisitions: 1000,
            contentions: 2,
            max_waiters: 1,
            hold_sample_period: 64,
            wait,
            hold,
        },
        Record::Dropped { events: 5 },
        Record::Alert {
            ts_ns: 300,
            kind: "deadlock".into(),
            text: "x".repeat(300),
            json: "{}".into(),
        },
        Record::Chaos {
            ts_ns: 350,
            seed: 42,
            delays: 7,
            delay_ns: 12_000_000,
            yields: 30,
            inversion_delays: 2,
        },
        Record::Causal {
            ts_ns: 380,
            class: 3,
            speedup_pct: 50,
            duration_ns: 50_000_000,
            delay_ns: 4_000_000,
            progress: "requests".into(),
            count: 1234,
        },
        Record::End { ts_ns: 400 },
    ]
}

fn header() -> Header {
    Header {
        version: VERSION,
        flags: 0,
        epoch_unix_ns: 1_700_000_000_000_000_000,
        pid: 99,
    }
}

/// Header plus one chunk per record, so truncation can be checked at every boundary.
fn encode_trace(records: &[Record]) -> (Vec<u8>, Vec<usize>) {
    let mut out = header().to_bytes().to_vec();
    let mut ends = Vec::new();
    for r in records {
        let mut payload = Vec::new();
        r.encode(&mut payload);
        write_chunk(&mut out, &payload);
        ends.push(out.len());
    }
    (out, ends)
}

#[test]
fn every_record_round_trips() {
    let records = sample_records();
    let (bytes, _) = encode_trace(&records);
    let t = decode(&bytes).unwrap();
    assert_eq!(t.header, header());
    assert_eq!(t.records, records);
    assert!(t.is_complete());
}

#[test]
fn a_trace_cut_at_any_byte_decodes_everything_before_the_cut() {
    let records = sample_records();
    let (bytes, ends) = encode_trace(&records);
    for cut in HEADER_LEN..bytes.len() {
        let t = decode(&bytes[..cut]).unwrap();
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(t.records, records[..whole], "cut at {cut}");
        let boundary = cut == HEADER_LEN || ends.contains(&cut);
        assert_eq!(t.truncated.is_some(), !boundary, "cut at {cut}");
        assert!(!t.is_complete());
    }
}

#[test]
fn a_newer_version_is_a_clear_error() {
    let mut h = header();
    h.version = VERSION + 1;
    let err = decode(&h.to_bytes()).unwrap_err();
    assert!(matches!(err, DecodeError::UnsupportedVersion { found, .. } if found == VERSION + 1));
    assert!(err.to_string().contains("upgrade"), "{err}");
}

#[test]
fn garbage_and_short_input_are_clear_errors() {
    let err = decode(b"{\"not\": \"a trace\"}").unwrap_err();
    assert!(matches!(err, DecodeError::NotATrace { .. }));
    assert!(err.to_string().contains("not a lockscope trace"));
    assert!(matches!(
        decode(&MAGIC[..5]).unwrap_err(),
        DecodeError::TooShort { len: 5 }
    ));
    assert!(matches!(
        decode(&[]).unwrap_err(),
        DecodeError::TooShort { len: 0 }
    ));
}

#[test]
fn a_corrupt_chunk_is_skipped_and_the_rest_still_decodes() {
    let records = sample_records();
    let (mut bytes, ends) = encode_trace(&records);
    // Flip a payload byte of the third chunk.
    bytes[ends[1] + CHUNK_HEADER_LEN] ^= 0xff;
    let t = decode(&bytes).unwrap();
    assert_eq!(t.damage.len(), 1);
    assert_eq!(t.damage[0].offset, ends[1] as u64);
    let mut expect = records.clone();
    expect.remove(2);
    assert_eq!(t.records, expect);
}

#[test]
fn unknown_record_tags_are_skipped() {
    let mut payload = Vec::new();
    payload.extend_from_slice(&[0x6e, 3, 1, 2, 3]);
    Record::End { ts_ns: 9 }.encode(&mut payload);
    let mut bytes = header().to_bytes().to_vec();
    write_chunk(&mut bytes, &payload);
    assert_eq!(
        decode(&bytes).unwrap().records,
        vec![Record::End { ts_ns: 9 }]
    );
}

#[test]
fn stream_decoder_fed_byte_by_byte_matches_whole_decode() {
    let records = sample_records();
    let (bytes, _) = encode_trace(&records);
    let mut d = StreamDecoder::default();
    let mut got = Vec::new();
    for b in &bytes {
        d.feed(std::slice::from_ref(b), &mut got).unwrap();
    }
    assert_eq!(got, records);
    assert_eq!(d.pending_len(), 0);
}

#[test]
fn stream_decoder_rejects_garbage_from_its_first_bytes() {
    let mut d = StreamDecoder::default();
    assert!(d.feed(b"GET / HTTP/1.1", &mut Vec::new()).is_err());
}

#[test]
fn long_records_get_multi_byte_lengths() {
    let r = Record::String {
        id: 5,
        text: "é".repeat(200),
    };
    let mut buf = Vec::new();
    r.encode(&mut buf);
    assert_eq!(buf[1] & 0x80, 0x80, "length should need two bytes");
    let mut bytes = header().to_bytes().to_vec();
    write_chunk(&mut bytes, &buf);
    assert_eq!(decode(&bytes).unwrap().records, vec![r]);
}

#[test]
fn bodies_written_before_the_span_field_decode_with_span_zero() {
    let mut with = Vec::new();
    Record::Hold {
        begin_ns: 1,
        contended_ns: 0,
        end_ns: 9,
        actor: 1,
        lock: 2,
        mode: Mode::Exclusive,
        site: 3,
        span: 0,
    }
    .encode(&mut with);
    // The same body without its last byte (the span) is what an earlier writer produced.
    let body = &with[2..with.len() - 1];
    match Record::decode_body(tag::HOLD, body) {
        Ok(Some(Record::Hold { span, end_ns, .. })) => assert_eq!((span, end_ns), (0, 9)),
        other => panic!("decoded {other:?}"),
    }
}

#[test]
fn a_task_spawn_site_round_trips_after_the_actor_fields() {
    let task = Record::Actor {
        actor: (1 << 56) | 13,
        kind: ActorKind::Task,
        os_id: 13,
        name: 1,
        spawn_site: 300,
    };
    let mut bytes = Vec::new();
    task.encode(&mut bytes);
    assert_eq!(Record::decode(&bytes), Ok(Some(task)));
    // The site is the body's last field: the first four are the ones a reader from before it
    // knows, and it stops after them.
    let (_, _, body) = chunk::next_record(&bytes).unwrap();
    let mut c = varint::Cursor::new(body);
    let old_fields: Vec<u64> = (0..4).map(|_| c.u64().unwrap()).collect();
    assert_eq!(old_fields, [(1 << 56) | 13, 1, 13, 1]);
    assert_eq!(c.u64(), Some(300));
    assert!(c.is_empty());
}

#[test]
fn an_actor_body_written_before_the_spawn_site_decodes_with_site_zero() {
    // tag, length 5, actor 1, thread, tid 4242 (two varint bytes), name 1: the layout every
    // writer produced before the field existed, and what a thread's record still is.
    let old = [tag::ACTOR, 5, 1, 0, 0x92, 0x21, 1];
    let thread = Record::Actor {
        actor: 1,
        kind: ActorKind::Thread,
        os_id: 4242,
        name: 1,
        spawn_site: 0,
    };
    assert_eq!(Record::decode(&old), Ok(Some(thread.clone())));
    let mut again = Vec::new();
    thread.encode(&mut again);
    assert_eq!(
        again, old,
        "an actor with no spawn site keeps the old bytes"
    );
}

#[test]
fn an_impossible_chunk_length_ends_decoding_with_damage() {
    let (mut bytes, ends) = encode_trace(&sample_records()[..2]);
    bytes.extend_from_slice(&(MAX_CHUNK + 1).to_le_bytes());
    bytes.extend_from_slice(&[0; 20]);
    let t = decode(&bytes).unwrap();
    assert_eq!(t.records, sample_records()[..2]);
    assert_eq!(t.damage.len(), 1);
    assert_eq!(t.damage[0].offset, ends[1] as u64);
    assert!(t.damage[0].reason.contains("exceeds"), "{:?}", t.damage);
    assert_eq!(
        t.truncated, None,
        "the garbage was consumed, not left pending"
    );
}

#[test]
fn a_malformed_record_skips_the_rest_of_its_chunk_only() {
    let mut payload = Vec::new();
    Record::Dropped { events: 1 }.encode(&mut payload);
    let bad_at = payload.len();
    payload.extend_from_slice(&[tag::END, 1, 0x80]); // A varint cut off inside its body.
    Record::Dropped { events: 2 }.encode(&mut payload);
    let mut bytes = header().to_bytes().to_vec();
    write_chunk(&mut bytes, &payload);
    let mut end = Vec::new();
    Record::End { ts_ns: 3 }.encode(&mut end);
    write_chunk(&mut bytes, &end);
    let t = decode(&bytes).unwrap();
    assert_eq!(
        t.records,
        [Record::Dropped { events: 1 }, Record::End { ts_ns: 3 }]
    );
    assert_eq!(
        t.damage[0].reason,
        format!("record 0x7f at +{bad_at} is malformed; rest of chunk skipped")
    );
}
