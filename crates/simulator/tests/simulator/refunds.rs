//! Simple refunds in the simulator, over SOAP 1.1, SOAP 1.2, NVP and REST (TLS on loopback,
//! raw HTTP): tied to one payment, at most what is left, within the refund window, never of a
//! voided payment; a payment with refunds is no longer voidable; refunds are journalled and
//! survive a restart.

use instamed_soap_test_support as support;
use instamed_soap_test_support::raw_https;

use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};
use instamed_soap::{Outlet, TransactionId};
use instamed_soap_simulator::{PaymentStatus, RefusalStyle, Simulator, SimulatorConfig};
use raw_https::{basic, form_value, nvp, rest, send, soap, xml_text};
use serde_json::json;
use support::outlet;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The protocol a request goes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Soap11,
    Soap12,
    Nvp,
    Rest,
}

const EVERY: [Via; 4] = [Via::Soap11, Via::Soap12, Via::Nvp, Via::Rest];

/// What an answer says, whatever the protocol.
#[derive(Debug)]
struct Seen {
    http: StatusCode,
    transaction_id: Option<String>,
    transaction_status: Option<String>,
    response_code: Option<String>,
    primary_status: Option<String>,
    message: Option<String>,
}

const OUTLET: [(&str, &str); 3] = [
    ("MerchantID", "123123123"),
    ("StoreID", "123"),
    ("TerminalID", "456"),
];

async fn start(config: SimulatorConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts")
}

fn payment(simulator: &Simulator, amount: &str) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), amount)
        .expect("payment")
}

fn aged_payment(simulator: &Simulator, amount: &str, age: Duration) -> TransactionId {
    simulator
        .ledger()
        .create_payment_at(&outlet(), amount, SystemTime::now() - age)
        .expect("payment")
}

/// Sends `operation` (`SimpleRefund` or `Void`) of `id` over `via`, and reads the statuses.
async fn call(simulator: &Simulator, via: Via, operation: &str, id: &str, amount: &str) -> Seen {
    match via {
        Via::Soap11 | Via::Soap12 => {
            let name = if operation == "Void" {
                "DoCreditCardSecondaryVoid"
            } else {
                "DoCreditCardSimpleRefund"
            };
            let mut fields = OUTLET.to_vec();
            fields.push(("PrimaryTransactionID", id));
            if operation != "Void" {
                fields.push(("Amount", amount));
            }
            let answer = soap(simulator, via == Via::Soap12, name, &fields).await;
            let text = |local| xml_text(&answer.body, local);
            Seen {
                http: answer.status,
                transaction_id: text("TransactionID"),
                transaction_status: text("TransactionStatus"),
                response_code: text("ResponseCode"),
                primary_status: text("PrimaryTransactionStatus"),
                message: text("ResponseMessage"),
            }
        }
        Via::Nvp => {
            let mut pairs = vec![
                ("transactionType", "CreditCard"),
                ("transactionAction", operation),
                ("merchantID", "123123123"),
                ("storeID", "123"),
                ("terminalID", "456"),
                ("primaryTransactionID", id),
            ];
            if operation != "Void" {
                pairs.push(("amount", amount));
            }
            let answer = nvp(simulator, &pairs).await;
            let value = |key| form_value(&answer.body, key);
            Seen {
                http: answer.status,
                transaction_id: value("transactionID"),
                transaction_status: value("transactionStatus"),
                response_code: value("responseCode"),
                primary_status: value("primaryTransactionStatus"),
                message: value("responseMessage"),
            }
        }
        Via::Rest => {
            let outlet = json!({"MerchantID": "123123123", "StoreID": "123", "TerminalID": "456"});
            let answer = if operation == "Void" {
                rest(
                    simulator,
                    "/rest/payment/void",
                    json!({"Outlet": outlet, "TransactionID": id}),
                )
                .await
            } else {
                rest(
                    simulator,
                    "/rest/payment/refund-simple",
                    json!({"Outlet": outlet, "TransactionID": id, "Amount": amount}),
                )
                .await
            };
            Seen {
                http: answer.status,
                transaction_id: answer.field("TransactionID"),
                transaction_status: answer.field("TransactionStatus"),
                response_code: answer.field("ResponseCode"),
                primary_status: answer.field("PrimaryTransactionStatus"),
                message: answer
                    .field("Message")
                    .or_else(|| answer.field("ResponseMessage")),
            }
        }
    }
}

