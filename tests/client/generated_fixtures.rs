//! The generator's golden files compile against this crate and read and write ASMX-style XML.
//!
//! Each file under `codegen/tests/golden/` is what `instamed-soap-codegen` produces for one
//! fixture WSDL (with `runtime = "instamed_soap"` and no client methods); the codegen crate's
//! own tests keep the files up to date. Each is included into a module of its own, as a user
//! crate would include its bindings.

// Only some of the generated items are exercised here.
#[allow(dead_code)]
mod payment {
    include!("../../codegen/tests/golden/payment.rs");
}

#[allow(dead_code)]
mod builtins {
    include!("../../codegen/tests/golden/builtins.rs");
}

#[allow(dead_code)]
mod namespaces {
    include!("../../codegen/tests/golden/namespaces.rs");
}

#[allow(dead_code)]
mod payment_service {
    include!("../../codegen/tests/golden/payment-service.rs");
}

#[allow(dead_code)]
mod sso_service {
    include!("../../codegen/tests/golden/sso-service.rs");
}

use instamed_soap::soap::Operation;
use instamed_soap::xsd::{Base64Binary, DateTime, Decimal, Guid};

const PAYMENT_NS: &str = "http://online.instamed.com/TransactionServices/Payment/v1r3/";

/// Serializes `value` without an XML declaration or indentation.
fn to_xml<T: yaserde::YaSerialize>(value: &T) -> String {
    let config = yaserde::ser::Config {
        perform_indent: false,
        write_document_declaration: false,
        indent_string: None,
    };
    yaserde::ser::to_string_with_config(value, &config).expect("serialize")
}

fn from_xml<T: yaserde::YaDeserialize>(xml: &str) -> T {
    yaserde::de::from_str(xml).unwrap_or_else(|error| panic!("{error}: {xml}"))
}

#[test]
fn operation_metadata_comes_from_the_wsdl() {
    use payment::operations::DoCreditCardSecondaryVoid as Void;
    assert_eq!(Void::NAME, "DoCreditCardSecondaryVoid");
    assert_eq!(Void::NAMESPACE, PAYMENT_NS);
    assert_eq!(Void::REQUEST_ELEMENT, "DoCreditCardSecondaryVoid");
    assert_eq!(Void::RESPONSE_ELEMENT, "DoCreditCardSecondaryVoidResponse");
    let action = format!("{PAYMENT_NS}DoCreditCardSecondaryVoid");
    assert_eq!(Void::SOAP11_ACTION, Some(action.as_str()));
    assert_eq!(Void::SOAP12_ACTION, Some(action.as_str()));
    assert_eq!(payment::SERVICE_NAME, "Service");
    assert_eq!(payment::TARGET_NAMESPACE, PAYMENT_NS);
    assert_eq!(
        payment::SOAP11_ADDRESS,
        Some("https://connect.instamed.com/payment/service.asmx")
    );
    assert_eq!(namespaces::SOAP11_ADDRESS, None);
    assert_eq!(
        namespaces::operations::PlaceOrder::SOAP12_ACTION,
        Some("urn:example:orders/PlaceOrder")
    );
    assert_eq!(namespaces::operations::PlaceOrder::SOAP11_ACTION, None);
}

#[test]
fn a_request_serializes_asmx_style() {
    use payment::types::{
        CardPresentStatus, DoCreditCardSecondaryVoid, SecondaryCreditCardVoidRequestData,
    };

    let transaction = SecondaryCreditCardVoidRequestData {
        merchant_id: Some("1234".to_owned()),
        primary_transaction_id: Some("EE52401813A74328AAA7D93319FF4383".to_owned()),
        primary_card_present_status: CardPresentStatus::PresentManualKey,
        amount: "12.50".parse().expect("decimal"),
        ..Default::default()
    };
    let request = DoCreditCardSecondaryVoid {
        transaction: Some(transaction),
    };

    let xml = to_xml(&request);
    assert!(
        xml.starts_with(&format!(
            r#"<DoCreditCardSecondaryVoid xmlns="{PAYMENT_NS}"><transaction"#
        )),
        "{xml}"
    );
    assert!(xml.contains("<MerchantID>1234</MerchantID>"), "{xml}");
    assert!(xml.contains("<Amount>12.50</Amount>"), "{xml}");
    assert!(
        xml.contains("<PrimaryCardPresentStatus>PresentManualKey</PrimaryCardPresentStatus>"),
        "{xml}"
    );
    // Base elements come before the derived type's own.
    let merchant = xml.find("<MerchantID>").expect("MerchantID");
    let primary = xml
        .find("<PrimaryTransactionID>")
        .expect("PrimaryTransactionID");
    assert!(merchant < primary, "{xml}");

    let back: DoCreditCardSecondaryVoid = from_xml(&xml);
    assert_eq!(back, request);
}

