//! `instamed-soap wsdl`: the operations of the built-in WSDL or of a file, one operation's
//! request and answer fields in text and JSON, and exit 2 with the reason for what it cannot
//! show.

use crate::isolated::{self, code, described, text};

use std::io::Write as _;
use std::process::{Output, Stdio};

const VOID: &str = "DoCreditCardSecondaryVoid";

fn wsdl(args: &[&str]) -> Output {
    isolated::instamed_soap()
        .arg("wsdl")
        .args(args)
        .output()
        .expect("run instamed-soap wsdl")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The JSON element called `name` among `element`'s children.
fn child<'j>(element: &'j serde_json::Value, name: &str) -> &'j serde_json::Value {
    element["children"]
        .as_array()
        .and_then(|children| children.iter().find(|child| child["name"] == name))
        .unwrap_or_else(|| panic!("no child {name} in {element:#}"))
}

#[test]
fn wsdl_lists_every_operation_with_its_soap11_action() {
    let output = wsdl(&[]);
    assert_eq!(code(&output), 0, "{}", described(&output));
    let listing = stdout(&output);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 4, "{listing}");
    let void = lines
        .iter()
        .find(|line| line.starts_with(VOID))
        .unwrap_or_else(|| panic!("no {VOID} line in {listing}"));
    assert!(
        void.ends_with(
            "http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid"
        ),
        "{void}"
    );
    assert!(output.stderr.is_empty(), "{}", described(&output));
}

#[test]
fn wsdl_reads_a_file_and_standard_input_alike() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../wsdl/payment-service.wsdl");
    let from_file = wsdl(&[file]);
    assert_eq!(code(&from_file), 0, "{}", described(&from_file));

    let mut child = isolated::instamed_soap()
        .args(["wsdl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn instamed-soap wsdl -");
    let wsdl_text = std::fs::read(file).expect("the repository's WSDL");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&wsdl_text)
        .expect("write the WSDL");
    let from_stdin = child.wait_with_output().expect("wait");
    assert_eq!(code(&from_stdin), 0, "{}", described(&from_stdin));
    assert_eq!(stdout(&from_stdin), stdout(&from_file));
    assert_eq!(stdout(&from_file), stdout(&wsdl(&[])));
}

#[test]
fn wsdl_operation_shows_the_void_request_and_answer_fields() {
    let output = wsdl(&["--operation", VOID]);
    assert_eq!(code(&output), 0, "{}", described(&output));
    let shown = stdout(&output);
    let (request, response) = shown
        .split_once("\nresponse:\n")
        .unwrap_or_else(|| panic!("no response section in {shown}"));
    assert!(
        request.contains("\nrequest:\n  DoCreditCardSecondaryVoid [1]\n"),
        "{shown}"
    );
    assert!(
        request.contains("    transaction: SecondaryCreditCardVoidRequestData [0..1]\n"),
        "{shown}"
    );
    for field in ["TransactionID", "MerchantID", "StoreID"] {
        assert!(
            request.contains(&format!("\n      {field}: xs:string [0..1]\n")),
            "{field} missing under the void request: {shown}"
        );
    }
    assert!(
        response.starts_with("  DoCreditCardSecondaryVoidResponse [1]\n"),
        "{shown}"
    );
    for field in ["TransactionStatus", "PrimaryTransactionStatus"] {
        assert!(
            response.contains(&format!("\n      {field}: xs:string [0..1]\n")),
            "{field} missing under the void answer: {shown}"
        );
    }
    assert!(!request.contains("PrimaryTransactionStatus"), "{shown}");
}

#[test]
fn wsdl_operation_json_is_one_document_with_the_same_tree() {
    let output = wsdl(&["--operation", VOID, "--json"]);
    assert_eq!(code(&output), 0, "{}", described(&output));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("not one JSON document ({error}): {}", described(&output)));
    assert_eq!(document["name"], VOID);
    let transaction = child(&document["request"], "transaction");
    assert_eq!(transaction["type"], "SecondaryCreditCardVoidRequestData");
    let id = child(transaction, "TransactionID");
    assert_eq!(id["type"], "xs:string");
    assert_eq!(
        (&id["min_occurs"], &id["max_occurs"]),
        (&0.into(), &1.into())
    );
    let result = child(&document["response"], "DoCreditCardSecondaryVoidResult");
    child(result, "PrimaryTransactionStatus");

    let listing = wsdl(&["--json"]);
    assert_eq!(code(&listing), 0, "{}", described(&listing));
    let listing: serde_json::Value =
        serde_json::from_slice(&listing.stdout).expect("the listing is one JSON document");
    let operations = listing["operations"].as_array().expect("operations");
    assert!(
        operations.iter().any(|op| op["name"] == VOID),
        "{listing:#}"
    );
}

#[test]
fn wsdl_unknown_operation_exits_2_naming_the_valid_ones() {
    let output = wsdl(&["--operation", "DoCreditCardVoid"]);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(output.stdout.is_empty(), "{}", described(&output));
    let said = text(&output);
    assert!(said.starts_with("error: "), "{said}");
    assert_eq!(said.matches("error:").count(), 1, "{said}");
    assert!(said.contains("DoCreditCardVoid"), "{said}");
    assert!(said.contains(VOID), "{said}");
}

#[test]
fn wsdl_broken_or_missing_file_exits_2_with_the_reason() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let broken = dir.path().join("broken.wsdl");
    std::fs::write(
        &broken,
        "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\">",
    )
    .expect("write the broken WSDL");
    let output = wsdl(&[broken.to_str().expect("a UTF-8 path")]);
    assert_eq!(code(&output), 2, "{}", described(&output));
    let said = text(&output);
    assert!(said.starts_with("error: "), "{said}");
    assert!(
        said.contains("broken.wsdl") && said.contains("invalid XML"),
        "{said}"
    );

    let missing = dir.path().join("missing.wsdl");
    let output = wsdl(&[missing.to_str().expect("a UTF-8 path")]);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(
        text(&output).contains("cannot read"),
        "{}",
        described(&output)
    );
}

#[test]
fn wsdl_url_exits_2_with_the_command_that_fetches_it() {
    let url = "https://localhost:1/payment/service.asmx?WSDL";
    let output = wsdl(&[url]);
    assert_eq!(code(&output), 2, "{}", described(&output));
    let said = text(&output);
    assert!(
        said.contains(&format!("hint: curl -fsS '{url}' | instamed-soap wsdl -")),
        "{said}"
    );
}
