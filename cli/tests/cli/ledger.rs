//! Money moves once: the real binary run again and again on one ledger, as an ERP's retry
//! wrapper or a person re-running a script does, against the simulator on loopback; killed with
//! SIGKILL between an intent and its answer, and run again.

#![cfg(unix)]

use crate::isolated::{self, described};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use instamed_soap::{Outlet, TransactionId};
use instamed_soap_ledger::{Action, Ledger, Verdict};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, Simulator, SimulatorConfig,
};
use instamed_soap_test_support::leaks::leaked;
use instamed_soap_test_support::postgres::PgCluster;

struct Scene {
    simulator: Simulator,
    dir: tempfile::TempDir,
    /// A ledger on PostgreSQL, given in `INSTAMED_LEDGER`, instead of the file in `dir`.
    database: Option<(PgCluster, String)>,
}

impl Scene {
    async fn start(latency: Duration) -> Self {
        let simulator = Simulator::start(
            SimulatorConfig::default()
                .with_tls(false)
                .with_faults(FaultPlan::default().with_latency(latency)),
        )
        .await
        .unwrap();
        Self {
            simulator,
            dir: tempfile::tempdir().unwrap(),
            database: None,
        }
    }

    /// As [`start`](Self::start), with the ledger in a fresh database of a throwaway
    /// PostgreSQL cluster; `None` (said loudly) where its binaries are missing, outside CI.
    async fn on_postgres(latency: Duration) -> Option<Self> {
        let cluster = PgCluster::start()?;
        let url = cluster.database();
        let mut scene = Self::start(latency).await;
        scene.database = Some((cluster, url));
        Some(scene)
    }

    /// Names the ledger on `command`: `--ledger FILE`, or the database's URL in the variable,
    /// where no other user of the machine reads it.
    fn with_ledger(&self, command: &mut Command) {
        match &self.database {
            Some((_, url)) => command.env("INSTAMED_LEDGER", url),
            None => command.arg("--ledger").arg(self.ledger_path()),
        };
    }

    fn outlet() -> Outlet {
        Outlet::new("123123123", "123", "456").unwrap()
    }

    /// A payment whose funds transfer began: too late to void, so `--or-refund` refunds it.
    fn too_late(&self) -> String {
        let id = self.capturable();
        self.simulator
            .ledger()
            .start_transfer(&TransactionId::new(&id).unwrap())
            .unwrap();
        id
    }

