//! The gateway killed while it works: 64 ERP callers voiding payments through it, the simulator
//! dropping connections, answering server faults and cutting answers after the void is made,
//! the gateway killed with SIGKILL at seeded
//! points ten times and started again on the same address. At the end every payment is voided
//! exactly once at InstaMed, every caller got the settled answer for each of its payments, and
//! the gateway's ledger agrees with the simulator's books. Once with one gateway on a SQLite
//! file, once with three replicas on one PostgreSQL ledger, the callers spreading each void and
//! its retries over all three while one of them is killed; there a quarter of the payments have
//! their funds transfer begun, so the ERP, told the void is too late, refunds them instead:
//! each refunded at most once, none both voided and refunded, and a refund whose outcome was
//! lost held for a person, never sent again.

use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use instamed_soap::TransactionId;
use instamed_soap_ledger::{Action, Ledger, Verdict};
use instamed_soap_test_support::raw_https::{self, Target};

use crate::isolated::{start, value};

const CALLERS: usize = 64;
const PAYMENTS: usize = 256;
const KILLS: usize = 10;
const CLIENT: &str = "erp:kill-test-secret";
/// In a run with refunds, one payment in this many has its funds transfer begun.
const TRANSFERRED_EVERY: usize = 4;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// What an ERP hears once the gateway has settled its request: the answers `docs/gateway.md`
/// documents for a void and a refund that this run may give, and the rest, which fail the test.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Heard {
    /// Voided: C/V, or D/V for a payment voided before.
    Voided,
    /// The void refused on statuses: its `PrimaryTransactionStatus` (`S`: funds transfer begun).
    Refused(Option<String>),
    /// Refunded: the refund's own transaction ID.
    Refunded(String),
    /// `RefundOnHold`: a refund may have been made and nobody knows; a person settles it.
    HeldForAPerson,
    /// Any other answer: one the documentation does not give, or one it gives that cannot be
    /// right here (a refund of the whole amount of a transferred payment refused, say).
    Unexpected(String),
}

/// The two requests an ERP makes here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Void,
    /// A refund of the whole payment (10.00).
    Refund,
}

/// One ERP request, .NET-style SOAP 1.1. `None` when there is no settled answer yet and the
/// documentation says to ask again: a connection refused while the gateway is down, or a fault
/// whose detail is `OutcomeUnknown`, `NotSent` or `LedgerUnavailable`.
async fn ask(port: u16, what: Ask, payment: &str) -> Option<Heard> {
    let (operation, amount) = match what {
        Ask::Void => ("DoCreditCardSecondaryVoid", ""),
        Ask::Refund => ("DoCreditCardSimpleRefund", "<Amount>10.00</Amount>"),
    };
    let answer = raw_https::erp_soap11(
        Target {
            addr: ([127, 0, 0, 1], port).into(),
            host: "localhost",
            ca: None,
        },
        CLIENT,
        operation,
        payment,
        amount,
    )
    .await
    .ok()?;
    let field = |local: &str| raw_https::xml_text(&answer.body, local);
    let has = |detail: &str| field(detail).is_some();
    let heard = match (answer.status.as_u16(), what) {
        (500, _) if has("OutcomeUnknown") || has("NotSent") || has("LedgerUnavailable") => {
            return None;
        }
        (500, Ask::Refund) if has("RefundOnHold") => Heard::HeldForAPerson,
        (200, Ask::Void) => match field("PrimaryTransactionStatus") {
            Some(status) if status == "V" => Heard::Voided,
            status if field("TransactionStatus").as_deref() == Some("D") => Heard::Refused(status),
            _ => Heard::Unexpected(answer.body),
        },
        (200, Ask::Refund) => match (field("TransactionStatus"), field("TransactionID")) {
            (Some(status), Some(id)) if status == "C" && !id.is_empty() => Heard::Refunded(id),
            _ => Heard::Unexpected(answer.body),
        },
        (status, _) => Heard::Unexpected(format!("HTTP {status}: {}", answer.body)),
    };
    Some(heard)
}

