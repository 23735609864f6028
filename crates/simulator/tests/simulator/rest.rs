//! The simulator's REST endpoints, driven over TLS on loopback with raw HTTP: every route and
//! every answer a client must judge, on the ledger SOAP and NVP share.

use instamed_soap_test_support as support;
use instamed_soap_test_support::raw_https;

use http::{Method, StatusCode};
use instamed_soap::TransactionId;
use instamed_soap_simulator::{
    DEMO_API_KEY, DEMO_API_SECRET, FaultPlan, PaymentStatus, RefusalStyle, Simulator,
    SimulatorConfig,
};
use raw_https::{REST_HEADERS, basic, form_value, nvp, rest, send, soap, xml_text};
use serde_json::json;
use support::outlet;

const VOID: &str = "/rest/payment/void";
const REFUND: &str = "/rest/payment/refund-simple";
const SALE: &str = "/rest/payment/sale";

fn outlet_json() -> serde_json::Value {
    json!({"MerchantID": "123123123", "StoreID": "123", "TerminalID": "456"})
}

fn void_body(id: &str) -> serde_json::Value {
    json!({"Outlet": outlet_json(), "TransactionID": id, "Patient": {"AccountNumber": "P-1"}})
}

async fn start(config: SimulatorConfig) -> Simulator {
    let simulator = Simulator::start(config).await.expect("simulator starts");
    assert!(simulator.ca_path().is_some(), "these tests run over TLS");
    simulator
}

fn new_payment(simulator: &Simulator) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), "25.00")
        .expect("payment")
}

fn status_of(simulator: &Simulator, id: &str) -> Option<PaymentStatus> {
    simulator
        .ledger()
        .status(&TransactionId::new(id).expect("id"))
}

#[tokio::test]
async fn a_rest_sale_then_a_rest_void_succeed() {
    let simulator = start(SimulatorConfig::default()).await;
    let sale = rest(
        &simulator,
        SALE,
        json!({"Outlet": outlet_json(), "Amount": "12.34",
               "Card": {"CardNumber": "4111111111111111", "CardExpiration": "1229"}}),
    )
    .await;
    assert_eq!(sale.status, StatusCode::OK, "{}", sale.body);
    assert_eq!(
        sale.header("content-type"),
        "application/json; charset=utf-8"
    );
    assert_eq!(sale.field("TransactionStatus").as_deref(), Some("C"));
    let id = sale.field("TransactionID").expect("the sale's ID");
    assert!(!sale.body.contains("4111"), "{}", sale.body);
    let payment = simulator
        .ledger()
        .payment(&TransactionId::new(&id).unwrap())
        .expect("in the ledger");
    assert_eq!(payment.amount.cents(), 1234);

    let void = rest(&simulator, VOID, void_body(&id)).await;
    assert_eq!(void.status, StatusCode::OK, "{}", void.body);
    let answer = void.json();
    assert_eq!(
        answer["TransactionID"],
        id.as_str(),
        "a void keeps the payment's ID"
    );
    assert_eq!(answer["TransactionStatus"], "C");
    assert_eq!(answer["PrimaryTransactionStatus"], "V");
    assert_eq!(answer["PrimaryTransactionID"], id.as_str());
    assert_eq!(answer["ResponseCode"], "000");
    assert_eq!(status_of(&simulator, &id), Some(PaymentStatus::Voided));
    // The answer reads as the crate's model.
    let model: instamed_soap::rest::PaymentAnswer = serde_json::from_str(&void.body).unwrap();
    assert_eq!(
        model.primary_transaction_status,
        Some(instamed_soap::rest::TransactionStatus::Voided)
    );
    simulator.shutdown().await;
}

