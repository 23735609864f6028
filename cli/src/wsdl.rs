//! `instamed-soap wsdl`: the operations of a WSDL, and one operation's request and answer
//! fields, as the code generator reads them, so what is shown is what the bindings send.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use instamed_soap_codegen::{Element, Operation, Service};
use serde_json::{Value, json};

use crate::exit;

/// The WSDL the client's bindings are generated from by default. Embedded rather than asked of
/// a running simulator or read at run time, so that the command works offline, from any
/// directory, on an installed binary. A build with `INSTAMED_WSDL` generates from another file,
/// which this does not follow: pass that file.
const BUILT_IN: &str = include_str!("../../wsdl/payment-service.wsdl");

/// How the built-in WSDL is named in messages.
const BUILT_IN_LABEL: &str = "wsdl/payment-service.wsdl (built in)";

/// A WSDL larger than this is not a service description a person inspects.
const MAX_WSDL_BYTES: u64 = 16 << 20;

/// What `wsdl --help` says before its exit codes.
pub const HELP: &str = "\
Examples:
  instamed-soap wsdl                                        the operations, with SOAP 1.1 actions
  instamed-soap wsdl --operation DoCreditCardSecondaryVoid  its request and answer fields
  curl -fsS 'https://…/service.asmx?WSDL' | instamed-soap wsdl -

Fields show as `Name: type [min..max]`: `xs:…` is a built-in XML Schema type, another name a
type of the service's schema, `[0..1]` optional, `[1]` required, `[0..*]` any number. With
--json, max_occurs is a number or \"unbounded\", type is null for an anonymous type.

A WSDL that cannot be read or that the generator does not accept, or an operation it lacks,
exits 2.";

/// `instamed-soap wsdl`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The WSDL file, or `-` for standard input. Default: the WSDL this build's bindings were
    /// generated from (wsdl/payment-service.wsdl).
    #[arg(value_name = "FILE")]
    source: Option<PathBuf>,
    /// Show this operation's request and answer fields instead of listing the operations.
    #[arg(long, value_name = "NAME")]
    operation: Option<String>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `instamed-soap wsdl`.
pub fn run(args: Args) -> ExitCode {
    let service = match load(args.source.as_deref()) {
        Ok(service) => service,
        Err(Refusal { error, hint }) => return refuse(&error, hint.as_deref()),
    };
    let shown = match &args.operation {
        None if args.json => listing_json(&service).to_string(),
        None => listing(&service),
        Some(name) => match service.operation(name) {
            Some(operation) if args.json => operation_json(operation).to_string(),
            Some(operation) => operation_text(operation),
            None => {
                let names: Vec<&str> = service
                    .operations
                    .iter()
                    .map(|op| op.name.as_str())
                    .collect();
                let error = format!(
                    "the WSDL has no operation {name}; its operations: {}",
                    names.join(", ")
                );
                return refuse(&error, None);
            }
        },
    };
    println!("{}", shown.trim_end());
    ExitCode::SUCCESS
}

/// Why the WSDL could not be inspected, and the next step when there is one.
struct Refusal {
    error: String,
    hint: Option<String>,
}

impl From<String> for Refusal {
    fn from(error: String) -> Self {
        Self { error, hint: None }
    }
}

fn refuse(error: &str, hint: Option<&str>) -> ExitCode {
    eprintln!("error: {error}");
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(exit::INVALID)
}

/// The service described by the WSDL `source` names (the built-in one without a name).
fn load(source: Option<&Path>) -> Result<Service, Refusal> {
    let (text, label) = match source {
        None => (BUILT_IN.to_owned(), BUILT_IN_LABEL.to_owned()),
        Some(path) if path == Path::new("-") => (read_stdin()?, "standard input".to_owned()),
        Some(path) if is_url(path) => {
            // The client has no GET to lend, and a second HTTPS stack here would have to
            // repeat its trust, proxy and timeout rules; curl already has them.
            return Err(Refusal {
                error: format!("{} is a URL; wsdl reads a file", path.display()),
                hint: Some(format!(
                    "curl -fsS '{}' | instamed-soap wsdl -",
                    path.display()
                )),
            });
        }
        Some(path) => {
            let text = instamed_soap::files::read_to_string(path, MAX_WSDL_BYTES)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
            (text, path.display().to_string())
        }
    };
    // The generator's error names the file, the element and what is wrong.
    instamed_soap_codegen::inspect(&text, &label).map_err(|error| Refusal::from(error.to_string()))
}

