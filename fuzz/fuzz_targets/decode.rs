//! Fuzz target `decode`: the property in `lockscope_fuzz::decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lockscope_fuzz::decode::check(data));