/// The refusals, in both styles: a decline is 200 with `D`; a fault is 422 whose error body
/// still carries the statuses.
#[tokio::test]
async fn refusals_carry_their_statuses_in_both_styles() {
    for style in [RefusalStyle::Decline, RefusalStyle::Fault] {
        let simulator = start(SimulatorConfig::default().with_refusal_style(style)).await;
        let expected_status = match style {
            RefusalStyle::Decline => StatusCode::OK,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };

        // Already voided.
        let voided = new_payment(&simulator);
        let first = rest(&simulator, VOID, void_body(voided.as_str())).await;
        assert_eq!(first.status, StatusCode::OK);
        let again = rest(&simulator, VOID, void_body(voided.as_str())).await;
        assert_eq!(again.status, expected_status, "{style}: {}", again.body);
        assert_eq!(again.field("TransactionStatus").as_deref(), Some("D"));
        assert_eq!(
            again.field("PrimaryTransactionStatus").as_deref(),
            Some("V")
        );
        assert_eq!(again.field("ResponseCode").as_deref(), Some("012"));
        if style == RefusalStyle::Fault {
            assert!(again.field("Message").is_some(), "{}", again.body);
        }

        // Not voidable: the funds transfer began.
        let late = new_payment(&simulator);
        simulator.ledger().start_transfer(&late).unwrap();
        let refused = rest(&simulator, VOID, void_body(late.as_str())).await;
        assert_eq!(refused.status, expected_status, "{style}: {}", refused.body);
        assert_eq!(refused.field("TransactionStatus").as_deref(), Some("D"));
        assert_eq!(
            refused.field("PrimaryTransactionStatus").as_deref(),
            Some("S")
        );
        assert_eq!(
            status_of(&simulator, late.as_str()),
            Some(PaymentStatus::Captured)
        );

        // Unknown payment, and another outlet's payment.
        let unknown = rest(
            &simulator,
            VOID,
            void_body("0123456789ABCDEF0123456789ABCDEF"),
        )
        .await;
        assert_eq!(unknown.status, expected_status, "{style}: {}", unknown.body);
        assert_eq!(unknown.field("TransactionStatus").as_deref(), Some("D"));
        assert_eq!(unknown.field("PrimaryTransactionStatus"), None);
        let elsewhere = new_payment(&simulator);
        let mut body = void_body(elsewhere.as_str());
        body["Outlet"]["TerminalID"] = json!("999");
        let other = rest(&simulator, VOID, body).await;
        assert_eq!(other.field("TransactionStatus").as_deref(), Some("D"));
        assert_eq!(other.field("PrimaryTransactionStatus"), None);
        assert_eq!(
            status_of(&simulator, elsewhere.as_str()),
            Some(PaymentStatus::Captured)
        );

        // A field the service refuses is a rejected request: 400 whatever the style.
        let mut body = void_body(elsewhere.as_str());
        body["Outlet"]["MerchantID"] = json!("");
        let invalid = rest(&simulator, VOID, body).await;
        assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.body);
        assert_eq!(invalid.field("ResponseCode").as_deref(), Some("400"));
        assert!(
            invalid
                .field("Message")
                .unwrap()
                .contains("MerchantID is required")
        );
        let bad_card = rest(
            &simulator,
            SALE,
            json!({"Outlet": outlet_json(), "Amount": "1.00",
                   "Card": {"CardNumber": "4111111111111112", "CardExpiration": "1229"}}),
        )
        .await;
        assert_eq!(
            bad_card.status,
            StatusCode::BAD_REQUEST,
            "{}",
            bad_card.body
        );
        assert_eq!(bad_card.field("ResponseCode").as_deref(), Some("014"));
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn a_missing_or_wrong_key_pair_gets_401_and_changes_nothing() {
    let simulator =
        start(SimulatorConfig::default().with_api_keys([("clinic-key", "s3cr3t-value")])).await;
    let payment = new_payment(&simulator);
    let body = void_body(payment.as_str()).to_string();
    let basic = basic();
    let cases: [&[(&str, &str)]; 6] = [
        &[("content-type", "application/json")],
        &[
            ("content-type", "application/json"),
            ("api-key", "clinic-key"),
        ],
        &[
            ("content-type", "application/json"),
            ("api-key", "clinic-key"),
            ("api-secret", "s3cr3t-valu"),
        ],
        &[
            ("content-type", "application/json"),
            ("api-key", "clinic-kez"),
            ("api-secret", "s3cr3t-value"),
        ],
        // The default demo pair is not accepted once pairs are configured.
        &[
            ("content-type", "application/json"),
            ("api-key", DEMO_API_KEY),
            ("api-secret", DEMO_API_SECRET),
        ],
        // HTTP Basic signs in to SOAP and NVP, not to REST.
        &[
            ("content-type", "application/json"),
            ("authorization", &basic),
        ],
    ];
    for headers in cases {
        let answer = send(&simulator, Method::POST, VOID, headers, body.clone())
            .await
            .expect("an answer");
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert!(answer.field("Message").is_some(), "{}", answer.body);
        assert!(!answer.body.contains("s3cr3t"), "{}", answer.body);
    }
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );
    let right = send(
        &simulator,
        Method::POST,
        VOID,
        &[
            ("content-type", "application/json"),
            ("api-key", "clinic-key"),
            ("api-secret", "s3cr3t-value"),
        ],
        body,
    )
    .await
    .expect("an answer");
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);
    simulator.shutdown().await;
}

