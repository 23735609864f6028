//! Contract testing end to end: the client records through the proxy against the simulator,
//! no secret reaches a cassette, the recordings verify and replay, and the committed corpus in
//! `tests/envelopes/` is exactly what recording produces today.
//!
//! `UPDATE_ENVELOPES=1 cargo test --test contract` rewrites the recorded part of the corpus
//! after an intended change; review the diff like any other contract change.

use std::path::{Path, PathBuf};

use instamed_soap::rest::Amount;
use instamed_soap::{
    ApiKey, Client, Credentials, Error, Outlet, Protocol, RefundRequest, TransactionId, VoidRequest,
};
use instamed_soap_contract::{self as contract, Cassette, ContractServer, ServeOptions, Upstream};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD, FaultPlan, RefusalStyle,
    Simulator, SimulatorConfig, SuccessMessage,
};

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

/// A client of `server` over `protocol`; a `password` other than the demo one signs with a
/// wrong password (SOAP, NVP) or a wrong API secret (REST).
fn client(server: &ContractServer, protocol: Protocol, password: &str) -> Client {
    let builder = if protocol == Protocol::Rest {
        let secret = if password == DEMO_PASSWORD {
            DEMO_API_SECRET
        } else {
            password
        };
        Client::builder(server.rest_base()).api_key(ApiKey::new(DEMO_API_KEY, secret))
    } else {
        Client::builder(server.endpoint()).credentials(Credentials::new(DEMO_ACCOUNT_ID, password))
    };
    builder
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
    /// A simple refund of 4.00 on the payment whose transfer began.
    Refund,
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
        Plan::Refund => {
            let client = client(&proxy, protocol, DEMO_PASSWORD);
            let refund = RefundRequest::new(
                outlet(),
                TransactionId::new(TRANSFERRED).unwrap(),
                Amount::from_cents(400),
            )
            .unwrap();
            let result = client.refund(&refund).await;
            vec![result.map_or_else(|e| e.code().to_owned(), |_| "refunded".to_owned())]
        }
    };
    proxy.shutdown().await;
    simulator.shutdown().await;
    outcomes
}

