//! The JSON API as a new integration uses it: every `Idempotency-Key` case, voids, refunds,
//! void-or-refund, what the ledger holds, and the OpenAPI document.

use std::time::Duration;

use http::Method;
use instamed_soap::TransactionId;
use instamed_soap_simulator::FaultPlan;
use instamed_soap_test_support::raw_https::{self, RawResponse, Target};
use serde_json::{Value, json};

use crate::erp::{Bench, CLIENT};

impl Bench {
    /// A request to the API, signed in as the ERP's client, with an `Idempotency-Key` if given.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> RawResponse {
        self.api_at(self.gateway(), method, path, key, body).await
    }

    /// As [`api`](Self::api), to `gateway` (the first, or one of the replicas).
    pub async fn api_at(
        &self,
        gateway: &instamed_soap_gateway::Running,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> RawResponse {
        let host = raw_https::host(&gateway.soap_url());
        let basic = crate::erp::basic();
        let mut headers = vec![
            ("authorization", basic.as_str()),
            ("content-type", "application/json"),
        ];
        let quoted = key.map(|key| format!("\"{key}\""));
        if let Some(key) = &quoted {
            headers.push(("idempotency-key", key));
        }
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        raw_https::send_to(
            Target {
                addr: gateway.local_addr(),
                host: &host,
                ca: gateway.ca_path(),
            },
            method,
            path,
            &headers,
            body,
        )
        .await
        .expect("an answer")
    }
}

