//! Turning the WSDL's declarations into [`Bindings`]: Rust names, flattened extension chains,
//! resolved type references and namespace prefixes.

use std::collections::{BTreeMap, BTreeSet};

use heck::ToUpperCamelCase;

use crate::error::{Problem, Result};
use crate::model::{
    Bindings, Builtin, Cardinality, Enum, Field, FieldType, Operation, Struct, TypeItem, Variant,
};
use crate::naming::{self, Namer};
use crate::reference::Reference;
use crate::schema::{ComplexType, Content, ElementDecl, LocalElement, LocalKind, Occurs, Schemas};
use crate::wsdl::{self, Wsdl};
use crate::xml::{MS_TYPES, QName, XSD};

/// Longest chain of simple types restricting one another; a longer one is taken to be circular.
const MAX_SIMPLE_TYPE_DEPTH: usize = 32;

/// Builds the bindings for `wsdl`.
pub fn resolve(wsdl: &Wsdl) -> Result<Bindings> {
    let mut resolver = Resolver::new(&wsdl.schemas);
    resolver.name_globals();
    resolver.build_types()?;
    let typed_elements = resolver.typed_elements()?;
    let operations = resolver.operations(&wsdl.operations)?;
    let types = resolver.finish(&wsdl.target_namespace)?;
    Ok(Bindings {
        target_namespace: wsdl.target_namespace.clone(),
        service_name: wsdl.service.name.clone(),
        service_doc: wsdl.service.doc.clone(),
        soap11_address: wsdl.service.soap11_address.clone(),
        soap12_address: wsdl.service.soap12_address.clone(),
        types,
        operations,
        skipped_bindings: wsdl.skipped_bindings.clone(),
        typed_elements,
    })
}

/// A struct before namespace prefixes and field names are assigned.
struct PendingStruct {
    rust_name: String,
    xml_name: String,
    namespace: String,
    doc: Vec<String>,
    fields: Vec<PendingField>,
    path: String,
}

/// A field before its Rust name and prefix are assigned.
struct PendingField {
    xml_name: String,
    namespace: Option<String>,
    ty: FieldType,
    cardinality: Cardinality,
    doc: Vec<String>,
    path: String,
    xsd_type: Option<String>,
    occurs: Occurs,
    nillable: bool,
}

struct Resolver<'w> {
    schemas: &'w Schemas,
    type_names: Namer,
    complex_names: BTreeMap<QName, String>,
    enum_names: BTreeMap<QName, String>,
    /// Top-level elements with an anonymous complex type.
    element_names: BTreeMap<QName, String>,
    /// Anonymous complex types of local elements, keyed by their element path.
    anonymous_names: BTreeMap<String, String>,
    structs: Vec<PendingStruct>,
    enums: Vec<Enum>,
}

impl<'w> Resolver<'w> {
    fn new(schemas: &'w Schemas) -> Self {
        Self {
            schemas,
            type_names: Namer::for_types(),
            complex_names: BTreeMap::new(),
            enum_names: BTreeMap::new(),
            element_names: BTreeMap::new(),
            anonymous_names: BTreeMap::new(),
            structs: Vec::new(),
            enums: Vec::new(),
        }
    }

    /// Gives every global type and wrapper element its Rust name. Named types come first, so
    /// that the struct a field refers to keeps the schema's name; a wrapper element with the
    /// same name as a type gets an `Element` suffix.
    fn name_globals(&mut self) {
        for name in self.schemas.complex_types.keys() {
            let rust = self
                .type_names
                .claim(&naming::type_name(&name.local), Some("Type"), "");
            self.complex_names.insert(name.clone(), rust);
        }
        for (name, simple) in &self.schemas.simple_types {
            if !simple.enumerations.is_empty() {
                let rust = self
                    .type_names
                    .claim(&naming::type_name(&name.local), Some("Type"), "");
                self.enum_names.insert(name.clone(), rust);
            }
        }
        for (name, element) in &self.schemas.elements {
            if let Content::Anonymous(_) = element.content {
                let rust =
                    self.type_names
                        .claim(&naming::type_name(&name.local), Some("Element"), "");
                self.element_names.insert(name.clone(), rust);
            }
        }
    }

