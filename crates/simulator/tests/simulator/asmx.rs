//! The simulator answers as a System.Web.Services (ASMX) stack does where the framework, not
//! the service, decides the answer: the WSDL's addresses, routing by `SOAPAction`, the `action`
//! parameter or the body, the shape of the framework's own faults, and where an XML error is.
//! Each test names the ASP.NET behaviour it reproduces; the sources are cited beside the code
//! (`src/simulator/soap/`, tagged [asmx]) and in `docs/simulator.md`.

use instamed_soap_test_support as support;
use instamed_soap_test_support::raw_https;

use http::{Method, StatusCode};
use instamed_soap::TransactionId;
use instamed_soap_simulator::{
    FaultPlan, Hostname, PaymentStatus, RefusalStyle, Simulator, SimulatorConfig,
};
use raw_https::{RawResponse, SOAP11, SOAP12, TNS, Target, basic, send, send_to, xml_text};

const VOID_ACTION: &str =
    "http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardSecondaryVoid";
const SALE_ACTION: &str =
    "http://online.instamed.com/TransactionServices/Payment/v1r3/DoCreditCardAuthAndCapt";
const WSDL_SOAP: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
const WSDL_SOAP12: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
const NULL_REFERENCE: &str = "Server was unable to process request. ---> Object reference not set \
                              to an instance of an object.";

async fn start(config: SimulatorConfig) -> Simulator {
    Simulator::start(config).await.expect("simulator starts")
}

async fn start_plain() -> Simulator {
    start(SimulatorConfig::default().with_tls(false)).await
}

fn new_payment(simulator: &Simulator) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&support::outlet(), "12.34")
        .expect("payment")
}

/// A void of `payment`, in `envelope_ns`.
fn void_envelope(envelope_ns: &str, payment: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><e:Envelope xmlns:e=\"{envelope_ns}\"><e:Body>\
         <v:DoCreditCardSecondaryVoid xmlns:v=\"{TNS}\"><v:transaction><v:MerchantID>123123123</v:MerchantID>\
         <v:StoreID>123</v:StoreID><v:TerminalID>456</v:TerminalID>\
         <v:PrimaryTransactionID>{payment}</v:PrimaryTransactionID></v:transaction>\
         </v:DoCreditCardSecondaryVoid></e:Body></e:Envelope>"
    )
}

/// An envelope whose body holds `body`.
fn envelope(envelope_ns: &str, body: &str) -> String {
    format!("<e:Envelope xmlns:e=\"{envelope_ns}\"><e:Body>{body}</e:Body></e:Envelope>")
}

/// POSTs `body` to the SOAP endpoint with `headers` and the demo account's sign-in.
async fn post(simulator: &Simulator, headers: &[(&str, &str)], body: &str) -> RawResponse {
    let basic = basic();
    let mut all = vec![("authorization", basic.as_str())];
    all.extend_from_slice(headers);
    send(
        simulator,
        Method::POST,
        "/payment/service.asmx",
        &all,
        body.to_owned(),
    )
    .await
    .expect("an answer")
}

