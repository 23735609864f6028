//! `instamed-soap gateway` run as an operator runs it: `hash-secret` into a clients file, the
//! `--demo` in front of the embedded simulator, an ERP's void through it over real TLS (and
//! plain HTTP on loopback), a repeat answered the same, the refusals of a wrong setup, and
//! SIGTERM.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Stdio};

use http::Method;
use instamed_soap_test_support::raw_https::{self, RawResponse, Target};

use crate::isolated::{self, code, described};

/// A running `gateway`, and what it printed up to how to stop it; killed when dropped.
struct Started {
    child: Child,
    printed: Vec<String>,
}

impl Started {
    fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    fn start_with_env(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut command = isolated::instamed_soap();
        command
            .arg("gateway")
            .args(args)
            .envs(envs.iter().copied())
            .stderr(Stdio::inherit());
        let (child, printed) = isolated::started(&mut command);
        Self { child, printed }
    }

    fn value(&self, label: &str) -> String {
        isolated::printed_value(&self.printed, label)
            .unwrap_or_else(|| panic!("no {label} line in {:?}", self.printed))
    }

    /// The port the gateway listens on, from the SOAP address it printed.
    fn port(&self) -> u16 {
        self.value("soap:")
            .trim_end_matches("/payment/service.asmx")
            .rsplit(':')
            .next()
            .expect("port")
            .parse()
            .expect("port")
    }

    /// POSTs a SOAP 1.1 void of `payment` as .NET writes it, signed in as `client`.
    async fn void(&self, client: &str, payment: &str) -> RawResponse {
        let soap = self.value("soap:");
        let origin = soap.trim_end_matches("/payment/service.asmx");
        let port = self.port();
        let host = raw_https::host(origin);
        let ca = self
            .printed
            .iter()
            .find_map(|line| line.strip_prefix("ca-cert:").map(|v| v.trim().to_owned()));
        raw_https::erp_soap11(
            Target {
                addr: ([127, 0, 0, 1], port).into(),
                host: &host,
                ca: ca.as_deref().map(Path::new),
            },
            client,
            "DoCreditCardSecondaryVoid",
            payment,
            "",
        )
        .await
        .expect("an answer")
    }

    fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        // Already signalled, it may be gone: the exit status says how it ended.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        self.child.wait().expect("wait").code()
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn payment_of(started: &Started) -> String {
    started
        .value("payment:")
        .split_whitespace()
        .next()
        .expect("an ID")
        .to_owned()
}

fn voided(answer: &RawResponse) -> bool {
    answer.status == 200
        && raw_https::xml_text(&answer.body, "TransactionStatus").as_deref() == Some("C")
        && raw_https::xml_text(&answer.body, "PrimaryTransactionStatus").as_deref() == Some("V")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_prints_its_addresses_and_client_and_voids_once_over_tls_until_sigterm() {
    let started = Started::start(&["--demo", "--listen", "127.0.0.1:0"]);
    for label in [
        "soap:", "api:", "metrics:", "ca-cert:", "client:", "payment:",
    ] {
        started.value(label);
    }
    assert!(started.value("soap:").starts_with("https://localhost:"));
    let client = started.value("client:");
    let payment = payment_of(&started);
    for _ in 0..3 {
        let answer = started.void(&client, &payment).await;
        assert!(voided(&answer), "{answer:?}");
    }
    let refused = started.void("demo-erp:wrong", &payment).await;
    assert_eq!(refused.status, 401);
    assert_eq!(started.terminate(), Some(0), "SIGTERM stops it cleanly");
}

/// An operator's log holds one line per request, naming the payment a void was about (the
/// call inside it leaves no second line), the client and the outcome; a refused sign-in names
/// no payment, and a card number sent as a payment's ID is not written.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_holds_one_line_per_request_naming_its_payment() {
    let dir = tempfile::tempdir().expect("dir");
    let log_path = dir.path().join("gateway.log");
    let mut command = isolated::instamed_soap();
    command
        .args(["gateway", "--demo", "--listen", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .env_remove("INSTAMED_LOG_FORMAT")
        .stderr(std::fs::File::create(&log_path).expect("log file"));
    let (child, printed) = isolated::started(&mut command);
    let started = Started { child, printed };
    let (client, payment) = (started.value("client:"), payment_of(&started));
    for _ in 0..2 {
        let answer = started.void(&client, &payment).await;
        assert!(voided(&answer), "{answer:?}");
    }
    assert_eq!(started.void("demo-erp:wrong", &payment).await.status, 401);
    // An ERP that put a card number where the payment's ID goes.
    let card = "4111111111111111";
    started.void(&client, card).await;
    assert_eq!(started.terminate(), Some(0));

    let log = std::fs::read_to_string(&log_path).expect("the log");
    let requests: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" request "))
        .collect();
    assert_eq!(requests.len(), 4, "{log}");
    let client_name = client.split(':').next().expect("a name");
    for line in &requests[..2] {
        for part in [
            &format!("payment={payment}") as &str,
            "route=\"soap\"",
            &format!("client=\"{client_name}\""),
            "outcome=\"voided\"",
        ] {
            assert!(line.contains(part), "{part} missing from {line}");
        }
    }
    assert!(
        requests[2].contains("outcome=\"unauthorized\""),
        "{}",
        requests[2]
    );
    assert!(!requests[2].contains("payment="), "{}", requests[2]);
    assert_eq!(
        log.matches(payment.as_str()).count(),
        2,
        "a line besides the requests' names the payment:\n{log}"
    );
    // Refused before the ledger or InstaMed sees it, and named nowhere.
    assert!(
        requests[3].contains("outcome=\"rejected\""),
        "{}",
        requests[3]
    );
    assert!(!requests[3].contains("payment="), "{}", requests[3]);
    let secret = client.split_once(':').expect("name:secret").1;
    for never in [secret, card] {
        assert!(!log.contains(never), "{never} in {log}");
    }
}

/// `--threads` sets how many runtime threads serve requests (one unless asked; the gateway
/// logs the count as it starts), a gateway on several serves as one does, and a count of none
/// is refused before anything starts.
#[tokio::test(flavor = "multi_thread")]
async fn threads_sets_the_runtime_threads_that_serve_requests() {
    for (args, threads) in [
        (&[][..], "threads=1"),
        (&["--threads", "3"][..], "threads=3"),
    ] {
        let mut command = isolated::instamed_soap();
        command
            .args(["gateway", "--demo", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped());
        let (mut child, printed) = isolated::started(&mut command);
        let log = std::io::BufRead::lines(std::io::BufReader::new(
            child.stderr.take().expect("its log"),
        ));
        let started = Started { child, printed };
        // Read on a thread of its own: the log stays open while the gateway runs.
        let (line, serving) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end, past a line that is not UTF-8: a full pipe would stop the
            // gateway.
            for said in log {
                match said {
                    Ok(said) if said.contains("gateway serving") => {
                        let _ = line.send(said);
                    }
                    Ok(_) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {}
                    Err(_) => break,
                }
            }
        });
        let serving = serving
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a line saying the gateway serves");
        assert!(serving.contains(threads), "{args:?}: {serving}");
        let answer = started
            .void(&started.value("client:"), &payment_of(&started))
            .await;
        assert!(voided(&answer), "{args:?}: {answer:?}");
    }
    let refused = isolated::instamed_soap()
        .args(["gateway", "--demo", "--threads", "0"])
        .output()
        .expect("run");
    assert_eq!(code(&refused), 2, "{}", described(&refused));
    assert!(
        isolated::text(&refused).contains("--threads"),
        "{}",
        described(&refused)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_from_hash_secret_in_a_clients_file_signs_in_and_its_secret_is_never_written() {
    let secret = "clients-file-secret-3b9e";
    let mut hashing = isolated::instamed_soap()
        .args(["gateway", "hash-secret"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hash-secret");
    writeln!(hashing.stdin.take().expect("stdin"), "{secret}").expect("write the secret");
    let output = hashing.wait_with_output().expect("hash-secret");
    assert_eq!(code(&output), 0, "{}", described(&output));
    let hash = String::from_utf8(output.stdout).expect("text");
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(secret));

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("clients.toml");
    std::fs::write(&file, format!("[clients]\nbilling = \"{hash}\"\n")).expect("clients file");
    let started = Started::start(&[
        "--demo",
        "--plain-http",
        "--listen",
        "127.0.0.1:0",
        "--clients",
        file.to_str().expect("utf-8 path"),
    ]);
    assert!(started.value("soap:").starts_with("http://localhost:"));
    let payment = payment_of(&started);
    let answer = started.void(&format!("billing:{secret}"), &payment).await;
    assert!(voided(&answer), "{answer:?}");
}

#[test]
fn plain_http_off_loopback_and_no_certificate_are_refused_before_anything_starts() {
    for args in [
        &["--plain-http", "--listen", "0.0.0.0:0"][..],
        &["--listen", "127.0.0.1:0"][..],
    ] {
        let output = isolated::instamed_soap()
            .arg("gateway")
            .args(args)
            .args([
                "--upstream",
                "https://127.0.0.1:9/payment/service.asmx",
                "--client",
                "erp:s",
            ])
            .env("INSTAMED_ACCOUNT_ID", "account")
            .env("INSTAMED_PASSWORD", "password")
            .output()
            .expect("run");
        assert_eq!(code(&output), 2, "{args:?}: {}", described(&output));
        assert!(output.stdout.is_empty());
    }
}

/// SIGTERM while a void is out: the gateway stops accepting, the void's answer comes back to
/// the ERP and is recorded, and the exit code is 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_answers_and_records_the_void_in_flight() {
    let dir = tempfile::tempdir().expect("dir");
    let payment = "0D6F1C2B3A4958677685A4B3C2D1E0F1";
    let upstream = Upstream::start(dir.path(), &[payment.to_owned()], &["--latency", "1500ms"]);
    let ledger = dir.path().join("ledger.db");
    let ledger_arg = ledger.to_str().expect("a UTF-8 path");
    let started = Started::in_front_of(&upstream, &["--ledger", ledger_arg], &[], None);
    let pid = started.child.id().to_string();
    let in_flight = started.void("erp:secret", payment);
    let signal = async {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
    };
    let (answer, ()) = tokio::join!(in_flight, signal);
    assert!(voided(&answer), "{answer:?}");
    assert_eq!(started.terminate(), Some(0));
    drop(upstream);
    let ledger = instamed_soap_ledger::Ledger::open(&ledger).expect("ledger");
    let standing = ledger
        .standing(&instamed_soap::TransactionId::new(payment).expect("id"))
        .expect("standing");
    assert!(
        standing.voided().is_some(),
        "recorded: {:?}",
        standing.entries
    );
}

/// `instamed-soap serve` as a process, run with `args`, holding `payments` (captured, 5.00 at
/// the outlet the ERP names), its CA and seed file in `dir`; killed when dropped.
struct Upstream {
    child: Child,
    endpoint: String,
    ca: String,
}

impl Upstream {
    fn start(dir: &Path, payments: &[String], args: &[&str]) -> Self {
        let ca = dir.join("ca.pem");
        let seed = dir.join("payments.csv");
        let rows: String = payments
            .iter()
            .map(|id| format!("{id},123123123,123,456,5.00\n"))
            .collect();
        std::fs::write(&seed, rows).expect("seed");
        let mut command = isolated::instamed_soap();
        command
            .arg("serve")
            .args(args)
            .arg("--ca-out")
            .arg(&ca)
            .arg("--seed-file")
            .arg(&seed)
            .stderr(Stdio::null());
        let (child, printed) = isolated::started(&mut command);
        let endpoint = isolated::printed_value(&printed, "endpoint:").expect("an endpoint line");
        let ca = ca.to_str().expect("a UTF-8 path").to_owned();
        Self {
            child,
            endpoint,
            ca,
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Started {
    /// A gateway in front of `upstream` on plain HTTP on loopback, its client `erp:secret`,
    /// InstaMed's credentials the simulator's demo account, with `more` arguments and `envs`;
    /// its log in `log` (else the test's own stderr).
    fn in_front_of(
        upstream: &Upstream,
        more: &[&str],
        envs: &[(&str, &str)],
        log: Option<&Path>,
    ) -> Self {
        let mut command = isolated::instamed_soap();
        command
            .args(["gateway", "--plain-http", "--listen", "127.0.0.1:0"])
            .args(["--upstream", &upstream.endpoint, "--ca-cert", &upstream.ca])
            .args(["--client", "erp:secret"])
            .args(more)
            .env(
                "INSTAMED_ACCOUNT_ID",
                instamed_soap_simulator::DEMO_ACCOUNT_ID,
            )
            .env("INSTAMED_PASSWORD", instamed_soap_simulator::DEMO_PASSWORD)
            .envs(envs.iter().copied());
        match log {
            Some(log) => command
                .env_remove("RUST_LOG")
                .env_remove("INSTAMED_LOG_FORMAT")
                .stderr(std::fs::File::create(log).expect("log file")),
            None => command.stderr(Stdio::inherit()),
        };
        let (child, printed) = isolated::started(&mut command);
        Self { child, printed }
    }
}

/// A void whose answer was lost (the simulator voids, then answers with a server fault) is
/// reconciled in the background, and the log says so as an operator reads it: the ERP's first
/// request `outcome_unknown`, a line for the reconciliation's round naming its verdict (the
/// void's own span writes none in a server), the ERP's retry `voided`, each request line
/// naming the payment.
#[tokio::test(flavor = "multi_thread")]
async fn the_log_names_a_reconciliations_verdict_and_each_requests_payment() {
    let dir = tempfile::tempdir().expect("dir");
    let payment = "5A6F1C2B3A4958677685A4B3C2D1E0F3";
    // It voids the first payment it is asked to, then answers with a server fault.
    let faults = ["--fault-rate", "1", "--max-faults", "1", "--seed", "7"];
    let upstream = Upstream::start(dir.path(), &[payment.to_owned()], &faults);
    let log_path = dir.path().join("gateway.log");
    let ledger = dir.path().join("ledger.db");
    let ledger_arg = ledger.to_str().expect("a UTF-8 path");
    let started = Started::in_front_of(&upstream, &["--ledger", ledger_arg], &[], Some(&log_path));
    let first = started.void("erp:secret", payment).await;
    assert_eq!(first.status, 500, "{first:?}");
    let mut settled = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let retry = started.void("erp:secret", payment).await;
        if retry.status == 200 {
            settled = Some(retry);
            break;
        }
    }
    let settled = settled.expect("the reconciliation settles the void");
    assert!(voided(&settled), "{settled:?}");
    assert_eq!(started.terminate(), Some(0));
    drop(upstream);

    let log = std::fs::read_to_string(&log_path).expect("the log");
    let round = log
        .lines()
        .rev()
        .find(|line| line.contains("reconciling a void of unknown outcome"))
        .unwrap_or_else(|| panic!("no reconciliation line:\n{log}"));
    for part in [
        &format!("payment={payment}") as &str,
        "settled=true",
        "verdict=\"voided\"",
    ] {
        assert!(round.contains(part), "{part} missing from {round}");
    }
    let requests: Vec<&str> = log
        .lines()
        .filter(|line| line.contains(" request route="))
        .collect();
    let (Some(asked), Some(answered)) = (requests.first(), requests.last()) else {
        panic!("no request line:\n{log}");
    };
    assert!(asked.contains("outcome=\"outcome_unknown\""), "{asked}");
    assert!(answered.contains("outcome=\"voided\""), "{answered}");
    for line in &requests {
        assert!(
            line.contains(&format!("request{{payment={payment}}}")),
            "{line}"
        );
    }
}

/// A request that gets no answer still leaves its one line, naming its client (and its
/// payment, when it named one): an ERP that hangs up while its void is with InstaMed (the void
/// goes on, and a retry is answered from the ledger) and a body the gateway cannot read (a
/// chunk size that is not hex).
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_gets_no_answer_still_leaves_its_one_line() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let dir = tempfile::tempdir().expect("dir");
    let payment = "5A6F1C2B3A4958677685A4B3C2D1E0F4";
    let upstream = Upstream::start(dir.path(), &[payment.to_owned()], &["--latency", "1s"]);
    let log_path = dir.path().join("gateway.log");
    let ledger = dir.path().join("ledger.db");
    let ledger_arg = ledger.to_str().expect("a UTF-8 path");
    let started = Started::in_front_of(&upstream, &["--ledger", ledger_arg], &[], Some(&log_path));
    let hung_up = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        started.void("erp:secret", payment),
    )
    .await;
    assert!(hung_up.is_err(), "answered within 300 ms: {hung_up:?}");
    // The void goes on without its ERP; once it is back, a retry is answered from the ledger.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(voided(&started.void("erp:secret", payment).await));

    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", started.port()))
        .await
        .expect("connect");
    let head = format!(
        "POST /payment/service.asmx HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: {}\r\n\
         content-type: text/xml; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        raw_https::basic_of("erp:secret")
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_end(&mut answer),
    )
    .await;
    assert_eq!(started.terminate(), Some(0));
    drop(upstream);

    let log = std::fs::read_to_string(&log_path).expect("the log");
    let requests: Vec<&str> = log.lines().filter(|l| l.contains(" request ")).collect();
    assert_eq!(requests.len(), 3, "{log}");
    for part in [
        &format!("request{{payment={payment}}}") as &str,
        "client=\"erp\"",
        "outcome=\"connection_closed\"",
    ] {
        assert!(
            requests[0].contains(part),
            "{part} missing from {}",
            requests[0]
        );
    }
    assert!(
        requests[1].contains("outcome=\"voided\""),
        "{}",
        requests[1]
    );
    assert!(requests[1].contains("status=200"), "{}", requests[1]);
    for part in ["client=\"erp\"", "outcome=\"body_unreadable\""] {
        assert!(
            requests[2].contains(part),
            "{part} missing from {}",
            requests[2]
        );
    }
    for unanswered in [requests[0], requests[2]] {
        assert!(!unanswered.contains("status="), "{unanswered}");
    }
}

/// `--rate-limit` holds a gateway started in front of an upstream, not only `--demo`'s: with
/// one request a second (bursts of two), ten quick repeats of a void meet a 429.
#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_holds_a_gateway_in_front_of_an_upstream() {
    let dir = tempfile::tempdir().expect("dir");
    let payment = "5A6F1C2B3A4958677685A4B3C2D1E0F2";
    let upstream = Upstream::start(dir.path(), &[payment.to_owned()], &[]);
    let ledger = dir.path().join("ledger.db");
    let ledger_arg = ledger.to_str().expect("a UTF-8 path");
    let started = Started::in_front_of(
        &upstream,
        &["--ledger", ledger_arg, "--rate-limit", "1"],
        &[],
        None,
    );
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(started.void("erp:secret", payment).await.status);
    }
    drop(upstream);
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(
        statuses.contains(&http::StatusCode::TOO_MANY_REQUESTS),
        "never limited: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn record_writes_the_upstream_exchanges_as_cassettes_that_contract_verify_passes() {
    use base64::Engine as _;
    use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD};

