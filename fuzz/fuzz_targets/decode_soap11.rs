//! SOAP 1.1 replies to a void: `soap::decode` and the client's judgement of the same body.
#![no_main]

use instamed_soap::soap::SoapVersion;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    instamed_soap_fuzz::check_soap(SoapVersion::Soap11, data);
});
