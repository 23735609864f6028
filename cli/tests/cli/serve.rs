//! `instamed-soap serve`, run as a user runs it: what it prints, which keys and names it
//! accepts, the refund window it applies, its health check, how it fails to start and how it
//! stops, checked over real TLS on loopback; and the README's first void, run as written.

use crate::isolated;
use instamed_soap_test_support::raw_https;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use instamed_soap_simulator::{DEMO_API_KEY, DEMO_API_SECRET};
use raw_https::{basic, form_value};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const REFUND: &str = "/rest/payment/refund-simple";

fn outlet_json() -> serde_json::Value {
    json!({"MerchantID": "123123123", "StoreID": "123", "TerminalID": "456"})
}

/// A running `serve`, and the lines it printed up to the one saying how to stop it. Dropped, it
/// is killed, so that a failing test leaves no server behind.
struct Served {
    child: Child,
    printed: Vec<String>,
}

impl Served {
    fn start(args: &[&str]) -> Self {
        Self::start_in(&std::env::temp_dir(), args)
    }

    fn start_in(dir: &Path, args: &[&str]) -> Self {
        let mut command = isolated::instamed_soap();
        command
            .arg("serve")
            .args(args)
            .current_dir(dir)
            .stderr(Stdio::inherit());
        let (child, printed) = isolated::started(&mut command);
        Self { child, printed }
    }

    /// The value printed after `label`.
    fn value(&self, label: &str) -> Option<String> {
        isolated::printed_value(&self.printed, label)
    }

