//! What the fuzz targets check, one module per target, each a `check(data: &[u8])` that
//! panics only when lockscope mishandles `data`: bad input must give a clear error, never a
//! panic, and a trace must read the same whichever pieces its bytes arrive in.
//!
//! The modules use nothing from this crate but [`input`], so the workspace's
//! `tests/fuzz.rs` files include them by path (`#[path = ".../fuzz/src/decode.rs"]`, with
//! [`corpus`]) and replay the corpus through the very same checks on stable, without
//! libFuzzer.

pub mod corpus;
pub mod decode;
pub mod input;
pub mod live_handshake;
pub mod live_stream;
pub mod report_model;
