//! The replaying server's journal: every request, matched or not, with what became of it,
//! nothing secret in it, in memory and in its file alike; counts checked against it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use base64::Engine as _;
use instamed_soap::{Client, Credentials, Outlet, Protocol, TransactionId, VoidRequest};
use instamed_soap_contract::journal::{self, expect::Expectation};
use instamed_soap_contract::{ContractServer, ServeOptions};

const CAPTURED: &str = "C0FFEE00000000000000000000000001";
const NEVER_RECORDED: &str = "C0FFEE0000000000000000000000BEEF";
const CARD: &str = "4111111111111111";
const PASSWORD: &str = "hunter2-secret";

fn void_of(id: &str) -> VoidRequest {
    let outlet = Outlet::new("123123123", "123", "123").unwrap();
    VoidRequest::new(outlet, TransactionId::new(id).unwrap())
}

/// An NVP request no cassette answers, carrying a card number and credentials in its body
/// and its Basic token.
fn post_secrets(origin: &str) {
    let address = origin.trim_start_matches("http://");
    let body = format!("transactionAction=Sale&cardNumber={CARD}&password={PASSWORD}");
    let token = base64::engine::general_purpose::STANDARD.encode(format!("demo:{PASSWORD}"));
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /payment/NVP.aspx HTTP/1.1\r\nhost: {address}\r\nauthorization: Basic {token}\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_journals_every_request_matched_or_not() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/envelopes");
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("journal.jsonl");
    let mut options = ServeOptions::default().plain_http();
    options.journal = Some(file.clone());
    let replay = ContractServer::replay(&corpus, options).await.unwrap();
    let client = Client::builder(replay.endpoint())
        .credentials(Credentials::new("demo", PASSWORD))
        .allow_plain_http_on_loopback(true)
        .protocol(Protocol::Soap11)
        .build()
        .unwrap();

    client.void(&void_of(CAPTURED)).await.unwrap();
    assert!(client.void(&void_of(NEVER_RECORDED)).await.is_err());
    post_secrets(&replay.origin());

    let entries = replay.requests();
    replay.shutdown().await;
    assert_eq!(
        journal::read(&file).unwrap(),
        entries,
        "the file says what memory says"
    );
    let [voided, unmatched, secrets] = entries.as_slice() else {
        panic!("three requests, three entries: {entries:#?}");
    };

    assert!(voided.matched);
    assert_eq!(
        voided.cassette.as_deref(),
        Some("001-soap11-docreditcardsecondaryvoid-voided.cassette")
    );
    assert_eq!(
        voided.operation.as_deref(),
        Some("DoCreditCardSecondaryVoid")
    );
    assert_eq!(voided.protocol.as_deref(), Some("soap11"));
    assert_eq!((voided.method.as_str(), voided.status), ("POST", 200));
    assert_eq!(voided.target, "/payment/service.asmx");
    assert!(voided.body.contains(CAPTURED), "{}", voided.body);
    assert!(
        voided.time.ends_with('Z') && voided.time.len() == 24,
        "{}",
        voided.time
    );

    assert!(!unmatched.matched && unmatched.cassette.is_none());
    assert_eq!(
        unmatched.operation.as_deref(),
        Some("DoCreditCardSecondaryVoid")
    );
    assert!(unmatched.closest.is_some(), "{unmatched:?}");
    let at = unmatched.differs_at.as_deref().unwrap_or("");
    assert!(at.ends_with("PrimaryTransactionID"), "{at}");

    assert!(!secrets.matched);
    assert_eq!(secrets.protocol.as_deref(), Some("nvp"));
    assert_eq!(secrets.operation.as_deref(), Some("Sale"));
    let written = std::fs::read_to_string(&file).unwrap();
    for secret in [CARD, PASSWORD] {
        assert!(
            !written.contains(secret),
            "{secret} in the journal: {written}"
        );
    }
    assert!(secrets.body.contains("[redacted]"), "{}", secrets.body);

    let counted = |text: &str| text.parse::<Expectation>().unwrap().check(&entries).seen;
    assert_eq!(counted("DoCreditCardSecondaryVoid=2"), 2);
    assert_eq!(counted("unmatched=0"), 2);
    assert_eq!(counted("cassette:001=1"), 1);
    assert_eq!(counted("protocol:nvp=1"), 1);
}
