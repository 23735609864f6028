//! Simple refunds and the void-or-refund policy through the client, over SOAP 1.1, SOAP 1.2,
//! NVP and REST, against the simulator over TLS on loopback: refunded with its own transaction
//! ID, over the refundable amount, too old, unknown payment, unknown outcome (never retried);
//! and a refund only after a known not-voidable refusal, never after an unknown void outcome.

#![cfg(feature = "simulator")]

mod support;

use std::time::{Duration, SystemTime};

use instamed_soap::rest::Amount;
use instamed_soap::simulator::{
    DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_PASSWORD, FaultPlan, Simulator,
    SimulatorConfig,
};
use instamed_soap::{
    ApiKey, Client, Credentials, Error, Protocol, RefundRequest, RetryPolicy, TransactionId,
    VoidOrRefund, VoidRequest,
};
use support::{Reply, Server, outlet};

const EVERY: [Protocol; 4] = [
    Protocol::Soap11,
    Protocol::Soap12,
    Protocol::Nvp,
    Protocol::Rest,
];

async fn start(config: SimulatorConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts")
}

fn client(simulator: &Simulator, protocol: Protocol) -> Client {
    let endpoint = if protocol == Protocol::Rest {
        simulator.rest_base()
    } else {
        simulator.endpoint()
    };
    let mut builder = Client::builder(endpoint)
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .api_key(ApiKey::new(DEMO_API_KEY, DEMO_API_SECRET))
        .protocol(protocol)
        .timeout(Duration::from_secs(5));
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build().expect("client")
}

fn payment(simulator: &Simulator, amount: &str) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), amount)
        .expect("payment")
}

fn cents(text: &str) -> Amount {
    text.parse().expect("amount")
}

fn refund_of(id: &TransactionId, amount: &str) -> RefundRequest {
    RefundRequest::new(outlet(), id.clone(), cents(amount)).expect("refund request")
}

#[tokio::test]
async fn refunds_over_every_protocol_get_their_own_id_and_stop_at_what_is_left() {
    let simulator = start(SimulatorConfig::default()).await;
    for protocol in EVERY {
        let client = client(&simulator, protocol);
        let id = payment(&simulator, "10.00");
        let first = client
            .refund(&refund_of(&id, "4.00"))
            .await
            .expect("refunded");
        assert_eq!(first.protocol, protocol);
        assert_eq!(first.transaction_status, "C");
        assert_eq!(first.amount, cents("4.00"));
        assert!(
            !first.refund_id.is_empty() && !id.matches(&first.refund_id),
            "{first:?}"
        );
        let second = client
            .refund(&refund_of(&id, "6.00"))
            .await
            .expect("the rest");
        assert_ne!(second.refund_id, first.refund_id);
        let over = client.refund(&refund_of(&id, "0.01")).await.unwrap_err();
        assert!(
            matches!(over, Error::OverRefundable(_)),
            "{protocol}: {over:?}"
        );
        assert!(!over.outcome_unknown() && over.is_refusal());
    }
}

#[tokio::test]
async fn too_old_and_unknown_payments_are_typed_refusals_over_every_protocol() {
    let simulator = start(SimulatorConfig::default()).await;
    let old = simulator
        .ledger()
        .create_payment_at(
            &outlet(),
            "5.00",
            SystemTime::now() - Duration::from_secs(400 * 24 * 60 * 60),
        )
        .expect("old payment");
    let stranger = TransactionId::new("0123456789ABCDEF0123456789ABCDEF").expect("id");
    for protocol in EVERY {
        let client = client(&simulator, protocol);
        let too_old = client.refund(&refund_of(&old, "1.00")).await.unwrap_err();
        assert!(
            matches!(too_old, Error::RefundWindowPassed(_)),
            "{protocol}: {too_old:?}"
        );
        let unknown = client
            .refund(&refund_of(&stranger, "1.00"))
            .await
            .unwrap_err();
        assert!(
            matches!(unknown, Error::UnknownTransaction(_)),
            "{protocol}: {unknown:?}"
        );
        // A voided payment cannot be refunded: declined, and its status says it is voided.
        let voided = payment(&simulator, "3.00");
        client
            .void(&VoidRequest::new(outlet(), voided.clone()))
            .await
            .expect("voided");
        let declined = client
            .refund(&refund_of(&voided, "1.00"))
            .await
            .unwrap_err();
        assert!(
            matches!(declined, Error::Declined(_)),
            "{protocol}: {declined:?}"
        );
    }
}

