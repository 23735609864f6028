//! Generates the simulator's own bindings from the services' WSDLs.
//!
//! The client needs one operation of each service; the simulator also takes payments, refunds
//! them and voids e-checks, and answers every SSOService operation, so it generates every
//! operation it serves, against the client's runtime (`instamed_soap::soap`). It reads the same
//! files as the client's build (`wsdl/` at the workspace's top, or `INSTAMED_WSDL` and
//! `INSTAMED_SSO_WSDL`), so both ends describe the same services.

use std::path::PathBuf;
use std::process::ExitCode;

use instamed_soap_codegen::Options;
use instamed_soap_codegen::build::{Service, generate, write_if_changed};

/// The payment operations the simulator serves.
const SERVED: [&str; 4] = [
    "DoCreditCardAuthAndCapt",
    "DoCreditCardSecondaryVoid",
    "DoCreditCardSimpleRefund",
    "DoECheckVoidByTransactionID",
];

/// The SSOService operations the simulator serves.
const SSO_SERVED: [&str; 3] = [
    "GetSSOTokenStatus",
    "GetTransactionDetails",
    "GetTransactionDetailsByTransactionID",
];

fn main() -> ExitCode {
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("error: OUT_DIR is not set; run this through cargo");
        return ExitCode::FAILURE;
    };
    let options = |served: &[&str]| Options {
        runtime: "instamed_soap".to_owned(),
        required_operations: served.iter().map(|name| (*name).to_owned()).collect(),
        secret_elements: vec!["password".to_owned()],
    };
    let services = [
        (
            Service::new(
                "INSTAMED_WSDL",
                "../../wsdl/payment-service.wsdl",
                "bindings.rs",
                options(&SERVED),
            ),
            "service.wsdl",
        ),
        (
            Service::new(
                "INSTAMED_SSO_WSDL",
                "../../wsdl/sso-service.wsdl",
                "sso_bindings.rs",
                options(&SSO_SERVED),
            ),
            "sso-service.wsdl",
        ),
    ];
    for (service, served_wsdl) in &services {
        // The simulator serves the very WSDL its bindings came from.
        let written = generate(service, &out_dir)
            .and_then(|(_, text)| write_if_changed(&out_dir.join(served_wsdl), &text));
        if let Err(error) = written {
            println!("cargo::error=the simulator's bindings: {error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
