//! The `live_handshake` target: the live server's parser of what a viewer sends
//! ([`LiveClientFrames`]; the one frame defined is `hello <version>\n`), fed the bytes
//! whole and in pieces.
//!
//! Checks: no panic; the frames do not depend on how the bytes were cut (TCP may deliver a
//! line in any pieces).

use lockscope::{LiveClientFrame, LiveClientFrames};

use crate::input::pieces;

/// A frame, owned.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// `hello <version>`.
    Hello(u16),
    /// Anything else.
    Malformed(Vec<u8>),
}

/// Runs the checks on `data`.
pub fn check(data: &[u8]) {
    let whole = frames(std::iter::once(data));
    let cut = frames(pieces(data));
    assert_eq!(whole, cut, "frames, whole vs in pieces");
}

/// The frames a viewer sending `pieces` one after another sends.
pub fn frames<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> Vec<Seen> {
    let mut parser = LiveClientFrames::default();
    let mut out = Vec::new();
    for piece in pieces {
        parser.feed(piece, |frame| {
            out.push(match frame {
                LiveClientFrame::Hello(v) => Seen::Hello(v),
                LiveClientFrame::Malformed(f) => Seen::Malformed(f.to_vec()),
            })
        });
    }
    out
}
