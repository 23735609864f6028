//! `contract verify`, run as CI runs it: the committed corpus passes, and a cassette whose
//! expectation or recorded request no longer matches the client fails with the reason.

use std::path::Path;
use std::process::Command;

use instamed_soap::Protocol;
use instamed_soap_contract::{self as contract, Cassette};

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

/// A copy of the corpus with one cassette whose recorded request says another store, and one
/// file that is no cassette at all.
fn corpus_with_a_failure_and_an_error() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("instamed-soap-junit-")
        .tempdir()
        .unwrap();
    for file in contract::verify::cassette_files(Path::new(CORPUS)).unwrap() {
        std::fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
    }
    let broken = dir
        .path()
        .join("001-soap11-docreditcardsecondaryvoid-voided.cassette");
    let text = std::fs::read_to_string(&broken).unwrap();
    let edited = text.replace("<StoreID>123</StoreID>", "<StoreID>999</StoreID>");
    assert_ne!(edited, text);
    std::fs::write(&broken, edited).unwrap();
    std::fs::write(
        dir.path().join("000-unreadable.cassette"),
        "not a cassette <&>\n",
    )
    .unwrap();
    dir
}

#[test]
fn contract_verify_writes_a_junit_report_ci_systems_read() {
    let dir = corpus_with_a_failure_and_an_error();
    let cassettes = contract::verify::cassette_files(dir.path()).unwrap().len();
    let report = dir.path().join("report").with_extension("xml");
    let output = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
        .args(["contract", "verify", "--junit"])
        .arg(&report)
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  001-soap11"), "{text}");

    let xml = std::fs::read_to_string(&report).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let suite = suites
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), cassettes);
    assert_eq!(
        suite.attribute("tests"),
        Some(cassettes.to_string().as_str())
    );
    assert_eq!(suite.attribute("failures"), Some("1"));
    assert_eq!(suite.attribute("errors"), Some("1"));
    assert!(suite.attribute("time").unwrap().parse::<f64>().is_ok());
    assert!(cases.iter().all(|c| c.attribute("classname").is_some()));

    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 1);
    let failure = failures[0];
    assert_eq!(
        failure.parent().unwrap().attribute("name"),
        Some("001-soap11-docreditcardsecondaryvoid-voided.cassette")
    );
    assert_eq!(
        failure.attribute("type"),
        Some("request.body/Envelope/Body/DoCreditCardSecondaryVoid/transaction/StoreID")
    );
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .contains("StoreID: expected \"999\", got \"123\""),
        "{xml}"
    );
    let error = doc.descendants().find(|n| n.has_tag_name("error")).unwrap();
    assert_eq!(
        error.parent().unwrap().attribute("name"),
        Some("000-unreadable.cassette")
    );
    assert!(
        error.attribute("message").unwrap().contains("cannot read"),
        "{xml}"
    );
}

#[test]
fn contract_verify_json_names_each_cassette_its_status_and_the_difference_path() {
    let dir = corpus_with_a_failure_and_an_error();
    let output = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
        .args(["contract", "verify", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["failed"], 1);
    assert_eq!(report["errors"], 1);
    let cassettes = report["cassettes"].as_array().unwrap();
    let find = |name: &str| {
        cassettes
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report:#}"))
    };
    let failed = find("001-soap11-docreditcardsecondaryvoid-voided.cassette");
    assert_eq!(failed["status"], "fail");
    assert_eq!(
        failed["problems"][0]["path"],
        "request.body/Envelope/Body/DoCreditCardSecondaryVoid/transaction/StoreID"
    );
    assert_eq!(find("000-unreadable.cassette")["status"], "error");
    assert_eq!(
        find("002-soap11-docreditcardsecondaryvoid-already-voided.cassette")["status"],
        "pass"
    );
    assert_eq!(report["passed"], cassettes.len() - 2);
}

/// A CI job must tell a broken contract (exit 1) from a report it could not write or a
/// directory that is not there (exit 2); the results are printed all the same.
#[test]
fn a_report_that_cannot_be_written_is_exit_2_after_the_results() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/envelopes");
    let output = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
        .args(["contract", "verify", corpus, "--junit"])
        .arg("/nonexistent-directory/report.xml")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(stderr.contains("cannot write the JUnit report"), "{stderr}");

    let missing = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
        .args(["contract", "verify", "/nonexistent-directory"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let missing_har = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
        .args(["contract", "import-har", "/nonexistent.har"])
        .arg(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(missing_har.status.code(), Some(2), "{missing_har:?}");
}