/// The gateways under test: where their ledger is, how many share it, and what else each is
/// started with.
struct Replicas<'a> {
    ledger: &'a str,
    count: usize,
    args: &'a [&'a str],
    envs: &'a [(&'a str, &'a str)],
}

/// What the run left: what the ERP heard about each payment (for a payment it voids, the
/// first settled answer and the one after; for one it refunds, the void's answer, then the
/// refund's and the one after), which payments had their funds transfer begun, and the
/// simulator's journal.
struct Outcome {
    answered: Vec<(String, Vec<Heard>)>,
    transferred: Vec<String>,
    books: String,
    payments: Vec<String>,
}

/// Seeds the simulator with the payments, starts the replicas, lets 64 callers void every
/// payment (each ask going to the next replica in turn, so a retry lands elsewhere) while the
/// first replica is killed with SIGKILL at ten seeded points and started again on its port.
/// With `refunds`, every [`TRANSFERRED_EVERY`]th payment has its funds transfer begun, and the
/// ERP, told its void is too late (`D`, `PrimaryTransactionStatus` `S`), refunds it instead.
async fn killed_under_load(dir: &Path, replicas: &Replicas<'_>, refunds: bool) -> Outcome {
    let seed = dir.join("payments.csv");
    let payments: Vec<String> = (1..=PAYMENTS).map(|i| format!("{i:032X}")).collect();
    let transferred: Vec<String> = payments
        .iter()
        .skip(1)
        .step_by(TRANSFERRED_EVERY)
        .filter(|_| refunds)
        .cloned()
        .collect();
    let lines: String = payments
        .iter()
        .map(|id| {
            let state = if transferred.contains(id) {
                ",transferred"
            } else {
                ""
            };
            format!("{id},123123123,123,456,10.00{state}\n")
        })
        .collect();
    std::fs::write(&seed, lines).expect("seed file");
    let journal = dir.join("instamed.jsonl");
    let ca = dir.join("simulator-ca.pem");
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

    let ports: Vec<u16> = (0..replicas.count).map(|_| free_port()).collect();
    let listens: Vec<String> = ports
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let ca = path(&ca);
    let gateway_args = |listen: &str| -> Vec<String> {
        [
            "gateway",
            "--plain-http",
            "--listen",
            listen,
            "--upstream",
            &endpoint,
            "--ca-cert",
            &ca,
            "--client",
            CLIENT,
            "--ledger",
            replicas.ledger,
            "--rate-limit",
            "0",
        ]
        .iter()
        .chain(replicas.args)
        .map(|arg| (*arg).to_owned())
        .collect()
    };
    let mut envs = vec![
        (
            "INSTAMED_ACCOUNT_ID",
            instamed_soap_simulator::DEMO_ACCOUNT_ID,
        ),
        ("INSTAMED_PASSWORD", instamed_soap_simulator::DEMO_PASSWORD),
    ];
    envs.extend_from_slice(replicas.envs);
    let launch = |listen: &str| {
        let args = gateway_args(listen);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        start(&args, &envs).0
    };
    let mut gateways: Vec<Child> = listens.iter().map(|listen| launch(listen)).collect();

    let settled = Arc::new(AtomicUsize::new(0));
    let payments = Arc::new(payments);
    let ports = Arc::new(ports);
    let mut callers = Vec::new();
    for caller in 0..CALLERS {
        let (settled, payments, ports) = (settled.clone(), payments.clone(), ports.clone());
        callers.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            // Each ask goes to the next replica: a retry lands on another one.
            let mut asks = caller;
            // The ERP asks until it hears a settled answer.
            let mut settle = async |what: Ask, payment: &str| loop {
                let port = ports[asks % ports.len()];
                asks += 1;
                if let Some(heard) = ask(port, what, payment).await {
                    break heard;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            for payment in payments.iter().skip(caller).step_by(CALLERS) {
                let first = settle(Ask::Void, payment).await;
                settled.fetch_add(1, Ordering::SeqCst);
                // Too late to void: the ERP refunds instead, and asks that once more.
                let heard = if first == Heard::Refused(Some("S".to_owned())) {
                    let refund = settle(Ask::Refund, payment).await;
                    let again = settle(Ask::Refund, payment).await;
                    vec![first, refund, again]
                } else {
                    let again = settle(Ask::Void, payment).await;
                    vec![first, again]
                };
                answers.push((payment.clone(), heard));
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
    let mut kills = 0;
    for point in points {
        while settled.load(Ordering::SeqCst) < point {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        gateways[0].kill().expect("SIGKILL");
        gateways[0].wait().expect("reaped");
        kills += 1;
        // A moment down: callers find the port closed and retry.
        tokio::time::sleep(Duration::from_millis(u64::from(rng.u8(0..200)))).await;
        gateways[0] = launch(&listens[0]);
    }

    let mut answered = Vec::new();
    for caller in callers {
        answered.extend(caller.await.expect("caller"));
    }
    for gateway in &mut gateways {
        let _ = gateway.kill();
        let _ = gateway.wait();
    }
    let _ = simulator.kill();
    let _ = simulator.wait();
    assert_eq!(kills, KILLS);
    Outcome {
        answered,
        transferred,
        books: std::fs::read_to_string(&journal).expect("the simulator's journal"),
        payments: Arc::unwrap_or_clone(payments),
    }
}

/// What the simulator's journal says it did to each payment: how many times it voided it, and
/// the IDs of the refunds it made of it (a refund is a payment `created` with `refund_of`).
#[derive(Debug, Default)]
struct Books {
    voids: HashMap<String, usize>,
    refunds: HashMap<String, Vec<String>>,
}

impl Books {
    fn read(journal: &str) -> Self {
        let mut books = Self::default();
        for line in journal.lines() {
            let entry: serde_json::Value = serde_json::from_str(line).expect("a journal line");
            let text = |name: &str| entry[name].as_str().map(str::to_ascii_uppercase);
            match (entry["event"].as_str(), text("id"), text("refund_of")) {
                (Some("voided"), Some(id), _) => *books.voids.entry(id).or_default() += 1,
                (Some("created"), Some(id), Some(of)) => {
                    books.refunds.entry(of).or_default().push(id);
                }
                _ => {}
            }
        }
        books
    }

    fn voids(&self, payment: &str) -> usize {
        self.voids.get(payment).copied().unwrap_or(0)
    }

    fn refunds(&self, payment: &str) -> &[String] {
        self.refunds.get(payment).map_or(&[], Vec::as_slice)
    }
}

/// Every payment settled once everywhere. A payment the ERP voids: voided exactly once in the
/// simulator's books and never refunded, the caller told so twice, and `ledger` knowing it
/// voided and never refused. A payment whose funds transfer had begun: never voided, refunded
/// at most once; the caller told the void is too late, then either the refund (the same ID
/// twice, the one in the books and in `ledger`, made once) or twice that it is held for a
/// person. A held refund is an entry `ledger` lists as open, with no refund recorded made: a
/// person reads the payment's refunds at InstaMed and settles it, which this test does not
/// play; the books may hold its refund (its answer was lost after InstaMed made it) or not (the
/// request never got that far), never two.
fn settled_once_everywhere(outcome: &Outcome, ledger: &Ledger) {
    assert_eq!(
        outcome.answered.len(),
        PAYMENTS,
        "every payment got a settled answer"
    );
    let books = Books::read(&outcome.books);
    let open: Vec<String> = ledger
        .open_entries()
        .expect("the open entries")
        .into_iter()
        .filter(|entry| entry.action == Action::Refund)
        .map(|entry| entry.payment.to_ascii_uppercase())
        .collect();
    let heard: HashMap<&str, &[Heard]> = outcome
        .answered
        .iter()
        .map(|(payment, heard)| (payment.as_str(), heard.as_slice()))
        .collect();
    let (mut refunded, mut held, mut held_and_made) = (0, 0, 0);
    for payment in &outcome.payments {
        let heard = heard[payment.as_str()];
        let standing = ledger
            .standing(&TransactionId::new(payment).expect("id"))
            .expect("standing");
        let made = standing.refunds_made();
        if !outcome.transferred.contains(payment) {
            assert_eq!(
                heard,
                [Heard::Voided, Heard::Voided],
                "{payment}: voided, and said so twice"
            );
            assert_eq!(books.voids(payment), 1, "{payment} voided once at InstaMed");
            assert!(
                books.refunds(payment).is_empty() && made.is_empty(),
                "{payment}: voided, never refunded: {:?}",
                standing.entries
            );
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
            continue;
        }
        assert_eq!(
            books.voids(payment),
            0,
            "{payment}: transferred, never voided"
        );
        assert!(
            standing.voided().is_none(),
            "{payment}: {:?}",
            standing.entries
        );
        let at_instamed = books.refunds(payment);
        assert!(
            at_instamed.len() <= 1,
            "{payment} refunded {} times at InstaMed",
            at_instamed.len()
        );
        assert_eq!(
            heard[0],
            Heard::Refused(Some("S".to_owned())),
            "{payment}: the void is too late"
        );
        match &heard[1..] {
            [Heard::Refunded(first), Heard::Refunded(again)] => {
                refunded += 1;
                assert_eq!(first, again, "{payment}: the same refund twice");
                assert_eq!(
                    at_instamed,
                    [first.to_ascii_uppercase()],
                    "{payment}: the refund the ERP heard is the one InstaMed made"
                );
                assert!(
                    made.len() == 1
                        && made[0]
                            .refund_id
                            .as_deref()
                            .is_some_and(|id| id.eq_ignore_ascii_case(first))
                        && standing.refund_on_hold().is_none(),
                    "{payment}: the ledger knows the one refund: {:?}",
                    standing.entries
                );
            }
            [Heard::HeldForAPerson, Heard::HeldForAPerson] => {
                held += 1;
                held_and_made += at_instamed.len();
                assert!(
                    made.is_empty() && standing.refund_on_hold().is_some(),
                    "{payment}: held in the ledger, nothing recorded made: {:?}",
                    standing.entries
                );
                assert!(
                    open.contains(payment),
                    "{payment}: listed for a person ({open:?})"
                );
            }
            other => panic!("{payment}: the refund was answered {other:?}"),
        }
    }
    // How the refunds ended, for the record of a run (`--nocapture`).
    if outcome.transferred.is_empty() {
        return;
    }
    eprintln!(
        "refunds: {refunded} made and heard, {held} held for a person ({held_and_made} of \
         them made at InstaMed, their answers lost)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_ten_times_under_64_callers_voids_every_payment_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let ledger = dir.path().join("gateway-ledger.db");
    let ledger = ledger.to_str().expect("utf-8 path");
    let replicas = Replicas {
        ledger,
        count: 1,
        args: &[],
        envs: &[],
    };
    let outcome = killed_under_load(dir.path(), &replicas, false).await;
    settled_once_everywhere(
        &outcome,
        &Ledger::open(ledger).expect("the gateway's ledger"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_three_replicas_on_postgres_killed_ten_times_under_64_callers_voids_or_refunds_each_payment_once()
 {
    let Some(cluster) = instamed_soap_test_support::postgres::PgCluster::start() else {
        return;
    };
    let url = cluster.database();
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().to_str().expect("utf-8 path").to_owned();
    let replicas = Replicas {
        ledger: &url,
        count: 3,
        // A killed replica's claims run out in 3 s, not the default 120 s: the voids it held
        // are reconciled by the others within the test's time, its refunds held for a person.
        // A live replica's call outlasting it is harmless: for a void InstaMed answers the
        // second "already voided"; a refund is never sent again, the retry is told it is held.
        args: &["--lease", "3s"],
        // Where the replicas keep their JSON API's operations: the test's, not the user's.
        envs: &[("XDG_STATE_HOME", &state)],
    };
    let outcome = killed_under_load(dir.path(), &replicas, true).await;
    let ledger = Ledger::open(&url).expect("the shared ledger");
    settled_once_everywhere(&outcome, &ledger);
    assert!(
        !outcome.transferred.is_empty(),
        "some payments were refunded instead"
    );
}
