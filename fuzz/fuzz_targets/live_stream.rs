//! Fuzz target `live_stream`: the property in `lockscope_fuzz::live_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lockscope_fuzz::live_stream::check(data));
