//! The void's response element read straight into the [`Evidence`] the verdict needs.
//!
//! The generated `DoCreditCardSecondaryVoidResponse` holds its result's twenty fields as
//! `String`s: a void's answer filled nine of them, each copied out of the body and freed, and
//! moved whole (480 bytes) through every layer before seven went into the evidence. This
//! reader walks the same element with the same reader calls, so every field is checked as the
//! generated reader checks it (text only, given once, `xsi:nil` read as absent, unknown
//! children skipped), and copies only what the evidence keeps. A test holds the two equal.

use std::borrow::Cow;

use crate::bindings::operations::DoCreditCardSecondaryVoid;
use crate::soap::{Operation, ReadError, ReadXml, XmlReader};
use crate::verdict::Evidence;

/// The namespace of the response element and of its children (the service's target
/// namespace).
const NAMESPACE: &str = DoCreditCardSecondaryVoid::NAMESPACE;

/// `DoCreditCardSecondaryVoidResponse`, read as its result's evidence: `None` when the
/// answer has no `DoCreditCardSecondaryVoidResult` (or a nil one).
pub(crate) struct SoapVoidResponse(pub(crate) Option<Evidence>);

/// `DoCreditCardSecondaryVoidResult` (`SecondaryCreditCardVoidResponseData`), read as
/// evidence.
struct SoapVoidResult(Evidence);

impl ReadXml for SoapVoidResponse {
    fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError> {
        let mut result = None;
        let mut seen = false;
        while reader.enter_child()? {
            if reader.child_is(NAMESPACE, "DoCreditCardSecondaryVoidResult") {
                result = reader.read_option::<SoapVoidResult>(&mut seen)?;
            } else {
                reader.skip()?;
            }
        }
        Ok(Self(result.map(|result| result.0)))
    }
}