    fn build_types(&mut self) -> Result<()> {
        let schemas = self.schemas;
        for (name, complex) in &schemas.complex_types {
            let rust_name = self.complex_names[name].clone();
            let mut doc = doc_lines(complex.doc.as_deref()).unwrap_or_else(|| {
                vec![format!("The `{}` type of the service schema.", name.local)]
            });
            if complex.is_abstract {
                doc.push(String::new());
                doc.push(
                    "Abstract in the schema: the service only exchanges types derived from it."
                        .to_owned(),
                );
            }
            self.build_struct(rust_name, &name.local, complex, doc, Some(name))?;
        }
        for (name, simple) in &schemas.simple_types {
            let Some(rust_name) = self.enum_names.get(name).cloned() else {
                continue;
            };
            if self.resolve_type(&simple.base)? != FieldType::Builtin(Builtin::String) {
                return Err(Problem::at_path(
                    simple.path.clone(),
                    format!(
                        "unsupported: enumeration of non-string type '{}'",
                        simple.base.written
                    ),
                ));
            }
            self.enums.push(build_enum(
                rust_name,
                &name.local,
                simple.doc.as_deref(),
                &simple.enumerations,
            ));
        }
        for (name, element) in &schemas.elements {
            let Content::Anonymous(complex) = &element.content else {
                continue;
            };
            let rust_name = self.element_names[name].clone();
            let doc =
                doc_lines(element.doc.as_deref().or(complex.doc.as_deref())).unwrap_or_else(|| {
                    vec![format!(
                        "The `{}` element of the service schema.",
                        name.local
                    )]
                });
            self.build_struct(rust_name, &name.local, complex, doc, None)?;
        }
        Ok(())
    }

    /// Builds the struct for `complex`; `own_name` is the type's name when it is a named type.
    fn build_struct(
        &mut self,
        rust_name: String,
        xml_name: &str,
        complex: &ComplexType,
        mut doc: Vec<String>,
        own_name: Option<&QName>,
    ) -> Result<()> {
        if let Some(base) = &complex.base {
            doc.push(String::new());
            doc.push(format!(
                "Extends `{}`: the base type's elements come first.",
                base.name.local
            ));
        }
        let mut chain: Vec<QName> = own_name.into_iter().cloned().collect();
        let mut fields = Vec::new();
        self.collect_fields(complex, &rust_name, &mut chain, &mut fields)?;
        self.structs.push(PendingStruct {
            rust_name,
            xml_name: xml_name.to_owned(),
            namespace: complex.namespace.clone(),
            doc,
            fields,
            path: complex.path.clone(),
        });
        Ok(())
    }

    /// The fields of `complex`: its base type's first (recursively), then its own.
    fn collect_fields(
        &mut self,
        complex: &ComplexType,
        owner: &str,
        chain: &mut Vec<QName>,
        fields: &mut Vec<PendingField>,
    ) -> Result<()> {
        if let Some(base) = &complex.base {
            if chain.contains(&base.name) {
                return Err(Problem::at_path(
                    base.at.clone(),
                    format!("circular derivation through '{}'", base.written),
                ));
            }
            let base_type = self.base_type(base)?;
            let base_owner = self.complex_names[&base.name].clone();
            chain.push(base.name.clone());
            self.collect_fields(base_type, &base_owner, chain, fields)?;
            chain.pop();
        }
        for element in &complex.elements {
            fields.push(self.field(element, owner)?);
        }
        Ok(())
    }

