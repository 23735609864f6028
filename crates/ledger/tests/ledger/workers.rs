//! Several batch workers on one input, each with its own journal, on one PostgreSQL ledger
//! (here, ledgers opened apart in one test: each a claimant of its own, as processes are): a
//! worker passes over a payment another has out and comes back to it at the end, so the
//! workers share the rows and every payment is sent once; a worker that dies leaves its
//! payments to the others once its claims run out, or to its own re-run at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use instamed_soap::rest::Amount;
use instamed_soap::{Client, Protocol, TransactionId, VoidRequest};
use instamed_soap_ledger::batch::{
    Batch, BatchOptions, Finding, InputRow, Journal, RowRecord, Settle, Summary, Verdict,
};
use instamed_soap_ledger::{Action, Ledger};
use instamed_soap_simulator::{PaymentStatus, Simulator, SimulatorConfig};
use instamed_soap_test_support::outlet;
use instamed_soap_test_support::simulated::client;

use crate::Store;

/// The real client, with every call it makes counted by payment and kind: what each worker
/// sent.
#[derive(Clone)]
struct Counted {
    client: Client,
    calls: Arc<Mutex<HashMap<(String, &'static str), u32>>>,
}

impl Counted {
    fn new(client: Client) -> Self {
        Self {
            client,
            calls: Arc::default(),
        }
    }

    fn count(&self, request: &VoidRequest, kind: &'static str) {
        let mut calls = self.calls.lock().unwrap();
        *calls
            .entry((request.payment().as_str().to_owned(), kind))
            .or_default() += 1;
    }

    fn sent(&self, payment: &TransactionId, kind: &'static str) -> u32 {
        let calls = self.calls.lock().unwrap();
        calls
            .get(&(payment.as_str().to_owned(), kind))
            .copied()
            .unwrap_or(0)
    }
}

impl Settle for Counted {
    async fn void(&self, request: &VoidRequest) -> Finding {
        self.count(request, "void");
        Settle::void(&self.client, request).await
    }

    async fn reconcile(&self, request: &VoidRequest) -> Finding {
        self.count(request, "reconcile");
        Settle::reconcile(&self.client, request).await
    }

