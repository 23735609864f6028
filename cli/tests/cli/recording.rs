//! Recording and replay keep the user's work, and the tools' temporary files stay private:
//! - `record` forwards to the upstream's own path and prints the endpoint to use, `replay`
//!   prints the endpoints its cassettes were recorded at;
//! - `record` never overwrites a cassette;
//! - a recorded value cannot write lines of its own into a cassette's head;
//! - `replay` survives deep nesting in cassettes and in requests;
//! - `contract verify` refuses what the client refuses (an answer over its size limit);
//! - response placeholders echo the request being answered;
//! - the CA directory is private, never reached through a planted symlink, and removed when
//!   `serve`, `record` or `replay` get SIGTERM.

#![cfg(unix)]

use crate::isolated;
use instamed_soap_test_support as support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use instamed_soap::{Client, Credentials, Outlet, Protocol, TransactionId, VoidRequest};
use instamed_soap_contract::{self as contract, Cassette, ContractServer, ServeOptions, Upstream};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};
use support::{Reply, Server, Version};

const PAYMENT: &str = "C0FFEE00000000000000000000000001";

fn outlet() -> Outlet {
    support::outlet_at("123")
}

fn void_of(id: &str) -> VoidRequest {
    VoidRequest::new(outlet(), TransactionId::new(id).unwrap())
}

fn client_for(endpoint: &str, ca: Option<&Path>, protocol: Protocol) -> Client {
    let mut builder = Client::builder(endpoint)
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .allow_plain_http_on_loopback(true)
        .protocol(protocol);
    if let Some(ca) = ca {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build().unwrap()
}

fn client(server: &ContractServer, protocol: Protocol) -> Client {
    client_for(&server.endpoint(), server.ca_path(), protocol)
}

/// An ASMX that lives at `/other/path/svc.asmx`: a void there is voided, anything else is 404.
async fn upstream_at_another_path() -> Server {
    Server::start(|exchange| {
        if exchange.path != "/other/path/svc.asmx" {
            return Reply::new(404, "text/html", "<html>Not Found</html>");
        }
        let id = support::field(exchange, "PrimaryTransactionID").unwrap_or_default();
        let result = support::void_result(
            Version::Soap11,
            &[
                ("ResponseCode", "000"),
                ("TransactionStatus", "C"),
                ("PrimaryTransactionID", &id),
                ("PrimaryTransactionStatus", "V"),
            ],
        );
        Reply::xml(200, Version::Soap11, result)
    })
    .await
}

fn at_other_path(server: &Server) -> String {
    server
        .url
        .replace("/payment/service.asmx", "/other/path/svc.asmx")
}

#[tokio::test(flavor = "multi_thread")]
async fn record_forwards_to_the_upstream_path_and_its_endpoint_has_that_path() {
    let upstream = upstream_at_another_path().await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = ContractServer::record(
        Upstream::new(at_other_path(&upstream)).with_ca_cert(&upstream.ca_path),
        dir.path(),
        ServeOptions::default(),
    )
    .await
    .unwrap();
    assert!(
        proxy.endpoint().ends_with("/other/path/svc.asmx"),
        "{}",
        proxy.endpoint()
    );
    assert_eq!(proxy.endpoints(), vec![proxy.endpoint()]);
    assert!(proxy.nvp_endpoints()[0].ends_with("/other/path/NVP.aspx"));
    client(&proxy, Protocol::Soap11)
        .void(&void_of(PAYMENT))
        .await
        .unwrap();
    proxy.shutdown().await;
    // The recorder's start check is a HEAD; what it forwarded is the rest.
    let paths: Vec<String> = upstream
        .requests()
        .into_iter()
        .filter(|r| r.method != http::Method::HEAD)
        .map(|r| r.path)
        .collect();
    assert_eq!(paths, ["/other/path/svc.asmx"]);

    let verdicts = contract::verify_dir(dir.path()).unwrap();
    assert_eq!(verdicts.len(), 1);
    assert!(verdicts[0].passed(), "{}", verdicts[0]);
}

/// Records one SOAP 1.1 void of a new payment through a proxy to `simulator`.
async fn record_one(simulator: &Simulator, dir: &Path) {
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "5.00")
        .unwrap();
    let upstream = Upstream::new(simulator.endpoint()).with_ca_cert(simulator.ca_path().unwrap());
    let proxy = ContractServer::record(upstream, dir, ServeOptions::default())
        .await
        .unwrap();
    client(&proxy, Protocol::Soap11)
        .void(&void_of(payment.as_str()))
        .await
        .unwrap();
    proxy.shutdown().await;
}

