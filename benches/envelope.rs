//! The CPU cost of a void's envelopes: building the request and reading the answer.
//!
//! `cargo bench --bench envelope`

#![allow(missing_docs)] // criterion_group! writes an undocumented function

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use instamed_soap::bindings::operations::DoCreditCardSecondaryVoid;
use instamed_soap::soap::{self, Answer, SoapVersion};
use instamed_soap::{Outlet, TransactionId, VoidRequest};

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
            black_box(instamed_soap::VoidAnswer::from_nvp(&answer));
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

criterion_group!(benches, envelopes);
criterion_main!(benches);
