//! The simulator, driven by the crate's own client (over TLS, as in production) and by raw HTTP
//! for the answers a well-behaved client never provokes.

use instamed_soap_test_support as support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use instamed_soap::bindings::types;
use instamed_soap::soap::FaultCode;
use instamed_soap::{
    Client, Credentials, Error, Outlet, Protocol, TransactionId, UserName, VoidRequest,
};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, PaymentStatus, RefusalStyle, Simulator,
    SimulatorConfig, SuccessMessage,
};
use support::logs::Logs;
use support::outlet;
use tokio::net::TcpStream;

const TNS: &str = "http://online.instamed.com/TransactionServices/Payment/v1r3/";
const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// A fresh, empty directory for files of one test.
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "instamed-simulator-test-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

async fn start(config: SimulatorConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts")
}

async fn start_plain(config: SimulatorConfig) -> Simulator {
    start(config.with_tls(false)).await
}

/// A client of the simulator, over TLS when it has a CA.
fn client(simulator: &Simulator, protocol: Protocol) -> Client {
    client_as(
        simulator,
        protocol,
        Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD),
    )
}

fn client_as(simulator: &Simulator, protocol: Protocol, credentials: Credentials) -> Client {
    let mut builder = Client::builder(simulator.endpoint())
        .credentials(credentials)
        .protocol(protocol)
        .timeout(Duration::from_secs(5))
        .allow_plain_http_on_loopback(true);
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build().expect("client")
}

fn void_of(payment: &TransactionId) -> VoidRequest {
    VoidRequest::new(outlet(), payment.clone())
}

fn new_payment(simulator: &Simulator) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), "12.34")
        .expect("payment")
}

/// What a raw request got back.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Sends one request over plain HTTP, signed in as the demo account unless `auth` is given.
pub(crate) async fn raw(
    simulator: &Simulator,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let stream = TcpStream::connect(simulator.local_addr())
        .await
        .expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    if !headers.iter().any(|(name, _)| *name == "authorization") {
        request = request.header("authorization", basic(DEMO_ACCOUNT_ID, DEMO_PASSWORD));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn void_envelope(envelope_ns: &str, payment: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><e:Envelope xmlns:e=\"{envelope_ns}\"><e:Body>\
         <v:DoCreditCardSecondaryVoid xmlns:v=\"{TNS}\"><v:transaction><v:MerchantID>123123123</v:MerchantID>\
         <v:StoreID>123</v:StoreID><v:TerminalID>456</v:TerminalID>\
         <v:PrimaryTransactionID>{payment}</v:PrimaryTransactionID></v:transaction>\
         </v:DoCreditCardSecondaryVoid></e:Body></e:Envelope>"
    )
}

/// The text of the first element named `local` in `xml`.
pub(crate) fn text_of(xml: &str, local: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.descendants()
        .find(|n| n.tag_name().name() == local)
        .map(|n| n.text().unwrap_or("").to_owned())
}

/// The value of `key` in form pairs.
fn pair(form: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(form.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn the_wsdl_is_served_as_the_bindings_were_generated_from() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    // The file build.rs read: INSTAMED_WSDL when the crate was built against another WSDL.
    let path = option_env!("INSTAMED_WSDL").map_or_else(
        || {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../wsdl/payment-service.wsdl"
            )
            .to_owned()
        },
        str::to_owned,
    );
    let file = std::fs::read_to_string(path).expect("wsdl file");
    // But for the addresses, which name where it was fetched from, as ASP.NET's do
    // (`tests/simulator_asmx.rs`).
    let file = file.replace(
        "location=\"https://connect.instamed.com/payment/service.asmx\"",
        &format!(
            "location=\"http://localhost:{}/payment/service.asmx\"",
            simulator.local_addr().port()
        ),
    );
    for query in ["WSDL", "wsdl"] {
        let answer = raw(
            &simulator,
            Method::GET,
            &format!("/payment/service.asmx?{query}"),
            &[],
            "",
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.header("content-type").starts_with("text/xml"));
        assert_eq!(answer.body, file);
    }
}

#[tokio::test]
async fn operation_help_pages_look_like_asp_net() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let page = raw(
        &simulator,
        Method::GET,
        "/payment/service.asmx?op=DoCreditCardSecondaryVoid",
        &[],
        "",
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("text/html"));
    for expected in [
        "<h2>DoCreditCardSecondaryVoid</h2>",
        "SOAPAction: &quot;http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid&quot;",
        "&lt;soap12:Envelope",
        "&lt;PrimaryTransactionID&gt;string&lt;/PrimaryTransactionID&gt;",
        "&lt;PrimaryTransactionStatus&gt;string&lt;/PrimaryTransactionStatus&gt;",
    ] {
        assert!(page.body.contains(expected), "missing {expected}");
    }
    let unknown = raw(
        &simulator,
        Method::GET,
        "/payment/service.asmx?op=%3Cscript%3E",
        &[],
        "",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("&lt;script&gt;") && !unknown.body.contains("<script>"));
    let list = raw(&simulator, Method::GET, "/payment/service.asmx", &[], "").await;
    assert!(
        list.body
            .contains("service.asmx?op=DoCreditCardAuthAndCapt")
    );
}

