//! The tool's log, as a user meets it: `-v`, `-vv`, `RUST_LOG` and `--log-format json` on a
//! void; one line per request from `serve`, `record` and `replay`; a recorder that says its
//! upstream failed; and never a secret in any of it.

#![cfg(unix)]

use crate::isolated::{self, lossy};
use std::io::Write as _;
use std::process::{Child, Command, Output, Stdio};

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use instamed_soap::{Client, Credentials, Outlet, Protocol, TransactionId, VoidRequest};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};

/// A Luhn-valid test card number.
const CARD: &str = "4111111111111111";

fn outlet() -> Outlet {
    Outlet::new("123123123", "123", "123").unwrap()
}

fn basic_token() -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"))
}

fn assert_no_secret(what: &str, printed: &str) {
    for secret in [DEMO_PASSWORD, basic_token().as_str(), CARD] {
        assert!(
            !printed.contains(secret),
            "{what} shows {secret:?}:\n{printed}"
        );
    }
}

/// `instamed-soap void` of `payment` against the simulator, with `extra` arguments and
/// environment.
fn void(simulator: &Simulator, payment: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = isolated::instamed_soap();
    command
        .arg("void")
        .args(["--endpoint", &simulator.endpoint()])
        .args(isolated::OUTLET)
        .args(["--transaction-id", payment])
        .args(extra)
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
        .env_remove("RUST_LOG")
        .env_remove("INSTAMED_LOG_FORMAT")
        .env_remove("INSTAMED_ENDPOINT");
    if let Some(ca) = simulator.ca_path() {
        command.arg("--ca-cert").arg(ca);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn void_logs_to_stderr_when_asked_and_never_a_secret() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let ledger = simulator.ledger();
    let run = |extra: &'static [&'static str], env: &'static [(&'static str, &'static str)]| {
        let payment = ledger.create_payment(&outlet(), "10.00").unwrap();
        let output = void(&simulator, payment.as_str(), extra, env);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{extra:?} {env:?}: {}",
            lossy(&output.stderr)
        );
        assert!(lossy(&output.stdout).contains("voided"));
        (payment, output)
    };

    // By default a one-shot command says its answer and nothing else.
    let (_, quiet) = run(&[], &[]);
    assert_eq!(lossy(&quiet.stderr), "");

    // -v: the call's span closes with its payment, protocol and verdict.
    let (payment, verbose) = run(&["-v", "--protocol", "soap12"], &[]);
    let stderr = lossy(&verbose.stderr);
    let summary = stderr
        .lines()
        .find(|line| line.contains("instamed_soap.void{"))
        .unwrap_or_else(|| panic!("no span line in {stderr}"));
    assert!(summary.contains(" INFO "), "{summary}");
    assert!(summary.contains(&format!("payment={payment}")), "{summary}");
    assert!(summary.contains("protocol=soap12"), "{summary}");
    assert!(summary.contains("verdict=\"voided\"") || summary.contains("verdict=voided"));
    assert!(!stderr.contains("DEBUG"), "{stderr}");

    // The flag may come after the command, and -vv shows what was sent and answered.
    let (_, debug) = run(&["--protocol", "nvp", "-vv"], &[]);
    let stderr = lossy(&debug.stderr);
    assert!(stderr.contains(" DEBUG "), "{stderr}");
    assert!(stderr.contains("answered"), "{stderr}");

    // RUST_LOG takes precedence over the flags.
    let (_, traced) = run(&["-q"], &[("RUST_LOG", "trace")]);
    let stderr = lossy(&traced.stderr);
    assert!(stderr.contains(" DEBUG "), "{stderr}");
    assert!(stderr.contains("instamed_soap.void{"), "{stderr}");
    for output in [&quiet, &verbose, &debug, &traced] {
        let printed = format!("{}{}", lossy(&output.stdout), lossy(&output.stderr));
        assert_no_secret("void", &printed);
    }

    // A card number typed where the payment's ID goes is refused before anything is sent,
    // and said without the number.
    let mistyped = void(&simulator, CARD, &["-vv"], &[]);
    assert_eq!(
        mistyped.status.code(),
        Some(2),
        "{}",
        lossy(&mistyped.stderr)
    );
    let printed = format!("{}{}", lossy(&mistyped.stdout), lossy(&mistyped.stderr));
    assert!(printed.contains("card number"), "{printed}");
    assert!(!printed.contains("instamed_soap.void{"), "sent: {printed}");
    assert_no_secret("a void of a card number", &printed);
    let as_json = void(&simulator, CARD, &["--json"], &[]);
    assert_eq!(as_json.status.code(), Some(2), "{}", lossy(&as_json.stderr));
    let printed = format!("{}{}", lossy(&as_json.stdout), lossy(&as_json.stderr));
    assert!(printed.contains("\"payment\""), "{printed}");
    assert_no_secret("a void of a card number, in JSON", &printed);

    // A RUST_LOG that is not a filter is said, not ignored.
    let payment = ledger.create_payment(&outlet(), "10.00").unwrap();
    let bad = void(
        &simulator,
        payment.as_str(),
        &[],
        &[("RUST_LOG", "instamed_soap=loud")],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", lossy(&bad.stderr));
    assert!(
        lossy(&bad.stderr).contains("RUST_LOG"),
        "{}",
        lossy(&bad.stderr)
    );
    simulator.shutdown().await;
}

