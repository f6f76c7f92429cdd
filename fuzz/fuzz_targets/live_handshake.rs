//! Fuzz target `live_handshake`: the property in `lockscope_fuzz::live_handshake`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lockscope_fuzz::live_handshake::check(data));