fn names(dir: &Path) -> Vec<String> {
    contract::verify::cassette_files(dir)
        .unwrap()
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn record_never_overwrites_a_cassette() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..3 {
        record_one(&simulator, dir.path()).await;
    }
    let first = names(dir.path());
    assert_eq!(first.len(), 3, "{first:?}");
    // A reviewer deletes the middle one; the others are kept as reviewed.
    std::fs::remove_file(dir.path().join(&first[1])).unwrap();
    let kept: Vec<(String, Vec<u8>)> = [&first[0], &first[2]]
        .iter()
        .map(|name| {
            (
                name.to_string(),
                std::fs::read(dir.path().join(name)).unwrap(),
            )
        })
        .collect();

    record_one(&simulator, dir.path()).await;
    let after = names(dir.path());
    assert_eq!(after.len(), 3, "{after:?}");
    for (name, bytes) in &kept {
        assert_eq!(
            &std::fs::read(dir.path().join(name)).unwrap(),
            bytes,
            "{name} changed"
        );
    }
    assert!(after[2].starts_with("004-"), "{after:?}");
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_newline_cannot_write_a_line_into_the_cassette_head() {
    use instamed_soap::bindings::types::{
        DoCreditCardSecondaryVoid, SecondaryCreditCardVoidRequestData,
    };
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::new(simulator.endpoint()).with_ca_cert(simulator.ca_path().unwrap());
    let proxy = ContractServer::record(upstream, dir.path(), ServeOptions::default())
        .await
        .unwrap();
    let mut transaction = SecondaryCreditCardVoidRequestData::default();
    transaction.merchant_id = Some("123\nexpect: voided".into());
    transaction.store_id = Some("123".into());
    transaction.terminal_id = Some("123".into());
    transaction.primary_transaction_id = Some(PAYMENT.into());
    transaction.primary_card_present_status = Some("PresentManualKey".into());
    let mut request = DoCreditCardSecondaryVoid::default();
    request.transaction = Some(transaction);
    // Whatever the service makes of it, the exchange is recorded.
    let _ = client(&proxy, Protocol::Soap11)
        .call::<instamed_soap::bindings::operations::DoCreditCardSecondaryVoid>(&request)
        .await;
    proxy.shutdown().await;
    simulator.shutdown().await;

    let files = contract::verify::cassette_files(dir.path()).unwrap();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let head = text.split(">>> request").next().unwrap();
    let expects: Vec<&str> = head.lines().filter(|l| l.starts_with("expect:")).collect();
    assert!(expects.len() <= 1, "{head}");
    assert!(!expects.contains(&"expect: voided"), "{head}");
    let cassette = Cassette::load(&files[0]).unwrap();
    assert_eq!(
        cassette.inputs.unwrap().merchant_id,
        "123\nexpect: voided",
        "{head}"
    );
    assert_ne!(cassette.expect.as_deref(), Some("voided"));
}

/// A corpus cassette, to copy and change.
fn corpus(name: &str) -> Cassette {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/envelopes")
        .join(name);
    Cassette::load(&path).unwrap()
}

fn deep(levels: usize) -> String {
    format!("{}x{}", "<a>".repeat(levels), "</a>".repeat(levels))
}

/// Sends `body` as a SOAP 1.1 void to a plain-HTTP server; returns the status line.
fn post_plain(origin: &str, body: &str) -> String {
    let authority = origin.trim_start_matches("http://");
    let port = authority.rsplit(':').next().unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port.parse().unwrap())).unwrap();
    let request = format!(
        "POST /payment/service.asmx HTTP/1.1\r\nhost: {authority}\r\ncontent-type: text/xml; charset=utf-8\r\nsoapaction: \"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_survives_deep_nesting_in_cassettes_and_requests() {
    let dir = tempfile::tempdir().unwrap();
    let voided = corpus("001-soap11-docreditcardsecondaryvoid-voided.cassette");
    voided.save(&dir.path().join("001.cassette")).unwrap();
    let mut hostile = voided.clone();
    hostile.request.body = deep(5_000).into_bytes();
    hostile.save(&dir.path().join("000-deep.cassette")).unwrap();

    let replay = ContractServer::replay(dir.path(), ServeOptions::default().plain_http())
        .await
        .unwrap();
    // A deep cassette is compared with every request, and answers none.
    client(&replay, Protocol::Soap11)
        .void(&void_of(PAYMENT))
        .await
        .unwrap();
    // A deep request is compared with every cassette, and gets the no-match fault.
    let status = post_plain(&replay.origin(), &deep(5_000));
    assert!(status.contains(" 500 "), "{status}");
    // The server still answers.
    client(&replay, Protocol::Soap11)
        .void(&void_of(PAYMENT))
        .await
        .unwrap();
    replay.shutdown().await;
}