#[test]
fn a_response_deserializes_from_asmx_xml() {
    use payment::types::DoCreditCardSecondaryVoidResponse;

    let xml = format!(
        r#"<DoCreditCardSecondaryVoidResponse xmlns="{PAYMENT_NS}">
          <DoCreditCardSecondaryVoidResult>
            <MerchantID>1234</MerchantID>
            <TransactionStatus>C</TransactionStatus>
            <Patient>
              <EntityID>E1</EntityID>
              <AccountNumber>A-77</AccountNumber>
              <PatientInfo><FirstName>Ada</FirstName><LastName>Lovelace</LastName></PatientInfo>
              <AddressVerificationInfo><Zip>19103</Zip></AddressVerificationInfo>
            </Patient>
            <IsCardholderInitiatedTransaction>true</IsCardholderInitiatedTransaction>
            <InstallementSequence>2</InstallementSequence>
            <TransactionDate>2026-11-23T10:15:00-05:00</TransactionDate>
            <Amount>12.50</Amount>
            <RequestGuid>ee524018-13a7-4328-aaa7-d93319ff4383</RequestGuid>
            <Tags><string>a</string><string>b</string></Tags>
            <ResponseCode>000</ResponseCode>
            <interfaceTransactionStatus>ok</interfaceTransactionStatus>
            <PrimaryTransactionStatus>V</PrimaryTransactionStatus>
          </DoCreditCardSecondaryVoidResult>
        </DoCreditCardSecondaryVoidResponse>"#
    );
    let response: DoCreditCardSecondaryVoidResponse = from_xml(&xml);
    let result = response
        .do_credit_card_secondary_void_result
        .expect("result");
    assert_eq!(result.merchant_id.as_deref(), Some("1234"));
    assert_eq!(result.transaction_status.as_deref(), Some("C"));
    assert_eq!(result.primary_transaction_status.as_deref(), Some("V"));
    assert_eq!(result.interface_transaction_status.as_deref(), Some("ok"));
    assert_eq!(result.is_cardholder_initiated_transaction, Some(true));
    assert_eq!(result.installement_sequence, 2);
    assert_eq!(
        result.transaction_date,
        "2026-11-23T10:15:00-05:00".parse::<DateTime>().unwrap()
    );
    assert_eq!(result.amount, "12.50".parse::<Decimal>().unwrap());
    assert_eq!(
        result.request_guid,
        "ee524018-13a7-4328-aaa7-d93319ff4383"
            .parse::<Guid>()
            .unwrap()
    );
    assert_eq!(result.tags.expect("tags").string, ["a", "b"]);
    let patient = result.patient.expect("patient");
    assert_eq!(patient.entity_id.as_deref(), Some("E1"));
    assert_eq!(patient.account_number.as_deref(), Some("A-77"));
    assert_eq!(
        patient.patient_info.expect("info").last_name.as_deref(),
        Some("Lovelace")
    );
    assert_eq!(
        patient
            .address_verification_info
            .expect("address")
            .zip
            .as_deref(),
        Some("19103")
    );
}

#[test]
fn prefixed_input_deserializes_too() {
    use payment::types::DoCreditCardSecondaryVoidResponse;

    let xml = format!(
        r#"<p:DoCreditCardSecondaryVoidResponse xmlns:p="{PAYMENT_NS}"><p:DoCreditCardSecondaryVoidResult><p:MerchantID>9</p:MerchantID><p:InstallementSequence>1</p:InstallementSequence><p:TransactionDate>2026-01-01T00:00:00</p:TransactionDate><p:Amount>1</p:Amount><p:RequestGuid>00000000-0000-0000-0000-000000000001</p:RequestGuid></p:DoCreditCardSecondaryVoidResult></p:DoCreditCardSecondaryVoidResponse>"#
    );
    let response: DoCreditCardSecondaryVoidResponse = from_xml(&xml);
    let result = response
        .do_credit_card_secondary_void_result
        .expect("result");
    assert_eq!(result.merchant_id.as_deref(), Some("9"));
}

#[test]
fn an_unknown_enumeration_value_is_kept() {
    use payment::types::{CardPresentStatus, DoCreditCardSecondaryVoid};

    let xml = format!(
        r#"<DoCreditCardSecondaryVoid xmlns="{PAYMENT_NS}"><transaction><InstallementSequence>1</InstallementSequence><TransactionDate>2026-01-01T00:00:00Z</TransactionDate><Amount>1.00</Amount><RequestGuid>00000000-0000-0000-0000-000000000001</RequestGuid><PrimaryCardPresentStatus>InAppApplePay</PrimaryCardPresentStatus></transaction></DoCreditCardSecondaryVoid>"#
    );
    let request: DoCreditCardSecondaryVoid = from_xml(&xml);
    let status = request
        .transaction
        .expect("transaction")
        .primary_card_present_status;
    assert_eq!(
        status,
        CardPresentStatus::Unknown("InAppApplePay".to_owned())
    );
    assert_eq!(status.as_str(), "InAppApplePay");
    assert_eq!("PresentEMV".parse(), Ok(CardPresentStatus::PresentEmv));
    assert_eq!(
        CardPresentStatus::MsdContactless.to_string(),
        "MSDContactless"
    );
    assert_eq!(
        CardPresentStatus::default(),
        CardPresentStatus::Unknown(String::new())
    );
}

