//! Reading a WSDL 1.1 document: its schemas, the operations of its SOAP bindings and the
//! addresses of its service.
//!
//! Only SOAP 1.1 and SOAP 1.2 bindings in document/literal style are read; the HTTP GET/POST
//! bindings ASP.NET adds are skipped on purpose and listed in [`Wsdl::skipped_bindings`].

use std::collections::BTreeMap;

use roxmltree::{Document, Node};

use crate::error::{Problem, Result};
use crate::reference::{self, Reference};
use crate::schema::{self, Schemas};
use crate::xml::{self, QName, SOAP11, SOAP12, WSDL, XSD};

/// What the generator needs from a WSDL document.
#[derive(Debug)]
pub struct Wsdl {
    /// `targetNamespace` of `wsdl:definitions`.
    pub target_namespace: String,
    /// Every schema of `wsdl:types`.
    pub schemas: Schemas,
    /// The one `wsdl:service`.
    pub service: Service,
    /// The port type's operations, in document order.
    pub operations: Vec<Operation>,
    /// Names of the bindings that are not SOAP bindings, sorted.
    pub skipped_bindings: Vec<String>,
}

/// The `wsdl:service` element.
#[derive(Debug)]
pub struct Service {
    /// Its name.
    pub name: String,
    /// Its `wsdl:documentation`.
    pub doc: Option<String>,
    /// `soap:address` of the port bound to the SOAP 1.1 binding.
    pub soap11_address: Option<String>,
    /// `soap12:address` of the port bound to the SOAP 1.2 binding.
    pub soap12_address: Option<String>,
}

/// One operation of the SOAP bindings' port type.
#[derive(Debug)]
pub struct Operation {
    /// The operation's name.
    pub name: String,
    /// Its `wsdl:documentation` in the port type.
    pub doc: Option<String>,
    /// The element of the input message's single part.
    pub input: Reference,
    /// The element of the output message's single part.
    pub output: Reference,
    /// `soapAction` in the SOAP 1.1 binding; `None` when that binding is absent or has no action.
    pub soap11_action: Option<String>,
    /// `soapAction` in the SOAP 1.2 binding.
    pub soap12_action: Option<String>,
}

/// The two SOAP versions a WSDL 1.1 binding can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SoapVersion {
    Soap11,
    Soap12,
}

impl SoapVersion {
    fn namespace(self) -> &'static str {
        match self {
            Self::Soap11 => SOAP11,
            Self::Soap12 => SOAP12,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Soap11 => "SOAP 1.1",
            Self::Soap12 => "SOAP 1.2",
        }
    }
}

/// A SOAP binding, read and checked.
struct SoapBinding {
    qname: QName,
    port_type: Reference,
    /// Operation name → `soapAction`.
    actions: BTreeMap<String, Option<String>>,
}

/// Reads the WSDL document `document`.
pub fn read(document: &Document<'_>) -> Result<Wsdl> {
    let root = document.root_element();
    if !xml::is(root, WSDL, "definitions") {
        return Err(Problem::at(
            root,
            "not a WSDL 1.1 document (expected wsdl:definitions)",
        ));
    }
    let target_namespace = root
        .attribute("targetNamespace")
        .unwrap_or_default()
        .to_owned();
    let global_name = |node: Node<'_, '_>| -> Result<QName> {
        let name = node
            .attribute("name")
            .ok_or_else(|| Problem::at(node, "definition without a name"))?;
        Ok(QName::new(&target_namespace, name))
    };

    let mut schemas = Schemas::default();
    let mut messages = BTreeMap::new();
    let mut port_types = BTreeMap::new();
    let mut bindings = Vec::new();
    let mut services = Vec::new();
    for child in xml::elements(root) {
        if child.tag_name().namespace() != Some(WSDL) {
            return Err(Problem::unsupported(
                child,
                format!("element {}", xml::written_name(child)),
            ));
        }
        match child.tag_name().name() {
            "documentation" => {}
            "types" => read_types(child, &mut schemas)?,
            "message" => {
                messages.insert(global_name(child)?, child);
            }
            "portType" => {
                port_types.insert(global_name(child)?, child);
            }
            "binding" => bindings.push(child),
            "service" => services.push(child),
            _ => {
                return Err(Problem::unsupported(
                    child,
                    format!("wsdl:{}", child.tag_name().name()),
                ));
            }
        }
    }

    let mut soap_bindings: BTreeMap<SoapVersion, SoapBinding> = BTreeMap::new();
    let mut skipped_bindings = Vec::new();
    for binding in bindings {
        let name = global_name(binding)?;
        match binding_version(binding) {
            Some(version) => {
                if soap_bindings.contains_key(&version) {
                    return Err(Problem::unsupported(
                        binding,
                        format!("more than one {} binding", version.label()),
                    ));
                }
                soap_bindings.insert(version, read_soap_binding(binding, name, version)?);
            }
            None => skipped_bindings.push(name.local),
        }
    }

    skipped_bindings.sort();
    let port_type = shared_port_type(root, &soap_bindings)?;
    let port_type_node = port_types.get(&port_type.name).copied().ok_or_else(|| {
        Problem::at_path(
            port_type.at.clone(),
            format!("unknown port type '{}'", port_type.written),
        )
    })?;
    let operations = read_operations(port_type_node, &messages, &soap_bindings)?;
    let service = read_service(root, &services, &soap_bindings)?;
    Ok(Wsdl {
        target_namespace,
        schemas,
        service,
        operations,
        skipped_bindings,
    })
}

