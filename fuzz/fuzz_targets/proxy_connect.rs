#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsc_fuzz::proxy_connect::check(data));
