//! Single Sign-On voids against the simulator over real TLS: the launch, the person on the page
//! (played here by a form post to the page, as a browser sends it), the polling and the
//! verdict, with the simulator's ledger agreeing.

use instamed_soap_test_support as support;

use std::sync::Arc;
use std::time::Duration;

use instamed_soap::sso::{
    NothingDone, SsoAccount, SsoClient, SsoLaunch, SsoOutcome, SsoVoid, TokenStatus,
};
use instamed_soap::{Client, Error, Protocol, TransactionId};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, DEMO_SSO_KEY, PaymentStatus, Simulator, SimulatorConfig,
};
use support::outlet;

async fn simulator(config: SimulatorConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts")
}

fn sso_as(simulator: &Simulator, protocol: Protocol, key: &str) -> SsoClient {
    support::simulated::sso_client(simulator, protocol, key)
}

fn sso(simulator: &Simulator, protocol: Protocol) -> SsoClient {
    sso_as(simulator, protocol, DEMO_SSO_KEY)
}

fn new_payment(simulator: &Simulator) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), "42.00")
        .expect("payment")
}

/// The person's click on the page the launch opened: `action` is `void` or `cancel`.
async fn click(simulator: &Simulator, launch: &SsoLaunch, action: &str) {
    support::simulated::sso_click(simulator, launch.url(), action).await;
}

fn void_of(payment: &TransactionId) -> SsoVoid {
    SsoVoid::new(payment.clone()).return_url("https://erp.example/sso/done")
}

#[tokio::test]
async fn s03_a_void_made_on_the_page_is_voided_in_both_soap_versions() {
    let simulator = simulator(SimulatorConfig::default()).await;
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let sso = sso(&simulator, protocol);
        let payment = new_payment(&simulator);
        let launch = sso.launch(&void_of(&payment)).await.expect("launched");
        assert!(
            launch.url().starts_with(&simulator.sso_void_page()),
            "{}",
            launch.url()
        );
        assert_eq!(
            sso.outcome(launch.token(), &payment).await.expect("status"),
            None,
            "NEW until the person acts"
        );
        click(&simulator, &launch, "void").await;
        let mut seen = Vec::new();
        let outcome = sso
            .wait(&launch, |status, _| seen.push(status.clone()))
            .await
            .expect("an outcome");
        let SsoOutcome::Voided(receipt) = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(receipt.payment, payment);
        assert_eq!(receipt.primary_transaction_status, "V");
        assert_eq!(receipt.protocol, protocol);
        assert_eq!(seen, [TokenStatus::Complete]);
        assert_eq!(
            simulator.ledger().status(&payment),
            Some(PaymentStatus::Voided)
        );
    }
}

#[tokio::test]
async fn the_wait_polls_until_the_person_voids() {
    let simulator = Arc::new(simulator(SimulatorConfig::default()).await);
    let sso = sso(&simulator, Protocol::Soap11);
    let payment = new_payment(&simulator);
    let launch = sso.launch(&void_of(&payment)).await.expect("launched");
    // The person clicks once the wait has seen the token NEW: the wait must keep asking.
    let (seen_new, person) = tokio::sync::oneshot::channel::<()>();
    let mut seen_new = Some(seen_new);
    let clicker = {
        let simulator = Arc::clone(&simulator);
        let launch = launch.clone();
        tokio::spawn(async move {
            if person.await.is_ok() {
                click(&simulator, &launch, "void").await;
            }
        })
    };
    let mut polls = 0;
    let outcome = sso
        .wait(&launch, |status, _| {
            polls += 1;
            if *status == TokenStatus::New {
                if let Some(tell) = seen_new.take() {
                    let _ = tell.send(());
                }
            }
        })
        .await
        .expect("an outcome");
    clicker.await.expect("the person clicked");
    assert!(matches!(outcome, SsoOutcome::Voided(_)), "{outcome:?}");
    assert!(polls >= 2, "{polls}");
}

#[tokio::test]
async fn s05_cancel_is_nothing_done_and_leaves_the_payment_captured() {
    let simulator = simulator(SimulatorConfig::default()).await;
    let sso = sso(&simulator, Protocol::Soap12);
    let payment = new_payment(&simulator);
    let launch = sso.launch(&void_of(&payment)).await.expect("launched");
    click(&simulator, &launch, "cancel").await;
    let outcome = sso.wait(&launch, |_, _| {}).await.expect("an outcome");
    assert_eq!(outcome, SsoOutcome::NothingDone(NothingDone::Cancelled));
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
}

