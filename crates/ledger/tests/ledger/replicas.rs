//! Several processes on one PostgreSQL ledger (the gateway's replicas; here, ledgers opened
//! apart in one test, each a claimant of its own): a payment's void is claimed by one of them,
//! the others wait for its answer; a claimant that dies mid-call leaves a lease that runs out,
//! and another reconciles its void as a resumed batch does.

use std::sync::Arc;
use std::time::Duration;

use instamed_soap::{Protocol, RefundRequest, VoidRequest};
use instamed_soap_ledger::{Action, Guarded, Ledger, Verdict};
use instamed_soap_simulator::{FaultPlan, PaymentStatus, Simulator, SimulatorConfig};
use instamed_soap_test_support::outlet;
use instamed_soap_test_support::simulated::client;

use crate::Store;

/// Runs `ledger.void` on a blocking thread, as the gateway does: a replica waiting for
/// another's claim never holds a worker the simulator needs.
fn void_apart(
    ledger: Arc<Ledger>,
    client: instamed_soap::Client,
    request: VoidRequest,
) -> tokio::task::JoinHandle<Guarded<instamed_soap::VoidConfirmation>> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        handle
            .block_on(async { ledger.void(&client, &request).await })
            .expect("the ledger answers")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_voiding_the_same_payments_at_once_send_one_void_each() {
    let Some(store) = Store::postgres() else {
        return;
    };
    let simulator = crate::slow_simulator(Duration::from_millis(50)).await;
    let client = client(&simulator, Protocol::Soap11);
    let replicas = [Arc::new(store.open()), Arc::new(store.open())];
    let payments = crate::payments(&simulator, 12);
    let mut runs = Vec::new();
    for payment in &payments {
        for replica in &replicas {
            let request = VoidRequest::new(outlet(), payment.clone());
            runs.push(void_apart(replica.clone(), client.clone(), request));
        }
    }
    let (mut sent, mut known) = (0, 0);
    for run in runs {
        match run.await.unwrap() {
            Guarded::Sent(Ok(_)) => sent += 1,
            Guarded::Known(entry) => {
                assert_eq!(entry.verdict, Some(Verdict::Voided), "{entry:?}");
                known += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((sent, known), (payments.len(), payments.len()));
    for payment in &payments {
        assert_eq!(
            simulator.ledger().status(payment),
            Some(PaymentStatus::Voided)
        );
        let voids = replicas[0].standing(payment).unwrap().entries;
        assert_eq!(voids.len(), 1, "one void sent for {payment}: {voids:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_call_leaves_a_lease_that_runs_out_and_another_reconciles_it() {
    let Some(store) = Store::postgres() else {
        return;
    };
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let payment = crate::payment(&simulator);
    let request = VoidRequest::new(outlet(), payment.clone());
    // The killed replica's void goes to a server that takes it and never answers: it is out
    // when its sender dies, and whether it went through nobody knows.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!(
        "http://{}/payment/service.asmx",
        silent.local_addr().unwrap()
    );
    let held = tokio::spawn(async move {
        let mut taken = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            taken.push(connection);
        }
    });
    let unanswered = instamed_soap::Client::builder(endpoint)
        .credentials(instamed_soap::Credentials::new(
            instamed_soap_simulator::DEMO_ACCOUNT_ID,
            instamed_soap_simulator::DEMO_PASSWORD,
        ))
        .allow_plain_http_on_loopback(true)
        .build()
        .unwrap();
    // Its lease runs out at once: the test need not wait for one to.
    let killed = Arc::new(store.open().with_lease(Duration::ZERO));
    let (ledger, sent) = (killed.clone(), request.clone());
    let call = tokio::spawn(async move { ledger.void(&unanswered, &sent).await });
    let lost = loop {
        let entries = killed.standing(&payment).unwrap().entries;
        if let Some(entry) = entries.into_iter().find(|e| e.verdict.is_none()) {
            break entry;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    held.abort();
    assert!(lost.process_ended(), "a lease run out is a claimant gone");

    let survivor = store.open();
    let client = client(&simulator, Protocol::Soap11);
    match survivor.void(&client, &request).await.unwrap() {
        Guarded::Sent(Ok(_)) => {}
        other => panic!("{other:?}"),
    }
    let standing = survivor.standing(&payment).unwrap();
    assert_eq!(standing.entries.len(), 2, "{:?}", standing.entries);
    assert!(
        standing
            .entries
            .iter()
            .all(|e| e.action == Action::Void && e.verdict == Some(Verdict::Voided)),
        "the lost void is settled by the reconciliation: {:?}",
        standing.entries
    );
    assert!(
        standing.entries[0]
            .detail
            .starts_with("settled by ledger entry"),
        "{:?}",
        standing.entries[0]
    );
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );
}

/// Background reconciliation shared out: replicas sweeping at once for voids left open by a
/// dead one each take their own, and none is taken twice while its new claim holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sweeping_at_once_take_each_lost_void_once() {
    let Some(store) = Store::postgres() else {
        return;
    };
    // Voids whose answers were lost: every answer cut short, and the sender's lease gone.
    let lossy = Simulator::start(
        SimulatorConfig::default().with_faults(FaultPlan::default().with_truncate_rate(1.0)),
    )
    .await
    .unwrap();
    let dead = store.open().with_lease(Duration::ZERO);
    let lossy_client = client(&lossy, Protocol::Soap11);
    for _ in 0..10 {
        let payment = lossy.ledger().create_payment(&outlet(), "10.00").unwrap();
        let guarded = dead
            .void(&lossy_client, &VoidRequest::new(outlet(), payment))
            .await
            .unwrap();
        assert!(matches!(guarded, Guarded::Sent(Err(_))), "{guarded:?}");
    }
    let sweepers: Vec<_> = (0..3)
        .map(|_| {
            let ledger = store.open();
            std::thread::spawn(move || ledger.claim_lost_voids(100).unwrap())
        })
        .collect();
    let mut taken: Vec<i64> = Vec::new();
    for sweeper in sweepers {
        taken.extend(sweeper.join().unwrap().iter().map(|entry| entry.id));
    }
    taken.sort_unstable();
    let all = taken.len();
    taken.dedup();
    assert_eq!(taken.len(), all, "a lost void taken twice: {taken:?}");
    assert_eq!(all, 10, "every lost void taken: {taken:?}");
    assert!(store.open().claim_lost_voids(100).unwrap().is_empty());
}

/// A refund whose answer came back while the database was down: its verdict could not be
/// written, so the process keeps it and writes it once the database answers again, before its
/// next decision. The same refund asked again is answered from the ledger with the refund
/// InstaMed made, not held for a person, and another replica reads it refunded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_answered_while_the_database_was_down_is_written_when_it_returns_not_held() {
    let Some(store) = Store::postgres() else {
        return;
    };
    let cluster = store.cluster().expect("the cluster");
    let simulator = crate::slow_simulator(Duration::from_millis(500)).await;
    let client = client(&simulator, Protocol::Soap11);
    let ledger = Arc::new(store.open());
    let payment = crate::guard::too_late(&simulator);
    let request =
        RefundRequest::new(outlet(), payment.clone(), crate::guard::amount("10.00")).unwrap();
    let out = {
        let (ledger, client, request) = (ledger.clone(), client.clone(), request.clone());
        tokio::spawn(async move { ledger.refund(&client, &request, None).await })
    };
    // The intent is written and the refund is out: the database stops under it.
    while ledger.standing(&payment).unwrap().entries.is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::task::block_in_place(|| cluster.stop());
    let heard = match out.await.unwrap() {
        Ok(Guarded::Sent(Ok(receipt))) => receipt.refund_id,
        other => panic!("the refund's answer is returned all the same: {other:?}"),
    };
    tokio::task::block_in_place(|| cluster.restart());
    match ledger.refund(&client, &request, None).await.unwrap() {
        Guarded::Known(entry) => assert_eq!(entry.refund_id.as_deref(), Some(heard.as_str())),
        other => panic!("the refund it heard, from the ledger: {other:?}"),
    }
    assert_eq!(crate::guard::refunds_of(&simulator, &payment), 1);
    let elsewhere = store.open().standing(&payment).unwrap();
    assert!(
        elsewhere.refund_on_hold().is_none() && elsewhere.refunds_made().len() == 1,
        "{:?}",
        elsewhere.entries
    );
}

/// A `sent` entry whose claim was released (a batch re-run on its journal lets go of its dead
/// run's claims) is a claimant gone, whatever process on the reading machine has the ID it was
/// written with (in a container, often one alive): a refund left so reaches a person, who can
/// settle it, instead of looking in flight for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_whose_claim_was_released_is_ended_whatever_process_has_its_id() {
    let Some(store) = Store::postgres() else {
        return;
    };
    let ledger = Arc::new(store.open());
    let (_simulator, sent) = crate::by_hand::refund_left_in_flight(&ledger).await;
    assert_eq!(sent.pid, std::process::id(), "written by this very process");
    assert!(!sent.process_ended(), "its claim holds");
    let (database, connection) = tokio_postgres::connect(&store.location(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    database
        .execute("DELETE FROM claims WHERE entry = $1", &[&sent.id])
        .await
        .unwrap();
    let released = ledger.entry(sent.id).unwrap().expect("the entry");
    assert!(released.process_ended(), "its claimant let go of it");
    ledger
        .settle_refund(sent.id, None, "j.doe", "not on the portal")
        .unwrap();
    let settled = ledger.entry(sent.id).unwrap().expect("the entry");
    assert_eq!(settled.settled_by.as_deref(), Some("j.doe"));
}