impl ReadXml for SoapVoidResult {
    fn read_xml(reader: &mut XmlReader<'_>) -> Result<Self, ReadError> {
        let mut evidence = Evidence::default();
        // One flag per field of the schema, kept or not: a second one is an error either way.
        let mut seen = [false; 20];
        while reader.enter_child()? {
            let (field, kept) = match (reader.child_namespace(), reader.child_local()) {
                (NAMESPACE, "MerchantID") => (0, None),
                (NAMESPACE, "StoreID") => (1, None),
                (NAMESPACE, "TerminalID") => (2, None),
                (NAMESPACE, "TransactionID") => (3, Some(&mut evidence.transaction_id)),
                (NAMESPACE, "TransactionNumber") => (4, None),
                (NAMESPACE, "BatchID") => (5, None),
                (NAMESPACE, "TransactionCode") => (6, None),
                (NAMESPACE, "MarketSegment") => (7, None),
                (NAMESPACE, "TransactionStatus") => (8, Some(&mut evidence.transaction_status)),
                (NAMESPACE, "PaymentPlanID") => (9, None),
                (NAMESPACE, "ReasonCode") => (10, None),
                (NAMESPACE, "ReasonText") => (11, None),
                (NAMESPACE, "InstaMedAccountID") => (12, None),
                (NAMESPACE, "AuthorizationNumber") => {
                    (13, Some(&mut evidence.authorization_number))
                }
                (NAMESPACE, "ResponseCode") => (14, Some(&mut evidence.response_code)),
                (NAMESPACE, "ResponseMessage") => (15, Some(&mut evidence.response_message)),
                (NAMESPACE, "PrimaryTransactionID") => {
                    (16, Some(&mut evidence.primary_transaction_id))
                }
                (NAMESPACE, "AuthorizationText") => (17, None),
                (NAMESPACE, "interfaceTransactionStatus") => (18, None),
                (NAMESPACE, "PrimaryTransactionStatus") => {
                    (19, Some(&mut evidence.primary_transaction_status))
                }
                _ => {
                    reader.skip()?;
                    continue;
                }
            };
            let text = reader.read_text_option(&mut seen[field])?;
            if let Some(kept) = kept {
                *kept = text.map(Cow::into_owned);
            }
        }
        Ok(Self(evidence))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::soap::{self, Answer, SoapVersion};

    /// Every field of the result, in the schema's order.
    const FIELDS: [&str; 20] = [
        "MerchantID",
        "StoreID",
        "TerminalID",
        "TransactionID",
        "TransactionNumber",
        "BatchID",
        "TransactionCode",
        "MarketSegment",
        "TransactionStatus",
        "PaymentPlanID",
        "ReasonCode",
        "ReasonText",
        "InstaMedAccountID",
        "AuthorizationNumber",
        "ResponseCode",
        "ResponseMessage",
        "PrimaryTransactionID",
        "AuthorizationText",
        "interfaceTransactionStatus",
        "PrimaryTransactionStatus",
    ];

    /// What a field may hold: every way the reader reads text, and what it refuses.
    const CONTENTS: [&str; 12] = [
        "C",
        "",
        "  padded\t",
        "a &amp; b &#x41;",
        "<![CDATA[<x>]]>",
        "a<!--note-->b",
        "a\r\nb",
        "<inner>x</inner>",
        "a &bogus; b",
        "x]]>y",
        "EE52401813A74328AAA7D93319FF4383",
        "<?pi x?>text",
    ];

    fn envelope(version: SoapVersion, result: &str) -> String {
        let prefix = match version {
            SoapVersion::Soap11 => "soap",
            SoapVersion::Soap12 => "soap12",
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><{prefix}:Envelope xmlns:{prefix}=\"{}\" \
             xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><{prefix}:Body>\
             <DoCreditCardSecondaryVoidResponse xmlns=\"{NAMESPACE}\">{result}\
             </DoCreditCardSecondaryVoidResponse></{prefix}:Body></{prefix}:Envelope>",
            version.envelope_namespace()
        )
    }

    /// What the generated type reads, as evidence, and what the hand-written reader reads,
    /// errors included (the same reader calls, so the same message at the same byte).
    fn both(version: SoapVersion, body: &str) -> (String, String) {
        let generated =
            soap::decode::<DoCreditCardSecondaryVoid>(version, body.as_bytes()).map(|answer| {
                match answer {
                    Answer::Result(response) => Answer::Result(
                        response
                            .do_credit_card_secondary_void_result
                            .map(Evidence::from),
                    ),
                    Answer::Fault(fault) => Answer::Fault(fault),
                }
            });
        let written = soap::decode_element::<SoapVoidResponse>(
            version,
            NAMESPACE,
            DoCreditCardSecondaryVoid::RESPONSE_ELEMENT,
            body.as_bytes(),
        )
        .map(|answer| match answer {
            Answer::Result(response) => Answer::Result(response.0),
            Answer::Fault(fault) => Answer::Fault(fault),
        });
        (format!("{generated:?}"), format!("{written:?}"))
    }

    fn field(name: &str, content: &str) -> String {
        format!("<{name}>{content}</{name}>")
    }

    #[test]
    fn every_field_is_read_as_the_generated_type_reads_it() {
        let others = [
            "Unknown",
            "transactionstatus",
            "x:TransactionStatus xmlns:x=\"urn:other\"",
        ];
        for version in [SoapVersion::Soap11, SoapVersion::Soap12] {
            for name in FIELDS.iter().chain(&others) {
                let close = name.split(' ').next().unwrap_or(name);
                let mut cases: Vec<String> = CONTENTS
                    .iter()
                    .map(|content| format!("<{name}>{content}</{close}>"))
                    .collect();
                cases.push(format!("<{name} xsi:nil=\"true\"/>"));
                cases.push(format!("<{name} xsi:nil=\"true\"></{close}>"));
                cases.push(format!("<{name}/>"));
                for case in cases {
                    for times in 1..=2 {
                        let fields = format!(
                            "{}{}{}",
                            field("TransactionStatus", "C"),
                            case.repeat(times),
                            field("PrimaryTransactionStatus", "V"),
                        );
                        let result = format!(
                            "<DoCreditCardSecondaryVoidResult>{fields}\
                             </DoCreditCardSecondaryVoidResult>"
                        );
                        let (generated, written) = both(version, &envelope(version, &result));
                        assert_eq!(written, generated, "{case} x{times}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_result_element_is_read_as_the_generated_type_reads_it() {
        let full: String = FIELDS
            .iter()
            .map(|name| field(name, &format!("{name} value")))
            .collect();
        let result =
            format!("<DoCreditCardSecondaryVoidResult>{full}</DoCreditCardSecondaryVoidResult>");
        for version in [SoapVersion::Soap11, SoapVersion::Soap12] {
            for inside in [
                String::new(),
                result.clone(),
                result.repeat(2),
                "<DoCreditCardSecondaryVoidResult xsi:nil=\"true\"/>".to_owned(),
                "<DoCreditCardSecondaryVoidResult/>".to_owned(),
                format!("<Other>{full}</Other>{result}"),
                format!("{result}<Other/>"),
                format!("text{result}"),
                format!(
                    "<x:DoCreditCardSecondaryVoidResult xmlns:x=\"urn:other\">{full}</x:DoCreditCardSecondaryVoidResult>"
                ),
            ] {
                let (generated, written) = both(version, &envelope(version, &inside));
                assert_eq!(written, generated, "{inside}");
            }
            // Around the element, the envelope's own reading: faults, other elements.
            let fault = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
                         <soap:Body><soap:Fault><faultcode>soap:Client</faultcode>\
                         <faultstring>no</faultstring></soap:Fault></soap:Body></soap:Envelope>";
            let (generated, written) = both(version, fault);
            assert_eq!(written, generated);
        }
    }

    proptest! {
        /// Any mix of fields, repeated, nil, unknown or holding what the reader refuses, reads
        /// the same both ways.
        #[test]
        fn any_result_reads_as_the_generated_type_reads_it(
            children in proptest::collection::vec(
                (0..FIELDS.len() + 1, 0..CONTENTS.len() + 1),
                0..12,
            ),
            soap12 in any::<bool>(),
        ) {
            let version = if soap12 { SoapVersion::Soap12 } else { SoapVersion::Soap11 };
            let fields: String = children
                .iter()
                .map(|&(name, content)| {
                    let name = FIELDS.get(name).copied().unwrap_or("Unknown");
                    match CONTENTS.get(content) {
                        Some(content) => field(name, content),
                        None => format!("<{name} xsi:nil=\"true\"/>"),
                    }
                })
                .collect();
            let result = format!(
                "<DoCreditCardSecondaryVoidResult>{fields}</DoCreditCardSecondaryVoidResult>"
            );
            let (generated, written) = both(version, &envelope(version, &result));
            prop_assert_eq!(written, generated);
        }
    }
}
