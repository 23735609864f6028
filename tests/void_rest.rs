//! Voids over REST through the same domain API as SOAP and NVP, against the simulator over TLS
//! on loopback, and against a hand-written server for the answers it does not give: each
//! outcome judged by statuses, a 4xx a rejected request, a 5xx or an unreadable body an unknown
//! outcome, and the API secret never in what the client says.

#![cfg(feature = "simulator")]

mod support;

use std::time::Duration;

use instamed_soap::simulator::{
    DEMO_API_KEY, DEMO_API_SECRET, FaultPlan, RefusalStyle, Simulator, SimulatorConfig,
};
use instamed_soap::{ApiKey, Client, Error, Protocol, TransactionId, VoidRequest};
use support::{Reply, Server, outlet};

async fn start(config: SimulatorConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts")
}

fn rest_client(base: &str, ca: Option<&std::path::Path>, key: ApiKey) -> Client {
    let mut builder = Client::builder(base)
        .api_key(key)
        .protocol(Protocol::Rest)
        .timeout(Duration::from_secs(5));
    if let Some(ca) = ca {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build().expect("client")
}

fn client(simulator: &Simulator) -> Client {
    rest_client(
        &simulator.rest_base(),
        simulator.ca_path(),
        ApiKey::new(DEMO_API_KEY, DEMO_API_SECRET),
    )
}

fn payment(simulator: &Simulator) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), "12.34")
        .expect("payment")
}

fn void_of(payment: &TransactionId) -> VoidRequest {
    VoidRequest::new(outlet(), payment.clone())
}

#[tokio::test]
async fn rest_voids_then_says_already_voided_on_statuses() {
    let simulator = start(SimulatorConfig::default()).await;
    let client = client(&simulator);
    let id = payment(&simulator);
    let receipt = client.void(&void_of(&id)).await.expect("voided");
    assert_eq!(receipt.protocol, Protocol::Rest);
    assert_eq!(receipt.primary_transaction_status, "V");
    for style in [RefusalStyle::Decline, RefusalStyle::Fault] {
        let simulator = start(SimulatorConfig::default().with_refusal_style(style)).await;
        let client = self::client(&simulator);
        let id = payment(&simulator);
        client.void(&void_of(&id)).await.expect("voided");
        let again = client.void(&void_of(&id)).await.unwrap_err();
        assert!(
            matches!(again, Error::AlreadyVoided(_)),
            "{style:?}: {again:?}"
        );
        assert!(again.proves_voided() && !again.outcome_unknown());
    }
}

