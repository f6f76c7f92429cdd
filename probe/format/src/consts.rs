//! The format's fixed numbers: the magic bytes, the version, the header's size.

/// The eight magic bytes every trace starts with.
pub const MAGIC: [u8; 8] = *b"\x89LKSCOPE";
/// The format version this crate writes and the newest it reads.
pub const VERSION: u16 = 1;
/// Size of the file header.
pub const HEADER_LEN: usize = 24;
