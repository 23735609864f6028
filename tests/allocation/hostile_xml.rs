//! Hostile XML in answers to a real `client.void(…)` over loopback TLS: document type
//! declarations and entities, deep nesting, truncation, duplicated and ambiguous results, wrong
//! namespaces and SOAP versions, encodings, odd field values, and broken faults. Each must end
//! in the exact typed error, say rightly whether the outcome is unknown, and never read as a
//! success unless the document genuinely says the payment was voided.
//!
//! The process counts its heap (`support/alloc.rs`) so that billion laughs can prove nothing
//! was expanded.

use instamed_soap_test_support as support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alloc::{peak_growth, shared};
use instamed_soap::soap::{FaultCode, MAX_DETAIL_ENTRIES, UnreadableEnvelope};
use instamed_soap::{AnswerProblem, Error, Protocol};
use support::hostile::*;
use support::{
    PAYMENT, Reply, Server, TNS, Version, envelope, fault, version_of, void_result, voided,
};

// ---------------------------------------------------------------------------------------------
// Document type declarations and entities

fn with_doctype(version: Version, doctype: &str, status: &str) -> String {
    let body = void_result(
        version,
        &[
            ("TransactionStatus", status),
            ("PrimaryTransactionID", PAYMENT),
            ("PrimaryTransactionStatus", "V"),
        ],
    );
    body.replacen("?>", &format!("?>{doctype}"), 1)
}

#[tokio::test]
async fn a_doctype_with_internal_entities_is_refused_before_parsing() {
    let _heap = shared().await;
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let error = void_error(protocol, |v| {
            let doctype = "<!DOCTYPE Envelope [<!ENTITY completed \"C\">]>";
            Reply::xml(200, v, with_doctype(v, doctype, "&completed;"))
        })
        .await;
        assert!(
            matches!(envelope_problem(&error), UnreadableEnvelope::DocumentType),
            "{error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn an_external_entity_is_neither_fetched_nor_expanded() {
    let _heap = shared().await;
    // A second server stands where an external DTD would be fetched from.
    let dtd_host = Server::start(|_| Reply::new(200, "application/xml-dtd", "")).await;
    let dtd_url = format!("https://localhost:{}/evil.dtd", dtd_host.addr.port());
    let error = void_error(Protocol::Soap11, move |v| {
        let doctype = format!(
            "<!DOCTYPE Envelope SYSTEM \"{dtd_url}\" [<!ENTITY xxe SYSTEM \"file:///etc/hostname\">]>"
        );
        Reply::xml(200, v, with_doctype(v, &doctype, "&xxe;"))
    })
    .await;
    assert!(
        matches!(envelope_problem(&error), UnreadableEnvelope::DocumentType),
        "{error:?}"
    );
    assert_unknown(&error);
    assert_eq!(dtd_host.connections(), 0, "the DTD was fetched");
    if let Ok(hostname) = std::fs::read_to_string("/etc/hostname") {
        let hostname = hostname.trim();
        let report = error.report().to_string();
        assert!(
            hostname.is_empty() || !report.contains(hostname),
            "{report}"
        );
    }
}

#[tokio::test]
async fn billion_laughs_is_refused_at_once() {
    let _heap = shared().await;
    let mut doctype = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for level in 1..10 {
        let previous = if level == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", level - 1)
        };
        let refs = format!("&{previous};").repeat(10);
        doctype.push_str(&format!("<!ENTITY lol{level} \"{refs}\">"));
    }
    doctype.push_str("]>");
    let (error, growth) = peak_growth(void_error(Protocol::Soap11, move |v| {
        Reply::xml(200, v, with_doctype(v, &doctype, "&lol9;"))
    }))
    .await;
    assert!(
        matches!(envelope_problem(&error), UnreadableEnvelope::DocumentType),
        "{error:?}"
    );
    assert_unknown(&error);
    // 10^9 "lol"s would be 3 GB; the server, the client and its TLS fit in a few megabytes.
    assert!(growth < 64 * MIB, "the heap grew by {growth} bytes");
}

