#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wsc_fuzz::socks_negotiation::check(data));
