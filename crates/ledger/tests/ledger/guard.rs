//! The ledger through the library, against the simulator over TLS on loopback, over every
//! protocol: the same instruction twice moves money once, two processes sharing one ledger
//! never refund the same payment twice, a refund of unknown outcome waits for a person, and a
//! file that is not a ledger is left alone. Each test runs on both engines: a SQLite file and
//! a fresh database of a throwaway PostgreSQL cluster (`on_sqlite`, `on_postgres`).

use instamed_soap_test_support as support;
use instamed_soap_test_support::simulated::client;

use std::sync::Arc;
use std::time::Duration;

use instamed_soap::rest::Amount;
use instamed_soap::{Protocol, RefundRequest, TransactionId, VoidOrRefund, VoidRequest};
use instamed_soap_ledger::{Action, Guarded, Ledger, LedgerError, Standing, Verdict};
use instamed_soap_simulator::{FaultPlan, Simulator, SimulatorConfig};
use support::outlet;

use crate::on_both;

const EVERY: [Protocol; 4] = [
    Protocol::Soap11,
    Protocol::Soap12,
    Protocol::Nvp,
    Protocol::Rest,
];

pub(crate) fn too_late(simulator: &Simulator) -> TransactionId {
    let id = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .expect("payment");
    simulator.ledger().start_transfer(&id).expect("transfer");
    id
}

pub(crate) fn refunds_of(simulator: &Simulator, id: &TransactionId) -> usize {
    simulator
        .ledger()
        .payments()
        .iter()
        .filter(|p| p.refund_of.as_ref() == Some(id))
        .count()
}

pub(crate) fn amount(text: &str) -> Amount {
    text.parse().expect("amount")
}

on_both! {
async fn void_or_refund_with_a_ledger_refunds_once_over_every_protocol(store: &Store) {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let ledger = store.open();
    for protocol in EVERY {
        let client = client(&simulator, protocol);
        let id = too_late(&simulator);
        let request = VoidRequest::new(outlet(), id.clone());
        let first = ledger
            .void_or_refund(&client, &request, amount("3.00"))
            .await
            .unwrap();
        assert!(
            matches!(first, Guarded::Sent(Ok(VoidOrRefund::Refunded(_)))),
            "{protocol}: {first:?}"
        );
        for _ in 0..2 {
            match ledger
                .void_or_refund(&client, &request, amount("3.00"))
                .await
                .unwrap()
            {
                Guarded::Known(entry) => {
                    assert_eq!(entry.verdict, Some(Verdict::Refunded), "{protocol}");
                    assert!(entry.refund_id.is_some(), "{protocol}: {entry:?}");
                }
                other => panic!("{protocol}: {other:?}"),
            }
        }
        assert_eq!(refunds_of(&simulator, &id), 1, "{protocol}");
    }
}
}