#[tokio::test]
async fn a_doctype_behind_a_comment_that_looks_like_markup_is_still_refused() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap11, |v| {
        let doctype = "<!-- see <a href='x'> --><?pi <b?><!DOCTYPE d [<!ENTITY s \"C\">]>";
        Reply::xml(200, v, with_doctype(v, doctype, "&s;"))
    })
    .await;
    assert!(
        matches!(envelope_problem(&error), UnreadableEnvelope::DocumentType),
        "{error:?}"
    );
    assert_unknown(&error);
}

#[tokio::test]
async fn an_undeclared_entity_is_unreadable() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(
            200,
            v,
            result_xml(v, "<TransactionStatus>&status;</TransactionStatus>"),
        )
    })
    .await;
    assert!(xml_problem(&error).contains("entity"), "{error:?}");
    assert_unknown(&error);
}

// ---------------------------------------------------------------------------------------------
// Structure

#[tokio::test]
async fn a_hundred_thousand_deep_nesting_neither_overflows_nor_succeeds() {
    let _heap = shared().await;
    let deep = format!("{}{}", "<x>".repeat(100_000), "</x>".repeat(100_000));
    let in_result = {
        let deep = deep.clone();
        move |v: Version| {
            result_xml(
                v,
                &format!(
                    "<TransactionStatus>C</TransactionStatus>{PAYMENT_FIELDS}\
                          <PrimaryTransactionStatus>V</PrimaryTransactionStatus>{deep}"
                ),
            )
        }
    };
    let in_header = {
        let deep = deep.clone();
        move |v: Version| {
            let p = if v == Version::Soap11 {
                "soap"
            } else {
                "soap12"
            };
            voided(v).replacen(
                &format!("<{p}:Body>"),
                &format!("<{p}:Header>{deep}</{p}:Header><{p}:Body>"),
                1,
            )
        }
    };
    let in_detail = {
        let deep = deep.clone();
        move |v: Version| fault(v, false, "Server error", &deep)
    };
    type Make = Box<dyn Fn(Version) -> String + Send + Sync>;
    let cases: Vec<(&str, Make)> = vec![
        ("result", Box::new(in_result)),
        ("header", Box::new(in_header)),
        ("fault detail", Box::new(in_detail)),
    ];
    for (place, make) in cases {
        let make = Arc::new(make);
        for protocol in [Protocol::Soap11, Protocol::Soap12] {
            let make = make.clone();
            let error = void_error(protocol, move |v| Reply::xml(500, v, make(v))).await;
            assert!(xml_problem(&error).contains("deeper"), "{place}: {error:?}");
            assert_unknown(&error);
        }
    }
    // Deep from the very root: not even an envelope.
    let error = void_error(Protocol::Soap11, move |v| Reply::xml(200, v, deep.clone())).await;
    assert!(
        matches!(
            envelope_problem(&error),
            UnreadableEnvelope::NotAnEnvelope { .. }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn truncated_xml_is_unreadable_wherever_it_stops() {
    let _heap = shared().await;
    let whole = voided(Version::Soap11);
    for keep in [
        whole.find("<soap:Body").unwrap() + 3,
        whole.find("<TransactionStatus>").unwrap() + 20,
        whole.find("</DoCreditCardSecondaryVoidResult>").unwrap(),
        whole.find("</soap:Body>").unwrap(),
        whole.len() - 3,
    ] {
        let cut = whole[..keep].to_owned();
        let error = void_error(Protocol::Soap11, move |v| Reply::xml(200, v, cut.clone())).await;
        let _ = xml_problem(&error);
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_duplicated_result_element_is_refused() {
    let _heap = shared().await;
    for (first, second) in [("D", "C"), ("C", "D"), ("C", "C")] {
        let error = void_error(Protocol::Soap11, move |v| {
            let result = |status: &str| {
                format!(
                    "<DoCreditCardSecondaryVoidResult><TransactionStatus>{status}</TransactionStatus>\
                     {PAYMENT_FIELDS}<PrimaryTransactionStatus>V</PrimaryTransactionStatus>\
                     </DoCreditCardSecondaryVoidResult>"
                )
            };
            let body = format!(
                "<DoCreditCardSecondaryVoidResponse xmlns=\"{TNS}\">{}{}</DoCreditCardSecondaryVoidResponse>",
                result(first),
                result(second)
            );
            Reply::xml(200, v, envelope(v, &body))
        })
        .await;
        assert!(
            xml_problem(&error).contains("more than once"),
            "{first}/{second}: {error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_transaction_status_given_twice_is_refused() {
    let _heap = shared().await;
    let cases = [
        "<TransactionStatus>D</TransactionStatus><TransactionStatus>C</TransactionStatus>",
        "<TransactionStatus>C</TransactionStatus><TransactionStatus>D</TransactionStatus>",
        "<TransactionStatus xsi:nil=\"true\"/><TransactionStatus>C</TransactionStatus>",
        "<TransactionStatus>C</TransactionStatus><ResponseMessage>x</ResponseMessage>\
         <TransactionStatus>C</TransactionStatus>",
    ];
    for statuses in cases {
        let error = void_error(Protocol::Soap12, move |v| {
            Reply::xml(
                200,
                v,
                result_xml(
                    v,
                    &format!(
                        "{statuses}{PAYMENT_FIELDS}<PrimaryTransactionStatus>V</PrimaryTransactionStatus>"
                    ),
                ),
            )
        })
        .await;
        assert!(
            xml_problem(&error).contains("more than once"),
            "{statuses}: {error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_result_for_another_operation_is_unexpected() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap11, |v| {
        let body = format!(
            "<DoCreditCardSaleResponse xmlns=\"{TNS}\"><DoCreditCardSaleResult>\
             <TransactionStatus>C</TransactionStatus><PrimaryTransactionStatus>V</PrimaryTransactionStatus>\
             </DoCreditCardSaleResult></DoCreditCardSaleResponse>"
        );
        Reply::xml(200, v, envelope(v, &body))
    })
    .await;
    match envelope_problem(&error) {
        UnreadableEnvelope::UnexpectedElement { expected, found } => {
            assert!(
                expected.ends_with("}DoCreditCardSecondaryVoidResponse"),
                "{expected}"
            );
            assert!(found.ends_with("}DoCreditCardSaleResponse"), "{found}");
        }
        other => panic!("{other:?}"),
    }
    assert_unknown(&error);
}

#[tokio::test]
async fn a_wrong_envelope_namespace_is_not_an_envelope() {
    let _heap = shared().await;
    for namespace in ["http://example.org/not-soap/", ""] {
        let error = void_error(Protocol::Soap11, move |v| {
            let body = voided(v).replace(v.envelope_ns(), namespace);
            Reply::xml(200, v, body)
        })
        .await;
        match envelope_problem(&error) {
            UnreadableEnvelope::NotAnEnvelope { found } => {
                assert!(found.ends_with("Envelope"), "{found}")
            }
            // An empty namespace name undeclares the prefix: the reader refuses it.
            UnreadableEnvelope::Xml(_) if namespace.is_empty() => {}
            other => panic!("{namespace:?}: {other:?}"),
        }
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn an_answer_in_the_other_soap_version_is_a_version_mismatch() {
    let _heap = shared().await;
    for (protocol, asked, answered) in [
        (Protocol::Soap11, "SOAP 1.1", Version::Soap12),
        (Protocol::Soap12, "SOAP 1.2", Version::Soap11),
    ] {
        let error = void_error(protocol, move |_| {
            Reply::xml(200, answered, voided(answered))
        })
        .await;
        match envelope_problem(&error) {
            UnreadableEnvelope::VersionMismatch { expected, found } => {
                assert_eq!(expected.to_string(), asked);
                assert_ne!(found, expected);
            }
            other => panic!("{other:?}"),
        }
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn text_in_the_body_is_unreadable() {
    let _heap = shared().await;
    for body in ["voided", "ok <DoCreditCardSecondaryVoidResponse/>"] {
        let error = void_error(Protocol::Soap11, move |v| {
            Reply::xml(200, v, envelope(v, body))
        })
        .await;
        assert!(xml_problem(&error).contains("text"), "{error:?}");
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_fault_in_a_header_is_not_the_answer() {
    let _heap = shared().await;
    // A Fault is a fault only as the Body's child; a header block is passed over.
    let receipt = void_receipt(Protocol::Soap11, |v| {
        let body = voided(v).replacen(
            "<soap:Body>",
            "<soap:Header><soap:Fault><faultcode>soap:Server</faultcode>\
             <faultstring>not here</faultstring></soap:Fault></soap:Header><soap:Body>",
            1,
        );
        Reply::xml(200, v, body)
    })
    .await;
    assert_eq!(receipt.transaction_status, "C");
}

// ---------------------------------------------------------------------------------------------
// Encodings

#[tokio::test]
async fn non_utf8_bytes_are_refused_even_where_nothing_reads_them() {
    let _heap = shared().await;
    for fields in [
        "<TransactionStatus>C\u{0}</TransactionStatus>",
        "<TransactionStatus>C</TransactionStatus><Note>@</Note>",
        "<TransactionStatus>C</TransactionStatus><!-- @ -->",
    ] {
        let error = void_error(Protocol::Soap11, move |v| {
            let text = result_xml(
                v,
                &format!(
                    "{fields}{PAYMENT_FIELDS}<PrimaryTransactionStatus>V</PrimaryTransactionStatus>"
                ),
            );
            // A lone continuation byte, and a Latin-1 "é", where the marker is.
            let bytes = text
                .replace('\u{0}', "@")
                .into_bytes()
                .into_iter()
                .flat_map(|b| if b == b'@' { vec![0x80, 0xE9] } else { vec![b] })
                .collect::<Vec<u8>>();
            Reply::xml(200, v, bytes)
        })
        .await;
        assert!(
            matches!(envelope_problem(&error), UnreadableEnvelope::NotUtf8),
            "{fields}: {error:?}"
        );
        assert_unknown(&error);
    }
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(if big_endian {
            &[0xFE, 0xFF]
        } else {
            &[0xFF, 0xFE]
        });
    }
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    out
}

#[tokio::test]
async fn utf16_answers_are_refused_clearly() {
    // Decision: the client reads UTF-8 only (ASP.NET answers in UTF-8). A UTF-16 document,
    // however correct, is refused as not UTF-8 rather than half-read.
    let _heap = shared().await;
    for big_endian in [false, true] {
        let error = void_error(Protocol::Soap11, move |v| {
            let text = voided(v).replace("utf-8", "utf-16");
            Reply::new(
                200,
                "text/xml; charset=utf-16",
                utf16(&text, big_endian, true),
            )
        })
        .await;
        assert!(
            matches!(envelope_problem(&error), UnreadableEnvelope::NotUtf8),
            "{error:?}"
        );
        assert!(error.report().to_string().contains("not UTF-8"));
        assert_unknown(&error);
    }
    // Without a byte order mark the NULs are valid UTF-8, but no envelope is found.
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(
            200,
            v,
            utf16(&voided(v).replace("utf-8", "utf-16"), false, false),
        )
    })
    .await;
    let _ = envelope_problem(&error);
    assert_unknown(&error);
}

#[tokio::test]
async fn a_utf8_bom_comments_and_processing_instructions_before_the_envelope_are_fine() {
    let _heap = shared().await;
    let receipt = void_receipt(Protocol::Soap12, |v| {
        let body = voided(v).replacen(
            "?>",
            "?>\r\n<!-- generated by a proxy -->\n<?proxy id=\"7\"?>\n  ",
            1,
        );
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(body.as_bytes());
        bytes.extend_from_slice(b"\n<!-- trailing comment -->\n");
        Reply::xml(200, v, bytes)
    })
    .await;
    assert_eq!(receipt.primary_transaction_status, "V");
}

// ---------------------------------------------------------------------------------------------
// Field values

#[tokio::test]
async fn statuses_in_cdata_character_references_or_another_case_are_read_as_written() {
    // The document means C and V in each case, so each is a success. Case and surrounding
    // white space are the domain layer's choice: InstaMed's statuses are single letters, read
    // case-blind and trimmed.
    let _heap = shared().await;
    for (status, primary) in [
        ("<![CDATA[C]]>", "V"),
        ("&#67;", "&#x56;"),
        ("\n  c  \n", " v "),
        ("C<!-- comment -->", "<![CDATA[V]]>"),
    ] {
        let receipt = void_receipt(Protocol::Soap11, move |v| {
            Reply::xml(
                200,
                v,
                result_xml(
                    v,
                    &format!(
                        "<TransactionStatus>{status}</TransactionStatus>{PAYMENT_FIELDS}\
                         <PrimaryTransactionStatus>{primary}</PrimaryTransactionStatus>"
                    ),
                ),
            )
        })
        .await;
        assert!(
            receipt.transaction_status.eq_ignore_ascii_case("C"),
            "{receipt:?}"
        );
        assert!(receipt.primary_transaction_status.eq_ignore_ascii_case("V"));
    }
}

#[tokio::test]
async fn a_nil_transaction_status_is_a_missing_one_not_a_decline() {
    let _heap = shared().await;
    for status in [
        "<TransactionStatus xsi:nil=\"true\"/>",
        "<TransactionStatus xsi:nil=\"1\"></TransactionStatus>",
    ] {
        let error = void_error(Protocol::Soap11, move |v| {
            Reply::xml(
                200,
                v,
                result_xml(
                    v,
                    &format!("{status}{PAYMENT_FIELDS}<PrimaryTransactionStatus>V</PrimaryTransactionStatus>"),
                ),
            )
        })
        .await;
        assert!(
            matches!(problem(&error), AnswerProblem::Inconsistent(why) if why.contains("no TransactionStatus")),
            "{status}: {error:?}"
        );
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_status_element_holding_markup_is_unreadable() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap11, |v| {
        Reply::xml(
            200,
            v,
            result_xml(
                v,
                &format!(
                    "<TransactionStatus><b>C</b></TransactionStatus>{PAYMENT_FIELDS}\
                     <PrimaryTransactionStatus>V</PrimaryTransactionStatus>"
                ),
            ),
        )
    })
    .await;
    assert!(xml_problem(&error).contains("inside the text"), "{error:?}");
    assert_unknown(&error);
}

#[tokio::test]
async fn unknown_elements_in_the_result_are_passed_over() {
    // Forward compatibility: fields the service adds later must not break a void. A status in
    // another namespace is such an unknown element, never the status.
    let _heap = shared().await;
    let receipt = void_receipt(Protocol::Soap12, |v| {
        Reply::xml(
            200,
            v,
            result_xml(
                v,
                &format!(
                    "<NewField a=\"1\">x</NewField><NewField/>\
                     <Wrapper><Inner><Deeper>1</Deeper></Inner><TransactionStatus>D</TransactionStatus></Wrapper>\
                     <TransactionStatus xmlns=\"urn:other\">D</TransactionStatus>\
                     <TransactionStatus extra=\"ignored\">C</TransactionStatus>{PAYMENT_FIELDS}\
                     <PrimaryTransactionStatus>V</PrimaryTransactionStatus><Trailer/>"
                ),
            ),
        )
    })
    .await;
    assert_eq!(receipt.transaction_status, "C");
    assert_eq!(receipt.primary_transaction_status, "V");
}

// ---------------------------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn a_fault_without_a_reason_is_still_a_fault() {
    let _heap = shared().await;
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let error = void_error(protocol, |v| {
            let body = match v {
                Version::Soap11 => "<soap:Fault><faultcode>soap:Server</faultcode></soap:Fault>",
                Version::Soap12 => {
                    "<soap12:Fault><soap12:Code><soap12:Value>soap12:Receiver</soap12:Value>\
                     </soap12:Code></soap12:Fault>"
                }
            };
            Reply::xml(500, v, envelope(v, body))
        })
        .await;
        match &error {
            Error::Fault(fault) => {
                assert_eq!(fault.code, FaultCode::Receiver);
                assert_eq!(fault.reason, None);
            }
            other => panic!("{protocol}: {other:?}"),
        }
        // A Receiver fault may hide a void that happened.
        assert_unknown(&error);
    }
}

#[tokio::test]
async fn a_fault_without_a_code_is_unreadable() {
    let _heap = shared().await;
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        for body in [
            "<p:Fault/>",
            "<p:Fault><faultstring>Transaction has already been voided.</faultstring></p:Fault>",
            "<p:Fault><p:Reason><p:Text>Transaction has already been voided.</p:Text></p:Reason></p:Fault>",
            "<p:Fault><faultcode> </faultcode><p:Code><p:Value/></p:Code></p:Fault>",
        ] {
            let error = void_error(protocol, move |v| {
                let p = if v == Version::Soap11 {
                    "soap"
                } else {
                    "soap12"
                };
                Reply::xml(500, v, envelope(v, &body.replace("p:", &format!("{p}:"))))
            })
            .await;
            assert!(
                matches!(
                    envelope_problem(&error),
                    UnreadableEnvelope::IncompleteFault { .. }
                ),
                "{protocol} {body}: {error:?}"
            );
            assert_unknown(&error);
        }
    }
}

#[tokio::test]
async fn a_huge_fault_is_cut_to_a_few_kilobytes() {
    let _heap = shared().await;
    let long = "x".repeat(400 * 1024);
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let long = long.clone();
        let error = void_error(protocol, move |v| {
            Reply::xml(
                500,
                v,
                fault(v, true, &long, &format!("<Trace>{long}</Trace>")),
            )
        })
        .await;
        match &error {
            Error::Fault(fault) => {
                let reason = fault.reason.as_deref().unwrap_or_default();
                assert!(
                    reason.len() <= 4100 && reason.ends_with('…'),
                    "{}",
                    reason.len()
                );
                assert_eq!(fault.detail.len(), 1);
                let detail = &fault.detail[0].text;
                assert!(
                    detail.len() <= 4100 && detail.ends_with('…'),
                    "{}",
                    detail.len()
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(error.report().to_string().len() < 16 * 1024);
        assert_known(&error);
    }
}

#[tokio::test]
async fn a_fault_detail_of_half_a_million_elements_is_read_in_linear_time() {
    let _heap = shared().await;
    let leaves = "<a/>".repeat(500_000);
    let server = Server::start(move |exchange| {
        let v = version_of(exchange);
        Reply::xml(500, v, fault(v, false, "Server error", &leaves))
    })
    .await;
    let client = builder(&server.url, &server.ca_path, Protocol::Soap11)
        .max_response_bytes(4 * MIB)
        .build()
        .unwrap();
    let started = Instant::now();
    let error = void_with(&client).await.expect_err("a fault");
    // Quadratic work over half a million leaves takes tens of seconds; linear work takes well under a second.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    match &error {
        Error::Fault(fault) => {
            assert_eq!(fault.detail.len(), MAX_DETAIL_ENTRIES);
            assert!(fault.detail.iter().all(|entry| entry.name == "a"));
        }
        other => panic!("{other:?}"),
    }
    assert_unknown(&error);
}

#[tokio::test]
async fn a_fault_that_comes_with_http_200_is_still_a_fault() {
    let _heap = shared().await;
    let error = void_error(Protocol::Soap12, |v| {
        Reply::xml(
            200,
            v,
            fault(v, false, "Internal error", "<ErrorCode>9</ErrorCode>"),
        )
    })
    .await;
    assert!(matches!(error, Error::Fault(_)), "{error:?}");
    assert_unknown(&error);
}
