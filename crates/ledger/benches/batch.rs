//! The batch engine at scale: `cargo bench --bench batch`.
//!
//! 1. The journal alone: every row through the engine with a service that answers at once, so
//!    that what is measured is the journal (intents, verdicts, claims) and the engine around
//!    it: process CPU per row, and commits that flush to disk per row.
//! 2. A whole run against the simulator over TLS with 100 ms of injected latency and 64 requests
//!    in flight: wall time against the ideal `rows × latency / concurrency`, and resident memory
//!    every 10 000 rows.
//!
//! `BATCH_BENCH_ROWS` (default 100 000) sets the number of rows of both.

#![allow(missing_docs)]

fn main() {
    let rows: u64 = std::env::var("BATCH_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench::journal_alone(rows));
    runtime.block_on(bench::against_the_simulator(rows));
}

mod bench {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use instamed_soap::{Client, Credentials, Outlet, TransactionId, VoidRequest};
    use instamed_soap_ledger::batch::{
        Batch, BatchOptions, Finding, InputRow, Journal, Settle, Verdict,
    };
    use instamed_soap_simulator::{
        DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, Simulator, SimulatorConfig,
    };

    /// A service that voids everything at once.
    struct Instant0;

    impl Settle for Instant0 {
        async fn void(&self, _: &VoidRequest) -> Finding {
            Finding {
                verdict: Some(Verdict::Voided),
                requests: 1,
                ..Finding::default()
            }
        }
        async fn reconcile(&self, request: &VoidRequest) -> Finding {
            self.void(request).await
        }
        async fn refund(&self, _: &VoidRequest, _: instamed_soap::rest::Amount) -> Finding {
            Finding::default()
        }
    }

    fn cpu_seconds() -> f64 {
        // utime + stime of the whole process, from /proc (Linux).
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / 100.0
    }

    fn rss_mib() -> f64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }

    fn requests(
        ids: &[TransactionId],
        outlet: &Outlet,
    ) -> impl Iterator<Item = Result<InputRow, instamed_soap_ledger::batch::InputError>> {
        ids.iter().enumerate().map(move |(i, id)| {
            let request = VoidRequest::new(outlet.clone(), id.clone());
            Ok(InputRow::from_request(i as u64 + 1, &request, None))
        })
    }

    pub async fn journal_alone(rows: u64) {
        let dir = tempfile::tempdir().expect("tempdir");
        let outlet = Outlet::new("123123123", "123", "456").expect("outlet");
        let ids: Vec<TransactionId> = (0..rows)
            .map(|i| TransactionId::new(format!("{i:032X}")).expect("id"))
            .collect();
        let mut journal = Journal::open(dir.path().join("j")).expect("journal");
        let load_started = Instant::now();
        journal.load(requests(&ids, &outlet)).expect("load");
        let load = load_started.elapsed();
        let cpu = cpu_seconds();
        let started = Instant::now();
        let batch = Batch::new(
            Instant0,
            BatchOptions {
                concurrency: 64,
                ..BatchOptions::default()
            },
        );
        let (_journal, summary) = batch
            .run(journal, std::future::pending())
            .await
            .expect("run");
        let cpu = cpu_seconds() - cpu;
        assert_eq!(summary.count(Verdict::Voided), rows);
        println!(
            "journal alone: {rows} rows loaded in {:.2} s, run in {:.2} s; CPU {:.1} µs/row; \
             {} commits ({} flushed to disk): {:.4} flushes/row",
            load.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            cpu * 1e6 / rows as f64,
            summary.journal.commits,
            summary.journal.durable_commits,
            summary.journal.durable_commits as f64 / rows as f64
        );
    }

    pub async fn against_the_simulator(rows: u64) {
        let latency = Duration::from_millis(100);
        let concurrency = 64;
        let simulator = Simulator::start(
            SimulatorConfig::default().with_faults(FaultPlan::default().with_latency(latency)),
        )
        .await
        .expect("simulator");
        let outlet = Outlet::new("123123123", "123", "456").expect("outlet");
        let ids: Vec<TransactionId> = (0..rows)
            .map(|_| {
                simulator
                    .ledger()
                    .create_payment(&outlet, "10.00")
                    .expect("payment")
            })
            .collect();
        let client = Client::builder(simulator.endpoint())
            .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
            .ca_certificate_file(simulator.ca_path().expect("ca"))
            .max_idle_connections(concurrency)
            .build()
            .expect("client");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut journal = Journal::open(dir.path().join("j")).expect("journal");
        journal.load(requests(&ids, &outlet)).expect("load");
        drop(ids);
        let done = Arc::new(AtomicU64::new(0));
        let counter = done.clone();
        let started = Instant::now();
        println!("rows      elapsed_s  rss_mib");
        let observer = Arc::new(move |_: &instamed_soap_ledger::batch::RowDone| {
            let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 10_000 == 0 {
                println!(
                    "{n:<9} {:>9.1}  {:>7.1}",
                    started.elapsed().as_secs_f64(),
                    rss_mib()
                );
            }
        });
        let batch = Batch::new(
            client,
            BatchOptions {
                concurrency,
                observer: Some(observer),
                ..BatchOptions::default()
            },
        );
        let (_journal, summary) = batch
            .run(journal, std::future::pending())
            .await
            .expect("run");
        let wall = started.elapsed().as_secs_f64();
        let ideal = rows as f64 * latency.as_secs_f64() / concurrency as f64;
        println!(
            "simulator: {rows} rows, {concurrency} in flight, {} ms latency: {wall:.1} s, ideal \
             {ideal:.1} s, ratio {:.3}; voided {}; {} commits ({} flushed): {:.4} flushes/row",
            latency.as_millis(),
            wall / ideal,
            summary.count(Verdict::Voided),
            summary.journal.commits,
            summary.journal.durable_commits,
            summary.journal.durable_commits as f64 / rows as f64
        );
        simulator.shutdown().await;
    }
}