/// The `location` of every port address (SOAP 1.1 and 1.2) in a WSDL.
fn addresses(wsdl: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(wsdl).expect("the WSDL is XML");
    doc.descendants()
        .filter(|n| n.tag_name().name() == "address")
        .map(|n| {
            (
                n.tag_name().namespace().unwrap_or("").to_owned(),
                n.attribute("location").unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The fault's `Code/Value` (SOAP 1.2) or `faultcode` (SOAP 1.1) and its reason.
fn fault_of(answer: &RawResponse) -> (String, String) {
    let code = xml_text(&answer.body, "Value")
        .or_else(|| xml_text(&answer.body, "faultcode"))
        .unwrap_or_default();
    let reason = xml_text(&answer.body, "Text")
        .or_else(|| xml_text(&answer.body, "faultstring"))
        .unwrap_or_default();
    (code, reason)
}

/// ASP.NET describes the service at the URL the WSDL was fetched from
/// (`DiscoveryServerProtocol` reflects it with `Request.Url`): the connection's scheme, the
/// `Host` header's host in lower case, the connection's port (left out when it is the
/// scheme's default), the path as asked; `X-Forwarded-*` plays no part. Every port's address
/// says so, SOAP 1.1 and SOAP 1.2 alike, so a client generated from the simulator's WSDL calls
/// the simulator, never production.
#[tokio::test]
async fn the_wsdl_names_the_address_it_was_fetched_from_as_asp_net_does() {
    let simulator = start_plain().await;
    let port = simulator.local_addr().port();
    let plain = |host| Target {
        addr: simulator.local_addr(),
        host,
        ca: None,
    };
    let basic = basic();
    let cases = [
        ("localhost", "/payment/service.asmx?WSDL", vec![]),
        // The Host header's port is not the connection's: ASP.NET writes the connection's.
        (
            "Sim.Example.TEST:9999",
            "/Payment/Service.asmx?wsdl",
            vec![],
        ),
        (
            "localhost",
            "/payment/service.asmx?WSDL",
            vec![
                ("x-forwarded-host", "connect.instamed.com"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-port", "443"),
            ],
        ),
        // Not a host name at all: the address the connection came in on, escaped nowhere
        // because nothing of the header is written.
        ("a\"b<c", "/payment/service.asmx?WSDL", vec![]),
    ];
    let expected = [
        format!("http://localhost:{port}/payment/service.asmx"),
        format!("http://sim.example.test:{port}/Payment/Service.asmx"),
        format!("http://localhost:{port}/payment/service.asmx"),
        format!("http://127.0.0.1:{port}/payment/service.asmx"),
    ];
    for ((host, path, extra), expected) in cases.into_iter().zip(expected) {
        let mut headers = vec![("authorization", basic.as_str())];
        headers.extend(extra);
        let answer = send_to(plain(host), Method::GET, path, &headers, "")
            .await
            .expect("an answer");
        assert_eq!(answer.status, StatusCode::OK, "{host}");
        let found = addresses(&answer.body);
        assert_eq!(
            found,
            vec![
                (WSDL_SOAP.to_owned(), expected.clone()),
                (WSDL_SOAP12.to_owned(), expected.clone()),
            ],
            "{host} {path}"
        );
        assert!(
            !answer
                .body
                .contains("location=\"https://connect.instamed.com"),
            "{host}"
        );
    }

    // Over TLS, the scheme is https, and the name the client used is the host.
    let name: Hostname = "sim.example.test".parse().expect("host name");
    let simulator = start(SimulatorConfig::default().with_hostnames([name])).await;
    let port = simulator.local_addr().port();
    let answer = send(
        &simulator,
        Method::GET,
        "/payment/service.asmx?WSDL",
        &[("authorization", &basic)],
        "",
    )
    .await
    .expect("an answer");
    let expected = format!("https://sim.example.test:{port}/payment/service.asmx");
    assert!(
        addresses(&answer.body)
            .iter()
            .all(|(_, location)| *location == expected),
        "{:?}",
        addresses(&answer.body)
    );
}

/// Every ASMX stack answers `SOAPAction: ""` with a Client fault: the SOAP 1.1 helper looks the
/// header up (quotes stripped) and no operation has an empty action, so .NET says it did not
/// recognize the value of the header, before reading the body. The payment stays as it was.
#[tokio::test]
async fn an_empty_soapaction_is_a_client_fault_as_on_every_asmx_stack() {
    let simulator = start_plain().await;
    let payment = new_payment(&simulator);
    for action in ["\"\"", ""] {
        let answer = post(
            &simulator,
            &[
                ("content-type", "text/xml; charset=utf-8"),
                ("soapaction", action),
            ],
            &void_envelope(SOAP11, payment.as_str()),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{action:?}"
        );
        assert_eq!(answer.header("content-type"), "text/xml; charset=utf-8");
        assert_eq!(
            fault_of(&answer),
            (
                "soap:Client".to_owned(),
                "System.Web.Services.Protocols.SoapException: Server did not recognize the \
                 value of HTTP Header SOAPAction: ."
                    .to_owned()
            ),
            "{action:?}"
        );
    }
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
}

/// Without a `SOAPAction` header, .NET's `SoapServerProtocol.GuessVersion` hands a `text/xml`
/// request to the SOAP 1.2 helper, which routes by the `action` parameter and then by the
/// body's element: a void is served (as on Mono). Its "Unable to handle request without a
/// valid action parameter" Client fault comes only when the body names no operation either.
#[tokio::test]
async fn a_request_without_soapaction_is_routed_by_its_body_and_refused_only_when_that_fails() {
    let simulator = start_plain().await;
    let payment = new_payment(&simulator);
    let text_xml = [("content-type", "text/xml; charset=utf-8")];
    let voided = post(
        &simulator,
        &text_xml,
        &void_envelope(SOAP11, payment.as_str()),
    )
    .await;
    assert_eq!(voided.status, StatusCode::OK, "{}", voided.body);
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );

    for body in ["<Nothing xmlns=\"urn:nothing\"/>", ""] {
        let refused = post(&simulator, &text_xml, &envelope(SOAP11, body)).await;
        assert_eq!(refused.status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(
            fault_of(&refused),
            (
                "soap:Client".to_owned(),
                "Unable to handle request without a valid action parameter. Please supply a \
                 valid soap action."
                    .to_owned()
            ),
            "{body}"
        );
    }
}

/// A fault ASP.NET builds itself (an exception the service did not handle, a request it
/// cannot route) has no actor and no detail: `Soap12ServerProtocolHelper.WriteFault` then
/// writes no `Node` and an empty `Detail` in the envelope's namespace. A refusal the service
/// throws keeps its actor (`Node`, the service's URL without a port) and its own unqualified
/// `<detail>`.
#[tokio::test]
async fn soap_1_2_framework_faults_have_no_node_and_an_empty_qualified_detail() {
    let simulator = start(
        SimulatorConfig::default()
            .with_tls(false)
            .with_refusal_style(RefusalStyle::Fault),
    )
    .await;
    let soap12 = [("content-type", "application/soap+xml; charset=utf-8")];
    let unhandled = post(
        &simulator,
        &soap12,
        &envelope(
            SOAP12,
            &format!("<DoCreditCardSecondaryVoid xmlns=\"{TNS}\"/>"),
        ),
    )
    .await;
    let unrouted = post(
        &simulator,
        &soap12,
        &envelope(SOAP12, "<Nothing xmlns=\"urn:nothing\"/>"),
    )
    .await;
    for (answer, code) in [
        (&unhandled, "soap12:Receiver"),
        (&unrouted, "soap12:Sender"),
    ] {
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(fault_of(answer).0, code);
        let doc = roxmltree::Document::parse(&answer.body).expect("xml");
        let fault = doc
            .descendants()
            .find(|n| n.has_tag_name((SOAP12, "Fault")))
            .expect("a fault");
        let children: Vec<_> = fault
            .children()
            .filter(roxmltree::Node::is_element)
            .map(|n| (n.tag_name().namespace(), n.tag_name().name()))
            .collect();
        assert_eq!(
            children,
            [
                (Some(SOAP12), "Code"),
                (Some(SOAP12), "Reason"),
                (Some(SOAP12), "Detail")
            ],
            "{}",
            answer.body
        );
        assert!(answer.body.contains("<soap12:Detail />"), "{}", answer.body);
    }

    // The injected fault stands for an unhandled exception too.
    let injected = start(
        SimulatorConfig::default()
            .with_tls(false)
            .with_faults(FaultPlan::seeded(1).with_fault_rate(1.0)),
    )
    .await;
    let answer = post(
        &injected,
        &soap12,
        &void_envelope(SOAP12, "C0FFEE00000000000000000000000001"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!answer.body.contains("Node"), "{}", answer.body);
    assert!(answer.body.contains("<soap12:Detail />"), "{}", answer.body);

    // A refusal: the service's own fault, with its actor and detail.
    let payment = new_payment(&simulator);
    simulator
        .ledger()
        .start_transfer(&payment)
        .expect("transfer");
    let refused = post(
        &simulator,
        &soap12,
        &void_envelope(SOAP12, payment.as_str()),
    )
    .await;
    assert_eq!(fault_of(&refused).0, "soap12:Sender");
    assert_eq!(
        xml_text(&refused.body, "Node").as_deref(),
        Some("http://localhost/payment/service.asmx")
    );
    let doc = roxmltree::Document::parse(&refused.body).expect("xml");
    let detail = doc
        .descendants()
        .find(|n| n.tag_name().name() == "detail")
        .expect("a detail");
    assert_eq!(detail.tag_name().namespace(), None);
    assert!(
        detail
            .children()
            .any(|n| n.has_tag_name((TNS, "ErrorInfo")))
    );
}

/// An action that names an operation routes the request to it, whatever the body holds: the
/// SOAP 1.2 helper looks the `action` parameter up before the body (as the SOAP 1.1 helper
/// does the header), and XmlSerializer's reader of the operation's parameters skips an element
/// that is not its wrapper, so the service runs with no `transaction` (a Server fault). An
/// action that names nothing leaves the body to decide; when the body names nothing either,
/// the fault says which action was not recognized.
#[tokio::test]
async fn an_action_naming_an_operation_routes_the_request_whatever_the_body_holds() {
    let simulator = start_plain().await;
    let soap12 = |action: &str| format!("application/soap+xml; charset=utf-8; action=\"{action}\"");
    let unknown_body = "<Nothing xmlns=\"urn:nothing\"/>";

    // SOAP 1.2 and 1.1, the void's action, a body that is not a void.
    let payment = new_payment(&simulator);
    let answers = [
        post(
            &simulator,
            &[("content-type", &soap12(VOID_ACTION))],
            &envelope(SOAP12, unknown_body),
        )
        .await,
        post(
            &simulator,
            &[("content-type", &soap12(SALE_ACTION))],
            &void_envelope(SOAP12, payment.as_str()),
        )
        .await,
        post(
            &simulator,
            &[
                ("content-type", "text/xml; charset=utf-8"),
                ("soapaction", &format!("\"{VOID_ACTION}\"")),
            ],
            &envelope(SOAP11, unknown_body),
        )
        .await,
    ];
    for (answer, code) in answers
        .iter()
        .zip(["soap12:Receiver", "soap12:Receiver", "soap:Server"])
    {
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            fault_of(answer),
            (code.to_owned(), NULL_REFERENCE.to_owned()),
            "{}",
            answer.body
        );
    }
    // The sale's action with a void's body is a sale without a transaction: nothing voided.
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );

    // An action naming nothing: the body decides.
    let voided = post(
        &simulator,
        &[("content-type", &soap12("urn:nothing"))],
        &void_envelope(SOAP12, payment.as_str()),
    )
    .await;
    assert_eq!(voided.status, StatusCode::OK, "{}", voided.body);
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );
    let unrouted = post(
        &simulator,
        &[("content-type", &soap12("urn:nothing"))],
        &envelope(SOAP12, unknown_body),
    )
    .await;
    assert_eq!(
        fault_of(&unrouted),
        (
            "soap12:Sender".to_owned(),
            "Unable to handle request. The action 'urn:nothing' was not recognized.".to_owned()
        )
    );
}

/// .NET's XML reader reports where a document stops being XML, and its message ends with the
/// place ("… Line N, position M."), which XmlSerializer repeats as "There is an error in XML
/// document (N, M)." The place is the real one: the end of a document cut short, the first
/// byte that is not UTF-8, the tag that does not close, the document type declaration, the
/// element inside a string field.
#[tokio::test]
async fn an_xml_error_is_reported_at_its_line_and_position_as_dotnet_does() {
    let simulator = start_plain().await;
    let headers = [
        ("content-type", "text/xml; charset=utf-8"),
        ("soapaction", VOID_ACTION),
    ];
    let head = format!("<?xml version=\"1.0\"?>\n<e:Envelope xmlns:e=\"{SOAP11}\">\n  <e:Body>\n");
    let cases: [(String, (usize, usize), &str); 5] = [
        (
            format!("{head}    <v:DoCreditCardSecondaryVoid xmlns:v=\"{TNS}\">"),
            (4, 105),
            "Unexpected end of file has occurred.",
        ),
        (
            format!("{head}    <a></b>\n  </e:Body>\n</e:Envelope>"),
            (4, 8),
            "",
        ),
        (
            "<?xml version=\"1.0\"?>\n<!DOCTYPE e>\n<e:Envelope/>".to_owned(),
            (2, 1),
            "DTD is prohibited in this XML document.",
        ),
        (
            format!("{head}  </e:Body>\n</e:Envelope>").replace("<e:Body>", "<e:Body>\u{FFFF}"),
            (3, 11),
            "",
        ),
        (
            void_envelope(SOAP11, "AB<b>CD</b>").replace("<v:transaction>", "<v:transaction>\n"),
            (2, 124),
            "Unexpected node type Element. ReadElementString method can only be called on \
             elements with simple or empty content.",
        ),
    ];
    for (body, (row, column), why) in cases {
        let answer = post(&simulator, &headers, &body).await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        let (code, reason) = fault_of(&answer);
        assert_eq!(code, "soap:Client", "{body}");
        let prefix = format!(
            "Server was unable to read request. ---> There is an error in XML document ({row}, \
             {column}). ---> {why}"
        );
        assert!(reason.starts_with(&prefix), "{reason}\nwanted {prefix}");
        assert!(
            reason.ends_with(&format!(" Line {row}, position {column}.")),
            "{reason}"
        );
    }

    // A byte that is not UTF-8, on the second line.
    let mut bytes = format!("<e:Envelope xmlns:e=\"{SOAP11}\">\n  <e:Body>").into_bytes();
    bytes.push(0xFF);
    let basic = basic();
    let answer = send(
        &simulator,
        Method::POST,
        "/payment/service.asmx",
        &[
            ("authorization", &basic),
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", VOID_ACTION),
        ],
        bytes,
    )
    .await
    .expect("an answer");
    assert_eq!(
        fault_of(&answer).1,
        "Server was unable to read request. ---> There is an error in XML document (2, 11). ---> \
         Invalid character in the given encoding. Line 2, position 11."
    );
}

/// ASP.NET's words for an envelope without a body: "Request format is invalid: Missing
/// required soap:Body element.", a Client fault when an action named the operation (reading
/// its parameters), a Server fault when the body had to say which operation (routing), never
/// a made-up place in the document.
#[tokio::test]
async fn a_missing_body_is_reported_in_asp_net_words() {
    let simulator = start_plain().await;
    let bodyless = format!("<e:Envelope xmlns:e=\"{SOAP11}\"><e:Header/></e:Envelope>");
    let routed = post(
        &simulator,
        &[
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", VOID_ACTION),
        ],
        &bodyless,
    )
    .await;
    assert_eq!(
        fault_of(&routed),
        (
            "soap:Client".to_owned(),
            "Server was unable to read request. ---> Request format is invalid: Missing \
             required soap:Body element."
                .to_owned()
        )
    );
    let unrouted = post(
        &simulator,
        &[("content-type", "application/soap+xml; charset=utf-8")],
        &bodyless.replace(SOAP11, SOAP12),
    )
    .await;
    assert_eq!(
        fault_of(&unrouted),
        (
            "soap12:Receiver".to_owned(),
            "Server was unable to process request. ---> Request format is invalid: Missing \
             required soap:Body element."
                .to_owned()
        )
    );
}