fn is_url(path: &Path) -> bool {
    path.to_str().is_some_and(|text| {
        let lower = text.to_ascii_lowercase();
        lower.starts_with("https://") || lower.starts_with("http://")
    })
}

fn read_stdin() -> Result<String, String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_WSDL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read standard input: {error}"))?;
    if bytes.len() as u64 > MAX_WSDL_BYTES {
        return Err(format!(
            "standard input holds more than {} MiB, more than a WSDL",
            MAX_WSDL_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|_| "standard input is not UTF-8 text".to_owned())
}

/// One line per operation: its name and SOAP 1.1 action, in columns.
fn listing(service: &Service) -> String {
    let width = service
        .operations
        .iter()
        .map(|op| op.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for op in &service.operations {
        let action = op
            .soap11_action
            .as_deref()
            .unwrap_or("(no SOAP 1.1 action)");
        let _ = writeln!(out, "{:<width$}  {action}", op.name);
    }
    out
}

fn listing_json(service: &Service) -> Value {
    let operations: Vec<Value> = service
        .operations
        .iter()
        .map(|op| {
            json!({
                "name": op.name,
                "soap11_action": op.soap11_action,
                "soap12_action": op.soap12_action,
            })
        })
        .collect();
    json!({
        "service": service.name,
        "target_namespace": service.target_namespace,
        "soap11_address": service.soap11_address,
        "soap12_address": service.soap12_address,
        "operations": operations,
    })
}

/// The operation's actions, then its request and answer as indented trees.
fn operation_text(op: &Operation) -> String {
    let mut out = format!("{}\n", op.name);
    for line in &op.doc {
        let _ = writeln!(out, "  {line}");
    }
    let none = "(none)";
    let _ = writeln!(
        out,
        "  SOAP 1.1 action: {}",
        op.soap11_action.as_deref().unwrap_or(none)
    );
    let _ = writeln!(
        out,
        "  SOAP 1.2 action: {}",
        op.soap12_action.as_deref().unwrap_or(none)
    );
    let _ = writeln!(out, "  namespace: {}", op.namespace);
    for (title, element) in [("request", &op.request), ("response", &op.response)] {
        let _ = writeln!(out, "\n{title}:");
        tree(&mut out, element, 1);
    }
    out
}

fn tree(out: &mut String, element: &Element, depth: usize) {
    let indent = "  ".repeat(depth);
    let _ = write!(out, "{indent}{}", element.name);
    if let Some(ty) = &element.xsd_type {
        let _ = write!(out, ": {ty}");
    }
    let _ = write!(out, " {}", occurs(element));
    if element.nillable {
        out.push_str(" nillable");
    }
    if !element.values.is_empty() {
        // Quoted: a value may be empty or hold spaces.
        let values: Vec<String> = element.values.iter().map(|v| format!("{v:?}")).collect();
        let _ = write!(out, " one of: {}", values.join(", "));
    }
    if element.recursive {
        out.push_str(" (its fields as above)");
    }
    out.push('\n');
    for child in &element.children {
        tree(out, child, depth + 1);
    }
}

/// `[1]`, `[0..1]`, `[0..*]`, `[2..5]`.
fn occurs(element: &Element) -> String {
    match element.max_occurs {
        Some(max) if max == element.min_occurs => format!("[{max}]"),
        Some(max) => format!("[{}..{max}]", element.min_occurs),
        None => format!("[{}..*]", element.min_occurs),
    }
}

fn operation_json(op: &Operation) -> Value {
    json!({
        "name": op.name,
        "doc": op.doc,
        "soap11_action": op.soap11_action,
        "soap12_action": op.soap12_action,
        "namespace": op.namespace,
        "request": element_json(&op.request),
        "response": element_json(&op.response),
    })
}

fn element_json(element: &Element) -> Value {
    let max: Value = match element.max_occurs {
        Some(max) => max.into(),
        None => "unbounded".into(),
    };
    let children: Vec<Value> = element.children.iter().map(element_json).collect();
    json!({
        "name": element.name,
        "type": element.xsd_type,
        "min_occurs": element.min_occurs,
        "max_occurs": max,
        "nillable": element.nillable,
        "values": element.values,
        "recursive": element.recursive,
        "children": children,
    })
}