    fn capturable(&self) -> String {
        self.simulator
            .ledger()
            .create_payment(&Self::outlet(), "10.00")
            .unwrap()
            .to_string()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ledger_path(&self) -> PathBuf {
        match &self.database {
            Some((_, url)) => PathBuf::from(url),
            None => self.path("ledger.db"),
        }
    }

    /// Refunds the simulator made of `id`: the money that moved.
    fn refunds_of(&self, id: &str) -> usize {
        self.simulator
            .ledger()
            .payments()
            .iter()
            .filter(|p| {
                p.refund_of
                    .as_ref()
                    .is_some_and(|r| r.as_str().eq_ignore_ascii_case(id))
            })
            .count()
    }

    /// Waits until InstaMed has made a refund of `id`. A refund's intent is on disk before the
    /// request leaves, so a test that kills the sender mid-refund waits for this, not the
    /// intent, when the refund must have happened.
    async fn wait_refund_made(&self, id: &str) {
        let mut waited = Duration::ZERO;
        while self.refunds_of(id) == 0 {
            assert!(
                waited < Duration::from_secs(10),
                "the refund never reached InstaMed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += Duration::from_millis(10);
        }
    }

    /// Our ledger's entries for `id` of `action`.
    fn entries(&self, id: &str, action: Action) -> Vec<instamed_soap_ledger::Entry> {
        let ledger = Ledger::open(self.ledger_path()).unwrap();
        ledger
            .standing(&TransactionId::new(id).unwrap())
            .unwrap()
            .entries
            .into_iter()
            .filter(|e| e.action == action)
            .collect()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = isolated::instamed_soap();
        command
            .args(args)
            .args([
                "--endpoint",
                &self.simulator.endpoint(),
                "--allow-plain-http",
            ])
            .args(["--merchant-id", "123123123", "--store-id", "123"])
            .args(["--terminal-id", "456"])
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.with_ledger(&mut command);
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    fn batch(&self, input: &Path, journal: &Path, extra: &[&str]) -> Command {
        let mut command = isolated::instamed_soap();
        command
            .arg("batch")
            .arg("--input")
            .arg(input)
            .arg("--journal")
            .arg(journal)
            .args([
                "--endpoint",
                &self.simulator.endpoint(),
                "--allow-plain-http",
            ])
            .args(extra)
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.with_ledger(&mut command);
        command
    }

    async fn run_batch(&self, input: &Path, journal: &Path, extra: &[&str]) -> Output {
        let mut command = self.batch(input, journal, extra);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    /// Waits until the ledger holds an intent of `action` for `id` with no answer yet.
    async fn wait_in_flight(&self, id: &str, action: Action) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.database.is_some() || self.ledger_path().exists() {
                if let Some(entry) = self
                    .entries(id, action)
                    .into_iter()
                    .find(|e| e.verdict.is_none())
                {
                    return entry.id;
                }
            }
            assert!(Instant::now() < deadline, "no {action:?} of {id} in flight");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", described(output)))
}

async fn kill(mut child: Child) -> Output {
    tokio::task::spawn_blocking(move || {
        child.kill().unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn void_or_refund_run_three_times_refunds_once() {
    let scene = Scene::start(Duration::ZERO).await;
    let id = scene.too_late();
    let args = [
        "void",
        "--transaction-id",
        &id,
        "--or-refund",
        "3.00",
        "--json",
    ];
    let first = scene.run(&args).await;
    assert_eq!(first.status.code(), Some(6), "{}", described(&first));
    assert_eq!(json(&first)["outcome"], "refunded");
    let refund_id = json(&first)["refund_transaction_id"].clone();
    for _ in 0..2 {
        let again = scene.run(&args).await;
        // The same instruction, the same answer: from the ledger, nothing sent.
        assert_eq!(again.status.code(), Some(6), "{}", described(&again));
        let said = json(&again);
        assert_eq!(said["from_ledger"], true, "{said}");
        assert_eq!(said["outcome"], "refunded", "{said}");
        assert_eq!(said["refund_transaction_id"], refund_id, "{said}");
    }
    assert_eq!(scene.refunds_of(&id), 1, "one refund made");
    let refunds = scene.entries(&id, Action::Refund);
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].verdict, Some(Verdict::Refunded));
    assert_eq!(refunds[0].amount.as_deref(), Some("3.00"));

    // A different refund of the same payment is not this instruction: refused unless named.
    let other = scene
        .run(&["refund", "--transaction-id", &id, "--amount", "2.00"])
        .await;
    assert_eq!(other.status.code(), Some(10), "{}", described(&other));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("--after-refund"),
        "{}",
        described(&other)
    );
    let stale = scene
        .run(&[
            "refund",
            "--transaction-id",
            &id,
            "--amount",
            "2.00",
            "--after-refund",
            "NOT-A-REFUND-OF-IT",
        ])
        .await;
    assert_eq!(stale.status.code(), Some(10), "{}", described(&stale));
    assert_eq!(
        scene.refunds_of(&id),
        1,
        "nothing sent for a refused refund"
    );
    let refund_id = refund_id.as_str().unwrap().to_owned();
    let deliberate = [
        "refund",
        "--transaction-id",
        &id,
        "--amount",
        "2.00",
        "--after-refund",
        &refund_id,
    ];
    // Deliberate, and run three times as a retry wrapper would: one further refund.
    for run in 0..3 {
        let output = scene.run(&deliberate).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "run {run}: {}",
            described(&output)
        );
    }
    assert_eq!(scene.refunds_of(&id), 2, "the deliberate second refund");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_known_voided_is_answered_from_the_ledger() {
    let scene = Scene::start(Duration::ZERO).await;
    let id = scene.capturable();
    let args = ["void", "--transaction-id", &id, "--json"];
    let first = scene.run(&args).await;
    assert_eq!(first.status.code(), Some(0), "{}", described(&first));
    let second = scene.run(&args).await;
    assert_eq!(second.status.code(), Some(0), "{}", described(&second));
    assert_eq!(json(&second)["from_ledger"], true);
    assert_eq!(json(&second)["outcome"], "voided");
    // An --or-refund run of a voided payment never refunds.
    let or_refund = scene
        .run(&["void", "--transaction-id", &id, "--or-refund", "1.00"])
        .await;
    assert_eq!(
        or_refund.status.code(),
        Some(0),
        "{}",
        described(&or_refund)
    );
    assert_eq!(scene.refunds_of(&id), 0);
    assert_eq!(scene.entries(&id, Action::Void).len(), 1, "one void sent");
}

/// Killed while the refund's answer is on its way (the simulator made the refund, then waits):
/// every later run sends nothing and says a person must look, until a person records what they
/// found; then the same instruction is answered from the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn void_or_refund_killed_between_intent_and_answer_never_refunds_twice() {
    let scene = Scene::start(Duration::from_millis(800)).await;
    let id = scene.too_late();
    let args = ["void", "--transaction-id", &id, "--or-refund", "3.00"];
    let child = scene.command(&args).spawn().unwrap();
    let entry = scene.wait_in_flight(&id, Action::Refund).await;
    // Killed once the refund has reached InstaMed (the simulator acts before its latency), not
    // merely once its intent is written: on a loaded machine the kill could come first.
    scene.wait_refund_made(&id).await;
    let killed = kill(child).await;
    assert_eq!(killed.status.code(), None, "{}", described(&killed));
    assert_eq!(
        scene.refunds_of(&id),
        1,
        "the refund was made, its answer lost"
    );

    for _ in 0..3 {
        let again = scene.run(&[&args[..], &["--json"]].concat()).await;
        assert_eq!(again.status.code(), Some(9), "{}", described(&again));
        assert_eq!(json(&again)["outcome"], "refund_unknown");
    }
    assert_eq!(
        scene.refunds_of(&id),
        1,
        "a refund on hold is never sent again"
    );

    let listed = isolated::instamed_soap()
        .args(["ledger", "list", "--open", "--ledger"])
        .arg(scene.ledger_path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains(&entry.to_string()),
        "{}",
        described(&listed)
    );
    let refund_id = scene
        .simulator
        .ledger()
        .payments()
        .into_iter()
        .find(|p| p.refund_of.as_ref().is_some_and(|r| r.as_str() == id))
        .unwrap()
        .id
        .to_string();
    let settled = isolated::instamed_soap()
        .args(["ledger", "settle", "--entry", &entry.to_string()])
        .args(["--made", &refund_id, "--by", "j.doe"])
        .args(["--note", "portal shows the refund"])
        .arg("--ledger")
        .arg(scene.ledger_path())
        .output()
        .unwrap();
    assert_eq!(settled.status.code(), Some(0), "{}", described(&settled));
    let after = scene.run(&[&args[..], &["--json"]].concat()).await;
    assert_eq!(after.status.code(), Some(6), "{}", described(&after));
    assert_eq!(json(&after)["refund_transaction_id"], refund_id.as_str());
    assert_eq!(scene.refunds_of(&id), 1);
}

/// Killed while the void is in flight: the next run reconciles before anything else, and the
/// refund that follows is made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_left_unknown_is_reconciled_before_anything_else() {
    let scene = Scene::start(Duration::from_millis(600)).await;
    let id = scene.too_late();
    let args = ["void", "--transaction-id", &id, "--or-refund", "3.00"];
    let child = scene.command(&args).spawn().unwrap();
    scene.wait_in_flight(&id, Action::Void).await;
    let killed = kill(child).await;
    assert_eq!(killed.status.code(), None, "{}", described(&killed));
    let again = scene.run(&args).await;
    assert_eq!(again.status.code(), Some(6), "{}", described(&again));
    let again = scene.run(&args).await;
    assert_eq!(again.status.code(), Some(6), "{}", described(&again));
    assert_eq!(scene.refunds_of(&id), 1);
    let voids = scene.entries(&id, Action::Void);
    assert!(
        voids
            .iter()
            .all(|e| e.verdict == Some(Verdict::NotVoidable)),
        "the lost void is settled by the reconciliation's answer: {voids:?}"
    );
}

/// A refund that never left the machine is `failed`, and the next run sends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_that_never_left_is_failed_and_sent_by_the_next_run() {
    let scene = Scene::start(Duration::ZERO).await;
    let id = scene.capturable();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!(
        "http://{}/payment/service.asmx",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let output = isolated::instamed_soap()
        .args(["refund", "--transaction-id", &id, "--amount", "1.00"])
        .args(["--endpoint", &nowhere, "--allow-plain-http"])
        .args(["--merchant-id", "123123123", "--store-id", "123"])
        .args(["--terminal-id", "456", "--ledger"])
        .arg(scene.ledger_path())
        .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
        .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", described(&output));
    let refunds = scene.entries(&id, Action::Refund);
    assert_eq!(refunds[0].verdict, Some(Verdict::Failed), "{refunds:?}");
    let again = scene
        .run(&["refund", "--transaction-id", &id, "--amount", "1.00"])
        .await;
    assert_eq!(again.status.code(), Some(0), "{}", described(&again));
    assert_eq!(scene.refunds_of(&id), 1);
}

fn batch_input(scene: &Scene, ids: &[String]) -> PathBuf {
    let mut csv = "transaction_id,merchant_id,store_id,terminal_id,amount\n".to_owned();
    for id in ids {
        csv.push_str(&format!("{id},123123123,123,456,4.00\n"));
    }
    let path = scene.path("payments.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_run_twice_on_fresh_journals_refunds_each_row_once() {
    let scene = Scene::start(Duration::ZERO).await;
    let ids = vec![
        scene.too_late(),
        scene.capturable(),
        scene.too_late(),
        scene.capturable(),
    ];
    let input = batch_input(&scene, &ids);
    for run in 0..2 {
        let journal = scene.path(&format!("run-{run}.journal"));
        let report = scene.path(&format!("run-{run}.jsonl"));
        let output = scene
            .run_batch(
                &input,
                &journal,
                &["--or-refund", "--report", report.to_str().unwrap()],
            )
            .await;
        assert_eq!(
            output.status.code(),
            Some(6),
            "run {run}: {}",
            described(&output)
        );
        let rows: Vec<serde_json::Value> = std::fs::read_to_string(&report)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        for (row, id) in rows.iter().zip(&ids) {
            let expected = if scene.refunds_of(id) == 1 {
                "refunded"
            } else {
                "voided"
            };
            assert_eq!(row["verdict"], expected, "run {run}: {row}");
            if run == 1 {
                assert_eq!(row["step"], "ledger", "answered from the ledger: {row}");
            }
        }
    }
    for id in [&ids[0], &ids[2]] {
        assert_eq!(scene.refunds_of(id), 1, "{id} refunded once over two runs");
    }
    assert_eq!(scene.entries(&ids[1], Action::Void).len(), 1, "voided once");
}

/// A batch killed while a refund's answer is on its way, then run on a fresh journal: the
/// refund is held for a person, never sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_killed_mid_refund_then_run_on_a_fresh_journal_sends_nothing_twice() {
    let scene = Scene::start(Duration::from_millis(800)).await;
    let ids = vec![scene.too_late()];
    let input = batch_input(&scene, &ids);
    let child = scene
        .batch(&input, &scene.path("first.journal"), &["--or-refund"])
        .spawn()
        .unwrap();
    scene.wait_in_flight(&ids[0], Action::Refund).await;
    scene.wait_refund_made(&ids[0]).await;
    let killed = kill(child).await;
    assert_eq!(killed.status.code(), None, "{}", described(&killed));
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(scene.refunds_of(&ids[0]), 1);
    for journal in ["second.journal", "first.journal"] {
        let report = scene.path("report.jsonl");
        let output = scene
            .run_batch(
                &input,
                &scene.path(journal),
                &["--or-refund", "--report", report.to_str().unwrap()],
            )
            .await;
        assert_ne!(output.status.code(), Some(0), "{}", described(&output));
        let row: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
        assert_eq!(row["verdict"], "refund_unknown", "{journal}: {row}");
        assert_eq!(scene.refunds_of(&ids[0]), 1, "{journal}: never sent twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_that_would_destroy_the_memory_are_refused_before_anything_is_sent() {
    let scene = Scene::start(Duration::ZERO).await;
    let ids = vec![scene.capturable()];
    let input = batch_input(&scene, &ids);
    let journal = scene.path("batch.journal");
    let link = scene.path("link.journal");
    let ledger = scene.ledger_path();
    std::fs::write(&journal, b"").unwrap();
    std::os::unix::fs::symlink(&journal, &link).unwrap();
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "report = journal",
            vec!["--report".into(), journal.display().to_string()],
        ),
        (
            "report = input",
            vec!["--report".into(), input.display().to_string()],
        ),
        (
            "report = ledger",
            vec!["--report".into(), ledger.display().to_string()],
        ),
        (
            "report = a link to the journal",
            vec!["--report".into(), link.display().to_string()],
        ),
    ];
    for (case, extra) in cases {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let output = scene.run_batch(&input, &journal, &extra).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{case}: {}",
            described(&output)
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("same file"),
            "{case}: {}",
            described(&output)
        );
    }
    // The journal as the ledger.
    let mut command = scene.batch(&input, &journal, &[]);
    command.arg("--ledger").arg(&journal);
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", described(&output));
    // A report over a SQLite file of an earlier run (another batch's journal, say).
    std::fs::remove_file(&link).unwrap();
    std::fs::remove_file(&journal).unwrap();
    let earlier = scene.path("earlier.journal");
    let output = scene.run_batch(&input, &earlier, &[]).await;
    assert_eq!(output.status.code(), Some(0), "{}", described(&output));
    let output = scene
        .run_batch(&input, &journal, &["--report", earlier.to_str().unwrap()])
        .await;
    assert_eq!(output.status.code(), Some(2), "{}", described(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("SQLite"),
        "{}",
        described(&output)
    );
    assert_eq!(
        scene.entries(&ids[0], Action::Void).len(),
        1,
        "sent once, by the good run"
    );
}

/// A refund never goes on top of a void whose outcome is unknown: the void may have given the
/// money back already. Reconciling settles it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_waits_for_a_void_of_unknown_outcome_to_be_reconciled() {
    let scene = Scene::start(Duration::from_millis(600)).await;
    let id = scene.capturable();
    let child = scene
        .command(&["void", "--transaction-id", &id])
        .spawn()
        .unwrap();
    scene.wait_in_flight(&id, Action::Void).await;
    let killed = kill(child).await;
    assert_eq!(killed.status.code(), None, "{}", described(&killed));
    let refund = [
        "refund",
        "--transaction-id",
        &id,
        "--amount",
        "1.00",
        "--json",
    ];
    let held = scene.run(&refund).await;
    assert_eq!(held.status.code(), Some(5), "{}", described(&held));
    assert_eq!(json(&held)["from_ledger"], true);
    assert!(
        scene.entries(&id, Action::Refund).is_empty(),
        "no refund intent"
    );
    // The lost void went through: reconciling proves it, and says so as a void of ours.
    let reconciled = scene.run(&["reconcile", "--transaction-id", &id]).await;
    assert_eq!(
        reconciled.status.code(),
        Some(0),
        "{}",
        described(&reconciled)
    );
    assert!(
        String::from_utf8_lossy(&reconciled.stdout).contains("PrimaryTransactionStatus V"),
        "{}",
        described(&reconciled)
    );
    // The payment is voided: a refund of it is InstaMed's to refuse, and it moves nothing.
    let after = scene.run(&refund).await;
    assert_ne!(after.status.code(), Some(0), "{}", described(&after));
    assert_eq!(scene.refunds_of(&id), 0);
}

/// A refund still in flight in a live process cannot be settled by hand: its answer is on the
/// way, and "not made" recorded now would let a second refund go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_in_flight_cannot_be_settled_by_hand() {
    let scene = Scene::start(Duration::from_millis(1500)).await;
    let id = scene.capturable();
    let child = scene
        .command(&["refund", "--transaction-id", &id, "--amount", "7.00"])
        .spawn()
        .unwrap();
    let entry = scene.wait_in_flight(&id, Action::Refund).await;
    let settle = isolated::instamed_soap()
        .args(["ledger", "settle", "--entry", &entry.to_string()])
        .args([
            "--not-made",
            "--by",
            "mallory",
            "--note",
            "portal shows nothing",
        ])
        .arg("--ledger")
        .arg(scene.ledger_path())
        .output()
        .unwrap();
    assert_eq!(settle.status.code(), Some(2), "{}", described(&settle));
    assert!(
        String::from_utf8_lossy(&settle.stderr).contains("in flight"),
        "{}",
        described(&settle)
    );
    let finished = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(finished.status.code(), Some(0), "{}", described(&finished));
    let again = scene
        .run(&["refund", "--transaction-id", &id, "--amount", "7.00"])
        .await;
    assert_eq!(again.status.code(), Some(0), "{}", described(&again));
    assert_eq!(scene.refunds_of(&id), 1, "one refund");
}

