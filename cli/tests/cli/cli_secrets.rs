//! A server that echoes what it was sent (the `Authorization` header, the password, a card
//! number) in its faults and errors must not make `instamed-soap void` print any of them, with
//! or without `--json`, whatever the protocol and whatever shape the answer takes.

use crate::isolated;
use instamed_soap_test_support as support;

use base64::Engine as _;
use support::leaks::xml_escaped;
use support::{Received, Reply, Server, Version, aspnet_fault, version_of};

const ACCOUNT: &str = "clinic@instamed.test";
const PASSWORD: &str = "Tr0ub4dor-3-secret";
const CARD: &str = "4111 1111 1111 1111";
const CARD_PLAIN: &str = "4111111111111111";
const PAYMENT: &str = "EE52401813A74328AAA7D93319FF4383";

/// Everything secret the echo puts in the answer.
fn secrets() -> Vec<String> {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{PASSWORD}"));
    vec![
        token,
        PASSWORD.to_owned(),
        CARD.to_owned(),
        CARD_PLAIN.to_owned(),
        "4111-1111-1111-1111".to_owned(),
    ]
}

/// The words of an echo: the request's own Authorization header, the password and card numbers.
fn echo_text(exchange: &Received) -> String {
    let authorization = exchange.header("authorization").unwrap_or_default();
    format!(
        "Access denied for {authorization} (password {PASSWORD}); card {CARD} / {CARD_PLAIN} / \
         4111-1111-1111-1111"
    )
}

fn run(url: &str, ca: &std::path::Path, protocol: &str, json: bool) -> String {
    let mut command = isolated::instamed_soap();
    command
        .args(["void", "--endpoint", url, "--protocol", protocol])
        .args(["--merchant-id", "123123123", "--store-id", "123"])
        .args(["--terminal-id", "123", "--transaction-id", PAYMENT])
        .arg("--ca-cert")
        .arg(ca)
        .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
        .env("INSTAMED_PASSWORD", PASSWORD)
        .env_remove("INSTAMED_ENDPOINT");
    if json {
        command.arg("--json");
    }
    let output = command.output().expect("run instamed-soap");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_clean(what: &str, printed: &str) {
    for secret in secrets() {
        assert!(
            !printed.contains(&secret),
            "{what} printed {secret:?}:\n{printed}"
        );
    }
    // Where the echo is shown at all, the place of each secret is marked.
    if printed.contains("Access denied") || what.starts_with("unreadable") {
        assert!(
            printed.contains("[redacted]"),
            "{what} should show where text was taken out:\n{printed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn void_never_prints_an_echoed_secret() {
    type Echo = fn(&Received) -> Reply;
    let answers: [(&str, &str, Echo); 7] = [
        ("SOAP 1.1 Server fault", "soap11", |exchange| {
            let text = xml_escaped(&echo_text(exchange)).into_owned();
            let detail = format!("<Echo>{text}</Echo>");
            Reply::xml(
                500,
                Version::Soap11,
                aspnet_fault(Version::Soap11, "Server", &text, &detail),
            )
        }),
        ("SOAP 1.2 Receiver fault", "soap12", |exchange| {
            let text = xml_escaped(&echo_text(exchange)).into_owned();
            let detail = format!("<Echo>{text}</Echo>");
            Reply::xml(
                500,
                Version::Soap12,
                aspnet_fault(Version::Soap12, "Receiver", &text, &detail),
            )
        }),
        (
            "SOAP 1.1 Client fault saying already voided",
            "soap11",
            |exchange| {
                let text = xml_escaped(&format!(
                    "Transaction has already been voided. {}",
                    echo_text(exchange)
                ))
                .into_owned();
                let detail = format!(
                    "<ErrorInfo xmlns=\"{}\"><ResponseCode>012</ResponseCode><Note>{text}</Note></ErrorInfo>",
                    support::TNS
                );
                Reply::xml(
                    500,
                    Version::Soap11,
                    aspnet_fault(Version::Soap11, "Client", &text, &detail),
                )
            },
        ),
        ("SOAP 1.2 decline result", "soap12", |exchange| {
            let v = version_of(exchange);
            let text = xml_escaped(&echo_text(exchange)).into_owned();
            Reply::xml(
                200,
                v,
                support::void_result(
                    v,
                    &[
                        ("TransactionStatus", "D"),
                        ("ResponseCode", "005"),
                        ("ResponseMessage", &text),
                        ("PrimaryTransactionStatus", "C"),
                    ],
                ),
            )
        }),
        ("NVP error", "nvp", |exchange| {
            let message: String =
                form_urlencoded::byte_serialize(echo_text(exchange).as_bytes()).collect();
            Reply::new(
                200,
                "application/x-www-form-urlencoded",
                format!("errorCode=500&errorMessage={message}"),
            )
        }),
        ("HTTP 500 page", "soap11", |exchange| {
            Reply::new(
                500,
                "text/html",
                format!("<html>{}</html>", echo_text(exchange)),
            )
        }),
        // The reader's own message names the element: here, the password.
        ("unreadable answer", "soap12", |_| {
            Reply::xml(
                200,
                Version::Soap12,
                format!("<?xml version=\"1.0\"?><{PASSWORD}/>"),
            )
        }),
    ];
    for (what, protocol, echo) in answers {
        let server = Server::start(echo).await;
        let (plain, json) = tokio::task::spawn_blocking({
            let (url, ca) = (server.url.clone(), server.ca_path.clone());
            move || {
                (
                    run(&url, &ca, protocol, false),
                    run(&url, &ca, protocol, true),
                )
            }
        })
        .await
        .unwrap();
        assert_clean(&format!("{what} (sentence)"), &plain);
        assert_clean(&format!("{what} (--json)"), &json);
        // The echo really reached the client: the server saw the header it echoes.
        assert!(
            server.requests()[0]
                .header("authorization")
                .is_some_and(|h| h.contains(&secrets()[0])),
        );
    }
}

/// `--help` lists where each flag may come from; a value the environment holds (an endpoint a
/// careless script wrote credentials into, a password) is never shown beside it.
#[test]
fn help_never_shows_a_value_from_the_environment() {
    for command in ["void", "refund", "reconcile", "batch"] {
        let output = isolated::instamed_soap()
            .args([command, "--help"])
            .env(
                "INSTAMED_ENDPOINT",
                format!("https://{ACCOUNT}:{PASSWORD}@connect.instamed.test/payment/service.asmx"),
            )
            .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
            .env("INSTAMED_PASSWORD", PASSWORD)
            .env("INSTAMED_API_KEY", "api-key-in-env")
            .env("INSTAMED_API_SECRET", PASSWORD)
            .output()
            .expect("run instamed-soap");
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{command}: {printed}");
        assert!(
            printed.contains("INSTAMED_ENDPOINT"),
            "{command}: {printed}"
        );
        for secret in [PASSWORD, ACCOUNT, "api-key-in-env"] {
            assert!(!printed.contains(secret), "{command} --help shows {secret}");
        }
    }
}
