//! Voids over REST through the same domain API as SOAP and NVP, against the simulator over TLS
//! on loopback, and against a hand-written server for the answers it does not give: each
//! outcome judged by statuses, a 4xx a rejected request, a 5xx or an unreadable body an unknown
//! outcome, and the API secret never in what the client says.

use instamed_soap_test_support as support;

use std::time::Duration;

use instamed_soap::{ApiKey, Client, Error, Protocol, RetryPolicy, TransactionId, VoidRequest};
use instamed_soap_simulator::{
    DEMO_API_KEY, DEMO_API_SECRET, FaultPlan, RefusalStyle, Simulator, SimulatorConfig,
};
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
    Vec<support::Received>,
) {
    let body = body.to_owned();
    let server = Server::start(move |_| Reply::new(status, JSON, body.clone())).await;
    let result = void_at_server(&server).await;
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

// ---------------------------------------------------------------------------------------------
// The REST rows of docs/outcomes.md, one test each.

const ID: &str = "EE52401813A74328AAA7D93319FF4383";
const JSON: &str = "application/json; charset=utf-8";

/// The error the client makes of `status` with `body`, typed as JSON.
async fn rejected(status: u16, body: &str) -> Error {
    match judged(status, body).await.0 {
        Ok(receipt) => panic!("HTTP {status} {body}: voided? {receipt:?}"),
        Err(error) => error,
    }
}

fn assert_unknown_never_a_refusal(what: &str, error: &Error) {
    assert!(
        matches!(error, Error::MalformedAnswer { .. }) && error.outcome_unknown(),
        "{what}: {error:?}"
    );
    assert!(
        !error.is_refusal() && !error.proves_voided() && !error.proves_not_voided(),
        "{what}: {error:?}"
    );
}

fn assert_rejected_nothing_done(what: &str, error: &Error, status: u16) {
    match error {
        Error::HttpStatus { status: got, .. } => assert_eq!(*got, status, "{what}"),
        other => panic!("{what}: {other:?}"),
    }
    assert!(
        !error.outcome_unknown() && !error.is_refusal(),
        "{what}: {error:?}"
    );
}

#[tokio::test]
async fn r1_a_2xx_answer_is_judged_by_its_statuses() {
    let (voided, _) = judged(
        200,
        &format!(
            r#"{{"TransactionID":"{ID}","TransactionStatus":"C","PrimaryTransactionStatus":"V"}}"#
        ),
    )
    .await;
    assert_eq!(voided.expect("voided").primary_transaction_status, "V");
    let late = rejected(
        200,
        r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S"}"#,
    )
    .await;
    assert!(matches!(late, Error::NotVoidable(_)), "{late:?}");
    let before = rejected(
        200,
        r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"V"}"#,
    )
    .await;
    assert!(before.proves_voided(), "{before:?}");
    let odd = rejected(
        200,
        r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"C"}"#,
    )
    .await;
    assert!(odd.outcome_unknown(), "{odd:?}");
}

#[tokio::test]
async fn r2_a_4xx_that_reads_strictly_as_a_refusal_is_that_refusal() {
    let late = rejected(
        422,
        r#"{"Message":"Void not allowed: funds transfer initiated","TransactionStatus":"D","PrimaryTransactionStatus":"C","ResponseCode":"012"}"#,
    )
    .await;
    assert!(
        matches!(late, Error::NotVoidable(_)) && late.proves_not_voided(),
        "{late:?}"
    );
    let before = rejected(
        400,
        r#"{"TransactionStatus":"X","PrimaryTransactionStatus":"V"}"#,
    )
    .await;
    assert!(matches!(before, Error::AlreadyVoided(_)) && before.proves_voided());
    let unknown = rejected(
        422,
        r#"{"Message":"Transaction not found","TransactionStatus":"D"}"#,
    )
    .await;
    assert!(
        matches!(unknown, Error::UnknownTransaction(_)) && unknown.proves_not_voided(),
        "{unknown:?}"
    );
    for error in [late, before, unknown] {
        assert!(!error.outcome_unknown(), "{error:?}");
    }
}