/// An environment variable a run sets: name, value.
type Variable = (&'static str, &'static str);

#[tokio::test(flavor = "multi_thread")]
async fn json_log_lines_are_each_one_json_object() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let ledger = simulator.ledger();
    let by_flag = ["--log-format", "json", "-vv"];
    let cases: [(&[&str], &[Variable]); 2] = [
        (&by_flag, &[]),
        (&["-vv"], &[("INSTAMED_LOG_FORMAT", "json")]),
    ];
    for (extra, env) in cases {
        let payment = ledger.create_payment(&outlet(), "10.00").unwrap();
        let output = void(&simulator, payment.as_str(), extra, env);
        assert_eq!(output.status.code(), Some(0), "{}", lossy(&output.stderr));
        let stderr = lossy(&output.stderr);
        let lines: Vec<serde_json::Value> = stderr
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: not JSON: {line}"))
            })
            .collect();
        assert!(lines.len() >= 2, "{stderr}");
        for line in &lines {
            assert!(line["level"].is_string(), "{line}");
            assert!(line["fields"].is_object(), "{line}");
        }
        let closed = lines
            .iter()
            .find(|line| line["span"]["name"] == "instamed_soap.void" && line["level"] == "INFO")
            .unwrap_or_else(|| panic!("no void span in {stderr}"));
        assert_eq!(closed["span"]["payment"], payment.as_str());
        assert_eq!(closed["span"]["verdict"], "voided");
        assert_no_secret("json log", &stderr);
    }
    simulator.shutdown().await;
}

/// A server command run as a user runs it: its announcement read from stdout, its log kept.
struct Server {
    child: Child,
    announced: Vec<String>,
}

impl Server {
    fn spawn(args: &[&str]) -> Self {
        let mut command = isolated::instamed_soap();
        command
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("INSTAMED_LOG_FORMAT")
            .stderr(Stdio::piped());
        let (child, announced) = isolated::started(&mut command);
        Self { child, announced }
    }

