//! The simulator's Single Sign-On side as an application and a browser meet it: the login's
//! `RelayState`, the void page and its buttons, token lifetimes, and `SSOService.asmx` in both
//! SOAP versions, all on the one ledger.

use instamed_soap_test_support as support;

use std::time::Duration;

use http::{Method, StatusCode};
use instamed_soap::TransactionId;
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, DEMO_SSO_KEY, PaymentStatus, Simulator, SimulatorConfig,
};
use support::outlet;

use crate::service::{Answer, raw, text_of};

const TEMPURI: &str = "http://tempuri.org/";
const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const VOID_PAGE: &str = "/providers/Form/PatientPayments/VoidPaymentSSO";
const SERVICE: &str = "/providers/Forms/WebServices/SSOService.asmx";

async fn start(config: SimulatorConfig) -> Simulator {
    Simulator::start(config.with_tls(false))
        .await
        .expect("simulator starts")
}

fn new_payment(simulator: &Simulator) -> TransactionId {
    simulator
        .ledger()
        .create_payment(&outlet(), "42.00")
        .expect("payment")
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        form.append_pair(key, value);
    }
    form.finish()
}

/// The server-to-server token request for a void of `payment`, signed with `key`.
async fn login(simulator: &Simulator, payment: &str, key: &str) -> Answer {
    let body = form(&[
        ("accountID", DEMO_ACCOUNT_ID),
        ("securityKey", key),
        ("ssoAlias", DEMO_SSO_ALIAS),
        ("userName", "clerk"),
        ("lightWeight", "true"),
        ("incontext", "true"),
        ("requestToken", "true"),
        ("responseActionType", "header"),
        (
            "RelayState",
            "https://online.instamed.com/providers/Form/PatientPayments/VoidPaymentSSO?",
        ),
        ("transactionID", payment),
        ("confirmURL", "https://erp.example/sso/confirm"),
        ("cancelURL", "https://erp.example/sso/cancel"),
    ]);
    raw(
        simulator,
        Method::POST,
        "/providers/Form/SSO/SSOLogin",
        &[("content-type", "application/x-www-form-urlencoded")],
        &body,
    )
    .await
}

/// The token in a login's `RelayState` URL.
fn token_of(answer: &Answer) -> String {
    let url = answer.header("relaystate");
    let query = url.split_once('?').map_or("", |(_, query)| query);
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "token")
        .map(|(_, token)| token.into_owned())
        .unwrap_or_else(|| panic!("no token in {url:?}"))
}

/// One `SSOService` call in `envelope_ns`'s SOAP version, signed with the demo account.
async fn service(simulator: &Simulator, envelope_ns: &str, op: &str, token: &str) -> Answer {
    let children = format!(
        "<tokenID>{token}</tokenID><accountID>{DEMO_ACCOUNT_ID}</accountID>\
         <alias>{DEMO_SSO_ALIAS}</alias><password>{DEMO_SSO_KEY}</password>"
    );
    let envelope = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><e:Envelope xmlns:e=\"{envelope_ns}\"><e:Body>\
         <{op} xmlns=\"{TEMPURI}\">{children}</{op}></e:Body></e:Envelope>"
    );
    let action = format!("\"{TEMPURI}{op}\"");
    let headers: Vec<(&str, &str)> = if envelope_ns == SOAP11 {
        vec![
            ("content-type", "text/xml; charset=utf-8"),
            ("soapaction", action.as_str()),
        ]
    } else {
        vec![("content-type", "application/soap+xml; charset=utf-8")]
    };
    raw(simulator, Method::POST, SERVICE, &headers, &envelope).await
}

async fn page_action(simulator: &Simulator, token: &str, action: &str) -> Answer {
    raw(
        simulator,
        Method::POST,
        VOID_PAGE,
        &[("content-type", "application/x-www-form-urlencoded")],
        &form(&[("token", token), ("action", action)]),
    )
    .await
}

#[tokio::test]
async fn the_login_answers_a_relay_state_header_with_the_page_a_token_and_respcode_000() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let answer = login(&simulator, payment.as_str(), DEMO_SSO_KEY).await;
    assert_eq!(answer.status, StatusCode::OK);
    let url = answer.header("relaystate");
    assert!(
        url.starts_with(&format!("{}?token=", simulator.sso_void_page())),
        "{url}"
    );
    assert!(url.ends_with("&respCode=000"), "{url}");
    assert_eq!(token_of(&answer).len(), 32);
}

