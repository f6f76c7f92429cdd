//! The `live_handshake` fuzz target on stable: the corpus (`fuzz/corpus/*`) replayed through
//! the target's own checks (the live server reads whatever a viewer sends the same, in any
//! pieces), and each crash it found as a regression test named after what it caught.

#[path = "../../fuzz/src/corpus.rs"]
mod corpus;
#[path = "../../fuzz/src/live_handshake.rs"]
mod live_handshake;
// Only its `pieces` is needed here.
#[allow(dead_code)]
#[path = "../../fuzz/src/input.rs"]
mod input;

use std::path::Path;

use live_handshake::{Seen, frames};

#[test]
fn every_corpus_input_frames_the_same_in_pieces() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    assert!(corpus::replay(&dir, live_handshake::check) >= 6);
}

/// Found by the `live_handshake` target: a line over the 256-byte frame limit was malformed
/// when TCP delivered it in pieces, but parsed (`hello 1` padded with spaces) when it came
/// in one read.
#[test]
fn an_overlong_line_is_malformed_however_it_is_cut() {
    let mut bytes = b"hello ".to_vec();
    bytes.extend_from_slice(&[b' '; 300]);
    bytes.extend_from_slice(b"1\nhello 2\n");
    let whole = frames(std::iter::once(&bytes[..]));
    assert!(
        matches!(&whole[0], Seen::Malformed(f) if f.len() == 256 && f.starts_with(b"hello ")),
        "{whole:?}"
    );
    assert_eq!(whole[1..], [Seen::Hello(2)]);
    for cut in 1..bytes.len() {
        let (a, b) = bytes.split_at(cut);
        assert_eq!(frames([a, b].into_iter()), whole, "cut at byte {cut}");
    }
}
