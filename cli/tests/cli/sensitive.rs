//! Nothing secret reaches a terminal, whichever way it was written: the generated leaks of
//! `tests/support/leaks.rs` (the password in every encoding, both Basic tokens, a test card in
//! every grouping) against every output path of the tool:
//!
//! - `void`, its sentence and its `--json` object, each with `-vvv` logs (text and JSON), for an
//!   answer echoing the leak (a SOAP 1.1 decline or receipt, a SOAP 1.2 fault, an NVP error, a
//!   REST decline);
//! - `void --show-wire`, each request and answer shown whole, over every protocol;
//! - `serve`'s line per request, for a path holding the leak;
//! - `record -vvv`'s lines and the cassettes it writes, for a path holding the leak and an
//!   answer echoing it;
//! - `contract import-har`'s skip lines, for a URL, a REST operation or a header name holding
//!   it.

#![cfg(unix)]

use crate::isolated::{self, lossy};
use instamed_soap_test_support as support;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request};
use instamed_soap::{Client, Credentials, Protocol};
use support::leaks::{self, ACCOUNT, CARDS, Carrier, Kind, Leak, PASSWORD};
use support::{PAYMENT, Reply, Server, version_of};

/// The leaks the tool is run against: every secret, every grouping of one card, and each other
/// card as written (the library's suite runs every card in every grouping).
fn cli_leaks() -> Vec<Leak> {
    leaks::leaks()
        .into_iter()
        .filter(|leak| {
            leak.kind == Kind::Secret
                || leak.name.starts_with(&format!("card {}", CARDS[0]))
                || leak.name.ends_with("as written")
        })
        .collect()
}

/// The carriers a void meets, one per leak in turn. (The tool does not print an HTTP error
/// page's excerpt; the library's suite searches it.)
const VOID_CARRIERS: [Carrier; 5] = [
    Carrier::Soap11Decline,
    Carrier::Soap11Receipt,
    Carrier::Soap12Fault,
    Carrier::NvpError,
    Carrier::RestDecline,
];