    /// The complex type an extension's `base=` names.
    fn base_type(&self, base: &Reference) -> Result<&'w ComplexType> {
        if let Some(complex) = self.schemas.complex_types.get(&base.name) {
            return Ok(complex);
        }
        let known = base.name.namespace == XSD
            || base.name == QName::new(MS_TYPES, "guid")
            || self.schemas.simple_types.contains_key(&base.name);
        let message = if known {
            format!("unsupported: extension of simple type '{}'", base.written)
        } else {
            format!("unknown type '{}'", base.written)
        };
        Err(Problem::at_path(base.at.clone(), message))
    }

    fn field(&mut self, element: &LocalElement, owner: &str) -> Result<PendingField> {
        let schemas = self.schemas;
        let (xml_name, namespace, ty, type_label, xsd_type) = match &element.kind {
            LocalKind::Declared {
                name,
                namespace,
                content,
            } => {
                let (ty, label) = self.content_type(content, owner, name)?;
                (
                    name.clone(),
                    namespace.clone(),
                    ty,
                    label,
                    schema_type_name(content),
                )
            }
            LocalKind::Ref(reference) => {
                let decl = schemas.elements.get(&reference.name).ok_or_else(|| {
                    Problem::at_path(
                        reference.at.clone(),
                        format!("unknown element '{}'", reference.written),
                    )
                })?;
                let (ty, label) = self.element_type(decl)?;
                let namespace = Some(decl.name.namespace.clone()).filter(|ns| !ns.is_empty());
                let xsd_type = schema_type_name(&decl.content);
                (decl.name.local.clone(), namespace, ty, label, xsd_type)
            }
        };
        let cardinality = cardinality(element.occurs, element.nillable).ok_or_else(|| {
            Problem::at_path(element.path.clone(), "unsupported: maxOccurs=\"0\"")
        })?;
        let mut doc = vec![format!(
            "`{xml_name}` ({type_label}, {}).",
            occurrence_text(element.occurs, element.nillable)
        )];
        if cardinality == Cardinality::Nillable {
            doc.push(String::new());
            doc.push(
                "The element is nillable: the schema requires it, so `None` is written as \
                 `xsi:nil=\"true\"`."
                    .to_owned(),
            );
        }
        if let Some(text) = doc_lines(element.doc.as_deref()) {
            doc.push(String::new());
            doc.extend(text);
        }
        if let Some(default) = &element.default {
            doc.push(String::new());
            doc.push(format!(
                "The schema's default when the element is absent: `{default}`."
            ));
        }
        Ok(PendingField {
            xml_name,
            namespace,
            ty,
            cardinality,
            doc,
            path: element.path.clone(),
            xsd_type,
            occurs: element.occurs,
            nillable: element.nillable,
        })
    }

    /// The type of a top-level element used through `ref=`.
    fn element_type(&mut self, decl: &ElementDecl) -> Result<(FieldType, String)> {
        match &decl.content {
            Content::Named(reference) => Ok((self.resolve_type(reference)?, type_label(reference))),
            Content::Anonymous(_) => {
                let name = self.element_names[&decl.name].clone();
                let label = format!("`{}` element", decl.name.local);
                Ok((FieldType::Named(name), label))
            }
        }
    }

    /// The type of a local element, building the struct of an anonymous complex type.
    fn content_type(
        &mut self,
        content: &Content,
        owner: &str,
        element_name: &str,
    ) -> Result<(FieldType, String)> {
        match content {
            Content::Named(reference) => Ok((self.resolve_type(reference)?, type_label(reference))),
            Content::Anonymous(complex) => {
                if let Some(name) = self.anonymous_names.get(&complex.path) {
                    return Ok((FieldType::Named(name.clone()), "anonymous type".to_owned()));
                }
                let base = format!("{owner}{}", naming::type_name(element_name));
                let rust_name = self.type_names.claim(&base, None, "");
                self.anonymous_names
                    .insert(complex.path.clone(), rust_name.clone());
                let doc = doc_lines(complex.doc.as_deref()).unwrap_or_else(|| {
                    vec![format!(
                        "The anonymous type of the `{element_name}` element of `{owner}`."
                    )]
                });
                self.build_struct(rust_name.clone(), element_name, complex, doc, None)?;
                Ok((FieldType::Named(rust_name), "anonymous type".to_owned()))
            }
        }
    }

    /// The Rust type for a `type=` reference.
    fn resolve_type(&self, reference: &Reference) -> Result<FieldType> {
        self.resolve_type_at_depth(reference, 0)
    }

    fn resolve_type_at_depth(&self, reference: &Reference, depth: usize) -> Result<FieldType> {
        let name = &reference.name;
        if name.namespace == XSD {
            return Builtin::from_xsd(&name.local)
                .map(FieldType::Builtin)
                .ok_or_else(|| {
                    Problem::at_path(
                        reference.at.clone(),
                        format!("unsupported: XML Schema type '{}'", reference.written),
                    )
                });
        }
        if *name == QName::new(MS_TYPES, "guid") {
            return Ok(FieldType::Builtin(Builtin::Guid));
        }
        if let Some(rust) = self
            .complex_names
            .get(name)
            .or_else(|| self.enum_names.get(name))
        {
            return Ok(FieldType::Named(rust.clone()));
        }
        match self.schemas.simple_types.get(name) {
            Some(simple) if depth < MAX_SIMPLE_TYPE_DEPTH => {
                // A restriction without enumerations only narrows its base's lexical space.
                self.resolve_type_at_depth(&simple.base, depth + 1)
            }
            Some(simple) => Err(Problem::at_path(
                simple.path.clone(),
                "circular simple type derivation",
            )),
            None => Err(Problem::at_path(
                reference.at.clone(),
                format!("unknown type '{}'", reference.written),
            )),
        }
    }

    /// Top-level elements with a named type: checked, and listed in the output, but given no
    /// struct, because the named type's struct already describes them.
    fn typed_elements(&self) -> Result<Vec<(String, String)>> {
        let mut listed = Vec::new();
        for element in self.schemas.elements.values() {
            if let Content::Named(reference) = &element.content {
                self.resolve_type(reference)?;
                listed.push((element.name.local.clone(), reference.written.clone()));
            }
        }
        Ok(listed)
    }

    fn operations(&self, operations: &[wsdl::Operation]) -> Result<Vec<Operation>> {
        let mut marker_names = Namer::for_types();
        let mut resolved = Vec::new();
        for operation in operations {
            let (request, request_element) = self.wrapper(&operation.input)?;
            let (response, response_element) = self.wrapper(&operation.output)?;
            if request_element.namespace != response_element.namespace {
                return Err(Problem::at_path(
                    operation.output.at.clone(),
                    "unsupported: request and response wrappers in different namespaces",
                ));
            }
            let doc = doc_lines(operation.doc.as_deref()).unwrap_or_default();
            resolved.push(Operation {
                name: operation.name.clone(),
                rust_name: marker_names.claim(&naming::type_name(&operation.name), None, ""),
                doc,
                request,
                response,
                namespace: request_element.namespace.clone(),
                request_element: request_element.local.clone(),
                response_element: response_element.local.clone(),
                soap11_action: operation.soap11_action.clone(),
                soap12_action: operation.soap12_action.clone(),
            });
        }
        resolved.sort_by(|a, b| a.rust_name.cmp(&b.rust_name));
        Ok(resolved)
    }

    /// The struct of a message part's element, which must be a document/literal wrapper.
    fn wrapper(&self, reference: &Reference) -> Result<(String, &'w QName)> {
        let schemas = self.schemas;
        let decl = schemas.elements.get(&reference.name).ok_or_else(|| {
            Problem::at_path(
                reference.at.clone(),
                format!("unknown element '{}'", reference.written),
            )
        })?;
        match &decl.content {
            Content::Anonymous(_) => Ok((self.element_names[&decl.name].clone(), &decl.name)),
            Content::Named(_) => Err(Problem::at_path(
                reference.at.clone(),
                format!(
                    "unsupported: part element '{}' has a named type \
                     (document/literal wrapped needs an anonymous complex type)",
                    reference.written
                ),
            )),
        }
    }

    /// Assigns prefixes and field names, checks what yaserde cannot express, and sorts.
    fn finish(self, target_namespace: &str) -> Result<Vec<TypeItem>> {
        let prefixes = assign_prefixes(target_namespace, &self.structs);
        check_recursion(&self.structs)?;
        // An unqualified element is written without a prefix, so no ancestor may declare a
        // default namespace: one such element anywhere switches every struct to prefixes.
        let any_unqualified = self
            .structs
            .iter()
            .flat_map(|s| &s.fields)
            .any(|field| field.namespace.is_none());
        let mut usages: BTreeMap<&str, BTreeSet<Option<&str>>> = BTreeMap::new();
        for field in self.structs.iter().flat_map(|s| &s.fields) {
            if let FieldType::Named(name) = &field.ty {
                usages
                    .entry(name)
                    .or_default()
                    .insert(field.namespace.as_deref());
            }
        }

        let mut items = Vec::new();
        for pending in &self.structs {
            let prefix = prefixes.get(pending.namespace.as_str()).cloned();
            // The struct's element takes the default namespace it declares, so that namespace
            // must be the one of every element the struct is used for.
            let default_namespace = prefix.is_some()
                && !any_unqualified
                && usages
                    .get(pending.rust_name.as_str())
                    .is_none_or(|namespaces| {
                        namespaces
                            .iter()
                            .all(|ns| *ns == Some(pending.namespace.as_str()))
                    });
            let fields = finish_fields(pending, &prefixes)?;
            let mut namespaces: BTreeSet<(String, String)> = BTreeSet::new();
            if let Some(prefix) = &prefix {
                namespaces.insert((prefix.clone(), pending.namespace.clone()));
            }
            for field in &pending.fields {
                if let Some(ns) = &field.namespace {
                    if let Some(prefix) = prefixes.get(ns.as_str()) {
                        namespaces.insert((prefix.clone(), ns.clone()));
                    }
                }
            }
            items.push(TypeItem::Struct(Struct {
                rust_name: pending.rust_name.clone(),
                xml_name: pending.xml_name.clone(),
                prefix,
                default_namespace,
                namespaces: namespaces.into_iter().collect(),
                doc: pending.doc.clone(),
                fields,
            }));
        }
        items.extend(self.enums.into_iter().map(TypeItem::Enum));
        items.sort_by(|a, b| a.rust_name().cmp(b.rust_name()));
        Ok(items)
    }
}

