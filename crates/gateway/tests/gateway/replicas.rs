//! Gateways as replicas behind a load balancer: several on one PostgreSQL ledger, an ERP's
//! voids and their retries spread over all of them, each payment voided once at InstaMed; and
//! the database stopped under them mid-load and started again.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use instamed_soap::TransactionId;
use instamed_soap_gateway::Running;
use instamed_soap_ledger::Action;
use instamed_soap_simulator::FaultPlan;
use instamed_soap_test_support::postgres::PgCluster;
use instamed_soap_test_support::raw_https::RawResponse;

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
        None,
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

/// A replica on a fresh database of `cluster`, sweeping every `sweep` once started, and a
/// void of a payment lost there by another replica, killed with it out under a lease that has
/// run out at once (so the test need not wait for one). The database's URL and the payment
/// come back with it.
async fn a_void_lost_by_a_replica(
    cluster: &PgCluster,
    sweep: Option<Duration>,
) -> (Bench, String, TransactionId) {
    let url = cluster.database();
    let bench = Bench::with_replicas(
        FaultPlan::seeded(17).with_latency(Duration::from_secs(1)),
        None,
        Some(url.clone()),
        1,
        sweep,
    )
    .await;
    let payment = bench.payment("28.00");
    let ledger = instamed_soap_ledger::Ledger::open(&url)
        .expect("ledger")
        .with_command("gateway")
        .with_lease(Duration::ZERO);
    crate::soap::lose_a_void(&bench, ledger, Path::new(&url), &payment).await;
    (bench, url, payment)
}

/// A replica killed with its void out leaves a claim whose lease runs out; a replica starting
/// then takes that void in its sweep (claimed, `SKIP LOCKED`) and settles it on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_lost_by_a_dead_replica_is_settled_by_the_next_replica_to_start() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (bench, url, payment) = a_void_lost_by_a_replica(&cluster, None).await;
    crate::soap::settled_at_start(&bench, Path::new(&url), &payment).await;
}

/// A replica killed with its void out that never comes back: the replicas still running take
/// that void in the sweep they make once a lease, and settle it with no ERP asking about it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_void_lost_by_a_replica_that_never_returns_is_settled_by_a_running_one_unasked() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    // The running replica has swept at its start, before the loss.
    let (bench, url, payment) =
        a_void_lost_by_a_replica(&cluster, Some(Duration::from_secs(1))).await;
    crate::soap::voided_without_a_request(&bench, Path::new(&url), &payment).await;
}

/// How many ERP callers void at once while the database stops and comes back.
const OUTAGE_CALLERS: usize = 32;
/// The payments they void: enough that voiding goes on before, during and after the outage.
const OUTAGE_PAYMENTS: usize = 384;

/// What an ERP caller hears to a void while the database comes and goes: the answers
/// `docs/gateway.md` documents for it that this run may give, and the rest, which fail the
/// test.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Heard {
    /// `PrimaryTransactionStatus` `V`: voided, by this request or an earlier one.
    Voided,
    /// `LedgerUnavailable`: nothing was sent; ask again later.
    LedgerUnavailable,
    /// `OutcomeUnknown`: a void may have gone through; ask again for the settled answer.
    OutcomeUnknown,
    /// Anything else.
    Unexpected(String),
}

impl Heard {
    fn of(answer: &RawResponse) -> Self {
        let has = |local: &str| text(answer, local).is_some();
        match answer.status.as_u16() {
            200 if text(answer, "PrimaryTransactionStatus").as_deref() == Some("V") => Self::Voided,
            500 if has("LedgerUnavailable") => Self::LedgerUnavailable,
            500 if has("OutcomeUnknown") => Self::OutcomeUnknown,
            status => Self::Unexpected(format!("HTTP {status}: {}", answer.body)),
        }
    }

    /// Whether the ERP stops asking: a settled answer, or one the test fails on.
    fn settled(&self) -> bool {
        matches!(self, Self::Voided | Self::Unexpected(_))
    }
}

/// The status `gateway` answers `GET /ready` with.
async fn ready(gateway: &Running) -> u16 {
    crate::operations::get_from(gateway, "/ready")
        .await
        .status
        .as_u16()
}