pub(crate) fn void_body(payment: &TransactionId) -> Value {
    json!({"merchant_id": "123123123", "store_id": "123", "terminal_id": "456", "payment": payment.as_str()})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_and_body_get_the_stored_answer_another_body_422_and_money_moves_once() {
    let bench = Bench::start().await;
    let payment = bench.payment("21.00");
    let first = bench
        .api(
            Method::POST,
            "/v1/voids",
            Some("void-21"),
            void_body(&payment),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.field("outcome").as_deref(), Some("voided"));
    assert_eq!(
        first.field("primary_transaction_status").as_deref(),
        Some("V")
    );
    let replayed = bench
        .api(
            Method::POST,
            "/v1/voids",
            Some("void-21"),
            void_body(&payment),
        )
        .await;
    assert_eq!(
        (replayed.status, replayed.body.as_str()),
        (first.status, first.body.as_str())
    );

    let other = bench.payment("22.00");
    let reused = bench
        .api(
            Method::POST,
            "/v1/voids",
            Some("void-21"),
            void_body(&other),
        )
        .await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert_eq!(
        reused.field("error").as_deref(),
        Some("idempotency_key_reused")
    );
    assert_eq!(bench.voids_at_instamed(&other), 0);

    // Without a key the ledger still answers: the payment is voided, nothing is sent.
    let keyless = bench
        .api(Method::POST, "/v1/voids", None, void_body(&payment))
        .await;
    assert_eq!(keyless.field("outcome").as_deref(), Some("voided"));
    assert_ne!(keyless.field("operation"), first.field("operation"));
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_while_its_request_is_in_flight_is_409() {
    let bench = Bench::with_faults(FaultPlan::seeded(1).with_latency(Duration::from_secs(2))).await;
    let payment = bench.payment("23.00");
    let (a, b) = tokio::join!(
        bench.api(Method::POST, "/v1/voids", Some("slow"), void_body(&payment)),
        bench.api(Method::POST, "/v1/voids", Some("slow"), void_body(&payment)),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    let conflict = if a.status == 409 { &a } else { &b };
    assert_eq!(
        conflict.field("error").as_deref(),
        Some("idempotency_key_in_flight")
    );
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_outcome_is_202_and_the_same_key_later_gets_the_settled_answer_not_the_202() {
    let bench =
        Bench::with_faults(FaultPlan::seeded(3).with_fault_rate(1.0).with_max_faults(1)).await;
    let payment = bench.payment("24.00");
    let first = bench
        .api(Method::POST, "/v1/voids", Some("open"), void_body(&payment))
        .await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.field("outcome").as_deref(), Some("outcome_unknown"));
    assert_eq!(first.header("retry-after"), "1");
    let mut settled = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let again = bench
            .api(Method::POST, "/v1/voids", Some("open"), void_body(&payment))
            .await;
        if again.status == 200 {
            settled = Some(again);
            break;
        }
    }
    let settled = settled.expect("settled by the reconciliation");
    assert_eq!(settled.field("outcome").as_deref(), Some("voided"));
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_and_void_or_refund_move_money_once_and_the_ledger_shows_it() {
    let bench = Bench::start().await;
    let payment = bench.payment("30.00");
    let refund = json!({"merchant_id": "123123123", "store_id": "123", "terminal_id": "456",
        "payment": payment.as_str(), "amount": "7.50"});
    let first = bench
        .api(Method::POST, "/v1/refunds", Some("r1"), refund.clone())
        .await;
    assert_eq!(
        first.field("outcome").as_deref(),
        Some("refunded"),
        "{}",
        first.body
    );
    let refund_id = first.field("transaction_id").expect("the refund's ID");
    let again = bench
        .api(Method::POST, "/v1/refunds", Some("r2"), refund)
        .await;
    assert_eq!(again.field("outcome").as_deref(), Some("refunded"));
    assert_eq!(again.field("transaction_id"), Some(refund_id));
    assert_eq!(bench.refunds_at_instamed(&payment), 1);

    let late = bench.payment("40.00");
    bench
        .simulator
        .ledger()
        .start_transfer(&late)
        .expect("transfer");
    let body = json!({"merchant_id": "123123123", "store_id": "123", "terminal_id": "456", "amount": "40.00"});
    let path = format!("/v1/voids/{late}/or-refund");
    let instead = bench.api(Method::POST, &path, None, body.clone()).await;
    assert_eq!(
        instead.field("outcome").as_deref(),
        Some("refunded"),
        "{}",
        instead.body
    );
    let repeat = bench.api(Method::POST, &path, None, body).await;
    assert_eq!(
        repeat.field("outcome").as_deref(),
        Some("refunded"),
        "{}",
        repeat.body
    );
    assert_eq!(bench.refunds_at_instamed(&late), 1);

    let standing = bench
        .api(
            Method::GET,
            &format!("/v1/payments/{late}"),
            None,
            Value::Null,
        )
        .await;
    assert_eq!(standing.status, 200, "{}", standing.body);
    let entries = standing.json()["entries"]
        .as_array()
        .expect("entries")
        .clone();
    let verdicts: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["verdict"].as_str())
        .collect();
    assert_eq!(verdicts, ["not_voidable", "refunded"], "{}", standing.body);

    let operation = instead.field("operation").expect("an operation");
    let shown = bench
        .api(
            Method::GET,
            &format!("/v1/operations/{operation}"),
            None,
            Value::Null,
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.json()["answer"]["outcome"], "refunded");
    assert_eq!(shown.json()["state"], "done");
    let missing = bench
        .api(Method::GET, "/v1/operations/0123", None, Value::Null)
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_api_cannot_read_is_400_and_nothing_is_sent() {
    let bench = Bench::start().await;
    let payment = bench.payment("25.00");
    for body in [
        json!({"merchant_id": "123123123", "payment": payment.as_str()}),
        json!({"merchant_id": "123123123", "store_id": "123", "terminal_id": "456",
            "payment": payment.as_str(), "card_number": "4111111111111111"}),
        json!({"merchant_id": "123123123", "store_id": "123", "terminal_id": "456",
            "payment": 4111111111111111_u64}),
    ] {
        let refused = bench
            .api(Method::POST, "/v1/voids", Some("bad"), body)
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(!refused.body.contains("4111111111111111"));
    }
    assert_eq!(bench.voids_at_instamed(&payment), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_3_1_generated_with_every_path() {
    let bench = Bench::start().await;
    let document = bench
        .api(Method::GET, "/openapi.json", None, Value::Null)
        .await;
    assert_eq!(document.status, 200);
    let document = document.json();
    assert_eq!(document["openapi"], "3.1.0");
    for path in [
        "/v1/voids",
        "/v1/refunds",
        "/v1/voids/{payment}/or-refund",
        "/v1/operations/{id}",
        "/v1/payments/{payment}",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} missing");
    }
    assert_eq!(
        document["components"]["securitySchemes"]["basic"]["scheme"],
        "basic"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_for_another_payments_or_refund_is_422_not_the_first_payments_answer() {
    let bench = Bench::start().await;
    let (first, second) = (bench.payment("25.00"), bench.payment("26.00"));
    // The payment is in the path, so both requests have the same body byte for byte.
    let body = json!({"merchant_id": "123123123", "store_id": "123", "terminal_id": "456", "amount": "5.00"});
    let voided = bench
        .api(
            Method::POST,
            &format!("/v1/voids/{}/or-refund", first.as_str()),
            Some("invoice-77"),
            body.clone(),
        )
        .await;
    assert_eq!(voided.status, 200, "{}", voided.body);
    assert_eq!(voided.field("outcome").as_deref(), Some("voided"));
    let reused = bench
        .api(
            Method::POST,
            &format!("/v1/voids/{}/or-refund", second.as_str()),
            Some("invoice-77"),
            body,
        )
        .await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert_eq!(
        reused.field("error").as_deref(),
        Some("idempotency_key_reused")
    );
    assert_eq!(bench.voids_at_instamed(&second), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_mid_request_does_not_hold_its_idempotency_key_forever() {
    let bench = Bench::with_faults(FaultPlan::seeded(5).with_latency(Duration::from_secs(2))).await;
    let payment = bench.payment("27.00");
    let settled = hung_up_and_asked_again(
        &bench,
        "/v1/voids",
        "hung-up",
        void_body(&payment),
        &payment,
    )
    .await
    .expect("the key was let go once the void was answered");
    assert_eq!(settled.status, 200, "{}", settled.body);
    assert_eq!(settled.field("outcome").as_deref(), Some("voided"));
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_while_its_key_is_written_does_not_leave_the_key_in_flight() {
    let bench = Bench::start().await;
    let payment = bench.payment("27.50");
    // Another writer holds the operations file: the key's row waits for it (SQLite's busy
    // timeout), and the ERP hangs up meanwhile.
    let file = bench.dir.path().join("operations-0.db");
    let holder = rusqlite::Connection::open(&file).expect("the operations file");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("a write lock");
    // The ERP hangs up after 300 ms; the lock is let go after 600.
    let holding = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        holder.execute_batch("COMMIT")
    });
    let hung_up = tokio::time::sleep(Duration::from_millis(300));
    let (path, key) = ("/v1/voids", "while-written");
    let again = hung_up_when_and_asked_again(&bench, path, key, void_body(&payment), hung_up).await;
    holding.join().expect("the holder").expect("commit");
    let again = again.expect("the key was let go once its void was answered");
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.field("outcome").as_deref(), Some("voided"));
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

/// POSTs `body` to `path` under `key` and hangs up once its intent about `payment` is written,
/// then asks again every 200 ms while the key answers 409 (in flight): the first other answer,
/// or `None` if the key was still held after 50 tries.
async fn hung_up_and_asked_again(
    bench: &Bench,
    path: &str,
    key: &str,
    body: Value,
    payment: &TransactionId,
) -> Option<RawResponse> {
    let until = crate::soap::until_intent_written(bench, payment);
    hung_up_when_and_asked_again(bench, path, key, body, until).await
}

/// As [`hung_up_and_asked_again`], hanging up once `until` resolves.
async fn hung_up_when_and_asked_again(
    bench: &Bench,
    path: &str,
    key: &str,
    body: Value,
    until: impl std::future::Future<Output = ()>,
) -> Option<RawResponse> {
    let quoted = format!("\"{key}\"");
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", quoted.as_str()),
    ];
    bench
        .hang_up_when(path, &headers, body.to_string().as_bytes(), until)
        .await;
    for _ in 0..50 {
        let again = bench.api(Method::POST, path, Some(key), body.clone()).await;
        if again.status != 409 {
            return Some(again);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// `GET /v1/operations/{id}` until the operation is done (the person has acted), a bounded
/// number of times.
async fn operation_done(bench: &Bench, id: &str) -> Value {
    for _ in 0..500 {
        let operation = bench
            .api(
                Method::GET,
                &format!("/v1/operations/{id}"),
                None,
                Value::Null,
            )
            .await;
        assert_eq!(operation.status, 200, "{}", operation.body);
        let view = operation.json();
        if view["state"] != "in_flight" {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("operation {id} still in flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sso_void_answers_the_page_url_and_an_operation_that_ends_voided_in_the_ledger() {
    let bench = Bench::start().await;
    let payment = bench.payment("31.00");
    let body = json!({"payment": payment.as_str(), "return_url": "https://erp.example/done"});
    let launched = bench
        .api(Method::POST, "/v1/sso/voids", Some("sso-31"), body.clone())
        .await;
    assert_eq!(launched.status, 202, "{}", launched.body);
    assert_eq!(launched.field("outcome").as_deref(), Some("sent"));
    let url = launched.field("launch_url").expect("a launch URL");
    let id = launched.field("operation").expect("an operation");
    // While the person is on the page, the same key is in flight.
    let again = bench
        .api(Method::POST, "/v1/sso/voids", Some("sso-31"), body.clone())
        .await;
    assert_eq!(again.status, 409, "{}", again.body);

    instamed_soap_test_support::simulated::sso_click(&bench.simulator, &url, "void").await;
    let done = operation_done(&bench, &id).await;
    assert_eq!(done["kind"], "sso_void");
    assert_eq!(done["status"], 200);
    assert_eq!(done["answer"]["outcome"], "voided", "{done}");
    assert_eq!(done["answer"]["primary_transaction_status"], "V", "{done}");
    assert_eq!(bench.voids_at_instamed(&payment), 1);

    let standing = bench
        .api(
            Method::GET,
            &format!("/v1/payments/{payment}"),
            None,
            Value::Null,
        )
        .await;
    let entries = standing.json()["entries"].clone();
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    assert_eq!(entries[0]["action"], "void");
    assert_eq!(entries[0]["verdict"], "voided");
    // Written under the client that asked, as every void through the gateway is.
    let ledger =
        instamed_soap_ledger::Ledger::open_to_read(bench.ledger_path()).expect("the ledger");
    let standing = ledger
        .standing(&TransactionId::new(payment.as_str()).expect("an ID"))
        .expect("its standing");
    assert_eq!(
        standing.entries[0].client(),
        Some(CLIENT),
        "{:?}",
        standing.entries
    );
    assert_eq!(standing.entries[0].via(), Some("api"));

    // The same key now gets the stored answer; another request is answered from the ledger.
    let replayed = bench
        .api(Method::POST, "/v1/sso/voids", Some("sso-31"), body.clone())
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    assert_eq!(replayed.field("outcome").as_deref(), Some("voided"));
    let known = bench.api(Method::POST, "/v1/sso/voids", None, body).await;
    assert_eq!(known.status, 200, "{}", known.body);
    assert_eq!(known.field("outcome").as_deref(), Some("voided"));
    assert_eq!(known.field("launch_url"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sso_void_the_person_cancels_ends_nothing_done_and_a_bad_body_is_refused() {
    let bench = Bench::start().await;
    let payment = bench.payment("32.00");
    let launched = bench
        .api(
            Method::POST,
            "/v1/sso/voids",
            None,
            json!({"payment": payment.as_str()}),
        )
        .await;
    assert_eq!(launched.status, 202, "{}", launched.body);
    let url = launched.field("launch_url").expect("a launch URL");
    instamed_soap_test_support::simulated::sso_click(&bench.simulator, &url, "cancel").await;
    let done = operation_done(&bench, &launched.field("operation").expect("id")).await;
    assert_eq!(done["answer"]["outcome"], "nothing_done", "{done}");
    assert_eq!(bench.voids_at_instamed(&payment), 0);

    let refused = bench
        .api(
            Method::POST,
            "/v1/sso/voids",
            None,
            json!({"payment": payment.as_str(), "amount": "1.00"}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
}

/// The finding: `POST /v1/sso/voids` launched the page in the request's own future, so an ERP
/// that hung up while the token request was out dropped it mid-launch: the intent stayed `sent`
/// in a living process (no page could be launched for the payment again, and no person could
/// settle it, until a restart), and the operation stayed in flight, so every repeat of its
/// `Idempotency-Key` was answered 409 for as long as the gateway ran.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_mid_sso_launch_does_not_hold_its_idempotency_key_forever() {
    use instamed_soap_test_support::{Reply, Server};
    // An SSO host whose login answers after a while, and whose service refuses every token.
    let login_path = "/providers/Form/SSO/SSOLogin";
    let server = Server::start(move |received| {
        if received.path.starts_with(login_path) {
            let page = "https://localhost/providers/Form/SSO/Void?token=T0K3N&respCode=000";
            Reply::new(200, "text/html", "")
                .header("RelayState", page)
                .delayed(Duration::from_secs(2))
        } else {
            let fault = instamed_soap_test_support::fault(
                instamed_soap_test_support::Version::Soap11,
                true,
                "Invalid token.",
                "",
            );
            Reply::xml(500, instamed_soap_test_support::Version::Soap11, fault)
        }
    })
    .await;
    let origin = server
        .url
        .trim_end_matches("/payment/service.asmx")
        .to_owned();
    let service = instamed_soap::Client::builder(format!("{origin}/SSO/SSOService.asmx"))
        .protocol(instamed_soap::Protocol::Soap11)
        .timeout(Duration::from_secs(5))
        .ca_certificate_file(&server.ca_path);
    let sso = instamed_soap::sso::SsoClient::new(
        service,
        format!("{origin}{login_path}"),
        instamed_soap::sso::SsoAccount::new(
            instamed_soap_simulator::DEMO_ACCOUNT_ID,
            instamed_soap_simulator::DEMO_SSO_ALIAS,
            instamed_soap_simulator::DEMO_SSO_KEY,
        ),
    )
    .expect("an SSO client")
    .poll_interval(Duration::from_millis(1));
    let bench = Bench::with_sso(sso).await;
    let payment = bench.payment("28.00");
    let body = json!({"payment": payment.as_str()});
    let settled = hung_up_and_asked_again(&bench, "/v1/sso/voids", "hung-up-sso", body, &payment)
        .await
        .expect("the key was let go once the launch was answered");
    assert_ne!(settled.status, 409, "{}", settled.body);
    // The page was launched and its wait ran: the entry holds an answer, not `sent` forever.
    let ledger =
        instamed_soap_ledger::Ledger::open_to_read(bench.ledger_path()).expect("the ledger");
    let standing = ledger
        .standing(&TransactionId::new(payment.as_str()).expect("an ID"))
        .expect("its standing");
    assert!(
        standing.entries.iter().all(|entry| entry.verdict.is_some()),
        "{:?}",
        standing.entries
    );
}

/// A refund asked while a person is on the payment's SSO void page is held, and nothing is sent
/// to settle the page: a SOAP void would void the whole payment on a guess while the person may
/// still cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_asked_while_an_sso_page_is_open_is_held_and_sends_no_void() {
    let bench = Bench::start().await;
    let payment = bench.payment("33.00");
    let body = json!({"payment": payment.as_str(), "return_url": "https://erp.example/done"});
    let launched = bench
        .api(Method::POST, "/v1/sso/voids", Some("sso-33"), body)
        .await;
    assert_eq!(launched.status, 202, "{}", launched.body);
    let refund = json!({"merchant_id": "123123123", "store_id": "123", "terminal_id": "456",
        "payment": payment.as_str(), "amount": "5.00"});
    let held = bench
        .api(Method::POST, "/v1/refunds", Some("r-33"), refund)
        .await;
    assert_eq!(
        held.field("outcome").as_deref(),
        Some("outcome_unknown"),
        "{}",
        held.body
    );
    // Time for a background reconciliation to have sent its void, had one been started.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(bench.voids_at_instamed(&payment), 0, "voided on a guess");
    assert_eq!(bench.refunds_at_instamed(&payment), 0, "refunded meanwhile");
}