#[tokio::test]
async fn bodies_that_are_not_the_model_get_400() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let post = |path: &'static str, body: String| {
        let simulator = &simulator;
        async move {
            send(simulator, Method::POST, path, &REST_HEADERS, body)
                .await
                .expect("an answer")
        }
    };
    let cases = [
        (VOID, "{\"Outlet\":".to_owned(), "not JSON"),
        (VOID, "[]".to_owned(), "wrong type"),
        (VOID, String::new(), "not JSON"),
        (
            VOID,
            json!({"Outlet": outlet_json()}).to_string(),
            "TransactionID is required",
        ),
        (
            REFUND,
            json!({"Outlet": outlet_json(), "TransactionID": payment.as_str()}).to_string(),
            "Amount is required",
        ),
        (
            REFUND,
            json!({"Outlet": outlet_json(), "TransactionID": payment.as_str(), "Amount": 1.5})
                .to_string(),
            "wrong type",
        ),
        (
            REFUND,
            json!({"Outlet": outlet_json(), "TransactionID": payment.as_str(), "Amount": "1.505"})
                .to_string(),
            "wrong type",
        ),
        (
            SALE,
            json!({"Outlet": outlet_json(), "Amount": "1.00",
                   "Card": {"CardNumber": 4111111111111111u64, "CardExpiration": "1229"}})
            .to_string(),
            "wrong type",
        ),
    ];
    for (path, body, expected) in cases {
        let answer = post(path, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.body
        );
        let message = answer.field("Message").expect("a message");
        assert!(message.contains(expected), "{body}: {message}");
        assert!(!answer.body.contains("4111"), "{}", answer.body);
        assert_eq!(
            answer.field("TransactionStatus"),
            None,
            "nothing was judged"
        );
    }
    // A zero refund is read, then refused by the rules as a rejected request.
    let zero = rest(
        &simulator,
        REFUND,
        json!({"Outlet": outlet_json(), "TransactionID": payment.as_str(), "Amount": "0.00"}),
    )
    .await;
    assert_eq!(zero.status, StatusCode::BAD_REQUEST, "{}", zero.body);
    assert!(
        zero.field("Message")
            .unwrap()
            .contains("Amount must be more than zero")
    );
    assert_eq!(simulator.ledger().len(), 1, "nothing was created");
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );
    simulator.shutdown().await;
}

/// An amount written as a JSON number may already have been through a float (`0.1 + 0.2` is
/// `0.30000000000000004`): the service never reads one, whatever digits it has, so no refund
/// or sale is made of an amount nobody wrote.
#[tokio::test]
async fn a_rest_amount_given_as_a_json_number_is_refused_never_rounded() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let outlet = outlet_json().to_string();
    for amount in [
        "10.005",
        "1e2",
        "4.10000000000000000001",
        "0.30000000000000004",
        "4",
        "4.00",
    ] {
        for (path, body) in [
            (
                REFUND,
                format!(
                    r#"{{"Outlet":{outlet},"TransactionID":"{}","Amount":{amount}}}"#,
                    payment.as_str()
                ),
            ),
            (
                SALE,
                format!(
                    r#"{{"Outlet":{outlet},"Amount":{amount},"Card":{{"CardNumber":"4111111111111111","CardExpiration":"1229"}}}}"#
                ),
            ),
        ] {
            let answer = send(&simulator, Method::POST, path, &REST_HEADERS, body.clone())
                .await
                .expect("an answer");
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{body}: {}",
                answer.body
            );
            assert_eq!(answer.field("TransactionStatus"), None, "{body}");
        }
    }
    assert_eq!(simulator.ledger().len(), 1, "nothing was created");
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );
    simulator.shutdown().await;
}

