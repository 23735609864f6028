//! `contract import-har`, run as a user runs it on a capture from a browser or a debugging proxy:
//! - each exchange with the service becomes a cassette that `contract verify` passes, nothing
//!   secret written, every other entry skipped with its reason;
//! - a capture made by mitmproxy (`tests/har/mitmproxy-simulator.har`) imports the same way;
//! - a cassette imported from a HAR is byte for byte the one `record` writes for that exchange;
//! - a file that is not HAR, or holds no exchange with the service, exits non-zero.

use crate::isolated::{self, lossy};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use instamed_soap::Outlet;
use instamed_soap_contract::{self as contract, ContractServer, ServeOptions, Upstream};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};

const HAR_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/har");

/// The secrets `tests/har/instamed.har` carries: the account's password and its Basic token,
/// a card number and its CVV, a session cookie, a REST API key and secret.
const HAND_WRITTEN_SECRETS: [&str; 7] = [
    "Hunter2-har-fixture!",
    "bWVyY2hhbnRAY2xpbmljLnRlc3Q6SHVudGVyMi1oYXItZml4dHVyZSE=",
    "4111111111111111",
    "<CVV2>737",
    "sessioncookie-value-7f3a9c",
    "har-fixture-api-key",
    "har-fixture-api-secret-9d2e",
];

fn run(args: &[&str], paths: &[&Path]) -> Output {
    isolated::instamed_soap()
        .args(args)
        .args(paths)
        .output()
        .unwrap()
}

fn import(har: &Path, dir: &Path) -> (Output, String, String) {
    let output = run(&["contract", "import-har"], &[har, dir]);
    let (stdout, stderr) = (lossy(&output.stdout), lossy(&output.stderr));
    (output, stdout, stderr)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    contract::verify::cassette_files(dir).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    files(dir)
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn assert_nothing_secret(dir: &Path, secrets: &[&str]) {
    for file in files(dir) {
        let written = std::fs::read_to_string(&file).unwrap();
        for secret in secrets {
            assert!(
                !written.contains(secret),
                "{secret} in {}:\n{written}",
                file.display()
            );
        }
    }
}

fn verify_passes(dir: &Path) -> String {
    let output = run(&["contract", "verify"], &[dir]);
    let stdout = lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", lossy(&output.stderr));
    stdout
}

#[test]
fn a_hand_written_har_imports_each_exchange_and_skips_the_rest_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imported");
    let har = Path::new(HAR_DIR).join("instamed.har");
    let (output, stdout, stderr) = import(&har, &out);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("6 written, 6 skipped"), "{stdout}");
    assert_eq!(
        names(&out),
        [
            "001-soap11-docreditcardsecondaryvoid-voided.cassette",
            "002-soap12-docreditcardsecondaryvoid-voided.cassette",
            "003-nvp-void-voided.cassette",
            "004-rest-void-voided.cassette",
            "005-soap11-docreditcardsecondaryvoid-fault.cassette",
            "006-soap11-docreditcardauthandcapt-exchange.cassette",
        ]
    );
    for (entry, reason) in [
        (7, "not an exchange with the service"),
        (8, "a WSDL fetch"),
        (9, "operation \"HelloWorld\" is not one of the service's"),
        (10, "the answer's body is not in the HAR"),
        (11, "the answer's body is truncated"),
        (12, "no answer was captured"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with(&format!("skip  entry {entry} ")) && l.contains(reason)),
            "entry {entry}: {stderr}"
        );
    }
    // The page's URL carried the password in its query: lines show no query.
    for secret in HAND_WRITTEN_SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret}"
        );
    }
    assert_nothing_secret(&out, &HAND_WRITTEN_SECRETS);

    let verified = verify_passes(&out);
    assert!(
        verified.contains("5 passed, 0 failed, 0 errors, 1 skipped"),
        "{verified}"
    );

    // The fault answer, compressed on the wire and decoded in the HAR, is stored decoded and
    // judged as the client judges a Server fault: the outcome is unknown.
    let fault = std::fs::read_to_string(&files(&out)[4]).unwrap();
    assert!(fault.contains("expect: fault\n"), "{fault}");
    assert!(!fault.contains("content-encoding"), "{fault}");
    // A second import numbers its cassettes after those already there.
    let (output, stdout, _) = import(&har, &out);
    assert!(output.status.success());
    assert!(
        stdout.contains("007-soap11-docreditcardsecondaryvoid-voided.cassette"),
        "{stdout}"
    );
}

