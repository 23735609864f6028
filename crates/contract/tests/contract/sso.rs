//! Single Sign-On through the contract tools: the token request (a form post answered with a
//! `RelayState` header) and the `SSOService.asmx` exchanges recorded by `Recorder` with the
//! security key redacted, then replayed to a client that learns the same verdict.

use std::path::Path;
use std::time::Duration;

use instamed_soap::sso::{SsoAccount, SsoClient, SsoOutcome, SsoVoid};
use instamed_soap::{Client, Protocol};
use instamed_soap_contract::{Cassette, ContractServer, Recorder, ServeOptions, verify_dir};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, DEMO_SSO_KEY, Simulator, SimulatorConfig,
};
use instamed_soap_test_support::encodings::encodings;
use instamed_soap_test_support::outlet;
use instamed_soap_test_support::simulated::sso_click;

/// An SSO client of the service at `origin` (`SSOService.asmx` and the login beside it).
fn sso_at(
    origin: &str,
    ca: Option<&Path>,
    protocol: Protocol,
    recorder: Option<Recorder>,
) -> SsoClient {
    let mut builder = Client::builder(format!(
        "{origin}/providers/Forms/WebServices/SSOService.asmx"
    ))
    .protocol(protocol)
    .timeout(Duration::from_secs(5));
    if let Some(ca) = ca {
        builder = builder.ca_certificate_file(ca);
    }
    if let Some(recorder) = recorder {
        builder = builder.wire_observer(recorder);
    }
    SsoClient::new(
        builder,
        format!("{origin}/providers/Form/SSO/SSOLogin"),
        SsoAccount::new(DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, DEMO_SSO_KEY),
    )
    .expect("an SSO client")
    .poll_interval(Duration::from_millis(1))
}

fn origin_of(url: &str) -> String {
    let uri: http::Uri = url.parse().expect("a URL");
    format!(
        "{}://{}",
        uri.scheme_str().expect("a scheme"),
        uri.authority().expect("a host")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sso_void_is_recorded_without_its_key_and_replays_to_the_same_verdict() {
    let simulator = Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator");
    let dir = tempfile::tempdir().expect("temp dir");
    let recorder = Recorder::start(dir.path(), false).expect("recorder");
    let origin = origin_of(&simulator.sso_service_endpoint());
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let sso = sso_at(
            &origin,
            simulator.ca_path(),
            protocol,
            Some(recorder.clone()),
        );
        let payment = simulator
            .ledger()
            .create_payment(&outlet(), "10.00")
            .expect("payment");
        let launch = sso
            .launch(&SsoVoid::new(payment.clone()))
            .await
            .expect("launched");
        sso_click(&simulator, launch.url(), "void").await;
        let outcome = sso.wait(&launch, |_, _| {}).await.expect("an outcome");
        assert!(matches!(outcome, SsoOutcome::Voided(_)), "{outcome:?}");
    }
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
            "001-nvp-ssologin-launched.cassette",
            "002-soap11-getssotokenstatus-token-complete.cassette",
            "003-soap11-gettransactiondetails-transaction-status-v.cassette",
            "004-nvp-ssologin-launched.cassette",
            "005-soap12-getssotokenstatus-token-complete.cassette",
            "006-soap12-gettransactiondetails-transaction-status-v.cassette",
        ]
    );
    for name in &names {
        let text = std::fs::read_to_string(dir.path().join(name)).expect("cassette");
        for (encoding, form) in encodings(DEMO_SSO_KEY) {
            assert!(
                !text.contains(&form),
                "the key ({encoding}) in {name}:\n{text}"
            );
        }
        let cassette = Cassette::load(&dir.path().join(name)).expect("a cassette");
        if name.contains("ssologin") {
            let form = cassette.request.body_text();
            assert!(form.contains("securityKey=[redacted]"), "{form}");
            assert!(form.contains("requestToken=true"), "{form}");
            // The page's URL is kept, its token (a bearer of the person's session) redacted.
            let relay = cassette
                .response
                .header("relaystate")
                .expect("RelayState kept");
            assert!(relay.contains("respCode=000"), "{relay}");
            assert!(relay.contains("token=[redacted]"), "{relay}");
        } else {
            let body = cassette.request.body_text();
            assert!(body.contains("<password>[redacted]</password>"), "{body}");
            assert!(body.contains("<tokenID>[redacted]</tokenID>"), "{body}");
            assert!(body.contains(DEMO_SSO_ALIAS), "{body}");
        }
        if name.contains("getssotokenstatus") {
            let answer = cassette.response.body_text();
            assert!(answer.contains(">complete<"), "{answer}");
        }
    }

    // Verified: each request rebuilt by the client's own code matches the recorded one, and
    // each answer reads as it did.
    let verified = verify_dir(dir.path()).expect("verify");
    assert_eq!(verified.len(), 6);
    for verification in &verified {
        assert!(
            verification.passed() && verification.skipped.is_none(),
            "{verification}"
        );
    }
    let expected: Vec<Option<String>> = names
        .iter()
        .map(|name| {
            Cassette::load(&dir.path().join(name))
                .expect("cassette")
                .expect
        })
        .collect();
    let expect = |outcome: &str| Some(outcome.to_owned());
    assert_eq!(
        expected[..3],
        [
            expect("launched"),
            expect("token_complete"),
            expect("transaction_status_v")
        ]
    );
    // A recorded answer that says something else no longer verifies.
    let status = dir.path().join(&names[1]);
    let tampered = std::fs::read_to_string(&status)
        .expect("cassette")
        .replace(">complete<", ">EXPIRED<");
    let other = tempfile::tempdir().expect("temp dir");
    std::fs::write(other.path().join(&names[1]), tampered).expect("write");
    let failed = verify_dir(other.path()).expect("verify");
    assert!(
        failed[0]
            .to_string()
            .contains("decodes to token_expired, expected token_complete"),
        "{}",
        failed[0]
    );

    // Replayed: the same launch, the same polls, the same verdict, with no simulator behind.
    simulator.shutdown().await;
    let replay = ContractServer::replay(dir.path(), ServeOptions::default())
        .await
        .expect("replay");
    let sso = sso_at(&replay.origin(), replay.ca_path(), Protocol::Soap11, None);
    let any = instamed_soap::TransactionId::new(
        std::fs::read_to_string(dir.path().join(&names[0]))
            .expect("cassette")
            .split("transactionID=")
            .nth(1)
            .and_then(|rest| rest.split(['&', '\n']).next())
            .expect("the payment in the login's form"),
    )
    .expect("a payment");
    let launch = sso
        .launch(&SsoVoid::new(any.clone()))
        .await
        .expect("replayed launch");
    let outcome = sso
        .wait(&launch, |_, _| {})
        .await
        .expect("replayed outcome");
    let SsoOutcome::Voided(receipt) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(receipt.payment, any);
    assert!(
        replay.requests().iter().all(|entry| entry.matched),
        "{:?}",
        replay.requests()
    );
}