#[tokio::test]
async fn media_types_methods_and_paths_are_checked() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let body = void_body(payment.as_str()).to_string();
    let keys = [("api-key", DEMO_API_KEY), ("api-secret", DEMO_API_SECRET)];
    for content_type in [
        Some("text/plain"),
        Some("application/xml"),
        Some("application/x-www-form-urlencoded"),
        Some("text/json-ish"),
        None,
    ] {
        let mut headers = keys.to_vec();
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        let answer = send(&simulator, Method::POST, VOID, &headers, body.clone())
            .await
            .expect("an answer");
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert!(answer.field("Message").is_some());
    }
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );

    let get = send(&simulator, Method::GET, VOID, &REST_HEADERS, "")
        .await
        .expect("an answer");
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.header("allow"), "POST");

    for path in ["/rest/payment/refund", "/rest/payment/void/x", "/rest/"] {
        let answer = send(&simulator, Method::POST, path, &REST_HEADERS, body.clone())
            .await
            .expect("an answer");
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(answer.field("Message").is_some());
    }

    // Parameters on the media type are fine, and paths match in any case, as IIS does.
    let answer = send(
        &simulator,
        Method::POST,
        "/REST/Payment/Void",
        &[
            keys[0],
            keys[1],
            ("content-type", "Application/JSON; charset=utf-8"),
        ],
        body,
    )
    .await
    .expect("an answer");
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Voided)
    );
    simulator.shutdown().await;
}

/// One ledger behind three protocols: what one protocol did, the others see.
#[tokio::test]
async fn rest_soap_and_nvp_share_one_ledger() {
    let simulator = start(SimulatorConfig::default()).await;

    // A sale over REST, voided over SOAP 1.2; REST then sees it voided.
    let sale = rest(
        &simulator,
        SALE,
        json!({"Outlet": outlet_json(), "Amount": "5.00",
               "Card": {"CardNumber": "5500000000000004", "CardExpiration": "0130",
                        "CardVerificationNumber": "123"}}),
    )
    .await;
    let rest_sale = sale.field("TransactionID").expect("an ID");
    let soap_void = soap(
        &simulator,
        true,
        "DoCreditCardSecondaryVoid",
        &[
            ("MerchantID", "123123123"),
            ("StoreID", "123"),
            ("TerminalID", "456"),
            ("PrimaryTransactionID", &rest_sale),
        ],
    )
    .await;
    assert_eq!(
        xml_text(&soap_void.body, "PrimaryTransactionStatus").as_deref(),
        Some("V")
    );
    let again = rest(&simulator, VOID, void_body(&rest_sale)).await;
    assert_eq!(again.field("TransactionStatus").as_deref(), Some("D"));
    assert_eq!(
        again.field("PrimaryTransactionStatus").as_deref(),
        Some("V")
    );

    // A sale over SOAP 1.1, voided over REST; NVP then sees it voided.
    let soap_sale = soap(
        &simulator,
        false,
        "DoCreditCardAuthAndCapt",
        &[
            ("MerchantID", "123123123"),
            ("StoreID", "123"),
            ("TerminalID", "456"),
            ("CardNumber", "4111111111111111"),
            ("Amount", "7.50"),
        ],
    )
    .await;
    let soap_sale = xml_text(&soap_sale.body, "TransactionID").expect("an ID");
    let void = rest(&simulator, VOID, void_body(&soap_sale)).await;
    assert_eq!(void.status, StatusCode::OK, "{}", void.body);
    assert_eq!(void.field("PrimaryTransactionStatus").as_deref(), Some("V"));
    let nvp_void = nvp(
        &simulator,
        &[
            ("transactionType", "CreditCard"),
            ("transactionAction", "Void"),
            ("merchantID", "123123123"),
            ("storeID", "123"),
            ("terminalID", "456"),
            ("primaryTransactionID", &soap_sale),
        ],
    )
    .await;
    assert_eq!(
        form_value(&nvp_void.body, "transactionStatus").as_deref(),
        Some("D")
    );
    assert_eq!(
        form_value(&nvp_void.body, "primaryTransactionStatus").as_deref(),
        Some("V")
    );

    // A sale over NVP, refunded over REST, refunded again over SOAP up to what is left.
    let nvp_sale = nvp(
        &simulator,
        &[
            ("transactionType", "CreditCard"),
            ("transactionAction", "Sale"),
            ("merchantID", "123123123"),
            ("storeID", "123"),
            ("terminalID", "456"),
            ("amount", "10.00"),
        ],
    )
    .await;
    let nvp_sale = form_value(&nvp_sale.body, "transactionID").expect("an ID");
    let refund = rest(
        &simulator,
        REFUND,
        json!({"Outlet": outlet_json(), "TransactionID": nvp_sale, "Amount": "6.00"}),
    )
    .await;
    assert_eq!(
        refund.field("TransactionStatus").as_deref(),
        Some("C"),
        "{}",
        refund.body
    );
    let soap_refund = soap(
        &simulator,
        false,
        "DoCreditCardSimpleRefund",
        &[
            ("MerchantID", "123123123"),
            ("StoreID", "123"),
            ("TerminalID", "456"),
            ("PrimaryTransactionID", &nvp_sale),
            ("Amount", "4.01"),
        ],
    )
    .await;
    assert_eq!(
        xml_text(&soap_refund.body, "ResponseCode").as_deref(),
        Some("013")
    );
    simulator.shutdown().await;
}

