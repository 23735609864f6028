//! The CPU cost of a void's envelopes: building the request and reading the answer, and
//! cleaning what the answer put in the receipt (`scrub/*`).
//!
//! `cargo bench --bench envelope`

#![allow(missing_docs)] // criterion_group! writes an undocumented function

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use instamed_soap::bindings::operations::DoCreditCardSecondaryVoid;
use instamed_soap::sensitive::{Secrets, redact_cards};
use instamed_soap::soap::{self, Answer, SoapVersion};
use instamed_soap::{Credentials, Outlet, TransactionId, VoidRequest};

const TNS: &str = "http://online.instamed.com/TransactionServices/Payment/v1r3/";

fn answer(version: SoapVersion) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{}\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\
         <soap:Body><DoCreditCardSecondaryVoidResponse xmlns=\"{TNS}\"><DoCreditCardSecondaryVoidResult>\
         <MerchantID>123123123</MerchantID><StoreID>123</StoreID><TerminalID>123</TerminalID>\
         <TransactionStatus>C</TransactionStatus><ResponseCode>000</ResponseCode>\
         <ResponseMessage>APPROVED</ResponseMessage>\
         <PrimaryTransactionID>EE52401813A74328AAA7D93319FF4383</PrimaryTransactionID>\
         <PrimaryTransactionStatus>V</PrimaryTransactionStatus>\
         </DoCreditCardSecondaryVoidResult></DoCreditCardSecondaryVoidResponse></soap:Body></soap:Envelope>",
        version.envelope_namespace()
    )
}

/// The response element of a SOAP 1.1 answer, without the envelope around it.
fn response_element() -> String {
    let body = answer(SoapVersion::Soap11);
    let start = body.find("<DoCreditCardSecondaryVoidResponse").unwrap_or(0);
    let end = body.find("</soap:Body>").unwrap_or(body.len());
    body[start..end].to_owned()
}

fn fault() -> String {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
     <soap:Body><soap:Fault><faultcode>soap:Client</faultcode>\
     <faultstring>An unexpected error occurred with Reference Number 1234</faultstring>\
     <detail><ErrorCode>400</ErrorCode></detail></soap:Fault></soap:Body></soap:Envelope>"
        .to_owned()
}