    async fn refund(&self, request: &VoidRequest, amount: Amount) -> Finding {
        self.count(request, "refund");
        Settle::refund(&self.client, request, amount).await
    }
}

/// A service that takes every request and never answers: a worker that sends to it has its
/// payments out until it dies. Counts the requests it took.
#[derive(Clone, Default)]
struct Silent(Arc<std::sync::atomic::AtomicUsize>);

impl Silent {
    fn took(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits until a request is out.
    async fn out(&self) {
        while self.0.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Settle for Silent {
    async fn void(&self, _: &VoidRequest) -> Finding {
        self.took();
        std::future::pending().await
    }

    async fn reconcile(&self, _: &VoidRequest) -> Finding {
        self.took();
        std::future::pending().await
    }

    async fn refund(&self, _: &VoidRequest, _: Amount) -> Finding {
        self.took();
        std::future::pending().await
    }
}

fn requests(payments: &[TransactionId]) -> Vec<VoidRequest> {
    payments
        .iter()
        .map(|payment| VoidRequest::new(outlet(), payment.clone()))
        .collect()
}

/// A worker's journal on the input `requests`, each row with `amount` to refund.
fn journal(
    dir: &tempfile::TempDir,
    name: &str,
    requests: &[VoidRequest],
    amount: Option<Amount>,
    ledger: Arc<Ledger>,
) -> Journal {
    let mut journal = Journal::open(dir.path().join(name)).unwrap();
    journal.use_ledger(ledger);
    journal
        .load(
            requests
                .iter()
                .enumerate()
                .map(|(i, request)| Ok(InputRow::from_request(i as u64 + 2, request, amount))),
        )
        .unwrap();
    journal
}

fn rows(journal: &Journal) -> Vec<RowRecord> {
    let mut rows = Vec::new();
    journal
        .for_each_row(|row| {
            rows.push(row.clone());
            Ok(())
        })
        .unwrap();
    rows
}

fn options(or_refund: bool) -> BatchOptions {
    BatchOptions {
        concurrency: 4,
        or_refund,
        ..BatchOptions::default()
    }
}

async fn run<S: Settle>(settle: S, journal: Journal, or_refund: bool) -> (Journal, Summary) {
    Batch::new(settle, options(or_refund))
        .run(journal, std::future::pending())
        .await
        .unwrap()
}

/// Runs a worker on `journal` (the file `name` in `dir`) against a service that never answers
/// and kills it once a request is out, as a process dies mid-call: its claims stay. Returns
/// once the dead run's journal is closed.
async fn killed_mid_call(journal: Journal, dir: &tempfile::TempDir, name: &str) {
    let silent = Silent::default();
    let dying = tokio::spawn(run(silent.clone(), journal, false));
    silent.out().await;
    dying.abort();
    assert!(dying.await.unwrap_err().is_cancelled());
    closed(dir, name).await;
}

/// Waits until the journal `name` of a dropped run is closed: its writer thread ends once the
/// run's aborted tasks have let it go.
async fn closed(dir: &tempfile::TempDir, name: &str) {
    while Journal::open(dir.path().join(name)).is_err() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn amount(text: &str) -> Amount {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_on_one_input_share_its_rows_and_send_each_payment_once() {
    let Some(store) = Store::postgres() else {
        return;
    };
    let simulator = crate::slow_simulator(Duration::from_millis(50)).await;
    // Every twentieth payment is too late to void: its worker refunds it instead, once.
    let payments: Vec<TransactionId> = (0..200)
        .map(|i| {
            let payment = simulator
                .ledger()
                .create_payment(&outlet(), "10.00")
                .unwrap();
            if i % 20 == 7 {
                simulator.ledger().start_transfer(&payment).unwrap();
            }
            payment
        })
        .collect();
    let requests = requests(&payments);
    let dir = tempfile::tempdir().unwrap();
    let workers: Vec<Counted> = (0..3)
        .map(|_| Counted::new(client(&simulator, Protocol::Soap11)))
        .collect();
    let runs: Vec<_> = workers
        .iter()
        .enumerate()
        .map(|(i, worker)| {
            let journal = journal(
                &dir,
                &format!("worker{i}.journal"),
                &requests,
                Some(amount("10.00")),
                Arc::new(store.open()),
            );
            tokio::spawn(run(worker.clone(), journal, true))
        })
        .collect();
    let mut done = Vec::new();
    for run in runs {
        done.push(run.await.unwrap());
    }

    let ledger = store.open();
    for (i, payment) in payments.iter().enumerate() {
        let too_late = i % 20 == 7;
        let (expected, status) = if too_late {
            (Verdict::Refunded, PaymentStatus::Captured)
        } else {
            (Verdict::Voided, PaymentStatus::Voided)
        };
        assert_eq!(
            simulator.ledger().status(payment),
            Some(status),
            "{payment}"
        );
        let sent = |kind| workers.iter().map(|w| w.sent(payment, kind)).sum::<u32>();
        // A refusal is read with the refund that follows it (one transaction), so no worker
        // voids a payment another found too late.
        let voids = sent("void");
        assert_eq!(voids, 1, "{payment}: one void over all workers");
        assert_eq!(sent("reconcile"), 0, "{payment}: nothing was left unknown");
        assert_eq!(sent("refund"), u32::from(too_late), "{payment}");
        let entries = ledger.standing(payment).unwrap().entries;
        let intents = |action| entries.iter().filter(|e| e.action == action).count();
        assert_eq!(
            intents(Action::Void),
            voids as usize,
            "{payment}: {entries:?}"
        );
        assert_eq!(
            intents(Action::Refund),
            usize::from(too_late),
            "{entries:?}"
        );
        // Every worker's report lists the row, with the same verdict; the one that sent it
        // says so, the others that the ledger answered.
        for (worker, (journal, _)) in workers.iter().zip(&done) {
            let row = &rows(journal)[i];
            assert_eq!(row.raw.transaction_id, payment.as_str());
            assert_eq!(row.verdict, expected, "{row:?}");
            let sent_here = ["void", "reconcile", "refund"]
                .into_iter()
                .any(|kind| worker.sent(payment, kind) > 0);
            if !sent_here {
                assert_eq!(row.step, "ledger", "{row:?}");
                assert!(row.detail.contains("from the ledger"), "{row:?}");
            } else {
                let step = if too_late { "refund" } else { "void" };
                assert_eq!(row.step, step, "{row:?}");
            }
        }
    }
    let shares: Vec<u64> = done.iter().map(|(_, summary)| summary.steps).collect();
    assert!(
        shares.iter().all(|&steps| steps > 0),
        "every worker sent a share: {shares:?}"
    );
    assert!(
        done.iter().any(|(_, summary)| summary.passed_over > 0),
        "no worker ever found a payment out elsewhere: they did not share one input"
    );
}

/// A worker that died mid-call (here: whose task was dropped while its requests were out)
/// leaves claims that hold its payments for their lease: another worker passes them over,
/// does the rest, comes back, and reconciles them once the claims have run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_payments_are_reconciled_by_another_once_its_claims_run_out() {
    let Some(store) = Store::postgres() else {
        return;
    };
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let payments = crate::payments(&simulator, 60);
    let requests = requests(&payments);
    let dir = tempfile::tempdir().unwrap();
    let dead_ledger = Arc::new(store.open().with_lease(Duration::from_secs(2)));
    let dead = journal(&dir, "dead.journal", &requests, None, dead_ledger.clone());
    killed_mid_call(dead, &dir, "dead.journal").await;
    let out: Vec<String> = dead_ledger
        .open_entries()
        .unwrap()
        .into_iter()
        .map(|entry| entry.payment)
        .collect();
    assert!(out.len() < payments.len(), "the dead worker had all out");

    let survivor = Counted::new(client(&simulator, Protocol::Soap11));
    let live = journal(
        &dir,
        "live.journal",
        &requests,
        None,
        Arc::new(store.open()),
    );
    let (live, summary) = run(survivor.clone(), live, false).await;
    assert!(summary.passed_over >= out.len() as u64, "{summary:?}");
    assert_eq!(summary.count(Verdict::Voided), payments.len() as u64);
    for (row, payment) in rows(&live).iter().zip(&payments) {
        assert_eq!(
            simulator.ledger().status(payment),
            Some(PaymentStatus::Voided)
        );
        let was_out = out.contains(&payment.as_str().to_ascii_uppercase());
        let (voids, reconciles) = (
            survivor.sent(payment, "void"),
            survivor.sent(payment, "reconcile"),
        );
        if was_out {
            // Its void may have gone through: reconciled, on proof, never sent blind.
            assert_eq!((voids, reconciles, row.step.as_str()), (0, 1, "reconcile"));
        } else {
            assert_eq!((voids, reconciles, row.step.as_str()), (1, 0, "void"));
        }
    }
}

/// A worker re-run on its journal after it was killed gives up the claims its dead run left
/// (its journal's lock proves that run dead) and reconciles those payments at once, rather
/// than passing them over until their leases run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_re_run_on_its_journal_takes_back_its_dead_runs_payments_at_once() {
    let Some(store) = Store::postgres() else {
        return;
    };
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let payments = crate::payments(&simulator, 24);
    let requests = requests(&payments);
    let dir = tempfile::tempdir().unwrap();
    // Claims that would hold for an hour.
    let first = Arc::new(store.open().with_lease(Duration::from_secs(3600)));
    let journal_of = |ledger| journal(&dir, "worker.journal", &requests, None, ledger);
    killed_mid_call(journal_of(first.clone()), &dir, "worker.journal").await;

    let again = Counted::new(client(&simulator, Protocol::Soap11));
    let (journal, summary) = run(again.clone(), journal_of(Arc::new(store.open())), false).await;
    assert_eq!(summary.passed_over, 0, "{summary:?}");
    assert_eq!(summary.count(Verdict::Voided), payments.len() as u64);
    let rows = rows(&journal);
    let reconciled = rows.iter().filter(|row| row.step == "reconcile").count();
    assert!(
        reconciled > 0,
        "the dead run's payments are reconciled: {:?}",
        rows.iter()
            .map(|row| (&row.step, row.attempts, row.run))
            .collect::<Vec<_>>()
    );
    for payment in &payments {
        assert_eq!(
            simulator.ledger().status(payment),
            Some(PaymentStatus::Voided)
        );
        assert_eq!(
            again.sent(payment, "void") + again.sent(payment, "reconcile"),
            1,
            "{payment}"
        );
    }
}

/// Three payments on a SQLite ledger, the first of them with a void out by another process
/// that runs until killed (a `sleep`), and a worker's journal on the three.
struct KeptOut {
    payments: Vec<TransactionId>,
    ledger: Arc<Ledger>,
    other: Other,
    worker: Counted,
    journal: Journal,
    /// The ledger's file, the journal's and the simulator, for as long as the test lasts.
    _kept: (Store, tempfile::TempDir, Simulator),
}

impl KeptOut {
    async fn start() -> Self {
        let store = Store::sqlite();
        let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
        let payments = crate::payments(&simulator, 3);
        let ledger = Arc::new(store.open());
        let other = Other(
            std::process::Command::new("sleep")
                .arg("600")
                .spawn()
                .unwrap(),
        );
        sent_by(&store, &payments[0], other.0.id());
        let dir = tempfile::tempdir().unwrap();
        let worker = Counted::new(client(&simulator, Protocol::Soap11));
        let journal = journal(
            &dir,
            "worker.journal",
            &requests(&payments),
            None,
            ledger.clone(),
        );
        Self {
            payments,
            ledger,
            other,
            worker,
            journal,
            _kept: (store, dir, simulator),
        }
    }
}

/// The other process: ended when the test is done with it, or when the test fails.
struct Other(std::process::Child);

impl Other {
    fn end(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Other {
    fn drop(&mut self) {
        self.end();
    }
}

/// Writes into the SQLite ledger of `store` a void of `payment` that process `pid` has out.
fn sent_by(store: &Store, payment: &TransactionId, pid: u32) {
    let conn = rusqlite::Connection::open(store.location()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    conn.execute(
        "INSERT INTO intents(payment, action, state, merchant_id, store_id, terminal_id,
             command, pid, started_ms)
         VALUES (?1, 'void', 'sent', ?2, ?3, ?4, 'instamed-soap batch', ?5, ?6)",
        rusqlite::params![
            payment.as_str().to_ascii_uppercase(),
            outlet().merchant_id(),
            outlet().store_id(),
            outlet().terminal_id(),
            pid,
            now
        ],
    )
    .unwrap();
}

/// On SQLite (one machine's file) the rule is by process: a payment whose void another
/// process that still runs has out (its entry `sent`, with that process's ID) is passed over
/// and come back to; once that process has ended, its void is reconciled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_payment_another_running_process_has_out_waits_until_that_process_ends() {
    let mut kept = KeptOut::start().await;
    let (payments, ledger, worker) = (&kept.payments, &kept.ledger, &kept.worker);
    let running = tokio::spawn(run(worker.clone(), kept.journal, false));
    // The others are voided while the first waits for the other process.
    let started = std::time::Instant::now();
    while payments[1..]
        .iter()
        .any(|payment| ledger.standing(payment).unwrap().voided().is_none())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30) && !running.is_finished(),
            "the other payments were never voided"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(worker.sent(&payments[0], "void"), 0);
    assert_eq!(worker.sent(&payments[0], "reconcile"), 0);
    kept.other.end();
    let (journal, summary) = running.await.unwrap();
    assert_eq!(summary.passed_over, 1, "{summary:?}");
    assert_eq!(summary.count(Verdict::Voided), 3, "{summary:?}");
    let steps: Vec<String> = rows(&journal).into_iter().map(|row| row.step).collect();
    assert_eq!(steps, ["reconcile", "void", "void"]);
    assert_eq!(worker.sent(&payments[0], "reconcile"), 1);
}

/// A payment another running process keeps out (a gateway reconciling a lost void while
/// InstaMed gives no proof) holds a run no longer than `wait_for_others`: the run then stops
/// as one told to does, the row left pending and nothing sent for it, and the same journal run
/// again once that process is gone reconciles it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_another_process_keeps_out_is_waited_for_no_longer_than_asked_then_left_for_the_next_run()
 {
    let mut kept = KeptOut::start().await;
    let (payments, worker) = (&kept.payments, &kept.worker);
    let options = BatchOptions {
        wait_for_others: Duration::from_millis(300),
        ..options(false)
    };
    let (journal, summary) = tokio::time::timeout(
        Duration::from_secs(30),
        Batch::new(worker.clone(), options).run(kept.journal, std::future::pending()),
    )
    .await
    .expect("the run ended on its own")
    .unwrap();
    assert!(summary.interrupted, "{summary:?}");
    assert_eq!(summary.left_waiting, 1, "{summary:?}");
    assert_eq!(summary.count(Verdict::Voided), 2, "{summary:?}");
    assert_eq!(summary.count(Verdict::Pending), 1, "{summary:?}");
    assert_eq!(worker.sent(&payments[0], "void"), 0);
    assert_eq!(worker.sent(&payments[0], "reconcile"), 0);
    kept.other.end();
    // The journal the run gave back, as a library caller runs it again: this run's counts
    // are its own.
    let (_, summary) = run(worker.clone(), journal, false).await;
    assert!(!summary.interrupted, "{summary:?}");
    assert_eq!(summary.left_waiting, 0, "{summary:?}");
    assert_eq!(summary.passed_over, 0, "{summary:?}");
    assert_eq!(summary.count(Verdict::Voided), 3, "{summary:?}");
    assert_eq!(worker.sent(&payments[0], "reconcile"), 1);
    assert_eq!(worker.sent(&payments[0], "void"), 0);
}