#[tokio::test]
async fn voids_succeed_over_tls_in_both_soap_versions() {
    let simulator = start(SimulatorConfig::default()).await;
    assert!(simulator.endpoint().starts_with("https://localhost:"));
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        let payment = new_payment(&simulator);
        let receipt = client(&simulator, protocol)
            .void(&void_of(&payment))
            .await
            .expect("voided");
        assert_eq!(receipt.protocol, protocol);
        assert_eq!(receipt.response_message.as_deref(), Some("APPROVED"));
        assert_eq!(receipt.transaction_id.as_deref(), Some(payment.as_str()));
        assert_eq!(
            simulator.ledger().status(&payment),
            Some(PaymentStatus::Voided)
        );
    }
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_second_void_is_already_voided_in_both_styles_and_either_message_is_a_success() {
    for (style, message) in [
        (RefusalStyle::Decline, SuccessMessage::Approved),
        (RefusalStyle::Fault, SuccessMessage::Voided),
    ] {
        let simulator = start_plain(
            SimulatorConfig::default()
                .with_refusal_style(style)
                .with_success_message(message),
        )
        .await;
        for protocol in [Protocol::Soap11, Protocol::Soap12] {
            let client = client(&simulator, protocol);
            let payment = new_payment(&simulator);
            let receipt = client.void(&void_of(&payment)).await.expect("voided");
            assert_eq!(receipt.response_message.as_deref(), Some(message.as_str()));
            match client.void(&void_of(&payment)).await {
                Err(Error::AlreadyVoided(refusal)) => {
                    assert_eq!(refusal.response_code.as_deref(), Some("012"));
                    assert_eq!(refusal.fault.is_some(), style == RefusalStyle::Fault);
                }
                other => panic!("{style} {protocol}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn a_started_transfer_or_the_cutoff_makes_a_payment_not_voidable() {
    for style in [RefusalStyle::Decline, RefusalStyle::Fault] {
        let simulator = start_plain(SimulatorConfig::default().with_refusal_style(style)).await;
        let payment = new_payment(&simulator);
        simulator
            .ledger()
            .start_transfer(&payment)
            .expect("transfer");
        for protocol in [Protocol::Soap11, Protocol::Soap12] {
            let error = client(&simulator, protocol)
                .void(&void_of(&payment))
                .await
                .expect_err("too late");
            assert!(matches!(error, Error::NotVoidable(_)), "{error:?}");
        }
        assert_eq!(
            simulator.ledger().status(&payment),
            Some(PaymentStatus::Captured)
        );
    }

    let strict =
        start_plain(SimulatorConfig::default().with_void_cutoff(Some(Duration::ZERO))).await;
    let payment = new_payment(&strict);
    let error = client(&strict, Protocol::Soap11)
        .void(&void_of(&payment))
        .await
        .expect_err("past the cutoff");
    assert!(matches!(error, Error::NotVoidable(_)), "{error:?}");
}

#[tokio::test]
async fn unknown_payments_and_other_outlets_payments_are_unknown() {
    for style in [RefusalStyle::Decline, RefusalStyle::Fault] {
        let simulator = start_plain(SimulatorConfig::default().with_refusal_style(style)).await;
        let client = client(&simulator, Protocol::Soap12);
        let nobody = TransactionId::new("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF").expect("id");
        let error = client.void(&void_of(&nobody)).await.expect_err("unknown");
        assert!(matches!(error, Error::UnknownTransaction(_)), "{error:?}");

        let elsewhere = Outlet::new("999", "123", "456").expect("outlet");
        let payment = simulator
            .ledger()
            .create_payment(&elsewhere, "1.00")
            .expect("payment");
        let error = client.void(&void_of(&payment)).await.expect_err("unknown");
        assert!(matches!(error, Error::UnknownTransaction(_)), "{error:?}");
        assert_eq!(
            simulator.ledger().status(&payment),
            Some(PaymentStatus::Captured)
        );
    }
}

#[tokio::test]
async fn sign_in_takes_the_account_id_or_its_local_part_and_nothing_else() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    for credentials in [
        Credentials::new(DEMO_ACCOUNT_ID, "wrong-password"),
        Credentials::new("someone@else.test", DEMO_PASSWORD),
    ] {
        let error = client_as(&simulator, Protocol::Soap11, credentials)
            .void(&void_of(&payment))
            .await
            .expect_err("refused");
        assert!(
            matches!(error, Error::AuthenticationRefused { status: 401 }),
            "{error:?}"
        );
    }
    let local = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .user_name(UserName::LocalPart)
        .ca_certificate_file(simulator.ca_path().expect("CA"))
        .build()
        .expect("client");
    local.void(&void_of(&payment)).await.expect("voided");
    simulator.shutdown().await;
}

#[tokio::test]
async fn unauthenticated_requests_get_a_basic_challenge() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let answer = raw(
        &simulator,
        Method::GET,
        "/payment/service.asmx?WSDL",
        &[("authorization", "Basic Zm9vOmJhcg==")],
        "",
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.header("www-authenticate"),
        "Basic realm=\"InstaMed\""
    );
    // No credentials at all: the same challenge, before the request is looked at.
    let missing = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &[("authorization", ""), ("content-type", "text/plain")],
        "",
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(
        missing.header("www-authenticate").starts_with("Basic "),
        "{:?}",
        missing.headers
    );
}

#[tokio::test]
async fn requests_asp_net_cannot_read_get_its_faults() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let soap11 = |action: &'static str| {
        [
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", action),
        ]
    };
    let void =
        "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"";

    let wrong_type = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!(wrong_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(wrong_type.body, "");

    let unknown_action = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &soap11("\"urn:nothing\""),
        &void_envelope(SOAP11, "X"),
    )
    .await;
    assert_eq!(unknown_action.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&unknown_action.body, "faultcode").as_deref(),
        Some("soap:Client")
    );
    assert_eq!(
        text_of(&unknown_action.body, "faultstring").as_deref(),
        Some(
            "System.Web.Services.Protocols.SoapException: Server did not recognize the value \
             of HTTP Header SOAPAction: urn:nothing."
        )
    );

    let malformed = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &soap11(void),
        "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"><e:Body>",
    )
    .await;
    assert_eq!(malformed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&malformed.body, "faultcode").as_deref(),
        Some("soap:Client")
    );
    let reason = text_of(&malformed.body, "faultstring").unwrap_or_default();
    assert!(
        reason.starts_with(
            "Server was unable to read request. ---> There is an error in XML document"
        ),
        "{reason}"
    );

    let doctype = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &soap11(void),
        "<!DOCTYPE e [<!ENTITY x \"y\">]><e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\"/>",
    )
    .await;
    assert_eq!(
        text_of(&doctype.body, "faultcode").as_deref(),
        Some("soap:Client")
    );

    let empty_wrapper = format!(
        "<e:Envelope xmlns:e=\"{SOAP11}\"><e:Body><DoCreditCardSecondaryVoid xmlns=\"{TNS}\"/></e:Body></e:Envelope>"
    );
    let missing = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &soap11(void),
        &empty_wrapper,
    )
    .await;
    assert_eq!(missing.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&missing.body, "faultcode").as_deref(),
        Some("soap:Server")
    );
    assert_eq!(
        text_of(&missing.body, "faultstring").as_deref(),
        Some(
            "Server was unable to process request. ---> Object reference not set to an \
             instance of an object."
        )
    );

    // SOAP 1.2: sender and receiver faults alike come with 500, as from ASP.NET.
    let soap12 = |action: &'static str| [("content-type", action)];
    let sender = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &soap12("application/soap+xml; charset=utf-8"),
        "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body>",
    )
    .await;
    assert_eq!(sender.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&sender.body, "Value").as_deref(),
        Some("soap12:Sender")
    );
    let receiver = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &soap12("application/soap+xml; charset=utf-8"),
        &empty_wrapper.replace(SOAP11, SOAP12),
    )
    .await;
    assert_eq!(receiver.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&receiver.body, "Value").as_deref(),
        Some("soap12:Receiver")
    );
    let doc = roxmltree::Document::parse(&receiver.body).expect("xml");
    let text = doc
        .descendants()
        .find(|n| n.has_tag_name((SOAP12, "Text")))
        .expect("Reason/Text");
    assert_eq!(
        text.attribute(("http://www.w3.org/XML/1998/namespace", "lang")),
        Some("en")
    );

    let mismatch = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &soap11(void),
        &void_envelope("urn:not-soap", "X"),
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&mismatch.body, "faultcode").as_deref(),
        Some("soap:VersionMismatch")
    );
}

