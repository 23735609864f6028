//! Voids over SOAP 1.1 and 1.2 against a real loopback TLS server: the exact wire the client
//! sends, and what every kind of answer becomes.

use instamed_soap_test_support as support;

use std::time::{Duration, Instant};

use instamed_soap::soap::FaultCode;
use instamed_soap::{
    AnswerProblem, CardPresentStatus, Client, Credentials, Error, Outlet, Protocol, TransactionId,
    VoidRequest,
};
use support::{
    PAYMENT, Reply, Server, TNS, Version, assert_same_xml, fault, request, version_of, void_result,
};

const ACTION: &str =
    "http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid";

fn client_for(server: &Server, protocol: Protocol) -> Client {
    Client::builder(&server.url)
        .credentials(Credentials::new("acct@clinic.example", "pa55:word"))
        .protocol(protocol)
        .ca_certificate_file(&server.ca_path)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

fn voided(exchange: &support::Received, message: &str) -> Reply {
    let version = version_of(exchange);
    Reply::xml(
        200,
        version,
        void_result(
            version,
            &[
                ("MerchantID", "123123123"),
                ("TransactionStatus", "C"),
                ("ResponseCode", "000"),
                ("ResponseMessage", message),
                ("PrimaryTransactionID", PAYMENT),
                ("PrimaryTransactionStatus", "V"),
            ],
        ),
    )
}

/// Starts a server that answers every request with `reply` in the request's SOAP version.
async fn answering(reply: impl Fn(Version) -> Reply + Send + Sync + 'static) -> Server {
    Server::start(move |exchange| reply(version_of(exchange))).await
}

async fn void_error(
    protocol: Protocol,
    reply: impl Fn(Version) -> Reply + Send + Sync + 'static,
) -> Error {
    let server = answering(reply).await;
    client_for(&server, protocol)
        .void(&request())
        .await
        .expect_err("must fail")
}

fn expected_envelope(envelope_ns: &str) -> String {
    format!(
        "<e:Envelope xmlns:e=\"{envelope_ns}\"><e:Body><DoCreditCardSecondaryVoid xmlns=\"{TNS}\"><transaction>\
         <MerchantID>123123123</MerchantID><StoreID>123</StoreID><TerminalID>456</TerminalID>\
         <PrimaryTransactionID>{PAYMENT}</PrimaryTransactionID>\
         <PrimaryCardPresentStatus>PresentEMV</PrimaryCardPresentStatus>\
         </transaction></DoCreditCardSecondaryVoid></e:Body></e:Envelope>"
    )
}

#[tokio::test]
async fn soap11_void_sends_the_exact_wire_and_returns_a_receipt() {
    let server = Server::start(|exchange| voided(exchange, "APPROVED")).await;
    let client = client_for(&server, Protocol::Soap11);
    let receipt = client
        .void(&request().with_card_present_status(CardPresentStatus::PresentEMV))
        .await
        .expect("voided");
    assert_eq!(receipt.payment.as_str(), PAYMENT);
    assert_eq!(receipt.transaction_status, "C");
    assert_eq!(receipt.primary_transaction_status, "V");
    assert_eq!(receipt.response_code.as_deref(), Some("000"));
    assert_eq!(receipt.protocol, Protocol::Soap11);

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let wire = &seen[0];
    assert_eq!(wire.method, http::Method::POST);
    assert_eq!(wire.path, "/payment/service.asmx");
    assert_eq!(wire.header("content-type"), Some("text/xml; charset=utf-8"));
    assert_eq!(
        wire.header("soapaction"),
        Some(format!("\"{ACTION}\"").as_str())
    );
    assert_eq!(
        wire.header("host"),
        Some(format!("localhost:{}", server.addr.port()).as_str())
    );
    // base64("acct@clinic.example:pa55:word")
    assert_eq!(
        wire.header("authorization"),
        Some("Basic YWNjdEBjbGluaWMuZXhhbXBsZTpwYTU1OndvcmQ=")
    );
    assert_same_xml(
        wire.body_text(),
        &expected_envelope("http://schemas.xmlsoap.org/soap/envelope/"),
    );
}

#[tokio::test]
async fn soap12_void_puts_the_action_in_the_content_type_and_sends_no_soapaction() {
    let server = Server::start(|exchange| voided(exchange, "VOIDED")).await;
    let client = client_for(&server, Protocol::Soap12);
    let receipt = client
        .void(&request().with_card_present_status(CardPresentStatus::PresentEMV))
        .await
        .expect("voided");
    assert_eq!(receipt.protocol, Protocol::Soap12);
    assert_eq!(receipt.response_message.as_deref(), Some("VOIDED"));

    let wire = &server.requests()[0];
    assert_eq!(
        wire.header("content-type"),
        Some(format!("application/soap+xml; charset=utf-8; action=\"{ACTION}\"").as_str())
    );
    assert!(wire.header("soapaction").is_none());
    assert_same_xml(
        wire.body_text(),
        &expected_envelope("http://www.w3.org/2003/05/soap-envelope"),
    );
}

#[tokio::test]
async fn connections_are_kept_alive_between_voids() {
    let server = Server::start(|exchange| voided(exchange, "APPROVED")).await;
    let client = client_for(&server, Protocol::Soap11);
    for _ in 0..5 {
        client.void(&request()).await.expect("voided");
    }
    assert_eq!(server.requests().len(), 5);
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn the_generated_methods_call_other_operations() {
    let server = Server::start(|exchange| {
        let version = version_of(exchange);
        let body = support::envelope(
            version,
            &format!(
                "<DoCreditCardSimpleRefundResponse xmlns=\"{TNS}\"><DoCreditCardSimpleRefundResult>\
                 <TransactionID>R1</TransactionID><TransactionStatus>C</TransactionStatus>\
                 <AuthorizationText>ok</AuthorizationText></DoCreditCardSimpleRefundResult></DoCreditCardSimpleRefundResponse>"
            ),
        );
        Reply::xml(200, version, body)
    })
    .await;
    let client = client_for(&server, Protocol::Soap12);
    let mut transaction =
        instamed_soap::bindings::types::CreditCardSimpleRefundRequestData::default();
    transaction.amount = Some("12.50".to_owned());
    transaction.primary_transaction_id = Some(PAYMENT.to_owned());
    let mut refund = instamed_soap::bindings::types::DoCreditCardSimpleRefund::default();
    refund.transaction = Some(transaction);
    let response = client
        .call::<instamed_soap::bindings::operations::DoCreditCardSimpleRefund>(&refund)
        .await
        .expect("refunded");
    let result = response
        .do_credit_card_simple_refund_result
        .expect("result");
    assert_eq!(result.transaction_id.as_deref(), Some("R1"));
    assert_eq!(result.authorization_text.as_deref(), Some("ok"));
    let wire = &server.requests()[0];
    assert!(
        wire.header("content-type")
            .unwrap()
            .contains("/DoCreditCardSimpleRefund\"")
    );
    assert_eq!(support::field(wire, "Amount").as_deref(), Some("12.50"));
}

fn result_with(version: Version, status: &str, primary: &str, message: &str) -> Reply {
    Reply::xml(
        200,
        version,
        void_result(
            version,
            &[
                ("TransactionStatus", status),
                ("ResponseCode", "005"),
                ("ResponseMessage", message),
                ("PrimaryTransactionID", PAYMENT),
                ("PrimaryTransactionStatus", primary),
            ],
        ),
    )
}

#[tokio::test]
async fn refusals_in_results_map_to_their_errors_in_both_versions() {
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let error = void_error(protocol, |v| result_with(v, "D", "C", "DO NOT HONOR")).await;
        match &error {
            Error::Declined(refusal) => {
                assert_eq!(refusal.response_code.as_deref(), Some("005"));
                assert_eq!(refusal.response_message.as_deref(), Some("DO NOT HONOR"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!error.outcome_unknown());

        let error = void_error(protocol, |v| result_with(v, "D", "V", "DECLINED")).await;
        assert!(matches!(error, Error::AlreadyVoided(_)), "{error:?}");
        let error = void_error(protocol, |v| result_with(v, "D", "S", "DECLINED")).await;
        assert!(matches!(error, Error::NotVoidable(_)), "{error:?}");
        let error = void_error(protocol, |v| {
            result_with(v, "D", "C", "Void not allowed: funds transfer initiated")
        })
        .await;
        assert!(matches!(error, Error::NotVoidable(_)), "{error:?}");
        let error = void_error(protocol, |v| {
            result_with(v, "D", "", "Transaction not found")
        })
        .await;
        assert!(matches!(error, Error::UnknownTransaction(_)), "{error:?}");
    }
}

#[tokio::test]
async fn refusals_sent_as_faults_map_to_the_same_errors() {
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let error = void_error(protocol, |v| {
            Reply::xml(
                500,
                v,
                fault(v, true, "Transaction has already been voided.", ""),
            )
        })
        .await;
        match &error {
            Error::AlreadyVoided(refusal) => assert!(refusal.fault.is_some()),
            other => panic!("{other:?}"),
        }
        let error = void_error(protocol, |v| {
            Reply::xml(
                500,
                v,
                fault(v, true, "Void rejected", &format!("<ResponseCode xmlns=\"{TNS}\">012</ResponseCode><PrimaryTransactionStatus xmlns=\"{TNS}\">S</PrimaryTransactionStatus>")),
            )
        })
        .await;
        // The payment's status makes the rejected request a known refusal; without
        // TransactionStatus D no void was declined, so it is no reason to refund.
        match &error {
            Error::Declined(refusal) => {
                assert_eq!(refusal.response_code.as_deref(), Some("012"));
                assert!(refusal.payment_is_not_voided());
            }
            other => panic!("{other:?}"),
        }
        let error = void_error(protocol, |v| {
            Reply::xml(
                500,
                v,
                fault(v, true, "Void rejected", &format!("<ResponseCode xmlns=\"{TNS}\">012</ResponseCode><TransactionStatus xmlns=\"{TNS}\">D</TransactionStatus><PrimaryTransactionStatus xmlns=\"{TNS}\">S</PrimaryTransactionStatus>")),
            )
        })
        .await;
        assert!(matches!(error, Error::NotVoidable(_)), "{error:?}");
        let error = void_error(protocol, |v| {
            Reply::xml(500, v, fault(v, true, "Transaction not found.", ""))
        })
        .await;
        assert!(matches!(error, Error::UnknownTransaction(_)), "{error:?}");
    }
}

#[tokio::test]
async fn other_faults_keep_their_code_reason_and_detail() {
    for (protocol, sender, code) in [
        (Protocol::Soap11, true, FaultCode::Sender),
        (Protocol::Soap11, false, FaultCode::Receiver),
        (Protocol::Soap12, true, FaultCode::Sender),
        (Protocol::Soap12, false, FaultCode::Receiver),
    ] {
        let error = void_error(protocol, move |v| {
            Reply::xml(
                500,
                v,
                fault(
                    v,
                    sender,
                    "An unexpected error occurred with Reference Number 42",
                    "<ErrorCode>400</ErrorCode>",
                ),
            )
        })
        .await;
        match &error {
            Error::Fault(fault) => {
                assert_eq!(fault.code, code, "{protocol}");
                assert_eq!(
                    fault.reason.as_deref(),
                    Some("An unexpected error occurred with Reference Number 42")
                );
                assert_eq!(fault.detail.len(), 1);
                assert_eq!(
                    (fault.detail[0].name.as_str(), fault.detail[0].text.as_str()),
                    ("ErrorCode", "400")
                );
                assert_eq!(fault.is_sender_fault(), sender);
                assert_eq!(fault.http_status, Some(500));
            }
            other => panic!("{other:?}"),
        }
        // A rejected request voided nothing; a failure inside the service may have.
        assert_eq!(error.outcome_unknown(), !sender, "{protocol}");
    }
}

#[tokio::test]
async fn soap12_subcodes_are_read() {
    let error = void_error(Protocol::Soap12, |v| {
        let body = support::envelope(
            v,
            "<soap12:Fault><soap12:Code><soap12:Value>soap12:Sender</soap12:Value><soap12:Subcode>\
             <soap12:Value xmlns:im=\"urn:im\">im:BadOutlet</soap12:Value></soap12:Subcode></soap12:Code>\
             <soap12:Reason><soap12:Text xml:lang=\"en\">Bad outlet</soap12:Text></soap12:Reason></soap12:Fault>",
        );
        Reply::xml(400, v, body)
    })
    .await;
    match error {
        Error::Fault(fault) => {
            assert_eq!(fault.code, FaultCode::Sender);
            assert_eq!(fault.subcodes, vec!["im:BadOutlet".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn refused_credentials_are_an_authentication_error() {
    let error = void_error(Protocol::Soap11, |_| {
        Reply::new(401, "text/html", "<html>401 Unauthorized</html>")
            .header("www-authenticate", "Basic realm=\"x\"")
    })
    .await;
    assert!(
        matches!(error, Error::AuthenticationRefused { status: 401 }),
        "{error:?}"
    );
    assert!(!error.outcome_unknown());
}

#[tokio::test]
async fn answers_that_are_not_soap_are_malformed_and_of_unknown_outcome() {
    let html = "<html><body><h1>Server Error in '/payment' Application.</h1></body></html>";
    let error = void_error(Protocol::Soap11, move |_| {
        Reply::new(200, "text/html", html)
    })
    .await;
    assert!(
        matches!(error.problem(), Some(AnswerProblem::Html)),
        "{error:?}"
    );
    assert!(error.outcome_unknown());

    let error = void_error(Protocol::Soap11, move |_| {
        Reply::new(500, "text/html", html)
    })
    .await;
    assert!(
        matches!(error, Error::HttpStatus { status: 500, .. }),
        "{error:?}"
    );
    assert!(error.outcome_unknown());

    let error = void_error(Protocol::Soap11, |_| Reply::new(503, "text/html", "busy")).await;
    assert!(
        matches!(error, Error::HttpStatus { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.outcome_unknown());

    let error = void_error(Protocol::Soap11, |v| Reply::xml(200, v, "")).await;
    assert!(
        matches!(error.problem(), Some(AnswerProblem::Empty)),
        "{error:?}"
    );
    assert!(error.outcome_unknown());
}

fn envelope_problem(error: &Error) -> String {
    match error.problem() {
        Some(AnswerProblem::Envelope(why)) => format!("{why:?}"),
        other => panic!("not an envelope problem: {other:?}"),
    }
}

#[tokio::test]
async fn envelopes_of_the_wrong_shape_are_never_a_success() {
    // The result in another namespace.
    let error = void_error(Protocol::Soap11, |v| {
        let body = void_result(
            v,
            &[
                ("TransactionStatus", "C"),
                ("PrimaryTransactionStatus", "V"),
            ],
        );
        Reply::xml(200, v, body.replace("Payment/v1r3/", "Payment/v9/"))
    })
    .await;
    assert!(
        envelope_problem(&error).starts_with("UnexpectedElement"),
        "{error:?}"
    );
    assert!(error.outcome_unknown());

    // A SOAP 1.2 answer to a SOAP 1.1 request.
    let error = void_error(Protocol::Soap11, |_| {
        Reply::xml(
            200,
            Version::Soap12,
            void_result(Version::Soap12, &[("TransactionStatus", "C")]),
        )
    })
    .await;
    assert!(
        envelope_problem(&error).starts_with("VersionMismatch"),
        "{error:?}"
    );

    // Neither the result nor a fault.
    let error = void_error(Protocol::Soap12, |v| {
        Reply::xml(
            200,
            v,
            support::envelope(v, &format!("<DoCashSaleResponse xmlns=\"{TNS}\"/>")),
        )
    })
    .await;
    assert!(
        envelope_problem(&error).starts_with("UnexpectedElement"),
        "{error:?}"
    );

    // Not an envelope at all.
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(200, v, "<string>ok</string>")
    })
    .await;
    assert!(
        envelope_problem(&error).starts_with("NotAnEnvelope"),
        "{error:?}"
    );

    // Truncated.
    let error = void_error(Protocol::Soap11, |v| {
        let body = void_result(
            v,
            &[
                ("TransactionStatus", "C"),
                ("PrimaryTransactionStatus", "V"),
            ],
        );
        Reply::xml(200, v, body[..body.len() - 30].to_owned())
    })
    .await;
    assert!(envelope_problem(&error).starts_with("Xml"), "{error:?}");

    // Two results.
    let error = void_error(Protocol::Soap11, |v| {
        let one = format!(
            "<DoCreditCardSecondaryVoidResponse xmlns=\"{TNS}\"><DoCreditCardSecondaryVoidResult>\
             <TransactionStatus>C</TransactionStatus><PrimaryTransactionStatus>V</PrimaryTransactionStatus>\
             </DoCreditCardSecondaryVoidResult></DoCreditCardSecondaryVoidResponse>"
        );
        Reply::xml(200, v, support::envelope(v, &format!("{one}{one}")))
    })
    .await;
    assert!(
        envelope_problem(&error).starts_with("TrailingContent"),
        "{error:?}"
    );

    // A result with no statuses, and one about another payment.
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(200, v, void_result(v, &[("ResponseCode", "000")]))
    })
    .await;
    assert!(
        matches!(error.problem(), Some(AnswerProblem::Inconsistent(_))),
        "{error:?}"
    );
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(
            200,
            v,
            void_result(
                v,
                &[
                    ("TransactionStatus", "C"),
                    ("PrimaryTransactionID", "AAAA"),
                    ("PrimaryTransactionStatus", "V"),
                ],
            ),
        )
    })
    .await;
    assert!(error.outcome_unknown(), "{error:?}");

    // A document type declaration is refused before parsing.
    let error = void_error(Protocol::Soap11, |v| {
        let body = void_result(v, &[("TransactionStatus", "&x;")]);
        let body = body.replacen("?>", "?><!DOCTYPE d [<!ENTITY x \"C\">]>", 1);
        Reply::xml(200, v, body)
    })
    .await;
    assert!(
        envelope_problem(&error).starts_with("DocumentType"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_slow_server_times_out_with_the_outcome_unknown() {
    let server =
        Server::start(|exchange| voided(exchange, "APPROVED").delayed(Duration::from_secs(10)))
            .await;
    let client = Client::builder(&server.url)
        .credentials(Credentials::new("a", "b"))
        .ca_certificate_file(&server.ca_path)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.void(&request()).await.expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, Error::Timeout { sent: true, .. }),
        "{error:?}"
    );
    assert!(error.is_timeout() && error.outcome_unknown());
}

#[tokio::test]
async fn an_answer_over_the_size_cap_is_refused() {
    let server = Server::start(|exchange| {
        let mut reply = voided(exchange, "APPROVED");
        let padding = format!("<!--{}-->", "x".repeat(64 * 1024));
        reply.body.extend_from_slice(padding.as_bytes());
        reply
    })
    .await;
    let client = Client::builder(&server.url)
        .credentials(Credentials::new("a", "b"))
        .ca_certificate_file(&server.ca_path)
        .max_response_bytes(16 * 1024)
        .build()
        .unwrap();
    let error = client.void(&request()).await.expect_err("too large");
    assert!(
        matches!(
            error.problem(),
            Some(AnswerProblem::TooLarge { limit: 16384 })
        ),
        "{error:?}"
    );
    assert!(error.outcome_unknown());
}

#[tokio::test]
async fn a_server_with_an_unknown_ca_is_a_tls_error_and_nothing_is_sent() {
    let server = Server::start(|exchange| voided(exchange, "APPROVED")).await;
    // Without the test CA the client trusts only the Mozilla roots.
    let client = Client::builder(&server.url)
        .credentials(Credentials::new("a", "b"))
        .build()
        .unwrap();
    let error = client.void(&request()).await.expect_err("untrusted");
    assert!(matches!(error, Error::Tls { .. }), "{error:?}");
    assert!(!error.outcome_unknown());
    let report = error.report().to_string();
    assert!(report.contains("UnknownIssuer"), "{report}");
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Client::builder(format!("https://127.0.0.1:{port}/payment/service.asmx"))
        .credentials(Credentials::new("a", "b"))
        .build()
        .unwrap();
    let error = client.void(&request()).await.expect_err("refused");
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(!error.outcome_unknown());
}

#[test]
fn plain_http_is_refused_unless_allowed_on_loopback() {
    let build = |url: &str, allow: bool| {
        Client::builder(url)
            .credentials(Credentials::new("a", "b"))
            .allow_plain_http_on_loopback(allow)
            .build()
    };
    assert!(matches!(
        build("http://127.0.0.1:1/x", false),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        build("http://connect.example.org/x", true),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(build("http://127.0.0.1:1/x", true).is_ok());
    assert!(build("http://localhost:1/x", true).is_ok());
    assert!(build("http://[::1]:1/x", true).is_ok());
    assert!(matches!(
        build("ftp://127.0.0.1/x", true),
        Err(Error::InvalidConfig { .. })
    ));
    let no_credentials = Client::builder("https://127.0.0.1/x").build();
    assert!(matches!(no_credentials, Err(Error::InvalidConfig { .. })));
}

#[test]
fn invalid_input_names_the_field_before_anything_is_sent() {
    fn build(merchant: &str, payment: &str) -> Result<VoidRequest, Error> {
        Ok(VoidRequest::new(
            Outlet::new(merchant, "1", "1")?,
            TransactionId::new(payment)?,
        ))
    }
    let error = build("", PAYMENT).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid request: MerchantID: is required"
    );
    match build("1", &"F".repeat(51)).unwrap_err() {
        Error::InvalidRequest(invalid) => assert_eq!(invalid.field, "PrimaryTransactionID"),
        other => panic!("{other:?}"),
    }
}