#[tokio::test]
async fn rest_not_voidable_and_unknown_payment_are_known_refusals_in_both_styles() {
    for style in [RefusalStyle::Decline, RefusalStyle::Fault] {
        let simulator = start(SimulatorConfig::default().with_refusal_style(style)).await;
        let client = client(&simulator);
        let id = payment(&simulator);
        simulator.ledger().start_transfer(&id).expect("transfer");
        let late = client.void(&void_of(&id)).await.unwrap_err();
        assert!(matches!(late, Error::NotVoidable(_)), "{style:?}: {late:?}");
        assert!(!late.outcome_unknown());
        let stranger = TransactionId::new("0123456789ABCDEF0123456789ABCDEF").expect("id");
        let unknown = client.void(&void_of(&stranger)).await.unwrap_err();
        assert!(
            matches!(unknown, Error::UnknownTransaction(_)),
            "{style:?}: {unknown:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_api_secret_is_refused_credentials_and_never_shown() {
    let simulator = start(SimulatorConfig::default()).await;
    let client = rest_client(
        &simulator.rest_base(),
        simulator.ca_path(),
        ApiKey::new(DEMO_API_KEY, "wrong-secret-9f8e"),
    );
    let id = payment(&simulator);
    let error = client.void(&void_of(&id)).await.unwrap_err();
    assert!(
        matches!(error, Error::AuthenticationRefused { status: 401 }),
        "{error:?}"
    );
    assert!(!error.outcome_unknown());
    let said = format!("{error:?} {} {client:?}", error.report());
    assert!(!said.contains("wrong-secret-9f8e"), "{said}");
}

#[tokio::test]
async fn an_injected_500_is_an_unknown_outcome() {
    let faults = FaultPlan::seeded(7).with_fault_rate(1.0);
    let simulator = start(SimulatorConfig::default().with_faults(faults)).await;
    let id = payment(&simulator);
    let error = client(&simulator).void(&void_of(&id)).await.unwrap_err();
    assert!(error.outcome_unknown(), "{error:?}");
    assert_eq!(error.http_status(), Some(500));
}

/// What the hand-written server answers `/rest/payment/void` with.
async fn judged(
    status: u16,
    body: &str,
) -> (
    Result<instamed_soap::VoidReceipt, Error>,
    Vec<support::Exchange>,
) {
    let body = body.to_owned();
    let server =
        Server::start(move |_| Reply::new(status, "application/json; charset=utf-8", body.clone()))
            .await;
    let base = server
        .url
        .trim_end_matches("/payment/service.asmx")
        .to_owned();
    let client = rest_client(
        &format!("{base}/base/"),
        Some(&server.ca_path),
        ApiKey::new("key-1", "s3cret-api-value"),
    );
    let id = TransactionId::new("EE52401813A74328AAA7D93319FF4383").expect("id");
    let result = client.void(&void_of(&id)).await;
    (result, server.requests())
}

#[tokio::test]
async fn the_request_is_json_to_the_appended_path_with_sensitive_key_headers() {
    let ok = r#"{"TransactionID":"EE52401813A74328AAA7D93319FF4383","TransactionStatus":"C",
                 "PrimaryTransactionStatus":"V","ResponseCode":"000"}"#;
    let (result, seen) = judged(200, ok).await;
    result.expect("voided");
    let request = &seen[0];
    assert_eq!(request.path, "/base/rest/payment/void");
    assert_eq!(request.header("api-key"), Some("key-1"));
    assert_eq!(request.header("api-secret"), Some("s3cret-api-value"));
    assert!(request.header("authorization").is_none());
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({
            "Outlet": {"MerchantID": "123123123", "StoreID": "123", "TerminalID": "456"},
            "TransactionID": "EE52401813A74328AAA7D93319FF4383"
        })
    );
}

