//! `/metrics`: Prometheus text (OpenMetrics), from the `prometheus-client` crate, the
//! Prometheus project's own Rust client.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Every series the gateway reports.
pub(crate) struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<Labels, Counter>,
    verdicts: Family<Labels, Counter>,
    open_outcomes: Gauge,
    reconcile_attempts: Counter,
    rate_limited: Family<Labels, Counter>,
    upstream: Family<Labels, Histogram>,
    ledger_commit: Family<Labels, Histogram>,
}

/// Latency buckets from 0.1 ms to about 26 s, doubling: a commit's flush and InstaMed's round
/// trip both fall well inside.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 19))
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let requests = Family::<Labels, Counter>::default();
        let verdicts = Family::<Labels, Counter>::default();
        let open_outcomes = Gauge::default();
        let reconcile_attempts = Counter::default();
        let rate_limited = Family::<Labels, Counter>::default();
        let upstream = Family::<Labels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> Histogram,
        );
        let ledger_commit = Family::<Labels, Histogram>::new_with_constructor(
            seconds_histogram as fn() -> Histogram,
        );
        let mut registry = Registry::with_prefix("instamed_gateway");
        registry.register(
            "requests",
            "Requests by route and signed-in client",
            requests.clone(),
        );
        registry.register(
            "verdicts",
            "Answers to voids and refunds by kind (the outcome names of docs/gateway.md)",
            verdicts.clone(),
        );
        registry.register(
            "unknown_outcomes_open",
            "Payments whose void is being reconciled now",
            open_outcomes.clone(),
        );
        registry.register(
            "reconcile_attempts",
            "Rounds of background reconciliation run",
            reconcile_attempts.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a client's rate limit",
            rate_limited.clone(),
        );
        registry.register(
            "upstream_seconds",
            "InstaMed's time by operation: a forwarded request's round trip; for a void, a \
             refund or a reconciliation that was sent, from the ledger's decision to its verdict \
             (the round trip and the two commits around it)",
            upstream.clone(),
        );
        registry.register(
            "ledger_commit_seconds",
            "Ledger commits: decisions (the payment read and its intent written, flushed to disk) and verdicts",
            ledger_commit.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            verdicts,
            open_outcomes,
            reconcile_attempts,
            rate_limited,
            upstream,
            ledger_commit,
        }
    }

    pub(crate) fn request(&self, route: &'static str, client: Option<&str>) {
        self.requests
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("client", client.unwrap_or("-").to_owned()),
            ])
            .inc();
    }

    pub(crate) fn verdict(&self, kind: &'static str) {
        self.verdicts
            .get_or_create(&vec![("kind", kind.to_owned())])
            .inc();
    }

    pub(crate) fn rate_limited(&self, client: &str) {
        self.rate_limited
            .get_or_create(&vec![("client", client.to_owned())])
            .inc();
    }

    pub(crate) fn reconcile_attempt(&self) {
        self.reconcile_attempts.inc();
    }

    pub(crate) fn upstream(&self, operation: &'static str, took: Duration) {
        self.upstream
            .get_or_create(&vec![("operation", operation.to_owned())])
            .observe(took.as_secs_f64());
    }

    pub(crate) fn ledger_commit(&self, took: Duration, durable: bool) {
        let what = if durable { "decision" } else { "verdict" };
        self.ledger_commit
            .get_or_create(&vec![("commit", what.to_owned())])
            .observe(took.as_secs_f64());
    }

    /// The text Prometheus scrapes, with `open` payments being reconciled.
    pub(crate) fn text(&self, open: usize) -> String {
        self.open_outcomes
            .set(i64::try_from(open).unwrap_or(i64::MAX));
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}