/// The content types of a SOAP 1.1 POST naming the void.
const SOAP11_VOID: [(&str, &str); 2] = [
    ("content-type", "text/xml; charset=utf-8"),
    (
        "soapaction",
        "\"http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid\"",
    ),
];

#[tokio::test]
async fn soap_1_2_sender_faults_come_with_500_in_both_refusal_styles() {
    let simulator =
        start_plain(SimulatorConfig::default().with_refusal_style(RefusalStyle::Fault)).await;
    let payment = new_payment(&simulator);
    simulator
        .ledger()
        .start_transfer(&payment)
        .expect("transfer");
    let soap12 = [("content-type", "application/soap+xml; charset=utf-8")];
    let refused = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &soap12,
        &void_envelope(SOAP12, payment.as_str()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&refused.body, "Value").as_deref(),
        Some("soap12:Sender")
    );
    let soap11 = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &SOAP11_VOID,
        &void_envelope(SOAP11, payment.as_str()),
    )
    .await;
    assert_eq!(soap11.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&soap11.body, "faultcode").as_deref(),
        Some("soap:Client")
    );
    // The client reads both as the refusal they are.
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        match client(&simulator, protocol).void(&void_of(&payment)).await {
            Err(Error::NotVoidable(refusal)) => assert!(refusal.fault.is_some()),
            other => panic!("{protocol}: {other:?}"),
        }
    }
}

