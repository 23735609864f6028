//! Generates Rust bindings from the WSDL of an ASP.NET (ASMX) web service.
//!
//! The input is the subset of WSDL 1.1 and XML Schema that ASMX services publish:
//! document/literal wrapped operations over SOAP 1.1 and SOAP 1.2, with types built from
//! sequences, complex-content extensions, enumerations and the common built-in types. The output
//! is Rust source meant to be `include!`d in a module of the runtime crate (or of a crate using
//! it): constants describing the service, a `types` module of yaserde structs and enums, an
//! `operations` module with one marker type per operation implementing the runtime's
//! `soap::Operation` for each operation marker; typed calls go through `Client::call::<Op>`.
//!
//! Anything outside that subset is an [`Error`] naming the file, the element and what is not
//! supported; nothing is skipped silently, and no input makes the generator panic.
//!
//! The same reading of a WSDL serves people too: [`inspect()`] gives each operation's request and
//! answer as trees of elements with their schema types and occurrence, as the bindings see them.
//!
//! ```no_run
//! let options = instamed_soap_codegen::Options::default();
//! let source = instamed_soap_codegen::generate_file("wsdl/service.wsdl".as_ref(), &options)?;
//! # Ok::<(), instamed_soap_codegen::Error>(())
//! ```

mod emit;
mod error;
mod inspect;
mod model;
mod naming;
mod reference;
mod resolve;
mod schema;
mod wsdl;
mod xml;

pub mod build;

use std::path::Path;

pub use error::Error;
pub use inspect::{Element, Operation, Service};

/// How the generated code refers to the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Absolute Rust path of the runtime crate the generated code refers to (its `xsd` types
    /// and `soap` traits), e.g. `"crate"` or `"instamed_soap"`. The bindings stay below the
    /// client: types and operation markers, never methods on it.
    pub runtime: String,
    /// Operations the runtime cannot do without, by their WSDL names. A WSDL that lacks one
    /// (another service's WSDL, say) is refused with one sentence naming it, rather than
    /// generating bindings that fail to compile far from the cause.
    pub required_operations: Vec<String>,
    /// Local names of elements whose values are secrets (a password sent in the body, as
    /// credentials-in-the-body services do). A struct with such a field gets a `Debug` that
    /// shows `<redacted>` in its place instead of the derived one, so that printing a request
    /// never prints the secret.
    pub secret_elements: Vec<String>,
}

impl Default for Options {
    /// Bindings generated inside the runtime crate: `runtime = "crate"`.
    fn default() -> Self {
        Self {
            runtime: "crate".to_owned(),
            required_operations: Vec::new(),
            secret_elements: Vec::new(),
        }
    }
}

/// Reads the WSDL at `path` and generates its bindings; errors are labelled with `path`.
pub fn generate_file(path: &Path, options: &Options) -> Result<String, Error> {
    let label = path.display().to_string();
    let wsdl = std::fs::read_to_string(path)
        .map_err(|error| Error::whole_file(&label, format!("cannot read the file: {error}")))?;
    generate_str(&wsdl, &label, options)
}

/// Generates the bindings of the WSDL document `wsdl`, formatted with prettyplease.
///
/// `file_label` names the document in error messages; its last path component names it in the
/// generated header, so the output does not depend on where the file lives.
pub fn generate_str(wsdl: &str, file_label: &str, options: &Options) -> Result<String, Error> {
    let bindings = read(wsdl, file_label)?;
    if let Some(missing) = options
        .required_operations
        .iter()
        .find(|name| !bindings.operations.iter().any(|op| &op.name == *name))
    {
        return Err(Error::whole_file(
            file_label,
            format!(
                "the WSDL has no operation {missing}, which this crate needs: \
                 is it the WSDL of the service this build expects (its ?WSDL), not another's \
                 (service {} here)?",
                bindings.service_name
            ),
        ));
    }
    emit::emit(&bindings, source_name(file_label), options)
        .map_err(|problem| Error::from_problem(file_label, problem))
}

/// Reads the WSDL document `wsdl` as [`generate_str`] does, and describes its operations
/// instead of generating code. It refuses what reading and resolving refuse, with the same
/// [`Error`], so every WSDL [`generate_str`] accepts is one it describes; the few checks of
/// writing the code itself, and [`Options::required_operations`], are generating's alone.
///
/// `file_label` names the document in error messages.
///
/// ```
/// let wsdl = std::fs::read_to_string(concat!(
///     env!("CARGO_MANIFEST_DIR"),
///     "/../wsdl/payment-service.wsdl"
/// ))?;
/// let service = instamed_soap_codegen::inspect(&wsdl, "payment-service.wsdl")?;
/// let void = service.operation("DoCreditCardSecondaryVoid").expect("the void");
/// let transaction = &void.request.children[0];
/// assert!(transaction.children.iter().any(|field| field.name == "TransactionID"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inspect(wsdl: &str, file_label: &str) -> Result<Service, Error> {
    read(wsdl, file_label).map(|bindings| inspect::service(&bindings))
}

/// The bindings of the WSDL document `wsdl`: parsed, read and resolved, errors labelled.
fn read(wsdl: &str, file_label: &str) -> Result<model::Bindings, Error> {
    let document = roxmltree::Document::parse(wsdl)
        .map_err(|error| Error::whole_file(file_label, format!("invalid XML: {error}")))?;
    let in_file = |problem| Error::from_problem(file_label, problem);
    let description = wsdl::read(&document).map_err(in_file)?;
    resolve::resolve(&description).map_err(in_file)
}

/// The file name part of a label: `/abs/path/service.wsdl` → `service.wsdl`.
fn source_name(file_label: &str) -> &str {
    file_label
        .rsplit(['/', '\\'])
        .next()
        .filter(|name| !name.is_empty())
        .unwrap_or(file_label)
}