#[tokio::test]
async fn s02_an_expired_token_is_nothing_done() {
    let simulator =
        simulator(SimulatorConfig::default().with_sso_token_lifetime(Duration::ZERO)).await;
    let sso = sso(&simulator, Protocol::Soap11);
    let payment = new_payment(&simulator);
    let launch = sso.launch(&void_of(&payment)).await.expect("launched");
    let outcome = sso.wait(&launch, |_, _| {}).await.expect("an outcome");
    assert_eq!(outcome, SsoOutcome::NothingDone(NothingDone::Expired));
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
}

#[tokio::test]
async fn s08_a_token_still_new_when_the_wait_is_over_leaves_the_outcome_unknown() {
    let simulator = simulator(SimulatorConfig::default()).await;
    let sso = sso(&simulator, Protocol::Soap11).max_wait(Duration::ZERO);
    let payment = new_payment(&simulator);
    let launch = sso.launch(&void_of(&payment)).await.expect("launched");
    let error = sso.wait(&launch, |_, _| {}).await.expect_err("no outcome");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(error.outcome_unknown());
}

#[tokio::test]
async fn s04_voiding_an_already_voided_payment_on_the_page_is_already_voided() {
    let simulator = simulator(SimulatorConfig::default()).await;
    let sso = sso(&simulator, Protocol::Soap11);
    let payment = new_payment(&simulator);
    simulator
        .ledger()
        .void(&payment, std::time::SystemTime::now())
        .expect("voided before");
    let launch = sso.launch(&void_of(&payment)).await.expect("launched");
    click(&simulator, &launch, "void").await;
    let error = sso.wait(&launch, |_, _| {}).await.expect_err("a refusal");
    assert!(matches!(error, Error::AlreadyVoided(_)), "{error:?}");
    assert!(!error.outcome_unknown());
}

#[tokio::test]
async fn s01_a_refused_login_is_authentication_refused_and_never_shows_the_key() {
    let simulator = simulator(SimulatorConfig::default()).await;
    let key = "wrong-key-Zq81";
    let sso = sso_as(&simulator, Protocol::Soap11, key);
    let payment = new_payment(&simulator);
    let error = sso.launch(&void_of(&payment)).await.expect_err("refused");
    assert!(
        matches!(error, Error::AuthenticationRefused { status: 401 }),
        "{error:?}"
    );
    let status = sso.token_status("ANY").await.expect_err("refused");
    for shown in [
        format!("{error} {error:?}"),
        format!("{status} {status:?}"),
        format!("{sso:?}"),
        format!("{:?}", SsoAccount::new("a", "b", key)),
    ] {
        assert!(!shown.contains(key), "{shown}");
    }
}

/// A server fault on `GetTransactionDetails` (a crash, a database timeout) says nothing about
/// what the page did: the outcome is unknown, never "nothing done". The key travels in the
/// body only: no SSOService call carries HTTP Basic.
#[tokio::test]
async fn s09_a_server_fault_on_the_details_leaves_the_outcome_unknown_and_no_call_is_signed_with_basic()
 {
    use support::{Reply, Server, Version};
    let server = Server::start(|request| {
        let body = String::from_utf8_lossy(&request.body);
        if request.path.ends_with("/SSOLogin") {
            Reply::new(200, "text/html", "").header(
                "relaystate",
                "https://online.example/providers/Form/PatientPayments/VoidPaymentSSO?token=T1&respCode=000",
            )
        } else if body.contains("GetSSOTokenStatus") {
            Reply::xml(
                200,
                Version::Soap11,
                support::envelope(
                    Version::Soap11,
                    "<GetSSOTokenStatusResponse xmlns=\"http://tempuri.org/\">\
                     <GetSSOTokenStatusResult>complete</GetSSOTokenStatusResult>\
                     </GetSSOTokenStatusResponse>",
                ),
            )
        } else {
            Reply::xml(
                500,
                Version::Soap11,
                support::aspnet_fault(
                    Version::Soap11,
                    "Server",
                    "Server was unable to process request. ---> Timeout expired.",
                    "",
                ),
            )
        }
    })
    .await;
    let origin = format!("https://localhost:{}", server.addr.port());
    let sso = SsoClient::new(
        Client::builder(&server.url)
            .timeout(Duration::from_secs(5))
            .ca_certificate_file(&server.ca_path),
        format!("{origin}/providers/Form/SSO/SSOLogin"),
        SsoAccount::new(DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, DEMO_SSO_KEY),
    )
    .expect("SSO client");
    let payment = TransactionId::new(support::PAYMENT).unwrap();
    let launch = sso.launch(&void_of(&payment)).await.expect("launched");
    assert_eq!(launch.token(), "T1");
    let error = sso.wait(&launch, |_, _| {}).await.expect_err("no verdict");
    assert!(matches!(error, Error::Fault(_)), "{error:?}");
    assert!(error.outcome_unknown());
    let calls = server.requests();
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|call| call.header("authorization").is_none())
    );
    assert!(
        calls[1..]
            .iter()
            .all(|call| String::from_utf8_lossy(&call.body).contains(DEMO_SSO_KEY))
    );
}