    fn port(&self) -> u16 {
        let base = self.value("rest:").expect("the REST base is printed");
        base.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn ca(&self) -> PathBuf {
        PathBuf::from(self.value("ca-cert:").expect("a CA is printed"))
    }

    /// Sends `signal` (`INT`, `TERM`) the way a shell or a service manager does.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Sends `signal` and waits for the process to end.
    fn stop_with(&mut self, signal: &str) -> ExitStatus {
        self.signal(signal);
        self.child.wait().expect("wait")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A TLS client trusting only the CA in `ca`.
fn connector(ca: &Path) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca).expect("the CA reads"))
        .expect("the CA is a certificate");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A TLS handshake with `addr` verifying the certificate for `name`: the server's certificate
/// chain, or why it was refused.
async fn handshake(
    addr: SocketAddr,
    ca: &Path,
    name: ServerName<'static>,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = connector(ca)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (_, session) = tls.get_ref();
    Ok(session
        .peer_certificates()
        .expect("a server certificate")
        .to_vec())
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// `serve --api-key KEY:SECRET --refund-window SECONDS`, as a user runs it: the REST base is
/// printed, the user's secret is not, the pair signs in and the window applies.
#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_an_api_key_pair_and_a_refund_window() {
    // By default the demo pair is announced.
    let mut served = Served::start(&["--plain-http"]);
    assert_eq!(
        served.value("api-key:"),
        Some(format!("{DEMO_API_KEY}:{DEMO_API_SECRET}")),
        "{:?}",
        served.printed
    );
    assert!(served.stop_with("INT").success());

    let mut served = Served::start(&[
        "--api-key",
        "clinic-key:clinic-s3cret",
        "--refund-window",
        "60",
    ]);
    assert!(
        !served
            .printed
            .iter()
            .any(|line| line.contains("clinic-s3cret")),
        "{:?}",
        served.printed
    );
    assert_eq!(served.value("api-key:"), None);
    let base = served.value("rest:").expect("the REST base is printed");
    let ca = served.ca();
    let host = raw_https::host(&base);
    let target = raw_https::Target {
        addr: loopback(served.port()),
        host: &host,
        ca: Some(&ca),
    };
    let basic = basic();
    let created = raw_https::send_to(
        target,
        Method::POST,
        "/simulator/payments",
        &[
            ("authorization", &basic),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "merchantID=123123123&storeID=123&terminalID=456&amount=5.00&ageSeconds=120",
    )
    .await
    .expect("an answer");
    let old = form_value(&created.body, "transactionID").expect("created");
    let body = json!({"Outlet": outlet_json(), "TransactionID": old, "Amount": "1.00"});
    let keys = |secret: &'static str| {
        [
            ("api-key", "clinic-key"),
            ("api-secret", secret),
            ("content-type", "application/json"),
        ]
    };
    let wrong = raw_https::send_to(
        target,
        Method::POST,
        REFUND,
        &keys("nope"),
        body.to_string(),
    )
    .await
    .expect("an answer");
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let refused = raw_https::send_to(
        target,
        Method::POST,
        REFUND,
        &keys("clinic-s3cret"),
        body.to_string(),
    )
    .await
    .expect("an answer");
    assert_eq!(refused.status, StatusCode::OK, "{}", refused.body);
    assert_eq!(refused.field("TransactionStatus").as_deref(), Some("D"));
    assert!(
        refused
            .field("ResponseMessage")
            .unwrap()
            .contains("refund window")
    );
    assert!(served.stop_with("INT").success());
}

/// `--hostname` puts DNS names and IP addresses in the server certificate, so that a client
/// reaching the simulator by another name can verify it; the first names the printed URLs.
#[tokio::test(flavor = "multi_thread")]
async fn hostnames_go_into_the_certificate_and_the_first_names_the_urls() {
    let mut served = Served::start(&["--hostname", "sim.test", "--hostname", "127.0.0.2"]);
    let port = served.port();
    assert_eq!(
        served.value("endpoint:"),
        Some(format!("https://sim.test:{port}/payment/service.asmx"))
    );
    let ca = served.ca();
    let addr = loopback(port);
    let name = |text: &str| ServerName::try_from(text.to_owned()).expect("a server name");

    // Connected to 127.0.0.1, the certificate is checked for the name asked for.
    let chain = handshake(addr, &ca, name("sim.test"))
        .await
        .expect("sim.test is in the certificate");
    handshake(addr, &ca, name("127.0.0.2"))
        .await
        .expect("127.0.0.2 is in the certificate as an IP address");
    handshake(addr, &ca, name("localhost"))
        .await
        .expect("localhost is still in the certificate");
    for unlisted in ["other.test", "sim.test.example", "127.0.0.3"] {
        let refused = handshake(addr, &ca, name(unlisted))
            .await
            .expect_err(unlisted);
        assert!(
            refused.contains("not valid for name"),
            "{unlisted}: {refused}"
        );
    }

    // A request by that name is served.
    let health = raw_https::send_to(
        raw_https::Target {
            addr,
            host: "sim.test",
            ca: Some(&ca),
        },
        Method::GET,
        "/health",
        &[],
        "",
    )
    .await
    .expect("an answer");
    assert_eq!(health.status, StatusCode::OK);

    // The same names as a third party reads them, when there is one to ask.
    if Command::new("openssl").arg("version").output().is_ok() {
        let dir = tempfile::tempdir().expect("temp dir");
        let leaf = dir.path().join("server.der");
        std::fs::write(&leaf, chain[0].as_ref()).expect("write the certificate");
        let listed = Command::new("openssl")
            .args([
                "x509",
                "-inform",
                "DER",
                "-noout",
                "-ext",
                "subjectAltName",
                "-in",
            ])
            .arg(&leaf)
            .output()
            .expect("openssl runs");
        let listed = String::from_utf8_lossy(&listed.stdout);
        for san in [
            "DNS:localhost",
            "IP Address:127.0.0.1",
            "DNS:sim.test",
            "IP Address:127.0.0.2",
        ] {
            assert!(listed.contains(san), "{san} missing from {listed}");
        }
        assert!(!listed.contains("DNS:127.0.0.2"), "{listed}");
    } else {
        eprintln!("openssl is not installed: the subjectAltName listing is not checked");
    }
    assert!(served.stop_with("TERM").success());
}

/// A name that cannot go into a certificate is a usage error, before anything starts.
#[test]
fn a_bad_hostname_is_a_usage_error() {
    for (bad, why) in [
        ("sim.test:8443", "takes no port"),
        ("*.sim.test", "wildcards"),
        ("0.0.0.0", "unspecified address"),
        ("sim_test!", "not a DNS name"),
    ] {
        let output = isolated::instamed_soap()
            .args(["serve", "--hostname", bad])
            .output()
            .expect("run serve");
        assert_eq!(output.status.code(), Some(2), "{bad}");
        assert!(output.stdout.is_empty(), "{bad}: it started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("--hostname") && stderr.contains(why),
            "{bad}: {stderr}"
        );
    }
}

/// A first --hostname that is an address the server does not listen on would print URLs that
/// reach nothing: said at start.
#[test]
fn a_first_hostname_the_server_does_not_listen_on_is_warned_about() {
    use std::io::BufRead as _;
    let mut child = isolated::instamed_soap()
        .args(["serve", "--plain-http", "--hostname", "::1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run serve");
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.take().expect("stderr"))
        .read_line(&mut first)
        .expect("read stderr");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("warning:") && first.contains("--listen [::1]:0"),
        "{first}"
    );
}

