//! Single Sign-On voids through the ledger, against the simulator over TLS: the intent before
//! the token request, the page's verdict after the poll, a payment known voided answered from
//! the ledger, and a page left unknown asked again (by its token, or by the payment's record
//! when allowed) before another is launched.

use instamed_soap_test_support::outlet;
use instamed_soap_test_support::simulated::{sso_click, sso_client};

use crate::payment;

use std::time::Duration;

use instamed_soap::sso::SsoClient;
use instamed_soap::sso::{SsoOutcome, SsoVoid};
use instamed_soap::{Error, Protocol, TransactionId};
use instamed_soap_ledger::{Action, Guarded, Ledger, SsoLaunched, Verdict};
use instamed_soap_simulator::{DEMO_SSO_KEY, PaymentStatus, Simulator, SimulatorConfig};

fn launched(guarded: Guarded<SsoLaunched>) -> SsoLaunched {
    match guarded {
        Guarded::Sent(Ok(launched)) => launched,
        other => panic!("not launched: {other:?}"),
    }
}

/// What most tests here start from: the simulator, a SQLite ledger of the test's own, an SSO
/// client over `protocol` signing its logins with `key`, and a payment to void.
struct Scene {
    simulator: Simulator,
    store: crate::Store,
    ledger: Ledger,
    sso: SsoClient,
    id: TransactionId,
}

async fn scene(protocol: Protocol, key: &str) -> Scene {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let store = crate::Store::sqlite();
    let ledger = store.open();
    let sso = sso_client(&simulator, protocol, key);
    let id = payment(&simulator);
    Scene {
        simulator,
        store,
        ledger,
        sso,
        id,
    }
}

#[tokio::test]
async fn an_sso_void_run_twice_launches_once_and_the_second_is_answered_from_the_ledger() {
    let Scene {
        simulator,
        store: _store,
        ledger,
        sso,
        id,
    } = scene(Protocol::Soap11, DEMO_SSO_KEY).await;
    let void = SsoVoid::new(id.clone());

    let first = launched(ledger.sso_launch(&sso, &void).await.unwrap());
    // The intent is on disk before the person has the URL, with the token beside it.
    let entry = ledger
        .standing(&id)
        .unwrap()
        .entries
        .pop()
        .expect("an intent");
    assert_eq!((entry.action, entry.verdict), (Action::Void, None));
    assert!(
        entry.detail.contains(first.launch.token()),
        "{}",
        entry.detail
    );
    assert_eq!(entry.outlet, None, "an SSO void names no outlet");

    sso_click(&simulator, first.launch.url(), "void").await;
    let outcome = ledger.sso_wait(&sso, &first, |_, _| {}).await;
    assert!(matches!(outcome, Ok(SsoOutcome::Voided(_))), "{outcome:?}");
    let entry = ledger.standing(&id).unwrap().entries.pop().unwrap();
    assert_eq!(entry.verdict, Some(Verdict::Voided));
    assert_eq!(entry.primary_transaction_status.as_deref(), Some("V"));

    let again = ledger.sso_launch(&sso, &void).await.unwrap();
    let Guarded::Known(known) = again else {
        panic!("launched again: {again:?}");
    };
    assert_eq!(known.id, first.entry);
    assert_eq!(
        ledger.standing(&id).unwrap().entries.len(),
        1,
        "no second intent"
    );
}

#[tokio::test]
async fn a_cancelled_page_is_recorded_nothing_done_and_a_later_page_may_be_launched() {
    let Scene {
        simulator,
        store: _store,
        ledger,
        sso,
        id,
    } = scene(Protocol::Soap12, DEMO_SSO_KEY).await;
    let void = SsoVoid::new(id.clone());
    let first = launched(ledger.sso_launch(&sso, &void).await.unwrap());
    sso_click(&simulator, first.launch.url(), "cancel").await;
    let outcome = ledger.sso_wait(&sso, &first, |_, _| {}).await;
    assert!(
        matches!(outcome, Ok(SsoOutcome::NothingDone(_))),
        "{outcome:?}"
    );
    let standing = ledger.standing(&id).unwrap();
    assert_eq!(standing.entries[0].verdict, Some(Verdict::NothingDone));
    assert!(standing.unsettled_void().is_none());
    launched(ledger.sso_launch(&sso, &void).await.unwrap());
}

#[tokio::test]
async fn an_sso_void_left_unknown_is_asked_again_by_its_token_before_another_page() {
    let Scene {
        simulator,
        store: _store,
        ledger,
        sso,
        id,
    } = scene(Protocol::Soap11, DEMO_SSO_KEY).await;
    let void = SsoVoid::new(id.clone());
    let first = launched(ledger.sso_launch(&sso, &void).await.unwrap());
    // The wait ends while the person is still on the page: the outcome is unknown.
    let outcome = ledger
        .sso_wait(&sso.clone().max_wait(Duration::ZERO), &first, |_, _| {})
        .await;
    assert!(matches!(outcome, Err(Error::Timeout { .. })), "{outcome:?}");
    let entry = ledger.standing(&id).unwrap().entries.pop().unwrap();
    assert_eq!(entry.verdict, Some(Verdict::Unknown));

    // Still on the page: nothing new is launched while it may yet be voided on.
    let held = ledger.sso_launch(&sso, &void).await.unwrap();
    assert!(matches!(held, Guarded::VoidUnsettled(_)), "{held:?}");

    // The person voids; the next command asks the token and answers from what it proves.
    sso_click(&simulator, first.launch.url(), "void").await;
    let again = ledger.sso_launch(&sso, &void).await.unwrap();
    let Guarded::Known(known) = again else {
        panic!("launched again: {again:?}");
    };
    assert_eq!(
        (known.id, known.verdict),
        (first.entry, Some(Verdict::Voided))
    );
    assert_eq!(ledger.standing(&id).unwrap().entries.len(), 1);
    assert_eq!(simulator.ledger().status(&id), Some(PaymentStatus::Voided));
}