    let dir = tempfile::tempdir().expect("temp dir");
    let cassettes = dir.path().join("cassettes");
    let record = cassettes.to_str().expect("a UTF-8 path");
    let started = Started::start(&["--demo", "--listen", "127.0.0.1:0", "--record", record]);
    assert_eq!(started.value("record:"), record);
    let client = started.value("client:");
    let payment = payment_of(&started);
    for _ in 0..2 {
        assert!(voided(&started.void(&client, &payment).await));
    }
    assert_eq!(started.terminate(), Some(0));

    // The repeat was answered from the ledger: one exchange reached InstaMed, one cassette.
    let files: Vec<_> = std::fs::read_dir(&cassettes)
        .expect("the cassettes folder")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().expect("name").to_string_lossy();
    assert!(name.starts_with("001-soap11-"), "{name}");
    assert!(name.ends_with("-voided.cassette"), "{name}");
    let written = std::fs::read_to_string(&files[0]).expect("the cassette");
    assert!(written.contains(&payment), "{written}");
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"));
    for secret in [DEMO_PASSWORD, basic.as_str()] {
        assert!(!written.contains(secret), "{written}");
    }

    let verified = isolated::instamed_soap()
        .args(["contract", "verify", record])
        .output()
        .expect("contract verify");
    assert_eq!(code(&verified), 0, "{}", described(&verified));
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains("pass  "),
        "{}",
        described(&verified)
    );
}

