//! The batch command as an operator runs it: the real binary against the simulator on loopback,
//! through a counting proxy, killed with SIGKILL at seeded moments and resumed each time.

#![cfg(unix)]

use crate::isolated::{self, described};
use instamed_soap_test_support as support;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use instamed_soap::{Outlet, TransactionId};
use instamed_soap_ledger::batch::{
    Batch, BatchOptions, Finding, InputRow, Journal, JournalError, Settle, Summary, Verdict,
};
use instamed_soap_ledger::{Action as LedgerAction, Ledger};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, Simulator, SimulatorConfig,
};

mod workers;

/// Requests per payment and operation, counted on the wire between the batch and the service.
#[derive(Default)]
struct Counts {
    by_payment: HashMap<(String, &'static str), u32>,
    total: u32,
}

/// A plain-HTTP proxy in front of the simulator that counts requests per payment.
struct Proxy {
    addr: SocketAddr,
    counts: Arc<Mutex<Counts>>,
    ids: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Mutex::new(Counts::default()));
        let ids: Arc<Mutex<Vec<String>>> = Arc::default();
        let client: Upstream = HttpClient::builder(TokioExecutor::new()).build_http();
        let (c, i) = (counts.clone(), ids.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (counts, ids, client) = (c.clone(), i.clone(), client.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        forward(
                            request,
                            upstream,
                            counts.clone(),
                            ids.clone(),
                            client.clone(),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, counts, ids }
    }

    fn endpoint(&self) -> String {
        format!("http://{}/payment/service.asmx", self.addr)
    }

    fn watch(&self, ids: impl IntoIterator<Item = String>) {
        self.ids
            .lock()
            .unwrap()
            .extend(ids.into_iter().map(|id| id.to_ascii_uppercase()));
    }

    fn count(&self, id: &str, op: &'static str) -> u32 {
        let counts = self.counts.lock().unwrap();
        counts
            .by_payment
            .get(&(id.to_ascii_uppercase(), op))
            .copied()
            .unwrap_or(0)
    }

    fn total(&self) -> u32 {
        self.counts.lock().unwrap().total
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Upstream = HttpClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn forward(
    request: Request<hyper::body::Incoming>,
    upstream: SocketAddr,
    counts: Arc<Mutex<Counts>>,
    ids: Arc<Mutex<Vec<String>>>,
    client: Upstream,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let (mut parts, body) = request.into_parts();
    let body = body.collect().await.map_err(BoxError::from)?.to_bytes();
    let text = String::from_utf8_lossy(&body).to_ascii_uppercase();
    let op = if text.contains("SIMPLEREFUND") {
        "refund"
    } else {
        "void"
    };
    {
        let mut counts = counts.lock().unwrap();
        counts.total += 1;
        if let Some(id) = ids
            .lock()
            .unwrap()
            .iter()
            .find(|id| text.contains(id.as_str()))
        {
            *counts.by_payment.entry((id.clone(), op)).or_default() += 1;
        }
    }
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    parts.uri = format!("http://{upstream}{target}")
        .parse()
        .map_err(BoxError::from)?;
    // A connection the service dropped, or an answer it cut, is dropped here too.
    let answer = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(BoxError::from)?;
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.map_err(BoxError::from)?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

struct Scene {
    simulator: Simulator,
    proxy: Proxy,
    dir: tempfile::TempDir,
}

impl Scene {
    async fn start(faults: FaultPlan) -> Self {
        let simulator = Simulator::start(
            SimulatorConfig::default()
                .with_tls(false)
                .with_faults(faults),
        )
        .await
        .unwrap();
        let proxy = Proxy::start(simulator.local_addr()).await;
        Self {
            simulator,
            proxy,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn outlet() -> Outlet {
        support::outlet()
    }

    fn payment(&self) -> String {
        let id = self
            .simulator
            .ledger()
            .create_payment(&Self::outlet(), "10.00")
            .unwrap()
            .to_string();
        self.proxy.watch([id.clone()]);
        id
    }

    /// The simulator's status code of payment `id` (`V`: voided).
    fn status_of(&self, id: &str) -> &'static str {
        let payment = TransactionId::new(id).expect("a transaction ID");
        let status = self.simulator.ledger().status(&payment);
        status.expect("a payment of the simulator's").code()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    }

    fn command(&self, input: &Path, journal: &Path, extra: &[&str]) -> Command {
        // One ledger for every run of a scene, as an operator's machine has.
        self.command_on(self.path("ledger.db").as_os_str(), input, journal, extra)
    }

    /// A batch on `ledger`: a file, or a database's URL (given in `INSTAMED_LEDGER`, as the
    /// documentation advises for a URL with its password).
    fn command_on(
        &self,
        ledger: &std::ffi::OsStr,
        input: &Path,
        journal: &Path,
        extra: &[&str],
    ) -> Command {
        let mut command = isolated::instamed_soap();
        command
            .arg("batch")
            .arg("--input")
            .arg(input)
            .arg("--journal")
            .arg(journal)
            .env("INSTAMED_LEDGER", ledger)
            .args([
                "--endpoint",
                &self.proxy.endpoint(),
                "--allow-plain-http",
                "--timeout",
                "5",
            ])
            .args(extra)
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    async fn run(&self, input: &Path, journal: &Path, extra: &[&str]) -> Output {
        let mut command = self.command(input, journal, extra);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }
}

const HEADER: &str = "transaction_id,merchant_id,store_id,terminal_id,amount,invoice\n";

fn row(id: &str, amount: &str, invoice: usize) -> String {
    format!("{id},123123123,123,456,{amount},INV-{invoice}\n")
}

fn report_rows(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn wait_killed(mut child: Child) -> Output {
    tokio::task::spawn_blocking(move || {
        child.kill().ok();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// SIGKILL at seeded moments, at least 20 times, with latency and every kind of fault that
/// leaves an outcome unknown; then the ledger and the wire are checked against the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_batches_resume_and_settle_every_payment_exactly_once() {
    let started = Instant::now();
    let faults = FaultPlan {
        latency: Duration::from_millis(50),
        fault_rate: 0.04,
        unavailable_rate: 0.02,
        reset_rate: 0.03,
        truncate_rate: 0.04,
        malformed_rate: 0.02,
        max_faults: Some(40),
        ..FaultPlan::seeded(14)
    };
    let scene = Scene::start(faults).await;
    let mut csv = HEADER.to_owned();
    let mut expected: Vec<(String, &str)> = Vec::new();
    for i in 0..600 {
        let id = scene.payment();
        let kind = match i % 30 {
            7 | 19 => {
                scene
                    .simulator
                    .ledger()
                    .start_transfer(&TransactionId::new(&id).unwrap())
                    .unwrap();
                "too_late"
            }
            11 => {
                scene
                    .simulator
                    .ledger()
                    .void(
                        &TransactionId::new(&id).unwrap(),
                        std::time::SystemTime::now(),
                    )
                    .unwrap();
                "voided_before"
            }
            _ => "capturable",
        };
        csv.push_str(&row(&id, "10.00", i));
        expected.push((id, kind));
    }
    let input = scene.write("payments.csv", &csv);
    let journal = scene.path("batch.journal");
    let extra = ["--concurrency", "4", "--or-refund"];

    let mut rng = fastrand::Rng::with_seed(14);
    let mut kills = 0;
    let mut runs = 0;
    while kills < 22 && runs < 80 {
        runs += 1;
        let child = scene.command(&input, &journal, &extra).spawn().unwrap();
        let pid = child.id();
        tokio::time::sleep(Duration::from_millis(rng.u64(60..400))).await;
        let mut child = child;
        match child.try_wait().unwrap() {
            Some(_) => {
                let output = wait_killed(child).await;
                assert_ne!(
                    output.status.code(),
                    Some(7),
                    "run {runs}: {}",
                    described(&output)
                );
            }
            None => {
                kills += 1;
                let output = wait_killed(child).await;
                assert_eq!(
                    output.status.code(),
                    None,
                    "pid {pid} was not killed: {}",
                    described(&output)
                );
            }
        }
    }
    assert!(kills >= 20, "only {kills} kills landed in {runs} runs");

    // Resume to the end, reconciling what is left unknown.
    let report = scene.path("report.jsonl");
    let mut last = None;
    for _ in 0..3 {
        let output = scene
            .run(
                &input,
                &journal,
                &[
                    &extra[..],
                    &[
                        "--reconcile",
                        "--report",
                        report.to_str().unwrap(),
                        "--json",
                    ],
                ]
                .concat(),
            )
            .await;
        let code = output.status.code();
        last = Some(output);
        if code != Some(5) {
            break;
        }
    }
    let last = last.unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&last.stdout).unwrap_or_else(|_| panic!("{}", described(&last)));
    let rows = report_rows(&report);
    assert_eq!(rows.len(), expected.len(), "one report row per input row");

    let journal = Journal::open(&journal).unwrap();
    let ledger = scene.simulator.ledger();
    let refunds_of = |id: &str| {
        ledger
            .payments()
            .iter()
            .filter(|p| {
                p.refund_of
                    .as_ref()
                    .is_some_and(|r| r.as_str().eq_ignore_ascii_case(id))
            })
            .count()
    };
    for (seq, (row, (id, kind))) in rows.iter().zip(&expected).enumerate() {
        assert_eq!(row["transaction_id"], id.as_str());
        let verdict = row["verdict"].as_str().unwrap();
        let status = ledger.status(&TransactionId::new(id).unwrap()).unwrap();
        let voids = scene.proxy.count(id, "void");
        let refunds = scene.proxy.count(id, "refund");
        let attempts = journal.attempts_of(seq as i64).unwrap();
        match verdict {
            "voided" => assert_eq!(status.code(), "V", "{id} reported voided"),
            "already_voided" => assert_eq!(*kind, "voided_before", "{id}"),
            "refunded" => {
                assert_eq!(*kind, "too_late", "{id}");
                assert_eq!(refunds_of(id), 1, "{id} refunded once in the ledger");
                assert!(
                    row["refund_transaction_id"]
                        .as_str()
                        .is_some_and(|s| !s.is_empty())
                );
            }
            "refund_unknown" => assert!(refunds_of(id) <= 1),
            other => panic!("{id} ({kind}) ended {other}: {row}\n{attempts:?}"),
        }
        assert!(refunds_of(id) <= 1, "{id} refunded twice");
        assert!(refunds <= 1, "{id}: {refunds} refund requests");
        // The ledger agrees with the report and with the money that moved.
        let ours = Ledger::open(scene.path("ledger.db"))
            .unwrap()
            .standing(&TransactionId::new(id).unwrap())
            .unwrap();
        let refund_intents = ours
            .entries
            .iter()
            .filter(|e| e.action == LedgerAction::Refund)
            .count();
        // Every refund sent had its intent first (a kill may fall between the two), and no
        // payment had two.
        assert!(
            refunds <= refund_intents as u32 && refund_intents <= 1,
            "{id}: {refunds} refunds sent, {refund_intents} intents"
        );
        if verdict == "refunded" {
            assert_eq!(ours.refunds_made().len(), 1, "{id}: {ours:?}");
        }
        if *kind == "capturable" {
            assert_eq!(status.code(), "V", "{id} ended {verdict} but is not voided");
        }
        // A second void request only after a first outcome that was unknown.
        if voids > 1 {
            assert!(
                attempts
                    .first()
                    .is_some_and(|(_, _, v)| v.is_none() || v.as_deref() == Some("outcome_unknown")),
                "{id} sent {voids} times though its first attempt ended {attempts:?}"
            );
        }
        assert!(voids >= 1, "{id} never sent");
    }
    // Voids caught in flight were all reconciled; a refund caught in flight stays unknown (it is
    // never sent twice), and only that may leave the batch at exit code 9: a person's turn.
    assert_eq!(summary["counts"]["outcome_unknown"], 0, "{summary}");
    assert_eq!(summary["counts"]["pending"], 0, "{summary}");
    let expected_code = if summary["counts"]["refund_unknown"] == 0 {
        6
    } else {
        9
    };
    assert_eq!(summary["exit_code"], expected_code, "{summary}");
    eprintln!(
        "{kills} kills survived in {runs} runs, {} requests for {} rows, {:.1} s",
        scene.proxy.total(),
        expected.len(),
        started.elapsed().as_secs_f64()
    );
    drop(journal);
    scene.simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rows_are_reported_with_their_line_and_never_sent() {
    let scene = Scene::start(FaultPlan::default()).await;
    let good = scene.payment();
    let csv = format!(
        "{HEADER}{},123123123,123,456,,INV-2\n{},123123123,123,456,1.234,INV-3\n",
        row(&good, "", 1),
        "ABCDEF0123456789"
    );
    let input = scene.write("in.csv", &csv);
    let report = scene.path("report.csv");
    let output = scene
        .run(
            &input,
            &scene.path("j"),
            &["--report", report.to_str().unwrap()],
        )
        .await;
    assert_eq!(output.status.code(), Some(2), "{}", described(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 3: not sent"), "{stderr}");
    assert!(
        stderr.contains("line 4: not sent") && stderr.contains("two decimals"),
        "{stderr}"
    );
    assert_eq!(scene.proxy.total(), 1, "only the good row was sent");
    let report = std::fs::read_to_string(report).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 4, "{report}");
    assert!(
        lines[0].starts_with("line,transaction_id,") && lines[0].ends_with(",invoice"),
        "{report}"
    );
    assert!(
        lines[1].starts_with(&format!("2,{good},"))
            && lines[1].contains(",voided,0,")
            && lines[1].ends_with("INV-1")
    );
    assert!(lines[2].starts_with("3,,") && lines[2].contains(",invalid,2,"));
    assert!(lines[3].contains(",invalid,2,") && lines[3].contains("two decimals"));
}

/// A card number in a row reaches neither the journal nor the report: typed as the payment's
/// ID, the row is refused and every column of it masked; in a column of its own beside a
/// payment that is sent, that column is masked and the payment voided as given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_in_a_row_is_refused_as_an_id_and_masked_in_the_journal_and_report() {
    const CARD: &str = "4111111111111111";
    let scene = Scene::start(FaultPlan::default()).await;
    let good = scene.payment();
    let csv =
        format!("{HEADER}{good},123123123,123,456,,card {CARD}\n{CARD},123123123,123,456,,INV-3\n");
    let input = scene.write("in.csv", &csv);
    let (report, journal) = (scene.path("report.csv"), scene.path("j"));
    let output = scene
        .run(&input, &journal, &["--report", report.to_str().unwrap()])
        .await;
    assert_eq!(output.status.code(), Some(2), "{}", described(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 3: not sent") && stderr.contains("card number"),
        "{stderr}"
    );
    assert_eq!(scene.proxy.total(), 1, "only the good row was sent");
    let report = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert!(lines[1].starts_with(&format!("2,{good},")), "{report}");
    assert!(lines[1].contains(",voided,"), "{report}");
    assert!(
        lines[2].starts_with("3,") && lines[2].contains(",invalid,2,"),
        "{report}"
    );
    // The journal's file and its write-ahead log, whichever holds the rows now.
    let mut journal_bytes = std::fs::read(&journal).unwrap();
    let mut wal = journal.clone().into_os_string();
    wal.push("-wal");
    journal_bytes.extend(std::fs::read(&wal).unwrap_or_default());
    let in_journal = String::from_utf8_lossy(&journal_bytes);
    for (file, text) in [("report", report.as_str()), ("journal", &in_journal)] {
        assert!(!text.contains(CARD), "{file} holds the card number");
    }
    assert!(
        in_journal.contains(good.as_str()),
        "the journal keeps the row sent"
    );
    let dry = scene.run(&input, &scene.path("dry"), &["--dry-run"]).await;
    let printed = described(&dry);
    assert!(printed.contains("line 3"), "{printed}");
    assert!(
        !printed.contains(CARD),
        "a dry run prints the card number: {printed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_cannot_be_written_exits_7_even_when_every_row_is_voided() {
    let scene = Scene::start(FaultPlan::default()).await;
    let id = scene.payment();
    let csv = format!(
        "transaction_id,merchant_id,store_id,terminal_id,invoice,verdict\n\
         {id},123123123,123,456,=HYPERLINK(\"http://x.test/\"),voided\n"
    );
    let input = scene.write("in.csv", &csv);
    let journal = scene.path("j");
    let nowhere = scene.path("no-such-directory").join("report.csv");
    let output = scene
        .run(
            &input,
            &journal,
            &["--report", nowhere.to_str().unwrap(), "--json"],
        )
        .await;
    assert_eq!(output.status.code(), Some(7), "{}", described(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write the report"), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["exit_code"], 7, "{summary}");
    assert_eq!(summary["rows_exit_code"], 0, "{summary}");
    assert_eq!(summary["counts"]["voided"], 1, "{summary}");

    // The journal kept the verdict: the re-run writes the report and sends nothing.
    let report = scene.path("report.csv");
    let output = scene
        .run(&input, &journal, &["--report", report.to_str().unwrap()])
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", described(&output));
    assert_eq!(scene.proxy.count(&id, "void"), 1);
    let report = std::fs::read_to_string(report).unwrap();
    let header = report.lines().next().unwrap();
    assert!(header.ends_with(",invoice,input_verdict"), "{report}");
    assert_eq!(header.matches(",verdict,").count(), 1, "{report}");
    assert!(
        report.contains(",\"'=HYPERLINK(\"\"http://x.test/\"\")\",voided"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_transaction_ids_are_refused_before_anything_is_sent() {
    let scene = Scene::start(FaultPlan::default()).await;
    let (a, b) = (scene.payment(), scene.payment());
    let csv = format!(
        "{HEADER}{}{}{}",
        row(&a, "", 1),
        row(&b, "", 2),
        row(&a.to_ascii_lowercase(), "", 3)
    );
    let input = scene.write("in.csv", &csv);
    let output = scene.run(&input, &scene.path("j"), &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", described(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("duplicate transaction IDs, nothing was sent")
            && stderr.contains("lines 2 and 4"),
        "{stderr}"
    );
    assert_eq!(scene.proxy.total(), 0);
    assert_eq!(scene.status_of(&a), "C");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_input_and_a_journal_in_use_are_refused() {
    let scene = Scene::start(FaultPlan::default()).await;
    let (a, b) = (scene.payment(), scene.payment());
    let input = scene.write("in.csv", &format!("{HEADER}{}", row(&a, "", 1)));
    let journal = scene.path("j");
    let first = scene.run(&input, &journal, &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", described(&first));

    // Same journal, another file: refused, nothing sent.
    let changed = scene.write(
        "in.csv",
        &format!("{HEADER}{}{}", row(&a, "", 1), row(&b, "", 2)),
    );
    let output = scene.run(&changed, &journal, &[]).await;
    assert_eq!(output.status.code(), Some(7), "{}", described(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("the input differs"),
        "{}",
        described(&output)
    );
    assert_eq!(scene.proxy.count(&b, "void"), 0);

    // Another process holds the journal.
    let held = Journal::open(scene.path("held")).unwrap();
    let output = scene.run(&changed, &scene.path("held"), &[]).await;
    assert_eq!(output.status.code(), Some(7), "{}", described(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("in use by another process"),
        "{}",
        described(&output)
    );
    assert!(matches!(
        Journal::open(scene.path("held")),
        Err(JournalError::Locked { .. })
    ));
    drop(held);
    let output = scene.run(&changed, &scene.path("held"), &[]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "the lock goes with its holder: {}",
        described(&output)
    );
}

/// `docs/ledger.md` says a second process is refused rather than made to wait: no busy
/// timeout on the journal's connection. The bound is generous (SQLite's default wait is 5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_in_use_is_refused_at_once_with_exit_7() {
    let scene = Scene::start(FaultPlan::default()).await;
    let id = scene.payment();
    let input = scene.write("in.csv", &format!("{HEADER}{}", row(&id, "", 1)));
    let journal = scene.path("held");
    let held = Journal::open(&journal).unwrap();
    let started = Instant::now();
    let output = scene.run(&input, &journal, &[]).await;
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(7), "{}", described(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("in use by another process"),
        "{}",
        described(&output)
    );
    assert!(
        took < Duration::from_secs(3),
        "waited {took:?} for the lock"
    );
    assert_eq!(scene.proxy.total(), 0, "nothing sent");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_sending_records_what_was_in_flight_and_the_journal_resumes() {
    let scene = Scene::start(FaultPlan::default().with_latency(Duration::from_millis(100))).await;
    let ids: Vec<String> = (0..60).map(|_| scene.payment()).collect();
    let csv: String = std::iter::once(HEADER.to_owned())
        .chain(ids.iter().enumerate().map(|(i, id)| row(id, "", i)))
        .collect();
    let input = scene.write("in.csv", &csv);
    let journal = scene.path("j");
    let child = scene
        .command(&input, &journal, &["--concurrency", "2", "--json"])
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(8), "{}", described(&output));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["interrupted"], true);
    let voided = summary["counts"]["voided"].as_u64().unwrap();
    assert!(voided > 0 && voided < 60, "{summary}");
    assert_eq!(
        summary["counts"]["outcome_unknown"], 0,
        "what was in flight was recorded: {summary}"
    );
    let sent_before = scene.proxy.total();
    assert_eq!(u64::from(sent_before), voided, "nothing was left in flight");

    let output = scene
        .run(&input, &journal, &["--concurrency", "8", "--json"])
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", described(&output));
    for id in &ids {
        assert_eq!(
            scene.proxy.count(id, "void"),
            1,
            "{id} sent once over both runs"
        );
        assert_eq!(scene.status_of(id), "V");
    }
}

/// A payment that does not exist, whose first void lost its answer: every later void says
/// "declined, transaction not found", with no payment status. That settles the row as an
/// unknown payment (exit 3); before, reconciliation never accepted it and every run exited 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_void_of_a_payment_that_does_not_exist_ends_unknown_payment_on_the_next_run() {
    let scene = Scene::start(FaultPlan::seeded(3).with_reset_rate(1.0).with_max_faults(1)).await;
    let stranger = "0123456789ABCDEF0123456789ABCDEF".to_owned();
    scene.proxy.watch([stranger.clone()]);
    let input = scene.write("in.csv", &format!("{HEADER}{}", row(&stranger, "5.00", 1)));
    let journal = scene.path("j");
    let report = scene.path("report.jsonl");
    let extra = [
        "--or-refund",
        "--json",
        "--report",
        report.to_str().unwrap(),
    ];

    let first = scene.run(&input, &journal, &extra).await;
    assert_eq!(first.status.code(), Some(5), "{}", described(&first));
    assert_eq!(report_rows(&report)[0]["verdict"], "outcome_unknown");

    let second = scene.run(&input, &journal, &extra).await;
    assert_eq!(second.status.code(), Some(3), "{}", described(&second));
    let rows = report_rows(&report);
    assert_eq!(rows[0]["verdict"], "unknown_payment", "{}", rows[0]);
    assert_eq!(rows[0]["transaction_status"], "D", "{}", rows[0]);
    assert_eq!(
        scene.proxy.count(&stranger, "refund"),
        0,
        "nothing to refund"
    );

    // Settled: a third run sends nothing.
    let sent = scene.proxy.total();
    let third = scene.run(&input, &journal, &extra).await;
    assert_eq!(third.status.code(), Some(3), "{}", described(&third));
    assert_eq!(scene.proxy.total(), sent);
}

/// A service scripted per payment, that remembers every call.
#[derive(Default)]
struct Scripted {
    calls: Mutex<Vec<(String, &'static str)>>,
    reconcile_proves_voided: bool,
    /// The refund answers with a verdict that is not a refund's own.
    refund_says_not_voidable: bool,
    /// The refund never leaves the machine (a refused connection).
    refund_never_leaves: bool,
}

impl Scripted {
    fn log(&self, request: &instamed_soap::VoidRequest, what: &'static str) -> String {
        let id = request.payment().as_str().to_owned();
        self.calls.lock().unwrap().push((id.clone(), what));
        id
    }
    fn calls(&self, what: &str) -> Vec<String> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|(_, w)| *w == what)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

fn answer(verdict: Verdict) -> Finding {
    Finding {
        verdict: Some(verdict),
        requests: 1,
        ..Finding::default()
    }
}

struct Shared(Arc<Scripted>);

impl Settle for Shared {
    async fn void(&self, request: &instamed_soap::VoidRequest) -> Finding {
        match self.0.log(request, "void").as_str() {
            "AAAA0001" => answer(Verdict::Unknown),
            "BBBB0002" => answer(Verdict::NotVoidable),
            _ => answer(Verdict::Voided),
        }
    }
    async fn reconcile(&self, request: &instamed_soap::VoidRequest) -> Finding {
        self.0.log(request, "reconcile");
        answer(if self.0.reconcile_proves_voided {
            Verdict::Voided
        } else {
            Verdict::Unknown
        })
    }
    async fn refund(
        &self,
        request: &instamed_soap::VoidRequest,
        _: instamed_soap::rest::Amount,
    ) -> Finding {
        self.0.log(request, "refund");
        if self.0.refund_says_not_voidable {
            return answer(Verdict::NotVoidable);
        }
        if self.0.refund_never_leaves {
            return Finding {
                requests: 0,
                detail: "could not connect to the service".into(),
                ..answer(Verdict::Failed)
            };
        }
        Finding {
            refund_id: Some("REFUND01".into()),
            ..answer(Verdict::Refunded)
        }
    }
}

/// The library API takes any `concurrency`: 0 and values a semaphore cannot hold (2^61
/// panicked) are taken as the nearest bound.
#[tokio::test]
async fn any_concurrency_the_library_is_given_runs_the_batch() {
    let outlet = Outlet::new("123123123", "123", "456").unwrap();
    for concurrency in [0, 1, usize::MAX >> 2, usize::MAX] {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path().join("j")).unwrap();
        let request = instamed_soap::VoidRequest::new(
            outlet.clone(),
            TransactionId::new("CCCC0003").unwrap(),
        );
        journal
            .load([Ok(InputRow::from_request(1, &request, None))])
            .unwrap();
        let options = BatchOptions {
            concurrency,
            ..BatchOptions::default()
        };
        let (_, summary) = Batch::new(Shared(Arc::new(Scripted::default())), options)
            .run(journal, std::future::pending())
            .await
            .unwrap();
        assert_eq!(
            summary.count(Verdict::Voided),
            1,
            "concurrency {concurrency}"
        );
    }
}

/// The library API: an unknown void is never refunded, only reconciled; a refunded row and a
/// voided row are never touched again.
#[tokio::test]
async fn an_unknown_void_is_reconciled_never_refunded_and_final_rows_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let outlet = Outlet::new("123123123", "123", "456").unwrap();
    let rows = || {
        ["AAAA0001", "BBBB0002", "CCCC0003"]
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                let request = instamed_soap::VoidRequest::new(
                    outlet.clone(),
                    TransactionId::new(id).unwrap(),
                );
                Ok(InputRow::from_request(
                    i as u64 + 1,
                    &request,
                    Some("4.00".parse().unwrap()),
                ))
            })
    };
    let options = BatchOptions {
        concurrency: 2,
        or_refund: true,
        ..BatchOptions::default()
    };

    let first = Arc::new(Scripted::default());
    let mut journal = Journal::open(&path).unwrap();
    journal.load(rows()).unwrap();
    let (journal, summary) = Batch::new(Shared(first.clone()), options.clone())
        .run(journal, std::future::pending())
        .await
        .unwrap();
    drop(journal);
    assert_eq!(
        first.calls("refund"),
        ["BBBB0002"],
        "only the known refusal is refunded"
    );
    assert_eq!(summary.count(Verdict::Unknown), 1);
    assert_eq!(summary.count(Verdict::Refunded), 1);
    assert_eq!(
        still_to_settle(&summary),
        [Verdict::Refunded, Verdict::Unknown]
    );

    let second = Arc::new(Scripted {
        reconcile_proves_voided: true,
        ..Scripted::default()
    });
    let mut journal = Journal::open(&path).unwrap();
    assert!(journal.load(rows()).unwrap().resumed);
    let (journal, summary) = Batch::new(Shared(second.clone()), options)
        .run(journal, std::future::pending())
        .await
        .unwrap();
    assert_eq!(second.calls("reconcile"), ["AAAA0001"]);
    assert!(second.calls("void").is_empty() && second.calls("refund").is_empty());
    assert_eq!(summary.count(Verdict::Voided), 2);
    assert_eq!(still_to_settle(&summary), [Verdict::Refunded]);
    let mut refund_ids = Vec::new();
    journal
        .for_each_row(|row| {
            refund_ids.push(row.refund_id.clone());
            Ok(())
        })
        .unwrap();
    assert_eq!(refund_ids, [None, Some("REFUND01".to_owned()), None]);
}

/// A refund step that answers with a verdict other than a refund's own is taken as a refund of
/// unknown outcome: the row is never refunded again by a later run.
#[tokio::test]
async fn a_refund_that_claims_another_verdict_is_unknown_and_never_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let outlet = Outlet::new("123123123", "123", "456").unwrap();
    let rows = || {
        std::iter::once(Ok(InputRow::from_request(
            1,
            &instamed_soap::VoidRequest::new(
                outlet.clone(),
                TransactionId::new("BBBB0002").unwrap(),
            ),
            Some("4.00".parse().unwrap()),
        )))
    };
    let options = BatchOptions {
        or_refund: true,
        ..BatchOptions::default()
    };
    for run in 0..2 {
        let service = Arc::new(Scripted {
            refund_says_not_voidable: true,
            ..Scripted::default()
        });
        let mut journal = Journal::open(&path).unwrap();
        journal.load(rows()).unwrap();
        let (_journal, summary) = Batch::new(Shared(service.clone()), options.clone())
            .run(journal, std::future::pending())
            .await
            .unwrap();
        assert_eq!(summary.count(Verdict::RefundUnknown), 1, "run {run}");
        // Nothing a re-run does settles it: no void is left unknown for a loop that re-runs
        // on 5 to chase.
        assert_eq!(
            still_to_settle(&summary),
            [Verdict::RefundUnknown],
            "run {run}"
        );
        let refunds = service.calls("refund").len();
        assert_eq!(refunds, usize::from(run == 0), "run {run}: refunds sent");
    }
}

/// A refund that never left the machine is no refusal: the row is `failed`, and the next run
/// sends the refund (not the void) again.
#[tokio::test]
async fn a_refund_that_never_left_is_failed_and_the_next_run_sends_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let outlet = Outlet::new("123123123", "123", "456").unwrap();
    let rows = || {
        std::iter::once(Ok(InputRow::from_request(
            1,
            &instamed_soap::VoidRequest::new(
                outlet.clone(),
                TransactionId::new("BBBB0002").unwrap(),
            ),
            Some("4.00".parse().unwrap()),
        )))
    };
    let options = BatchOptions {
        or_refund: true,
        ..BatchOptions::default()
    };
    let service = Arc::new(Scripted {
        refund_never_leaves: true,
        ..Scripted::default()
    });
    let mut journal = Journal::open(&path).unwrap();
    journal.load(rows()).unwrap();
    let (journal, summary) = Batch::new(Shared(service.clone()), options.clone())
        .run(journal, std::future::pending())
        .await
        .unwrap();
    drop(journal);
    assert_eq!(summary.count(Verdict::Failed), 1);
    assert_eq!(summary.count(Verdict::RefundRefused), 0);
    assert_eq!(
        still_to_settle(&summary),
        [Verdict::Failed],
        "a re-run settles it"
    );

    let service = Arc::new(Scripted::default());
    let mut journal = Journal::open(&path).unwrap();
    journal.load(rows()).unwrap();
    let (_journal, summary) = Batch::new(Shared(service.clone()), options)
        .run(journal, std::future::pending())
        .await
        .unwrap();
    assert_eq!(summary.count(Verdict::Refunded), 1);
    assert_eq!(service.calls("refund").len(), 1, "the refund sent again");
    assert!(service.calls("void").is_empty(), "not the void");
}

/// The night job meets the same networks as a single void: it takes the same trust and proxy
/// flags, and a payment it cannot reach is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_takes_the_trust_and_proxy_flags_of_void() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let ca = simulator.ca_path().expect("a TLS simulator").to_owned();
    let outlet = Outlet::new("123123123", "123", "456").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A dead proxy: whatever it is asked to carry fails to connect.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_proxy = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);

    /// A case: its name, the flags, the environment, and whether the payment is voided.
    type Case = (&'static str, Vec<String>, Vec<(&'static str, String)>, bool);
    let cases: [Case; 4] = [
        // The system's store, as a TLS-inspecting gateway's CA is installed.
        (
            "os",
            vec!["--trust".into(), "os".into()],
            vec![("SSL_CERT_FILE", ca.display().to_string())],
            true,
        ),
        // Mozilla's roots alone do not vouch for the simulator: a TLS error, nothing sent.
        (
            "mozilla",
            vec!["--trust".into(), "mozilla".into()],
            vec![],
            false,
        ),
        // Through a proxy that is down: nothing sent.
        (
            "proxy",
            vec![
                "--ca-cert".into(),
                ca.display().to_string(),
                "--proxy".into(),
                dead_proxy.clone(),
            ],
            vec![],
            false,
        ),
        // --no-proxy ignores a proxy named by the environment.
        (
            "no-proxy",
            vec![
                "--ca-cert".into(),
                ca.display().to_string(),
                "--no-proxy".into(),
            ],
            vec![("HTTPS_PROXY", dead_proxy.clone())],
            true,
        ),
    ];
    for (name, flags, env, voids) in cases {
        let payment = simulator.ledger().create_payment(&outlet, "5.00").unwrap();
        let input = dir.path().join(format!("{name}.csv"));
        std::fs::write(&input, format!("{HEADER}{}", row(payment.as_str(), "", 1))).unwrap();
        let mut command = isolated::instamed_soap();
        command
            .args(["batch", "--input"])
            .arg(&input)
            .arg("--journal")
            .arg(dir.path().join(format!("{name}.journal")))
            .args(["--endpoint", &simulator.endpoint(), "--timeout", "5s"])
            .args(&flags)
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .envs(env)
            .stdin(Stdio::null());
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let status = simulator.ledger().payment(&payment).unwrap().status;
        if voids {
            assert_eq!(
                output.status.code(),
                Some(0),
                "{name}: {}",
                described(&output)
            );
            assert_eq!(status.code(), "V", "{name}");
        } else {
            assert_ne!(
                output.status.code(),
                Some(0),
                "{name}: {}",
                described(&output)
            );
            assert_ne!(
                output.status.code(),
                Some(2),
                "{name}: the flags must be taken, not refused: {}",
                described(&output)
            );
            assert_eq!(status.code(), "C", "{name}: not voided");
        }
    }
    simulator.shutdown().await;
}

/// A service whose void answers "not voidable" only when released, and that counts refunds.
struct HeldVoid {
    started: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
    refunds: Arc<Mutex<u32>>,
}

impl Settle for HeldVoid {
    async fn void(&self, _: &instamed_soap::VoidRequest) -> Finding {
        self.started.notify_one();
        self.release.notified().await;
        answer(Verdict::NotVoidable)
    }
    async fn reconcile(&self, _: &instamed_soap::VoidRequest) -> Finding {
        answer(Verdict::Unknown)
    }
    async fn refund(
        &self,
        _: &instamed_soap::VoidRequest,
        _: instamed_soap::rest::Amount,
    ) -> Finding {
        *self.refunds.lock().unwrap() += 1;
        answer(Verdict::Refunded)
    }
}

/// Told to stop while a void is in flight, the batch records that void's refusal and starts
/// no refund: the row stays not voidable for the next run, and the run says it was stopped.
#[tokio::test]
async fn a_batch_told_to_stop_starts_no_refund() {
    let dir = tempfile::tempdir().unwrap();
    let outlet = Outlet::new("123123123", "123", "456").unwrap();
    let mut journal = Journal::open(dir.path().join("j")).unwrap();
    journal
        .load(std::iter::once(Ok(InputRow::from_request(
            1,
            &instamed_soap::VoidRequest::new(outlet, TransactionId::new("BBBB0002").unwrap()),
            Some("4.00".parse().unwrap()),
        ))))
        .unwrap();
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let refunds = Arc::new(Mutex::new(0));
    let service = HeldVoid {
        started: started.clone(),
        release: release.clone(),
        refunds: refunds.clone(),
    };
    let options = BatchOptions {
        or_refund: true,
        ..BatchOptions::default()
    };
    // The stop comes while the void is in flight; the void answers a moment later.
    let stop = async move {
        started.notified().await;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            release.notify_one();
        });
    };
    let (_journal, summary) = Batch::new(service, options)
        .run(journal, stop)
        .await
        .unwrap();
    assert_eq!(*refunds.lock().unwrap(), 0, "no refund after the stop");
    // Stopped: a re-run has a refund to start, which is what makes `batch` exit 8.
    assert!(summary.interrupted);
    assert_eq!(summary.count(Verdict::NotVoidable), 1);
}

/// The verdicts, other than voided, that some row of the run ended with: what its exit code is
/// made from (the command-line tool's table, `cli/src/exit.rs`, picks the most urgent).
fn still_to_settle(summary: &Summary) -> Vec<Verdict> {
    Verdict::ALL
        .into_iter()
        .filter(|v| !matches!(v, Verdict::Voided | Verdict::AlreadyVoided))
        .filter(|v| summary.count(*v) > 0)
        .collect()
}

/// Issue 22: `batch --dry-run` reads the input, the journal and the ledger, says per row what a
/// run would send (void, reconcile, refund) or that nothing would be (answered from the
/// journal or the ledger, or an invalid row), and sends and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_dry_run_says_what_each_row_would_get_and_sends_and_writes_nothing() {
    // The first request's connection is dropped: that row's outcome is left unknown.
    let scene = Scene::start(FaultPlan::seeded(3).with_reset_rate(1.0).with_max_faults(1)).await;
    let (lost, voided, too_late) = (scene.payment(), scene.payment(), scene.payment());
    scene
        .simulator
        .ledger()
        .start_transfer(&TransactionId::new(&too_late).unwrap())
        .unwrap();
    let csv = format!(
        "{HEADER}{}{}{}",
        row(&lost, "1.00", 1),
        row(&voided, "2.00", 2),
        row(&too_late, "3.00", 3)
    );
    let input = scene.write("first.csv", &csv);
    let journal = scene.path("first.journal");
    let first = scene.run(&input, &journal, &["--concurrency", "1"]).await;
    assert_eq!(first.status.code(), Some(5), "{}", described(&first));
    let sent = scene.proxy.total();
    let bytes = |path: &Path| std::fs::read(path).unwrap();
    let (journal_before, ledger_before) = (bytes(&journal), bytes(&scene.path("ledger.db")));

    // On the journal of that run, refunds instead asked for this time.
    let resumed = scene
        .run(&input, &journal, &["--dry-run", "--or-refund"])
        .await;
    assert_eq!(resumed.status.code(), Some(0), "{}", described(&resumed));
    let said = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        said.contains(&format!("line 2: {lost}: reconcile")),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "line 3: {voided}: nothing (voided, done in the journal)"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("line 4: {too_late}: refund")),
        "{said}"
    );
    assert!(said.contains("nothing was sent"), "{said}");

    // A fresh journal: the ledger answers for the payment voided, an invalid row is named.
    let fresh = scene.payment();
    let csv = format!(
        "{HEADER}{}{}{}",
        row(&fresh, "", 1),
        row(&voided, "", 2),
        row("", "", 3)
    );
    let second = scene.write("second.csv", &csv);
    let new_journal = scene.path("second.journal");
    let planned = scene
        .run(&second, &new_journal, &["--dry-run", "--json"])
        .await;
    assert_eq!(planned.status.code(), Some(2), "{}", described(&planned));
    let summary: serde_json::Value = serde_json::from_slice(&planned.stdout).unwrap();
    assert_eq!(summary["dry_run"], true, "{summary}");
    assert_eq!(summary["exit_code"], 2, "{summary}");
    let would: Vec<&str> = summary["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["would"].as_str().unwrap())
        .collect();
    assert_eq!(would, ["void", "nothing", "invalid"], "{summary}");
    assert!(
        summary["lines"][1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("from the ledger"),
        "{summary}"
    );

    assert_eq!(scene.proxy.total(), sent, "a dry run sends nothing");
    assert!(!new_journal.exists(), "a dry run makes no journal");
    assert_eq!(bytes(&journal), journal_before, "nor writes to one");
    assert_eq!(
        bytes(&scene.path("ledger.db")),
        ledger_before,
        "nor to the ledger"
    );
}

/// Issue 22: `batch --or-refund` with rows lacking an amount skipped their refund in silence.
/// It is refused at load, the rows named by line, before anything is sent; nothing is kept, so
/// the corrected file runs on the same journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_or_refund_refuses_rows_without_an_amount_at_load_naming_their_lines() {
    let scene = Scene::start(FaultPlan::default()).await;
    let ids = [scene.payment(), scene.payment(), scene.payment()];
    let csv = format!(
        "{HEADER}{}{}{}",
        row(&ids[0], "4.00", 1),
        row(&ids[1], "", 2),
        row(&ids[2], " ", 3)
    );
    let input = scene.write("in.csv", &csv);
    let journal = scene.path("j");
    let refused = scene.run(&input, &journal, &["--or-refund"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", described(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("error: --or-refund:") && stderr.contains("lines 3 and 4 have none"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert_eq!(scene.proxy.total(), 0, "nothing was sent");

    let planned = scene
        .run(&input, &scene.path("dry"), &["--or-refund", "--dry-run"])
        .await;
    assert_eq!(planned.status.code(), Some(2), "{}", described(&planned));

    let fixed = format!(
        "{HEADER}{}{}{}",
        row(&ids[0], "4.00", 1),
        row(&ids[1], "5.00", 2),
        row(&ids[2], "6.00", 3)
    );
    let input = scene.write("in.csv", &fixed);
    let ran = scene.run(&input, &journal, &["--or-refund"]).await;
    assert_eq!(ran.status.code(), Some(0), "{}", described(&ran));
    assert_eq!(scene.proxy.total(), 3);
}

/// Issue 22: a `batch --or-refund` refused at load left an empty journal file behind, which
/// read as a run begun. The journal the refused run made is gone; one that was there before
/// (a run to resume) is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_refused_at_load_leaves_no_empty_journal_behind() {
    let scene = Scene::start(FaultPlan::default()).await;
    let id = scene.payment();
    let input = scene.write("in.csv", &format!("{HEADER}{}", row(&id, "", 1)));
    let journal = scene.path("j");
    let refused = scene.run(&input, &journal, &["--or-refund"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", described(&refused));
    let mut wal = journal.clone().into_os_string();
    wal.push("-wal");
    assert!(!journal.exists(), "{} was left behind", journal.display());
    assert!(
        !std::path::Path::new(&wal).exists(),
        "its WAL was left behind"
    );

    // A journal of an earlier run is the user's: a refusal leaves it where it is.
    let ran = scene.run(&input, &journal, &[]).await;
    assert_eq!(ran.status.code(), Some(0), "{}", described(&ran));
    let refused = scene.run(&input, &journal, &["--or-refund"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", described(&refused));
    assert!(journal.exists());
}

/// Issue 22: a protocol the batch cannot use is refused with the reason, before any file is
/// opened or anything sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_refuses_a_protocol_it_cannot_use_with_the_reason() {
    let scene = Scene::start(FaultPlan::default()).await;
    let input = scene.write(
        "in.csv",
        &format!("{HEADER}{}", row(&scene.payment(), "", 1)),
    );
    let journal = scene.path("j");
    let refused = scene.run(&input, &journal, &["--protocol", "rest"]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", described(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("cannot use rest") && stderr.contains("API key"),
        "{stderr}"
    );
    assert!(stderr.contains("soap11, soap12 or nvp"), "{stderr}");
    assert_eq!(scene.proxy.total(), 0, "nothing was sent");
    assert!(!journal.exists(), "no journal was made");
}