    fn value(&self, label: &str) -> String {
        self.announced
            .iter()
            .find_map(|line| line.strip_prefix(label).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no {label} in {:?}", self.announced))
    }

    /// Stops it with SIGTERM and returns what it logged.
    fn stop(self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = self.child.wait_with_output().unwrap();
        assert!(output.status.success(), "{output:?}");
        lossy(&output.stderr)
    }
}

fn client(endpoint: &str, protocol: Protocol) -> Client {
    Client::builder(endpoint)
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .allow_plain_http_on_loopback(true)
        .protocol(protocol)
        .build()
        .unwrap()
}

fn line_with<'a>(log: &'a str, parts: &[&str]) -> &'a str {
    log.lines()
        .find(|line| parts.iter().all(|part| line.contains(part)))
        .unwrap_or_else(|| panic!("no line with {parts:?} in:\n{log}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_logs_one_line_per_request_without_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = dir.path().join("seeds.csv");
    let payment = "5EED0000000000000000000000000001";
    let mut file = std::fs::File::create(&seeds).unwrap();
    writeln!(file, "{payment},123123123,123,123,10.00").unwrap();
    let seeds = seeds.display().to_string();
    let server = Server::spawn(&["serve", "--plain-http", "--seed-file", &seeds]);
    let endpoint = server.value("endpoint:");

    let request = VoidRequest::new(outlet(), TransactionId::new(payment).unwrap());
    client(&endpoint, Protocol::Soap11)
        .void(&request)
        .await
        .unwrap();
    // An NVP sale with its card and password in the query: the line shows the path alone.
    let query = format!(
        "/payment/NVP.aspx?transactionType=CreditCard&transactionAction=Sale&merchantID=123123123\
         &storeID=123&terminalID=123&amount=1.00&cardNumber={CARD}&password={DEMO_PASSWORD}"
    );
    let sale = Request::builder()
        .method(Method::GET)
        .uri(query)
        .header("authorization", format!("Basic {}", basic_token()))
        .body(Bytes::new())
        .unwrap();
    let answer = client(&endpoint, Protocol::Nvp)
        .execute(sale)
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let log = server.stop();

    let void = line_with(&log, &["path=/payment/service.asmx"]);
    assert!(void.contains(" INFO "), "{void}");
    for part in [
        "method=POST",
        "protocol=soap11",
        "operation=DoCreditCardSecondaryVoid",
        "verdict=voided",
        "status=200",
        "latency_ms=",
    ] {
        assert!(void.contains(part), "{part} is not in {void}");
    }
    let sale = line_with(&log, &["path=/payment/NVP.aspx"]);
    for part in [
        "method=GET",
        "protocol=nvp",
        "operation=Sale",
        "verdict=approved",
    ] {
        assert!(sale.contains(part), "{part} is not in {sale}");
    }
    assert!(!sale.contains('?'), "{sale}");
    assert_no_secret("serve's log", &log);
    assert!(!log.contains(DEMO_ACCOUNT_ID), "{log}");
}

fn soap11_void(payment: &str) -> Request<Bytes> {
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope \
         xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
         <DoCreditCardSecondaryVoid xmlns=\"http://online.instamed.com/TransactionServices/Payment/v1r3/\">\
         <transaction><PrimaryTransactionID>{payment}</PrimaryTransactionID></transaction>\
         </DoCreditCardSecondaryVoid></soap:Body></soap:Envelope>"
    );
    Request::builder()
        .method(Method::POST)
        .uri("/payment/service.asmx")
        .header("content-type", "text/xml; charset=utf-8")
        .header(
            "soapaction",
            "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"",
        )
        .header("authorization", format!("Basic {}", basic_token()))
        .body(Bytes::from(envelope))
        .unwrap()
}