#[tokio::test]
async fn wrong_sso_credentials_send_the_browser_to_sso_error_with_401() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let answer = login(&simulator, payment.as_str(), "not-the-key").await;
    let url = answer.header("relaystate");
    assert!(
        url.contains("/providers/Form/SSO/SSOError?respCode=401"),
        "{url}"
    );
    assert!(
        url.contains("respMessage=Invalid+AccountID+or+Password."),
        "{url}"
    );
    assert!(!url.contains("token="), "{url}");

    // A browser's own form post is redirected there instead.
    let browser = raw(
        &simulator,
        Method::POST,
        "/providers/Form/SSO/SSOLogin",
        &[("content-type", "application/x-www-form-urlencoded")],
        &form(&[("accountID", DEMO_ACCOUNT_ID), ("securityKey", "nope")]),
    )
    .await;
    assert_eq!(browser.status, StatusCode::FOUND);
    assert!(browser.header("location").contains("respCode=401"));
    let error_page = browser.header("location").replace(&simulator.origin(), "");
    let shown = raw(&simulator, Method::GET, &error_page, &[], "").await;
    assert!(
        shown.body.contains("Invalid AccountID or Password."),
        "{}",
        shown.body
    );
}

#[tokio::test]
async fn the_void_page_voids_once_through_the_ledger_and_the_service_says_so() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let token = token_of(&login(&simulator, payment.as_str(), DEMO_SSO_KEY).await);

    let status = service(&simulator, SOAP11, "GetSSOTokenStatus", &token).await;
    assert_eq!(
        text_of(&status.body, "GetSSOTokenStatusResult").as_deref(),
        Some("NEW")
    );

    let page = raw(
        &simulator,
        Method::GET,
        &format!("{VOID_PAGE}?token={token}"),
        &[],
        "",
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(payment.as_str()), "{}", page.body);
    assert!(page.body.contains("$42.00"), "{}", page.body);
    assert!(page.body.contains("id=\"void\"") && page.body.contains("id=\"cancel\""));
    assert!(!page.body.contains("<script") && !page.body.contains("<link"));
    let policy = page.header("content-security-policy");
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(
        policy.contains("form-action 'self' https://erp.example"),
        "{policy}"
    );
    assert_eq!(page.header("referrer-policy"), "no-referrer");

    let voided = page_action(&simulator, &token, "void").await;
    assert_eq!(voided.status, StatusCode::SEE_OTHER);
    assert_eq!(voided.header("location"), "https://erp.example/sso/confirm");
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );

    // A second click, or a replayed form, changes nothing.
    let again = page_action(&simulator, &token, "void").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);

    for envelope_ns in [SOAP11, SOAP12] {
        let status = service(&simulator, envelope_ns, "GetSSOTokenStatus", &token).await;
        assert_eq!(
            text_of(&status.body, "GetSSOTokenStatusResult").as_deref(),
            Some("complete")
        );
        let details = service(&simulator, envelope_ns, "GetTransactionDetails", &token).await;
        assert_eq!(details.status, StatusCode::OK, "{}", details.body);
        assert_eq!(
            text_of(&details.body, "TransactionID").as_deref(),
            Some(payment.as_str())
        );
        assert_eq!(
            text_of(&details.body, "TransactionStatus").as_deref(),
            Some("V")
        );
        assert_eq!(
            text_of(&details.body, "ResponseCode").as_deref(),
            Some("000")
        );
    }
    let soap12 = service(&simulator, SOAP12, "GetTransactionDetails", &token).await;
    assert!(
        soap12
            .header("content-type")
            .starts_with("application/soap+xml")
    );
}

#[tokio::test]
async fn cancel_completes_the_token_and_leaves_the_payment_captured() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    let token = token_of(&login(&simulator, payment.as_str(), DEMO_SSO_KEY).await);
    let cancelled = page_action(&simulator, &token, "cancel").await;
    assert_eq!(
        cancelled.header("location"),
        "https://erp.example/sso/cancel"
    );
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
    let status = service(&simulator, SOAP11, "GetSSOTokenStatus", &token).await;
    assert_eq!(
        text_of(&status.body, "GetSSOTokenStatusResult").as_deref(),
        Some("complete")
    );
    let details = service(&simulator, SOAP11, "GetTransactionDetails", &token).await;
    assert_eq!(
        text_of(&details.body, "TransactionStatus").as_deref(),
        Some("C")
    );
    assert_eq!(text_of(&details.body, "ResponseCode"), None);
}