/// `tns` for the service's target namespace, `ns1`, `ns2`, … for the others in sorted order.
fn assign_prefixes(target_namespace: &str, structs: &[PendingStruct]) -> BTreeMap<String, String> {
    let mut namespaces: BTreeSet<&str> = BTreeSet::new();
    for pending in structs {
        namespaces.insert(&pending.namespace);
        namespaces.extend(pending.fields.iter().filter_map(|f| f.namespace.as_deref()));
    }
    namespaces.remove("");
    let mut prefixes = BTreeMap::new();
    if !target_namespace.is_empty() {
        prefixes.insert(target_namespace.to_owned(), "tns".to_owned());
    }
    let others = namespaces.into_iter().filter(|ns| *ns != target_namespace);
    for (index, namespace) in others.enumerate() {
        prefixes.insert(namespace.to_owned(), format!("ns{}", index + 1));
    }
    prefixes
}

fn finish_fields(
    pending: &PendingStruct,
    prefixes: &BTreeMap<String, String>,
) -> Result<Vec<Field>> {
    let mut names = Namer::default();
    let mut elements: BTreeSet<(Option<&str>, &str)> = BTreeSet::new();
    // yaserde's derive names a helper type after each simple-typed element's camel-cased name,
    // so two such elements differing only in case cannot live in one struct.
    let mut visitors: BTreeMap<(Option<String>, String), &str> = BTreeMap::new();
    let mut fields = Vec::new();
    for field in &pending.fields {
        if !elements.insert((field.namespace.as_deref(), &field.xml_name)) {
            return Err(Problem::at_path(
                field.path.clone(),
                format!(
                    "unsupported: element '{}' occurs twice in one type",
                    field.xml_name
                ),
            ));
        }
        let prefix = field
            .namespace
            .as_ref()
            .and_then(|ns| prefixes.get(ns))
            .cloned();
        if matches!(field.ty, FieldType::Builtin(builtin) if builtin.is_yaserde_primitive()) {
            let key = (
                prefix.clone(),
                field.xml_name.replace('.', "_").to_upper_camel_case(),
            );
            if let Some(other) = visitors.insert(key, &field.xml_name) {
                return Err(Problem::at_path(
                    field.path.clone(),
                    format!(
                        "unsupported: elements '{other}' and '{}' differ only in case or punctuation",
                        field.xml_name
                    ),
                ));
            }
        }
        fields.push(Field {
            rust_name: names.claim(&naming::field_name(&field.xml_name), None, "_"),
            xml_name: field.xml_name.clone(),
            prefix,
            ty: field.ty.clone(),
            cardinality: field.cardinality,
            doc: field.doc.clone(),
            xsd_type: field.xsd_type.clone(),
            occurs: (field.occurs.min, field.occurs.max),
            nillable: field.nillable,
        });
    }
    Ok(fields)
}