/// An account or API key with an empty part could never sign in (the client refuses empty
/// credentials): refused at start, before anything listens.
#[test]
fn an_account_with_an_empty_part_is_a_usage_error() {
    for args in [
        ["--account", "clinic@instamed.test:"],
        ["--account", ":secret"],
        ["--account", "no-colon"],
        ["--api-key", "key:"],
    ] {
        let output = isolated::instamed_soap()
            .arg("serve")
            .args(args)
            .output()
            .expect("run serve");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}: it started");
    }
}

/// `/health` answers GET and HEAD without credentials, with `ok` and nothing else; the rest
/// of the simulator still asks for them.
#[tokio::test(flavor = "multi_thread")]
async fn health_answers_without_credentials_and_says_only_ok() {
    let mut served = Served::start(&[]);
    let ca = served.ca();
    let target = raw_https::Target {
        addr: loopback(served.port()),
        host: "localhost",
        ca: Some(&ca),
    };
    let ask =
        |method: Method, path: &'static str| raw_https::send_to(target, method, path, &[], "");
    // A payment in the ledger changes nothing in what the health check says.
    let created = raw_https::send_to(
        target,
        Method::POST,
        "/simulator/payments",
        &[
            ("authorization", &basic()),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "merchantID=123123123&storeID=123&terminalID=456&amount=5.00",
    )
    .await
    .expect("an answer");
    assert_eq!(created.status, StatusCode::CREATED);

    let health = ask(Method::GET, "/health").await.expect("an answer");
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, "ok\n");
    assert_eq!(health.header("cache-control"), "no-store");
    assert_eq!(health.header("www-authenticate"), "");
    let head = ask(Method::HEAD, "/health").await.expect("an answer");
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.body, "");
    let post = ask(Method::POST, "/health").await.expect("an answer");
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), "GET, HEAD");

    for guarded in [
        "/payment/service.asmx",
        "/simulator/payments/X",
        "/health/x",
    ] {
        let answer = ask(Method::GET, guarded).await.expect("an answer");
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{guarded}");
    }
    assert!(served.stop_with("INT").success());
}

/// A port held by another listener: one line saying so and what to do, exit 11 (its own code,
/// not the ledger's 7), nothing else.
#[test]
fn a_port_in_use_is_one_line_and_exit_11() {
    let holder = std::net::TcpListener::bind(loopback(0)).expect("bind");
    let port = holder.local_addr().expect("address").port();
    let output = isolated::instamed_soap()
        .args(["serve", "--port", &port.to_string()])
        .output()
        .expect("run serve");
    assert_eq!(output.status.code(), Some(11));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "error: port 127.0.0.1:{port} is already in use; pick another with --port or use \
             --port 0\n"
        )
    );
    assert!(output.stdout.is_empty());
    drop(holder);
}

/// SIGTERM (a service manager, CI) and SIGINT (Ctrl-C) stop it the same way: the request in
/// flight is answered, the temporary CA and its directory are removed, and the exit code is 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_and_sigint_answer_the_request_in_flight_and_remove_the_ca() {
    for signal in ["TERM", "INT"] {
        let mut served = Served::start(&["--latency", "1500ms"]);
        let ca = served.ca();
        let ca_dir = ca.parent().expect("the CA's directory").to_owned();
        assert!(ca.is_file(), "{}", ca.display());

        // A void on its way when the signal comes: the answer waits 1.5 s of latency.
        let tcp = TcpStream::connect(loopback(served.port()))
            .await
            .expect("connect");
        let mut tls = connector(&ca)
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .expect("handshake");
        let request = format!(
            "GET /payment/NVP.aspx?transactionType=CreditCard&transactionAction=Void&\
             merchantID=123123123&storeID=123&terminalID=456&primaryTransactionID=NOPE \
             HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            basic()
        );
        tls.write_all(request.as_bytes()).await.expect("write");
        tls.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(400)).await;

        served.signal(signal);
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer))
            .await
            .expect("answered within the drain time")
            .expect("read");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "SIG{signal}: {answer}");
        assert!(
            answer.contains("transactionStatus"),
            "SIG{signal}: {answer}"
        );

        let status = served.child.wait().expect("wait");
        assert_eq!(status.code(), Some(0), "SIG{signal}");
        assert!(!ca.exists(), "SIG{signal} left {}", ca.display());
        assert!(!ca_dir.exists(), "SIG{signal} left {}", ca_dir.display());
    }
}

