//! InstaMed's contract on the ERP's side: voids once per payment, refunds never twice, the
//! settled answer to every repeat, and the ERP's own credentials.

use std::time::Duration;

use instamed_soap::TransactionId;
use instamed_soap_gateway::{
    Clients, Gateway, GatewayConfig, GatewayError, NAMESPACE, Tls, Upstream,
};
use instamed_soap_ledger::{Action, Ledger};
use instamed_soap_simulator::FaultPlan;
use instamed_soap_test_support::raw_https::{SOAP11, SOAP12};

use crate::erp::{Bench, CLIENT, SECRET, Stack, text, void_fields};

fn gateway_voids(bench: &Bench, payment: &TransactionId) -> usize {
    let ledger = Ledger::open(bench.ledger_path()).expect("the gateway's ledger");
    ledger
        .standing(payment)
        .expect("standing")
        .entries
        .iter()
        .filter(|entry| entry.action == Action::Void)
        .count()
}

fn assert_voided(response: &instamed_soap_test_support::raw_https::RawResponse, stack: Stack) {
    assert_eq!(response.status, 200, "{stack:?}: {}", response.body);
    assert_eq!(
        text(response, "TransactionStatus").as_deref(),
        Some("C"),
        "{}",
        response.body
    );
    assert_eq!(
        text(response, "PrimaryTransactionStatus").as_deref(),
        Some("V"),
        "{}",
        response.body
    );
    let envelope = if stack.is_soap12() { SOAP12 } else { SOAP11 };
    assert!(
        response.body.contains(envelope),
        "{stack:?} answered in its version: {}",
        response.body
    );
    let content_type = if stack.is_soap12() {
        "application/soap+xml"
    } else {
        "text/xml"
    };
    assert!(response.header("content-type").starts_with(content_type));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_as_dotnet_and_zeep_write_it_in_soap_1_1_and_1_2_voids_the_payment_once() {
    let bench = Bench::start().await;
    for stack in Stack::ALL {
        let payment = bench.payment("10.00");
        let first = bench.void(stack, &payment).await;
        assert_voided(&first, stack);
        assert_eq!(
            text(&first, "TransactionID").as_deref(),
            Some(payment.as_str()),
            "a void keeps the payment's ID"
        );
        let repeat = bench.void(stack, &payment).await;
        assert_voided(&repeat, stack);
        assert_eq!(bench.voids_at_instamed(&payment), 1, "{stack:?}");
        assert_eq!(
            gateway_voids(&bench, &payment),
            1,
            "{stack:?}: the repeat was not sent"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_void_three_times_in_sequence_and_in_parallel_is_sent_once() {
    let bench = Bench::start().await;
    let in_sequence = bench.payment("11.00");
    for _ in 0..3 {
        assert_voided(
            &bench.void(Stack::DotNet11, &in_sequence).await,
            Stack::DotNet11,
        );
    }
    let in_parallel = bench.payment("12.00");
    let (a, b, c) = tokio::join!(
        bench.void(Stack::DotNet11, &in_parallel),
        bench.void(Stack::Zeep12, &in_parallel),
        bench.void(Stack::DotNet12, &in_parallel),
    );
    assert_voided(&a, Stack::DotNet11);
    assert_voided(&b, Stack::Zeep12);
    assert_voided(&c, Stack::DotNet12);
    for payment in [&in_sequence, &in_parallel] {
        assert_eq!(bench.voids_at_instamed(payment), 1);
        assert_eq!(
            gateway_voids(&bench, payment),
            1,
            "one void sent by the gateway"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_void_is_answered_with_the_recorded_refusal_and_not_sent_again() {
    let bench = Bench::start().await;
    let payment = bench.payment("13.00");
    bench
        .simulator
        .ledger()
        .start_transfer(&payment)
        .expect("transfer started");
    for _ in 0..3 {
        let refused = bench.void(Stack::Zeep11, &payment).await;
        assert_eq!(refused.status, 200, "{}", refused.body);
        assert_eq!(text(&refused, "TransactionStatus").as_deref(), Some("D"));
        assert_eq!(
            text(&refused, "PrimaryTransactionStatus").as_deref(),
            Some("S")
        );
        assert_eq!(text(&refused, "ResponseCode").as_deref(), Some("012"));
    }
    assert_eq!(
        gateway_voids(&bench, &payment),
        1,
        "asked once, answered from the ledger since"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_refused_at_a_mistyped_outlet_is_sent_again_once_the_outlet_is_right() {
    let bench = Bench::start().await;
    let payment = bench.payment("13.50");
    let mut mistyped = void_fields(&payment);
    for (name, value) in &mut mistyped {
        if *name == "MerchantID" {
            *value = "999999999".to_owned();
        }
    }
    for _ in 0..2 {
        let unknown = bench
            .ask(Stack::DotNet11, "DoCreditCardSecondaryVoid", &mistyped)
            .await;
        assert_eq!(unknown.status, 200, "{}", unknown.body);
        assert_eq!(text(&unknown, "TransactionStatus").as_deref(), Some("D"));
        assert_eq!(text(&unknown, "PrimaryTransactionStatus"), None);
    }
    assert_eq!(
        gateway_voids(&bench, &payment),
        1,
        "the same refusal at the same outlet is answered from the ledger"
    );
    // InstaMed finds no such payment at that merchant; at the right one it does.
    assert_voided(
        &bench.void(Stack::DotNet11, &payment).await,
        Stack::DotNet11,
    );
    assert_eq!(bench.voids_at_instamed(&payment), 1);
    assert_eq!(gateway_voids(&bench, &payment), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_voided_before_the_gateway_is_answered_already_voided_with_its_status_v() {
    let bench = Bench::start().await;
    let payment = bench.payment("14.00");
    bench
        .simulator
        .ledger()
        .void(&payment, std::time::SystemTime::now())
        .expect("voided at InstaMed");
    for _ in 0..2 {
        let answer = bench.void(Stack::DotNet12, &payment).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(text(&answer, "TransactionStatus").as_deref(), Some("D"));
        assert_eq!(
            text(&answer, "PrimaryTransactionStatus").as_deref(),
            Some("V")
        );
    }
    assert_eq!(gateway_voids(&bench, &payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_asked_three_times_at_once_is_made_once() {
    let bench = Bench::start().await;
    let payment = bench.payment("20.00");
    let mut fields = void_fields(&payment);
    fields.retain(|(name, _)| *name != "PrimaryCardPresentStatus");
    fields.push(("Amount", "5.00".to_owned()));
    let (a, b, c) = tokio::join!(
        bench.ask(Stack::DotNet11, "DoCreditCardSimpleRefund", &fields),
        bench.ask(Stack::Zeep11, "DoCreditCardSimpleRefund", &fields),
        bench.ask(Stack::DotNet12, "DoCreditCardSimpleRefund", &fields),
    );
    let mut refund_ids = Vec::new();
    for answer in [&a, &b, &c] {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(text(answer, "TransactionStatus").as_deref(), Some("C"));
        refund_ids.push(text(answer, "TransactionID").expect("the refund's ID"));
    }
    refund_ids.dedup();
    assert_eq!(refund_ids.len(), 1, "every answer names the one refund");
    assert_eq!(bench.refunds_at_instamed(&payment), 1);

    // Another amount is a further refund: an operator's decision, never the ERP's retry.
    fields.pop();
    fields.push(("Amount", "6.00".to_owned()));
    let other = bench
        .ask(Stack::DotNet11, "DoCreditCardSimpleRefund", &fields)
        .await;
    assert_eq!(other.status, 500);
    assert!(other.body.contains("AlreadyRefunded") && other.body.contains(NAMESPACE));
    assert!(other.body.contains("soap:Client"), "{}", other.body);
    assert_eq!(bench.refunds_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_is_a_server_fault_naming_the_payment_then_the_settled_answer() {
    // The first request InstaMed gets is answered with a server fault.
    let bench =
        Bench::with_faults(FaultPlan::seeded(7).with_fault_rate(1.0).with_max_faults(1)).await;
    let payment = bench.payment("15.00");
    let first = bench.void(Stack::DotNet11, &payment).await;
    assert_eq!(first.status, 500, "{}", first.body);
    assert!(
        first.body.contains("<faultcode>soap:Server</faultcode>"),
        "{}",
        first.body
    );
    assert!(
        first
            .body
            .contains(&format!("<OutcomeUnknown xmlns=\"{NAMESPACE}\">"))
    );
    assert_eq!(text(&first, "Payment").as_deref(), Some(payment.as_str()));
    assert_eq!(text(&first, "RetryAfterSeconds").as_deref(), Some("1"));
    assert_eq!(first.header("retry-after"), "1");

    // The ERP retries as told until it hears the settled answer.
    let mut settled = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let retry = bench.void(Stack::DotNet11, &payment).await;
        if retry.status == 200 {
            settled = Some(retry);
            break;
        }
        assert!(retry.body.contains("OutcomeUnknown"), "{}", retry.body);
    }
    let settled = settled.expect("the reconciliation settles the void");
    assert_voided(&settled, Stack::DotNet11);
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_is_forwarded_once_and_answered_as_instamed_answered() {
    let bench = Bench::start().await;
    let before = bench.simulator.ledger().len();
    let fields = vec![
        ("MerchantID", "123123123".to_owned()),
        ("StoreID", "123".to_owned()),
        ("TerminalID", "456".to_owned()),
        ("Amount", "25.00".to_owned()),
        ("CardNumber", "4111111111111111".to_owned()),
    ];
    let answer = bench
        .ask(Stack::DotNet12, "DoCreditCardAuthAndCapt", &fields)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(text(&answer, "TransactionStatus").as_deref(), Some("C"));
    let sold = TransactionId::new(text(&answer, "TransactionID").expect("new ID")).expect("id");
    assert!(bench.simulator.ledger().payment(&sold).is_some());
    assert_eq!(bench.simulator.ledger().len(), before + 1, "sent once");
    // InstaMed's own words, in its own envelope: ASP.NET's `soap12` prefix.
    assert!(answer.body.contains("<soap12:Envelope"), "{}", answer.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_signs_in_with_its_own_secret_never_with_instamed_credentials() {
    let bench = Bench::start().await;
    let payment = bench.payment("16.00");
    let (headers, envelope) = Stack::DotNet11.request(
        "DoCreditCardSecondaryVoid",
        &void_fields(&payment)
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .collect::<Vec<_>>(),
    );
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    for credentials in [
        None,
        Some((CLIENT, "not-its-secret")),
        Some((
            instamed_soap_simulator::DEMO_ACCOUNT_ID,
            instamed_soap_simulator::DEMO_PASSWORD,
        )),
    ] {
        let refused = bench.post_as(credentials, &headers, envelope.clone()).await;
        assert_eq!(refused.status, 401);
        assert!(refused.header("www-authenticate").starts_with("Basic"));
    }
    assert_eq!(gateway_voids(&bench, &payment), 0, "nothing was sent");
    let signed_in = bench
        .post_as(Some((CLIENT, SECRET)), &headers, envelope)
        .await;
    assert_voided(&signed_in, Stack::DotNet11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_off_loopback() {
    let bench = Bench::start().await;
    let upstream = Upstream::new(
        instamed_soap_test_support::simulated::client(
            &bench.simulator,
            instamed_soap::Protocol::Soap11,
        ),
        &bench.simulator.endpoint(),
    )
    .expect("upstream");
    let mut clients = Clients::new().expect("clients");
    clients.add_pair("erp:secret").expect("client");
    let refused = Gateway::start(GatewayConfig::new(
        "0.0.0.0:0".parse().expect("address"),
        Tls::PlainHttp,
        upstream,
        bench.dir.path().join("other.db"),
        clients,
    ))
    .await;
    assert!(matches!(
        refused,
        Err(GatewayError::PlainHttpOffLoopback(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wsdl_is_instameds_with_the_gateways_own_address() {
    let bench = Bench::start().await;
    let gateway = bench.gateway();
    let host = instamed_soap_test_support::raw_https::host(&gateway.soap_url());
    let target = instamed_soap_test_support::raw_https::Target {
        addr: gateway.local_addr(),
        host: &host,
        ca: gateway.ca_path(),
    };
    let basic = crate::erp::basic();
    let wsdl = instamed_soap_test_support::raw_https::send_to(
        target,
        http::Method::GET,
        "/payment/service.asmx?WSDL",
        &[("authorization", &basic)],
        "",
    )
    .await
    .expect("an answer");
    assert_eq!(wsdl.status, 200, "{}", wsdl.body);
    // The address the WSDL was fetched at, as its `Host` named it (ASP.NET's `Request.Url`).
    let own = format!("location=\"https://{host}/payment/service.asmx\"");
    assert!(wsdl.body.contains(&own), "{}", wsdl.body);
    assert!(wsdl.body.contains("DoCreditCardSecondaryVoid"));
    let upstream_port = format!(":{}/", bench.simulator.local_addr().port());
    assert!(
        !wsdl.body.contains(&upstream_port),
        "no address of InstaMed's is left"
    );

    let anonymous = instamed_soap_test_support::raw_https::send_to(
        target,
        http::Method::GET,
        "/payment/service.asmx?WSDL",
        &[],
        "",
    )
    .await
    .expect("an answer");
    assert_eq!(anonymous.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instamed_refusing_the_gateways_own_account_is_a_server_fault_for_an_operator() {
    let bench = Bench::start().await;
    let mut builder = instamed_soap::Client::builder(bench.simulator.endpoint()).credentials(
        instamed_soap::Credentials::new("demo@instamed.test", "not-the-password"),
    );
    if let Some(ca) = bench.simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let upstream = Upstream::new(
        builder.build().expect("client"),
        &bench.simulator.endpoint(),
    )
    .expect("upstream");
    let mut clients = Clients::new().expect("clients");
    clients
        .add_pair(&format!("{CLIENT}:{SECRET}"))
        .expect("client");
    let misconfigured = Gateway::start(GatewayConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        Tls::Generated { ca_out: None },
        upstream,
        bench.dir.path().join("misconfigured.db"),
        clients,
    ))
    .await
    .expect("gateway");
    let other = Bench {
        simulator: bench.simulator,
        gateway: Some(misconfigured),
        ledger: bench.dir.path().join("misconfigured.db"),
        dir: bench.dir,
        replicas: Vec::new(),
    };
    let payment = other.payment("17.00");
    let answer = other.void(Stack::Zeep12, &payment).await;
    assert_eq!(answer.status, 500, "{}", answer.body);
    assert!(
        answer.body.contains("soap-env:Receiver") || answer.body.contains("soap12:Receiver"),
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains("GatewayMisconfigured"),
        "{}",
        answer.body
    );
    assert!(!answer.body.contains("not-the-password"));
    assert_eq!(other.voids_at_instamed(&payment), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_certificate_is_what_an_erp_sees() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let bench = Bench::start().await;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["gateway.test".to_owned()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("certificate");
    let (cert_file, key_file, ca_file) = (
        bench.dir.path().join("gw.pem"),
        bench.dir.path().join("gw.key"),
        bench.dir.path().join("ca.pem"),
    );
    std::fs::write(&cert_file, leaf.pem()).expect("cert");
    std::fs::write(&key_file, key.serialize_pem()).expect("key");
    std::fs::write(&ca_file, ca.pem()).expect("ca");
    let server = instamed_soap_listener::server_config_from_pem_files(&cert_file, &key_file)
        .expect("the operator's certificate");

    let upstream = Upstream::new(
        instamed_soap_test_support::simulated::client(
            &bench.simulator,
            instamed_soap::Protocol::Soap12,
        ),
        &bench.simulator.endpoint(),
    )
    .expect("upstream");
    let mut clients = Clients::new().expect("clients");
    clients
        .add_pair(&format!("{CLIENT}:{SECRET}"))
        .expect("client");
    let gateway = Gateway::start(GatewayConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        Tls::Certificate {
            server,
            host: Some("gateway.test".parse().expect("name")),
        },
        upstream,
        bench.dir.path().join("operator.db"),
        clients,
    ))
    .await
    .expect("gateway");
    assert!(gateway.soap_url().starts_with("https://gateway.test:"));
    assert!(gateway.ca_path().is_none(), "no CA of its own");

    let payment = bench.payment("26.00");
    let (headers, envelope) = Stack::DotNet11.request(
        "DoCreditCardSecondaryVoid",
        &void_fields(&payment)
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .collect::<Vec<_>>(),
    );
    let basic = crate::erp::basic();
    let mut all: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    all.push(("authorization", &basic));
    let answer = instamed_soap_test_support::raw_https::send_to(
        instamed_soap_test_support::raw_https::Target {
            addr: gateway.local_addr(),
            host: "gateway.test",
            ca: Some(&ca_file),
        },
        http::Method::POST,
        "/payment/service.asmx",
        &all,
        envelope,
    )
    .await
    .expect("a TLS answer under the operator's certificate");
    assert_voided(&answer, Stack::DotNet11);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_left_unknown_before_the_gateway_started_is_reconciled_without_waiting_for_the_erp()
{
    // The first request InstaMed gets fails with a server fault: a void of unknown outcome,
    // written to the ledger by a command before the gateway starts on it.
    let bench =
        Bench::with_faults(FaultPlan::seeded(5).with_fault_rate(1.0).with_max_faults(1)).await;
    let payment = bench.payment("27.00");
    let ledger_path = bench.dir.path().join("shared.db");
    {
        let ledger = Ledger::open(&ledger_path).expect("ledger");
        let client = instamed_soap_test_support::simulated::client(
            &bench.simulator,
            instamed_soap::Protocol::Soap11,
        );
        let request = instamed_soap::VoidRequest::new(Bench::outlet(), payment.clone());
        let unknown = ledger.void(&client, &request).await.expect("ledger");
        assert!(
            matches!(&unknown, instamed_soap_ledger::Guarded::Sent(Err(e)) if e.outcome_unknown()),
            "{unknown:?}"
        );
    }
    settled_at_start(&bench, &ledger_path, &payment).await;
}

/// Resolves once the gateway's ledger holds an intent about `payment`: its request is out.
pub async fn until_intent_written(bench: &Bench, payment: &TransactionId) {
    loop {
        if let Ok(ledger) = Ledger::open_to_read(bench.ledger_path())
            && ledger
                .standing(payment)
                .is_ok_and(|standing| !standing.entries.is_empty())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `operation` as .NET writes it, and hangs up once the gateway has sent it on.
async fn hang_up_once_sent(
    bench: &Bench,
    payment: &TransactionId,
    operation: &str,
    fields: &[(&str, String)],
) {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (headers, envelope) = Stack::DotNet11.request(operation, &borrowed);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    bench
        .hang_up_when(
            "/payment/service.asmx",
            &headers,
            envelope.as_bytes(),
            until_intent_written(bench, payment),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_hanging_up_mid_void_does_not_hand_its_turn_to_the_retry_while_the_void_is_out() {
    let bench = Bench::with_faults(FaultPlan::seeded(9).with_latency(Duration::from_secs(2))).await;
    let payment = bench.payment("16.00");
    hang_up_once_sent(
        &bench,
        &payment,
        "DoCreditCardSecondaryVoid",
        &void_fields(&payment),
    )
    .await;
    // The ERP's timeout fired and it retries at once, while the first void is still out.
    let retry = bench.void(Stack::DotNet11, &payment).await;
    assert_voided(&retry, Stack::DotNet11);
    assert_eq!(
        gateway_voids(&bench, &payment),
        1,
        "the retry waited for the first void instead of sending one beside it"
    );
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erp_hanging_up_mid_refund_gets_the_refund_on_its_retry_not_a_hold_for_a_person() {
    let bench =
        Bench::with_faults(FaultPlan::seeded(11).with_latency(Duration::from_secs(2))).await;
    let payment = bench.payment("17.00");
    let mut fields = void_fields(&payment);
    fields.retain(|(name, _)| *name != "PrimaryCardPresentStatus");
    fields.push(("Amount", "5.00".to_owned()));
    hang_up_once_sent(&bench, &payment, "DoCreditCardSimpleRefund", &fields).await;
    let retry = bench
        .ask(Stack::DotNet11, "DoCreditCardSimpleRefund", &fields)
        .await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(text(&retry, "TransactionStatus").as_deref(), Some("C"));
    assert_eq!(bench.refunds_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_the_gateway_cannot_read_is_refused_never_forwarded_whatever_its_headers_name() {
    let bench = Bench::start().await;
    let payment = bench.payment("18.00");
    let fields = void_fields(&payment);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (_, envelope) = Stack::Zeep12.request("DoCreditCardSecondaryVoid", &borrowed);
    // SOAP 1.2 makes the action optional: this request names its operation in its body only.
    // InstaMed reads the encoding a document declares; the gateway reads UTF-8 only. A void it
    // cannot read must not go out unread, whatever names it, or does not.
    let mut latin1 = envelope
        .replacen("encoding='utf-8'", "encoding='iso-8859-1'", 1)
        .replacen(
            "<soap-env:Body>",
            "<!-- M\u{fc}ller -->\n<soap-env:Body>",
            1,
        )
        .into_bytes();
    // ü as ISO-8859-1 writes it: one byte, not UTF-8.
    let at = latin1
        .windows(2)
        .position(|pair| pair == "\u{fc}".as_bytes())
        .expect("the u-umlaut");
    latin1.splice(at..at + 2, [0xFC]);
    let sale = format!("\"{NAMESPACE}DoCreditCardAuthAndCapt\"");
    let headers: [&[(&str, &str)]; 3] = [
        // No action: InstaMed goes by the body.
        &[("content-type", "application/soap+xml; charset=iso-8859-1")],
        // An action naming no operation: InstaMed goes by the body.
        &[(
            "content-type",
            "application/soap+xml; charset=iso-8859-1; action=\"urn:x\"",
        )],
        // A SOAPAction header, which a SOAP 1.2 request's routing passes over.
        &[
            ("content-type", "application/soap+xml; charset=iso-8859-1"),
            ("soapaction", &sale),
        ],
    ];
    for headers in headers {
        let answer = bench.post(headers, latin1.clone()).await;
        assert_eq!(answer.status, 500, "{headers:?}: {}", answer.body);
        assert!(
            answer
                .body
                .contains(&format!("<Rejected xmlns=\"{NAMESPACE}\">")),
            "{headers:?}: the gateway's own refusal: {}",
            answer.body
        );
    }
    assert_eq!(bench.voids_at_instamed(&payment), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_lost_by_a_gateway_of_the_same_pid_is_reconciled_at_start_as_in_a_container() {
    // In a container the gateway is the same process ID at every start: a void its killed
    // predecessor left `sent` carries the new gateway's own ID, and is no less lost.
    let bench =
        Bench::with_faults(FaultPlan::seeded(13).with_latency(Duration::from_secs(1))).await;
    let payment = bench.payment("28.00");
    let ledger_path = bench.dir.path().join("same-pid.db");
    let ledger = Ledger::open(&ledger_path)
        .expect("ledger")
        .with_command("gateway");
    lose_a_void(&bench, ledger, &ledger_path, &payment).await;
    settled_at_start(&bench, &ledger_path, &payment).await;
}

/// A gateway killed with its void of `payment` out, through `ledger` (at `location`): the
/// intent stays `sent`, with no verdict. Returns once another reader sees the intent.
pub(crate) async fn lose_a_void(
    bench: &Bench,
    ledger: Ledger,
    location: &std::path::Path,
    payment: &TransactionId,
) {
    let client = instamed_soap_test_support::simulated::client(
        &bench.simulator,
        instamed_soap::Protocol::Soap11,
    );
    let request = instamed_soap::VoidRequest::new(Bench::outlet(), payment.clone());
    let written = async {
        loop {
            let standing =
                Ledger::open_to_read(location).and_then(|ledger| ledger.standing(payment));
            if standing.is_ok_and(|standing| !standing.entries.is_empty()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        done = ledger.void(&client, &request) => panic!("answered before the kill: {done:?}"),
        () = written => {}
    }
}

/// Starts a gateway on the ledger at `ledger_path`, whose void of `payment` a predecessor left
/// unknown, and waits until it has settled the payment on its own (no ERP asking): voided in
/// its ledger, with one void in all at InstaMed.
pub(crate) async fn settled_at_start(
    bench: &Bench,
    ledger_path: &std::path::Path,
    payment: &TransactionId,
) {
    let upstream = Upstream::new(
        instamed_soap_test_support::simulated::client(
            &bench.simulator,
            instamed_soap::Protocol::Soap11,
        ),
        &bench.simulator.endpoint(),
    )
    .expect("upstream");
    let mut clients = Clients::new().expect("clients");
    clients.add_pair("erp:secret").expect("client");
    let mut config = GatewayConfig::new(
        "127.0.0.1:0".parse().expect("address"),
        Tls::Generated { ca_out: None },
        upstream,
        ledger_path,
        clients,
    );
    config.retry_after = Duration::from_millis(200);
    // A shared ledger's gateway keeps its operations in the user's state directory: the
    // test's own instead.
    config.operations = bench.dir.path().join("settled-operations.db");
    let gateway = Gateway::start(config).await.expect("gateway");
    voided_without_a_request(bench, ledger_path, payment).await;
    gateway.stop().await;
}

/// Waits until the ledger at `ledger_path` knows `payment` voided, with no ERP asking (a
/// gateway's background work), and InstaMed has voided it once.
pub(crate) async fn voided_without_a_request(
    bench: &Bench,
    ledger_path: &std::path::Path,
    payment: &TransactionId,
) {
    let ledger = Ledger::open(ledger_path).expect("ledger");
    let mut voided = false;
    for _ in 0..100 {
        if ledger
            .standing(payment)
            .expect("standing")
            .voided()
            .is_some()
        {
            voided = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        voided,
        "the gateway settled it on its own: {:?}",
        ledger.standing(payment)
    );
    assert_eq!(bench.voids_at_instamed(payment), 1);
}