/// A struct that contains itself other than through a `Vec` would have infinite size.
fn check_recursion(structs: &[PendingStruct]) -> Result<()> {
    let by_name: BTreeMap<&str, &PendingStruct> =
        structs.iter().map(|s| (s.rust_name.as_str(), s)).collect();
    fn edges<'s>(
        pending: &'s PendingStruct,
        known: &BTreeMap<&str, &PendingStruct>,
    ) -> Vec<&'s str> {
        pending
            .fields
            .iter()
            .filter(|field| field.cardinality != Cardinality::Many)
            .filter_map(|field| match &field.ty {
                FieldType::Named(name) if known.contains_key(name.as_str()) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
    // Depth-first search with the usual three colours: absent = unvisited, false = on the
    // current path, true = done.
    let mut state: BTreeMap<&str, bool> = BTreeMap::new();
    for start in by_name.keys() {
        if state.contains_key(start) {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, edges(by_name[start], &by_name))];
        state.insert(start, false);
        while let Some((node, pending_edges)) = stack.last_mut() {
            let node = *node;
            match pending_edges.pop() {
                Some(next) => match state.get(next) {
                    Some(false) => {
                        return Err(Problem::at_path(
                            by_name[next].path.clone(),
                            "unsupported: recursive type (it contains itself other than through \
                             maxOccurs > 1)",
                        ));
                    }
                    Some(true) => {}
                    None => {
                        state.insert(next, false);
                        stack.push((next, edges(by_name[next], &by_name)));
                    }
                },
                None => {
                    state.insert(node, true);
                    stack.pop();
                }
            }
        }
    }
    Ok(())
}

