//! One test per row of `docs/outcomes.md`: each kind of evidence, served by a real loopback TLS
//! server, must give the variant, `outcome_unknown()`, reconciliation proof and CLI exit code
//! the table says. Then the answers that gave false verdicts before these rules (and those that
//! made `void --or-refund` refund on words), and reconciliation, which accepts only
//! `PrimaryTransactionStatus` `V` as proof.

use crate::isolated;
use instamed_soap_test_support as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use instamed_soap::{
    Client, Credentials, Error, Protocol, RetryPolicy, VoidConfirmation, VoidReceipt, VoidRequest,
};
use support::{PAYMENT, Reply, Server, Version, aspnet_fault, envelope, error_info, void_result};

const ACCOUNT: &str = "acct@clinic.example";
const PASSWORD: &str = "pa55-word";

const SOAP: [Protocol; 2] = [Protocol::Soap11, Protocol::Soap12];

/// What a row says an answer must come to.
#[derive(Debug, Clone, Copy)]
struct Expect {
    /// `voided` or `Error::code()`.
    code: &'static str,
    unknown: bool,
    proof: bool,
    exit: i32,
}

const fn expect(code: &'static str, unknown: bool, proof: bool, exit: i32) -> Expect {
    Expect {
        code,
        unknown,
        proof,
        exit,
    }
}

fn request() -> VoidRequest {
    support::request_at("123")
}

fn client(url: &str, ca: &std::path::Path, protocol: Protocol) -> Client {
    Client::builder(url)
        .credentials(Credentials::new(ACCOUNT, PASSWORD))
        .protocol(protocol)
        .ca_certificate_file(ca)
        .timeout(Duration::from_secs(2))
        .reconcile_policy(RetryPolicy::exponential(2, Duration::from_millis(1)))
        .build()
        .expect("client")
}

fn code_of(result: &Result<VoidReceipt, Error>) -> &'static str {
    match result {
        Ok(_) => "voided",
        Err(error) => error.code(),
    }
}

/// Runs `instamed-soap void --json` against `url` and returns its exit code and JSON.
async fn cli(url: &str, ca: &std::path::Path, protocol: Protocol) -> (i32, serde_json::Value) {
    let (url, ca) = (url.to_owned(), ca.to_owned());
    tokio::task::spawn_blocking(move || {
        let output = isolated::instamed_soap()
            .args(["void", "--endpoint", &url, "--json", "--timeout", "2"])
            .args(["--merchant-id", "123123123", "--store-id", "123"])
            .args(["--terminal-id", "123", "--transaction-id", PAYMENT])
            .args(["--protocol", protocol.as_str()])
            .arg("--ca-cert")
            .arg(&ca)
            .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
            .env("INSTAMED_PASSWORD", PASSWORD)
            .env_remove("INSTAMED_ENDPOINT")
            .output()
            .expect("run instamed-soap");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout} / {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().expect("exit code"), json)
    })
    .await
    .expect("the CLI ran")
}

/// Serves `reply` (in the request's SOAP version) and checks the library's verdict and the
/// CLI's against `expected`.
async fn check(
    row: &str,
    protocol: Protocol,
    reply: impl Fn(Version) -> Reply + Send + Sync + 'static,
    expected: Expect,
) -> Result<VoidReceipt, Error> {
    let server = Server::start(move |exchange| reply(support::version_of(exchange))).await;
    let result = client(&server.url, &server.ca_path, protocol)
        .void(&request())
        .await;
    let what = format!("{row} over {protocol}: {result:?}");
    assert_eq!(code_of(&result), expected.code, "{what}");
    if let Err(error) = &result {
        assert_eq!(error.outcome_unknown(), expected.unknown, "{what}");
        assert_eq!(error.proves_voided(), expected.proof, "{what}");
    }
    let (exit, json) = cli(&server.url, &server.ca_path, protocol).await;
    assert_eq!(exit, expected.exit, "{what}; CLI said {json}");
    if result.is_err() {
        assert_eq!(json["outcome_unknown"], expected.unknown, "{what}; {json}");
        assert_eq!(json["proves_voided"], expected.proof, "{what}; {json}");
        assert_eq!(json["error_code"], expected.code, "{what}; {json}");
    }
    result
}

fn result(v: Version, status: &str, primary: &str, message: &str) -> Reply {
    let mut fields = vec![
        ("MerchantID", "123123123"),
        ("TransactionStatus", status),
        ("ResponseCode", "051"),
        ("ResponseMessage", message),
        ("PrimaryTransactionID", PAYMENT),
    ];
    if !primary.is_empty() {
        fields.push(("PrimaryTransactionStatus", primary));
    }
    fields.retain(|(_, value)| !value.is_empty());
    Reply::xml(200, v, void_result(v, &fields))
}