#[tokio::test]
async fn rest_rows_differ_from_soap_only_where_http_says_more() {
    // A 4xx without statuses: a rejected request, known to have changed nothing.
    let (rejected, _) = judged(400, r#"{"Message":"The request is invalid."}"#).await;
    let rejected = rejected.unwrap_err();
    assert!(
        matches!(rejected, Error::HttpStatus { status: 400, .. }),
        "{rejected:?}"
    );
    assert!(!rejected.outcome_unknown());
    // A 5xx whose body carries refusal statuses is still unknown: nothing in it is judged.
    let (failed, _) = judged(
        500,
        r#"{"Message":"error","TransactionStatus":"D","PrimaryTransactionStatus":"V"}"#,
    )
    .await;
    let failed = failed.unwrap_err();
    assert!(
        failed.outcome_unknown() && !failed.proves_voided(),
        "{failed:?}"
    );
    // A 2xx that does not read, or lacks TransactionStatus: unknown.
    for body in [
        "not json",
        r#"{"TransactionID":"X","PrimaryTransactionStatus":"V"}"#,
    ] {
        let (unreadable, _) = judged(200, body).await;
        let unreadable = unreadable.unwrap_err();
        assert!(
            matches!(unreadable, Error::MalformedAnswer { .. }) && unreadable.outcome_unknown(),
            "{body}: {unreadable:?}"
        );
    }
    // A 422 that reports a completed transaction contradicts itself: unknown.
    let (odd, _) = judged(
        422,
        r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V"}"#,
    )
    .await;
    assert!(odd.unwrap_err().outcome_unknown());
    // An answer echoing the secret never repeats it.
    let (echo, _) = judged(403, r#"{"Message":"bad secret s3cret-api-value"}"#).await;
    let echo = echo.unwrap_err();
    assert!(!format!("{echo:?}").contains("s3cret-api-value"));
    let (echo, _) = judged(
        200,
        r#"{"TransactionStatus":"D","ResponseMessage":"bad secret s3cret-api-value"}"#,
    )
    .await;
    let echo = echo.unwrap_err();
    assert!(echo.is_refusal());
    assert!(
        !echo.report().to_string().contains("s3cret-api-value"),
        "{}",
        echo.report()
    );
}

#[tokio::test]
async fn a_rest_client_needs_an_api_key_pair() {
    let error = Client::builder("https://127.0.0.1:1")
        .protocol(Protocol::Rest)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("API key"), "{error}");
}

/// A REST void answer is about this payment only when its `TransactionID` (a void keeps the
/// payment's ID) and `PrimaryTransactionID`, where given, name it.
#[tokio::test]
async fn rest_an_answer_naming_another_transaction_is_unknown_and_no_proof() {
    const OTHER: &str = "0000000000000000000000000000ABCD";
    for (status, body) in [
        // "Voided", but another payment.
        (
            200,
            format!(
                r#"{{"TransactionID":"{OTHER}","TransactionStatus":"C","PrimaryTransactionStatus":"V"}}"#
            ),
        ),
        // "Already voided": would be proof for reconciliation, about another payment.
        (
            200,
            format!(
                r#"{{"TransactionID":"{OTHER}","TransactionStatus":"D","PrimaryTransactionStatus":"V"}}"#
            ),
        ),
        // "Not voidable": would refund ours, about another payment; as a 422 refusal too.
        (
            200,
            format!(
                r#"{{"TransactionID":"{OTHER}","TransactionStatus":"D","PrimaryTransactionStatus":"S"}}"#
            ),
        ),
        (
            422,
            format!(
                r#"{{"Message":"Void not allowed","TransactionID":"{OTHER}","TransactionStatus":"D","PrimaryTransactionStatus":"S"}}"#
            ),
        ),
    ] {
        let (result, _) = judged(status, &body).await;
        let error = result.unwrap_err();
        assert!(
            matches!(&error, Error::MalformedAnswer { problem, .. }
                if matches!(**problem, instamed_soap::AnswerProblem::Inconsistent(_))),
            "{body}: {error:?}"
        );
        assert!(error.outcome_unknown() && !error.proves_voided(), "{body}");
    }
    // The payment's own ID, in either case, is this payment.
    let (own, _) = judged(
        200,
        r#"{"TransactionID":"ee52401813a74328aaa7d93319ff4383","TransactionStatus":"C",
            "PrimaryTransactionStatus":"V"}"#,
    )
    .await;
    own.expect("voided");
}

#[tokio::test]
async fn rest_reconciliation_takes_no_proof_about_another_transaction() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    for (own, proof) in [
        ("0000000000000000000000000000ABCD", false),
        ("EE52401813A74328AAA7D93319FF4383", true),
    ] {
        let calls = AtomicUsize::new(0);
        let server = Server::start(move |_| match calls.fetch_add(1, Ordering::SeqCst) {
            // The first void's outcome is unknown; every later one says "already voided".
            0 => Reply::new(500, "application/json", r#"{"Message":"An error has occurred."}"#),
            _ => Reply::new(
                200,
                "application/json",
                format!(r#"{{"TransactionID":"{own}","TransactionStatus":"D","PrimaryTransactionStatus":"V"}}"#),
            ),
        })
        .await;
        let base = server.url.trim_end_matches("/payment/service.asmx");
        let client = Client::builder(base)
            .api_key(ApiKey::new("key-1", "secret-1"))
            .protocol(Protocol::Rest)
            .ca_certificate_file(&server.ca_path)
            .timeout(Duration::from_secs(5))
            .reconcile_policy(instamed_soap::RetryPolicy::before_sending(
                2,
                Duration::from_millis(1),
            ))
            .build()
            .expect("client");
        let id = TransactionId::new("EE52401813A74328AAA7D93319FF4383").expect("id");
        let result = client.void_reconciled(&void_of(&id)).await;
        if proof {
            assert!(
                matches!(
                    result,
                    Ok(instamed_soap::VoidConfirmation::ConfirmedAlreadyVoided { .. })
                ),
                "{result:?}"
            );
        } else {
            let error = result.expect_err("no proof about another payment");
            assert!(error.outcome_unknown(), "{error:?}");
            assert_eq!(server.requests().len(), 3, "every attempt was made");
        }
    }
}