/// The demo offers Single Sign-On voids too: `POST /v1/sso/voids` answers the page's URL on the
/// embedded simulator and an operation that waits for the person.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_launches_an_sso_void_page_and_an_operation_to_poll() {
    let started = Started::start(&["--demo", "--listen", "127.0.0.1:0"]);
    let api = started.value("api:");
    let port: u16 = api
        .trim_end_matches("/v1")
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port");
    let ca = started.value("ca-cert:");
    let basic = raw_https::basic_of(&started.value("client:"));
    let send = |method: Method, path: String, body: String| {
        let (basic, ca, host) = (basic.clone(), ca.clone(), raw_https::host(&api));
        async move {
            raw_https::send_to(
                Target {
                    addr: ([127, 0, 0, 1], port).into(),
                    host: &host,
                    ca: Some(Path::new(&ca)),
                },
                method,
                &path,
                &[
                    ("authorization", basic.as_str()),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await
            .expect("an answer")
        }
    };
    let payment = payment_of(&started);
    let launched = send(
        Method::POST,
        "/v1/sso/voids".to_owned(),
        format!("{{\"payment\":\"{payment}\"}}"),
    )
    .await;
    assert_eq!(launched.status, 202, "{}", launched.body);
    assert_eq!(launched.field("outcome").as_deref(), Some("sent"));
    let url = launched.field("launch_url").expect("a launch URL");
    assert!(
        url.contains("VoidPaymentSSO") && url.contains("token="),
        "{url}"
    );
    let id = launched.field("operation").expect("an operation");
    let operation = send(Method::GET, format!("/v1/operations/{id}"), String::new()).await;
    assert_eq!(operation.status, 200, "{}", operation.body);
    assert_eq!(operation.json()["state"], "in_flight", "{}", operation.body);
}

/// Two `gateway` processes on one PostgreSQL ledger (`INSTAMED_LEDGER=postgres://…`), as
/// replicas behind a load balancer: the same voids asked of both at once are each sent once,
/// and neither prints the URL's password.
#[tokio::test(flavor = "multi_thread")]
async fn two_gateway_processes_on_one_postgres_ledger_send_each_void_once() {
    let Some(cluster) = instamed_soap_test_support::postgres::PgCluster::start() else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().expect("dir");
    let payments: Vec<String> = (0..6)
        .map(|n| format!("5A6F1C2B3A4958677685A4B3C2D1E{n:03X}"))
        .collect();
    let upstream = Upstream::start(dir.path(), &payments, &[]);
    let state = dir.path().to_str().expect("a UTF-8 path");
    let replica = || {
        Started::in_front_of(
            &upstream,
            &[],
            &[
                ("INSTAMED_LEDGER", &url),
                // Where each keeps its JSON API's operations: the test's, not the user's.
                ("XDG_STATE_HOME", state),
            ],
            None,
        )
    };
    let replicas = [replica(), replica()];
    let mut asks = Vec::new();
    for payment in &payments {
        for started in &replicas {
            asks.push(started.void("erp:secret", payment));
        }
    }
    let answers = futures_util::future::join_all(asks).await;
    drop(upstream);
    for answer in &answers {
        assert!(voided(answer), "{}", answer.body);
    }
    let ledger = instamed_soap_ledger::Ledger::open(&url).expect("the shared ledger");
    for payment in &payments {
        let id = instamed_soap::TransactionId::new(payment).expect("an ID");
        let sent = ledger.standing(&id).expect("standing").entries;
        assert_eq!(sent.len(), 1, "one void sent by the two replicas: {sent:?}");
    }
    let printed: String = replicas
        .iter()
        .flat_map(|started| started.printed.iter())
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        instamed_soap_test_support::leaks::leaked(&printed).is_empty(),
        "{printed}"
    );
}
