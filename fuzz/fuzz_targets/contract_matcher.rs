//! The contract matcher. The input is two documents separated by the first NUL byte (which
//! neither XML nor a form body can hold): the cassette's and the request's. Both the XML and
//! the form matcher run on them, each checked against its laws.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (expected, actual) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, data),
    };
    let expected = String::from_utf8_lossy(expected);
    let actual = String::from_utf8_lossy(actual);
    instamed_soap_fuzz::check_xml_matcher(&expected, &actual);
    instamed_soap_fuzz::check_form_matcher(&expected, &actual);
});