async fn refund(simulator: &Simulator, via: Via, id: &str, amount: &str) -> Seen {
    call(simulator, via, "SimpleRefund", id, amount).await
}

async fn void(simulator: &Simulator, via: Via, id: &str) -> Seen {
    call(simulator, via, "Void", id, "").await
}

fn refunded(seen: &Seen) -> String {
    assert_eq!(seen.http, StatusCode::OK, "{seen:?}");
    assert_eq!(seen.transaction_status.as_deref(), Some("C"), "{seen:?}");
    assert_eq!(seen.response_code.as_deref(), Some("000"), "{seen:?}");
    seen.transaction_id.clone().expect("the refund's own ID")
}

fn declined(seen: &Seen, code: &str, primary: Option<&str>) {
    assert_eq!(seen.transaction_status.as_deref(), Some("D"), "{seen:?}");
    assert_eq!(seen.response_code.as_deref(), Some(code), "{seen:?}");
    assert_eq!(seen.primary_status.as_deref(), primary, "{seen:?}");
}

fn cents_refunded(simulator: &Simulator, id: &TransactionId) -> u64 {
    simulator
        .ledger()
        .payment(id)
        .expect("payment")
        .refunded
        .cents()
}

#[tokio::test]
async fn partial_refunds_add_up_to_the_payment_and_no_further() {
    let simulator = start(SimulatorConfig::default()).await;
    for via in EVERY {
        let paid = payment(&simulator, "10.00");
        let first = refunded(&refund(&simulator, via, paid.as_str(), "3.00").await);
        assert!(!paid.matches(&first), "{via:?}: a refund gets a new ID");
        let second = refunded(&refund(&simulator, via, paid.as_str(), "3.00").await);
        assert_ne!(first, second);
        // 4.00 is left: one cent more is refused, and nothing changes.
        let over = refund(&simulator, via, paid.as_str(), "4.01").await;
        declined(&over, "013", Some("C"));
        assert_eq!(cents_refunded(&simulator, &paid), 600, "{via:?}");
        refunded(&refund(&simulator, via, paid.as_str(), "4").await);
        declined(
            &refund(&simulator, via, paid.as_str(), "0.01").await,
            "013",
            Some("C"),
        );
        assert_eq!(cents_refunded(&simulator, &paid), 1000, "{via:?}");

        // Each refund is a transaction of its own, tied to the payment.
        let refund = simulator
            .ledger()
            .payment(&TransactionId::new(&first).unwrap())
            .expect("the refund is in the ledger");
        assert_eq!(refund.amount.cents(), 300);
        assert!(
            refund
                .refund_of
                .as_ref()
                .is_some_and(|of| of.matches(paid.as_str()))
        );
        // A refund cannot itself be refunded.
        declined(
            &call(&simulator, via, "SimpleRefund", &first, "1.00").await,
            "012",
            Some("C"),
        );
    }
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_payment_older_than_a_year_cannot_be_refunded() {
    let simulator = start(SimulatorConfig::default()).await;
    for via in EVERY {
        let old = aged_payment(&simulator, "10.00", 366 * DAY);
        let seen = refund(&simulator, via, old.as_str(), "1.00").await;
        declined(&seen, "012", Some("C"));
        assert!(
            seen.message
                .as_deref()
                .unwrap_or("")
                .contains("refund window"),
            "{via:?}: {seen:?}"
        );
        assert_eq!(cents_refunded(&simulator, &old), 0);
        // Just inside the year, it can.
        let recent = aged_payment(&simulator, "10.00", 364 * DAY);
        refunded(&refund(&simulator, via, recent.as_str(), "1.00").await);
    }
    simulator.shutdown().await;
}

#[tokio::test]
async fn unknown_and_voided_payments_cannot_be_refunded() {
    let simulator = start(SimulatorConfig::default()).await;
    for via in EVERY {
        let unknown = refund(&simulator, via, "0123456789ABCDEF0123456789ABCDEF", "1.00").await;
        declined(&unknown, "012", None);

        let paid = payment(&simulator, "10.00");
        assert_eq!(
            void(&simulator, via, paid.as_str())
                .await
                .primary_status
                .as_deref(),
            Some("V")
        );
        let seen = refund(&simulator, via, paid.as_str(), "1.00").await;
        declined(&seen, "012", Some("V"));
        assert_eq!(cents_refunded(&simulator, &paid), 0);

        // Another outlet's payment is unknown here.
        let elsewhere = simulator
            .ledger()
            .create_payment(&Outlet::new("123123123", "123", "999").unwrap(), "5.00")
            .unwrap();
        declined(
            &refund(&simulator, via, elsewhere.as_str(), "1.00").await,
            "012",
            None,
        );
    }
    assert_eq!(simulator.ledger().len(), 8, "no refund was created");
    simulator.shutdown().await;
}

/// A refund means the payment's money moved: a void can no longer undo it (a known
/// not-voidable refusal). Voiding the refund itself gives its amount back.
#[tokio::test]
async fn a_payment_with_refunds_is_not_voidable_until_they_are_voided() {
    let simulator = start(SimulatorConfig::default()).await;
    for via in EVERY {
        let paid = payment(&simulator, "10.00");
        let refund_id = refunded(&refund(&simulator, via, paid.as_str(), "2.50").await);
        let seen = void(&simulator, via, paid.as_str()).await;
        declined(&seen, "012", Some("C"));
        assert_eq!(
            simulator.ledger().status(&paid),
            Some(PaymentStatus::Captured)
        );

        let undone = void(&simulator, via, &refund_id).await;
        assert_eq!(
            undone.transaction_status.as_deref(),
            Some("C"),
            "{undone:?}"
        );
        assert_eq!(undone.primary_status.as_deref(), Some("V"), "{undone:?}");
        assert_eq!(cents_refunded(&simulator, &paid), 0, "{via:?}");
        let voided = void(&simulator, via, paid.as_str()).await;
        assert_eq!(voided.primary_status.as_deref(), Some("V"), "{voided:?}");
    }
    simulator.shutdown().await;
}

#[tokio::test]
async fn rest_refusals_of_refunds_are_422_with_statuses_in_the_fault_style() {
    let simulator = start(SimulatorConfig::default().with_refusal_style(RefusalStyle::Fault)).await;
    let paid = payment(&simulator, "10.00");
    let over = refund(&simulator, Via::Rest, paid.as_str(), "10.01").await;
    assert_eq!(over.http, StatusCode::UNPROCESSABLE_ENTITY);
    declined(&over, "013", Some("C"));
    let old = aged_payment(&simulator, "10.00", 400 * DAY);
    let too_old = refund(&simulator, Via::Rest, old.as_str(), "1.00").await;
    assert_eq!(too_old.http, StatusCode::UNPROCESSABLE_ENTITY);
    declined(&too_old, "012", Some("C"));
    assert!(too_old.message.unwrap().contains("refund window"));
    simulator.shutdown().await;
}

/// The window is a setting; the admin endpoint makes old payments over HTTP.
#[tokio::test]
async fn the_refund_window_is_configurable_and_payments_can_be_made_old() {
    let config = SimulatorConfig::default().with_refund_window(Some(Duration::from_secs(60)));
    let simulator = start(config).await;
    let basic = basic();
    let create = |age: &'static str| {
        let basic = basic.clone();
        let simulator = &simulator;
        async move {
            let mut form = "merchantID=123123123&storeID=123&terminalID=456&amount=9.00".to_owned();
            if !age.is_empty() {
                form.push_str("&ageSeconds=");
                form.push_str(age);
            }
            send(
                simulator,
                Method::POST,
                "/simulator/payments",
                &[
                    ("authorization", &basic),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                form,
            )
            .await
            .expect("an answer")
        }
    };
    let created = create("120").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let old = form_value(&created.body, "transactionID").unwrap();
    let shown = send(
        &simulator,
        Method::GET,
        &format!("/simulator/payments/{old}"),
        &[("authorization", &basic)],
        "",
    )
    .await
    .unwrap();
    let created_ms: u128 = form_value(&shown.body, "createdAtMs")
        .unwrap()
        .parse()
        .unwrap();
    let now_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        (119_000..=125_000).contains(&(now_ms - created_ms)),
        "{}",
        shown.body
    );
    declined(
        &refund(&simulator, Via::Nvp, &old, "1.00").await,
        "012",
        Some("C"),
    );
    let fresh = form_value(&create("").await.body, "transactionID").unwrap();
    refunded(&refund(&simulator, Via::Nvp, &fresh, "1.00").await);
    let shown = send(
        &simulator,
        Method::GET,
        &format!("/simulator/payments/{fresh}"),
        &[("authorization", &basic)],
        "",
    )
    .await
    .unwrap();
    assert_eq!(form_value(&shown.body, "refunded").as_deref(), Some("1.00"));
    for bad in ["+5", "-5", "1.5", "x", "99999999999999"] {
        assert_eq!(create(bad).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    simulator.shutdown().await;

    // No window at all: a two-year-old payment is refundable.
    let simulator = start(SimulatorConfig::default().with_refund_window(None)).await;
    let ancient = aged_payment(&simulator, "3.00", 730 * DAY);
    refunded(&refund(&simulator, Via::Rest, ancient.as_str(), "3.00").await);
    simulator.shutdown().await;
}

#[tokio::test]
async fn refunds_are_journalled_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let journal = dir.path().join("ledger.jsonl");
    let config = || SimulatorConfig::default().with_ledger_file(&journal);

    let simulator = start(config()).await;
    let paid = payment(&simulator, "10.00");
    let old = aged_payment(&simulator, "10.00", 400 * DAY);
    let by_rest = refunded(&refund(&simulator, Via::Rest, paid.as_str(), "4.00").await);
    let by_soap = refunded(&refund(&simulator, Via::Soap11, paid.as_str(), "2.00").await);
    let by_nvp = refunded(&refund(&simulator, Via::Nvp, paid.as_str(), "1.00").await);
    // The NVP refund is voided: its amount is refundable again.
    void(&simulator, Via::Rest, &by_nvp).await;
    simulator.shutdown().await;

    let text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(text.matches("\"refund_of\"").count(), 3, "{text}");

    let simulator = start(config()).await;
    assert_eq!(cents_refunded(&simulator, &paid), 600);
    for id in [&by_rest, &by_soap] {
        let refund = simulator
            .ledger()
            .payment(&TransactionId::new(id).unwrap())
            .expect("the refund survived");
        assert!(
            refund
                .refund_of
                .as_ref()
                .is_some_and(|of| of.matches(paid.as_str()))
        );
    }
    assert_eq!(
        simulator
            .ledger()
            .status(&TransactionId::new(&by_nvp).unwrap()),
        Some(PaymentStatus::Voided)
    );
    declined(
        &refund(&simulator, Via::Soap12, paid.as_str(), "4.01").await,
        "013",
        Some("C"),
    );
    refunded(&refund(&simulator, Via::Soap12, paid.as_str(), "4.00").await);
    // The payment's age survived too.
    declined(
        &refund(&simulator, Via::Rest, old.as_str(), "1.00").await,
        "012",
        Some("C"),
    );
    declined(
        &void(&simulator, Via::Rest, paid.as_str()).await,
        "012",
        Some("C"),
    );
    simulator.shutdown().await;
}