/// An `action` parameter naming no operation leaves the body to decide. One naming another
/// operation routes the request to that one, as ASP.NET's SOAP 1.2 helper looks the action up
/// first: `tests/simulator_asmx.rs::an_action_naming_an_operation_routes_the_request_whatever_the_body_holds`.
#[tokio::test]
async fn a_soap_1_2_action_naming_no_operation_leaves_the_body_to_decide() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    for action in ["urn:nothing", "", "DoCreditCardSecondaryVoid"] {
        let payment = new_payment(&simulator);
        let content_type = format!("application/soap+xml; charset=utf-8; action=\"{action}\"");
        let answer = raw(
            &simulator,
            Method::POST,
            "/payment/service.asmx",
            &[("content-type", &content_type)],
            &void_envelope(SOAP12, payment.as_str()),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{action}: {}", answer.body);
        assert!(answer.body.contains("<DoCreditCardSecondaryVoidResponse"));
        assert_eq!(
            simulator.ledger().status(&payment),
            Some(PaymentStatus::Voided)
        );
    }
}

#[tokio::test]
async fn a_soap_1_2_envelope_sent_as_text_xml_is_read_and_answered_as_soap_1_2() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    for headers in [&SOAP11_VOID[..1], &SOAP11_VOID[..]] {
        let answer = raw(
            &simulator,
            Method::POST,
            "/payment/service.asmx",
            headers,
            &void_envelope(SOAP12, payment.as_str()),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(
            answer.header("content-type"),
            "application/soap+xml; charset=utf-8"
        );
        let doc = roxmltree::Document::parse(&answer.body).expect("xml");
        assert!(doc.root_element().has_tag_name((SOAP12, "Envelope")));
    }
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );
}

#[tokio::test]
async fn a_soap_1_1_envelope_sent_as_soap_1_2_gets_415_and_no_body() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let answer = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &[("content-type", "application/soap+xml; charset=utf-8")],
        &void_envelope(SOAP11, payment.as_str()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(answer.body, "");
    assert_eq!(answer.header("content-type"), "text/xml; charset=utf-8");
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
}

#[tokio::test]
async fn media_types_that_are_not_soap_get_415_and_no_body() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    for media_type in ["text/plain", "application/xml", "application/json"] {
        let answer = raw(
            &simulator,
            Method::POST,
            "/payment/service.asmx",
            &[("content-type", media_type)],
            &void_envelope(SOAP11, payment.as_str()),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{media_type}"
        );
        assert_eq!(answer.body, "", "{media_type}");
        assert_eq!(answer.header("content-type"), "text/xml; charset=utf-8");
    }
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
}

#[tokio::test]
async fn a_value_split_by_comments_cdata_or_references_is_read_whole() {
    let outlet = Outlet::new("123'123", "1&2", "456").expect("outlet");
    let simulator = start_plain(SimulatorConfig::default()).await;
    let ledger = simulator.ledger();
    type Split = fn(&str) -> String;
    let splits: [(&str, Split); 5] = [
        ("comment", |id| format!("{}<!-- -->{}", &id[..2], &id[2..])),
        ("CDATA", |id| {
            format!("{}<![CDATA[{}]]>", &id[..2], &id[2..])
        }),
        ("character reference", |id| {
            format!("{}&#x{:X};{}", &id[..2], id.as_bytes()[2], &id[3..])
        }),
        ("processing instruction", |id| {
            format!("{}<?pi x?>{}", &id[..2], &id[2..])
        }),
        ("all of them", |id| {
            format!(
                "<!--a-->{}<![CDATA[{}]]><!--b-->&#{};<?pi?>{}<!--c-->",
                &id[..1],
                &id[1..2],
                id.as_bytes()[2],
                &id[3..]
            )
        }),
    ];
    for (kind, split) in splits {
        let payment = ledger.create_payment(&outlet, "1.00").expect("payment");
        let body = format!(
            "<e:Envelope xmlns:e=\"{SOAP11}\"><e:Body><DoCreditCardSecondaryVoid xmlns=\"{TNS}\">\
             <transaction><MerchantID>123<!-- -->&apos;123</MerchantID>\
             <StoreID>1&amp;<![CDATA[2]]></StoreID><TerminalID>4<?x?>56</TerminalID>\
             <PrimaryTransactionID>{}</PrimaryTransactionID></transaction>\
             </DoCreditCardSecondaryVoid></e:Body></e:Envelope>",
            split(payment.as_str())
        );
        let answer = raw(
            &simulator,
            Method::POST,
            "/payment/service.asmx",
            &SOAP11_VOID,
            &body,
        )
        .await;
        assert_eq!(
            text_of(&answer.body, "PrimaryTransactionStatus").as_deref(),
            Some("V"),
            "{kind}: {}",
            answer.body
        );
        assert_eq!(
            text_of(&answer.body, "PrimaryTransactionID").as_deref(),
            Some(payment.as_str()),
            "{kind}"
        );
        assert_eq!(
            text_of(&answer.body, "MerchantID").as_deref(),
            Some("123'123")
        );
        assert_eq!(
            ledger.status(&payment),
            Some(PaymentStatus::Voided),
            "{kind}"
        );
    }

    // A field holding an element is no string: ASP.NET cannot read the request.
    let payment = ledger.create_payment(&outlet, "1.00").expect("payment");
    let body = void_envelope(SOAP11, &format!("AB<b>{}</b>", payment.as_str()));
    let answer = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &SOAP11_VOID,
        &body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&answer.body, "faultcode").as_deref(),
        Some("soap:Client")
    );
    assert_eq!(ledger.status(&payment), Some(PaymentStatus::Captured));
}

