//! Contract testing end to end: the client records through the proxy against the simulator,
//! no secret reaches a cassette, the recordings verify and replay, and the committed corpus in
//! `tests/envelopes/` is exactly what recording produces today.
//!
//! `UPDATE_ENVELOPES=1 cargo test --test contract` rewrites the recorded part of the corpus
//! after an intended change; review the diff like any other contract change.

#![cfg(feature = "contract")]

use std::path::{Path, PathBuf};

use instamed_soap::contract::{self, ContractServer, ServeOptions, Upstream};
use instamed_soap::simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, RefusalStyle, Simulator, SimulatorConfig,
    SuccessMessage,
};
use instamed_soap::{Client, Credentials, Error, Outlet, Protocol, TransactionId, VoidRequest};

const CAPTURED: &str = "C0FFEE00000000000000000000000001";
const TRANSFERRED: &str = "C0FFEE00000000000000000000000002";
const UNKNOWN: &str = "C0FFEE0000000000000000000000DEAD";
const CARD: &str = "4111111111111111";

fn outlet() -> Outlet {
    Outlet::new("123123123", "123", "123").unwrap()
}

fn void_of(id: &str) -> VoidRequest {
    VoidRequest::new(outlet(), TransactionId::new(id).unwrap())
}

/// A new private directory, removed when the test ends.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("instamed-soap-{name}-"))
        .tempdir()
        .unwrap()
}

fn client(server: &ContractServer, protocol: Protocol, password: &str) -> Client {
    Client::builder(server.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, password))
        .ca_certificate_file(server.ca_path().unwrap())
        .protocol(protocol)
        .build()
        .unwrap()
}

/// What a sequence of voids came to: `voided` or the error's code, in order.
type Outcomes = Vec<String>;

fn outcome(result: Result<instamed_soap::VoidReceipt, Error>) -> String {
    match result {
        Ok(_) => "voided".to_owned(),
        Err(error) => error.code().to_owned(),
    }
}

/// The voids every session makes, in order.
async fn voids(server: &ContractServer, protocol: Protocol, with_bad_password: bool) -> Outcomes {
    let client = client(server, protocol, DEMO_PASSWORD);
    let mut outcomes = vec![
        outcome(client.void(&void_of(CAPTURED)).await),
        outcome(client.void(&void_of(CAPTURED)).await),
        outcome(client.void(&void_of(TRANSFERRED)).await),
        outcome(client.void(&void_of(UNKNOWN)).await),
    ];
    if with_bad_password {
        let intruder = self::client(server, protocol, "wrong-password");
        outcomes.push(outcome(intruder.void(&void_of(CAPTURED)).await));
    }
    outcomes
}

/// What a recording session does.
#[derive(Clone, Copy)]
enum Plan {
    /// The usual voids, and one with a wrong password when `bad_password`.
    Voids { bad_password: bool },
    /// One void that meets an injected server fault.
    InjectedFault,
}

/// Records one session through the proxy into `dir`: a simulator configured as `config`,
/// voids over `protocol`.
async fn session(dir: &Path, config: SimulatorConfig, protocol: Protocol, plan: Plan) -> Outcomes {
    let simulator = Simulator::start(config).await.unwrap();
    simulator
        .ledger()
        .insert(&TransactionId::new(CAPTURED).unwrap(), &outlet(), "25.00")
        .unwrap();
    let transferred = TransactionId::new(TRANSFERRED).unwrap();
    simulator
        .ledger()
        .insert(&transferred, &outlet(), "40.00")
        .unwrap();
    simulator.ledger().start_transfer(&transferred).unwrap();

    let upstream = Upstream::new(simulator.endpoint()).with_ca_cert(simulator.ca_path().unwrap());
    let proxy = ContractServer::record(upstream, dir, ServeOptions::default())
        .await
        .unwrap();
    let outcomes = match plan {
        Plan::Voids { bad_password } => voids(&proxy, protocol, bad_password).await,
        Plan::InjectedFault => {
            let client = client(&proxy, protocol, DEMO_PASSWORD);
            vec![outcome(client.void(&void_of(CAPTURED)).await)]
        }
    };
    proxy.shutdown().await;
    simulator.shutdown().await;
    outcomes
}