#[test]
fn a_capture_made_by_mitmproxy_imports_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let har = Path::new(HAR_DIR).join("mitmproxy-simulator.har");
    let (output, stdout, stderr) = import(&har, dir.path());
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("5 written, 1 skipped"), "{stdout}");
    assert!(stderr.contains("a WSDL fetch"), "{stderr}");
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"));
    assert_nothing_secret(dir.path(), &[DEMO_PASSWORD, &basic, "demo-api-secret"]);
    let verified = verify_passes(dir.path());
    assert!(
        verified.contains("5 passed, 0 failed, 0 errors, 0 skipped"),
        "{verified}"
    );
    let names = names(dir.path()).join(" ");
    for kind in [
        "soap11-docreditcardsecondaryvoid-voided",
        "soap12-docreditcardsecondaryvoid-voided",
        "soap11-docreditcardsecondaryvoid-already-voided",
        "nvp-void-voided",
        "rest-void-unknown-transaction",
    ] {
        assert!(names.contains(kind), "{kind} in {names}");
    }
}

#[test]
fn a_file_that_is_not_har_or_holds_no_exchange_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");

    let garbage = dir.path().join("garbage.har");
    std::fs::write(&garbage, "<html>not json</html>").unwrap();
    let (output, _, stderr) = import(&garbage, &out);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not an HTTP Archive"), "{stderr}");

    // JSON of another shape: the parser's message would quote the value, a password here.
    let wrong = dir.path().join("wrong.har");
    std::fs::write(
        &wrong,
        r#"{"log":{"entries":"Basic c2VjcmV0LXBhc3N3b3Jk"}}"#,
    )
    .unwrap();
    let (output, _, stderr) = import(&wrong, &out);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not an HTTP Archive"), "{stderr}");
    assert!(!stderr.contains("c2VjcmV0LXBhc3N3b3Jk"), "{stderr}");

    let pages_only = dir.path().join("pages.har");
    std::fs::write(
        &pages_only,
        r#"{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[
          {"request":{"method":"GET","url":"https://www.example.com/","headers":[],"cookies":[],
                      "queryString":[],"headersSize":-1,"bodySize":0,"httpVersion":"HTTP/1.1"},
           "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],
                       "cookies":[],"content":{"size":2,"mimeType":"text/html","text":"hi"},
                       "redirectURL":"","headersSize":-1,"bodySize":2},
           "cache":{},"timings":{"send":0,"wait":1,"receive":0}}]}}"#,
    )
    .unwrap();
    let (output, stdout, stderr) = import(&pages_only, &out);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("0 written, 1 skipped"), "{stdout}");
    assert!(
        stderr.contains("skip  entry 1 GET https://www.example.com/"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// One SOAP 1.1 void sent by hand to a plain-HTTP recording proxy: the request sent and the
/// answer read, as a HAR entry holds them.
struct Sent {
    url: String,
    headers: Vec<(String, String)>,
    body: String,
    status: u16,
    answer_headers: Vec<(String, String)>,
    answer: String,
}

fn send(origin: &str, payment: &str) -> Sent {
    let authority = origin.trim_start_matches("http://").to_owned();
    let body = format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">"#,
            r#"<soap:Body><DoCreditCardSecondaryVoid xmlns="http://online.instamed.com/TransactionServices/Payment/v1r3/">"#,
            "<transaction><MerchantID>123123123</MerchantID><StoreID>123</StoreID><TerminalID>123</TerminalID>",
            "<PrimaryTransactionID>{}</PrimaryTransactionID><PrimaryCardPresentStatus>PresentManualKey</PrimaryCardPresentStatus>",
            "</transaction></DoCreditCardSecondaryVoid></soap:Body></soap:Envelope>"
        ),
        payment
    );
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"));
    let headers: Vec<(String, String)> = [
        ("host", authority.as_str()),
        ("content-type", "text/xml; charset=utf-8"),
        (
            "soapaction",
            "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"",
        ),
        ("authorization", &format!("Basic {basic}")),
        ("content-length", &body.len().to_string()),
        ("connection", "close"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    let mut request = String::from("POST /payment/service.asmx HTTP/1.1\r\n");
    for (name, value) in &headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let mut stream = std::net::TcpStream::connect(authority.as_str()).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, answer_body) = answer.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let answer_headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    Sent {
        url: format!("{origin}/payment/service.asmx"),
        headers,
        body,
        status,
        answer_headers,
        answer: answer_body.to_owned(),
    }
}

fn har_of(exchange: &Sent) -> serde_json::Value {
    let pairs = |pairs: &[(String, String)]| -> Vec<serde_json::Value> {
        pairs
            .iter()
            .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
            .collect()
    };
    serde_json::json!({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"},
        "entries": [{
            "startedDateTime": "2026-01-01T00:00:00Z", "time": 1,
            "request": {"method": "POST", "url": exchange.url, "httpVersion": "HTTP/1.1",
                "headers": pairs(&exchange.headers), "cookies": [], "queryString": [],
                "headersSize": -1, "bodySize": exchange.body.len(),
                "postData": {"mimeType": "text/xml; charset=utf-8", "text": exchange.body}},
            "response": {"status": exchange.status, "statusText": "", "httpVersion": "HTTP/1.1",
                "headers": pairs(&exchange.answer_headers), "cookies": [],
                "content": {"size": exchange.answer.len(), "mimeType": "text/xml",
                    "text": exchange.answer},
                "redirectURL": "", "headersSize": -1, "bodySize": exchange.answer.len()},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}})
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imported_cassette_is_byte_for_byte_what_record_writes() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let outlet = Outlet::new("123123123", "123", "123").unwrap();
    let payment = simulator.ledger().create_payment(&outlet, "5.00").unwrap();
    let recorded = tempfile::tempdir().unwrap();
    let upstream = Upstream::new(simulator.endpoint()).with_ca_cert(simulator.ca_path().unwrap());
    let proxy = ContractServer::record(
        upstream,
        recorded.path(),
        ServeOptions::default().plain_http(),
    )
    .await
    .unwrap();
    let origin = proxy.origin();
    let payment = payment.as_str().to_owned();
    let exchange = tokio::task::spawn_blocking(move || send(&origin, &payment))
        .await
        .unwrap();
    proxy.shutdown().await;
    simulator.shutdown().await;
    assert_eq!(exchange.status, 200, "{}", exchange.answer);

    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("capture.har");
    std::fs::write(&har, har_of(&exchange).to_string()).unwrap();
    let imported = dir.path().join("imported");
    let (output, stdout, stderr) = import(&har, &imported);
    assert!(output.status.success(), "{stdout}{stderr}");

    let recorded = files(recorded.path());
    let imported = files(&imported);
    assert_eq!((recorded.len(), imported.len()), (1, 1));
    assert_eq!(
        recorded[0].file_name(),
        imported[0].file_name(),
        "the same name"
    );
    let recorded = std::fs::read_to_string(&recorded[0]).unwrap();
    assert!(recorded.contains("expect: voided\n"), "{recorded}");
    assert_eq!(std::fs::read_to_string(&imported[0]).unwrap(), recorded);
}

/// Issue 22, item 8: `contract import-har` had no `--pretty`, which `record` has. With it,
/// the imported bodies are laid out one element (or JSON value) a line, the cassettes are the
/// same exchanges, and they verify as the compact ones do.
#[test]
fn import_har_pretty_lays_bodies_out_as_record_pretty_does() {
    let dir = tempfile::tempdir().unwrap();
    let har = Path::new(HAR_DIR).join("instamed.har");
    let (compact, laid_out) = (dir.path().join("compact"), dir.path().join("pretty"));
    let (output, stdout, stderr) = import(&har, &compact);
    assert!(output.status.success(), "{stdout}{stderr}");
    let output = run(&["contract", "import-har", "--pretty"], &[&har, &laid_out]);
    assert!(output.status.success(), "{}", lossy(&output.stderr));
    assert_eq!(names(&laid_out), names(&compact));
    let soap = std::fs::read_to_string(&files(&laid_out)[0]).unwrap();
    assert!(
        soap.lines().any(
            |line| line.trim_start() == "<MerchantID>123123123</MerchantID>"
                && line.starts_with("  ")
        ),
        "not laid out:\n{soap}"
    );
    let rest = std::fs::read_to_string(&files(&laid_out)[3]).unwrap();
    assert!(rest.contains("{\n"), "not laid out:\n{rest}");
    let compact_soap = std::fs::read_to_string(&files(&compact)[0]).unwrap();
    assert_ne!(soap, compact_soap);
    let verified = verify_passes(&laid_out);
    assert!(
        verified.contains("5 passed, 0 failed, 0 errors, 1 skipped"),
        "{verified}"
    );
}