/// A payment made on a running `serve` at the tests' outlet; its transaction ID.
async fn payment_on(served: &Served) -> String {
    let ca = served.ca();
    let target = raw_https::Target {
        addr: loopback(served.port()),
        host: "localhost",
        ca: Some(&ca),
    };
    let created = raw_https::send_to(
        target,
        Method::POST,
        "/simulator/payments",
        &[
            ("authorization", &basic()),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "merchantID=123123123&storeID=123&terminalID=123&amount=5.00",
    )
    .await
    .expect("an answer");
    form_value(&created.body, "transactionID").expect("a payment made")
}

/// The `api-key:` line `serve` prints, given to `void --api-key` as printed (no secret
/// apart), signs in: the pair splits at its colon as `serve --api-key KEY:SECRET` does.
#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_an_api_key_the_client_takes_as_printed() {
    let mut served = Served::start(&[]);
    let payment = payment_on(&served).await;
    let printed = served.value("api-key:").expect("the demo pair is printed");
    let rest = served.value("rest:").expect("the REST base is printed");
    let output = isolated::instamed_soap()
        .args([
            "void",
            "--protocol",
            "rest",
            "--endpoint",
            &rest,
            "--ca-cert",
        ])
        .arg(served.ca())
        .args(["--api-key", &printed])
        .args(isolated::OUTLET)
        .args(["--transaction-id", &payment])
        .env_remove("INSTAMED_API_KEY")
        .env_remove("INSTAMED_API_SECRET")
        .output()
        .expect("run void");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        isolated::described(&output)
    );
    assert!(served.stop_with("INT").success());
}

/// REST given the SOAP address `serve` prints as `endpoint:`: the error says where REST
/// lives, exit 2, and nothing is sent (no "credentials refused").
#[tokio::test(flavor = "multi_thread")]
async fn rest_with_an_asmx_endpoint_says_where_rest_lives() {
    let mut served = Served::start(&[]);
    let endpoint = served
        .value("endpoint:")
        .expect("the SOAP endpoint is printed");
    let rest = served.value("rest:").expect("the REST base is printed");
    let output = isolated::instamed_soap()
        .args([
            "void",
            "--protocol",
            "rest",
            "--endpoint",
            &endpoint,
            "--ca-cert",
        ])
        .arg(served.ca())
        .args(isolated::OUTLET)
        .args(["--transaction-id", "DEAD0000000000000000000000000001"])
        .env(
            "INSTAMED_API_KEY",
            format!("{DEMO_API_KEY}:{DEMO_API_SECRET}"),
        )
        .env_remove("INSTAMED_API_SECRET")
        .output()
        .expect("run void");
    let said = isolated::text(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        isolated::described(&output)
    );
    assert!(
        said.contains(&format!(
            "the REST interface lives at the base URL {rest}, not at …/service.asmx"
        )),
        "{said}"
    );
    assert!(!said.contains("refused the credentials"), "{said}");
    assert!(served.stop_with("INT").success());
}

/// `serve --sso-token-lifetime 0`, as a test of expiry runs it: the SSO URLs and the demo SSO
/// account are printed, and `sso void` against them finds the token expired (12).
#[test]
fn serve_prints_its_sso_side_and_shortens_token_lifetimes() {
    let mut served = Served::start(&["--sso-token-lifetime", "0"]);
    let service = served
        .value("sso-asmx:")
        .expect("the SSO service is printed");
    let login = served.value("sso:").expect("the SSO login is printed");
    assert!(login.ends_with("/providers/Form/SSO/SSOLogin"), "{login}");
    let account = served.value("sso-acct:").expect("the demo SSO account");
    let words: Vec<&str> = account.split(' ').collect();
    let [id, "alias", alias, "key", key] = words[..] else {
        panic!("{account}");
    };
    let output = crate::isolated::instamed_soap()
        .args([
            "sso",
            "void",
            "--transaction-id",
            "EE52401813A74328AAA7D93319FF4383",
        ])
        .args(["--sso-endpoint", &service, "--poll-interval", "0.05"])
        .arg("--ca-cert")
        .arg(served.ca())
        .env("INSTAMED_SSO_ACCOUNT_ID", id)
        .env("INSTAMED_SSO_ALIAS", alias)
        .env("INSTAMED_SSO_KEY", key)
        .output()
        .expect("run sso void");
    assert_eq!(
        output.status.code(),
        Some(12),
        "{}",
        crate::isolated::described(&output)
    );
    assert!(served.stop_with("INT").success());
}
