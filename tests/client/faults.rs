//! Every fault shape an ASP.NET ASMX stack writes (FACTS §6), over SOAP 1.1 and SOAP 1.2,
//! served by a loopback TLS server: what the client reads from each, field by field.

use instamed_soap_test_support as support;

use std::time::Duration;

use instamed_soap::soap::{DetailEntry, FaultCode, SoapVersion};
use instamed_soap::{Client, Credentials, Error, Outlet, Protocol, TransactionId, VoidRequest};
use support::{Reply, Server, TNS, Version, aspnet_fault, envelope, error_info, version_of};

const PAYMENT: &str = "EE52401813A74328AAA7D93319FF4383";
const SOAP: [Protocol; 2] = [Protocol::Soap11, Protocol::Soap12];
const WRAPPED: &str = "Server was unable to process request. ---> ";

async fn void_error(
    protocol: Protocol,
    reply: impl Fn(Version) -> Reply + Send + Sync + 'static,
) -> Error {
    let server = Server::start(move |exchange| reply(version_of(exchange))).await;
    Client::builder(&server.url)
        .credentials(Credentials::new("acct@clinic.example", "pa55-word"))
        .protocol(protocol)
        .ca_certificate_file(&server.ca_path)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
        .void(&VoidRequest::new(
            Outlet::new("123123123", "123", "123").unwrap(),
            TransactionId::new(PAYMENT).unwrap(),
        ))
        .await
        .expect_err("a fault")
}

fn entries(fields: &[(&str, &str)]) -> Vec<DetailEntry> {
    fields
        .iter()
        .map(|(name, text)| DetailEntry::new(TNS, *name, *text))
        .collect()
}

#[tokio::test]
async fn an_unhandled_exception_is_a_receiver_fault_with_the_service_as_node() {
    for protocol in SOAP {
        let error = void_error(protocol, |v| {
            let code = if v == Version::Soap11 {
                "Server"
            } else {
                "Receiver"
            };
            let reason = format!("{WRAPPED}Object reference not set to an instance of an object.");
            Reply::xml(500, v, aspnet_fault(v, code, &reason, ""))
        })
        .await;
        let Error::Fault(fault) = &error else {
            panic!("{protocol}: {error:?}")
        };
        assert_eq!(fault.code, FaultCode::Receiver, "{protocol}");
        assert!(fault.reason.as_deref().unwrap().starts_with(WRAPPED));
        assert!(fault.detail.is_empty(), "{:?}", fault.detail);
        assert_eq!(fault.http_status, Some(500));
        match protocol {
            Protocol::Soap12 => {
                assert_eq!(fault.version, SoapVersion::Soap12);
                assert_eq!(fault.raw_code, "soap12:Receiver");
                assert_eq!(
                    fault.node.as_deref(),
                    Some("https://localhost/payment/service.asmx")
                );
            }
            _ => {
                assert_eq!(fault.raw_code, "soap:Server");
                assert_eq!(fault.node, None);
            }
        }
        assert!(error.outcome_unknown(), "{protocol}");
    }
}

#[tokio::test]
async fn a_request_the_service_does_not_recognise_is_a_sender_fault_with_http_500() {
    for protocol in SOAP {
        let error = void_error(protocol, |v| {
            let code = if v == Version::Soap11 {
                "Client"
            } else {
                "Sender"
            };
            let reason = "Server did not recognize the value of HTTP Header SOAPAction: urn:x.";
            Reply::xml(500, v, aspnet_fault(v, code, reason, ""))
        })
        .await;
        let Error::Fault(fault) = &error else {
            panic!("{protocol}: {error:?}")
        };
        assert_eq!(fault.code, FaultCode::Sender);
        assert_eq!(fault.http_status, Some(500));
        assert!(
            !error.outcome_unknown(),
            "a rejected request voided nothing"
        );
    }
}

