//! Generates the simulator's own bindings from the service's WSDL.
//!
//! The client needs one operation; the simulator also takes payments, refunds them and voids
//! e-checks, so it generates every operation it serves, against the client's runtime
//! (`instamed_soap::soap`). It reads the same file as the client's build (`wsdl/` at the
//! workspace's top, or `INSTAMED_WSDL`), so both ends describe one service.

use std::path::PathBuf;
use std::process::ExitCode;

use instamed_soap_codegen::{Options, generate_file};

/// The operations the simulator serves.
const SERVED: [&str; 4] = [
    "DoCreditCardAuthAndCapt",
    "DoCreditCardSecondaryVoid",
    "DoCreditCardSimpleRefund",
    "DoECheckVoidByTransactionID",
];

fn main() -> ExitCode {
    println!("cargo::rerun-if-env-changed=INSTAMED_WSDL");
    let wsdl = std::env::var_os("INSTAMED_WSDL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../../wsdl/payment-service.wsdl"));
    println!("cargo::rerun-if-changed={}", wsdl.display());
    let options = Options {
        runtime: "instamed_soap".to_owned(),
        required_operations: SERVED.into_iter().map(str::to_owned).collect(),
    };
    let source = match generate_file(&wsdl, &options) {
        Ok(source) => source,
        Err(error) => {
            println!("cargo::error=cannot generate the simulator's bindings: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The simulator serves the very WSDL its bindings came from.
    let wsdl_text = match std::fs::read_to_string(&wsdl) {
        Ok(text) => text,
        Err(error) => {
            println!("cargo::error=cannot read {}: {error}", wsdl.display());
            return ExitCode::FAILURE;
        }
    };
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("error: OUT_DIR is not set; run this through cargo");
        return ExitCode::FAILURE;
    };
    for (name, content) in [("bindings.rs", source), ("service.wsdl", wsdl_text)] {
        let target = out_dir.join(name);
        // Rewriting identical output would only make cargo rebuild the crate for nothing.
        if std::fs::read_to_string(&target).ok().as_deref() != Some(content.as_str())
            && let Err(error) = std::fs::write(&target, content)
        {
            println!("cargo::error=cannot write {}: {error}", target.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
