//! NVP answers to a void: `nvp::decode` against the pairs the body holds, and the client's
//! judgement of the same body (through `contract::verify::verify`) as an HTTP 200, 500 and 401
//! answer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    instamed_soap_fuzz::check_nvp(data);
});
