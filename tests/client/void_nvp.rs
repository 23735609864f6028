//! NVP on the wire, beside `void_soap.rs`: the exact form a void posts to `NVP.aspx`, its
//! headers, and what every kind of answer proves. These go through the call layer, the same
//! two functions the client uses, so every byte and every verdict is pinned without a socket.

use instamed_soap_test_support as support;

use bytes::Bytes;
use http::{Response, StatusCode, Uri};
use instamed_soap::call::{Call, Nvp, Route};
use instamed_soap::{Credentials, Error, UserName, VoidRequest};
use support::PAYMENT;

fn nvp() -> Nvp {
    let uri: Uri = "https://127.0.0.1:8443/payment/NVP.aspx".parse().unwrap();
    let credentials = Credentials::new("account@clinic", "s3cret");
    Nvp::new(Route::new(&uri, &credentials, UserName::default()).unwrap())
}

/// The suite voids at terminal `123`: the forms it pins name it.
fn request() -> VoidRequest {
    support::request_at("123")
}

fn answer(status: u16, body: &str) -> Response<Bytes> {
    let mut answer = Response::new(Bytes::from(body.to_owned()));
    *answer.status_mut() = StatusCode::from_u16(status).unwrap();
    answer
}

fn judged(status: u16, body: &str) -> Result<instamed_soap::VoidReceipt, Error> {
    nvp().judge(&request(), &answer(status, body))
}

#[test]
fn a_void_is_instameds_sample_form_with_exact_headers() {
    let built = nvp().request(&request()).unwrap();
    assert_eq!(built.method(), http::Method::POST);
    assert_eq!(built.uri(), "/payment/NVP.aspx");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(built.body()).into_owned().collect();
    let expected = [
        ("transactionType", "CreditCard"),
        ("transactionAction", "Void"),
        ("MerchantID", "123123123"),
        ("StoreID", "123"),
        ("TerminalID", "123"),
        ("primaryCardPresentStatus", "PresentManualKey"),
        ("primaryTransactionID", PAYMENT),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(pairs, expected);

    let headers = built.headers();
    let names: Vec<&str> = headers.keys().map(|name| name.as_str()).collect();
    // The length too, last, where hyper would otherwise add it on the wire.
    assert_eq!(
        names,
        [
            "host",
            "content-type",
            "user-agent",
            "authorization",
            "content-length"
        ],
        "no SOAPAction, nothing else"
    );
    assert_eq!(headers["content-length"], built.body().len().to_string());
    assert_eq!(headers["host"], "127.0.0.1:8443");
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    assert!(headers["authorization"].is_sensitive());
    assert!(
        headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("instamed-soap/")
    );
}

#[test]
fn completed_and_voided_is_the_only_success() {
    let receipt = judged(
        200,
        "responseCode=000&responseMessage=APPROVED&transactionStatus=C\
         &primaryTransactionID=EE52401813A74328AAA7D93319FF4383&primaryTransactionStatus=V\
         &transactionID=EE52401813A74328AAA7D93319FF4383&authorizationNumber=A1",
    )
    .unwrap();
    assert_eq!(receipt.transaction_status, "C");
    assert_eq!(receipt.primary_transaction_status, "V");
    assert_eq!(
        receipt.transaction_id.as_deref(),
        Some("EE52401813A74328AAA7D93319FF4383")
    );

    // A void keeps the payment's ID: a transactionID naming anything else is not this void.
    let another = judged(
        200,
        "transactionStatus=C&primaryTransactionID=EE52401813A74328AAA7D93319FF4383\
         &primaryTransactionStatus=V&transactionID=T1",
    )
    .unwrap_err();
    assert_eq!(another.code(), "malformed_response");
    assert!(another.outcome_unknown());

    let not_voided = judged(200, "transactionStatus=C&primaryTransactionStatus=S").unwrap_err();
    assert_eq!(not_voided.code(), "malformed_response");
    assert!(not_voided.outcome_unknown());
}

#[test]
fn refusals_need_structured_evidence() {
    let declined = judged(200, "transactionStatus=D&responseMessage=Declined").unwrap_err();
    assert_eq!(declined.code(), "declined");
    assert!(!declined.outcome_unknown());

    let already = judged(
        200,
        "transactionStatus=D&primaryTransactionStatus=V&responseMessage=no",
    )
    .unwrap_err();
    assert_eq!(already.code(), "already_voided");
    assert!(already.proves_voided());

    // A request error (the 400s) voided nothing; its wording may pick the refusal.
    let unknown = judged(400, "errorCode=400&errorMessage=Transaction+not+found").unwrap_err();
    assert_eq!(unknown.code(), "unknown_transaction");
    assert!(!unknown.outcome_unknown());
}

#[test]
fn server_errors_and_unreadable_answers_leave_the_outcome_unknown() {
    // Words that sound like a refusal prove nothing from a server error.
    let server = judged(500, "errorCode=500&errorMessage=already+voided").unwrap_err();
    assert!(matches!(server, Error::NvpError(_)), "{server:?}");
    assert!(server.outcome_unknown());

    let no_code = judged(200, "errorMessage=Something+went+wrong").unwrap_err();
    assert!(no_code.outcome_unknown(), "{no_code:?}");

    for (status, body, code) in [
        (200, "", "malformed_response"),
        (500, "", "http_status"),
        (500, "<html>Server Error</html>", "http_status"),
        (200, "<html>Server Error</html>", "malformed_response"),
        (
            200,
            "transactionStatus=C&TransactionStatus=C",
            "malformed_response",
        ),
        (200, "errorCode=1&transactionStatus=C", "malformed_response"),
        (
            500,
            "transactionStatus=C&primaryTransactionStatus=V",
            "malformed_response",
        ),
        (
            200,
            "transactionStatus=C&primaryTransactionStatus=V&primaryTransactionID=OTHER",
            "malformed_response",
        ),
    ] {
        let error = judged(status, body).unwrap_err();
        assert_eq!(error.code(), code, "HTTP {status} {body:?}: {error:?}");
        assert!(error.outcome_unknown(), "HTTP {status} {body:?}");
    }
}

#[test]
fn refused_credentials_are_refused_whatever_the_body() {
    for status in [401, 403] {
        let error = judged(status, "transactionStatus=C&primaryTransactionStatus=V").unwrap_err();
        assert_eq!(error.code(), "authentication_refused");
        assert!(!error.outcome_unknown());
    }
}