#[tokio::test]
async fn a_request_without_an_action_is_dispatched_by_its_body() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let answer = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &[("content-type", "text/xml; charset=utf-8")],
        &void_envelope(SOAP11, &payment.as_str().to_lowercase()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), "text/xml; charset=utf-8");
    assert!(answer.body.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\""
    ));
    assert_eq!(
        text_of(&answer.body, "PrimaryTransactionStatus").as_deref(),
        Some("V")
    );
    assert_eq!(
        text_of(&answer.body, "TransactionID").as_deref(),
        Some(payment.as_str())
    );
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );

    let soap12 = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &[("content-type", "application/soap+xml; charset=utf-8")],
        &void_envelope(SOAP12, payment.as_str()),
    )
    .await;
    assert_eq!(
        soap12.header("content-type"),
        "application/soap+xml; charset=utf-8"
    );
    assert!(soap12.body.contains("<soap12:Envelope xmlns:soap12="));
    assert_eq!(
        text_of(&soap12.body, "ResponseMessage").as_deref(),
        Some("Transaction already voided")
    );
}

#[tokio::test]
async fn a_sale_through_the_generated_client_can_then_be_voided() {
    let simulator = start(SimulatorConfig::default()).await;
    let client = client(&simulator, Protocol::Soap12);
    let mut sale = types::CreditCardAuthAndCaptRequestData::default();
    sale.merchant_id = Some("123123123".to_owned());
    sale.store_id = Some("123".to_owned());
    sale.terminal_id = Some("456".to_owned());
    sale.amount = Some("25.00".to_owned());
    sale.card_number = Some("4111111111111111".to_owned());
    let mut request = types::DoCreditCardAuthAndCapt::default();
    request.transaction = Some(sale.clone());
    let result = client
        .call::<instamed_soap::bindings::operations::DoCreditCardAuthAndCapt>(&request)
        .await
        .expect("sale")
        .do_credit_card_auth_and_capt_result
        .expect("result");
    assert_eq!(result.transaction_status.as_deref(), Some("C"));
    assert_eq!(result.response_code.as_deref(), Some("000"));
    let payment = TransactionId::new(result.transaction_id.expect("new ID")).expect("id");
    assert_eq!(
        simulator
            .ledger()
            .payment(&payment)
            .expect("in ledger")
            .amount
            .cents(),
        2500
    );
    client.void(&void_of(&payment)).await.expect("voided");

    sale.card_number = Some("4111111111111112".to_owned());
    request.transaction = Some(sale);
    let refused = client
        .call::<instamed_soap::bindings::operations::DoCreditCardAuthAndCapt>(&request)
        .await
        .expect("answer")
        .do_credit_card_auth_and_capt_result
        .expect("result");
    assert_eq!(refused.transaction_status.as_deref(), Some("D"));
    assert_eq!(refused.response_code.as_deref(), Some("014"));
    simulator.shutdown().await;
}

#[tokio::test]
async fn a_simple_refund_gets_a_new_id_and_is_bounded_by_the_payment() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let client = client(&simulator, Protocol::Soap11);
    let payment = new_payment(&simulator);
    let refund = |amount: &str| {
        let mut data = types::CreditCardSimpleRefundRequestData::default();
        data.merchant_id = Some("123123123".to_owned());
        data.store_id = Some("123".to_owned());
        data.terminal_id = Some("456".to_owned());
        data.primary_transaction_id = Some(payment.as_str().to_owned());
        data.amount = Some(amount.to_owned());
        let mut request = types::DoCreditCardSimpleRefund::default();
        request.transaction = Some(data);
        request
    };
    let first = client
        .call::<instamed_soap::bindings::operations::DoCreditCardSimpleRefund>(&refund("10.00"))
        .await
        .expect("refund")
        .do_credit_card_simple_refund_result
        .expect("result");
    assert_eq!(first.transaction_status.as_deref(), Some("C"));
    assert_ne!(first.transaction_id.as_deref(), Some(payment.as_str()));
    let too_much = client
        .call::<instamed_soap::bindings::operations::DoCreditCardSimpleRefund>(&refund("2.35"))
        .await
        .expect("answer")
        .do_credit_card_simple_refund_result
        .expect("result");
    assert_eq!(too_much.transaction_status.as_deref(), Some("D"));
    assert_eq!(too_much.response_code.as_deref(), Some("013"));
}

