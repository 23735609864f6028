//! `Cassette::parse` on any text, and the round trip parse → to_text → parse.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        instamed_soap_fuzz::check_cassette(text);
    }
});
