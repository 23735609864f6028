//! `replay --journal FILE` and `contract verify-calls`: the requests a replay received,
//! counted as WireMock's `verify(exactly(n), …)` counts them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use crate::isolated::{self, code, described, text};

const CAPTURED: &str = "C0FFEE00000000000000000000000001";
const NEVER_RECORDED: &str = "C0FFEE0000000000000000000000BEEF";
const VOIDED: &str = "001-soap11-docreditcardsecondaryvoid-voided.cassette";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/envelopes")
}

/// A `replay` of the committed corpus, killed when dropped.
struct Replay {
    child: Child,
    origin: String,
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replay(journal: &Path) -> Replay {
    let mut command = isolated::instamed_soap();
    command
        .arg("replay")
        .arg(corpus())
        .args(["--plain-http", "--journal"])
        .arg(journal)
        .stderr(Stdio::null());
    let (child, printed) = isolated::started(&mut command);
    let origin = isolated::printed_value(&printed, "rest:");
    Replay {
        child,
        origin: origin.expect("a rest: line with the origin"),
    }
}

/// POSTs the recorded void of `id` as the client sends it; the status answered.
fn post_void(origin: &str, id: &str) -> String {
    let cassette = std::fs::read_to_string(corpus().join(VOIDED)).unwrap();
    let recorded = cassette
        .lines()
        .find(|line| line.starts_with("<?xml"))
        .unwrap();
    let body = recorded.replace(CAPTURED, id);
    let address = origin.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /payment/service.asmx HTTP/1.1\r\nhost: {address}\r\n\
         content-type: text/xml; charset=utf-8\r\n\
         soapaction: \"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or("").to_owned()
}

fn verify_calls(journal: &Path, expectations: &[&str]) -> std::process::Output {
    let mut command = isolated::instamed_soap();
    command
        .args(["contract", "verify-calls", "--journal"])
        .arg(journal);
    for expectation in expectations {
        command.args(["--expect", expectation]);
    }
    command.output().unwrap()
}

#[test]
fn verify_calls_fails_listing_the_counts_that_do_not_hold() {
    let scratch = tempfile::tempdir().unwrap();
    let journal = scratch.path().join("journal.jsonl");
    let server = replay(&journal);
    assert!(post_void(&server.origin, CAPTURED).contains(" 200"));
    assert!(!post_void(&server.origin, NEVER_RECORDED).contains(" 200"));
    // Each entry is written as it is taken: a replay stopped any way leaves them all.
    drop(server);

    let held = verify_calls(
        &journal,
        &[
            "DoCreditCardSecondaryVoid=2",
            "protocol:soap11>=1",
            "cassette:001=1",
        ],
    );
    assert_eq!(code(&held), 0, "{}", described(&held));
    assert!(text(&held).contains("3 held, 0 did not (2 requests in the journal)"));

    let output = verify_calls(
        &journal,
        &[
            "DoCreditCardSecondaryVoid=2",
            "unmatched=0",
            &format!("cassette:{VOIDED}=2"),
            "matched<=0",
        ],
    );
    assert_eq!(code(&output), 1, "{}", described(&output));
    let shown = text(&output);
    for line in [
        "ok    DoCreditCardSecondaryVoid=2: seen 2",
        "FAIL  unmatched=0: expected exactly 0, seen 1",
        &format!("FAIL  cassette:{VOIDED}=2: expected exactly 2, seen 1"),
        "FAIL  matched<=0: expected at most 0, seen 1",
        "1 held, 3 did not (2 requests in the journal)",
        "error: 3 of 4 expectations did not hold",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    // The unanswered request is listed under the failing count, with where it differed.
    assert!(
        shown.contains("POST /payment/service.asmx DoCreditCardSecondaryVoid (soap11); closest"),
        "{shown}"
    );
    assert!(shown.contains("PrimaryTransactionID"), "{shown}");
    assert_eq!(shown.matches("error:").count(), 1, "{shown}");
}

#[test]
fn a_malformed_expectation_exits_2() {
    let scratch = tempfile::tempdir().unwrap();
    let journal = scratch.path().join("journal.jsonl");
    std::fs::write(&journal, "").unwrap();
    for malformed in [
        "DoCreditCardSecondaryVoid",
        "unmatched=many",
        "=1",
        "kind:x=1",
    ] {
        let output = verify_calls(&journal, &[malformed]);
        assert_eq!(code(&output), 2, "{malformed}: {}", described(&output));
        let shown = text(&output);
        assert_eq!(shown.matches("error:").count(), 1, "{shown}");
        assert!(shown.contains("SUBJECT=N"), "{shown}");
    }
    // A journal that is not one is bad input too, its line named.
    std::fs::write(&journal, "{\"not\": \"an entry\"}\n").unwrap();
    let output = verify_calls(&journal, &["all=0"]);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(text(&output).contains("line 1"), "{}", described(&output));
}