fn envelopes(c: &mut Criterion) {
    let request = VoidRequest::new(
        Outlet::new("123123123", "123", "123").expect("outlet"),
        TransactionId::new("EE52401813A74328AAA7D93319FF4383").expect("id"),
    );
    for version in [SoapVersion::Soap11, SoapVersion::Soap12] {
        let name = match version {
            SoapVersion::Soap11 => "soap11",
            _ => "soap12",
        };
        c.bench_function(&format!("encode_void_request/{name}"), |b| {
            b.iter(|| {
                soap::encode::<DoCreditCardSecondaryVoid>(version, &black_box(&request).to_soap())
            })
        });
        let body = answer(version);
        c.bench_function(&format!("decode_void_response/{name}"), |b| {
            b.iter(|| {
                let reply =
                    soap::decode::<DoCreditCardSecondaryVoid>(version, black_box(body.as_bytes()));
                assert!(matches!(reply, Ok(Answer::Result(_))));
            })
        });
    }
    c.bench_function("encode_void_request/nvp", |b| {
        b.iter(|| instamed_soap::nvp::encode(black_box(&request).to_nvp()))
    });
    let pairs = b"responseCode=000&responseMessage=APPROVED&transactionStatus=C\
        &primaryTransactionID=EE52401813A74328AAA7D93319FF4383&primaryTransactionStatus=V";
    c.bench_function("decode_void_response/nvp", |b| {
        b.iter(|| {
            let answer = instamed_soap::nvp::decode(black_box(pairs)).expect("pairs");
            assert!(answer.error().is_none());
            black_box(instamed_soap::Evidence::from_nvp(&answer));
        })
    });
    c.bench_function("generated_type/read_xml", |b| {
        // The generated reader alone, on the response element without the envelope.
        let element = response_element();
        b.iter(|| {
            let mut reader = instamed_soap::soap::XmlReader::new(black_box(&element));
            assert!(reader.enter_child().expect("element"));
            reader
                .read::<instamed_soap::bindings::types::DoCreditCardSecondaryVoidResponse>(
                    &mut false,
                )
                .expect("read")
        })
    });
    c.bench_function("generated_type/write_xml", |b| {
        // The generated writer alone: the request element, without the envelope, from a
        // generated value built once.
        let element = request.to_soap();
        b.iter(|| {
            let mut writer = instamed_soap::soap::XmlWriter::new(Vec::with_capacity(512));
            writer.element(TNS, "DoCreditCardSecondaryVoid", black_box(&element));
            writer.into_inner()
        })
    });
    // The same two stages through the yaserde derives on the same types, which the generated
    // readers and writers replaced in the client.
    c.bench_function("generated_type/write_xml_yaserde", |b| {
        let element = request.to_soap();
        b.iter(|| yaserde::ser::to_string(black_box(&element)).expect("serialize"))
    });
    c.bench_function("generated_type/read_xml_yaserde", |b| {
        let element = response_element();
        b.iter(|| {
            let response: instamed_soap::bindings::types::DoCreditCardSecondaryVoidResponse =
                yaserde::de::from_str(black_box(&element)).expect("deserialize");
            assert!(response.do_credit_card_secondary_void_result.is_some());
            response
        })
    });
    let body = fault();
    c.bench_function("decode_fault/soap11", |b| {
        b.iter(|| {
            let reply = soap::decode::<DoCreditCardSecondaryVoid>(
                SoapVersion::Soap11,
                black_box(body.as_bytes()),
            );
            assert!(matches!(reply, Ok(Answer::Fault(_))));
        })
    });
}

/// What the client does to every text an answer puts in a receipt or an error: its secrets
/// taken out, then card numbers.
fn clean(secrets: &Secrets, text: &str) -> usize {
    let removed = secrets.remove(text);
    redact_cards(&removed).len()
}

fn scrubbing(c: &mut Criterion) {
    let secrets = Secrets::of(
        Some(&Credentials::new(
            "merchant@clinic.test",
            "Tr0ub4dor&3 horse",
        )),
        None,
    );
    // The texts of a voided receipt: statuses, a code, a message, the IDs.
    let receipt = [
        "C",
        "V",
        "000",
        "APPROVED",
        "Transaction voided successfully",
        "EE52401813A74328AAA7D93319FF4383",
        "A1B2C3",
    ];
    c.bench_function("scrub/receipt", |b| {
        b.iter(|| {
            receipt
                .iter()
                .map(|text| clean(&secrets, black_box(text)))
                .sum::<usize>()
        })
    });
    // A declined void's message echoing a card, and an HTTP error page's excerpt.
    let echo = "Declined: card 4111 1111 1111 1111 is not on file for payment \
                887BFFC901103101744246852F5EC81D (ref 2024-01-05 12:30:45)";
    c.bench_function("scrub/message_with_a_card", |b| {
        b.iter(|| clean(&secrets, black_box(echo)))
    });
    let page = "<html><head><title>500 - Internal server error.</title></head><body>\
                <h2>There is a problem with the resource you are looking for, and it cannot \
                be displayed. Error 0x80070005 at 10:31:07.123 on 2024-01-05, request \
                7f3e2a10-5c1b-4e4f-9a7b-0c2d3e4f5a6b, server WEB01 build 4.2.1.1733</h2>\
                </body></html>"
        .repeat(12);
    c.bench_function("scrub/error_page_4k", |b| {
        b.iter(|| clean(&secrets, black_box(&page)))
    });
}

criterion_group!(benches, envelopes, scrubbing);
criterion_main!(benches);
