#![doc = include_str!("../README.md")]
//! # Reading the crate
//!
//! Bottom first: `consts` (magic, version, header size), `varint` (integers and strings in a
//! body), `kinds` and `histogram` (the small value types), `error`, `header`, `record` (the
//! record types, their encoders and body decoders), `chunk` (chunk and record framing, parsed
//! here only), `decode` (whole traces and streams).
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod chunk;
mod consts;
mod decode;
mod error;
mod header;
pub mod histogram;
mod kinds;
#[cfg(feature = "pprof")]
#[cfg_attr(docsrs, doc(cfg(feature = "pprof")))]
pub mod pprof;
mod record;
pub mod varint;

pub use chunk::{
    CHUNK_HEADER_LEN, MAX_CHUNK, chunk_payload, record_spans, split_point, write_chunk,
};
pub use consts::{HEADER_LEN, MAGIC, VERSION};
pub use decode::{Damage, StreamDecoder, Trace, decode, read_file};
pub use error::DecodeError;
pub use header::Header;
pub use histogram::{Histogram, Summary};
pub use kinds::{ActorKind, LockKind, Mode, Outcome, PoolEvent};
pub use record::{
    MalformedRecord, Record, encode_record_with, encode_wait_begin, encode_wait_begin_record,
    finish_length, tag,
};

#[cfg(test)]
mod tests;
