//! Generates the service bindings from the WSDL.
//!
//! `wsdl/payment-service.wsdl` by default; `INSTAMED_WSDL=/path/to/service.wsdl` builds against
//! another copy (the live one from `service.asmx?WSDL`, say) without editing the crate. The
//! generator reads only that file: the build never touches the network.

use std::path::PathBuf;
use std::process::ExitCode;

use instamed_soap_codegen::{Options, generate_file};

fn main() -> ExitCode {
    println!("cargo::rerun-if-env-changed=INSTAMED_WSDL");
    let wsdl = std::env::var_os("INSTAMED_WSDL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("wsdl/payment-service.wsdl"));
    println!("cargo::rerun-if-changed={}", wsdl.display());

    // The client calls one operation; the simulator generates the others it serves itself.
    let required = ["DoCreditCardSecondaryVoid"];
    let options = Options {
        required_operations: required.map(str::to_owned).to_vec(),
        ..Options::default()
    };
    let source = match generate_file(&wsdl, &options) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: cannot generate bindings: {error}");
            println!("cargo::error=cannot generate bindings: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        eprintln!("error: OUT_DIR is not set; run this through cargo");
        return ExitCode::FAILURE;
    };
    let target = PathBuf::from(out_dir).join("bindings.rs");
    // Rewriting identical output would only make cargo rebuild the crate for nothing.
    if std::fs::read_to_string(&target).ok().as_deref() != Some(source.as_str())
        && let Err(error) = std::fs::write(&target, source)
    {
        eprintln!("error: cannot write {}: {error}", target.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
