//! `contract verify`, run as CI runs it: the committed corpus passes, and a cassette whose
//! expectation or recorded request no longer matches the client fails with the reason.

use std::path::Path;
use std::process::Command;

use instamed_soap::Protocol;
use instamed_soap::contract::{self, Cassette};

/// The committed corpus, which lives with the library that recorded it.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/envelopes");

#[test]
fn contract_verify_passes_on_the_corpus_and_fails_on_a_broken_cassette() {
    let bin = env!("CARGO_BIN_EXE_instamed-soap");
    let output = Command::new(bin)
        .args(["contract", "verify", CORPUS])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.lines().filter(|l| l.starts_with("pass  ")).count() >= 16,
        "{text}"
    );
    assert!(text.contains("aspnet-"), "{text}");

    // Change what one cassette expects, and what another recorded: both must fail, with why.
    let dir = tempfile::Builder::new()
        .prefix("instamed-soap-broken-")
        .tempdir()
        .unwrap();
    let corpus = contract::verify::cassette_files(Path::new(CORPUS)).unwrap();
    let first = Cassette::load(&corpus[0]).unwrap();
    let mut wrong_outcome = first.clone();
    wrong_outcome.expect = Some("declined".into());
    wrong_outcome.save(&dir.path().join("a.cassette")).unwrap();
    let mut wrong_request = first;
    let body = wrong_request
        .request
        .body_text()
        .replace("<StoreID>123</StoreID>", "<StoreID>999</StoreID>");
    wrong_request.request.body = body.into_bytes();
    wrong_request.save(&dir.path().join("b.cassette")).unwrap();

    let output = Command::new(bin)
        .args(["contract", "verify"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  a.cassette") && text.contains("expected declined"),
        "{text}"
    );
    assert!(
        text.contains("FAIL  b.cassette")
            && text.contains("StoreID: expected \"999\", got \"123\""),
        "{text}"
    );
    assert!(text.contains("0 passed, 2 failed"), "{text}");

    // A REST cassette whose recorded JSON says another store fails at that JSON path, and one
    // whose answer no longer means what it expects fails with both outcomes.
    let dir = tempfile::Builder::new()
        .prefix("instamed-soap-broken-rest-")
        .tempdir()
        .unwrap();
    let rest = corpus
        .iter()
        .map(|file| Cassette::load(file).unwrap())
        .find(|c| c.protocol == Protocol::Rest && c.expect.as_deref() == Some("voided"))
        .expect("a REST void in the corpus");
    let mut wrong_request = rest.clone();
    let body = wrong_request
        .request
        .body_text()
        .replace(r#""StoreID":"123""#, r#""StoreID":"999""#);
    assert_ne!(body, wrong_request.request.body_text());
    wrong_request.request.body = body.into_bytes();
    wrong_request.save(&dir.path().join("c.cassette")).unwrap();
    let mut wrong_outcome = rest;
    wrong_outcome.expect = Some("already_voided".into());
    wrong_outcome.save(&dir.path().join("d.cassette")).unwrap();
    let output = Command::new(bin)
        .args(["contract", "verify"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL  c.cassette")
            && text.contains(r#"at $.Outlet.StoreID: expected "999", got "123""#),
        "{text}"
    );
    assert!(
        text.contains("FAIL  d.cassette")
            && text.contains("decodes to voided, expected already_voided"),
        "{text}"
    );
}