/// Records the whole corpus into `dir`; returns every session's outcomes.
async fn record_corpus(dir: &Path) -> Vec<(Protocol, Outcomes)> {
    let mut all = Vec::new();
    for protocol in [Protocol::Soap11, Protocol::Soap12, Protocol::Nvp] {
        let declines = SimulatorConfig::default()
            .with_refusal_style(RefusalStyle::Decline)
            .with_success_message(SuccessMessage::Approved);
        all.push((
            protocol,
            session(dir, declines, protocol, Plan::Voids { bad_password: true }).await,
        ));
        let faults = SimulatorConfig::default()
            .with_refusal_style(RefusalStyle::Fault)
            .with_success_message(SuccessMessage::Voided);
        all.push((
            protocol,
            session(
                dir,
                faults,
                protocol,
                Plan::Voids {
                    bad_password: false,
                },
            )
            .await,
        ));
        let faulty =
            SimulatorConfig::default().with_faults(FaultPlan::seeded(1).with_fault_rate(1.0));
        all.push((
            protocol,
            session(dir, faulty, protocol, Plan::InjectedFault).await,
        ));
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn recording_maps_every_outcome_and_the_recordings_verify_and_replay() {
    let dir = temp_dir("recorded");
    let sessions = record_corpus(dir.path()).await;

    let expected_decline = [
        "voided",
        "already_voided",
        "not_voidable",
        "unknown_transaction",
        "authentication_refused",
    ];
    let expected_fault = [
        "voided",
        "already_voided",
        "not_voidable",
        "unknown_transaction",
    ];
    for (index, (protocol, outcomes)) in sessions.iter().enumerate() {
        let expected: &[&str] = match index % 3 {
            0 => &expected_decline,
            1 => &expected_fault,
            _ if *protocol == Protocol::Nvp => &["service_error"],
            _ => &["fault"],
        };
        assert_eq!(outcomes, expected, "session {index} over {protocol}");
    }

    let files = contract::verify::cassette_files(dir.path()).unwrap();
    assert_eq!(files.len(), 3 * (5 + 4 + 1), "{files:?}");
    let verdicts = contract::verify_dir(dir.path()).unwrap();
    for verdict in &verdicts {
        assert!(verdict.passed() && verdict.skipped.is_none(), "{verdict}");
    }

    // Replaying the recordings gives the same outcomes in the same order.
    let replay = ContractServer::replay(dir.path(), ServeOptions::default())
        .await
        .unwrap();
    for (protocol, recorded) in sessions.iter().filter(|(_, o)| o.len() > 1) {
        let replayed = voids(&replay, *protocol, recorded.len() == 5).await;
        assert_eq!(&replayed, recorded, "replay over {protocol}");
    }
    replay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_a_cassette() {
    let dir = temp_dir("secrets");
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let upstream = Upstream::new(simulator.endpoint()).with_ca_cert(simulator.ca_path().unwrap());
    let proxy = ContractServer::record(upstream, dir.path(), ServeOptions::default())
        .await
        .unwrap();

    // A card payment through the generated binding, then its void, over each protocol.
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let client = client(&proxy, protocol, DEMO_PASSWORD);
        let mut transaction =
            instamed_soap::bindings::types::CreditCardAuthAndCaptRequestData::default();
        transaction.merchant_id = Some("123123123".into());
        transaction.store_id = Some("123".into());
        transaction.terminal_id = Some("123".into());
        transaction.amount = Some("10.00".into());
        transaction.card_number = Some(CARD.into());
        transaction.card_verification_number = Some("737".into());
        let mut sale = instamed_soap::bindings::types::DoCreditCardAuthAndCapt::default();
        sale.transaction = Some(transaction);
        let result = client
            .call::<instamed_soap::bindings::operations::DoCreditCardAuthAndCapt>(&sale)
            .await
            .unwrap();
        let id = result
            .do_credit_card_auth_and_capt_result
            .unwrap()
            .transaction_id
            .unwrap();
        client.void(&void_of(&id)).await.unwrap();
    }
    let id = simulator
        .ledger()
        .create_payment(&outlet(), "5.00")
        .unwrap();
    client(&proxy, Protocol::Nvp, DEMO_PASSWORD)
        .void(&void_of(id.as_str()))
        .await
        .unwrap();
    proxy.shutdown().await;
    simulator.shutdown().await;

    let token = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"))
    };
    let files = contract::verify::cassette_files(dir.path()).unwrap();
    assert_eq!(files.len(), 5);
    let mut sales = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // The CVN is looked for as element text: "737" alone could be part of a random hex ID.
        for secret in [CARD, ">737<", DEMO_PASSWORD, token.as_str()] {
            assert!(
                !text.contains(secret),
                "{} holds {secret:?}:\n{text}",
                file.display()
            );
        }
        assert!(text.contains("authorization: [redacted]\n"), "{text}");
        if text.contains("DoCreditCardAuthAndCapt>") {
            sales += 1;
            assert!(
                text.contains("<CardVerificationNumber>[redacted]</CardVerificationNumber>"),
                "{text}"
            );
            assert!(
                text.contains("<CardNumber>[redacted]</CardNumber>"),
                "{text}"
            );
        }
    }
    assert_eq!(sales, 2);
    // The card sale is kept for replay but is not a void to verify.
    let verdicts = contract::verify_dir(dir.path()).unwrap();
    assert_eq!(verdicts.iter().filter(|v| v.skipped.is_some()).count(), 2);
    assert!(verdicts.iter().all(|v| v.passed()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmatched_request_names_the_closest_cassette_and_the_first_difference() {
    let replay = ContractServer::replay(Path::new("tests/envelopes"), ServeOptions::default())
        .await
        .unwrap();
    let other = "C0FFEE00000000000000000000000099";
    // SOAP 1.1: the corpus's hand-written SOAP 1.2 fault matches any SOAP 1.2 void on purpose.
    let error = client(&replay, Protocol::Soap11, DEMO_PASSWORD)
        .void(&void_of(other))
        .await
        .unwrap_err();
    let Error::Fault(fault) = &error else {
        panic!("{error:?}")
    };
    let reason = fault.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("Closest: ") && reason.contains(".cassette"),
        "{reason}"
    );
    assert!(
        reason.contains("/transaction/PrimaryTransactionID: expected \""),
        "{reason}"
    );
    assert!(reason.contains(&format!("got \"{other}\"")), "{reason}");

    let error = client(&replay, Protocol::Nvp, DEMO_PASSWORD)
        .void(&void_of(other))
        .await
        .unwrap_err();
    let Error::NvpError(answer) = &error else {
        panic!("{error:?}")
    };
    assert!(answer.message.contains("?primarytransactionid"), "{answer}");
    replay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_committed_corpus_is_what_recording_produces_today() {
    let dir = temp_dir("corpus");
    record_corpus(dir.path()).await;
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/envelopes");
    let recorded = contract::verify::cassette_files(dir.path()).unwrap();
    if std::env::var_os("UPDATE_ENVELOPES").is_some() {
        for old in contract::verify::cassette_files(&committed).unwrap_or_default() {
            if !is_hand_written(&old) {
                std::fs::remove_file(old).unwrap();
            }
        }
        for file in &recorded {
            std::fs::copy(file, committed.join(file.file_name().unwrap())).unwrap();
        }
    }
    let committed_recorded: Vec<PathBuf> = contract::verify::cassette_files(&committed)
        .unwrap()
        .into_iter()
        .filter(|f| !is_hand_written(f))
        .collect();
    let names = |files: &[PathBuf]| {
        files
            .iter()
            .map(|f| f.file_name().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&committed_recorded),
        names(&recorded),
        "run with UPDATE_ENVELOPES=1"
    );
    for (old, new) in committed_recorded.iter().zip(&recorded) {
        let (old_text, new_text) = (
            std::fs::read_to_string(old).unwrap(),
            std::fs::read_to_string(new).unwrap(),
        );
        assert_eq!(
            old_text,
            new_text,
            "{} changed (run with UPDATE_ENVELOPES=1 and review)",
            old.display()
        );
    }
}

fn is_hand_written(file: &Path) -> bool {
    file.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("aspnet-"))
}
