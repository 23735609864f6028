//! Simple refunds and the void-or-refund policy through the client, over SOAP 1.1, SOAP 1.2,
//! NVP and REST, against the simulator over TLS on loopback: refunded with its own transaction
//! ID, over the refundable amount, too old, unknown payment, unknown outcome (never retried);
//! and a refund only after a known not-voidable refusal, never after an unknown void outcome.

use instamed_soap_test_support as support;
use instamed_soap_test_support::simulated::client;

use std::time::{Duration, SystemTime};

use instamed_soap::rest::Amount;
use instamed_soap::{
    ApiKey, Client, Credentials, Error, Protocol, RefundRequest, RetryPolicy, TransactionId,
    VoidOrRefund, VoidRequest,
};
use instamed_soap_simulator::{FaultPlan, Simulator, SimulatorConfig};
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
        .retry_policy(RetryPolicy::exponential(3, Duration::from_millis(1)))
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

// ---------------------------------------------------------------------------------------------
// Money moves once: a refund only on statuses about this payment, a refund receipt only for a
// refund. A hand-written server answers each protocol in its own shape.

/// Another payment's ID.
const OTHER: &str = "0000000000000000000000000000ABCD";

/// Whether the hand-written server was asked for a refund rather than a void.
fn asks_refund(exchange: &support::Received) -> bool {
    exchange.path.contains("refund-simple") || exchange.body_text().contains("SimpleRefund")
}

/// An answer with `fields` (SOAP result names) in the shape of the protocol `exchange` came
/// over: a SOAP result of the operation asked for, NVP pairs or REST JSON, all with HTTP 200.
fn answer_with(exchange: &support::Received, fields: &[(&str, &str)]) -> Reply {
    if exchange.path.contains("/rest/") {
        let object: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).into()))
            .collect();
        return Reply::new(
            200,
            "application/json; charset=utf-8",
            serde_json::Value::Object(object).to_string(),
        );
    }
    if exchange.path.contains("NVP.aspx") {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields {
            // NVP writes the same names with a lower-case first letter.
            let mut key = name.to_owned().to_owned();
            key[..1].make_ascii_lowercase();
            form.append_pair(&key, value);
        }
        return Reply::new(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            form.finish(),
        );
    }
    let version = support::version_of(exchange);
    let operation = if asks_refund(exchange) {
        "DoCreditCardSimpleRefund"
    } else {
        "DoCreditCardSecondaryVoid"
    };
    let children: String = fields
        .iter()
        .map(|(name, value)| format!("<{name}>{value}</{name}>"))
        .collect();
    let body = support::envelope(
        version,
        &format!(
            "<{operation}Response xmlns=\"{}\"><{operation}Result>{children}</{operation}Result></{operation}Response>",
            support::TNS
        ),
    );
    Reply::xml(200, version, body)
}

/// A refund that went through, with its own new ID: what a refund must never be asked for in
/// the tests that check no refund is made.
const REFUNDED: &[(&str, &str)] = &[
    ("TransactionID", "R0000000000000000000000000000001"),
    ("TransactionStatus", "C"),
    ("ResponseCode", "000"),
    ("ResponseMessage", "APPROVED"),
    ("PrimaryTransactionID", support::PAYMENT),
];