/// The case: the same structured detail over both versions, in ASP.NET's unqualified
/// `detail` (and in SOAP 1.2's qualified `Detail`), is the same known refusal.
#[tokio::test]
async fn structured_statuses_in_the_detail_are_read_in_both_shapes_and_versions() {
    let fields = [
        ("ResponseCode", "051"),
        ("TransactionStatus", "D"),
        ("PrimaryTransactionStatus", "V"),
    ];
    let qualified = |v: Version| {
        let p = "soap12";
        let body = format!(
            "<{p}:Fault><{p}:Code><{p}:Value>{p}:Receiver</{p}:Value></{p}:Code>\
             <{p}:Reason><{p}:Text xml:lang=\"en\">Void declined</{p}:Text></{p}:Reason>\
             <{p}:Detail>{}</{p}:Detail></{p}:Fault>",
            error_info(&[
                ("ResponseCode", "051"),
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "V"),
            ])
        );
        Reply::xml(500, v, envelope(v, &body))
    };
    let unqualified = |v: Version| {
        let code = if v == Version::Soap11 {
            "Server"
        } else {
            "Receiver"
        };
        let detail = error_info(&[
            ("ResponseCode", "051"),
            ("TransactionStatus", "D"),
            ("PrimaryTransactionStatus", "V"),
        ]);
        Reply::xml(500, v, aspnet_fault(v, code, "Void declined", &detail))
    };
    for (protocol, shape) in [
        (Protocol::Soap11, "unqualified"),
        (Protocol::Soap12, "unqualified"),
        (Protocol::Soap12, "qualified"),
    ] {
        let error = match shape {
            "qualified" => void_error(protocol, qualified).await,
            _ => void_error(protocol, unqualified).await,
        };
        let Error::AlreadyVoided(refusal) = &error else {
            panic!("{protocol} {shape}: {error:?}")
        };
        assert_eq!(refusal.response_code.as_deref(), Some("051"));
        assert_eq!(refusal.transaction_status.as_deref(), Some("D"));
        assert!(refusal.payment_is_voided());
        let fault = refusal.fault.as_deref().expect("came as a fault");
        assert_eq!(fault.detail, entries(&fields), "{protocol} {shape}");
        assert!(!error.outcome_unknown() && error.proves_voided());
    }
}

#[tokio::test]
async fn detail_leaves_are_flattened_with_their_namespaces() {
    for protocol in SOAP {
        let error = void_error(protocol, |v| {
            let code = if v == Version::Soap11 {
                "Client"
            } else {
                "Sender"
            };
            let detail = format!(
                "<ErrorInfo xmlns=\"{TNS}\"><Codes><ResponseCode>400</ResponseCode></Codes>\
                 <Trace xmlns=\"urn:trace\">at Service.Void()</Trace><Empty/></ErrorInfo>"
            );
            Reply::xml(500, v, aspnet_fault(v, code, "Invalid request", &detail))
        })
        .await;
        let Error::Fault(fault) = &error else {
            panic!("{protocol}: {error:?}")
        };
        assert_eq!(
            fault.detail,
            vec![
                DetailEntry::new(TNS, "ResponseCode", "400"),
                DetailEntry::new("urn:trace", "Trace", "at Service.Void()"),
                DetailEntry::new(TNS, "Empty", ""),
            ],
            "{protocol}"
        );
    }
}

#[tokio::test]
async fn a_detail_of_bare_text_is_one_entry_named_after_it() {
    for protocol in SOAP {
        let error = void_error(protocol, |v| {
            let code = if v == Version::Soap11 {
                "Server"
            } else {
                "Receiver"
            };
            Reply::xml(500, v, aspnet_fault(v, code, "Failure", "Reference 42"))
        })
        .await;
        let Error::Fault(fault) = &error else {
            panic!("{protocol}: {error:?}")
        };
        assert_eq!(
            fault.detail,
            vec![DetailEntry::new("", "detail", "Reference 42")]
        );
    }
}

#[tokio::test]
async fn a_stack_trace_is_kept_as_a_bounded_excerpt() {
    let trace = format!(
        "{WRAPPED}System.Data.SqlClient.SqlException: Timeout expired.\n{}",
        "   at InstaMed.Payment.Service.DoCreditCardSecondaryVoid(Transaction t)\n".repeat(2000)
    );
    for protocol in SOAP {
        let trace = trace.clone();
        let error = void_error(protocol, move |v| {
            let code = if v == Version::Soap11 {
                "Server"
            } else {
                "Receiver"
            };
            Reply::xml(
                500,
                v,
                aspnet_fault(v, code, &trace, &format!("<Trace>{trace}</Trace>")),
            )
        })
        .await;
        let Error::Fault(fault) = &error else {
            panic!("{protocol}: {error:?}")
        };
        assert!(fault.reason.as_deref().unwrap().len() <= 4100);
        assert!(fault.detail[0].text.len() <= 4100);
        assert!(error.report().to_string().len() < 8 * 1024);
        assert!(error.outcome_unknown());
    }
}
