//! Which CAs a client trusts: the simulator's CA given as PEM bytes, added to Mozilla's roots or
//! replacing them; Mozilla's alone cannot vouch for a private CA, and that failure is a TLS
//! error before anything is sent.

use instamed_soap_test_support as support;

use std::time::Duration;

use instamed_soap::{Client, ClientBuilder, Credentials, Error, TrustRoots, VoidRequest};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};
use support::outlet;

fn builder(simulator: &Simulator) -> ClientBuilder {
    Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .no_proxy()
        .timeout(Duration::from_secs(10))
}

fn ca_pem(simulator: &Simulator) -> Vec<u8> {
    std::fs::read(simulator.ca_path().expect("a TLS simulator")).expect("the CA file")
}

fn void_of(simulator: &Simulator) -> VoidRequest {
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .expect("a payment");
    VoidRequest::new(outlet(), payment)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_ca_as_pem_bytes_is_trusted_added_or_alone() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    for roots in [TrustRoots::Mozilla, TrustRoots::None] {
        let client = builder(&simulator)
            .trust_roots(roots)
            .add_root_certificate_pem(ca_pem(&simulator))
            .build()
            .unwrap();
        let receipt = client.void(&void_of(&simulator)).await.expect("voided");
        assert_eq!(receipt.primary_transaction_status, "V", "{roots}");
    }
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mozilla_roots_alone_do_not_trust_a_private_ca_and_nothing_is_sent() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let request = void_of(&simulator);
    let client = builder(&simulator)
        .trust_roots(TrustRoots::Mozilla)
        .build()
        .unwrap();
    let error = client.void(&request).await.unwrap_err();
    assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    assert!(error.never_sent() && !error.outcome_unknown(), "{error:?}");
    let report = error.report().to_string();
    assert!(report.contains("UnknownIssuer"), "{report}");

    // Nothing reached the ledger: the payment is still there to void.
    let trusting = builder(&simulator)
        .add_root_certificate_pem(ca_pem(&simulator))
        .build()
        .unwrap();
    trusting.void(&request).await.expect("voided once trusted");
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ca_certificate_file_still_means_that_file_alone() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let client = builder(&simulator)
        .ca_certificate_file(simulator.ca_path().unwrap())
        .build()
        .unwrap();
    client.void(&void_of(&simulator)).await.expect("voided");
    simulator.shutdown().await;
}

#[test]
fn a_pem_without_a_certificate_or_no_root_at_all_is_a_configuration_error() {
    let base = || {
        Client::builder("https://localhost:1/payment/service.asmx")
            .credentials(Credentials::new("a", "b"))
    };
    let error = base()
        .add_root_certificate_pem(b"a certificate was meant to be here".to_vec())
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::InvalidConfig { .. }), "{error:?}");
    assert!(error.to_string().contains("no CA certificate"), "{error}");
    let error = base().trust_roots(TrustRoots::None).build().unwrap_err();
    assert!(error.to_string().contains("no root certificate"), "{error}");
}