/// A batch row whose payment the ledger shows refunded by another amount is neither done nor
/// sent: a person decides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_row_refunded_by_another_amount_is_held_not_reported_refunded() {
    let scene = Scene::start(Duration::ZERO).await;
    let id = scene.too_late();
    let refunded = scene
        .run(&["refund", "--transaction-id", &id, "--amount", "1.00"])
        .await;
    assert_eq!(refunded.status.code(), Some(0), "{}", described(&refunded));
    let input = batch_input(&scene, std::slice::from_ref(&id));
    let report = scene.path("report.jsonl");
    let output = scene
        .run_batch(
            &input,
            &scene.path("fresh.journal"),
            &["--or-refund", "--report", report.to_str().unwrap()],
        )
        .await;
    assert_eq!(output.status.code(), Some(9), "{}", described(&output));
    let row: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().trim()).unwrap();
    assert_eq!(row["verdict"], "refund_unknown", "{row}");
    assert!(row["detail"].as_str().unwrap().contains("4.00"), "{row}");
    assert_eq!(scene.refunds_of(&id), 1, "nothing more sent");
}

/// What a person records settles a batch's held refund too: made, the row ends refunded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_refund_releases_the_batch_that_held_it() {
    let scene = Scene::start(Duration::from_millis(800)).await;
    let ids = vec![scene.too_late()];
    let input = batch_input(&scene, &ids);
    let journal = scene.path("batch.journal");
    let child = scene
        .batch(&input, &journal, &["--or-refund"])
        .spawn()
        .unwrap();
    let entry = scene.wait_in_flight(&ids[0], Action::Refund).await;
    scene.wait_refund_made(&ids[0]).await;
    let killed = kill(child).await;
    assert_eq!(killed.status.code(), None, "{}", described(&killed));
    tokio::time::sleep(Duration::from_millis(900)).await;
    let held = scene.run_batch(&input, &journal, &["--or-refund"]).await;
    assert_eq!(held.status.code(), Some(9), "{}", described(&held));
    let refund_id = scene
        .simulator
        .ledger()
        .payments()
        .into_iter()
        .find(|p| p.refund_of.as_ref().is_some_and(|r| r.as_str() == ids[0]))
        .expect("the refund InstaMed made")
        .id
        .to_string();
    let settled = isolated::instamed_soap()
        .args(["ledger", "settle", "--entry", &entry.to_string()])
        .args(["--made", &refund_id, "--by", "j.doe", "--note", "portal"])
        .arg("--ledger")
        .arg(scene.ledger_path())
        .output()
        .unwrap();
    assert_eq!(settled.status.code(), Some(0), "{}", described(&settled));
    let released = scene.run_batch(&input, &journal, &["--or-refund"]).await;
    assert_eq!(released.status.code(), Some(6), "{}", described(&released));
    assert_eq!(scene.refunds_of(&ids[0]), 1);
}

