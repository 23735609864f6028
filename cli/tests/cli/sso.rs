//! `instamed-soap sso`, driven as a user would against the simulator over TLS: the URL printed,
//! the person's click on the page (a form post, as a browser sends it), the wait, and `void`'s
//! words, JSON and exit codes, plus 12 for nothing done.

use crate::isolated::{self, code, described, lossy, text};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, DEMO_SSO_ALIAS, DEMO_SSO_KEY, PaymentStatus, Simulator,
    SimulatorConfig,
};

pub(crate) fn outlet() -> instamed_soap::Outlet {
    instamed_soap::Outlet::new("123123123", "123", "123").unwrap()
}

/// `instamed-soap sso ARGS…` against `simulator`, signed with `key`.
pub(crate) fn sso(simulator: &Simulator, key: &str, args: &[&str]) -> Command {
    let mut command = isolated::instamed_soap();
    command
        .arg("sso")
        .args(args)
        .args(["--sso-endpoint", &simulator.sso_service_endpoint()])
        .args(["--poll-interval", "0.05"])
        .arg("--ca-cert")
        .arg(simulator.ca_path().expect("TLS"))
        .env("INSTAMED_SSO_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_SSO_ALIAS", DEMO_SSO_ALIAS)
        .env("INSTAMED_SSO_KEY", key)
        .env_remove("INSTAMED_SSO_LOGIN_URL");
    command
}

