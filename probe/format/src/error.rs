//! Why a trace could not be read at all: [`DecodeError`].

use crate::consts::HEADER_LEN;
use std::path::PathBuf;

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