#[test]
fn amounts_are_validated_before_anything_is_sent() {
    let id = TransactionId::new("EE52401813A74328AAA7D93319FF4383").expect("id");
    let zero = RefundRequest::new(outlet(), id, Amount::from_cents(0)).unwrap_err();
    assert_eq!(zero.field, "Amount");
    for bad in ["4.001", "-4", "4,00", "1e2", ""] {
        assert!(bad.parse::<Amount>().is_err(), "{bad}");
    }
}

#[tokio::test]
async fn an_injected_fault_leaves_a_refund_unknown_with_what_settles_it_by_hand() {
    let faults = FaultPlan::seeded(3).with_fault_rate(1.0);
    let simulator = start(SimulatorConfig::default().with_faults(faults)).await;
    for protocol in EVERY {
        let id = payment(&simulator, "9.00");
        let error = client(&simulator, protocol)
            .refund(&refund_of(&id, "4.00"))
            .await
            .unwrap_err();
        let Error::RefundOutcomeUnknown(unsettled) = &error else {
            panic!("{protocol}: {error:?}");
        };
        assert!(error.outcome_unknown());
        assert_eq!(unsettled.amount, cents("4.00"));
        assert_eq!(unsettled.protocol, protocol);
        assert!(unsettled.payment.matches(id.as_str()));
        let said = error.report().to_string();
        assert!(
            said.contains(id.as_str()) && said.contains("4.00"),
            "{said}"
        );
        assert!(
            said.contains(protocol.as_str()) && said.contains("GMT"),
            "{said}"
        );
        // The cause is one step down the chain, said once.
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(said.matches("may have been made").count(), 1, "{said}");
    }
}

#[tokio::test]
async fn an_unknown_refund_is_sent_once_even_with_a_retry_policy() {
    let server = Server::start(|_| Reply::new(502, "text/plain", "bad gateway")).await;
    let client = Client::builder(&server.url)
        .credentials(Credentials::new("acct", "pw"))
        .ca_certificate_file(&server.ca_path)
        .retry_policy(RetryPolicy::before_sending(3, Duration::from_millis(1)))
        .build()
        .expect("client");
    let id = TransactionId::new("EE52401813A74328AAA7D93319FF4383").expect("id");
    let error = client.refund(&refund_of(&id, "1.00")).await.unwrap_err();
    assert!(matches!(error, Error::RefundOutcomeUnknown(_)), "{error:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn void_or_refund_voids_when_it_can_and_refunds_only_when_too_late() {
    let simulator = start(SimulatorConfig::default()).await;
    for protocol in EVERY {
        let client = client(&simulator, protocol);
        let fresh = payment(&simulator, "8.00");
        let voided = client
            .void_or_refund(&VoidRequest::new(outlet(), fresh), cents("8.00"))
            .await
            .expect("voided");
        assert!(matches!(voided, VoidOrRefund::Voided(_)), "{voided:?}");

        let moving = payment(&simulator, "8.00");
        simulator
            .ledger()
            .start_transfer(&moving)
            .expect("transfer");
        let refunded = client
            .void_or_refund(&VoidRequest::new(outlet(), moving.clone()), cents("8.00"))
            .await
            .expect("refunded");
        let VoidOrRefund::Refunded(receipt) = refunded else {
            panic!("{protocol}: {refunded:?}");
        };
        assert!(receipt.payment.matches(moving.as_str()));
        assert!(!moving.matches(&receipt.refund_id));
    }
}

#[tokio::test]
async fn void_or_refund_never_refunds_after_an_unknown_void_outcome() {
    // Every answer to a void is a Server fault; a refund would be answered: it must never come.
    let server = Server::start(|exchange| {
        let body = exchange.body_text();
        if body.contains("SimpleRefund") {
            Reply::new(200, "text/plain", "should never be asked")
        } else {
            Reply::new(500, "text/plain", "Server was unable to process request.")
        }
    })
    .await;
    let client = Client::builder(&server.url)
        .credentials(Credentials::new("acct", "pw"))
        .ca_certificate_file(&server.ca_path)
        .build()
        .expect("client");
    let id = TransactionId::new("EE52401813A74328AAA7D93319FF4383").expect("id");
    let error = client
        .void_or_refund(&VoidRequest::new(outlet(), id), cents("1.00"))
        .await
        .unwrap_err();
    assert!(error.outcome_unknown(), "{error:?}");
    assert!(!matches!(error, Error::RefundOutcomeUnknown(_)));
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "only the void was sent");
    assert!(!seen[0].body_text().contains("SimpleRefund"));
}