#[tokio::test]
async fn nvp_takes_forms_and_queries_with_keys_in_any_case() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let form = |payment: &str| {
        format!(
            "TRANSACTIONTYPE=CreditCard&transactionaction=void&merchantId=123123123&StoreID=123\
             &terminalid=456&PrimaryTransactionId={payment}&primaryCardPresentStatus=PresentManualKey"
        )
    };
    let payment = new_payment(&simulator);
    let posted = raw(
        &simulator,
        Method::POST,
        "/payment/NVP.aspx",
        &[("content-type", "application/x-www-form-urlencoded")],
        &form(payment.as_str()),
    )
    .await;
    assert_eq!(posted.status, StatusCode::OK);
    assert!(
        posted
            .header("content-type")
            .starts_with("application/x-www-form-urlencoded")
    );
    assert_eq!(pair(&posted.body, "responseCode").as_deref(), Some("000"));
    assert_eq!(
        pair(&posted.body, "transactionStatus").as_deref(),
        Some("C")
    );
    assert_eq!(
        pair(&posted.body, "primaryTransactionStatus").as_deref(),
        Some("V")
    );
    assert_eq!(
        pair(&posted.body, "primaryTransactionID").as_deref(),
        Some(payment.as_str())
    );

    let again = raw(
        &simulator,
        Method::GET,
        &format!("/payment/nvp.aspx?{}", form(payment.as_str())),
        &[],
        "",
    )
    .await;
    assert_eq!(pair(&again.body, "transactionStatus").as_deref(), Some("D"));
    assert_eq!(
        pair(&again.body, "responseMessage").as_deref(),
        Some("Transaction already voided")
    );

    let sale = raw(
        &simulator,
        Method::GET,
        "/payment/NVP.aspx?transactionType=CreditCard&transactionAction=Sale&merchantID=123123123\
         &storeID=123&terminalID=456&amount=5.00&cardNumber=5500000000000004",
        &[],
        "",
    )
    .await;
    let sold = pair(&sale.body, "transactionID").expect("new ID");
    assert_eq!(
        simulator
            .ledger()
            .status(&TransactionId::new(&sold).expect("id")),
        Some(PaymentStatus::Captured)
    );

    let nonsense = raw(
        &simulator,
        Method::GET,
        "/payment/NVP.aspx?transactionType=CreditCard&transactionAction=Explode",
        &[],
        "",
    )
    .await;
    assert_eq!(pair(&nonsense.body, "errorCode").as_deref(), Some("400"));

    let faulting =
        start_plain(SimulatorConfig::default().with_refusal_style(RefusalStyle::Fault)).await;
    let unknown = raw(
        &faulting,
        Method::POST,
        "/payment/NVP.aspx",
        &[("content-type", "application/x-www-form-urlencoded")],
        &form("FFFF"),
    )
    .await;
    assert_eq!(pair(&unknown.body, "errorCode").as_deref(), Some("012"));
    assert_eq!(
        pair(&unknown.body, "errorMessage").as_deref(),
        Some("Transaction not found.")
    );
}

#[tokio::test]
async fn nvp_voids_through_the_client() {
    let simulator = start(SimulatorConfig::default()).await;
    let client = client(&simulator, Protocol::Nvp);
    let payment = new_payment(&simulator);
    let receipt = client.void(&void_of(&payment)).await.expect("voided");
    assert_eq!(receipt.protocol, Protocol::Nvp);
    let error = client.void(&void_of(&payment)).await.expect_err("twice");
    assert!(matches!(error, Error::AlreadyVoided(_)), "{error:?}");
    simulator.shutdown().await;
}