#[tokio::test]
async fn an_expired_token_opens_no_page_and_voids_nothing() {
    let simulator = start(SimulatorConfig::default().with_sso_token_lifetime(Duration::ZERO)).await;
    let payment = new_payment(&simulator);
    let token = token_of(&login(&simulator, payment.as_str(), DEMO_SSO_KEY).await);
    let page = raw(
        &simulator,
        Method::GET,
        &format!("{VOID_PAGE}?token={token}"),
        &[],
        "",
    )
    .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("expired"), "{}", page.body);
    let voided = page_action(&simulator, &token, "void").await;
    assert_eq!(voided.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
    let status = service(&simulator, SOAP12, "GetSSOTokenStatus", &token).await;
    assert_eq!(
        text_of(&status.body, "GetSSOTokenStatusResult").as_deref(),
        Some("EXPIRED")
    );
    let details = service(&simulator, SOAP12, "GetTransactionDetails", &token).await;
    assert_eq!(
        text_of(&details.body, "TransactionStatus"),
        None,
        "{}",
        details.body
    );
}

#[tokio::test]
async fn a_void_of_an_already_voided_payment_is_refused_by_the_same_rules() {
    let simulator = start(SimulatorConfig::default()).await;
    let payment = new_payment(&simulator);
    simulator
        .ledger()
        .void(&payment, std::time::SystemTime::now())
        .expect("voided before");
    let token = token_of(&login(&simulator, payment.as_str(), DEMO_SSO_KEY).await);
    page_action(&simulator, &token, "void").await;
    let details = service(&simulator, SOAP11, "GetTransactionDetails", &token).await;
    assert_eq!(
        text_of(&details.body, "TransactionStatus").as_deref(),
        Some("V")
    );
    assert_eq!(
        text_of(&details.body, "ResponseCode").as_deref(),
        Some("012")
    );
    assert_eq!(
        text_of(&details.body, "ResponseMessage").as_deref(),
        Some("Transaction already voided")
    );
}

#[tokio::test]
async fn the_page_escapes_what_the_login_was_given() {
    let simulator = start(SimulatorConfig::default()).await;
    let hostile = "<script>alert(1)</script>\"'&";
    let token = token_of(&login(&simulator, hostile, DEMO_SSO_KEY).await);
    let page = raw(
        &simulator,
        Method::GET,
        &format!("{VOID_PAGE}?token={token}"),
        &[],
        "",
    )
    .await;
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;"), "{}", page.body);
}

#[tokio::test]
async fn the_service_refuses_wrong_credentials_and_unknown_tokens_with_client_faults() {
    let simulator = start(SimulatorConfig::default()).await;
    let answer = service(&simulator, SOAP11, "GetSSOTokenStatus", "NO-SUCH-TOKEN").await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        text_of(&answer.body, "faultcode").as_deref(),
        Some("soap:Client")
    );
    assert_eq!(
        text_of(&answer.body, "faultstring").as_deref(),
        Some("Invalid token.")
    );

    let envelope = format!(
        "<e:Envelope xmlns:e=\"{SOAP11}\"><e:Body><GetSSOTokenStatus xmlns=\"{TEMPURI}\">\
         <tokenID>x</tokenID><accountID>{DEMO_ACCOUNT_ID}</accountID><alias>{DEMO_SSO_ALIAS}</alias>\
         <password>wrong</password></GetSSOTokenStatus></e:Body></e:Envelope>"
    );
    let refused = raw(
        &simulator,
        Method::POST,
        SERVICE,
        &[
            ("content-type", "text/xml"),
            ("soapaction", "\"http://tempuri.org/GetSSOTokenStatus\""),
        ],
        &envelope,
    )
    .await;
    assert_eq!(
        text_of(&refused.body, "faultstring").as_deref(),
        Some("Invalid AccountID or Password.")
    );
    let wsdl = raw(&simulator, Method::GET, &format!("{SERVICE}?WSDL"), &[], "").await;
    assert!(
        wsdl.body
            .contains("name=\"GetTransactionDetailsByTransactionID\"")
    );
    assert!(wsdl.body.contains(&format!(
        "location=\"{}\"",
        simulator.sso_service_endpoint()
    )));
}
