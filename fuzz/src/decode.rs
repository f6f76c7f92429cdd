//! The `decode` target: [`lockscope_format::decode`] over any bytes, whole and fed to a
//! [`StreamDecoder`] in pieces.
//!
//! Checks: no panic; an error has a message; the two readings agree (a trace reads the same
//! whichever pieces it arrives in: `lockscope report` reads files 1 MiB at a time, a live
//! stream as the socket delivers); every record decoded re-encodes to itself.

use lockscope_format::{DecodeError, Record, StreamDecoder, Trace};

use crate::input::{pieces, with_checksums_mended};

/// Runs the checks on `data`, and on `data` with its chunk checksums mended.
pub fn check(data: &[u8]) {
    check_bytes(data);
    if let Some(mended) = with_checksums_mended(data) {
        check_bytes(&mended);
    }
}

fn check_bytes(data: &[u8]) {
    let whole = lockscope_format::decode(data);
    let cut = decode_in_pieces(data);
    match (&whole, &cut) {
        (Ok(w), Ok(c)) => {
            assert_eq!(w.header, c.header, "header");
            assert_eq!(w.damage, c.damage, "damage, whole vs in pieces");
            assert_eq!(w.truncated, c.truncated, "truncation, whole vs in pieces");
            assert!(w.records == c.records, "records differ, whole vs in pieces");
            for r in &w.records {
                let mut bytes = Vec::new();
                r.encode(&mut bytes);
                assert_eq!(Record::decode(&bytes), Ok(Some(r.clone())), "round trip");
            }
        }
        (Err(w), Err(c)) => {
            assert!(
                !w.to_string().is_empty(),
                "an error without a message: {w:?}"
            );
            assert!(
                !c.to_string().is_empty(),
                "an error without a message: {c:?}"
            );
        }
        _ => panic!("whole: {}, in pieces: {}", outcome(&whole), outcome(&cut)),
    }
}

/// What [`lockscope_format::decode`] does, through a [`StreamDecoder`] fed in pieces.
pub fn decode_in_pieces(data: &[u8]) -> Result<Trace, DecodeError> {
    let mut d = StreamDecoder::default();
    let mut records = Vec::new();
    let mut fed = 0;
    for piece in pieces(data) {
        d.feed(piece, &mut records)?;
        fed += piece.len();
    }
    let header = d.header().ok_or(DecodeError::TooShort { len: fed })?;
    let pending = d.pending_len();
    Ok(Trace {
        header,
        records,
        truncated: (pending > 0).then(|| (fed - pending) as u64),
        damage: d.damage().to_vec(),
    })
}

fn outcome(r: &Result<Trace, DecodeError>) -> String {
    match r {
        Ok(t) => format!("a trace of {} records", t.records.len()),
        Err(e) => format!("error {e}"),
    }
}