/// `instamed-soap void` against `server` as `carrier` needs, with `extra` flags: stdout and
/// stderr together.
fn void(server: &Server, carrier: Carrier, extra: &[&str]) -> String {
    let protocol = carrier.protocol();
    let endpoint = match protocol {
        Protocol::Rest => format!(
            "{}/base/",
            server.url.trim_end_matches("/payment/service.asmx")
        ),
        _ => server.url.clone(),
    };
    let output = isolated::instamed_soap()
        .args([
            "void",
            "--endpoint",
            &endpoint,
            "--protocol",
            protocol.as_str(),
        ])
        .args(["--merchant-id", "123123123", "--store-id", "123"])
        .args(["--terminal-id", "456", "--transaction-id", PAYMENT])
        .arg("--ca-cert")
        .arg(&server.ca_path)
        .args(extra)
        .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
        .env("INSTAMED_PASSWORD", PASSWORD)
        .env("INSTAMED_API_KEY", "key-1")
        .env("INSTAMED_API_SECRET", PASSWORD)
        .env_remove("INSTAMED_ENDPOINT")
        .env_remove("RUST_LOG")
        .env_remove("INSTAMED_LOG_FORMAT")
        .output()
        .expect("run instamed-soap");
    format!("{}{}", lossy(&output.stdout), lossy(&output.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn void_prints_no_leak_in_its_sentence_its_json_or_its_logs() {
    let echoed: Arc<Mutex<(Carrier, String)>> =
        Arc::new(Mutex::new((Carrier::Soap11Decline, String::new())));
    let server = Server::start({
        let echoed = echoed.clone();
        move |exchange| {
            let (carrier, text) = echoed.lock().unwrap().clone();
            carrier.reply(version_of(exchange), &text)
        }
    })
    .await;
    let failures = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        for (n, leak) in cli_leaks().into_iter().enumerate() {
            let carrier = match VOID_CARRIERS[n % VOID_CARRIERS.len()] {
                // A REST client signs in with its key pair alone: it holds no Basic token to
                // know, and no REST server was sent one to echo.
                Carrier::RestDecline if leak.name.contains("Basic token") => Carrier::Soap11Decline,
                carrier => carrier,
            };
            *echoed.lock().unwrap() = (carrier, leak.written.clone());
            for (how, flags) in [
                ("the sentence and text logs", &["-vvv"][..]),
                (
                    "--json and JSON logs",
                    &["--json", "-vvv", "--log-format", "json"][..],
                ),
            ] {
                let printed = void(&server, carrier, flags);
                let found = leaks::leaked(&printed);
                if !found.is_empty() {
                    failures.push(format!(
                        "{}, {carrier:?}, {how}: {found:?} in\n{printed}",
                        leak.name
                    ));
                } else if !printed.contains("[redacted]") {
                    failures.push(format!(
                        "{}, {carrier:?}, {how}: the echo was never printed",
                        leak.name
                    ));
                }
            }
        }
        failures
    })
    .await
    .unwrap();
    assert!(
        failures.is_empty(),
        "{} runs leaked:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Issue 22, item 7: `--show-wire` prints each request and its answer, headers and bodies, as
/// `curl -v` does. Over SOAP 1.1, SOAP 1.2, NVP and REST, against answers echoing every leak
/// in every carrier (an HTTP error page too, whose body the wire view shows where an error line does not), no
/// password, Basic token, API secret or card number is printed in any encoding; what is
/// printed is the exchange: the request line, the Authorization or Api-Secret header with its
/// value taken out, the answer's status line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_wire_prints_the_exchange_and_no_leak_over_every_protocol() {
    let echoed: Arc<Mutex<(Carrier, String)>> =
        Arc::new(Mutex::new((Carrier::Soap11Decline, String::new())));
    let server = Server::start({
        let echoed = echoed.clone();
        move |exchange| {
            let (carrier, text) = echoed.lock().unwrap().clone();
            carrier.reply(version_of(exchange), &text)
        }
    })
    .await;
    let carriers = [
        Carrier::Soap11Decline,
        Carrier::Soap12Fault,
        Carrier::NvpError,
        Carrier::RestDecline,
        Carrier::HttpErrorPage,
    ];
    let failures = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        // Every leak in every carrier: a body is shown as written, so each format's own
        // escaping lies on top of the leak's.
        let runs = cli_leaks().into_iter().flat_map(|leak| {
            carriers.into_iter().filter_map(move |carrier| {
                // A REST client holds no Basic token to know, and sends none to echo.
                let skipped = carrier == Carrier::RestDecline && leak.name.contains("Basic token");
                (!skipped).then(|| (leak.clone(), carrier))
            })
        });
        for (leak, carrier) in runs {
            *echoed.lock().unwrap() = (carrier, leak.written.clone());
            let printed = void(&server, carrier, &["--show-wire"]);
            let found = leaks::leaked(&printed);
            if !found.is_empty() {
                failures.push(format!(
                    "{}, {carrier:?}: {found:?} in\n{printed}",
                    leak.name
                ));
                continue;
            }
            let signed = match carrier {
                Carrier::RestDecline => "> api-secret: [redacted]",
                _ => "> authorization: [redacted]",
            };
            for shown in ["> POST /", signed, "< HTTP/1.1 ", "Refused"] {
                if !printed.contains(shown) {
                    failures.push(format!(
                        "{}, {carrier:?}: {shown:?} is not shown in\n{printed}",
                        leak.name
                    ));
                }
            }
            seen.insert(format!("{:?}", carrier.protocol()));
        }
        assert_eq!(seen.len(), 4, "every protocol was shown: {seen:?}");
        failures
    })
    .await
    .unwrap();
    assert!(
        failures.is_empty(),
        "{} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A server command run as a user runs it: its announcement read from stdout, its log read as
/// it comes (a log at `-vvv` would fill the pipe and stop the server).
struct Running {
    child: Child,
    announced: Vec<String>,
    log: std::thread::JoinHandle<String>,
}

impl Running {
    fn spawn(args: &[&str]) -> Self {
        let mut command = isolated::instamed_soap();
        command
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("INSTAMED_LOG_FORMAT")
            .stderr(Stdio::piped());
        let (mut child, announced) = isolated::started(&mut command);
        let mut stderr = child.stderr.take().expect("its log");
        let log = std::thread::spawn(move || {
            let mut log = Vec::new();
            std::io::Read::read_to_end(&mut stderr, &mut log).unwrap();
            lossy(&log)
        });
        Self {
            child,
            announced,
            log,
        }
    }

    fn endpoint(&self) -> String {
        self.announced
            .iter()
            .find_map(|line| line.strip_prefix("endpoint:").map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no endpoint in {:?}", self.announced))
    }

    /// Stops it with SIGTERM and returns what it logged.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap();
        self.log.join().unwrap()
    }
}

/// A client of a plain-HTTP loopback server at `endpoint`, for requests built by hand.
fn plain_client(endpoint: &str) -> Client {
    Client::builder(endpoint)
        .credentials(Credentials::new(ACCOUNT, PASSWORD))
        .allow_plain_http_on_loopback(true)
        .protocol(Protocol::Soap11)
        .build()
        .unwrap()
}

/// A POST to `path` signed in with the account's Basic token.
fn post(path: &str, content_type: &str, body: String) -> Request<Bytes> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", content_type)
        .header("authorization", format!("Basic {}", leaks::token(ACCOUNT)))
        .body(Bytes::from(body))
        .unwrap()
}

/// The paths a leak is sent to: REST, admin and SOAP ones.
fn paths(leak: &Leak) -> [String; 3] {
    let text = &leak.written;
    [
        format!("/rest/payment/{text}/void"),
        format!("/simulator/payments/{text}"),
        format!("/payment/{text}/service.asmx"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_logs_no_leak_of_a_path() {
    let server = Running::spawn(&["serve", "--plain-http"]);
    let client = plain_client(&server.endpoint());
    let url_safe: Vec<Leak> = cli_leaks().into_iter().filter(|l| l.url_safe).collect();
    let mut sent = 0;
    for leak in &url_safe {
        for path in paths(leak) {
            client
                .execute(post(&path, "application/json", "{}".to_owned()))
                .await
                .unwrap();
            sent += 1;
        }
    }
    let log = server.stop();
    let lines = log.lines().filter(|line| line.contains(" INFO ")).count();
    assert!(lines >= sent, "{sent} requests, {lines} lines:\n{log}");
    let found = leaks::leaked(&log);
    assert!(found.is_empty(), "{found:?} in serve's log:\n{log}");
    assert!(log.contains("path=/rest/payment/{…}/void"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn record_logs_and_stores_no_leak_of_a_path_or_an_answer() {
    // The upstream echoes the request's path in a fault, as a careless service would.
    let upstream = Server::start_plain(|exchange| {
        let version = version_of(exchange);
        let path = leaks::xml_escaped(&exchange.path);
        Reply::xml(
            500,
            version,
            support::aspnet_fault(version, "Server", &format!("no page {path}"), ""),
        )
    })
    .await;
    let cassettes = tempfile::tempdir().unwrap();
    let dir = cassettes.path().display().to_string();
    let recorder = Running::spawn(&[
        "record",
        "--upstream",
        &upstream.url,
        "--allow-plain-http",
        "--cassettes",
        &dir,
        "--plain-http",
        "-vvv",
    ]);
    let client = plain_client(&recorder.endpoint());
    let envelope = support::envelope(
        support::Version::Soap11,
        &format!(
            "<DoCreditCardSecondaryVoid xmlns=\"{}\"><transaction>\
             <PrimaryTransactionID>{PAYMENT}</PrimaryTransactionID></transaction>\
             </DoCreditCardSecondaryVoid>",
            support::TNS
        ),
    );
    let url_safe: Vec<Leak> = cli_leaks().into_iter().filter(|l| l.url_safe).collect();
    for leak in &url_safe {
        for path in paths(leak) {
            let mut request = post(&path, "text/xml; charset=utf-8", envelope.clone());
            request.headers_mut().insert(
                "soapaction",
                format!("\"{}DoCreditCardSecondaryVoid\"", support::TNS)
                    .parse()
                    .unwrap(),
            );
            client.execute(request).await.unwrap();
        }
    }
    let log = recorder.stop();
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{log}");
    let found = leaks::leaked(&log);
    assert!(found.is_empty(), "{found:?} in record's log:\n{log}");
    let mut stored = 0;
    for file in std::fs::read_dir(cassettes.path()).unwrap() {
        let path = file.unwrap().path();
        let written = std::fs::read_to_string(&path).unwrap();
        let found = leaks::leaked(&format!("{}\n{written}", path.display()));
        assert!(
            found.is_empty(),
            "{found:?} in {}:\n{written}",
            path.display()
        );
        stored += 1;
    }
    assert_eq!(stored, url_safe.len() * 3, "one cassette per request");
}

#[test]
fn import_har_prints_no_leak_in_its_skip_lines() {
    let header = |name: &str, value: &str| serde_json::json!({ "name": name, "value": value });
    let signed = |extra: Option<serde_json::Value>| {
        let mut headers = vec![
            header("Content-Type", "application/json"),
            header("Authorization", &format!("Basic {}", leaks::token(ACCOUNT))),
        ];
        headers.extend(extra);
        headers
    };
    let entry = |url: String, headers: Vec<serde_json::Value>| {
        serde_json::json!({
            "request": {
                "method": "POST",
                "url": url,
                "headers": headers,
                "postData": { "mimeType": "application/json", "text": "{}" },
            },
            "response": { "status": 200, "headers": [], "content": { "text": "{}" } },
        })
    };
    let mut entries = Vec::new();
    for leak in cli_leaks().into_iter().filter(|leak| leak.url_safe) {
        let text = &leak.written;
        entries.push(entry(
            format!("https://connect.instamed.test/cards/{text}/receipt"),
            signed(None),
        ));
        entries.push(entry(
            format!("https://connect.instamed.test/rest/payment/{text}"),
            signed(None),
        ));
    }
    for token in leaks::tokens() {
        entries.push(entry(
            "https://connect.instamed.test/rest/payment/void".to_owned(),
            signed(Some(header(&format!("Basic {token}"), "x"))),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let har = dir.path().join("capture.har");
    let count = entries.len();
    std::fs::write(
        &har,
        serde_json::to_vec(&serde_json::json!({ "log": { "entries": entries } })).unwrap(),
    )
    .unwrap();
    let output = isolated::instamed_soap()
        .args(["contract", "import-har"])
        .arg(&har)
        .arg(dir.path().join("cassettes"))
        .output()
        .unwrap();
    let printed = format!("{}{}", lossy(&output.stdout), lossy(&output.stderr));
    assert!(
        printed.contains(&format!("0 written, {count} skipped")),
        "{printed}"
    );
    let found = leaks::leaked(&printed);
    assert!(found.is_empty(), "{found:?} in:\n{printed}");
    assert!(
        printed.contains("the name of its request header 3 (of 3)"),
        "{printed}"
    );
}
