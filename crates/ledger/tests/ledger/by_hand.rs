//! What waits for a person, and what a person records: against the simulator over TLS on
//! loopback, with its faults making the answers that get lost.

use std::sync::Arc;
use std::time::Duration;

use instamed_soap::{Protocol, RefundRequest, VoidRequest};
use instamed_soap_ledger::{
    Attention, Entry, Guarded, Ledger, LedgerError, Settlement, Verdict, asked_by,
};
use instamed_soap_simulator::{FaultPlan, PaymentStatus, Simulator, SimulatorConfig};
use instamed_soap_test_support::outlet;
use instamed_soap_test_support::simulated::client;

use crate::guard::{amount, refunds_of, too_late};
use crate::{on_both, payment};

/// No reconciliation window: a void in doubt waits for a person at once.
const AT_ONCE: Duration = Duration::ZERO;
/// A window no test outlasts.
const AN_HOUR: Duration = Duration::from_secs(3600);

/// A simulator whose first answer is cut short (the request carried out, its answer lost),
/// and every later one whole.
async fn first_answer_lost() -> Simulator {
    Simulator::start(
        SimulatorConfig::default().with_faults(
            FaultPlan::default()
                .with_truncate_rate(1.0)
                .with_max_faults(1),
        ),
    )
    .await
    .unwrap()
}

on_both! {
async fn a_refund_of_unknown_outcome_waits_at_once_with_its_client_and_a_person_settles_it_made(store: &Store) {
    let simulator = first_answer_lost().await;
    let client = client(&simulator, Protocol::Soap11);
    let ledger = store.open().with_command("gateway");
    let id = payment(&simulator);
    let request = RefundRequest::new(outlet(), id.clone(), amount("4.00")).unwrap();
    let erp = ledger.asked_by(asked_by("gateway", "soap", "erp prod"));
    let first = erp.refund(&client, &request, None).await.unwrap();
    assert!(
        matches!(&first, Guarded::Sent(Err(error)) if error.outcome_unknown()),
        "{first:?}"
    );

    // Waiting at once, whatever the window: nothing but a person settles a refund.
    let waiting = ledger.waiting(None, AN_HOUR).unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].attention, Attention::RefundUnknown);
    assert_eq!(waiting[0].entry.client(), Some("erp prod"));
    assert_eq!(waiting[0].entry.via(), Some("soap"));
    assert_eq!(waiting[0].entry.command_alone(), "gateway");
    assert!(waiting[0].age < AN_HOUR);
    let entry = waiting[0].entry.id;
    assert!(
        ledger
            .waiting(Some(Attention::VoidUnknown), AT_ONCE)
            .unwrap()
            .is_empty(),
        "a refund is not listed as a void"
    );

    // The portal shows the refund: recorded, and the ERP's next request is answered with it.
    let refund_id = simulator
        .ledger()
        .payments()
        .into_iter()
        .find(|p| p.refund_of.as_ref() == Some(&id))
        .expect("the simulator made the refund")
        .id;
    let settled = ledger
        .settle(
            entry,
            &Settlement::Refunded(refund_id.as_str().to_owned()),
            "j.doe",
            "portal shows the refund",
        )
        .unwrap()
        .expect("an open refund is settled");
    assert_eq!(settled.verdict, Some(Verdict::Refunded));
    assert_eq!(settled.settled_by.as_deref(), Some("j.doe"));
    assert!(ledger.waiting(None, AT_ONCE).unwrap().is_empty());
    match erp.refund(&client, &request, None).await.unwrap() {
        Guarded::Known(known) => {
            assert_eq!(known.id, entry);
            assert_eq!(known.refund_id.as_deref(), Some(refund_id.as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(refunds_of(&simulator, &id), 1, "refunded once");
    assert!(
        ledger
            .settle(entry, &Settlement::NothingHappened, "mallory", "again")
            .unwrap()
            .is_none(),
        "a settled entry is not settled twice"
    );
}
}

on_both! {
async fn a_void_in_doubt_waits_for_a_person_only_after_the_reconcile_window_and_settled_voided_is_the_next_answer(store: &Store) {
    let simulator = first_answer_lost().await;
    let client = client(&simulator, Protocol::Soap12);
    let ledger = store.open();
    let id = payment(&simulator);
    let request = VoidRequest::new(outlet(), id.clone());
    let first = ledger.void(&client, &request).await.unwrap();
    assert!(
        matches!(&first, Guarded::Sent(Err(error)) if error.outcome_unknown()),
        "{first:?}"
    );
    assert!(
        ledger.waiting(None, AN_HOUR).unwrap().is_empty(),
        "software still reconciles a void within its window"
    );
    let waiting = ledger
        .waiting(Some(Attention::VoidUnknown), AT_ONCE)
        .unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].entry.client(), None, "no service client asked");

    // A void found refunded is no settlement of a void: nothing changes.
    let entry = waiting[0].entry.id;
    assert!(
        ledger
            .settle(entry, &Settlement::Refunded("X1".to_owned()), "j.doe", "?")
            .unwrap()
            .is_none()
    );
    let settled = ledger
        .settle(
            entry,
            &Settlement::Voided,
            "j.doe",
            "portal: voided; card 4111 1111 1111 1111 on the phone",
        )
        .unwrap()
        .expect("an open void is settled");
    assert_eq!(settled.verdict, Some(Verdict::Voided));
    let note = settled.settled_note.clone().unwrap_or_default();
    assert!(!note.contains("4111"), "a card number was stored: {note}");
    assert!(!settled.evidence().contains("4111"));
    match ledger.void(&client, &request).await.unwrap() {
        Guarded::Known(known) => assert_eq!(known.id, entry),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        simulator.ledger().status(&id),
        Some(PaymentStatus::Voided),
        "the lost answer's void went through"
    );
}
}