fn build_enum(rust_name: String, xml_name: &str, doc: Option<&str>, values: &[String]) -> Enum {
    // `Unknown` is the fallback variant; `Self` cannot name a variant.
    let mut names = Namer::with_taken(&["Unknown", "Self"]);
    let variants = values
        .iter()
        .map(|value| {
            let base = if value.is_empty() {
                "Empty".to_owned()
            } else {
                naming::type_name(value)
            };
            Variant {
                rust_name: names.claim(&base, None, ""),
                value: value.clone(),
            }
        })
        .collect();
    let doc = doc_lines(doc)
        .unwrap_or_else(|| vec![format!("The `{xml_name}` values of the service schema.")]);
    Enum {
        rust_name,
        xml_name: xml_name.to_owned(),
        doc,
        variants,
    }
}

/// `None` when max is 0: the element may never occur.
fn cardinality(occurs: Occurs, nillable: bool) -> Option<Cardinality> {
    match occurs.max {
        Some(0) => None,
        Some(1) if occurs.min == 0 => Some(Cardinality::Optional),
        Some(1) if nillable => Some(Cardinality::Nillable),
        Some(1) => Some(Cardinality::Required),
        _ => Some(Cardinality::Many),
    }
}

fn occurrence_text(occurs: Occurs, nillable: bool) -> String {
    match (occurs.min, occurs.max) {
        (0, Some(1)) => "optional".to_owned(),
        (_, Some(1)) if nillable => "required, nillable".to_owned(),
        (_, Some(1)) => "required".to_owned(),
        (0, None) => "any number".to_owned(),
        (min, None) => format!("at least {min}"),
        (min, Some(max)) => format!("{min} to {max}"),
    }
}

/// How a referenced type is named in a field's doc line.
fn type_label(reference: &Reference) -> String {
    if reference.name.namespace == XSD {
        format!("xs:{}", reference.name.local)
    } else {
        format!("`{}`", reference.name.local)
    }
}

/// The schema's name of an element's type, as [`crate::model::Field::xsd_type`] shows it:
/// prefixes differ from file to file, so a built-in is always `xs:…` and a service type bare.
fn schema_type_name(content: &Content) -> Option<String> {
    match content {
        Content::Named(reference) if reference.name.namespace == XSD => {
            Some(format!("xs:{}", reference.name.local))
        }
        Content::Named(reference) => Some(reference.name.local.clone()),
        Content::Anonymous(_) => None,
    }
}

/// Documentation text as doc comment lines; `None` when there is none.
fn doc_lines(text: Option<&str>) -> Option<Vec<String>> {
    let text = text?;
    let lines: Vec<String> = text.lines().map(|line| line.trim().to_owned()).collect();
    Some(lines)
}