/// The upstream went away after `record` started: the void is answered as not forwarded
/// (a SOAP 1.1 client fault, as a rejected request), and the log says why, at ERROR.
#[tokio::test(flavor = "multi_thread")]
async fn record_says_when_its_upstream_fails() {
    let cassettes = tempfile::tempdir().unwrap();
    let upstream = crate::setup_mistakes::GoneAfterOneAnswer::start();
    let dir = cassettes.path().display().to_string();
    let recorder = Server::spawn(&[
        "record",
        "--upstream",
        &upstream.endpoint,
        "--allow-plain-http",
        "--cassettes",
        &dir,
        "--plain-http",
    ]);
    upstream.wait_gone();
    let endpoint = recorder.value("endpoint:");
    let answer = client(&endpoint, Protocol::Soap11)
        .execute(soap11_void("DEAD0000000000000000000000000001"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        lossy(answer.body()).contains("<faultcode>soap:Client</faultcode>"),
        "{answer:?}"
    );
    let log = recorder.stop();
    let line = line_with(&log, &["could not reach the upstream"]);
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("status=500"), "{line}");
    assert!(line.contains("path=/payment/service.asmx"), "{line}");
    assert_no_secret("record's log", &log);
    assert_eq!(std::fs::read_dir(cassettes.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn record_and_replay_name_the_cassette_of_each_request() {
    let simulator = Simulator::start(SimulatorConfig::default().with_tls(false))
        .await
        .unwrap();
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    let cassettes = tempfile::tempdir().unwrap();
    let dir = cassettes.path().display().to_string();
    let recorder = Server::spawn(&[
        "record",
        "--upstream",
        &simulator.endpoint(),
        "--allow-plain-http",
        "--cassettes",
        &dir,
        "--plain-http",
    ]);
    let request = VoidRequest::new(outlet(), payment.clone());
    client(&recorder.value("endpoint:"), Protocol::Soap11)
        .void(&request)
        .await
        .unwrap();
    let log = recorder.stop();
    simulator.shutdown().await;
    let recorded = line_with(&log, &["recorded"]);
    for part in [
        "protocol=soap11",
        "operation=DoCreditCardSecondaryVoid",
        "verdict=voided",
        "status=200",
        "cassette=001-soap11-",
    ] {
        assert!(recorded.contains(part), "{part} is not in {recorded}");
    }
    assert_no_secret("record's log", &log);

    let replayer = Server::spawn(&["replay", &dir, "--plain-http"]);
    let endpoint = replayer.value("endpoint:");
    client(&endpoint, Protocol::Soap11)
        .void(&request)
        .await
        .unwrap();
    // Nothing was recorded over NVP: that request matches no cassette.
    let unmatched = client(&endpoint, Protocol::Nvp).void(&request).await;
    assert!(unmatched.is_err());
    let log = replayer.stop();
    let replayed = line_with(&log, &["replayed"]);
    for part in ["verdict=voided", "status=200", "cassette=001-soap11-"] {
        assert!(replayed.contains(part), "{part} is not in {replayed}");
    }
    let missed = line_with(&log, &["no cassette matches"]);
    assert!(missed.contains("WARN"), "{missed}");
    assert!(missed.contains("protocol=nvp"), "{missed}");
    assert_no_secret("replay's log", &log);
}

#[test]
fn soak_names_its_endings_in_words() {
    let output = isolated::instamed_soap()
        .args([
            "soak",
            "--voids",
            "300",
            "--concurrency",
            "8",
            "--fault-rate",
            "0.6",
        ])
        .args(["--seed", "7"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let printed = format!("{}{}", lossy(&output.stdout), lossy(&output.stderr));
    assert!(printed.contains("accounted 300 of 300"), "{printed}");
    for debug_style in [
        "(\"",
        "NotVoided",
        "VoidedOnRetry",
        "ConfirmedAlreadyVoided",
        "Unknown",
    ] {
        assert!(!printed.contains(debug_style), "{debug_style}:\n{printed}");
    }
    assert!(printed.contains("voided"), "{printed}");
}

/// A RUST_LOG that is not text is reported like a mistyped one, not silently ignored.
#[cfg(unix)]
#[test]
fn a_rust_log_that_is_not_text_exits_2() {
    use std::os::unix::ffi::OsStrExt as _;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
        .args(["contract", "verify", "/nonexistent-directory"])
        .env(
            "RUST_LOG",
            std::ffi::OsStr::from_bytes(b"instamed_soap=\xff"),
        )
        .output()
        .expect("run instamed-soap");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("RUST_LOG") && stderr.contains("not UTF-8"),
        "{stderr}"
    );
}

/// A RUST_LOG is read as a whole: every comma-separated directive must be one, so that a typo
/// is said rather than quietly filtering nothing (tracing skips empty directives and reads
/// `" info"` as a target). Good filters still work.
#[test]
fn a_rust_log_that_does_not_parse_as_a_whole_exits_2_naming_the_directive() {
    let run = |value: &str| {
        isolated::instamed_soap()
            .args(["ledger", "path"])
            .env("RUST_LOG", value)
            .output()
            .expect("run instamed-soap")
    };
    for (value, names) in [
        ("instamed_soap=LOUD", "directive 1"),
        ("instamed_soap=LOUD,,==", "directive 1"),
        ("info,==", "directive 2"),
        (",,", "directive 1 is empty"),
        ("info,", "directive 2 is empty"),
        (",instamed_soap=debug", "directive 1 is empty"),
        ("info,,debug", "directive 2 is empty"),
        (" info", "spaces"),
        ("info ", "spaces"),
        ("warn, instamed_soap=debug", "directive 2"),
        ("inf o", "target"),
        ("instamed soap=info", "target"),
        ("x;y", "target"),
        ("=", "directive 1"),
    ] {
        let output = run(value);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{value:?}: {stderr}");
        assert!(
            stderr.contains("RUST_LOG") && stderr.contains(names),
            "{value:?}: {stderr}"
        );
    }
    for value in [
        "info",
        "off",
        "instamed_soap",
        "instamed_soap=debug,hyper=warn",
        "instamed_soap_simulator=trace",
        "warn,instamed_soap[instamed_soap.void]=debug",
        "instamed_soap[answered{status=200}]=debug",
        "   ",
    ] {
        let output = run(value);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{value:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