/// A client of a hand-written server over `protocol` (REST under the server's origin).
fn hostile_client(server: &Server, protocol: Protocol) -> Client {
    let endpoint = if protocol == Protocol::Rest {
        server
            .url
            .trim_end_matches("/payment/service.asmx")
            .to_owned()
    } else {
        server.url.clone()
    };
    Client::builder(endpoint)
        .credentials(Credentials::new("acct@clinic.example", "pa55word"))
        .api_key(ApiKey::new("key-1", "secret-1"))
        .protocol(protocol)
        .ca_certificate_file(&server.ca_path)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// `void_or_refund` of the test payment against a server answering a void with `void` and a
/// refund with [`REFUNDED`]; the result and how many refunds were asked for.
async fn void_or_refund_against(
    protocol: Protocol,
    void: impl Fn(&support::Received) -> Reply + Send + Sync + 'static,
) -> (Result<VoidOrRefund, Error>, usize) {
    let server = Server::start(move |exchange| {
        if asks_refund(exchange) {
            answer_with(exchange, REFUNDED)
        } else {
            void(exchange)
        }
    })
    .await;
    let id = TransactionId::new(support::PAYMENT).expect("id");
    let result = hostile_client(&server, protocol)
        .void_or_refund(&VoidRequest::new(outlet(), id), cents("1.00"))
        .await;
    let refunds = server.requests().iter().filter(|e| asks_refund(e)).count();
    (result, refunds)
}

/// Declines without a payment status whose words a reader of words took for "too late": each
/// once made `void_or_refund` refund the payment.
const NOT_SETTLED_WORDS: &[&str] = &[
    "Void declined: the payment isn't settled yet",
    "Payment hasn't settled",
    "Declined: no funds transfer has started",
    "Declined, it is not too late",
];

#[tokio::test]
async fn void_or_refund_never_refunds_on_words_alone() {
    for protocol in EVERY {
        for &words in NOT_SETTLED_WORDS {
            let (result, refunds) = void_or_refund_against(protocol, move |exchange| {
                answer_with(
                    exchange,
                    &[
                        ("TransactionStatus", "D"),
                        ("ResponseCode", "051"),
                        ("ResponseMessage", words),
                        ("PrimaryTransactionID", support::PAYMENT),
                    ],
                )
            })
            .await;
            let what = format!("{protocol}, {words:?}: {result:?}");
            assert_eq!(refunds, 0, "{what}");
            // A decline, reported with its own words: known, nothing voided, no refund.
            match &result {
                Err(Error::Declined(refusal)) => {
                    assert_eq!(refusal.response_message.as_deref(), Some(words), "{what}");
                }
                _ => panic!("{what}"),
            }
        }
    }
    // A Client fault and an NVP request error say the request was rejected; their words alone
    // are no declined void of a payment known to be there.
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let (result, refunds) = void_or_refund_against(protocol, |exchange| {
            let version = support::version_of(exchange);
            Reply::xml(
                500,
                version,
                support::fault(version, true, "Void rejected: no funds transfer", ""),
            )
        })
        .await;
        assert_eq!(refunds, 0, "{protocol}: {result:?}");
        let error = result.unwrap_err();
        assert!(matches!(error, Error::Fault(_)), "{protocol}: {error:?}");
        assert!(!error.outcome_unknown(), "{error:?}");
    }
    let (result, refunds) = void_or_refund_against(Protocol::Nvp, |_| {
        Reply::new(
            200,
            "application/x-www-form-urlencoded; charset=utf-8",
            "errorCode=400&errorMessage=Void+declined%3A+the+payment+isn%27t+settled",
        )
    })
    .await;
    assert_eq!(refunds, 0, "{result:?}");
    let error = result.unwrap_err();
    assert!(matches!(error, Error::NvpError(_)), "{error:?}");
}

#[tokio::test]
async fn void_or_refund_refunds_on_a_declined_void_of_a_payment_there_and_not_voided() {
    for protocol in EVERY {
        // S and SE say "not voidable" whatever the words; another status with words that say so.
        for (primary, words) in [
            ("S", "DECLINED"),
            ("SE", "Declined, it is not too late"),
            ("C", "Void not allowed: funds transfer initiated"),
        ] {
            let (result, refunds) = void_or_refund_against(protocol, move |exchange| {
                answer_with(
                    exchange,
                    &[
                        ("TransactionStatus", "D"),
                        ("ResponseMessage", words),
                        ("PrimaryTransactionID", support::PAYMENT),
                        ("PrimaryTransactionStatus", primary),
                    ],
                )
            })
            .await;
            let what = format!("{protocol}, {primary} {words:?}: {result:?}");
            assert_eq!(refunds, 1, "{what}");
            assert!(matches!(result, Ok(VoidOrRefund::Refunded(_))), "{what}");
        }
    }
}

