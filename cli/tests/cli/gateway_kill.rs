//! The gateway killed while it works: 64 ERP callers voiding payments through it, the simulator
//! dropping connections, answering server faults and cutting answers after the void is made,
//! the gateway killed with SIGKILL at seeded
//! points ten times and started again on the same address. At the end every payment is voided
//! exactly once at InstaMed, every caller got the settled answer for each of its payments, and
//! the gateway's ledger agrees with the simulator's books.

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Method;
use instamed_soap::TransactionId;
use instamed_soap_ledger::{Action, Ledger, Verdict};
use instamed_soap_test_support::raw_https::{self, SOAP11, TNS, Target};

use crate::isolated;

const CALLERS: usize = 64;
const PAYMENTS: usize = 256;
const KILLS: usize = 10;
const CLIENT: &str = "erp:kill-test-secret";

/// A process started with `args`, and the lines it printed until it said how to stop it.
fn start(args: &[&str], envs: &[(&str, &str)]) -> (Child, Vec<String>) {
    let mut command = isolated::instamed_soap();
    command
        .args(args)
        .envs(envs.iter().copied())
        .stderr(Stdio::null());
    isolated::started(&mut command)
}

fn value(printed: &[String], label: &str) -> String {
    isolated::printed_value(printed, label).unwrap_or_else(|| panic!("no {label} in {printed:?}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// One ERP request: a .NET-style SOAP 1.1 void. `Some(true)` settled voided (C/V, or D/V for a
/// payment voided before), `Some(false)` a settled answer that is not voided, `None` no settled
/// answer yet (a connection refused while the gateway is down, an open outcome).
async fn void(port: u16, payment: &str) -> Option<bool> {
    use base64::Engine as _;
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP11}\">\
         <soap:Body><DoCreditCardSecondaryVoid xmlns=\"{TNS}\"><transaction>\
         <MerchantID>123123123</MerchantID><StoreID>123</StoreID><TerminalID>456</TerminalID>\
         <PrimaryTransactionID>{payment}</PrimaryTransactionID></transaction>\
         </DoCreditCardSecondaryVoid></soap:Body></soap:Envelope>"
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(CLIENT)
    );
    let action = format!("\"{TNS}DoCreditCardSecondaryVoid\"");
    let answer = raw_https::send_to(
        Target {
            addr: ([127, 0, 0, 1], port).into(),
            host: "localhost",
            ca: None,
        },
        Method::POST,
        "/payment/service.asmx",
        &[
            ("authorization", &basic),
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", &action),
        ],
        envelope,
    )
    .await
    .ok()?;
    if answer.status != 200 {
        return None;
    }
    let primary = raw_https::xml_text(&answer.body, "PrimaryTransactionStatus");
    Some(primary.as_deref() == Some("V"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_ten_times_under_64_callers_voids_every_payment_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let seed = dir.path().join("payments.csv");
    let payments: Vec<String> = (1..=PAYMENTS).map(|i| format!("{i:032X}")).collect();
    let lines: String = payments
        .iter()
        .map(|id| format!("{id},123123123,123,456,10.00\n"))
        .collect();
    std::fs::write(&seed, lines).expect("seed file");
    let journal = dir.path().join("instamed.jsonl");
    let ca = dir.path().join("simulator-ca.pem");
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
    let (mut simulator, printed) = start(
        &[
            "serve",
            "--seed-file",
            &path(&seed),
            "--ledger-file",
            &path(&journal),
            "--ca-out",
            &path(&ca),
            "--seed",
            "23",
            "--reset-rate",
            "0.05",
            "--fault-rate",
            "0.05",
            // Voided, and the answer cut in half: the outcome is lost after the commit.
            "--truncate-rate",
            "0.05",
        ],
        &[],
    );
    let endpoint = value(&printed, "endpoint:");

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let ledger = dir.path().join("gateway-ledger.db");
    let gateway_args = [
        "gateway",
        "--plain-http",
        "--listen",
        &listen,
        "--upstream",
        &endpoint,
        "--ca-cert",
        &path(&ca),
        "--client",
        CLIENT,
        "--ledger",
        &path(&ledger),
        "--rate-limit",
        "0",
    ];
    let credentials = [
        (
            "INSTAMED_ACCOUNT_ID",
            instamed_soap_simulator::DEMO_ACCOUNT_ID,
        ),
        ("INSTAMED_PASSWORD", instamed_soap_simulator::DEMO_PASSWORD),
    ];
    let (gateway, _) = start(&gateway_args, &credentials);

    let settled = Arc::new(AtomicUsize::new(0));
    let payments = Arc::new(payments);
    let mut callers = Vec::new();
    for caller in 0..CALLERS {
        let (settled, payments) = (settled.clone(), payments.clone());
        callers.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for payment in payments.iter().skip(caller).step_by(CALLERS) {
                // The ERP retries until it hears a settled answer, then asks once more.
                let first = loop {
                    if let Some(voided) = void(port, payment).await {
                        break voided;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                };
                settled.fetch_add(1, Ordering::SeqCst);
                let again = loop {
                    if let Some(voided) = void(port, payment).await {
                        break voided;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                };
                answers.push((payment.clone(), first, again));
            }
            answers
        }));
    }

    // The kills: when the count of settled payments passes each of ten seeded points.
    let mut rng = fastrand::Rng::with_seed(2026);
    let mut points: Vec<usize> = (0..KILLS)
        .map(|_| rng.usize(PAYMENTS / 20..PAYMENTS * 9 / 10))
        .collect();
    points.sort_unstable();
    let mut gateway = gateway;
    let mut kills = 0;
    for point in points {
        while settled.load(Ordering::SeqCst) < point {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        gateway.kill().expect("SIGKILL");
        gateway.wait().expect("reaped");
        kills += 1;
        // A moment down: callers find the port closed and retry.
        tokio::time::sleep(Duration::from_millis(u64::from(rng.u8(0..200)))).await;
        gateway = start(&gateway_args, &credentials).0;
    }

    let mut answered = Vec::new();
    for caller in callers {
        answered.extend(caller.await.expect("caller"));
    }
    let _ = gateway.kill();
    let _ = gateway.wait();
    let _ = simulator.kill();
    let _ = simulator.wait();
    assert_eq!(kills, KILLS);
    assert_eq!(
        answered.len(),
        PAYMENTS,
        "every payment got a settled answer"
    );
    for (payment, first, again) in &answered {
        assert!(*first && *again, "{payment}: voided, and said so twice");
    }

    let books = std::fs::read_to_string(&journal).expect("the simulator's journal");
    let ledger = Ledger::open(&ledger).expect("the gateway's ledger");
    for payment in payments.iter() {
        let voids = books
            .lines()
            .filter(|line| line.contains("\"event\":\"voided\"") && line.contains(payment.as_str()))
            .count();
        assert_eq!(voids, 1, "{payment} voided once at InstaMed");
        let standing = ledger
            .standing(&TransactionId::new(payment).expect("id"))
            .expect("standing");
        assert!(
            standing.voided().is_some(),
            "{payment}: the gateway's ledger knows it voided: {:?}",
            standing.entries
        );
        assert!(
            standing
                .entries
                .iter()
                .filter(|e| e.action == Action::Void)
                .all(|e| e.verdict != Some(Verdict::NotVoidable)),
            "{payment}: never refused"
        );
    }
}