async fn one_fault(
    plan: FaultPlan,
) -> (
    Simulator,
    TransactionId,
    Result<raw_https::RawResponse, String>,
) {
    let simulator = start(SimulatorConfig::default().with_faults(plan.with_max_faults(1))).await;
    let payment = new_payment(&simulator);
    let answer = send(
        &simulator,
        Method::POST,
        VOID,
        &REST_HEADERS,
        void_body(payment.as_str()).to_string(),
    )
    .await;
    (simulator, payment, answer)
}

/// The injector applies to REST: each fault replaces processing (the ledger is untouched),
/// except a cut answer, which is cut after the void was made.
#[tokio::test]
async fn injected_faults_apply_to_rest() {
    let (simulator, payment, answer) = one_fault(FaultPlan::seeded(1).with_fault_rate(1.0)).await;
    let answer = answer.expect("an answer");
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        answer.field("Message").as_deref(),
        Some("An error has occurred.")
    );
    assert_eq!(answer.field("TransactionStatus"), None);
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );
    // Only the first request failed (max_faults): the next is processed.
    let next = rest(&simulator, VOID, void_body(payment.as_str())).await;
    assert_eq!(next.status, StatusCode::OK);
    simulator.shutdown().await;

    let (simulator, payment, answer) =
        one_fault(FaultPlan::seeded(1).with_bare_fault_rate(1.0)).await;
    let answer = answer.expect("an answer");
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.body, "", "a 500 without a body");
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );
    simulator.shutdown().await;

    let (simulator, payment, answer) =
        one_fault(FaultPlan::seeded(1).with_unavailable_rate(1.0)).await;
    assert_eq!(
        answer.expect("an answer").status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );
    simulator.shutdown().await;

    let (simulator, payment, answer) = one_fault(FaultPlan::seeded(1).with_reset_rate(1.0)).await;
    assert!(
        answer.is_err(),
        "the connection closes without an answer: {answer:?}"
    );
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );
    simulator.shutdown().await;

    let (simulator, payment, answer) =
        one_fault(FaultPlan::seeded(1).with_malformed_rate(1.0)).await;
    let answer = answer.expect("an answer");
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .header("content-type")
            .starts_with("application/json")
    );
    assert!(serde_json::from_str::<serde_json::Value>(&answer.body).is_err());
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Captured)
    );
    simulator.shutdown().await;

    let (simulator, payment, answer) =
        one_fault(FaultPlan::seeded(1).with_truncate_rate(1.0)).await;
    let answer = answer.expect("an answer");
    assert!(
        serde_json::from_str::<serde_json::Value>(&answer.body).is_err(),
        "{}",
        answer.body
    );
    assert!(answer.body.starts_with("{\""), "{}", answer.body);
    assert_eq!(
        status_of(&simulator, payment.as_str()),
        Some(PaymentStatus::Voided),
        "a cut answer is cut after the void was made"
    );
    simulator.shutdown().await;

    // Latency delays the answer, after processing.
    let plan = FaultPlan::seeded(1).with_latency(std::time::Duration::from_millis(300));
    let simulator = start(SimulatorConfig::default().with_faults(plan)).await;
    let payment = new_payment(&simulator);
    let started = std::time::Instant::now();
    let answer = rest(&simulator, VOID, void_body(payment.as_str())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    simulator.shutdown().await;
}

/// With no key pair configured, REST refuses everyone while SOAP still works.
#[tokio::test]
async fn no_key_pair_means_no_rest() {
    let simulator =
        start(SimulatorConfig::default().with_api_keys(Vec::<(String, String)>::new())).await;
    let payment = new_payment(&simulator);
    let answer = rest(&simulator, VOID, void_body(payment.as_str())).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let soap_void = soap(
        &simulator,
        false,
        "DoCreditCardSecondaryVoid",
        &[
            ("MerchantID", "123123123"),
            ("StoreID", "123"),
            ("TerminalID", "456"),
            ("PrimaryTransactionID", payment.as_str()),
        ],
    )
    .await;
    assert_eq!(
        xml_text(&soap_void.body, "PrimaryTransactionStatus").as_deref(),
        Some("V")
    );
    simulator.shutdown().await;
}