#[tokio::test]
async fn void_or_refund_never_refunds_after_a_decline_about_another_transaction() {
    for protocol in EVERY {
        for (own, primary) in [(OTHER, support::PAYMENT), (support::PAYMENT, OTHER)] {
            let (result, refunds) = void_or_refund_against(protocol, move |exchange| {
                answer_with(
                    exchange,
                    &[
                        ("TransactionID", own),
                        ("TransactionStatus", "D"),
                        (
                            "ResponseMessage",
                            "Void not allowed: funds transfer initiated",
                        ),
                        ("PrimaryTransactionID", primary),
                        ("PrimaryTransactionStatus", "S"),
                    ],
                )
            })
            .await;
            let what = format!("{protocol}, {own}/{primary}: {result:?}");
            assert_eq!(refunds, 0, "{what}");
            let error = result.unwrap_err();
            assert!(
                matches!(&error, Error::MalformedAnswer { problem, .. }
                    if matches!(**problem, instamed_soap::AnswerProblem::Inconsistent(_))),
                "{what}"
            );
            assert!(error.outcome_unknown(), "{what}");
        }
    }
}

/// The refund of 1.00 on the test payment against a server answering it with `fields`.
async fn refund_against(
    protocol: Protocol,
    fields: &'static [(&'static str, &'static str)],
) -> Error {
    let server = Server::start(move |exchange| answer_with(exchange, fields)).await;
    let id = TransactionId::new(support::PAYMENT).expect("id");
    let error = hostile_client(&server, protocol)
        .refund(&refund_of(&id, "1.00"))
        .await
        .expect_err("no refund receipt");
    assert_eq!(server.requests().len(), 1, "sent once");
    error
}

#[tokio::test]
async fn a_refund_receipt_naming_the_payment_itself_is_an_unknown_outcome() {
    // The payment's own ID is what a void's answer carries: a "receipt" naming it is no refund.
    const THE_PAYMENT: &[(&str, &str)] = &[
        ("TransactionID", "ee52401813a74328aaa7d93319ff4383"),
        ("TransactionStatus", "C"),
        ("ResponseMessage", "APPROVED"),
        ("PrimaryTransactionID", support::PAYMENT),
    ];
    for protocol in EVERY {
        let error = refund_against(protocol, THE_PAYMENT).await;
        assert!(
            matches!(error, Error::RefundOutcomeUnknown(_)) && error.outcome_unknown(),
            "{protocol}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_refund_receipt_with_the_payment_voided_is_an_unknown_outcome() {
    // A void's answer (C, payment V) with a new ID is still no refund. SOAP's refund result has
    // no PrimaryTransactionStatus, so this is NVP and REST.
    const VOIDED: &[(&str, &str)] = &[
        ("TransactionID", "R0000000000000000000000000000001"),
        ("TransactionStatus", "C"),
        ("ResponseMessage", "APPROVED"),
        ("PrimaryTransactionID", support::PAYMENT),
        ("PrimaryTransactionStatus", "V"),
    ];
    for protocol in [Protocol::Nvp, Protocol::Rest] {
        let error = refund_against(protocol, VOIDED).await;
        assert!(
            matches!(error, Error::RefundOutcomeUnknown(_)) && error.outcome_unknown(),
            "{protocol}: {error:?}"
        );
    }
}

#[tokio::test]
async fn too_late_is_not_voidable_on_the_payment_status_over_every_protocol() {
    use instamed_soap_simulator::RefusalStyle;
    for style in [RefusalStyle::Decline, RefusalStyle::Fault] {
        let simulator = start(SimulatorConfig::default().with_refusal_style(style)).await;
        for protocol in EVERY {
            let moving = payment(&simulator, "5.00");
            simulator
                .ledger()
                .start_transfer(&moving)
                .expect("transfer");
            let error = client(&simulator, protocol)
                .void(&VoidRequest::new(outlet(), moving))
                .await
                .unwrap_err();
            let Error::NotVoidable(refusal) = &error else {
                panic!("{style:?} over {protocol}: {error:?}");
            };
            assert_eq!(
                refusal.primary_transaction_status.as_deref().map(str::trim),
                Some("S"),
                "{style:?} over {protocol}: {refusal:?}"
            );
            assert_eq!(
                refusal.transaction_status.as_deref().map(str::trim),
                Some("D")
            );
        }
    }
}