#[test]
fn base64_and_empty_wrappers_round_trip() {
    use payment::types::{DoCheckOcrAnalysis, GetServiceStatus};

    let request = DoCheckOcrAnalysis {
        image: Some(Base64Binary(b"check image".to_vec())),
    };
    let xml = to_xml(&request);
    assert!(xml.contains("<image>Y2hlY2sgaW1hZ2U=</image>"), "{xml}");
    assert_eq!(from_xml::<DoCheckOcrAnalysis>(&xml), request);

    let xml = to_xml(&GetServiceStatus::default());
    assert_eq!(xml, format!(r#"<GetServiceStatus xmlns="{PAYMENT_NS}" />"#));
    assert_eq!(
        from_xml::<GetServiceStatus>(&xml),
        GetServiceStatus::default()
    );
}

#[test]
fn every_builtin_and_occurrence_round_trips() {
    use builtins::types::{
        AllTypes, Colour, Keywords, Occurrences, Order, OrderLine, OrderLineDiscount, WidgetElement,
    };

    let all = AllTypes {
        text: "<&>".to_owned(),
        flag: true,
        tiny: -8,
        small: -16,
        number: -32,
        big: -64,
        octet: 8,
        word: 16,
        count: 32,
        huge: u64::MAX,
        ratio: 0.5,
        measure: 2.25,
        amount: "-0.10".parse().unwrap(),
        when: "2026-11-23T10:15:00Z".parse().unwrap(),
        image: Base64Binary(vec![0, 1, 2, 255]),
        id: "EE524018-13A7-4328-AAA7-D93319FF4383".parse().unwrap(),
        letter: 65,
        code: "ABC".to_owned(),
    };
    let occurrences = Occurrences {
        required: "yes".to_owned(),
        nillable_flag: Some(false),
        any_number: vec![1, 2, 3],
        at_least_two: vec!["x".to_owned(), "y".to_owned()],
        up_to_five: vec![
            Colour::Red,
            Colour::Red2,
            Colour::LightBlue,
            Colour::Unknown("mauve".to_owned()),
        ],
        note: Some("by reference".to_owned()),
        ..Default::default()
    };
    let keywords = Keywords {
        r#type: Some("t".to_owned()),
        self_value: Some("s".to_owned()),
        ..Default::default()
    };
    let line = OrderLine {
        sku: "SKU-1".to_owned(),
        discount: Some(OrderLineDiscount {
            percent: "5".parse().unwrap(),
        }),
    };
    let order = Order {
        line: vec![line.clone(), line],
        sub: vec![Order::default()],
        ..Default::default()
    };
    let widget = WidgetElement {
        all: Some(all),
        occurrences: Some(occurrences),
        keywords: Some(keywords),
        order: Some(order),
        ..Default::default()
    };

    let xml = to_xml(&widget);
    assert!(
        xml.starts_with(r#"<Widget xmlns="urn:example:builtins">"#),
        "{xml}"
    );
    assert!(xml.contains("<type>t</type>"), "{xml}");
    assert!(xml.contains("<self>s</self>"), "{xml}");
    assert!(xml.contains("<UpToFive>mauve</UpToFive>"), "{xml}");
    assert!(xml.contains("<UpToFive>light blue</UpToFive>"), "{xml}");
    assert_eq!(from_xml::<WidgetElement>(&xml), widget);
}

#[test]
fn elements_stay_in_the_namespace_that_declares_them() {
    use namespaces::types::{Money, PlaceOrder, PlaceOrderResponse, TaxedMoney};

    let order = PlaceOrder {
        reference: "R-1".to_owned(),
        total: Money {
            amount: "9.99".parse().unwrap(),
            currency: "USD".to_owned(),
        },
        priority: 3,
    };

    let xml = to_xml(&order);
    assert!(
        xml.starts_with(
            r#"<tns:PlaceOrder xmlns:tns="urn:example:orders"><reference>R-1</reference>"#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<total xmlns:ns1="urn:example:money"><ns1:Amount>9.99</ns1:Amount>"#),
        "{xml}"
    );
    assert!(xml.contains("<tns:priority>3</tns:priority>"), "{xml}");
    assert_eq!(from_xml::<PlaceOrder>(&xml), order);

    let xml = r#"<PlaceOrderResponse xmlns="urn:example:orders"><accepted xmlns="">true</accepted><charged xmlns="" xmlns:m="urn:example:money"><m:Amount>1</m:Amount><m:Currency>EUR</m:Currency><m:Tax>0.2</m:Tax></charged></PlaceOrderResponse>"#;
    let response: PlaceOrderResponse = from_xml(xml);
    assert_eq!(response.accepted, Some(true));
    let charged = TaxedMoney {
        amount: "1".parse().unwrap(),
        currency: "EUR".to_owned(),
        tax: "0.2".parse().unwrap(),
    };
    assert_eq!(response.charged, Some(charged));
}

#[test]
fn the_project_wsdl_bindings_match_the_fact_sheet() {
    use payment_service::operations::DoCreditCardSecondaryVoid as Void;
    assert_eq!(Void::NAMESPACE, PAYMENT_NS);
    assert_eq!(payment_service::SERVICE_NAME, "Service");
}

#[test]
fn a_required_nillable_element_is_written_as_nil_when_unknown() {
    use instamed_soap::soap::{ReadXml, XmlReader, XmlWriter};
    use payment::types::BasePaymentResponseData;

    fn round_trip(value: &BasePaymentResponseData) -> (String, BasePaymentResponseData) {
        let mut writer = XmlWriter::new(Vec::new());
        writer.element(PAYMENT_NS, "Data", value);
        let xml = String::from_utf8(writer.into_inner()).expect("UTF-8");
        let mut reader = XmlReader::new(&xml);
        assert!(reader.enter_child().expect("root"));
        let back = BasePaymentResponseData::read_xml(&mut reader).expect("read back");
        (xml, back)
    }

    let unknown = BasePaymentResponseData::default();
    let (xml, back) = round_trip(&unknown);
    let document = roxmltree::Document::parse(&xml).expect("well-formed");
    let element = document
        .descendants()
        .find(|node| node.has_tag_name((PAYMENT_NS, "IsCardholderInitiatedTransaction")))
        .unwrap_or_else(|| panic!("the required element is written: {xml}"));
    assert_eq!(
        element.attribute(("http://www.w3.org/2001/XMLSchema-instance", "nil")),
        Some("true"),
        "{xml}"
    );
    assert_eq!(back.is_cardholder_initiated_transaction, None);
    // An optional element with no value is still left out, as ASP.NET does.
    assert!(!xml.contains("MerchantID"), "{xml}");

    let known = BasePaymentResponseData {
        is_cardholder_initiated_transaction: Some(false),
        ..Default::default()
    };
    let (xml, back) = round_trip(&known);
    assert!(
        xml.contains("<IsCardholderInitiatedTransaction>false</IsCardholderInitiatedTransaction>"),
        "{xml}"
    );
    assert_eq!(back.is_cardholder_initiated_transaction, Some(false));
}

/// A second service beside the payment one: its own namespace (tempuri), its base payment types
/// declared again there, and a secret in the body that `Debug` never shows.
#[test]
fn the_sso_service_reads_its_own_namespace_and_hides_its_security_key() {
    use sso_service::operations::GetTransactionDetails;
    use sso_service::types::{GetSsoTokenStatus, GetTransactionDetailsResponse};

    assert_eq!(sso_service::TARGET_NAMESPACE, "http://tempuri.org/");
    assert_eq!(
        GetTransactionDetails::SOAP11_ACTION,
        Some("http://tempuri.org/GetTransactionDetails")
    );
    let request = GetSsoTokenStatus {
        token_id: Some("T1".to_owned()),
        password: Some("hunter2-security-key".to_owned()),
        ..Default::default()
    };
    let shown = format!("{request:?} {request:#?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("T1") && shown.contains("<redacted>"),
        "{shown}"
    );
    let xml = to_xml(&request);
    assert!(
        xml.starts_with(r#"<GetSSOTokenStatus xmlns="http://tempuri.org/"><tokenID>T1</tokenID>"#),
        "{xml}"
    );

    let response: GetTransactionDetailsResponse = from_xml(
        r#"<GetTransactionDetailsResponse xmlns="http://tempuri.org/">
          <GetTransactionDetailsResult>
            <TransactionID>EE52401813A74328AAA7D93319FF4383</TransactionID>
            <TransactionStatus>V</TransactionStatus>
            <ResponseCode>000</ResponseCode>
            <TenderType>CreditCard</TenderType>
          </GetTransactionDetailsResult>
        </GetTransactionDetailsResponse>"#,
    );
    let result = response.get_transaction_details_result.expect("result");
    assert_eq!(result.transaction_status.as_deref(), Some("V"));
    assert_eq!(result.response_code.as_deref(), Some("000"));
    assert_eq!(result.tender_type.as_deref(), Some("CreditCard"));
}
