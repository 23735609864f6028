//! What an operator watches: health, readiness, metrics, and a client held to its rate.

use std::num::NonZeroU32;

use http::Method;
use instamed_soap_gateway::Running;
use instamed_soap_test_support::raw_https::{self, RawResponse, Target};

use crate::erp::{Bench, Stack};

async fn get(bench: &Bench, path: &str) -> RawResponse {
    get_from(bench.gateway(), path).await
}

/// What `gateway` answers `GET path` with.
pub(crate) async fn get_from(gateway: &Running, path: &str) -> RawResponse {
    let host = raw_https::host(&gateway.soap_url());
    raw_https::send_to(
        Target {
            addr: gateway.local_addr(),
            host: &host,
            ca: gateway.ca_path(),
        },
        Method::GET,
        path,
        &[],
        "",
    )
    .await
    .expect("an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_and_metrics_count_requests_verdicts_upstream_and_ledger_commits() {
    let bench = Bench::start().await;
    assert_eq!(get(&bench, "/health").await.status, 200);
    let ready = get(&bench, "/ready").await;
    assert_eq!((ready.status.as_u16(), ready.body.as_str()), (200, "ready"));

    let payment = bench.payment("18.00");
    bench.void(Stack::DotNet11, &payment).await;
    bench.void(Stack::DotNet11, &payment).await;
    let metrics = get(&bench, "/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = metrics.body;
    for line in [
        "instamed_gateway_requests_total{route=\"soap\",client=\"erp-prod\"} 2",
        "instamed_gateway_verdicts_total{kind=\"voided\"} 2",
        "instamed_gateway_unknown_outcomes_open 0",
        "instamed_gateway_upstream_seconds_count{operation=\"void\"} 1",
        "instamed_gateway_ledger_commit_seconds_count{commit=\"decision\"} 2",
        "instamed_gateway_ledger_commit_seconds_count{commit=\"verdict\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(!text.contains(crate::erp::SECRET));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_is_answered_429_with_retry_after_and_nothing_is_sent() {
    let bench = Bench::with_rate_limit(NonZeroU32::new(1)).await;
    let mut answers = Vec::new();
    let payment = bench.payment("19.00");
    for _ in 0..5 {
        answers.push(bench.void(Stack::Zeep11, &payment).await);
    }
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(
        !limited.is_empty(),
        "five requests within a second at one a second"
    );
    for answer in limited {
        assert!(
            answer
                .header("retry-after")
                .parse::<u64>()
                .is_ok_and(|s| s >= 1)
        );
    }
    assert!(answers[0].status == 200, "the first is served");
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_rate_is_answered_429_on_the_wsdl_too_and_instamed_is_not_asked() {
    let bench = Bench::with_rate_limit(NonZeroU32::new(1)).await;
    let gateway = bench.gateway();
    let host = raw_https::host(&gateway.soap_url());
    let basic = crate::erp::basic();
    let mut statuses = Vec::new();
    // Each WSDL served is fetched from InstaMed with the gateway's own account.
    for _ in 0..5 {
        let answer = raw_https::send_to(
            Target {
                addr: gateway.local_addr(),
                host: &host,
                ca: gateway.ca_path(),
            },
            Method::GET,
            "/payment/service.asmx?WSDL",
            &[("authorization", &basic)],
            "",
        )
        .await
        .expect("an answer");
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(statuses[0], 200, "the first is served");
    assert!(
        statuses.contains(&429),
        "five within a second at one a second: {statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_past_the_cap_is_answered_413_unread_on_every_route_and_nothing_is_sent() {
    use tokio::io::AsyncReadExt as _;
    let bench = Bench::start().await;
    let payment = bench.payment("21.00");
    // Each a void that would be carried out, declared one byte longer than the cap: the
    // gateway answers on the declaration, before a byte of the body (none is sent past the
    // void itself, so the answer cannot be lost to a write the gateway never reads).
    let cap = instamed_soap_gateway::DEFAULT_MAX_BODY_BYTES;
    let fields = crate::erp::void_fields(&payment);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (soap_headers, envelope) = Stack::DotNet11.request("DoCreditCardSecondaryVoid", &fields);
    let asked = [
        ("/payment/service.asmx", soap_headers, envelope),
        (
            "/payment/NVP.aspx",
            vec![(
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            )],
            crate::nvp::void_form(&payment),
        ),
        (
            "/v1/voids",
            vec![("content-type", "application/json".to_owned())],
            crate::api::void_body(&payment).to_string(),
        ),
    ];
    for (path, headers, body) in asked {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let mut tls = bench
            .post_by_hand(path, &headers, cap + 1, body.as_bytes())
            .await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            tls.read_to_end(&mut answer),
        )
        .await;
        assert!(read.is_ok(), "{path}: the connection was left open");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413 "), "{path}: {answer}");
        assert!(
            answer.ends_with("request body too large"),
            "{path}: {answer}"
        );
    }
    assert_eq!(bench.voids_at_instamed(&payment), 0, "nothing was sent");
    let void = bench.void(Stack::DotNet11, &payment).await;
    assert_eq!(
        void.status, 200,
        "a void within the cap is served: {}",
        void.body
    );
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_asked_with_a_method_it_does_not_take_is_405_with_allow_and_an_unknown_path_404() {
    let bench = Bench::start().await;
    let gateway = bench.gateway();
    let host = raw_https::host(&gateway.soap_url());
    let basic = crate::erp::basic();
    for (method, path, allowed) in [
        (Method::POST, "/health", Some("GET, HEAD")),
        (Method::DELETE, "/ready", Some("GET, HEAD")),
        (Method::POST, "/metrics", Some("GET")),
        (Method::PUT, "/openapi.json", Some("GET")),
        (Method::PUT, "/payment/NVP.aspx", Some("GET, POST")),
        (Method::PUT, "/payment/service.asmx", Some("GET, POST")),
        (Method::DELETE, "/v1/voids", Some("GET, POST")),
        (Method::GET, "/payment/nowhere.aspx", None),
    ] {
        let answer = raw_https::send_to(
            Target {
                addr: gateway.local_addr(),
                host: &host,
                ca: gateway.ca_path(),
            },
            method.clone(),
            path,
            &[("authorization", &basic)],
            "",
        )
        .await
        .expect("an answer");
        match allowed {
            Some(allowed) => {
                assert_eq!(answer.status, 405, "{method} {path}");
                assert_eq!(answer.header("allow"), allowed, "{method} {path}");
            }
            None => assert_eq!(answer.status, 404, "{method} {path}"),
        }
    }
}