#[test]
fn verify_refuses_an_answer_the_client_refuses_as_too_large() {
    let mut cassette = corpus("001-soap11-docreditcardsecondaryvoid-voided.cassette");
    assert!(contract::verify::verify(&cassette).is_empty());
    // The same answer with 2 MiB of white space inside the envelope: still a valid voided
    // answer, but over the client's 1 MiB limit.
    let body = cassette.response.body_text().replacen(
        "<soap:Body>",
        &format!("<soap:Body>{}", " ".repeat(2 << 20)),
        1,
    );
    cassette.response.body = body.into_bytes();
    let problems = contract::verify::verify(&cassette);
    assert_eq!(
        problems,
        ["the response decodes to malformed_response, expected voided"]
    );
}

/// A cassette whose request takes any payment and whose response names the one asked about.
fn echoing(name: &str, recorded: &str, any: &str, echo: &str) -> Cassette {
    let mut cassette = corpus(name);
    let request = cassette.request.body_text().replace(recorded, any);
    cassette.request.body = request.into_bytes();
    let response = cassette.response.body_text().replace(recorded, echo);
    cassette.response.body = response.into_bytes();
    cassette
}

#[tokio::test(flavor = "multi_thread")]
async fn response_placeholders_echo_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let recorded = PAYMENT;
    echoing(
        "001-soap11-docreditcardsecondaryvoid-voided.cassette",
        recorded,
        "{{any}}",
        "{{request.PrimaryTransactionID}}",
    )
    .save(&dir.path().join("soap.cassette"))
    .unwrap();
    echoing(
        "021-nvp-void-voided.cassette",
        recorded,
        "{{any}}",
        "{{request.primaryTransactionID}}",
    )
    .save(&dir.path().join("nvp.cassette"))
    .unwrap();
    // Verify fills the placeholders from the request it builds.
    for verdict in contract::verify_dir(dir.path()).unwrap() {
        assert!(verdict.passed(), "{verdict}");
    }

    let replay = ContractServer::replay(dir.path(), ServeOptions::default())
        .await
        .unwrap();
    let other = "C0FFEE000000000000000000000000AB";
    for protocol in [Protocol::Soap11, Protocol::Nvp] {
        let receipt = client(&replay, protocol)
            .void(&void_of(other))
            .await
            .unwrap_or_else(|e| panic!("{protocol}: {}", e.report()));
        assert_eq!(receipt.payment.as_str(), other, "{protocol}");
    }
    replay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ca_directory_is_private_and_no_planted_symlink_is_followed() {
    use std::os::unix::fs::PermissionsExt as _;
    let target = tempfile::tempdir().unwrap();
    // The names the CA directory once had, planted ahead of it.
    let planted: Vec<PathBuf> = (0..64)
        .map(|n| {
            std::env::temp_dir().join(format!("instamed-simulator-{}-{n}", std::process::id()))
        })
        .collect();
    for link in &planted {
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(target.path(), link).unwrap();
    }
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let ca = simulator.ca_path().unwrap().to_path_buf();
    let ca_dir = ca.parent().unwrap().to_path_buf();
    let empty = std::fs::read_dir(target.path()).unwrap().next().is_none();
    let mode = std::fs::symlink_metadata(&ca_dir)
        .unwrap()
        .permissions()
        .mode();
    let is_dir = std::fs::symlink_metadata(&ca_dir).unwrap().is_dir();
    simulator.shutdown().await;
    for link in &planted {
        std::fs::remove_file(link).unwrap();
    }
    assert!(empty, "the CA was written through a planted symlink");
    assert!(is_dir, "{} is not a directory of its own", ca_dir.display());
    assert_eq!(mode & 0o777, 0o700, "{}", ca_dir.display());
    assert!(!ca_dir.exists(), "{} is left behind", ca_dir.display());
}

