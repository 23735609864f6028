//! `Recorder`: a client's own exchanges written as cassettes, redacted as `record` redacts.

use bytes::Bytes;
use instamed_soap::{Client, Credentials, Outlet, Protocol, UserName, VoidRequest};
use instamed_soap_contract::{Recorder, verify_dir};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};

const CARD: &str = "4111111111111111";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clients_own_exchanges_become_redacted_cassettes_that_verify() {
    let simulator = Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let recorder = Recorder::start(dir.path(), false).expect("recorder");
    let credentials = Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD);
    let mut builder = Client::builder(simulator.endpoint())
        .credentials(credentials.clone())
        .protocol(Protocol::Nvp)
        .wire_observer(recorder.clone());
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let client = builder.build().expect("client");
    let outlet = Outlet::new("123123123", "123", "456").expect("outlet");
    let payment = simulator
        .ledger()
        .create_payment(&outlet, "10.00")
        .expect("payment");

    // A void over NVP, then a sale posted as it is, a card number in its form.
    client
        .void(&VoidRequest::new(outlet, payment.clone()))
        .await
        .expect("voided");
    let mut sale = http::Request::new(Bytes::from(format!(
        "transactionType=CreditCard&transactionAction=Sale&MerchantID=123123123&StoreID=123\
         &TerminalID=456&amount=4.00&cardNumber={CARD}"
    )));
    *sale.method_mut() = http::Method::POST;
    *sale.uri_mut() = simulator.nvp_endpoint().parse().expect("uri");
    let headers = sale.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(
        http::header::AUTHORIZATION,
        credentials
            .authorization(UserName::AccountId)
            .expect("basic"),
    );
    let answer = client.execute(sale).await.expect("an answer");
    assert_eq!(answer.status(), 200);
    recorder.flush();

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "001-nvp-void-voided.cassette",
            "002-nvp-sale-exchange.cassette"
        ]
    );
    for name in &names {
        let text = std::fs::read_to_string(dir.path().join(name)).expect("cassette");
        assert!(text.contains("authorization: "), "{text}");
        for secret in [CARD, DEMO_PASSWORD] {
            assert!(!text.contains(secret), "{secret} in {name}:\n{text}");
        }
    }
    let verified = verify_dir(dir.path()).expect("verify");
    let void = verified
        .iter()
        .find(|v| v.file.to_string_lossy().contains("-void-"))
        .expect("the void's cassette");
    assert!(
        void.problems.is_empty() && void.error.is_none() && void.skipped.is_none(),
        "{void:?}"
    );
    simulator.shutdown().await;
}