fn soap_fault(v: Version, code: &str, reason: &str, detail: &str) -> Reply {
    let code = match (v, code) {
        (Version::Soap12, "Client") => "Sender",
        (Version::Soap12, "Server") => "Receiver",
        (_, code) => code,
    };
    Reply::xml(500, v, aspnet_fault(v, code, reason, detail))
}

fn nvp(body: &str) -> Reply {
    Reply::new(
        200,
        "application/x-www-form-urlencoded; charset=utf-8",
        body.to_owned(),
    )
}

const WRAPPED: &str = "Server was unable to process request. ---> ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_01_c_and_v_is_voided() {
    for protocol in SOAP {
        let receipt = check(
            "row 1",
            protocol,
            |v| result(v, "C", "V", "APPROVED"),
            expect("voided", false, false, 0),
        )
        .await
        .expect("voided");
        assert_eq!(receipt.primary_transaction_status, "V");
    }
    let body = format!(
        "transactionStatus=C&primaryTransactionStatus=V&responseMessage=VOIDED&primaryTransactionID={PAYMENT}"
    );
    check(
        "row 1",
        Protocol::Nvp,
        move |_| nvp(&body),
        expect("voided", false, false, 0),
    )
    .await
    .expect("voided");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_02_a_completed_void_without_v_or_an_odd_status_is_unknown() {
    let unknown = expect("malformed_response", true, false, 5);
    for protocol in SOAP {
        check(
            "row 2",
            protocol,
            |v| result(v, "C", "", "APPROVED"),
            unknown,
        )
        .await
        .unwrap_err();
        check("row 2", protocol, |v| result(v, "A", "V", "x"), unknown)
            .await
            .unwrap_err();
        check(
            "row 2",
            protocol,
            |v| result(v, "", "V", "APPROVED"),
            unknown,
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_03_an_answer_about_another_payment_proves_nothing() {
    let unknown = expect("malformed_response", true, false, 5);
    let other = "0000000000000000000000000000ABCD";
    for protocol in SOAP {
        check(
            "row 3",
            protocol,
            move |v| {
                let fields = [
                    ("TransactionStatus", "D"),
                    ("PrimaryTransactionID", other),
                    ("PrimaryTransactionStatus", "V"),
                ];
                Reply::xml(200, v, void_result(v, &fields))
            },
            unknown,
        )
        .await
        .unwrap_err();
        check(
            "row 3",
            protocol,
            move |v| {
                let detail = error_info(&[
                    ("TransactionStatus", "D"),
                    ("PrimaryTransactionID", other),
                    ("PrimaryTransactionStatus", "V"),
                ]);
                soap_fault(v, "Server", "Already voided", &detail)
            },
            unknown,
        )
        .await
        .unwrap_err();
    }
    let body = format!(
        "errorCode=012&errorMessage=Voided&transactionStatus=D&primaryTransactionStatus=V&primaryTransactionID={other}"
    );
    check("row 3", Protocol::Nvp, move |_| nvp(&body), unknown)
        .await
        .unwrap_err();

    // A void keeps the payment's ID: a TransactionID naming another transaction is not this
    // void, whether it says voided, already voided (proof) or not voidable (a refund).
    for (status, primary) in [("C", "V"), ("D", "V"), ("D", "S")] {
        for protocol in SOAP {
            check(
                "row 3",
                protocol,
                move |v| {
                    let fields = [
                        ("TransactionID", other),
                        ("TransactionStatus", status),
                        ("PrimaryTransactionID", PAYMENT),
                        ("PrimaryTransactionStatus", primary),
                    ];
                    Reply::xml(200, v, void_result(v, &fields))
                },
                unknown,
            )
            .await
            .unwrap_err();
        }
        let body = format!(
            "transactionID={other}&transactionStatus={status}&primaryTransactionID={PAYMENT}&primaryTransactionStatus={primary}"
        );
        check("row 3", Protocol::Nvp, move |_| nvp(&body), unknown)
            .await
            .unwrap_err();
    }
    for protocol in SOAP {
        check(
            "row 3",
            protocol,
            move |v| {
                let detail = error_info(&[
                    ("TransactionID", other),
                    ("TransactionStatus", "D"),
                    ("PrimaryTransactionStatus", "V"),
                ]);
                soap_fault(v, "Client", "Already voided", &detail)
            },
            unknown,
        )
        .await
        .unwrap_err();
    }
    // The payment's own ID, in lower case, is this payment.
    let own = PAYMENT.to_lowercase();
    check(
        "row 3",
        Protocol::Soap11,
        move |v| {
            let fields = [
                ("TransactionID", own.as_str()),
                ("TransactionStatus", "C"),
                ("PrimaryTransactionStatus", "V"),
            ];
            Reply::xml(200, v, void_result(v, &fields))
        },
        expect("voided", false, false, 0),
    )
    .await
    .expect("voided");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_04_declined_with_the_payment_voided_is_already_voided_and_proof() {
    let known = expect("already_voided", false, true, 4);
    for protocol in SOAP {
        check(
            "row 4",
            protocol,
            |v| result(v, "D", "V", "DECLINED"),
            known,
        )
        .await
        .unwrap_err();
        check(
            "row 4",
            protocol,
            |v| result(v, "X", "V", "DECLINED"),
            known,
        )
        .await
        .unwrap_err();
        // The same statuses in a Receiver fault's detail, as ASP.NET writes it.
        let error = check(
            "row 4",
            protocol,
            |v| {
                let detail = error_info(&[
                    ("ResponseCode", "051"),
                    ("TransactionStatus", "D"),
                    ("PrimaryTransactionStatus", "V"),
                ]);
                soap_fault(v, "Server", &format!("{WRAPPED}Void declined."), &detail)
            },
            known,
        )
        .await
        .unwrap_err();
        let refusal = error.refusal().expect("a refusal");
        assert_eq!(refusal.response_code.as_deref(), Some("051"));
        assert_eq!(error.http_status(), Some(500));
    }
    check(
        "row 4",
        Protocol::Nvp,
        |_| nvp("errorCode=500&errorMessage=Declined&transactionStatus=D&primaryTransactionStatus=V"),
        known,
    )
    .await
    .unwrap_err();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_05_only_a_decline_with_the_payment_there_and_not_voided_is_not_voidable() {
    let known = expect("not_voidable", false, false, 3);
    for protocol in SOAP {
        check(
            "row 5",
            protocol,
            |v| result(v, "D", "S", "DECLINED"),
            known,
        )
        .await
        .unwrap_err();
        // S and SE say it whatever the words.
        check(
            "row 5",
            protocol,
            |v| result(v, "D", "SE", "Transaction not found"),
            known,
        )
        .await
        .unwrap_err();
        // With another payment status, words pick which refusal it is.
        check(
            "row 5",
            protocol,
            |v| result(v, "D", "C", "Void not allowed: funds transfer initiated"),
            known,
        )
        .await
        .unwrap_err();
        check(
            "row 5",
            protocol,
            |v| result(v, "D", "C", "DO NOT HONOR"),
            expect("declined", false, false, 3),
        )
        .await
        .unwrap_err();
        check(
            "row 5",
            protocol,
            |v| result(v, "D", "C", "Declined, it is not too late"),
            expect("declined", false, false, 3),
        )
        .await
        .unwrap_err();
    }
    let body = format!(
        "errorCode=012&errorMessage=Declined&transactionStatus=D&primaryTransactionStatus=S&primaryTransactionID={PAYMENT}"
    );
    check("row 5", Protocol::Nvp, move |_| nvp(&body), known)
        .await
        .unwrap_err();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_06_declined_saying_already_voided_without_the_status_is_no_proof() {
    let known = expect("already_voided", false, false, 4);
    for protocol in SOAP {
        check(
            "row 6",
            protocol,
            |v| result(v, "D", "", "Transaction already voided"),
            known,
        )
        .await
        .unwrap_err();
    }
    // A payment status other than V outweighs the words.
    check(
        "row 6",
        Protocol::Soap11,
        |v| result(v, "D", "C", "Transaction already voided"),
        expect("declined", false, false, 3),
    )
    .await
    .unwrap_err();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_07_without_a_payment_status_words_never_make_not_voidable() {
    let declined = expect("declined", false, false, 3);
    for protocol in SOAP {
        for words in [
            "Void not allowed: funds transfer initiated",
            "Transaction has settled; use a refund",
            "Void declined: the payment isn't settled yet",
            "Declined: no funds transfer has started",
        ] {
            let error = check(
                "row 7",
                protocol,
                move |v| result(v, "D", "", words),
                declined,
            )
            .await
            .unwrap_err();
            // Reported with its own words.
            let refusal = error.refusal().expect("a refusal");
            assert_eq!(refusal.response_message.as_deref(), Some(words));
        }
        check(
            "row 7",
            protocol,
            |v| result(v, "D", "", "Transaction not found"),
            expect("unknown_transaction", false, false, 3),
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_08_a_client_fault_voided_nothing() {
    for protocol in SOAP {
        check(
            "row 8",
            protocol,
            |v| soap_fault(v, "Client", "Transaction has already been voided.", ""),
            expect("already_voided", false, false, 4),
        )
        .await
        .unwrap_err();
        check(
            "row 8",
            protocol,
            |v| {
                let detail = error_info(&[("PrimaryTransactionStatus", "V")]);
                soap_fault(v, "Client", "Void rejected", &detail)
            },
            expect("already_voided", false, true, 4),
        )
        .await
        .unwrap_err();
        check(
            "row 8",
            protocol,
            |v| {
                soap_fault(
                    v,
                    "Client",
                    "Server did not recognize the value of HTTP Header SOAPAction: x.",
                    "",
                )
            },
            expect("fault", false, false, 1),
        )
        .await
        .unwrap_err();
        // No TransactionStatus: no void was declined, so never "refund instead". A payment
        // status makes it a known refusal; words alone leave it a fault.
        check(
            "row 8",
            protocol,
            |v| {
                let detail = error_info(&[("PrimaryTransactionStatus", "S")]);
                soap_fault(v, "Client", "Void not allowed: too late", &detail)
            },
            expect("declined", false, false, 3),
        )
        .await
        .unwrap_err();
        check(
            "row 8",
            protocol,
            |v| {
                soap_fault(
                    v,
                    "Client",
                    "Void not allowed: funds transfer initiated",
                    "",
                )
            },
            expect("fault", false, false, 1),
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_09_a_server_fault_without_statuses_is_unknown_whatever_it_says() {
    let unknown = expect("fault", true, false, 5);
    for protocol in SOAP {
        for words in [
            "Transaction has already been voided.",
            "Void not allowed: funds transfer initiated. Use a refund.",
            "Transaction not found.",
            "Object reference not set to an instance of an object.",
        ] {
            let reason = format!("{WRAPPED}{words}");
            check(
                "row 9",
                protocol,
                move |v| soap_fault(v, "Server", &reason, ""),
                unknown,
            )
            .await
            .unwrap_err();
        }
        // A ResponseCode is context, not a status; so is a status in another namespace.
        check(
            "row 9",
            protocol,
            |v| {
                soap_fault(
                    v,
                    "Server",
                    "Declined",
                    &error_info(&[("ResponseCode", "012")]),
                )
            },
            unknown,
        )
        .await
        .unwrap_err();
        check(
            "row 9",
            protocol,
            |v| {
                let detail = "<TransactionStatus>D</TransactionStatus>\
                              <PrimaryTransactionStatus>V</PrimaryTransactionStatus>";
                soap_fault(v, "Server", "Declined", detail)
            },
            unknown,
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_10_a_fault_detail_that_contradicts_itself_is_unreadable() {
    let unknown = expect("malformed_response", true, false, 5);
    for protocol in SOAP {
        check(
            "row 10",
            protocol,
            |v| soap_fault(v, "Client", "x", &error_info(&[("TransactionStatus", "C")])),
            unknown,
        )
        .await
        .unwrap_err();
        check(
            "row 10",
            protocol,
            |v| {
                let detail = error_info(&[
                    ("TransactionStatus", "D"),
                    ("PrimaryTransactionStatus", "V"),
                    ("PrimaryTransactionStatus", "C"),
                ]);
                soap_fault(v, "Server", "x", &detail)
            },
            unknown,
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_11_a_fault_about_the_envelope_is_a_rejected_request() {
    for protocol in SOAP {
        check(
            "row 11",
            protocol,
            |v| soap_fault(v, "VersionMismatch", "Wrong version", ""),
            expect("fault", false, false, 1),
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_12_an_nvp_error_in_the_400s_is_a_rejected_request() {
    check(
        "row 12",
        Protocol::Nvp,
        |_| nvp("errorCode=400&errorMessage=Transaction+not+found."),
        expect("unknown_transaction", false, false, 3),
    )
    .await
    .unwrap_err();
    check(
        "row 12",
        Protocol::Nvp,
        |_| nvp("errorCode=400&errorMessage=Invalid+Merchant+ID"),
        expect("service_error", false, false, 1),
    )
    .await
    .unwrap_err();
    // Never "refund instead" without transactionStatus: words leave it an error, a payment
    // status makes it a decline.
    check(
        "row 12",
        Protocol::Nvp,
        |_| nvp("errorCode=400&errorMessage=Void+not+allowed%3A+too+late"),
        expect("service_error", false, false, 1),
    )
    .await
    .unwrap_err();
    check(
        "row 12",
        Protocol::Nvp,
        |_| nvp("errorCode=400&errorMessage=Void+not+allowed&primaryTransactionStatus=S"),
        expect("declined", false, false, 3),
    )
    .await
    .unwrap_err();
    check(
        "row 12",
        Protocol::Nvp,
        |_| nvp("errorCode=400&errorMessage=Void+not+allowed&primaryTransactionStatus=V"),
        expect("already_voided", false, true, 4),
    )
    .await
    .unwrap_err();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_13_an_nvp_server_error_or_one_without_a_code_is_unknown() {
    let unknown = expect("service_error", true, false, 5);
    for body in [
        "errorCode=500&errorMessage=Transaction+has+already+been+voided.",
        "errorMessage=Void+not+allowed%3A+funds+transfer+initiated",
        "errorCode=503&errorMessage=Transaction+not+found.",
        "errorCode=%2B400&errorMessage=Transaction+not+found.",
    ] {
        check("row 13", Protocol::Nvp, move |_| nvp(body), unknown)
            .await
            .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_14_refused_credentials() {
    for protocol in [Protocol::Soap11, Protocol::Nvp] {
        check(
            "row 14",
            protocol,
            |_| {
                Reply::new(401, "text/html", "<html>401</html>")
                    .header("www-authenticate", "Basic realm=\"x\"")
            },
            expect("authentication_refused", false, false, 1),
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_15_an_http_5xx_without_an_answer_is_unknown() {
    let unknown = expect("http_status", true, false, 5);
    for protocol in [Protocol::Soap12, Protocol::Nvp] {
        for status in [500, 502, 503, 504] {
            check(
                "row 15",
                protocol,
                move |_| {
                    Reply::new(
                        status,
                        "text/html",
                        "<html>Transaction already voided</html>",
                    )
                },
                unknown,
            )
            .await
            .unwrap_err();
            check(
                "row 15",
                protocol,
                move |_| Reply::new(status, "text/html", ""),
                unknown,
            )
            .await
            .unwrap_err();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_16_another_http_error_without_an_answer_is_a_rejected_request() {
    for status in [404, 415] {
        check(
            "row 16",
            Protocol::Soap11,
            move |_| Reply::new(status, "text/xml", ""),
            expect("http_status", false, false, 1),
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_17_an_unreadable_answer_is_unknown() {
    let unknown = expect("malformed_response", true, false, 5);
    for protocol in SOAP {
        check(
            "row 17",
            protocol,
            |_| Reply::new(200, "text/html", "<html>Transaction already voided</html>"),
            unknown,
        )
        .await
        .unwrap_err();
        check(
            "row 17",
            protocol,
            |v| {
                Reply::xml(
                    500,
                    v,
                    envelope(
                        v,
                        "<Fault><faultstring>already voided</faultstring></Fault>",
                    ),
                )
            },
            unknown,
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_18_no_answer_after_sending_is_unknown() {
    check(
        "row 18",
        Protocol::Soap11,
        |v| result(v, "C", "V", "APPROVED").delayed(Duration::from_secs(5)),
        expect("timeout", true, false, 5),
    )
    .await
    .unwrap_err();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_19_a_request_that_never_left_is_known() {
    // A port that was listening a moment ago and no longer is.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let ca = support::pki().ca_path;
    let url = format!("https://127.0.0.1:{port}/payment/service.asmx");
    let error = client(&url, &ca, Protocol::Soap11)
        .void(&request())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "connect_error", "{error:?}");
    assert!(!error.outcome_unknown() && error.never_sent());
    let (exit, json) = cli(&url, &ca, Protocol::Soap11).await;
    assert_eq!(exit, 1, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_20_an_invalid_request_is_never_sent() {
    let server =
        Server::start(|exchange| result(support::version_of(exchange), "C", "V", "x")).await;
    let output = isolated::instamed_soap()
        .args(["void", "--endpoint", &server.url, "--json"])
        .args(["--merchant-id", "", "--store-id", "1", "--terminal-id", "2"])
        .args(["--transaction-id", PAYMENT])
        .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
        .env("INSTAMED_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(server.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The four answers that gave false verdicts before these rules

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_nvp_500_with_already_voided_words_is_unknown() {
    const WORDS: &str = "Database timeout while checking whether the transaction was already \
                         voided; no change made";
    let body = format!(
        "errorCode=500&errorMessage={}",
        form_urlencoded::byte_serialize(WORDS.as_bytes()).collect::<String>()
    );
    check(
        "finding 1 (NVP)",
        Protocol::Nvp,
        move |_| nvp(&body),
        expect("service_error", true, false, 5),
    )
    .await
    .unwrap_err();
    for protocol in SOAP {
        check(
            "finding 1 (SOAP)",
            protocol,
            |v| soap_fault(v, "Server", &format!("{WRAPPED}{WORDS}"), ""),
            expect("fault", true, false, 5),
        )
        .await
        .unwrap_err();
    }

    // Reconciliation: a first attempt with no answer, then that error, is never proof.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let body = format!(
        "errorCode=500&errorMessage={}",
        form_urlencoded::byte_serialize(WORDS.as_bytes()).collect::<String>()
    );
    let server = Server::start(move |_| {
        let reply = nvp(&body);
        match counter.fetch_add(1, Ordering::SeqCst) {
            0 => reply.delayed(Duration::from_secs(5)),
            _ => reply,
        }
    })
    .await;
    let error = client(&server.url, &server.ca_path, Protocol::Nvp)
        .void_reconciled(&request())
        .await
        .expect_err("nothing proves the void");
    assert!(error.is_timeout() && error.outcome_unknown(), "{error:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_server_fault_not_found_is_unknown() {
    for protocol in SOAP {
        check(
            "finding 2",
            protocol,
            |v| {
                soap_fault(
                    v,
                    "Server",
                    &format!(
                        "{WRAPPED}System.IO.FileNotFoundException: Merchant configuration file not found."
                    ),
                    "",
                )
            },
            expect("fault", true, false, 5),
        )
        .await
        .unwrap_err();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_server_fault_settlement_timeout_is_unknown_never_not_voidable() {
    for protocol in SOAP {
        let error = check(
            "finding 3",
            protocol,
            |v| {
                soap_fault(
                    v,
                    "Server",
                    &format!(
                        "{WRAPPED}System.Data.SqlClient.SqlException: Timeout expired while \
                         contacting the settlement database."
                    ),
                    "",
                )
            },
            expect("fault", true, false, 5),
        )
        .await
        .unwrap_err();
        assert!(!matches!(error, Error::NotVoidable(_)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_server_fault_after_the_void_is_unknown_exit_5() {
    for protocol in SOAP {
        // The service records the void, then throws: ASP.NET wraps that in a Receiver fault.
        // Every later void finds the payment voided.
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let server = Server::start(move |exchange| {
            let v = support::version_of(exchange);
            match counter.fetch_add(1, Ordering::SeqCst) {
                0 => soap_fault(
                    v,
                    "Server",
                    &format!("{WRAPPED}Object reference not set to an instance of an object."),
                    "",
                ),
                _ => result(v, "D", "V", "Transaction already voided"),
            }
        })
        .await;
        let (exit, json) = cli(&server.url, &server.ca_path, protocol).await;
        assert_eq!(exit, 5, "{json}");
        assert_eq!(json["outcome"], "outcome_unknown", "{json}");
        assert_eq!(json["outcome_unknown"], true, "{json}");
        assert_eq!(json["fault"]["code"], "Receiver", "{json}");
        assert_eq!(json["http_status"], 500, "{json}");

        // Reconciliation settles it on the payment's status.
        calls.store(0, Ordering::SeqCst);
        let confirmation = client(&server.url, &server.ca_path, protocol)
            .void_reconciled(&request())
            .await
            .expect("settled");
        match confirmation {
            VoidConfirmation::ConfirmedAlreadyVoided { refusal, attempts } => {
                assert_eq!(attempts, 2);
                assert!(refusal.payment_is_voided());
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Runs `instamed-soap void --or-refund 1.00 --json` against `url`; its exit code and JSON.
async fn cli_or_refund(
    url: &str,
    ca: &std::path::Path,
    protocol: Protocol,
) -> (i32, serde_json::Value) {
    let (url, ca) = (url.to_owned(), ca.to_owned());
    tokio::task::spawn_blocking(move || {
        let output = isolated::instamed_soap()
            .args(["void", "--endpoint", &url, "--json", "--timeout", "2"])
            .args(["--merchant-id", "123123123", "--store-id", "123"])
            .args(["--terminal-id", "123", "--transaction-id", PAYMENT])
            .args(["--protocol", protocol.as_str(), "--or-refund", "1.00"])
            .arg("--ca-cert")
            .arg(&ca)
            .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
            .env("INSTAMED_PASSWORD", PASSWORD)
            .env_remove("INSTAMED_ENDPOINT")
            .output()
            .expect("run instamed-soap");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout} / {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().expect("exit code"), json)
    })
    .await
    .expect("the CLI ran")
}

/// Whether a request asks for a refund (SOAP `DoCreditCardSimpleRefund`, NVP `SimpleRefund`).
fn asks_refund(exchange: &support::Received) -> bool {
    exchange.body_text().contains("SimpleRefund")
}

/// A refund that went through, with its own new ID, in the request's protocol.
fn refunded(exchange: &support::Received) -> Reply {
    const REFUND: &str = "R0000000000000000000000000000001";
    if exchange.path.contains("NVP.aspx") {
        return nvp(&format!(
            "transactionID={REFUND}&transactionStatus=C&responseMessage=APPROVED&primaryTransactionID={PAYMENT}"
        ));
    }
    let v = support::version_of(exchange);
    Reply::xml(
        200,
        v,
        envelope(
            v,
            &format!(
                "<DoCreditCardSimpleRefundResponse xmlns=\"{}\"><DoCreditCardSimpleRefundResult>\
                 <TransactionID>{REFUND}</TransactionID><TransactionStatus>C</TransactionStatus>\
                 <PrimaryTransactionID>{PAYMENT}</PrimaryTransactionID>\
                 </DoCreditCardSimpleRefundResult></DoCreditCardSimpleRefundResponse>",
                support::TNS
            ),
        ),
    )
}

/// `void --or-refund` against a server answering the void with `void` and a refund with
/// [`refunded`]: the CLI's exit code and JSON, and how many refunds were asked for.
async fn or_refund(
    protocol: Protocol,
    void: impl Fn(Version) -> Reply + Send + Sync + 'static,
) -> (i32, serde_json::Value, usize) {
    let server = Server::start(move |exchange| {
        if asks_refund(exchange) {
            refunded(exchange)
        } else {
            void(support::version_of(exchange))
        }
    })
    .await;
    let (exit, json) = cli_or_refund(&server.url, &server.ca_path, protocol).await;
    let refunds = server.requests().iter().filter(|e| asks_refund(e)).count();
    (exit, json, refunds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_declines_on_words_never_refund() {
    // Each of these once made `void --or-refund` refund the payment: the words were read as
    // "too late" with no payment status to say the payment is there and not voided.
    for protocol in [Protocol::Soap11, Protocol::Soap12] {
        for words in [
            "Void declined: the payment isn't settled yet",
            "Payment hasn't settled",
            "Declined: no funds transfer has started",
            "Declined, it is not too late",
        ] {
            let (exit, json, refunds) =
                or_refund(protocol, move |v| result(v, "D", "", words)).await;
            let what = format!("{protocol}, {words:?}: {json}");
            assert_eq!(refunds, 0, "{what}");
            assert_eq!(exit, 3, "{what}");
            assert_eq!(json["error_code"], "declined", "{what}");
            assert_eq!(json["outcome_unknown"], false, "{what}");
        }
        let (exit, json, refunds) = or_refund(protocol, |v| {
            soap_fault(v, "Client", "Void rejected: no funds transfer", "")
        })
        .await;
        assert_eq!(refunds, 0, "{protocol}: {json}");
        assert_eq!((exit, &json["error_code"]), (1, &"fault".into()), "{json}");
    }
    let (exit, json, refunds) = or_refund(Protocol::Nvp, |_| {
        nvp("errorCode=400&errorMessage=Void+declined%3A+the+payment+isn%27t+settled")
    })
    .await;
    assert_eq!(refunds, 0, "{json}");
    assert_eq!(
        (exit, &json["error_code"]),
        (1, &"service_error".into()),
        "{json}"
    );
    // The same server refunds, and the CLI says so, on a decline with the payment settled.
    for protocol in [Protocol::Soap11, Protocol::Nvp] {
        let (exit, json, refunds) = or_refund(protocol, move |v| {
            if protocol == Protocol::Nvp {
                nvp(&format!(
                    "transactionStatus=D&responseMessage=DECLINED&primaryTransactionID={PAYMENT}&primaryTransactionStatus=S"
                ))
            } else {
                result(v, "D", "S", "DECLINED")
            }
        })
        .await;
        assert_eq!(refunds, 1, "{protocol}: {json}");
        assert_eq!(exit, 6, "{protocol}: {json}");
        assert_eq!(json["outcome"], "refunded", "{json}");
    }
}

// ---------------------------------------------------------------------------------------------
// Reconciliation

/// A server whose first answer is a Receiver fault (outcome unknown) and every later one `later`.
async fn unknown_then(later: impl Fn(Version) -> Reply + Send + Sync + 'static) -> Server {
    let calls = AtomicUsize::new(0);
    Server::start(move |exchange| {
        let v = support::version_of(exchange);
        match calls.fetch_add(1, Ordering::SeqCst) {
            0 => soap_fault(v, "Server", &format!("{WRAPPED}Deadlock victim."), ""),
            _ => later(v),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_never_confirms_on_message_text() {
    for later in [
        |v| soap_fault(v, "Client", "Transaction has already been voided.", ""),
        |v| result(v, "D", "", "Transaction already voided"),
        |v| {
            soap_fault(
                v,
                "Server",
                &format!("{WRAPPED}Transaction already voided."),
                "",
            )
        },
    ] as [fn(Version) -> Reply; 3]
    {
        let server = unknown_then(later).await;
        let error = client(&server.url, &server.ca_path, Protocol::Soap12)
            .void_reconciled(&request())
            .await
            .expect_err("words are no proof");
        // The first attempt's error, still unknown, after every attempt was made.
        assert!(
            matches!(error, Error::Fault(_)) && error.outcome_unknown(),
            "{error:?}"
        );
        assert_eq!(server.requests().len(), 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_confirms_on_the_payment_status_in_a_fault_detail() {
    let server = unknown_then(|v| {
        let detail = error_info(&[
            ("ResponseCode", "051"),
            ("TransactionStatus", "D"),
            ("PrimaryTransactionStatus", "V"),
        ]);
        soap_fault(v, "Server", &format!("{WRAPPED}Void declined."), &detail)
    })
    .await;
    let confirmation = client(&server.url, &server.ca_path, Protocol::Soap12)
        .void_reconciled(&request())
        .await
        .expect("proved");
    assert!(matches!(
        confirmation,
        VoidConfirmation::ConfirmedAlreadyVoided { attempts: 2, .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_returns_a_refusal_that_proves_the_payment_is_not_voided() {
    let server = unknown_then(|v| result(v, "D", "S", "DECLINED")).await;
    let error = client(&server.url, &server.ca_path, Protocol::Soap11)
        .void_reconciled(&request())
        .await
        .expect_err("refused");
    assert!(matches!(error, Error::NotVoidable(_)), "{error:?}");
    assert_eq!(server.requests().len(), 2);
    // Words alone saying "too late" settle nothing: the first error comes back after all tries.
    let server = unknown_then(|v| soap_fault(v, "Client", "Void not allowed: too late", "")).await;
    let error = client(&server.url, &server.ca_path, Protocol::Soap11)
        .void_reconciled(&request())
        .await
        .expect_err("unsettled");
    assert!(error.outcome_unknown(), "{error:?}");
    assert_eq!(server.requests().len(), 3);
}

/// Issue 22: a REST 400 was shown as "HTTP 400 without a SOAP answer", its body (which says
/// which field was refused, and why) dropped. The CLI now shows what the answer says, and the
/// request is still a rejected one (exit 1, not unknown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finding_a_rest_400_shows_what_its_body_says() {
    let server = Server::start(|_| {
        Reply::new(
            400,
            "application/json; charset=utf-8",
            r#"{"Message":"The request is invalid.","ModelState":{"request.Outlet.StoreID":["StoreID is not an outlet of this merchant"]}}"#,
        )
    })
    .await;
    let base = server.url.replace("/payment/service.asmx", "");
    let ca = server.ca_path.clone();
    let output = tokio::task::spawn_blocking(move || {
        isolated::instamed_soap()
            .args(["void", "--protocol", "rest", "--endpoint", &base])
            .args(isolated::OUTLET)
            .args(["--transaction-id", PAYMENT, "--ca-cert"])
            .arg(&ca)
            .env("INSTAMED_API_KEY", "key")
            .env("INSTAMED_API_SECRET", "secret")
            .output()
            .expect("run instamed-soap")
    })
    .await
    .expect("the CLI ran");
    assert_eq!(
        isolated::code(&output),
        1,
        "{}",
        isolated::described(&output)
    );
    let said = isolated::lossy(&output.stderr);
    assert!(
        said.contains("HTTP 400") && said.contains("StoreID is not an outlet of this merchant"),
        "{said}"
    );
}
