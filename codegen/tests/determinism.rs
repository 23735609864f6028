//! The output depends only on the WSDL's meaning: not on the run, not on declaration order.

use instamed_soap_codegen::{Options, generate_str};

const PAYMENT: &str = include_str!("fixtures/payment.wsdl");
const BUILTINS: &str = include_str!("fixtures/builtins.wsdl");

fn generate(wsdl: &str) -> String {
    generate_str(wsdl, "fixture.wsdl", &Options::default())
        .unwrap_or_else(|error| panic!("{error}"))
}

/// `wsdl` with the element children of every `xs:schema` and of `wsdl:definitions` in reverse
/// order (whitespace between them is kept in place).
fn reverse_declarations(wsdl: &str) -> String {
    let document = roxmltree::Document::parse(wsdl).expect("fixture parses");
    let mut containers = vec![document.root_element()];
    containers.extend(
        document
            .descendants()
            .filter(|node| node.has_tag_name(("http://www.w3.org/2001/XMLSchema", "schema"))),
    );
    // Rewrite from the end of the file backwards so earlier ranges stay valid.
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for container in containers {
        let children: Vec<_> = container.children().filter(|n| n.is_element()).collect();
        let (Some(first), Some(last)) = (children.first(), children.last()) else {
            continue;
        };
        let span = first.range().start..last.range().end;
        if container == document.root_element() {
            // The schemas inside `wsdl:types` are edited separately; reverse only the WSDL-level
            // declarations after it, keeping `wsdl:types` in place.
            let after_types: Vec<_> = children
                .iter()
                .filter(|n| {
                    n.tag_name().name() != "types" && n.tag_name().name() != "documentation"
                })
                .collect();
            let (Some(first), Some(last)) = (after_types.first(), after_types.last()) else {
                continue;
            };
            let reversed: Vec<&str> = after_types.iter().rev().map(|n| &wsdl[n.range()]).collect();
            edits.push((first.range().start..last.range().end, reversed.join("\n  ")));
        } else {
            let reversed: Vec<&str> = children.iter().rev().map(|n| &wsdl[n.range()]).collect();
            edits.push((span, reversed.join("\n      ")));
        }
    }
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut shuffled = wsdl.to_owned();
    for (range, text) in edits {
        shuffled.replace_range(range, &text);
    }
    shuffled
}

/// Like `assert_eq!`, but shows only the first differing line of the long outputs.
#[track_caller]
fn assert_same(actual: &str, expected: &str) {
    if let Some((a, e)) = actual.lines().zip(expected.lines()).find(|(a, e)| a != e) {
        panic!("outputs differ:\n  got:      {a}\n  expected: {e}");
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "one output is a prefix of the other"
    );
}

#[test]
fn generating_twice_gives_the_same_output() {
    assert_same(&generate(PAYMENT), &generate(PAYMENT));
}

#[test]
fn declaration_order_does_not_matter() {
    for fixture in [PAYMENT, BUILTINS] {
        let shuffled = reverse_declarations(fixture);
        assert_ne!(shuffled, fixture, "the shuffle changed nothing");
        assert_same(&generate(&shuffled), &generate(fixture));
    }
}

#[test]
fn the_header_names_the_file_not_its_directory() {
    let options = Options::default();
    let deep =
        generate_str(PAYMENT, "/some/absolute/dir/payment.wsdl", &options).expect("generates");
    let shallow = generate_str(PAYMENT, "payment.wsdl", &options).expect("generates");
    assert_eq!(deep, shallow);
    assert!(!deep.contains("/some/absolute"));
    assert!(
        !deep.contains("#!["),
        "no inner attributes in an include!d file"
    );
    assert!(
        !deep.contains("//!"),
        "no inner doc comments in an include!d file"
    );
}
