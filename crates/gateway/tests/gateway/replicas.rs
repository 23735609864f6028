//! Gateways as replicas behind a load balancer: several on one PostgreSQL ledger, an ERP's
//! voids and their retries spread over all of them, each payment voided once at InstaMed.

use instamed_soap::TransactionId;
use instamed_soap_simulator::FaultPlan;
use instamed_soap_test_support::postgres::PgCluster;

use crate::erp::{Bench, Stack, text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_on_one_database_voiding_the_same_payments_at_once_void_each_once() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let bench = Bench::with_replicas(
        FaultPlan::default().with_latency(std::time::Duration::from_millis(30)),
        None,
        Some(cluster.database()),
        2,
    )
    .await;
    let gateways = [bench.gateway(), &bench.replicas[0]];
    let payments: Vec<TransactionId> = (0..8).map(|_| bench.payment("10.00")).collect();
    // Each payment asked of both gateways at once, twice over: an ERP's request and its retry
    // landing on different replicas.
    let bench = &bench;
    let mut asks = Vec::new();
    for payment in &payments {
        for gateway in gateways.iter().chain(gateways.iter()) {
            asks.push(bench.void_at(gateway, Stack::DotNet11, payment));
        }
    }
    let answers = futures_util::future::join_all(asks).await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(
            text(answer, "PrimaryTransactionStatus").as_deref(),
            Some("V"),
            "{}",
            answer.body
        );
    }
    let ledger = instamed_soap_ledger::Ledger::open(bench.ledger_path()).expect("the ledger");
    for payment in &payments {
        assert_eq!(bench.voids_at_instamed(payment), 1, "{payment}");
        let sent = ledger.standing(payment).expect("standing").entries;
        assert_eq!(
            sent.len(),
            1,
            "one void sent by the replicas together: {sent:?}"
        );
    }
}

/// A replica killed with its void out leaves a claim whose lease runs out; a replica starting
/// then takes that void in its sweep (claimed, `SKIP LOCKED`) and settles it on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_lost_by_a_dead_replica_is_settled_by_the_next_replica_to_start() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.database();
    let bench = Bench::with_replicas(
        FaultPlan::seeded(17).with_latency(std::time::Duration::from_secs(1)),
        None,
        Some(url.clone()),
        1,
    )
    .await;
    let payment = bench.payment("28.00");
    {
        // The dead replica: its lease runs out at once, so the test need not wait for one.
        let ledger = instamed_soap_ledger::Ledger::open(&url)
            .expect("ledger")
            .with_command("gateway")
            .with_lease(std::time::Duration::ZERO);
        let client = instamed_soap_test_support::simulated::client(
            &bench.simulator,
            instamed_soap::Protocol::Soap11,
        );
        let request = instamed_soap::VoidRequest::new(Bench::outlet(), payment.clone());
        let written = async {
            loop {
                if ledger
                    .standing(&payment)
                    .is_ok_and(|standing| !standing.entries.is_empty())
                {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            done = ledger.void(&client, &request) => panic!("answered before the kill: {done:?}"),
            () = written => {}
        }
    }
    crate::soap::settled_at_start(&bench, std::path::Path::new(&url), &payment).await;
}

/// PostgreSQL stopped under a gateway: it says it is not ready, refuses a void with a clear
/// fault and sends nothing (no durable intent, no request); once the database is back, it is
/// ready again and voids, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_whose_database_stops_is_not_ready_sends_nothing_and_resumes_when_it_returns() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let bench = Bench::with_replicas(FaultPlan::default(), None, Some(cluster.database()), 1).await;
    let ready = || async {
        let gateway = bench.gateway();
        let host = instamed_soap_test_support::raw_https::host(&gateway.soap_url());
        instamed_soap_test_support::raw_https::send_to(
            instamed_soap_test_support::raw_https::Target {
                addr: gateway.local_addr(),
                host: &host,
                ca: gateway.ca_path(),
            },
            http::Method::GET,
            "/ready",
            &[],
            "",
        )
        .await
        .expect("an answer")
        .status
    };
    assert_eq!(ready().await, 200);
    cluster.stop();
    assert_ne!(ready().await, 200, "ready without its database");
    let payment = bench.payment("10.00");
    let refused = bench.void(Stack::DotNet11, &payment).await;
    assert_eq!(refused.status, 500, "{}", refused.body);
    assert!(
        refused.body.contains("LedgerUnavailable"),
        "{}",
        refused.body
    );
    assert_eq!(
        bench.voids_at_instamed(&payment),
        0,
        "sent without an intent"
    );
    cluster.restart();
    assert_eq!(ready().await, 200);
    let voided = bench.void(Stack::DotNet11, &payment).await;
    assert_eq!(
        text(&voided, "PrimaryTransactionStatus").as_deref(),
        Some("V"),
        "{}",
        voided.body
    );
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}