/// A login that echoes the security key into the URL for the person's browser: the URL is
/// refused, never handed out to be printed, and the error does not show the key either.
#[tokio::test]
async fn a_launch_url_holding_the_security_key_is_refused_and_the_key_never_shown() {
    use support::{Reply, Server};
    let echoed = format!(
        "https://online.example/providers/Form/PatientPayments/VoidPaymentSSO?token=T1&respCode=000&securityKey={DEMO_SSO_KEY}"
    );
    let server =
        Server::start(move |_| Reply::new(200, "text/html", "").header("relaystate", &echoed))
            .await;
    let origin = format!("https://localhost:{}", server.addr.port());
    let sso = SsoClient::new(
        Client::builder(&server.url).ca_certificate_file(&server.ca_path),
        format!("{origin}/providers/Form/SSO/SSOLogin"),
        SsoAccount::new(DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, DEMO_SSO_KEY),
    )
    .expect("SSO client");
    let payment = TransactionId::new(support::PAYMENT).unwrap();
    let error = sso.launch(&void_of(&payment)).await.expect_err("refused");
    let shown = format!("{error} {error:?} {}", error.report());
    assert!(!shown.contains(DEMO_SSO_KEY), "{shown}");
    assert!(shown.contains("holds the security key"), "{shown}");
}

/// `GetTransactionDetailsByTransactionID` is a read-only look at a payment, off unless allowed
/// (whether InstaMed answers it without a live token is not known).
#[tokio::test]
async fn the_lookup_by_transaction_id_is_off_by_default_and_reads_the_payments_record_when_allowed()
{
    let simulator = simulator(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let sso = sso(&simulator, Protocol::Soap12);
    let off = sso
        .details_by_transaction_id(&payment)
        .await
        .expect_err("off");
    assert!(matches!(off, Error::InvalidConfig { .. }), "{off:?}");
    let record = sso
        .lookup_by_transaction_id(true)
        .details_by_transaction_id(&payment)
        .await
        .expect("the record");
    assert_eq!(record.transaction_id.as_deref(), Some(payment.as_str()));
    assert_eq!(record.transaction_status.as_deref(), Some("C"));
}

/// An SSO service on a hand-written TLS server: the login hands out token `T1`, the status
/// poll answers `status` (a whole SOAP body), and `GetTransactionDetails` answers `details`
/// (the fields of `GetTransactionDetailsResult`).
async fn served(status: &'static str, details: &'static str) -> (support::Server, SsoClient) {
    use support::{Reply, Server, Version};
    let server = Server::start(move |request| {
        let body = String::from_utf8_lossy(&request.body);
        if request.path.ends_with("/SSOLogin") {
            Reply::new(200, "text/html", "").header(
                "relaystate",
                "https://online.example/providers/Form/PatientPayments/VoidPaymentSSO?token=T1&respCode=000",
            )
        } else if body.contains("GetSSOTokenStatus") {
            let code = if status.contains(":Fault>") { 500 } else { 200 };
            Reply::xml(code, Version::Soap11, support::envelope(Version::Soap11, status))
        } else {
            Reply::xml(
                200,
                Version::Soap11,
                support::envelope(
                    Version::Soap11,
                    &format!(
                        "<GetTransactionDetailsResponse xmlns=\"http://tempuri.org/\">\
                         <GetTransactionDetailsResult>{details}</GetTransactionDetailsResult>\
                         </GetTransactionDetailsResponse>"
                    ),
                ),
            )
        }
    })
    .await;
    let origin = format!("https://localhost:{}", server.addr.port());
    let sso = SsoClient::new(
        Client::builder(&server.url)
            .timeout(Duration::from_secs(5))
            .ca_certificate_file(&server.ca_path),
        format!("{origin}/providers/Form/SSO/SSOLogin"),
        SsoAccount::new(DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, DEMO_SSO_KEY),
    )
    .expect("SSO client")
    .poll_interval(Duration::from_millis(1));
    (server, sso)
}

const COMPLETE: &str = "<GetSSOTokenStatusResponse xmlns=\"http://tempuri.org/\">\
    <GetSSOTokenStatusResult>complete</GetSSOTokenStatusResult></GetSSOTokenStatusResponse>";

/// The page's outcome for [`support::PAYMENT`] on a [`served`] service.
async fn page_outcome(status: &'static str, details: &'static str) -> Result<SsoOutcome, Error> {
    let (_server, sso) = served(status, details).await;
    let payment = TransactionId::new(support::PAYMENT).unwrap();
    let launch = sso.launch(&void_of(&payment)).await.expect("launched");
    sso.wait(&launch, |_, _| {}).await
}

#[tokio::test]
async fn s06_a_payment_whose_funds_are_moving_is_declined_never_not_voidable() {
    for status in ["S", "SE"] {
        let details: &'static str = if status == "S" {
            "<TransactionID>EE52401813A74328AAA7D93319FF4383</TransactionID>\
             <TransactionStatus>S</TransactionStatus>\
             <ResponseMessage>Void not allowed: too late, funds transfer initiated</ResponseMessage>"
        } else {
            "<TransactionID>EE52401813A74328AAA7D93319FF4383</TransactionID>\
             <TransactionStatus>SE</TransactionStatus>"
        };
        let error = page_outcome(COMPLETE, details)
            .await
            .expect_err("a refusal");
        let Error::Declined(refusal) = &error else {
            panic!("{status}: {error:?}");
        };
        assert!(refusal.payment_is_not_voided(), "{refusal:?}");
        assert!(!error.outcome_unknown());
    }
}