/// Records the whole corpus into `dir`; returns every session's outcomes. Each protocol gets
/// three sessions (refusals as declines, refusals as faults, an injected server fault); REST a
/// fourth, a simple refund.
async fn record_corpus(dir: &Path) -> Vec<(Protocol, Outcomes)> {
    let mut all = Vec::new();
    for protocol in [
        Protocol::Soap11,
        Protocol::Soap12,
        Protocol::Nvp,
        Protocol::Rest,
    ] {
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
    all.push((
        Protocol::Rest,
        session(
            dir,
            SimulatorConfig::default(),
            Protocol::Rest,
            Plan::Refund,
        )
        .await,
    ));
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
        let expected: &[&str] = match index {
            12 => &["refunded"],
            _ if index % 3 == 0 => &expected_decline,
            _ if index % 3 == 1 => &expected_fault,
            _ if *protocol == Protocol::Nvp => &["service_error"],
            _ if *protocol == Protocol::Rest => &["http_status"],
            _ => &["fault"],
        };
        assert_eq!(outcomes, expected, "session {index} over {protocol}");
    }

    let files = contract::verify::cassette_files(dir.path()).unwrap();
    assert_eq!(files.len(), 4 * (5 + 4 + 1) + 1, "{files:?}");
    let rest: Vec<Cassette> = files
        .iter()
        .map(|file| Cassette::load(file).unwrap())
        .filter(|cassette| cassette.protocol == Protocol::Rest)
        .collect();
    let operations: Vec<&str> = rest.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(
        operations,
        [["void"; 10].as_slice(), &["refund-simple"]].concat(),
        "{files:?}"
    );
    let refund = rest.last().unwrap();
    let inputs = refund.inputs.as_ref().unwrap();
    assert_eq!(
        (inputs.transaction_id.as_str(), inputs.amount.as_deref()),
        (TRANSFERRED, Some("4.00"))
    );
    assert_eq!(refund.expect.as_deref(), Some("refunded"));
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
    // Over REST the key pair travels in headers: a refund, then a void.
    let rest = client(&proxy, Protocol::Rest, DEMO_PASSWORD);
    let id = simulator
        .ledger()
        .create_payment(&outlet(), "9.00")
        .unwrap();
    let refund = RefundRequest::new(outlet(), id.clone(), Amount::from_cents(100)).unwrap();
    rest.refund(&refund).await.unwrap();
    let id = simulator
        .ledger()
        .create_payment(&outlet(), "9.00")
        .unwrap();
    rest.void(&void_of(id.as_str())).await.unwrap();
    proxy.shutdown().await;
    simulator.shutdown().await;

    let token = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"))
    };
    let files = contract::verify::cassette_files(dir.path()).unwrap();
    assert_eq!(files.len(), 7);
    let mut sales = 0;
    let mut rest = 0;
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        // The CVN is looked for as element text: "737" alone could be part of a random hex ID.
        for secret in [
            CARD,
            ">737<",
            DEMO_PASSWORD,
            token.as_str(),
            DEMO_API_KEY,
            DEMO_API_SECRET,
        ] {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{} holds {secret:?}:\n{text}",
                file.display()
            );
        }
        if text.contains("\nprotocol: rest\n") {
            rest += 1;
            assert!(text.contains("\napi-key: [redacted]\n"), "{text}");
            assert!(text.contains("\napi-secret: [redacted]\n"), "{text}");
            continue;
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
    assert_eq!((sales, rest), (2, 2));
    // The card sale is kept for replay but is not a void to verify.
    let verdicts = contract::verify_dir(dir.path()).unwrap();
    assert_eq!(verdicts.iter().filter(|v| v.skipped.is_some()).count(), 2);
    assert!(verdicts.iter().all(|v| v.passed()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmatched_request_names_the_closest_cassette_and_the_first_difference() {
    let replay = ContractServer::replay(
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/envelopes"
        )),
        ServeOptions::default(),
    )
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

    // REST: a 400 whose JSON message names the cassette and the JSON path.
    let error = client(&replay, Protocol::Rest, DEMO_PASSWORD)
        .void(&void_of(other))
        .await
        .unwrap_err();
    let Error::HttpStatus {
        status,
        body_excerpt,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*status, 400);
    assert!(
        body_excerpt.contains("Closest: ") && body_excerpt.contains("-rest-void-"),
        "{body_excerpt}"
    );
    assert!(
        body_excerpt.contains("at $.TransactionID: expected"),
        "{body_excerpt}"
    );
    replay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_committed_corpus_is_what_recording_produces_today() {
    let dir = temp_dir("corpus");
    record_corpus(dir.path()).await;
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/envelopes");
    let recorded = contract::verify::cassette_files(dir.path()).unwrap();
    if std::env::var_os("UPDATE_ENVELOPES").is_some() {
        for old in contract::verify::cassette_files(&committed).unwrap_or_default() {
            if !is_hand_written(&old) {
                std::fs::remove_file(old).unwrap();
            }
        }
        for file in &recorded {
            let text = stable(&std::fs::read_to_string(file).unwrap());
            std::fs::write(committed.join(file.file_name().unwrap()), text).unwrap();
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
            stable(&std::fs::read_to_string(new).unwrap()),
        );
        assert_eq!(
            old_text,
            new_text,
            "{} changed (run with UPDATE_ENVELOPES=1 and review)",
            old.display()
        );
    }
}

/// The refund's own ID in a recorded refund's answer, which the simulator draws at random.
const STABLE_REFUND_ID: &str = "C0FFEE000000000000000000000F00D1";

/// A recorded cassette's text with what changes from run to run made fixed: the new ID a
/// simple refund's answer carries. Nothing else in a cassette may vary.
fn stable(text: &str) -> String {
    const KEY: &str = r#""TransactionID":""#;
    if !text.contains("\noperation: refund-simple\n") {
        return text.to_owned();
    }
    let Some(response) = text.find("<<< response") else {
        return text.to_owned();
    };
    let Some(start) = text[response..]
        .find(KEY)
        .map(|at| response + at + KEY.len())
    else {
        return text.to_owned();
    };
    let end = start + text[start..].find('"').unwrap();
    format!("{}{STABLE_REFUND_ID}{}", &text[..start], &text[end..])
}

fn is_hand_written(file: &Path) -> bool {
    file.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("aspnet-"))
}

/// Issue 22: a SOAP refund was recorded as `…-exchange.cassette` and `contract verify` skipped
/// it; an NVP refund likewise. Both are now recorded with their inputs and amount, named after
/// their outcome, and verified as voids are: a refund made and a refund refused, over SOAP
/// 1.1, SOAP 1.2 and NVP; and a cassette whose amount no longer matches its request fails.
#[tokio::test(flavor = "multi_thread")]
async fn a_soap_or_nvp_refund_is_recorded_and_verified_as_a_refund() {
    for (protocol, operation) in [
        (Protocol::Soap11, "docreditcardsimplerefund"),
        (Protocol::Soap12, "docreditcardsimplerefund"),
        (Protocol::Nvp, "simplerefund"),
    ] {
        let dir = temp_dir("refunds");
        let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
        let payment = TransactionId::new(TRANSFERRED).unwrap();
        simulator
            .ledger()
            .insert(&payment, &outlet(), "40.00")
            .unwrap();
        let upstream =
            Upstream::new(simulator.endpoint()).with_ca_cert(simulator.ca_path().unwrap());
        let proxy = ContractServer::record(upstream, dir.path(), ServeOptions::default())
            .await
            .unwrap();
        let client = client(&proxy, protocol, DEMO_PASSWORD);
        let refund =
            |cents| RefundRequest::new(outlet(), payment.clone(), Amount::from_cents(cents));
        client.refund(&refund(400).unwrap()).await.unwrap();
        let refused = client.refund(&refund(9900).unwrap()).await.unwrap_err();
        assert_eq!(refused.code(), "over_refundable", "{protocol}");
        proxy.shutdown().await;
        simulator.shutdown().await;

        let files = contract::verify::cassette_files(dir.path()).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let protocol_name = protocol.as_str();
        assert_eq!(
            names,
            [
                format!("001-{protocol_name}-{operation}-refunded.cassette"),
                format!("002-{protocol_name}-{operation}-over-refundable.cassette"),
            ],
            "{protocol}"
        );
        let made = Cassette::load(&files[0]).unwrap();
        let inputs = made.inputs.as_ref().unwrap();
        assert_eq!(
            (inputs.transaction_id.as_str(), inputs.amount.as_deref()),
            (TRANSFERRED, Some("4.00"))
        );
        let verdicts = contract::verify_dir(dir.path()).unwrap();
        for verdict in &verdicts {
            assert!(
                verdict.passed() && verdict.skipped.is_none(),
                "{protocol}: {verdict}"
            );
        }

        // The amount is part of the contract: a head that says another one fails.
        let text = std::fs::read_to_string(&files[0]).unwrap();
        std::fs::write(
            &files[0],
            text.replace("\namount: 4.00\n", "\namount: 5.00\n"),
        )
        .unwrap();
        let verdict = contract::verify::verify_file(&files[0]);
        assert!(!verdict.passed(), "{protocol}: {verdict}");
    }
}
