//! `batch` on a PostgreSQL ledger, and several batch workers sharing one input: each worker a
//! process of its own with its own journal and report, all on one ledger, against the
//! simulator with latency through the counting proxy.

use super::*;

use instamed_soap_test_support::leaks::PASSWORD;
use instamed_soap_test_support::postgres::PgCluster;

/// An input of `n` payments the simulator can void.
fn input(scene: &Scene, n: usize) -> (PathBuf, Vec<String>) {
    let mut csv = HEADER.to_owned();
    let ids: Vec<String> = (0..n)
        .map(|i| {
            let id = scene.payment();
            csv.push_str(&row(&id, "10.00", i));
            id
        })
        .collect();
    (scene.write("payments.csv", &csv), ids)
}

/// Runs `command` to its end off the runtime.
async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// Worker `i`'s journal and report.
fn files(scene: &Scene, i: usize) -> (PathBuf, PathBuf) {
    (
        scene.path(&format!("worker{i}.journal")),
        scene.path(&format!("worker{i}.jsonl")),
    )
}

/// Starts worker `i` on `input` and `ledger`, with its own journal and report.
fn worker(scene: &Scene, ledger: &str, input: &Path, i: usize, extra: &[&str]) -> Child {
    let (journal, report) = files(scene, i);
    let report = report.to_str().unwrap().to_owned();
    let args = [
        &["--concurrency", "4", "--json", "--report", &report][..],
        extra,
    ]
    .concat();
    scene
        .command_on(ledger.as_ref(), input, &journal, &args)
        .spawn()
        .unwrap()
}

/// Checks what every worker's report says: each lists every row, in order, with the same
/// verdict (`voided`), and a row a worker did not send is answered from the ledger. Returns
/// how many rows each worker sent, and which rows some worker reconciled. (Whether each was
/// sent is the wire's to say: a worker killed between the ledger's verdict and its journal's
/// leaves a row that every report answers from the ledger.)
fn check_reports(scene: &Scene, ids: &[String], workers: usize) -> (Vec<usize>, Vec<String>) {
    let mut sent = vec![0; workers];
    let mut reconciled = Vec::new();
    let reports: Vec<Vec<serde_json::Value>> = (0..workers)
        .map(|i| report_rows(&files(scene, i).1))
        .collect();
    for (n, id) in ids.iter().enumerate() {
        for (i, report) in reports.iter().enumerate() {
            assert_eq!(report.len(), ids.len(), "worker {i}: one row per input row");
            let row = &report[n];
            assert_eq!(row["transaction_id"], id.as_str(), "worker {i}: {row}");
            assert_eq!(row["verdict"], "voided", "worker {i}: {row}");
            match row["step"].as_str() {
                Some("ledger") => assert!(
                    row["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("from the ledger")),
                    "worker {i}: {row}"
                ),
                Some("void") => sent[i] += 1,
                Some("reconcile") => {
                    sent[i] += 1;
                    reconciled.push(id.clone());
                }
                other => panic!("worker {i}: step {other:?}: {row}"),
            }
        }
    }
    (sent, reconciled)
}

/// `batch --ledger postgres://…` end to end: a run voids each row once, and a run of the same
/// input on a fresh journal answers every row from the database and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_on_a_postgres_ledger_voids_each_row_once_and_a_fresh_journal_answers_from_it() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = cluster.database();
    let scene = Scene::start(FaultPlan::default()).await;
    let (input, ids) = input(&scene, 20);
    let report = scene.path("first.jsonl");
    let report_arg = report.to_str().unwrap();
    let first = scene
        .command_on(
            database.as_ref(),
            &input,
            &scene.path("first.journal"),
            &["--json", "--report", report_arg],
        )
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", described(&first));
    assert!(
        !isolated::text(&first).contains(PASSWORD),
        "the password leaked"
    );
    for id in &ids {
        assert_eq!(scene.proxy.count(id, "void"), 1, "{id}");
    }
    assert!(
        report_rows(&report)
            .iter()
            .all(|row| row["verdict"] == "voided" && row["step"] == "void")
    );

    let again = scene.path("again.jsonl");
    let second = scene
        .command_on(
            database.as_ref(),
            &input,
            &scene.path("again.journal"),
            &["--json", "--report", again.to_str().unwrap()],
        )
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(0), "{}", described(&second));
    let summary: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(summary["steps"], 0, "{summary}");
    for row in report_rows(&again) {
        assert_eq!(row["verdict"], "voided", "{row}");
        assert_eq!(row["step"], "ledger", "{row}");
    }
    for id in &ids {
        assert_eq!(scene.proxy.count(id, "void"), 1, "{id} sent again");
    }
    let ledger = Ledger::open(&database).unwrap();
    for id in &ids {
        let entries = ledger
            .standing(&TransactionId::new(id).unwrap())
            .unwrap()
            .entries;
        assert_eq!(entries.len(), 1, "{id}: {entries:?}");
        assert_eq!(entries[0].verdict, Some(Verdict::Voided));
        assert_eq!(entries[0].command, "instamed-soap batch");
    }
}

