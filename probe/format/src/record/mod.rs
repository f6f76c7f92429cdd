//! The record types of format version 1: [`Record`], its tags, and the error for a record
//! that does not parse. The types are in `types`, encoding in `encode`, decoding of bodies in `decode`.

mod decode;
mod encode;
mod types;

pub use encode::{encode_record_with, encode_wait_begin, encode_wait_begin_record, finish_length};
pub use types::{MalformedRecord, Record, tag};