/// A 4xx that names a transaction status it does not give strictly as a refusal's may be the
/// service saying the void was made: before these rules, several of these were read as a
/// rejected request (exit 1), and a refund after one was recorded as refused, inviting a
/// second refund.
#[tokio::test]
async fn r3_a_4xx_that_mentions_a_status_it_does_not_give_strictly_is_unknown_never_a_refusal() {
    let cases = [
        (
            "completed",
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V"}"#,
        ),
        (
            "a numeric ResponseCode",
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V","ResponseCode":0}"#,
        ),
        (
            "a numeric ResponseCode beside a refusal",
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S","ResponseCode":12}"#,
        ),
        (
            "a repeated key",
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S","TransactionStatus":"C"}"#,
        ),
        (
            "a key in another case",
            r#"{"TransactionStatus":"D","transactionStatus":"C","PrimaryTransactionStatus":"S"}"#,
        ),
        ("an undocumented status", r#"{"TransactionStatus":"Q"}"#),
        (
            "an undocumented payment status",
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"ZZ"}"#,
        ),
        ("a status as a number", r#"{"TransactionStatus":4}"#),
        (
            "a null status",
            r#"{"Message":"x","TransactionStatus":null}"#,
        ),
        ("a status nested", r#"{"Error":{"TransactionStatus":"C"}}"#),
        ("a status in snake case", r#"{"transaction_status":"C"}"#),
        (
            "cut short",
            r#"{"TransactionStatus":"C","PrimaryTransactionSta"#,
        ),
    ];
    for (what, body) in cases {
        for status in [400, 404, 409, 422] {
            let error = rejected(status, body).await;
            assert_unknown_never_a_refusal(&format!("{status} {what}"), &error);
        }
    }
    // Not typed as JSON: it cannot be read strictly either.
    let server = Server::start(|_| {
        Reply::new(
            422,
            "text/plain",
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S"}"#,
        )
    })
    .await;
    let error = void_at_server(&server).await.unwrap_err();
    assert_unknown_never_a_refusal("text/plain", &error);
}

#[tokio::test]
async fn r4_a_4xx_that_mentions_no_status_is_a_rejected_request() {
    for (status, body) in [
        (400, r#"{"Message":"The request is invalid."}"#),
        (400, r#"{"Message":"TransactionStatus is required"}"#),
        (404, r#"{"Message":"No HTTP resource was found"}"#),
        (415, r#"{"Status":"D"}"#),
        (429, "[]"),
    ] {
        let error = rejected(status, body).await;
        assert_rejected_nothing_done(body, &error, status);
    }
    let server = Server::start(|_| Reply::new(404, "text/html", "<html>Not found</html>")).await;
    let error = void_at_server(&server).await.unwrap_err();
    assert_rejected_nothing_done("HTML", &error, 404);
}

#[tokio::test]
async fn r5_a_5xx_is_unknown_whatever_its_body() {
    for status in [500, 502, 503, 599] {
        let error = rejected(
            status,
            r#"{"Message":"error","TransactionStatus":"D","PrimaryTransactionStatus":"V"}"#,
        )
        .await;
        assert!(
            matches!(error, Error::HttpStatus { .. })
                && error.outcome_unknown()
                && !error.proves_voided(),
            "{status}: {error:?}"
        );
    }
}

#[tokio::test]
async fn r6_a_2xx_that_does_not_read_strictly_is_unknown() {
    let voided = format!(r#""TransactionID":"{ID}","PrimaryTransactionStatus":"V""#);
    for (what, body) in [
        ("not JSON", "not json".to_owned()),
        ("no TransactionStatus", format!("{{{voided}}}")),
        (
            "a repeated key",
            format!(r#"{{{voided},"TransactionStatus":"C","TransactionStatus":"D"}}"#),
        ),
        (
            "a key in another case",
            format!(r#"{{{voided},"TransactionStatus":"C","transactionstatus":"D"}}"#),
        ),
        (
            "a payment status in another case",
            r#"{"TransactionStatus":"D","primaryTransactionStatus":"V","ResponseMessage":"Transaction not found"}"#.to_owned(),
        ),
        (
            "a numeric ResponseCode",
            format!(r#"{{{voided},"TransactionStatus":"C","ResponseCode":0}}"#),
        ),
    ] {
        let (result, _) = judged(200, &body).await;
        let error = result.unwrap_err();
        assert_unknown_never_a_refusal(what, &error);
    }
    let server = Server::start(|_| Reply::new(200, "text/html", "<html>Welcome</html>")).await;
    let error = void_at_server(&server).await.unwrap_err();
    assert_unknown_never_a_refusal("HTML", &error);
}

/// A redirect's body is not the service's verdict: a 302 whose JSON says "declined, transfer
/// begun" was read as a known not-voidable refusal, and void-or-refund refunded on it.
#[tokio::test]
async fn r7_a_redirect_is_never_judged_by_its_body_and_never_refunds() {
    for status in [301, 302, 303, 307, 308] {
        for body in [
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S"}"#,
            r#"{"TransactionStatus":"C","PrimaryTransactionStatus":"V"}"#,
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"V"}"#,
        ] {
            let error = rejected(status, body).await;
            assert_rejected_nothing_done(&format!("{status} {body}"), &error, status);
            assert!(!error.proves_voided() && !error.proves_not_voided());
        }
    }
    let server = Server::start(|_| {
        Reply::new(
            302,
            JSON,
            r#"{"TransactionStatus":"D","PrimaryTransactionStatus":"S","Message":"funds transfer initiated"}"#,
        )
        .header("location", "https://127.0.0.1:1/rest/payment/void")
    })
    .await;
    let client = server_client(&server);
    let amount = "1.00".parse().expect("amount");
    let error = client
        .void_or_refund(&void_of(&id()), amount)
        .await
        .unwrap_err();
    assert_rejected_nothing_done("void or refund", &error, 302);
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        ["/base/rest/payment/void"],
        "nothing but the void was sent"
    );
}

#[tokio::test]
async fn an_answer_echoing_the_api_secret_never_repeats_it() {
    let echo = rejected(403, r#"{"Message":"bad secret s3cret-api-value"}"#).await;
    assert!(!format!("{echo:?}").contains("s3cret-api-value"));
    let echo = rejected(
        200,
        r#"{"TransactionStatus":"D","ResponseMessage":"bad secret s3cret-api-value"}"#,
    )
    .await;
    assert!(echo.is_refusal());
    assert!(
        !echo.report().to_string().contains("s3cret-api-value"),
        "{}",
        echo.report()
    );
}

// ---------------------------------------------------------------------------------------------
// Reconciliation

/// A void of a payment that does not exist whose answer was lost: every later attempt says
/// "declined, transaction not found" (no payment status). That settles it: there was nothing
/// to void. Before, reconciliation waited for a PrimaryTransactionStatus no answer would ever
/// give, and the outcome stayed unknown on every run.
#[tokio::test]
async fn reconciliation_settles_a_declined_void_of_an_unknown_payment() {
    let not_found = r#"{"TransactionStatus":"D","ResponseCode":"012","ResponseMessage":"Transaction not found"}"#;
    for (status, body) in [(200, not_found), (422, not_found)] {
        let server = lost_then(status, body).await;
        let error = reconciling_client(&server)
            .void_reconciled(&void_of(&id()))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::UnknownTransaction(_)) && !error.outcome_unknown(),
            "{status}: {error:?}"
        );
        assert_eq!(server.requests().len(), 2, "settled on the first retry");
    }
}

/// What does not prove that the payment is unknown leaves the outcome unknown: the words
/// without a refusal status, or a refusal about another payment.
#[tokio::test]
async fn reconciliation_never_settles_on_not_found_words_alone() {
    for (status, body) in [
        (404, r#"{"Message":"Transaction not found"}"#.to_owned()),
        (
            200,
            r#"{"TransactionStatus":"D","ResponseMessage":"Transaction not found","PrimaryTransactionID":"0123456789ABCDEF0123456789ABCDEF"}"#.to_owned(),
        ),
        (500, r#"{"Message":"Transaction not found"}"#.to_owned()),
    ] {
        let server = lost_then(status, &body).await;
        let error = reconciling_client(&server)
            .void_reconciled(&void_of(&id()))
            .await
            .unwrap_err();
        assert!(error.outcome_unknown(), "{status} {body}: {error:?}");
        assert_eq!(server.requests().len(), 3, "asked until the policy ran out");
    }
}

fn id() -> TransactionId {
    TransactionId::new(ID).expect("id")
}

/// A server whose first answer never comes in time, and every later one is `status` `body`.
async fn lost_then(status: u16, body: &str) -> Server {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let body = body.to_owned();
    Server::start(move |_| {
        let reply = Reply::new(status, JSON, body.clone());
        if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            reply.delayed(Duration::from_secs(3))
        } else {
            reply
        }
    })
    .await
}

fn base_of(server: &Server) -> String {
    let base = server.url.trim_end_matches("/payment/service.asmx");
    format!("{base}/base/")
}

fn server_client(server: &Server) -> Client {
    rest_client(
        &base_of(server),
        Some(&server.ca_path),
        ApiKey::new("key-1", "s3cret-api-value"),
    )
}

fn reconciling_client(server: &Server) -> Client {
    Client::builder(base_of(server))
        .api_key(ApiKey::new("key-1", "s3cret-api-value"))
        .protocol(Protocol::Rest)
        .ca_certificate_file(&server.ca_path)
        .timeout(Duration::from_millis(500))
        .reconcile_policy(RetryPolicy::exponential(2, Duration::from_millis(1)))
        .build()
        .expect("client")
}

async fn void_at_server(server: &Server) -> Result<instamed_soap::VoidReceipt, Error> {
    server_client(server).void(&void_of(&id())).await
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
            .reconcile_policy(instamed_soap::RetryPolicy::exponential(
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