on_both! {
/// "Nothing happened" makes the next request send a void, not reconcile one: here the person
/// was wrong (the lost answer's void went through), and InstaMed's "already voided" says so.
async fn a_void_found_not_done_is_sent_again_at_the_next_request(store: &Store) {
    let simulator = first_answer_lost().await;
    let client = client(&simulator, Protocol::Soap11);
    let ledger = store.open();
    let request = VoidRequest::new(outlet(), payment(&simulator));
    let _lost = ledger.void(&client, &request).await.unwrap();
    let waiting = ledger.waiting(None, AT_ONCE).unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let settled = ledger
        .settle(
            waiting[0].entry.id,
            &Settlement::NothingHappened,
            "j.doe",
            "not on the portal",
        )
        .unwrap()
        .expect("settled");
    assert_eq!(settled.verdict, Some(Verdict::Failed));
    match ledger.void(&client, &request).await.unwrap() {
        Guarded::Sent(Err(instamed_soap::Error::AlreadyVoided(_))) => {}
        other => panic!("a void, not a reconciliation, was expected: {other:?}"),
    }
    assert!(ledger.waiting(None, AT_ONCE).unwrap().is_empty());
}
}

on_both! {
async fn a_refused_refund_waits_until_a_person_settles_it_and_the_filter_tells_the_kinds_apart(store: &Store) {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let client = client(&simulator, Protocol::Rest);
    let ledger = store.open();
    let refused = payment(&simulator);
    let over = RefundRequest::new(outlet(), refused.clone(), amount("99.00")).unwrap();
    let answer = ledger.refund(&client, &over, None).await.unwrap();
    assert!(matches!(answer, Guarded::Sent(Err(_))), "{answer:?}");
    let later = too_late(&simulator);
    let _made = ledger
        .refund(
            &client,
            &RefundRequest::new(outlet(), later, amount("1.00")).unwrap(),
            None,
        )
        .await
        .unwrap();

    let all = ledger.waiting(None, AT_ONCE).unwrap();
    assert_eq!(all.len(), 1, "a refund made waits for nobody: {all:?}");
    assert_eq!(all[0].attention, Attention::RefundRefused);
    for kind in Attention::ALL {
        let listed = ledger.waiting(Some(kind), AT_ONCE).unwrap();
        assert_eq!(listed.len(), usize::from(kind == Attention::RefundRefused));
        assert_eq!(Attention::from_name(kind.name()), Some(kind));
    }
    let settled = ledger
        .settle(
            all[0].entry.id,
            &Settlement::NothingHappened,
            "j.doe",
            "patient refunded by cheque",
        )
        .unwrap()
        .expect("a refusal is acknowledged");
    assert_eq!(settled.verdict, Some(Verdict::RefundRefused));
    assert!(ledger.waiting(None, AT_ONCE).unwrap().is_empty());
}
}