/// A tool running as its own process, with its own temporary directory; killed if a test
/// fails before it is stopped.
struct Running {
    child: Child,
    lines: Vec<String>,
    stopped: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn(args: &[&str], tmp: &Path) -> Running {
    let mut command = isolated::instamed_soap();
    command
        .args(args)
        .env("TMPDIR", tmp)
        .stderr(Stdio::inherit());
    let (child, lines) = isolated::started(&mut command);
    Running {
        child,
        lines,
        stopped: false,
    }
}

impl Running {
    fn values(&self, label: &str) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(label))
            .map(|v| v.trim().to_owned())
            .collect()
    }

    /// Sends SIGTERM and checks the process stopped cleanly.
    fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        self.stopped = true;
        assert!(exit.success(), "exited with {exit:?}: {:?}", self.lines);
    }
}

/// Runs a tool until SIGTERM: its CA directory is private while it runs and gone after.
fn ca_removed_on_sigterm(args: &[&str]) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let running = spawn(args, tmp.path());
    let ca = PathBuf::from(&running.values("ca-cert:")[0]);
    let ca_dir = ca.parent().unwrap().to_path_buf();
    assert!(ca_dir.starts_with(tmp.path()), "{}", ca_dir.display());
    let mode = std::fs::metadata(&ca_dir).unwrap().permissions().mode();
    let lines = running.lines.clone();
    assert_eq!(mode & 0o777, 0o700, "{lines:?}");
    running.terminate();
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{args:?} left {left:?}");
    lines
}

#[test]
fn serve_removes_its_ca_on_sigterm() {
    ca_removed_on_sigterm(&["serve", "--listen", "127.0.0.1:0"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn record_prints_the_upstream_path_and_removes_its_ca_on_sigterm() {
    let upstream = upstream_at_another_path().await;
    let cassettes = tempfile::tempdir().unwrap();
    let url = at_other_path(&upstream);
    let ca = upstream.ca_path.display().to_string();
    let dir = cassettes.path().display().to_string();
    let lines = tokio::task::spawn_blocking(move || {
        ca_removed_on_sigterm(&[
            "record",
            "--upstream",
            &url,
            "--ca-cert",
            &ca,
            "--cassettes",
            &dir,
        ])
    })
    .await
    .unwrap();
    let endpoint = lines
        .iter()
        .find_map(|l| l.strip_prefix("endpoint:"))
        .unwrap();
    assert!(
        endpoint.trim().ends_with("/other/path/svc.asmx"),
        "{lines:?}"
    );
    let nvp = lines.iter().find_map(|l| l.strip_prefix("nvp:")).unwrap();
    assert!(nvp.trim().ends_with("/other/path/NVP.aspx"), "{lines:?}");
}

#[test]
fn replay_prints_the_endpoints_of_its_cassettes_and_removes_its_ca_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut moved = corpus("001-soap11-docreditcardsecondaryvoid-voided.cassette");
    moved.request.start = "POST /billing/pay.asmx".into();
    moved.save(&dir.path().join("a.cassette")).unwrap();
    corpus("011-soap12-docreditcardsecondaryvoid-voided.cassette")
        .save(&dir.path().join("b.cassette"))
        .unwrap();
    corpus("021-nvp-void-voided.cassette")
        .save(&dir.path().join("c.cassette"))
        .unwrap();
    let lines = ca_removed_on_sigterm(&["replay", &dir.path().display().to_string()]);
    let endpoints: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("endpoint:"))
        .map(str::trim)
        .collect();
    assert_eq!(endpoints.len(), 2, "{lines:?}");
    assert!(endpoints[0].ends_with("/billing/pay.asmx"), "{lines:?}");
    assert!(endpoints[1].ends_with("/payment/service.asmx"), "{lines:?}");
    let nvp: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("nvp:"))
        .collect();
    assert_eq!(nvp.len(), 1, "{lines:?}");
    assert!(nvp[0].trim().ends_with("/payment/NVP.aspx"), "{lines:?}");
}
