//! Cassette bodies laid out for review still match, replay and verify as recorded.

use std::path::Path;

use instamed_soap::{Client, Credentials, Outlet, Protocol, TransactionId, VoidRequest};
use instamed_soap_contract::{self as contract, Cassette, ContractServer, ServeOptions, Upstream};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};

const CAPTURED: &str = "C0FFEE00000000000000000000000001";

fn void_of(id: &str) -> VoidRequest {
    let outlet = Outlet::new("123123123", "123", "123").unwrap();
    VoidRequest::new(outlet, TransactionId::new(id).unwrap())
}

fn client(endpoint: String, ca: Option<&Path>) -> Client {
    let mut builder = Client::builder(endpoint)
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .protocol(Protocol::Soap11);
    if let Some(ca) = ca {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_cassette_body_is_pretty_printed_and_still_verifies() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let outlet = Outlet::new("123123123", "123", "123").unwrap();
    simulator
        .ledger()
        .insert(&TransactionId::new(CAPTURED).unwrap(), &outlet, "25.00")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::new(simulator.endpoint()).with_ca_cert(simulator.ca_path().unwrap());
    let mut options = ServeOptions::default();
    options.pretty = true;
    let proxy = ContractServer::record(upstream, dir.path(), options)
        .await
        .unwrap();
    client(proxy.endpoint(), proxy.ca_path())
        .void(&void_of(CAPTURED))
        .await
        .unwrap();
    proxy.shutdown().await;

    let files = contract::verify::cassette_files(dir.path()).unwrap();
    let [file] = files.as_slice() else {
        panic!("one cassette: {files:?}");
    };
    let cassette = Cassette::load(file).unwrap();
    for body in [cassette.request.body_text(), cassette.response.body_text()] {
        assert!(
            body.contains("\n  <soap:Body>\n    <DoCreditCardSecondaryVoid"),
            "{body}"
        );
        assert!(
            body.contains(&format!(
                "<PrimaryTransactionID>{CAPTURED}</PrimaryTransactionID>"
            )) || body.contains("Response"),
            "{body}"
        );
        assert!(!body.contains(DEMO_PASSWORD), "{body}");
    }
    let verdicts = contract::verify_dir(dir.path()).unwrap();
    assert!(verdicts.iter().all(|v| v.passed()), "{verdicts:#?}");

    // Replayed, the laid-out cassette answers the same void.
    let replay = ContractServer::replay(dir.path(), ServeOptions::default())
        .await
        .unwrap();
    client(replay.endpoint(), replay.ca_path())
        .void(&void_of(CAPTURED))
        .await
        .unwrap();
    let [answered] = replay
        .requests()
        .try_into()
        .unwrap_or_else(|r| panic!("{r:?}"));
    assert!(answered.matched);
    replay.shutdown().await;

    // The committed corpus, laid out, verifies as it is: the matcher compares by meaning.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/envelopes");
    let laid_out = tempfile::tempdir().unwrap();
    for file in contract::verify::cassette_files(&corpus).unwrap() {
        let pretty = Cassette::load(&file).unwrap().pretty_printed();
        let saved = laid_out.path().join(file.file_name().unwrap());
        pretty.save(&saved).unwrap();
        assert_eq!(
            Cassette::load(&saved).unwrap(),
            pretty,
            "{}",
            saved.display()
        );
    }
    let status = |dir: &Path| {
        contract::verify_dir(dir)
            .unwrap()
            .iter()
            .map(|v| (v.name(), v.passed(), v.skipped.is_some()))
            .collect::<Vec<_>>()
    };
    assert_eq!(status(laid_out.path()), status(&corpus));
}
