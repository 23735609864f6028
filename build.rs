//! Generates the service bindings from the WSDLs.
//!
//! Two services: the payment service (`wsdl/payment-service.wsdl`, or the file named by
//! `INSTAMED_WSDL`) and the Single Sign-On service (`wsdl/sso-service.wsdl`, or
//! `INSTAMED_SSO_WSDL`), so that a build can use the live copies (`service.asmx?WSDL`,
//! `SSOService.asmx?WSDL`) without editing the crate. The generator reads only those files: the
//! build never touches the network.

use std::path::PathBuf;
use std::process::ExitCode;

use instamed_soap_codegen::Options;
use instamed_soap_codegen::build::{Service, generate};

fn main() -> ExitCode {
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("error: OUT_DIR is not set; run this through cargo");
        return ExitCode::FAILURE;
    };
    // The client calls these operations; the simulator generates the others it serves itself.
    let services = [
        Service::new(
            "INSTAMED_WSDL",
            "wsdl/payment-service.wsdl",
            "bindings.rs",
            Options {
                required_operations: vec!["DoCreditCardSecondaryVoid".to_owned()],
                ..Options::default()
            },
        ),
        Service::new(
            "INSTAMED_SSO_WSDL",
            "wsdl/sso-service.wsdl",
            "sso_bindings.rs",
            Options {
                required_operations: vec![
                    "GetSSOTokenStatus".to_owned(),
                    "GetTransactionDetails".to_owned(),
                    "GetTransactionDetailsByTransactionID".to_owned(),
                ],
                // SSOService takes its security key in the body, as `password`.
                secret_elements: vec!["password".to_owned()],
                ..Options::default()
            },
        ),
    ];
    for service in &services {
        if let Err(error) = generate(service, &out_dir) {
            eprintln!("error: {error}");
            println!("cargo::error={error}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