/// A refund sent through `ledger` to an InstaMed that never answers within the test, its
/// caller then gone: the intent stays as a lost answer leaves it, sent, by a live writer. The
/// simulator comes back with it: the refund is still out to it.
pub(crate) async fn refund_left_in_flight(ledger: &Arc<Ledger>) -> (Simulator, Entry) {
    let simulator = crate::slow_simulator(AN_HOUR).await;
    let request = RefundRequest::new(outlet(), payment(&simulator), amount("4.00")).unwrap();
    let sending = {
        let (ledger, client) = (ledger.clone(), client(&simulator, Protocol::Soap11));
        tokio::spawn(async move { ledger.refund(&client, &request, None).await })
    };
    let entry = loop {
        if let Some(entry) = ledger.open_entries().unwrap().pop() {
            break entry;
        }
        tokio::task::yield_now().await;
    };
    sending.abort();
    (simulator, entry)
}

on_both! {
/// A refund in flight (on SQLite, its process still runs; on PostgreSQL, its claim's lease
/// still holds) is not settled by hand: its answer may be on the way, and what a person finds
/// now could be wrong by the time they act.
async fn a_refund_in_flight_is_not_settled_by_hand_on_either_engine(store: &Store) {
    let ledger = Arc::new(store.open());
    let (_simulator, entry) = refund_left_in_flight(&ledger).await;
    let found = [
        ledger.settle(entry.id, &Settlement::NothingHappened, "j.doe", "not on the portal"),
        ledger.settle_refund(entry.id, None, "j.doe", "not on the portal"),
    ];
    for answer in found {
        assert!(
            matches!(answer, Err(LedgerError::InFlight { entry: id, .. }) if id == entry.id),
            "{answer:?}"
        );
    }
    let still = ledger.entry(entry.id).unwrap().expect("the entry");
    assert_eq!(still.verdict, None);
    assert_eq!(still.settled_by, None);
    assert!(
        ledger.waiting(None, AN_HOUR).unwrap().is_empty(),
        "a refund in flight waits for its answer, not for a person"
    );
}
}

/// In a container a service is process 1 at every start, so a refund its killed predecessor
/// left in flight carries the new process's own ID: it still reaches a person, who can settle
/// it, instead of looking in flight for as long as the new process runs.
#[tokio::test]
async fn a_refund_left_in_flight_by_a_predecessor_with_this_process_id_waits_for_a_person() {
    let store = crate::Store::sqlite();
    let ledger = Arc::new(store.open());
    let (_simulator, entry) = refund_left_in_flight(&ledger).await;
    assert_eq!(entry.pid, std::process::id());
    assert!(
        !entry.process_ended(),
        "this process's own refund is in flight"
    );
    drop(ledger);
    // The same entry as a predecessor with this process's ID left it: written an hour before
    // this process began.
    let file = rusqlite::Connection::open(store.location()).unwrap();
    file.execute(
        "UPDATE intents SET started_ms = started_ms - 3600000 WHERE id = ?1",
        [entry.id],
    )
    .unwrap();
    drop(file);
    let ledger = store.open();
    let left = ledger.entry(entry.id).unwrap().expect("the entry");
    assert!(
        left.process_ended(),
        "a predecessor's entry is not this process's"
    );
    let waiting = ledger.waiting(None, AN_HOUR).unwrap();
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0].attention, Attention::RefundUnknown);
    ledger
        .settle_refund(entry.id, None, "j.doe", "not on the portal")
        .unwrap();
    let settled = ledger.entry(entry.id).unwrap().expect("the entry");
    assert_eq!(settled.settled_by.as_deref(), Some("j.doe"));
}