/// Three workers started on one input of 200 rows, one PostgreSQL ledger: they share the rows
/// (each sends some), every payment is voided with one request, and every report lists every
/// row with the same verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_one_input_share_it_and_void_each_payment_with_one_request() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = cluster.database();
    let scene = Scene::start(FaultPlan::default().with_latency(Duration::from_millis(30))).await;
    let (input, ids) = input(&scene, 200);
    let children: Vec<Child> = (0..3)
        .map(|i| worker(&scene, &database, &input, i, &[]))
        .collect();
    let mut summaries = Vec::new();
    for child in children {
        let output = finish(child).await;
        assert_eq!(output.status.code(), Some(0), "{}", described(&output));
        summaries.push(serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap());
    }
    for id in &ids {
        assert_eq!(scene.status_of(id), "V");
        assert_eq!(scene.proxy.count(id, "void"), 1, "{id}: one request");
    }
    let (sent, reconciled) = check_reports(&scene, &ids, 3);
    assert!(reconciled.is_empty(), "{reconciled:?}");
    assert_eq!(sent.iter().sum::<usize>(), ids.len(), "{sent:?}");
    assert!(
        sent.iter().all(|&n| n > 0),
        "every worker sent a share: {sent:?}"
    );
    for (summary, sent) in summaries.iter().zip(&sent) {
        assert_eq!(summary["steps"], *sent as u64, "{summary}");
    }
    assert!(
        summaries
            .iter()
            .any(|summary| summary["passed_over"].as_u64() > Some(0)),
        "no worker passed a payment over: {summaries:?}"
    );
    eprintln!("shares {sent:?}");
}

/// Two workers on one input; one is SIGKILLed mid-run and re-run on its journal: it gives up
/// its dead run's claims and resumes, the other comes back to what the dead one had out, and
/// money moves once: every payment voided, a second request only for a payment whose first
/// one's answer died with the worker, and then as a reconciliation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_run_and_re_run_leaves_every_payment_voided_once() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = cluster.database();
    let scene = Scene::start(FaultPlan::default().with_latency(Duration::from_millis(30))).await;
    let (input, ids) = input(&scene, 200);
    let doomed = worker(&scene, &database, &input, 0, &[]);
    let other = worker(&scene, &database, &input, 1, &[]);
    while scene.proxy.total() < 40 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = wait_killed(doomed).await;
    assert_eq!(killed.status.code(), None, "{}", described(&killed));
    let rerun = worker(&scene, &database, &input, 0, &[]);
    let rerun = finish(rerun).await;
    assert_eq!(rerun.status.code(), Some(0), "{}", described(&rerun));
    assert!(
        isolated::text(&rerun).contains("resuming"),
        "{}",
        described(&rerun)
    );
    let other = finish(other).await;
    assert_eq!(other.status.code(), Some(0), "{}", described(&other));

    let (sent, reconciled) = check_reports(&scene, &ids, 2);
    assert!(
        sent.iter().all(|&n| n > 0),
        "every worker sent a share: {sent:?}"
    );
    for id in &ids {
        assert_eq!(scene.status_of(id), "V", "{id}");
        let requests = scene.proxy.count(id, "void");
        assert!((1..=2).contains(&requests), "{id}: {requests} requests");
        if requests == 2 {
            assert!(reconciled.contains(id), "{id} sent twice, never reconciled");
        }
    }
    let refunds = scene
        .simulator
        .ledger()
        .payments()
        .iter()
        .filter(|p| p.refund_of.is_some())
        .count();
    assert_eq!(refunds, 0);
    eprintln!("shares {sent:?}, {} reconciled", reconciled.len());
}

/// On one machine's SQLite ledger the rule is by process: two workers started on one input
/// share it as on PostgreSQL, each passing over a payment the other (a process that runs) has
/// out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_sqlite_ledger_share_one_input_by_process() {
    let scene = Scene::start(FaultPlan::default().with_latency(Duration::from_millis(30))).await;
    let (input, ids) = input(&scene, 100);
    let ledger = scene.path("ledger.db");
    let ledger = ledger.to_str().unwrap();
    let children: Vec<Child> = (0..2)
        .map(|i| worker(&scene, ledger, &input, i, &[]))
        .collect();
    for child in children {
        let output = finish(child).await;
        assert_eq!(output.status.code(), Some(0), "{}", described(&output));
    }
    for id in &ids {
        assert_eq!(scene.proxy.count(id, "void"), 1, "{id}: one request");
    }
    let (sent, reconciled) = check_reports(&scene, &ids, 2);
    assert!(reconciled.is_empty(), "{reconciled:?}");
    assert_eq!(sent.iter().sum::<usize>(), ids.len(), "{sent:?}");
    assert!(
        sent.iter().all(|&n| n > 0),
        "every worker sent a share: {sent:?}"
    );
}
