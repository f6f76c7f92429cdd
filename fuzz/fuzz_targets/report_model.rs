//! Fuzz target `report_model`: the property in `lockscope_fuzz::report_model`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lockscope_fuzz::report_model::check(data));