#[tokio::test]
async fn the_admin_endpoints_create_payments_and_start_transfers() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let created = raw(
        &simulator,
        Method::POST,
        "/simulator/payments",
        &form,
        "merchantID=123123123&storeID=123&terminalID=456&amount=9.99",
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = pair(&created.body, "transactionID").expect("ID");

    let path = format!("/simulator/payments/{id}");
    let before = raw(&simulator, Method::GET, &path, &[], "").await;
    assert_eq!(pair(&before.body, "status").as_deref(), Some("C"));
    assert_eq!(
        pair(&before.body, "transferStarted").as_deref(),
        Some("false")
    );

    let transfer = raw(
        &simulator,
        Method::POST,
        &format!("{path}/transfer"),
        &[],
        "",
    )
    .await;
    assert_eq!(transfer.status, StatusCode::NO_CONTENT);
    let after = raw(&simulator, Method::GET, &path, &[], "").await;
    assert_eq!(
        pair(&after.body, "transferStarted").as_deref(),
        Some("true")
    );

    let missing = raw(
        &simulator,
        Method::POST,
        "/simulator/payments/NOPE/transfer",
        &[],
        "",
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bad = raw(
        &simulator,
        Method::POST,
        "/simulator/payments",
        &form,
        "amount=1",
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_ledger_survives_a_restart() {
    let dir = scratch("restart");
    let journal = dir.join("ledger.jsonl");
    let config = || SimulatorConfig::default().with_ledger_file(&journal);

    let first = start_plain(config()).await;
    let voided = new_payment(&first);
    let captured = new_payment(&first);
    let transferred = new_payment(&first);
    first
        .ledger()
        .start_transfer(&transferred)
        .expect("transfer");
    client(&first, Protocol::Soap11)
        .void(&void_of(&voided))
        .await
        .expect("voided");
    first.shutdown().await;

    let second = start_plain(config()).await;
    let ledger = second.ledger();
    assert_eq!(ledger.len(), 3);
    assert_eq!(ledger.status(&voided), Some(PaymentStatus::Voided));
    assert_eq!(ledger.status(&captured), Some(PaymentStatus::Captured));
    assert!(
        ledger
            .payment(&transferred)
            .expect("payment")
            .transfer_started
    );
    let error = client(&second, Protocol::Soap11)
        .void(&void_of(&voided))
        .await
        .expect_err("already");
    assert!(matches!(error, Error::AlreadyVoided(_)), "{error:?}");
    second.shutdown().await;
}

#[tokio::test]
async fn a_journal_torn_by_a_full_disk_is_recovered_at_start() {
    let dir = scratch("torn");
    let journal = dir.join("ledger.jsonl");
    let config = || SimulatorConfig::default().with_ledger_file(&journal);

    let first = start_plain(config()).await;
    let payments: Vec<TransactionId> = (0..3).map(|_| new_payment(&first)).collect();
    first.shutdown().await;

    // As a full disk left it: a void torn after its first bytes, then (the disk freed) the
    // lines of later changes appended after it, the first on the same line.
    let whole = std::fs::read_to_string(&journal).expect("journal");
    let lines: Vec<&str> = whole.lines().collect();
    assert_eq!(lines.len(), 3);
    let torn = format!("{{\"event\":\"voided\",\"id\":\"{}", payments[0].as_str());
    let later_void = format!(
        "{{\"event\":\"voided\",\"id\":\"{}\",\"at_ms\":1700000000000}}",
        payments[1].as_str()
    );
    let damaged = format!(
        "{}\n{torn}{}\n{torn}\n{}\n{later_void}\n",
        lines[0], lines[1], lines[2]
    );
    std::fs::write(&journal, &damaged).expect("damage");

    let logs = Logs::capture(tracing::Level::WARN);
    let second = start_plain(config()).await;
    let ledger = second.ledger();
    assert_eq!(ledger.len(), 3);
    assert_eq!(ledger.status(&payments[0]), Some(PaymentStatus::Captured));
    assert_eq!(ledger.status(&payments[1]), Some(PaymentStatus::Voided));
    assert_eq!(ledger.status(&payments[2]), Some(PaymentStatus::Captured));
    let report = logs.text();
    let line_2 = lines[0].len() + 1;
    let line_3 = line_2 + torn.len() + lines[1].len() + 1;
    assert!(
        report.contains(&format!("line=2 offset={line_2} bytes={}", torn.len())),
        "{report}"
    );
    assert!(
        report.contains(&format!("line=3 offset={line_3} bytes={}", torn.len() + 1)),
        "{report}"
    );

    // The journal was repaired: new changes are whole lines, and the next start is clean.
    client(&second, Protocol::Soap12)
        .void(&void_of(&payments[2]))
        .await
        .expect("voided");
    second.shutdown().await;
    drop(logs);
    let logs = Logs::capture(tracing::Level::WARN);
    let third = start_plain(config()).await;
    assert_eq!(
        third.ledger().status(&payments[2]),
        Some(PaymentStatus::Voided)
    );
    assert_eq!(
        third.ledger().status(&payments[0]),
        Some(PaymentStatus::Captured)
    );
    assert!(!logs.text().contains("journal"), "{}", logs.text());
    third.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_seed_file_creates_payments_at_start() {
    let dir = scratch("seed");
    let seed = dir.join("payments.csv");
    std::fs::write(
        &seed,
        "# transaction_id,merchant_id,store_id,terminal_id,amount[,state]\n\
         EE52401813A74328AAA7D93319FF4383,123123123,123,456,12.34\n\
         0d6f1c2b3a4958677685a4b3c2d1e0f1,123123123,123,456,5.00,transferred\n",
    )
    .expect("seed file");
    let simulator = start_plain(SimulatorConfig::default().with_seed_file(&seed)).await;
    let client = client(&simulator, Protocol::Soap11);
    let captured = TransactionId::new("ee52401813a74328aaa7d93319ff4383").expect("id");
    client.void(&void_of(&captured)).await.expect("voided");
    let transferred = TransactionId::new("0D6F1C2B3A4958677685A4B3C2D1E0F1").expect("id");
    let error = client.void(&void_of(&transferred)).await.expect_err("late");
    assert!(matches!(error, Error::NotVoidable(_)), "{error:?}");

    std::fs::write(&seed, "AB,1,2\n").expect("seed file");
    let broken = Simulator::start(
        SimulatorConfig::default()
            .with_tls(false)
            .with_seed_file(&seed),
    )
    .await;
    assert!(broken.is_err());
}

/// A one-word name for an outcome, to compare sequences.
fn kind(result: &Result<instamed_soap::VoidReceipt, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(Error::Fault(_)) => "fault",
        Err(Error::HttpStatus { status: 503, .. }) => "503",
        Err(Error::Transport { sent: true, .. }) => "reset",
        Err(Error::MalformedAnswer { .. }) => "malformed",
        Err(_) => "other",
    }
}

#[tokio::test]
async fn each_injected_fault_becomes_the_matching_client_error() {
    let plans = [
        (FaultPlan::seeded(1).with_fault_rate(1.0), "fault"),
        (FaultPlan::seeded(1).with_unavailable_rate(1.0), "503"),
        (FaultPlan::seeded(1).with_reset_rate(1.0), "reset"),
        (FaultPlan::seeded(1).with_truncate_rate(1.0), "malformed"),
        (FaultPlan::seeded(1).with_malformed_rate(1.0), "malformed"),
    ];
    for (plan, expected) in plans {
        let simulator = start(SimulatorConfig::default().with_faults(plan.clone())).await;
        let payment = new_payment(&simulator);
        let result = client(&simulator, Protocol::Soap11)
            .void(&void_of(&payment))
            .await;
        assert_eq!(kind(&result), expected, "{plan:?}: {result:?}");
        let error = result.expect_err("a fault");
        if expected == "fault" {
            match &error {
                Error::Fault(fault) => {
                    assert_eq!(fault.code, FaultCode::Receiver);
                    assert_eq!(
                        fault.reason.as_deref(),
                        Some("Server was unable to process request. ---> Simulated fault.")
                    );
                }
                other => panic!("{other:?}"),
            }
        }
        // A Receiver fault and a 503 may come after the service acted, as far as a client can
        // tell: every injected fault leaves the outcome unknown.
        assert!(error.outcome_unknown(), "{error:?}");
        // Only a truncated answer comes after the ledger changed.
        let expected_status = if plan.truncate_rate > 0.0 {
            PaymentStatus::Voided
        } else {
            PaymentStatus::Captured
        };
        assert_eq!(simulator.ledger().status(&payment), Some(expected_status));
        simulator.shutdown().await;
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let plan = FaultPlan::seeded(2024)
        .with_fault_rate(0.15)
        .with_unavailable_rate(0.15)
        .with_reset_rate(0.15)
        .with_malformed_rate(0.15);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let simulator = start_plain(SimulatorConfig::default().with_faults(plan.clone())).await;
        let client = client(&simulator, Protocol::Soap11);
        let mut kinds = Vec::new();
        for _ in 0..24 {
            let payment = new_payment(&simulator);
            kinds.push(kind(&client.void(&void_of(&payment)).await));
        }
        simulator.shutdown().await;
        runs.push(kinds);
    }
    assert_eq!(runs[0], runs[1]);
    let distinct: std::collections::HashSet<_> = runs[0].iter().collect();
    assert!(distinct.len() >= 3, "{:?}", runs[0]);
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish_then_refuses_connections() {
    let simulator = start_plain(
        SimulatorConfig::default()
            .with_faults(FaultPlan::seeded(0).with_latency(Duration::from_millis(300))),
    )
    .await;
    let payment = new_payment(&simulator);
    let client = client(&simulator, Protocol::Soap11);
    let in_flight = {
        let (client, request) = (client.clone(), void_of(&payment));
        tokio::spawn(async move { client.void(&request).await })
    };
    // The latency comes after processing: once the payment is voided the answer is pending.
    while simulator.ledger().status(&payment) != Some(PaymentStatus::Voided) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let addr = simulator.local_addr();
    simulator.shutdown().await;
    in_flight
        .await
        .expect("task")
        .expect("the request in flight was answered");
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let simulator = start_plain(SimulatorConfig::default()).await;
    let huge = "x".repeat((1 << 20) + 1);
    let answer = raw(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &[("content-type", "text/xml")],
        &huge,
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_bad_configuration_is_refused_at_start() {
    let too_many = FaultPlan::seeded(0)
        .with_fault_rate(0.7)
        .with_reset_rate(0.7);
    let error = Simulator::start(SimulatorConfig::default().with_faults(too_many))
        .await
        .expect_err("invalid");
    assert!(error.to_string().contains("add up"), "{error}");
    let nobody = SimulatorConfig::default().with_accounts(Vec::<(String, String)>::new());
    assert!(Simulator::start(nobody).await.is_err());
}