fn read_types(types: Node<'_, '_>, schemas: &mut Schemas) -> Result<()> {
    for child in xml::elements(types) {
        if xml::is(child, XSD, "schema") {
            schema::read_schema(child, schemas)?;
        } else if !xml::is(child, WSDL, "documentation") {
            return Err(Problem::unsupported(
                child,
                format!("element {}", xml::written_name(child)),
            ));
        }
    }
    Ok(())
}

/// The SOAP version of a binding, from its `soap:binding` or `soap12:binding` child.
fn binding_version(binding: Node<'_, '_>) -> Option<SoapVersion> {
    [SoapVersion::Soap11, SoapVersion::Soap12]
        .into_iter()
        .find(|version| {
            xml::elements(binding).any(|child| xml::is(child, version.namespace(), "binding"))
        })
}

fn read_soap_binding(
    binding: Node<'_, '_>,
    qname: QName,
    version: SoapVersion,
) -> Result<SoapBinding> {
    let soap = version.namespace();
    let port_type = reference::resolve(binding, "type")?
        .ok_or_else(|| Problem::at(binding, "wsdl:binding without type="))?;
    let mut default_style = "document";
    let mut actions = BTreeMap::new();
    for child in xml::elements(binding) {
        if xml::is(child, soap, "binding") {
            default_style = child.attribute("style").unwrap_or("document");
            check_style(child, default_style)?;
        } else if xml::is(child, WSDL, "operation") {
            let name = child
                .attribute("name")
                .ok_or_else(|| Problem::at(child, "wsdl:operation without a name"))?;
            let action = read_binding_operation(child, soap, default_style)?;
            if actions.insert(name.to_owned(), action).is_some() {
                return Err(Problem::unsupported(child, "overloaded operation"));
            }
        } else if !xml::is(child, WSDL, "documentation") {
            return Err(Problem::unsupported(
                child,
                format!("element {}", xml::written_name(child)),
            ));
        }
    }
    Ok(SoapBinding {
        qname,
        port_type,
        actions,
    })
}

/// Checks a binding operation and returns its `soapAction`.
fn read_binding_operation(
    operation: Node<'_, '_>,
    soap: &str,
    default_style: &str,
) -> Result<Option<String>> {
    let mut action = None;
    for child in xml::elements(operation) {
        if xml::is(child, soap, "operation") {
            check_style(child, child.attribute("style").unwrap_or(default_style))?;
            action = child.attribute("soapAction").map(str::to_owned);
        } else if xml::is(child, WSDL, "input") || xml::is(child, WSDL, "output") {
            check_message_binding(child, soap)?;
        } else if xml::is(child, WSDL, "fault") {
            return Err(Problem::unsupported(child, "wsdl:fault"));
        } else if !xml::is(child, WSDL, "documentation") {
            return Err(Problem::unsupported(
                child,
                format!("element {}", xml::written_name(child)),
            ));
        }
    }
    Ok(action)
}

fn check_style(node: Node<'_, '_>, style: &str) -> Result<()> {
    match style {
        "document" => Ok(()),
        other => Err(Problem::unsupported(node, format!("style=\"{other}\""))),
    }
}

/// Checks that the input or output of a binding operation is a literal `soap:body`.
fn check_message_binding(message: Node<'_, '_>, soap: &str) -> Result<()> {
    let mut has_body = false;
    for child in xml::elements(message) {
        if xml::is(child, soap, "body") {
            has_body = true;
            match child.attribute("use").unwrap_or("literal") {
                "literal" => {}
                other => return Err(Problem::unsupported(child, format!("use=\"{other}\""))),
            }
        } else if xml::is(child, soap, "header") {
            return Err(Problem::unsupported(child, "SOAP headers"));
        } else if !xml::is(child, WSDL, "documentation") {
            return Err(Problem::unsupported(
                child,
                format!("element {}", xml::written_name(child)),
            ));
        }
    }
    if has_body {
        Ok(())
    } else {
        Err(Problem::unsupported(message, "message without soap:body"))
    }
}

/// The port type both SOAP bindings implement.
fn shared_port_type(
    root: Node<'_, '_>,
    bindings: &BTreeMap<SoapVersion, SoapBinding>,
) -> Result<Reference> {
    let mut port_types = bindings.values().map(|binding| &binding.port_type);
    let first = port_types
        .next()
        .ok_or_else(|| Problem::at(root, "no SOAP 1.1 or SOAP 1.2 binding"))?;
    if let Some(other) = port_types.find(|other| other.name != first.name) {
        return Err(Problem::at_path(
            other.at.clone(),
            "unsupported: SOAP bindings of different port types",
        ));
    }
    Ok(first.clone())
}