/// Waits until `count` reaches `at_least`.
async fn reached(count: &AtomicUsize, at_least: usize) {
    while count.load(Ordering::SeqCst) < at_least {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// PostgreSQL stopped as a crash stops it (`pg_ctl stop -m immediate`) under two replicas while
/// 32 ERP callers void without pause, each ask going to the next replica, then started again.
/// While it is down both replicas say they are not ready and refuse voids with
/// `LedgerUnavailable`, sending nothing; every void InstaMed made was preceded by an intent the
/// database kept through the crash; once it is back both are ready again without a restart,
/// the callers' voids go through, and every payment, those whose void was out when the
/// database stopped included, is voided once at InstaMed and known voided in the ledger, with
/// no void left open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_32_callers_on_two_replicas_refuses_sends_nothing_unrecorded_and_resumes()
 {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.database();
    let bench = Bench::with_replicas(
        // Each void out for 20 ms, so that some are out when the database stops.
        FaultPlan::default().with_latency(Duration::from_millis(20)),
        None,
        Some(url.clone()),
        2,
        // A replica that dies with a void out holds its claim this long; 2 s, not the
        // default 120 s, keeps the test short should the fallback be needed.
        Some(Duration::from_secs(2)),
    )
    .await;
    let gateways = [bench.gateway(), &bench.replicas[0]];
    let payments: Vec<TransactionId> = (0..OUTAGE_PAYMENTS)
        .map(|_| bench.payment("10.00"))
        .collect();
    let (next, settled, refused) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let callers = (0..OUTAGE_CALLERS).map(|caller| {
        let (bench, payments, gateways) = (&bench, &payments, &gateways);
        let (next, settled, refused) = (&next, &settled, &refused);
        async move {
            let mut answers = Vec::new();
            let mut asks = caller;
            loop {
                let Some(payment) = payments.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    return answers;
                };
                let mut heard = Vec::new();
                loop {
                    let gateway = gateways[asks % gateways.len()];
                    asks += 1;
                    let answer = Heard::of(&bench.void_at(gateway, Stack::DotNet11, payment).await);
                    if answer == Heard::LedgerUnavailable {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                    let done = answer.settled();
                    heard.push(answer);
                    if done {
                        break;
                    }
                    // The ERP asks again soon: the load goes on through the outage.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                settled.fetch_add(1, Ordering::SeqCst);
                answers.push((payment.clone(), heard));
            }
        }
    });
    let outage = async {
        reached(&settled, OUTAGE_PAYMENTS / 6).await;
        // pg_ctl waits for the server: off this worker, so the gateways keep serving.
        tokio::task::block_in_place(|| cluster.stop());
        // The server is gone: no intent begun from now on can have been committed.
        let stopped = std::time::SystemTime::now();
        for gateway in gateways {
            assert_eq!(ready(gateway).await, 503, "ready without its database");
        }
        // A void asked now, of a payment nobody asked about before: refused, sent nowhere.
        let fresh = bench.payment("10.00");
        for gateway in gateways {
            let answer = bench.void_at(gateway, Stack::DotNet11, &fresh).await;
            assert_eq!(
                Heard::of(&answer),
                Heard::LedgerUnavailable,
                "{}",
                answer.body
            );
        }
        // Down while every caller is refused twice more, on average.
        reached(
            &refused,
            refused.load(Ordering::SeqCst) + 2 * OUTAGE_CALLERS,
        )
        .await;
        assert_eq!(bench.voids_at_instamed(&fresh), 0, "sent without an intent");
        let settled_while_down = settled.load(Ordering::SeqCst);
        let restarted = std::time::SystemTime::now();
        tokio::task::block_in_place(|| cluster.restart());
        for gateway in gateways {
            assert_eq!(ready(gateway).await, 200, "ready again, without a restart");
            let answer = bench.void_at(gateway, Stack::DotNet11, &fresh).await;
            assert_eq!(Heard::of(&answer), Heard::Voided, "{}", answer.body);
        }
        (fresh, settled_while_down, stopped..restarted)
    };
    // Bounded, so that a gateway hanging on its lost database fails the test, not stalls it.
    let (answers, (fresh, settled_while_down, down)) =
        tokio::time::timeout(Duration::from_secs(120), async {
            tokio::join!(futures_util::future::join_all(callers), outage)
        })
        .await
        .expect("every caller settled, and the outage ended, within two minutes");
    let answers: Vec<(TransactionId, Vec<Heard>)> = answers.into_iter().flatten().collect();
    assert_eq!(answers.len(), OUTAGE_PAYMENTS);
    assert!(
        settled_while_down < OUTAGE_PAYMENTS,
        "the load went on after the database came back"
    );
    for (payment, heard) in &answers {
        assert_eq!(
            heard.last(),
            Some(&Heard::Voided),
            "{payment}: every answer documented, the last voided: {heard:?}"
        );
    }
    assert!(refused.load(Ordering::SeqCst) > 2 * OUTAGE_CALLERS);

    // Every void InstaMed made came after an intent the database kept through the crash.
    let journal = std::fs::read_to_string(bench.dir.path().join("instamed.jsonl"))
        .expect("the simulator's journal");
    let mut voided_at: std::collections::HashMap<String, Vec<u64>> = Default::default();
    for line in journal.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).expect("a journal line");
        if let (Some("voided"), Some(id), Some(at)) = (
            entry["event"].as_str(),
            entry["id"].as_str(),
            entry["at_ms"].as_u64(),
        ) {
            voided_at
                .entry(id.to_ascii_uppercase())
                .or_default()
                .push(at);
        }
    }
    let ledger = instamed_soap_ledger::Ledger::open(&url).expect("the ledger");
    let mut out_at_the_stop = 0;
    for payment in payments.iter().chain([&fresh]) {
        let at = voided_at
            .get(&payment.as_str().to_ascii_uppercase())
            .map_or(&[][..], Vec::as_slice);
        assert_eq!(at.len(), 1, "{payment} voided once at InstaMed");
        let standing = ledger.standing(payment).expect("standing");
        let first = standing
            .entries
            .iter()
            .find(|entry| entry.action == Action::Void)
            .expect("a void intent");
        let first_intent = first.started;
        let voided = std::time::UNIX_EPOCH + Duration::from_millis(at[0]);
        assert!(
            first_intent <= voided,
            "{payment}: voided at InstaMed before its intent: {:?}",
            standing.entries
        );
        // Out when the database stopped: its verdict written once it was back.
        if first_intent < down.start && first.finished.is_some_and(|at| at >= down.end) {
            out_at_the_stop += 1;
        }
        // Voided while the database was down: only a void whose intent was begun before.
        if down.contains(&voided) {
            assert!(
                first_intent < down.start,
                "{payment}: sent while the database was down: {:?}",
                standing.entries
            );
        }
        assert!(
            standing.voided().is_some(),
            "{payment}: known voided in the ledger: {:?}",
            standing.entries
        );
    }
    let open: Vec<_> = ledger
        .open_entries()
        .expect("open entries")
        .into_iter()
        .filter(|entry| entry.action == Action::Void)
        .collect();
    assert!(open.is_empty(), "voids left open: {open:?}");
    assert!(
        out_at_the_stop > 0,
        "no void was out when the database stopped"
    );
    eprintln!(
        "outage: {} voids refused LedgerUnavailable, {out_at_the_stop} out when it stopped",
        refused.load(Ordering::SeqCst)
    );
}

/// With the ledger in PostgreSQL the API's operations are shared by the replicas: a key used on
/// one is found on the other (the stored answer, 422 for another body, 409 while in flight),
/// an operation begun on one is read on any, and a key left in flight by a replica that is gone
/// is let go instead of being answered 409 until it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_and_operations_are_shared_by_the_replicas() {
    use http::Method;
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let bench = Bench::with_replicas(
        FaultPlan::default().with_latency(Duration::from_millis(1500)),
        None,
        Some(cluster.database()),
        2,
        None,
    )
    .await;
    let (a, b) = (bench.gateway(), &bench.replicas[0]);
    let payment = bench.payment("12.00");
    let body = crate::api::void_body(&payment);
    let first = bench
        .api_at(a, Method::POST, "/v1/voids", Some("shared-1"), body.clone())
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.field("outcome").as_deref(), Some("voided"));
    let operation = first.field("operation").expect("the operation's ID");
    let again = bench
        .api_at(b, Method::POST, "/v1/voids", Some("shared-1"), body.clone())
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, first.body, "the stored answer");
    let other = bench.payment("13.00");
    let reused = bench
        .api_at(
            b,
            Method::POST,
            "/v1/voids",
            Some("shared-1"),
            crate::api::void_body(&other),
        )
        .await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    let read = bench
        .api_at(
            b,
            Method::GET,
            &format!("/v1/operations/{operation}"),
            None,
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(bench.voids_at_instamed(&payment), 1);
    assert_eq!(bench.voids_at_instamed(&other), 0);

    // A void in flight on one replica: its key answers 409 on the other.
    let slow = bench.payment("14.00");
    let slow_body = crate::api::void_body(&slow);
    let url = bench.ledger_path().to_string_lossy().into_owned();
    let (database, _) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .map(|(client, connection)| (client, tokio::spawn(connection)))
        .expect("the database");
    let out = {
        let (bench, slow_body) = (&bench, slow_body.clone());
        async move {
            bench
                .api_at(a, Method::POST, "/v1/voids", Some("slow-1"), slow_body)
                .await
        }
    };
    let asked = async {
        loop {
            let in_flight = database
                .query_opt(
                    "SELECT 1 FROM gateway_operations WHERE idempotency_key = 'slow-1'
                     AND state = 'in_flight'",
                    &[],
                )
                .await
                .expect("a query");
            if in_flight.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let busy = bench
            .api_at(
                b,
                Method::POST,
                "/v1/voids",
                Some("slow-1"),
                slow_body.clone(),
            )
            .await;
        assert_eq!(busy.status, 409, "{}", busy.body);
        // As if the replica carrying it out were gone (no connection of its name is left).
        database
            .execute(
                "UPDATE gateway_operations SET replica = 'instamed-soap gateway gone'
                 WHERE idempotency_key = 'slow-1'",
                &[],
            )
            .await
            .expect("an update");
        bench
            .api_at(
                b,
                Method::POST,
                "/v1/voids",
                Some("slow-1"),
                slow_body.clone(),
            )
            .await
    };
    let (first_slow, retried) = tokio::join!(out, asked);
    assert_eq!(first_slow.status, 200, "{}", first_slow.body);
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.field("outcome").as_deref(), Some("voided"));
    assert_ne!(
        retried.field("operation"),
        first_slow.field("operation"),
        "a new operation, through the ledger"
    );
    assert_eq!(bench.voids_at_instamed(&slow), 1, "the ledger sent it once");
}