/// Starts `sso void` for `payment` and reads the URL it prints for the person's browser: on
/// standard output, or with `--json` on standard error (standard output holds the one object).
pub(crate) fn launch(simulator: &Simulator, payment: &str, extra: &[&str]) -> (Running, String) {
    let mut child = sso(
        simulator,
        DEMO_SSO_KEY,
        &[&["void", "--transaction-id", payment], extra].concat(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("run instamed-soap");
    let json = extra.contains(&"--json");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (mut first, second): (Box<dyn BufRead + Send>, Box<dyn BufRead + Send>) = if json {
        (
            Box::new(BufReader::new(stderr)),
            Box::new(BufReader::new(stdout)),
        )
    } else {
        (
            Box::new(BufReader::new(stdout)),
            Box::new(BufReader::new(stderr)),
        )
    };
    let mut line = String::new();
    first.read_line(&mut line).expect("a line");
    let url = line.trim().rsplit(' ').next().expect("a URL").to_owned();
    // The rest of both streams is read aside, so that the run never blocks on a full pipe.
    let read_all = |mut reader: Box<dyn BufRead + Send>| {
        std::thread::spawn(move || {
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut reader, &mut rest).ok();
            rest
        })
    };
    let (first, second) = (read_all(first), read_all(second));
    let (stdout, stderr) = if json {
        (second, first)
    } else {
        (first, second)
    };
    let running = Running {
        child: Some(child),
        stdout,
        stderr,
    };
    (running, url)
}

/// A run of `sso void` whose URL line was read; killed if a test fails before it ends.
pub(crate) struct Running {
    child: Option<Child>,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The run's exit code, its standard output after the URL line (all of it with `--json`),
/// and its standard error.
pub(crate) fn finished(mut running: Running) -> (i32, String, String) {
    let status = running
        .child
        .take()
        .expect("running")
        .wait()
        .expect("the run ends");
    let stdout = std::mem::replace(&mut running.stdout, std::thread::spawn(String::new));
    let stderr = std::mem::replace(&mut running.stderr, std::thread::spawn(String::new));
    (
        status.code().expect("an exit code"),
        stdout.join().expect("read"),
        stderr.join().expect("read"),
    )
}

/// The simulator with its defaults, and a captured payment of 10.00 to void.
async fn simulator_with_payment() -> (Simulator, instamed_soap::TransactionId) {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    (simulator, payment)
}

/// The person's click on the page at `url`: `void` or `cancel`.
async fn click(simulator: &Simulator, url: &str, action: &str) {
    instamed_soap_test_support::simulated::sso_click(simulator, url, action).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_void_prints_the_url_waits_and_reports_voided_with_the_ledger_agreeing() {
    let (simulator, payment) = simulator_with_payment().await;
    let (child, url) = launch(
        &simulator,
        payment.as_str(),
        &["--return-url", "https://erp.example/done"],
    );
    assert!(url.starts_with(&simulator.sso_void_page()), "{url}");
    click(&simulator, &url, "void").await;
    let (status, rest, stderr) = tokio::task::spawn_blocking(move || finished(child))
        .await
        .unwrap();
    assert_eq!(status, 0, "{rest}\n{stderr}");
    assert!(rest.starts_with(&format!("voided {payment}")), "{rest}");
    assert!(stderr.contains("waiting for the person: token"), "{stderr}");
    assert!(!stderr.contains(DEMO_SSO_KEY) && !rest.contains(DEMO_SSO_KEY));
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );

    // `sso status` asks once, and says the same.
    let token = url
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let status = sso(
        &simulator,
        DEMO_SSO_KEY,
        &[
            "status",
            token,
            "--transaction-id",
            payment.as_str(),
            "--json",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(code(&status), 0, "{}", described(&status));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(json["outcome"], "voided");
    let bare = sso(&simulator, DEMO_SSO_KEY, &["status", token])
        .output()
        .unwrap();
    assert_eq!(lossy(&bare.stdout).trim(), "token complete");
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_void_cancelled_is_nothing_done_with_exit_12() {
    let (simulator, payment) = simulator_with_payment().await;
    let (child, url) = launch(&simulator, payment.as_str(), &["--json"]);
    click(&simulator, &url, "cancel").await;
    let (status, rest, stderr) = tokio::task::spawn_blocking(move || finished(child))
        .await
        .unwrap();
    assert_eq!(status, 12, "{rest}\n{stderr}");
    let json: serde_json::Value = serde_json::from_str(&rest).expect("JSON");
    crate::output_contract::Schemas::load().check("void", &json, "sso void, cancelled");
    assert_eq!(json["outcome"], "nothing_done");
    assert!(
        json["hint"]
            .as_str()
            .is_some_and(|hint| hint.contains("left the page without voiding")),
        "{json}"
    );
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_void_with_an_expired_token_is_nothing_done_with_exit_12() {
    let simulator =
        Simulator::start(SimulatorConfig::default().with_sso_token_lifetime(Duration::ZERO))
            .await
            .unwrap();
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    let output = sso(
        &simulator,
        DEMO_SSO_KEY,
        &["void", "--transaction-id", payment.as_str()],
    )
    .output()
    .unwrap();
    assert_eq!(code(&output), 12, "{}", described(&output));
    assert!(
        text(&output).contains("the token expired"),
        "{}",
        text(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_void_with_a_wrong_key_fails_and_never_shows_the_key() {
    let (simulator, payment) = simulator_with_payment().await;
    let key = "a-wrong-key-71Xq";
    let output = sso(
        &simulator,
        key,
        &["void", "--transaction-id", payment.as_str(), "--json"],
    )
    .output()
    .unwrap();
    assert_eq!(code(&output), 1, "{}", described(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    crate::output_contract::Schemas::load().check("void", &json, "sso void, wrong key");
    assert_eq!(json["outcome"], "failed");
    assert_eq!(json["error_code"], "authentication_refused");
    assert!(!text(&output).contains(key), "{}", text(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_void_answers_from_the_ledger_for_a_payment_it_knows_voided() {
    let (simulator, payment) = simulator_with_payment().await;
    let ledger = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sso-ledger-{}-{payment}.db", std::process::id()));
    let voided = isolated::instamed_soap()
        .args([
            "void",
            "--endpoint",
            &simulator.endpoint(),
            "--transaction-id",
            payment.as_str(),
        ])
        .args(isolated::OUTLET)
        .arg("--ca-cert")
        .arg(simulator.ca_path().unwrap())
        .arg("--ledger")
        .arg(&ledger)
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
        .output()
        .unwrap();
    assert_eq!(code(&voided), 0, "{}", described(&voided));
    let output = sso(
        &simulator,
        DEMO_SSO_KEY,
        &["void", "--transaction-id", payment.as_str()],
    )
    .arg("--ledger")
    .arg(&ledger)
    .output()
    .unwrap();
    assert_eq!(code(&output), 0, "{}", described(&output));
    assert!(
        text(&output).contains("nothing was sent again"),
        "{}",
        text(&output)
    );
    assert!(
        !text(&output).contains("open this URL"),
        "{}",
        text(&output)
    );
}

fn ledger_path(payment: &instamed_soap::TransactionId) -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "sso-ledger-{}-{payment}-{}.db",
        std::process::id(),
        line!()
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_void_run_twice_launches_one_page_and_the_second_run_is_answered_from_the_ledger() {
    let (simulator, payment) = simulator_with_payment().await;
    let ledger = ledger_path(&payment);
    let ledger_arg = ledger.to_str().expect("a UTF-8 path");
    let (child, url) = launch(&simulator, payment.as_str(), &["--ledger", ledger_arg]);
    click(&simulator, &url, "void").await;
    let (status, rest, stderr) = tokio::task::spawn_blocking(move || finished(child))
        .await
        .unwrap();
    assert_eq!(status, 0, "{rest}\n{stderr}");

    let again = sso(
        &simulator,
        DEMO_SSO_KEY,
        &["void", "--transaction-id", payment.as_str(), "--json"],
    )
    .args(["--ledger", ledger_arg])
    .output()
    .unwrap();
    assert_eq!(code(&again), 0, "{}", described(&again));
    assert!(!text(&again).contains("open this URL"), "{}", text(&again));
    let json: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    crate::output_contract::Schemas::load().check("void", &json, "sso void, from the ledger");
    assert_eq!(json["outcome"], "voided");
    // The ledger keeps the first page's token; what it shows of the entry never holds it.
    let token = url
        .split_once("token=")
        .and_then(|(_, rest)| rest.split('&').next())
        .expect("the URL's token");
    assert!(
        !lossy(&again.stdout).contains(token),
        "{}",
        lossy(&again.stdout)
    );
    let listed = isolated::instamed_soap()
        .args(["ledger", "list", "--json", "--ledger", ledger_arg])
        .output()
        .unwrap();
    assert_eq!(code(&listed), 0, "{}", described(&listed));
    assert!(
        lossy(&listed.stdout).contains("sso token"),
        "{}",
        described(&listed)
    );
    assert!(
        !described(&listed).contains(token),
        "{}",
        described(&listed)
    );
    assert!(
        text(&again).contains("nothing was sent again"),
        "{}",
        text(&again)
    );
}

/// A run cut short while the person is on the page leaves its entry open with the token; the
/// next run asks that token first and reports what the page did, launching nothing.
#[tokio::test(flavor = "multi_thread")]
async fn sso_void_cut_short_is_reconciled_by_its_token_on_the_next_run() {
    let (simulator, payment) = simulator_with_payment().await;
    let ledger = ledger_path(&payment);
    let ledger_arg = ledger.to_str().expect("a UTF-8 path");
    let (child, url) = launch(&simulator, payment.as_str(), &["--ledger", ledger_arg]);
    // Killed mid-wait: nobody recorded what the page did.
    drop(child);
    click(&simulator, &url, "void").await;

    let again = sso(
        &simulator,
        DEMO_SSO_KEY,
        &["void", "--transaction-id", payment.as_str()],
    )
    .args(["--ledger", ledger_arg])
    .output()
    .unwrap();
    assert_eq!(code(&again), 0, "{}", described(&again));
    assert!(!text(&again).contains("open this URL"), "{}", text(&again));
    assert!(text(&again).contains("ended voided"), "{}", text(&again));
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );
}

/// `--open` hands the URL to the opener (here a script standing in for `xdg-open`, named by
/// `INSTAMED_OPENER`), which the person's browser would get; the run then waits as without it.
#[tokio::test(flavor = "multi_thread")]
async fn sso_void_open_hands_the_url_to_the_opener_and_waits_for_the_person() {
    use std::os::unix::fs::PermissionsExt as _;
    let (simulator, payment) = simulator_with_payment().await;
    let dir = tempfile::tempdir().unwrap();
    let opened = dir.path().join("opened.txt");
    let script = dir.path().join("opener");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", opened.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = sso(
        &simulator,
        DEMO_SSO_KEY,
        &["void", "--transaction-id", payment.as_str(), "--open"],
    )
    .env("INSTAMED_OPENER", &script)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut url = String::new();
    for _ in 0..500 {
        url = std::fs::read_to_string(&opened).unwrap_or_default();
        if url.contains("token=") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(url.starts_with(&simulator.sso_void_page()), "{url:?}");
    click(&simulator, &url, "void").await;
    let output = tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
        (status, out)
    })
    .await
    .unwrap();
    assert_eq!(output.0.code(), Some(0), "{}", output.1);
    assert!(
        output.1.contains(&url),
        "the URL is printed too: {}",
        output.1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sso_void_open_without_an_opener_fails_clearly_before_launching_anything() {
    let (simulator, payment) = simulator_with_payment().await;
    let empty = tempfile::tempdir().unwrap();
    let output = sso(
        &simulator,
        DEMO_SSO_KEY,
        &["void", "--transaction-id", payment.as_str(), "--open"],
    )
    .env("PATH", empty.path())
    .env_remove("INSTAMED_OPENER")
    .output()
    .unwrap();
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(
        text(&output).contains("is not installed or not on PATH"),
        "{}",
        text(&output)
    );
    assert!(
        !text(&output).contains("open this URL"),
        "{}",
        text(&output)
    );
}
