//! `instamed-soap serve`, run as a user runs it: what it prints, which keys it accepts, and the
//! refund window it applies, checked with raw HTTPS against the REST endpoints.

#[path = "../../tests/raw_https/mod.rs"]
mod raw_https;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use http::{Method, StatusCode};
use instamed_soap::simulator::{DEMO_API_KEY, DEMO_API_SECRET};
use raw_https::{basic, form_value};
use serde_json::json;

const REFUND: &str = "/rest/payment/refund-simple";

fn outlet_json() -> serde_json::Value {
    json!({"MerchantID": "123123123", "StoreID": "123", "TerminalID": "456"})
}

/// `serve --api-key KEY:SECRET --refund-window SECONDS`, as a user runs it: the REST base is
/// printed, the user's secret is not, the pair signs in and the window applies.
#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_an_api_key_pair_and_a_refund_window() {
    let serve = |extra: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_instamed-soap"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut printed = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            let done = line.starts_with("Ctrl-C");
            printed.push(line);
            if done {
                break;
            }
        }
        (child, printed)
    };
    let value = |printed: &[String], label: &str| {
        printed
            .iter()
            .find_map(|line| line.strip_prefix(label).map(|v| v.trim().to_owned()))
    };
    let stop = |mut child: std::process::Child| {
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        assert!(child.wait().expect("wait").success());
    };

    // By default the demo pair is announced.
    let (child, printed) = serve(&["--plain-http"]);
    assert_eq!(
        value(&printed, "api-key:"),
        Some(format!("{DEMO_API_KEY}:{DEMO_API_SECRET}")),
        "{printed:?}"
    );
    stop(child);

    let (child, printed) = serve(&[
        "--api-key",
        "clinic-key:clinic-s3cret",
        "--refund-window",
        "60",
    ]);
    assert!(
        !printed.iter().any(|line| line.contains("clinic-s3cret")),
        "{printed:?}"
    );
    assert_eq!(value(&printed, "api-key:"), None);
    let base = value(&printed, "rest:").expect("the REST base is printed");
    let ca = value(&printed, "ca-cert:").expect("a CA");
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let host = raw_https::host(&base);
    let target = raw_https::Target {
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        host: &host,
        ca: Some(std::path::Path::new(&ca)),
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
    stop(child);
}