fn read_operations(
    port_type: Node<'_, '_>,
    messages: &BTreeMap<QName, Node<'_, '_>>,
    bindings: &BTreeMap<SoapVersion, SoapBinding>,
) -> Result<Vec<Operation>> {
    let mut operations: Vec<Operation> = Vec::new();
    for child in xml::elements(port_type) {
        if xml::is(child, WSDL, "documentation") {
            continue;
        }
        if !xml::is(child, WSDL, "operation") {
            return Err(Problem::unsupported(
                child,
                format!("element {}", xml::written_name(child)),
            ));
        }
        let name = child
            .attribute("name")
            .ok_or_else(|| Problem::at(child, "wsdl:operation without a name"))?;
        if operations.iter().any(|known| known.name == name) {
            return Err(Problem::unsupported(child, "overloaded operation"));
        }
        let action = |version| {
            bindings
                .get(&version)
                .and_then(|binding| binding.actions.get(name).cloned().flatten())
        };
        if !bindings
            .values()
            .any(|binding| binding.actions.contains_key(name))
        {
            return Err(Problem::at(
                child,
                "operation is not bound by any SOAP binding",
            ));
        }
        operations.push(Operation {
            name: name.to_owned(),
            doc: xml::documentation(child),
            input: message_element(child, "input", messages)?,
            output: message_element(child, "output", messages)?,
            soap11_action: action(SoapVersion::Soap11),
            soap12_action: action(SoapVersion::Soap12),
        });
    }
    // A binding operation with no counterpart in the port type would otherwise go unnoticed.
    for binding in bindings.values() {
        if let Some(stray) = binding
            .actions
            .keys()
            .find(|name| !operations.iter().any(|operation| &&operation.name == name))
        {
            return Err(Problem::general(format!(
                "binding '{}' has operation '{stray}', which its port type lacks",
                binding.qname.local
            )));
        }
    }
    Ok(operations)
}

/// The element of the single part of an operation's `wsdl:input` or `wsdl:output` message.
fn message_element(
    operation: Node<'_, '_>,
    direction: &str,
    messages: &BTreeMap<QName, Node<'_, '_>>,
) -> Result<Reference> {
    let io = xml::elements(operation)
        .find(|child| xml::is(*child, WSDL, direction))
        .ok_or_else(|| {
            Problem::unsupported(operation, format!("operation without wsdl:{direction}"))
        })?;
    let message_ref = reference::resolve(io, "message")?
        .ok_or_else(|| Problem::at(io, format!("wsdl:{direction} without message=")))?;
    let message = messages
        .get(&message_ref.name)
        .copied()
        .ok_or_else(|| Problem::at(io, format!("unknown message '{}'", message_ref.written)))?;
    let parts: Vec<Node<'_, '_>> = xml::elements(message)
        .filter(|child| xml::is(*child, WSDL, "part"))
        .collect();
    let [part] = parts.as_slice() else {
        return Err(Problem::unsupported(
            message,
            "a message without exactly one part (document/literal wrapped needs one)",
        ));
    };
    match reference::resolve(*part, "element")? {
        Some(element) => Ok(element),
        None => Err(Problem::unsupported(
            *part,
            "wsdl:part without element= (rpc style)",
        )),
    }
}

fn read_service(
    root: Node<'_, '_>,
    services: &[Node<'_, '_>],
    bindings: &BTreeMap<SoapVersion, SoapBinding>,
) -> Result<Service> {
    let service = match services {
        [service] => *service,
        [] => return Err(Problem::at(root, "no wsdl:service")),
        [_, second, ..] => return Err(Problem::unsupported(*second, "more than one wsdl:service")),
    };
    let name = service
        .attribute("name")
        .ok_or_else(|| Problem::at(service, "wsdl:service without a name"))?;
    let mut addresses: BTreeMap<SoapVersion, String> = BTreeMap::new();
    for port in xml::elements(service).filter(|child| xml::is(*child, WSDL, "port")) {
        let binding = reference::resolve(port, "binding")?
            .ok_or_else(|| Problem::at(port, "wsdl:port without binding="))?;
        let Some((version, _)) = bindings
            .iter()
            .find(|(_, soap_binding)| soap_binding.qname == binding.name)
        else {
            // A port of a skipped (HTTP) binding.
            continue;
        };
        let location = xml::elements(port)
            .find(|child| xml::is(*child, version.namespace(), "address"))
            .and_then(|address| address.attribute("location"));
        if let Some(location) = location {
            if addresses.insert(*version, location.to_owned()).is_some() {
                return Err(Problem::unsupported(
                    port,
                    format!("more than one {} port", version.label()),
                ));
            }
        }
    }
    Ok(Service {
        name: name.to_owned(),
        doc: xml::documentation(service),
        soap11_address: addresses.remove(&SoapVersion::Soap11),
        soap12_address: addresses.remove(&SoapVersion::Soap12),
    })
}