#[tokio::test]
async fn s07_details_without_a_status_or_about_another_payment_leave_the_outcome_unknown() {
    for details in [
        "<TransactionID>EE52401813A74328AAA7D93319FF4383</TransactionID>",
        "<TransactionID>00000000000000000000000000000001</TransactionID>\
         <TransactionStatus>V</TransactionStatus>",
        "<TransactionID>EE52401813A74328AAA7D93319FF4383</TransactionID>\
         <TransactionStatus>A</TransactionStatus>",
    ] {
        let error = page_outcome(COMPLETE, details)
            .await
            .expect_err("no verdict");
        assert!(
            matches!(error, Error::MalformedAnswer { .. }) && error.outcome_unknown(),
            "{details}: {error:?}"
        );
    }
}

#[tokio::test]
async fn s10_a_refused_status_poll_ends_the_wait_with_its_fault() {
    const REFUSED: &str = "<soap:Fault><faultcode>soap:Client</faultcode>\
        <faultstring>Invalid token.</faultstring><detail /></soap:Fault>";
    let error = page_outcome(REFUSED, "").await.expect_err("refused");
    assert!(matches!(error, Error::Fault(_)), "{error:?}");
    assert!(!error.outcome_unknown());
}

#[tokio::test]
async fn s11_the_payments_record_looked_up_by_its_id_is_judged_as_a_finished_page() {
    let simulator = simulator(SimulatorConfig::default()).await;
    let allowed = sso(&simulator, Protocol::Soap11).lookup_by_transaction_id(true);
    let captured = new_payment(&simulator);
    assert_eq!(
        allowed
            .outcome_by_transaction_id(&captured)
            .await
            .expect("judged"),
        SsoOutcome::NothingDone(NothingDone::NotVoided)
    );
    let voided = new_payment(&simulator);
    simulator
        .ledger()
        .void(&voided, std::time::SystemTime::now())
        .expect("voided");
    let outcome = allowed
        .outcome_by_transaction_id(&voided)
        .await
        .expect("judged");
    assert!(matches!(outcome, SsoOutcome::Voided(_)), "{outcome:?}");
    let off = sso(&simulator, Protocol::Soap11)
        .outcome_by_transaction_id(&voided)
        .await
        .expect_err("off by default");
    assert!(matches!(off, Error::InvalidConfig { .. }), "{off:?}");
}

/// Every Single Sign-On row of `docs/outcomes.md` (`S1`, `S2`, …) has a test here named after
/// it (`s01_…`), and every such test a row: the table and the tests cannot drift apart.
#[test]
fn every_sso_row_of_the_outcomes_doc_has_a_test_named_after_it() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/outcomes.md"),
    )
    .expect("docs/outcomes.md");
    let rows: Vec<u32> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("| S"))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .collect();
    assert!(rows.len() >= 11, "SSO rows: {rows:?}");
    let source = include_str!("sso.rs");
    let tests: Vec<u32> = source
        .match_indices("async fn s")
        .filter_map(|(at, _)| {
            let name = &source[at + "async fn s".len()..];
            let digits = name.get(..2)?;
            (name.as_bytes().get(2) == Some(&b'_')).then(|| digits.parse().ok())?
        })
        .collect();
    let mut sorted = tests.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        rows, sorted,
        "rows of docs/outcomes.md against tests sNN_ here"
    );
    assert_eq!(tests.len(), sorted.len(), "one test per row");
}