#[tokio::test]
async fn a_refused_launch_is_recorded_failed_and_never_holds_the_payment() {
    let key = "a-wrong-key-Zq81Lk";
    let Scene {
        simulator: _simulator,
        store,
        ledger,
        sso,
        id,
    } = scene(Protocol::Soap11, key).await;
    let refused = ledger
        .sso_launch(&sso, &SsoVoid::new(id.clone()))
        .await
        .unwrap();
    assert!(
        matches!(
            refused,
            Guarded::Sent(Err(Error::AuthenticationRefused { .. }))
        ),
        "{refused:?}"
    );
    let entry = ledger.standing(&id).unwrap().entries.pop().unwrap();
    assert_eq!(entry.verdict, Some(Verdict::Failed));
    assert!(!format!("{entry:?}").contains(key), "{entry:?}");
    let folder = std::path::PathBuf::from(store.location());
    for file in std::fs::read_dir(folder.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(key));
    }
}

/// A plain void whose answer said nothing (a server fault after it may have gone through)
/// holds every page until it is settled; with the look-up by transaction ID allowed, the
/// payment's record settles it: voided is answered from the ledger, captured lets a page be
/// launched (the lost void did not go through).
#[tokio::test]
async fn a_void_of_unknown_outcome_is_settled_by_the_payments_record_only_when_the_lookup_is_allowed()
 {
    use instamed_soap_test_support::{Reply, Server, Version, aspnet_fault};
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let lost = Server::start(|_| {
        Reply::xml(
            500,
            Version::Soap11,
            aspnet_fault(
                Version::Soap11,
                "Server",
                "Server was unable to process request. ---> Timeout expired.",
                "",
            ),
        )
    })
    .await;
    let client = instamed_soap_test_support::builder(&lost.url)
        .ca_certificate_file(&lost.ca_path)
        .build()
        .unwrap();
    let store = crate::Store::sqlite();
    let ledger = store.open();
    let off = sso_client(&simulator, Protocol::Soap11, DEMO_SSO_KEY);
    let allowed = off.clone().lookup_by_transaction_id(true);

    for voided_at_instamed in [true, false] {
        let id = payment(&simulator);
        let request = instamed_soap::VoidRequest::new(outlet(), id.clone());
        let unknown = ledger.void(&client, &request).await.unwrap();
        assert!(
            matches!(&unknown, Guarded::Sent(Err(error)) if error.outcome_unknown()),
            "{unknown:?}"
        );
        if voided_at_instamed {
            simulator
                .ledger()
                .void(&id, std::time::SystemTime::now())
                .unwrap();
        }
        let void = SsoVoid::new(id.clone());
        let held = ledger.sso_launch(&off, &void).await.unwrap();
        assert!(matches!(held, Guarded::VoidUnsettled(_)), "{held:?}");

        let settled = ledger.sso_launch(&allowed, &void).await.unwrap();
        let standing = ledger.standing(&id).unwrap();
        if voided_at_instamed {
            let Guarded::Known(entry) = settled else {
                panic!("{settled:?}");
            };
            assert_eq!(entry.verdict, Some(Verdict::Voided));
            assert_eq!(standing.entries.len(), 1, "no page launched");
        } else {
            assert!(matches!(settled, Guarded::Sent(Ok(_))), "{settled:?}");
            assert_eq!(standing.entries[0].verdict, Some(Verdict::Failed));
            assert_eq!(standing.entries.len(), 2, "a page launched after it");
        }
    }
}

/// The finding: an SSO void's entry keeps its token (so that a later command can ask what the
/// page did), and `Entry::evidence`, what the operator pages show, repeated it: a live token
/// opens InstaMed's void page for whoever reads it, so it is a secret like the key.
#[tokio::test]
async fn an_sso_voids_evidence_never_shows_its_token() {
    let Scene {
        simulator,
        store: _store,
        ledger,
        sso,
        id,
    } = scene(Protocol::Soap11, DEMO_SSO_KEY).await;
    let first = launched(
        ledger
            .sso_launch(&sso, &SsoVoid::new(id.clone()))
            .await
            .unwrap(),
    );
    let token = first.launch.token().to_owned();
    let in_flight = ledger.standing(&id).unwrap().entries.pop().unwrap();
    assert!(
        !in_flight.evidence().contains(&token),
        "{}",
        in_flight.evidence()
    );

    sso_click(&simulator, first.launch.url(), "cancel").await;
    ledger.sso_wait(&sso, &first, |_, _| {}).await.unwrap();
    let ended = ledger.standing(&id).unwrap().entries.pop().unwrap();
    assert_eq!(ended.verdict, Some(Verdict::NothingDone));
    let evidence = ended.evidence();
    assert!(!evidence.contains(&token), "{evidence}");
    assert!(evidence.contains("nothing done"), "{evidence}");
}