/// `ledger list` pointed at a file that does not exist says so, rather than "nothing waits".
#[test]
fn ledger_list_never_creates_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("ledgr.db");
    let output = isolated::instamed_soap()
        .args(["ledger", "list", "--open", "--ledger"])
        .arg(&typo)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(7), "{}", described(&output));
    assert!(!typo.exists());
}

/// A command that makes a new ledger says so: one that does not know earlier refunds cannot
/// keep them from being made twice, and a changed HOME finds another default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_ledger_is_announced() {
    let scene = Scene::start(Duration::ZERO).await;
    let id = scene.capturable();
    let first = scene.run(&["void", "--transaction-id", &id]).await;
    assert_eq!(first.status.code(), Some(0), "{}", described(&first));
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("a new ledger was made"),
        "{}",
        described(&first)
    );
    let second = scene.run(&["void", "--transaction-id", &id]).await;
    assert_eq!(second.status.code(), Some(0), "{}", described(&second));
    assert!(
        !String::from_utf8_lossy(&second.stderr).contains("a new ledger"),
        "{}",
        described(&second)
    );
}

/// The tool on a ledger in PostgreSQL (`INSTAMED_LEDGER=postgres://…`): a void and a
/// void-or-refund run again are answered from the database, a batch on a fresh journal finds
/// what the single commands did, and nothing any of them prints holds the URL's password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_a_postgres_ledger_move_money_once_and_never_show_its_password() {
    let Some(scene) = Scene::on_postgres(Duration::ZERO).await else {
        return;
    };
    let mut printed = String::new();
    // A database that holds no ledger yet is not read as one where nothing waits, nor made one.
    let mut list = isolated::instamed_soap();
    list.args(["ledger", "list", "--open"]);
    scene.with_ledger(&mut list);
    let list = list.output().unwrap();
    assert_eq!(list.status.code(), Some(7), "{}", described(&list));
    printed.push_str(&described(&list));
    let voided = scene.capturable();
    let void = ["void", "--transaction-id", &voided, "--json"];
    let first = scene.run(&void).await;
    assert_eq!(first.status.code(), Some(0), "{}", described(&first));
    let again = scene.run(&void).await;
    assert_eq!(json(&again)["from_ledger"], true, "{}", described(&again));
    let late = scene.too_late();
    let or_refund = [
        "void",
        "--transaction-id",
        &late,
        "--or-refund",
        "2.00",
        "--json",
    ];
    for _ in 0..2 {
        let run = scene.run(&or_refund).await;
        assert_eq!(run.status.code(), Some(6), "{}", described(&run));
        printed.push_str(&described(&run));
    }
    assert_eq!(scene.refunds_of(&late), 1);
    let input = batch_input(&scene, &[voided.clone(), late.clone()]);
    let batch = scene
        .run_batch(&input, &scene.path("journal.db"), &["--or-refund"])
        .await;
    printed.push_str(&described(&batch));
    // The voided row is answered from the database; the other holds a refund of another
    // amount, which waits for a person (9), and nothing is sent.
    assert_eq!(batch.status.code(), Some(9), "{}", described(&batch));
    assert_eq!(scene.refunds_of(&late), 1, "{}", described(&batch));
    assert_eq!(
        scene.entries(&voided, Action::Void).len(),
        1,
        "one void sent"
    );

    let mut path = isolated::instamed_soap();
    path.args(["ledger", "path"]);
    scene.with_ledger(&mut path);
    let path = path.output().unwrap();
    let (_, url) = scene.database.as_ref().unwrap();
    let name = url.rsplit('/').next().unwrap();
    let location = isolated::text(&path);
    assert!(location.trim().ends_with(name), "{location}");
    let mut list = isolated::instamed_soap();
    list.args(["ledger", "list", "--open"]);
    scene.with_ledger(&mut list);
    let list = list.output().unwrap();
    assert_eq!(list.status.code(), Some(0), "{}", described(&list));
    printed.push_str(&described(&list));
    let mut help = isolated::instamed_soap();
    help.args(["void", "--help"]);
    scene.with_ledger(&mut help);
    for output in [first, again, path, help.output().unwrap()] {
        printed.push_str(&described(&output));
    }
    assert!(leaked(&printed).is_empty(), "{printed}");
}
