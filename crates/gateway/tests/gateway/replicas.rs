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