on_both! {
/// Two processes on one ledger file (two connections here), each told to void-or-refund the
/// same too-late payment at the same moment: one refund, and the other run is held or answered.
async fn two_processes_on_one_ledger_never_refund_the_same_payment_twice(store: &Store) {
    let simulator = crate::slow_simulator(Duration::from_millis(200)).await;
    let client = client(&simulator, Protocol::Soap11);
    for _ in 0..5 {
        let id = too_late(&simulator);
        let request = VoidRequest::new(outlet(), id.clone());
        let runs = (0..2).map(|_| {
            let (client, request, ledger) = (
                client.clone(),
                request.clone(),
                Arc::new(store.open()),
            );
            tokio::spawn(async move {
                ledger
                    .void_or_refund(&client, &request, amount("3.00"))
                    .await
                    .unwrap()
            })
        });
        let mut refunded = 0;
        for run in runs.collect::<Vec<_>>() {
            match run.await.unwrap() {
                Guarded::Sent(Ok(VoidOrRefund::Refunded(_))) => refunded += 1,
                Guarded::OnHold(entry) | Guarded::Known(entry) => {
                    assert_eq!(entry.action, Action::Refund, "{entry:?}");
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(refunded, 1);
        assert_eq!(refunds_of(&simulator, &id), 1);
    }
}
}

on_both! {
async fn a_refund_of_unknown_outcome_waits_for_a_person(store: &Store) {
    // Every answer cut short: the refund is made, its answer unreadable.
    let simulator = Simulator::start(
        SimulatorConfig::default().with_faults(FaultPlan::default().with_truncate_rate(1.0)),
    )
    .await
    .unwrap();
    let ledger = store.open();
    let client = client(&simulator, Protocol::Soap12);
    let id = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    let request = RefundRequest::new(outlet(), id.clone(), amount("2.00")).unwrap();
    let first = ledger.refund(&client, &request, None).await.unwrap();
    assert!(
        matches!(&first, Guarded::Sent(Err(error)) if error.outcome_unknown()),
        "{first:?}"
    );
    // Not even a deliberate further refund goes while this one may have been made.
    for after in [None, Some("R1")] {
        match ledger.refund(&client, &request, after).await.unwrap() {
            Guarded::OnHold(entry) => assert_eq!(entry.verdict, Some(Verdict::RefundUnknown)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(refunds_of(&simulator, &id), 1);
    let open = ledger.open_entries().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    // A person checks, and records what they found; only then may a refund go again.
    let settled = ledger
        .settle_refund(open[0].id, None, "j.doe", "no refund on the portal")
        .unwrap()
        .expect("an open refund");
    assert_eq!(settled.verdict, Some(Verdict::RefundRefused));
    assert_eq!(settled.settled_by.as_deref(), Some("j.doe"));
    assert!(ledger.open_entries().unwrap().is_empty());
    assert!(
        ledger
            .settle_refund(open[0].id, None, "j.doe", "again")
            .unwrap()
            .is_none(),
        "a settled refund is not settled twice"
    );
}
}

#[test]
fn a_file_that_is_not_a_ledger_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let not_sqlite = dir.path().join("notes.txt");
    std::fs::write(&not_sqlite, "an operator's notes, not a ledger").unwrap();
    assert!(matches!(
        Ledger::open(&not_sqlite),
        Err(LedgerError::NotALedger { .. })
    ));
    assert_eq!(
        std::fs::read_to_string(&not_sqlite).unwrap(),
        "an operator's notes, not a ledger"
    );
}

/// A caller's own rule (a service that answers a recorded refusal again) is read in the
/// intent's transaction: a void it finds answered is not sent, and no intent is written for it.
#[tokio::test]
async fn a_void_the_callers_rule_finds_answered_in_the_standing_is_not_sent() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path().join("ledger.db")).unwrap();
    let client = client(&simulator, Protocol::Soap11);
    let request = VoidRequest::new(outlet(), too_late(&simulator));
    let refused = |standing: &Standing| {
        standing
            .entries
            .last()
            .filter(|entry| entry.verdict == Some(Verdict::NotVoidable))
            .cloned()
    };
    let first = ledger
        .void_unless(&client, &request, refused)
        .await
        .unwrap();
    assert!(matches!(first, Guarded::Sent(Err(_))), "{first:?}");
    match ledger
        .void_unless(&client, &request, refused)
        .await
        .unwrap()
    {
        Guarded::Known(entry) => assert_eq!(entry.verdict, Some(Verdict::NotVoidable)),
        other => panic!("sent again: {other:?}"),
    }
    let standing = ledger.standing(request.payment()).unwrap();
    assert_eq!(standing.entries.len(), 1, "{:?}", standing.entries);
}

on_both! {
/// Group commit: many callers deciding at once on one ledger each get their own entry and
/// verdict, however the ledger grouped their intents and verdicts.
async fn decisions_taken_at_once_are_each_recorded_once_in_the_groups_they_share(store: &Store) {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let commits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = commits.clone();
    let ledger = Arc::new(
        store
            .open()
            .with_commit_observer(Arc::new(move |_, durable| {
                if durable {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            })),
    );
    let client = client(&simulator, Protocol::Soap11);
    let payments = crate::payments(&simulator, 32);
    let mut voids = Vec::new();
    for payment in &payments {
        let (ledger, client) = (ledger.clone(), client.clone());
        let request = VoidRequest::new(outlet(), payment.clone());
        voids.push(tokio::spawn(
            async move { ledger.void(&client, &request).await },
        ));
    }
    for void in voids {
        let guarded = void.await.unwrap().unwrap();
        assert!(matches!(guarded, Guarded::Sent(Ok(_))), "{guarded:?}");
    }
    let mut ids = Vec::new();
    for payment in &payments {
        let standing = ledger.standing(payment).unwrap();
        assert_eq!(
            standing.entries.len(),
            1,
            "{payment}: {:?}",
            standing.entries
        );
        assert_eq!(standing.entries[0].verdict, Some(Verdict::Voided));
        ids.push(standing.entries[0].id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), payments.len(), "an entry each");
    let flushed = commits.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=payments.len()).contains(&flushed),
        "{flushed} flushed commits"
    );
}
}
