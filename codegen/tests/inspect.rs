//! `inspect`: the public view of a WSDL keeps what the generator flattens for Rust (schema type
//! names, exact occurrence, enumeration values) and stops at types that contain themselves.

use std::path::Path;

use instamed_soap_codegen::{Element, inspect};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn child<'e>(element: &'e Element, name: &str) -> &'e Element {
    element
        .children
        .iter()
        .find(|child| child.name == name)
        .unwrap_or_else(|| panic!("{} has no {name}: {element:#?}", element.name))
}

#[test]
fn occurrence_types_and_values_are_the_schemas() {
    let service = inspect(&fixture("builtins.wsdl"), "builtins.wsdl").expect("inspect");
    let widget = service.operation("Widget").expect("the Widget operation");
    assert_eq!(widget.request.name, "Widget");
    assert_eq!(widget.request.xsd_type, None);
    let occurrences = child(&widget.request, "occurrences");
    assert_eq!(occurrences.xsd_type.as_deref(), Some("Occurrences"));

    let at_least_two = child(occurrences, "AtLeastTwo");
    assert_eq!(at_least_two.xsd_type.as_deref(), Some("xs:string"));
    assert_eq!(
        (at_least_two.min_occurs, at_least_two.max_occurs),
        (2, None)
    );
    let nillable = child(occurrences, "NillableFlag");
    assert!(nillable.nillable);
    assert_eq!((nillable.min_occurs, nillable.max_occurs), (1, Some(1)));
    let up_to_five = child(occurrences, "UpToFive");
    assert_eq!(up_to_five.max_occurs, Some(5));
    assert_eq!(up_to_five.values[..2], ["red", "Red"]);
    assert_eq!(
        child(occurrences, "Note").xsd_type.as_deref(),
        Some("xs:string")
    );
    let stamp = child(occurrences, "Stamp");
    assert_eq!(stamp.xsd_type, None);
    assert_eq!(child(stamp, "By").xsd_type.as_deref(), Some("xs:string"));

    // A restriction keeps its own name, where the Rust type is its base's.
    let code = child(child(&widget.request, "all"), "Code");
    assert_eq!(code.xsd_type.as_deref(), Some("ShortCode"));
}

#[test]
fn a_type_containing_itself_is_shown_once() {
    let service = inspect(&fixture("builtins.wsdl"), "builtins.wsdl").expect("inspect");
    let widget = service.operation("Widget").expect("the Widget operation");
    let order = child(&widget.request, "order");
    let sub = child(order, "Sub");
    assert!(sub.recursive, "{sub:#?}");
    assert!(sub.children.is_empty());
    let line = child(order, "Line");
    assert_eq!(
        child(child(line, "Discount"), "Percent")
            .xsd_type
            .as_deref(),
        Some("xs:decimal")
    );
}

#[test]
fn what_the_generator_refuses_inspection_refuses_with_the_same_words() {
    let broken = "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\">";
    let error = inspect(broken, "broken.wsdl").expect_err("not well-formed");
    let options = instamed_soap_codegen::Options::default();
    let generated = instamed_soap_codegen::generate_str(broken, "broken.wsdl", &options);
    assert_eq!(generated.expect_err("not well-formed"), error);
    assert!(
        error.to_string().starts_with("broken.wsdl: invalid XML"),
        "{error}"
    );
}
