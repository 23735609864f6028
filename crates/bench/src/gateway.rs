//! `instamed-soap bench gateway`: what the gateway costs, side by side in one run on loopback.
//!
//! The simulator, the gateway and nginx each run in a process of their own; the voids are
//! sent by the bare hyper + rustls client of [`compare`] with envelopes built
//! before the clock starts, so the figures are the path's, not a client's. It measures:
//!
//! - the latency each intermediary adds over a direct call (sequential SOAP voids over HTTPS,
//!   one keep-alive connection, the three paths taking turns round by round): the gateway, and
//!   nginx as a plain TLS reverse proxy, the floor an intermediary costs;
//! - the disk's own fsync latency where the ledger lives, since an intent is flushed before
//!   its void leaves;
//! - throughput with many callers against a simulator that answers after a set latency,
//!   beside the ideal (callers / latency);
//! - the ledger's CPU per void, in this process: the same voids through the ledger and
//!   without it, the difference;
//! - the gateway's resident memory over many voids, sampled every tenth.
//!
//! With `--ledgers` ([`Options::ledgers`]) it measures instead the gateway on each ledger
//! side by side: one on SQLite beside one and more replicas sharing a PostgreSQL database
//! (`replicas`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use instamed_soap::{Client, Credentials, Outlet, Protocol, TransactionId, VoidRequest};
use instamed_soap_ledger::Ledger;
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD};

use crate::compare::{self, Latencies, Server, Target};
use crate::process;

mod replicas;

/// What to measure, and how much.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Sequential voids per path and round for the latency figures.
    pub voids: usize,
    /// Rounds of the latency and ledger CPU figures, the paths taking turns at going first.
    pub rounds: usize,
    /// Callers in flight at once for the throughput, ledger CPU and memory figures.
    pub callers: usize,
    /// The simulator's latency for the throughput figure.
    pub upstream_latency: Duration,
    /// Voids for the throughput figure, spread over the callers.
    pub throughput_voids: usize,
    /// Voids per round, with the ledger and without, for the ledger's CPU.
    pub ledger_voids: usize,
    /// Voids through the gateway while its resident memory is sampled.
    pub memory_voids: usize,
    /// Small records written and flushed with fsync, of each kind (appended, in place), for
    /// the disk's own latency; spread between the latency rounds.
    pub fsyncs: usize,
    /// The folder the gateway's ledger (and the fsync file) go in, on the file system to
    /// measure; default the temporary folder.
    pub dir: Option<PathBuf>,
    /// Skip nginx's row.
    pub no_nginx: bool,
    /// Instead of the figures above, the gateway on each of these ledgers side by side: latency,
    /// throughput, CPU under load and the ledger's CPU per void. Empty: the figures above.
    pub ledgers: Vec<LedgerKind>,
}

/// A ledger the gateway keeps its intents in, for [`Options::ledgers`]; written as
/// `sqlite`, `postgres` or `postgres-N` (N replicas on one database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerKind {
    /// One gateway with a SQLite file.
    Sqlite,
    /// `replicas` gateways sharing one PostgreSQL database, the callers taking turns over them.
    Postgres {
        /// How many gateways, 1 to [`MAX_REPLICAS`].
        replicas: usize,
    },
}

/// The most replicas of one path: each keeps a pool of up to 16 connections to the database.
pub const MAX_REPLICAS: usize = 4;

impl std::str::FromStr for LedgerKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let replicas = match text {
            "sqlite" => return Ok(Self::Sqlite),
            "postgres" => Some(1),
            _ => text
                .strip_prefix("postgres-")
                .and_then(|n| n.parse::<usize>().ok()),
        };
        match replicas {
            Some(replicas) if (1..=MAX_REPLICAS).contains(&replicas) => {
                Ok(Self::Postgres { replicas })
            }
            _ => Err(format!(
                "{text:?} is not a ledger: sqlite, postgres, or postgres-N for N replicas (N up \
                 to {MAX_REPLICAS})"
            )),
        }
    }
}

impl std::fmt::Display for LedgerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite => f.write_str("sqlite"),
            Self::Postgres { replicas: 1 } => f.write_str("postgres"),
            Self::Postgres { replicas } => write!(f, "postgres-{replicas}"),
        }
    }
}

impl LedgerKind {
    /// How many gateways run on this ledger.
    pub fn replicas(self) -> usize {
        match self {
            Self::Sqlite => 1,
            Self::Postgres { replicas } => replicas,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            voids: 1000,
            rounds: 5,
            callers: 64,
            upstream_latency: Duration::from_millis(100),
            throughput_voids: 64 * 50,
            ledger_voids: 20000,
            memory_voids: 100_000,
            fsyncs: 1000,
            dir: None,
            no_nginx: false,
            ledgers: Vec::new(),
        }
    }
}

/// The name the bench's client signs in to the gateway with.
const CLIENT_NAME: &str = "bench";

/// The targets of issue 23, as factors.
const ADDED_P50_FACTOR: f64 = 1.5;
const THROUGHPUT_FACTOR: f64 = 1.10;
const LEDGER_CPU_MICROS: f64 = 20.0;
/// Resident memory is called flat when its samples over the second half of the voids (the last
/// five tenths) lie within this many MiB of each other. The first half is the warm-up: SQLite's
/// page cache filling to its bound (2000 KiB, SQLite's default `cache_size`), the allocator's
/// arenas, the connections.
const FLAT_MEMORY_MIB: f64 = 1.0;

/// Runs every measurement and prints the figures and the targets on standard output.
pub async fn run(args: &Options) -> Result<(), Box<dyn std::error::Error>> {
    if !args.ledgers.is_empty() {
        return replicas::run(args).await;
    }
    let scratch = scratch(args)?;
    let dir = scratch.path();
    println!(
        "bench gateway: load average {}; ledger and fsync file in {} ({})",
        load_average(),
        dir.display(),
        file_system(dir)
    );

    let mut disk = Disk::open(dir)?;
    let pki = Pki::write(dir)?;
    let secret = random_secret();
    let clients = clients_file(dir, &secret)?;

    // Three paths a round, and one more round of direct voids beside the disk's flushes.
    let latency_ids = 3 * args.rounds * args.voids + args.voids;
    let ledger_ids = 2 * args.rounds * args.ledger_voids;
    let fast_count = latency_ids + ledger_ids + args.memory_voids + 1;
    let (fast, _fast_server) = simulator(&dir.join("fast"), fast_count, Duration::ZERO)?;
    let (slow, _slow_server) = simulator(
        &dir.join("slow"),
        2 * args.throughput_voids + 1,
        args.upstream_latency,
    )?;
    let mut fast_ids = fast.ids.clone().into_iter();
    let mut slow_ids = slow.ids.clone().into_iter();
    let fast_ledger = dir.join("fast").join("gateway-ledger.db");
    let slow_ledger = dir.join("slow").join("gateway-ledger.db");
    let fast_gateway =
        GatewayProcess::start(&dir.join("fast"), &fast, &pki, &clients, &fast_ledger)?;
    let slow_gateway =
        GatewayProcess::start(&dir.join("slow"), &slow, &pki, &clients, &slow_ledger)?;
    let nginx = if args.no_nginx {
        println!("nginx: skipped (--no-nginx)");
        None
    } else {
        match Nginx::start(&dir.join("nginx"), &fast, &pki) {
            Ok(nginx) => Some(nginx),
            Err(error) => {
                println!("NGINX NOT MEASURED: {error}; its row is skipped");
                None
            }
        }
    };

    let demo = Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD);
    let client = Credentials::new(CLIENT_NAME, secret);
    // One void through each gateway before the clock starts: a gateway pays Argon2 once per
    // client and process, and callers arriving together before that would all pay it.
    for (gateway, ids) in [
        (&fast_gateway, &mut fast_ids),
        (&slow_gateway, &mut slow_ids),
    ] {
        let warm_up = compare::raw_voids(
            &gateway.soap,
            Some(&pki.ca),
            &client,
            ids.take(1).collect(),
            Protocol::Soap11,
            1,
        )?;
        if warm_up.failures > 0 {
            return Err("the gateway did not void the warm-up payment".into());
        }
    }
    let fast_ca = fast.ca.clone();
    let mut paths = vec![
        Way::new("direct", &fast.endpoint, fast_ca.as_deref(), &demo),
        Way::new("gateway", &fast_gateway.soap, Some(&pki.ca), &client),
    ];
    if let Some(nginx) = &nginx {
        paths.insert(1, Way::new("nginx", &nginx.url, Some(&pki.ca), &demo));
    }

    measure_latency(args, &mut paths, &mut disk, &mut fast_ids)?;
    // The flush again, while direct voids run as a void's own traffic does (a client, TLS, the
    // simulator): the gateway's flush is never taken on a quiet machine.
    let beside = paths
        .iter()
        .find(|way| way.name == "direct")
        .ok_or("no direct path")?;
    let (endpoints, ca, credentials) = (
        beside.endpoints.clone(),
        beside.ca.clone(),
        beside.credentials.clone(),
    );
    let ids: Vec<String> = fast_ids.by_ref().take(args.voids).collect();
    disk.sample_beside(|| {
        compare::raw_voids_over(
            &endpoints,
            ca.as_deref(),
            &credentials,
            ids,
            Protocol::Soap11,
            1,
        )
        .and_then(|run| match run.failures {
            0 => Ok(()),
            failed => Err(format!("{failed} direct voids beside the flushes failed").into()),
        })
    })?;

    // Throughput: many callers, the simulator answering after the set latency.
    let mut throughput = Vec::new();
    for (name, endpoint, ca, credentials) in [
        ("direct", &slow.endpoint, slow.ca.as_deref(), &demo),
        (
            "gateway",
            &slow_gateway.soap,
            Some(pki.ca.as_path()),
            &client,
        ),
    ] {
        let ids: Vec<String> = slow_ids.by_ref().take(args.throughput_voids).collect();
        let run = compare::raw_voids(
            endpoint,
            ca,
            credentials,
            ids,
            Protocol::Soap11,
            args.callers,
        )?;
        throughput.push((name.to_owned(), run));
    }

    // The ledger's CPU: the same voids with the ledger and without, taking turns.
    let ledger = Arc::new(ledger_as_the_gateway_opens(&dir.join("ledger-cpu.db"))?);
    let mut with_ledger = Vec::new();
    let mut without = Vec::new();
    for round in 0..args.rounds {
        for through_ledger in [round % 2 == 0, round % 2 != 0] {
            let ids: Vec<String> = fast_ids.by_ref().take(args.ledger_voids).collect();
            let ledger = through_ledger.then(|| ledger.clone());
            let ledgers: Vec<Arc<Ledger>> = ledger.into_iter().collect();
            let per_void = cpu_per_void(&fast, ids, args.callers, &ledgers)?;
            if through_ledger {
                with_ledger.push(per_void);
            } else {
                without.push(per_void);
            }
        }
    }
    let differences: Vec<(f64, f64)> = with_ledger
        .iter()
        .zip(&without)
        .map(|(with, without): (&(f64, f64), &(f64, f64))| (with.0 - without.0, with.1 - without.1))
        .collect();

    // Memory: the gateway's resident size after each tenth of many voids.
    let mut memory = Vec::with_capacity(10);
    let (cpu_before, mut sent, mut failed) = (fast_gateway.cpu()?, 0usize, 0usize);
    for tenth in 1..=10 {
        let share = args.memory_voids * tenth / 10 - args.memory_voids * (tenth - 1) / 10;
        let ids: Vec<String> = fast_ids.by_ref().take(share).collect();
        sent += ids.len();
        let run = compare::raw_voids(
            &fast_gateway.soap,
            Some(&pki.ca),
            &client,
            ids,
            Protocol::Soap11,
            args.callers,
        )?;
        failed += run.failures;
        memory.push(fast_gateway.resident_mib()?);
    }
    let gateway_cpu = fast_gateway.cpu()?.saturating_sub(cpu_before);

    drop(nginx);
    drop(fast_gateway);
    drop(slow_gateway);

    let report = Report {
        args,
        disk,
        paths,
        throughput,
        differences,
        memory,
        memory_sent: sent,
        memory_failed: failed,
        gateway_cpu_per_void: gateway_cpu.as_secs_f64() * 1e6 / sent.max(1) as f64,
    };
    print!("{}", report.render());
    Ok(())
}

/// The run's private folder (0700, removed at the end: it holds the loopback certificate's
/// key), in `--dir` or the temporary folder.
fn scratch(args: &Options) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let base = base_dir(args);
    std::fs::create_dir_all(&base)?;
    Ok(tempfile::Builder::new()
        .prefix("instamed-soap-bench-gateway-")
        .tempdir_in(&base)?)
}

/// The folder the run's files go in: `--dir`, or the temporary folder.
fn base_dir(args: &Options) -> PathBuf {
    args.dir.clone().unwrap_or_else(std::env::temp_dir)
}

/// One way to the simulator and what it measured.
struct Way {
    name: String,
    /// Where its voids go, taking turns when there are several (replicas).
    endpoints: Vec<String>,
    ca: Option<PathBuf>,
    credentials: Credentials,
    latencies: Latencies,
    failures: usize,
}

impl Way {
    fn new(name: &str, endpoint: &str, ca: Option<&Path>, who: &Credentials) -> Self {
        Self::over(name, vec![endpoint.to_owned()], ca, who)
    }

    /// A way whose voids take turns over `endpoints`.
    fn over(name: &str, endpoints: Vec<String>, ca: Option<&Path>, who: &Credentials) -> Self {
        Self {
            name: name.to_owned(),
            endpoints,
            ca: ca.map(Path::to_owned),
            credentials: who.clone(),
            latencies: compare::latencies(),
            failures: 0,
        }
    }

    /// The latency below which `share` of the calls answered, in milliseconds.
    fn ms(&self, share: f64) -> f64 {
        self.latencies.value_at_quantile(share) as f64 / 1e6
    }
}

/// Latency: sequential voids (`args.voids` a way a round) over `ways`, the ways taking turns
/// at going first round by round, and the disk's flushes between them, so that all are
/// measured under the same load.
fn measure_latency(
    args: &Options,
    ways: &mut [Way],
    disk: &mut Disk,
    ids: &mut impl Iterator<Item = String>,
) -> Result<(), Box<dyn std::error::Error>> {
    for round in 0..args.rounds {
        let share = args.fsyncs * (round + 1) / args.rounds - args.fsyncs * round / args.rounds;
        disk.sample(share)?;
        for turn in 0..ways.len() {
            let index = (round + turn) % ways.len();
            let way = &mut ways[index];
            let run = compare::raw_voids_over(
                &way.endpoints,
                way.ca.as_deref(),
                &way.credentials,
                ids.by_ref().take(args.voids).collect(),
                Protocol::Soap11,
                1,
            )?;
            compare::add(&mut way.latencies, &run.latencies);
            way.failures += run.failures;
        }
    }
    Ok(())
}

/// Everything measured, to print.
struct Report<'a> {
    args: &'a Options,
    disk: Disk,
    paths: Vec<Way>,
    throughput: Vec<(String, compare::RawRun)>,
    /// Ledger CPU per void, µs, in user space and in the kernel, one per round.
    differences: Vec<(f64, f64)>,
    /// Gateway resident MiB after each tenth, and of it anonymous.
    memory: Vec<(f64, f64)>,
    memory_sent: usize,
    memory_failed: usize,
    gateway_cpu_per_void: f64,
}

impl Report<'_> {
    fn render(&self) -> String {
        let args = self.args;
        let mut out = String::new();
        let fsync_p50 = self.disk.render(&mut out);
        let _ = writeln!(
            out,
            "\nlatency: {} sequential SOAP 1.1 voids over HTTPS per path and round, {} rounds, one keep-alive connection",
            args.voids, args.rounds
        );
        latency_table(&mut out, &self.paths);
        let direct = self.paths.iter().find(|path| path.name == "direct");
        let added = |path: &Way, share: f64| direct.map_or(0.0, |d| path.ms(share) - d.ms(share));

        let ideal = ideal_rate(args);
        let _ = writeln!(
            out,
            "\nthroughput: {} callers, upstream latency {} ms, ideal {ideal:.0} voids/s",
            args.callers,
            args.upstream_latency.as_millis()
        );
        let rates = throughput_table(&mut out, &self.throughput, ideal);
        let gateway_rate = rates.get("gateway").copied().unwrap_or(0.0);

        let totals: Vec<f64> = self.differences.iter().map(|(u, s)| u + s).collect();
        let ledger_cpu = compare::median(totals.clone());
        let user = compare::median(self.differences.iter().map(|(u, _)| *u).collect());
        let system = compare::median(self.differences.iter().map(|(_, s)| *s).collect());
        let (low, high) = totals.iter().fold((f64::MAX, f64::MIN), |(low, high), d| {
            (low.min(*d), high.max(*d))
        });
        let _ = writeln!(
            out,
            "\nledger CPU per void: {ledger_cpu:.1} µs ({user:.1} user, {system:.1} kernel; median of {} rounds of {} voids, {} in flight: CPU per void through the ledger minus without it; {low:.1} to {high:.1})",
            self.differences.len(),
            args.ledger_voids,
            args.callers
        );
        let _ = writeln!(
            out,
            "gateway process CPU per void: {:.1} µs (TLS both ways, HTTP, XML, ledger, over the memory run)",
            self.gateway_cpu_per_void
        );
        let samples: Vec<String> = self
            .memory
            .iter()
            .enumerate()
            .map(|(tenth, (mib, anon))| format!("{}%: {mib:.1} ({anon:.1})", (tenth + 1) * 10))
            .collect();
        let _ = writeln!(
            out,
            "gateway resident memory over {} voids ({} failed), MiB (of it anonymous): {}",
            self.memory_sent,
            self.memory_failed,
            samples.join(", ")
        );

        let _ = writeln!(out, "\ntargets:");
        let holds = |ok: bool| if ok { "holds" } else { "MISSED" };
        let gateway = self.paths.iter().find(|path| path.name == "gateway");
        let nginx = self.paths.iter().find(|path| path.name == "nginx");
        match (gateway, nginx) {
            (Some(gateway), Some(nginx)) => {
                let bound = ADDED_P50_FACTOR * (added(nginx, 0.5) + fsync_p50);
                let ours = added(gateway, 0.5);
                let _ = writeln!(
                    out,
                    "  gateway's added p50 {ours:.3} ms <= 1.5 x (nginx's added p50 + one fsync in place) = {bound:.3} ms: {}",
                    holds(ours <= bound)
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  gateway's added p50 against nginx's: not judged, nginx was not measured"
                );
            }
        }
        let ratio = ideal / gateway_rate.max(1e-9);
        let _ = writeln!(
            out,
            "  throughput within 1.10x of the ideal: {ratio:.3}x: {}",
            holds(ratio <= THROUGHPUT_FACTOR)
        );
        let _ = writeln!(
            out,
            "  ledger CPU <= 20 µs per void: {ledger_cpu:.1} µs: {}",
            holds(ledger_cpu <= LEDGER_CPU_MICROS)
        );
        let second_half = &self.memory[self.memory.len() / 2..];
        let low = second_half.iter().map(|(mib, _)| *mib).reduce(f64::min);
        let high = second_half.iter().map(|(mib, _)| *mib).reduce(f64::max);
        if let (Some(low), Some(high)) = (low, high) {
            let _ = writeln!(
                out,
                "  flat memory (resident over the last five tenths within {FLAT_MEMORY_MIB} MiB): {low:.1} to {high:.1} MiB: {}",
                holds(high - low <= FLAT_MEMORY_MIB)
            );
        }
        out
    }
}

/// The ideal throughput: every caller always waiting on the upstream, nothing else.
fn ideal_rate(args: &Options) -> f64 {
    args.callers as f64 / args.upstream_latency.as_secs_f64().max(1e-9)
}

/// The latency table: each path's percentiles, and what it adds over the direct call.
fn latency_table(out: &mut String, paths: &[Way]) {
    let _ = writeln!(
        out,
        "{:<10} {:>9} {:>9} {:>12} {:>12} {:>9}",
        "path", "p50 ms", "p99 ms", "added p50", "added p99", "failures"
    );
    let direct = paths.iter().find(|path| path.name == "direct");
    let added = |path: &Way, share: f64| direct.map_or(0.0, |d| path.ms(share) - d.ms(share));
    for path in paths {
        let _ = writeln!(
            out,
            "{:<10} {:>9.3} {:>9.3} {:>12.3} {:>12.3} {:>9}",
            path.name,
            path.ms(0.5),
            path.ms(0.99),
            added(path, 0.5),
            added(path, 0.99),
            path.failures
        );
    }
}

/// Voids a second of a run: every answered call over its wall time.
fn rate(run: &compare::RawRun) -> f64 {
    run.latencies.len() as f64 / run.wall.as_secs_f64()
}

/// The throughput table, beside the ideal and the direct call; returns each path's rate.
fn throughput_table(
    out: &mut String,
    throughput: &[(String, compare::RawRun)],
    ideal: f64,
) -> std::collections::HashMap<String, f64> {
    let _ = writeln!(
        out,
        "{:<10} {:>9} {:>10} {:>14} {:>15} {:>9}",
        "path", "voids", "voids/s", "ideal/actual", "direct/actual", "failures"
    );
    let direct_rate = throughput
        .iter()
        .find(|(name, _)| name == "direct")
        .map_or(0.0, |(_, run)| rate(run));
    let mut rates = std::collections::HashMap::new();
    for (name, run) in throughput {
        let rate = rate(run);
        rates.insert(name.clone(), rate);
        let _ = writeln!(
            out,
            "{name:<10} {:>9} {rate:>10.0} {:>14.3} {:>15.3} {:>9}",
            run.latencies.len(),
            ideal / rate,
            direct_rate / rate,
            run.failures
        );
    }
    rates
}

/// The disk under the ledger: two files in its folder, flushed with fsync after each small
/// write, as SQLite flushes the ledger's write-ahead log (`synchronous=FULL`, `fsync`).
struct Disk {
    append: std::fs::File,
    in_place: std::fs::File,
    next: u64,
    /// Each 128-byte append + fsync: the file grows, so the file system journals its size.
    appended: Latencies,
    /// Each 128-byte write inside the file's first 256 KiB + fsync: the size stays, as once
    /// SQLite's log has wrapped at a checkpoint and is written over from its start.
    overwritten: Latencies,
    /// The same, while direct voids run beside it ([`Disk::sample_beside`]).
    beside_traffic: Latencies,
}

/// The in-place file's size: the ledger's log stays about this small between checkpoints.
const IN_PLACE_BYTES: u64 = 256 * 1024;

impl Disk {
    fn open(dir: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        let append = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(dir.join("fsync-append.bin"))?;
        let in_place = std::fs::OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(dir.join("fsync-in-place.bin"))?;
        in_place.set_len(IN_PLACE_BYTES)?;
        in_place.sync_all()?;
        Ok(Self {
            append,
            in_place,
            next: 0,
            appended: compare::latencies(),
            overwritten: compare::latencies(),
            beside_traffic: compare::latencies(),
        })
    }

    /// Writes the disk's line; returns the in-place flush's p50 in milliseconds.
    fn render(&self, out: &mut String) -> f64 {
        let ms =
            |latencies: &Latencies, share: f64| latencies.value_at_quantile(share) as f64 / 1e6;
        let (appended, overwritten) = (&self.appended, &self.overwritten);
        let fsync_p50 = ms(overwritten, 0.5);
        let _ = writeln!(
            out,
            "disk: write of 128 bytes + fsync, {} times each, between the latency rounds: in place p50 {fsync_p50:.3} ms, p99 {:.3} ms; appended p50 {:.3} ms, p99 {:.3} ms",
            overwritten.len(),
            ms(overwritten, 0.99),
            ms(appended, 0.5),
            ms(appended, 0.99),
        );
        let beside = &self.beside_traffic;
        if !beside.is_empty() {
            let _ = writeln!(
                out,
                "disk beside traffic: the same in place while one more round of direct voids runs, {} times: p50 {:.3} ms, p99 {:.3} ms (for reading the gateway's figure; the bound takes the quiet one)",
                beside.len(),
                ms(beside, 0.5),
                ms(beside, 0.99),
            );
        }
        fsync_p50
    }

    /// Takes `count` samples of each kind, alternating.
    fn sample(&mut self, count: usize) -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::FileExt as _;
        let record = [b'x'; 128];
        for _ in 0..count {
            let started = Instant::now();
            self.append.write_all(&record)?;
            self.append.sync_all()?;
            self.appended
                .saturating_record(started.elapsed().as_nanos() as u64);

            let offset = (self.next * 4096) % IN_PLACE_BYTES;
            self.next += 1;
            let started = Instant::now();
            self.in_place.write_all_at(&record, offset)?;
            self.in_place.sync_all()?;
            self.overwritten
                .saturating_record(started.elapsed().as_nanos() as u64);
        }
        Ok(())
    }

    /// Flushes in place, one after another on a thread of its own, for as long as `traffic`
    /// runs on this one.
    fn sample_beside(
        &mut self,
        traffic: impl FnOnce() -> Result<(), Box<dyn std::error::Error>>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::FileExt as _;
        use std::sync::atomic::{AtomicBool, Ordering};
        let file = self.in_place.try_clone()?;
        let done = Arc::new(AtomicBool::new(false));
        let flushing = {
            let (done, mut next) = (done.clone(), self.next);
            std::thread::spawn(move || -> std::io::Result<Latencies> {
                let mut latencies = compare::latencies();
                let record = [b'y'; 128];
                // At least one, however short the traffic.
                loop {
                    let offset = (next * 4096) % IN_PLACE_BYTES;
                    next += 1;
                    let started = Instant::now();
                    file.write_all_at(&record, offset)?;
                    file.sync_all()?;
                    latencies.saturating_record(started.elapsed().as_nanos() as u64);
                    if done.load(Ordering::Relaxed) {
                        return Ok(latencies);
                    }
                }
            })
        };
        /// Ends the flushing however `traffic` ends, a panic included.
        struct Stop(Arc<AtomicBool>);
        impl Drop for Stop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stop = Stop(done);
        let ran = traffic();
        drop(stop);
        let flushed = flushing
            .join()
            .map_err(|_| "the flushing thread panicked")??;
        ran?;
        compare::add(&mut self.beside_traffic, &flushed);
        Ok(())
    }
}

/// Voids `ids` with our client, `callers` at a time, through `ledgers` when there are any (as
/// the gateway does; the callers taking turns over them, as over replicas), and returns this
/// process's CPU per void in microseconds, in user space and in the kernel.
fn cpu_per_void(
    target: &Target,
    ids: Vec<String>,
    callers: usize,
    ledgers: &[Arc<Ledger>],
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut builder = Client::builder(&target.endpoint)
        .no_proxy()
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .max_idle_connections(callers);
    if let Some(ca) = &target.ca {
        builder = builder.ca_certificate_file(ca);
    }
    let client = builder.build()?;
    let outlet = Outlet::new("123123123", "123", "123")?;
    let count = ids.len();
    let ledgers = ledgers.to_vec();
    // A runtime of its own, on a thread of its own: the caller's runtime cannot be blocked on.
    let work = async move {
        let ids = Arc::new(ids);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for caller in 0..callers {
            let (ids, next) = (ids.clone(), next.clone());
            let ledger = (!ledgers.is_empty()).then(|| ledgers[caller % ledgers.len()].clone());
            let (client, outlet) = (client.clone(), outlet.clone());
            tasks.spawn(async move {
                let mut failures = 0usize;
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(id) = ids.get(index) else {
                        return failures;
                    };
                    let Ok(payment) = TransactionId::new(id) else {
                        failures += 1;
                        continue;
                    };
                    let request = VoidRequest::new(outlet.clone(), payment);
                    let ok = match &ledger {
                        None => client.void(&request).await.is_ok(),
                        Some(ledger) => guarded_void(ledger.clone(), client.clone(), request).await,
                    };
                    failures += usize::from(!ok);
                }
            });
        }
        let mut failures = 0;
        while let Some(done) = tasks.join_next().await {
            failures += done.unwrap_or(1);
        }
        failures
    };
    let (user_before, system_before) = process::cpu_times();
    let failures = std::thread::spawn(move || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map(|runtime| runtime.block_on(work))
    })
    .join()
    .map_err(|_| "the ledger CPU thread panicked")??;
    let (user, system) = process::cpu_times();
    if failures > 0 {
        return Err(format!("{failures} of {count} voids failed while measuring CPU").into());
    }
    let per_void = |cpu: Duration| cpu.as_secs_f64() * 1e6 / count.max(1) as f64;
    Ok((
        per_void(user.saturating_sub(user_before)),
        per_void(system.saturating_sub(system_before)),
    ))
}

/// The ledger at `location` (a file or a database's URL) opened as the gateway opens its own,
/// for the ledger's CPU figures.
fn ledger_as_the_gateway_opens(
    location: &Path,
) -> Result<Ledger, instamed_soap_ledger::LedgerError> {
    Ok(Ledger::open(location)?
        .with_command("bench")
        .with_verdicts_unawaited())
}

/// The gateway's use of the ledger for one void: the guarded void, awaited on the runtime while
/// the ledger's own thread reads the payment's standing and commits the intent and the verdict.
async fn guarded_void(ledger: Arc<Ledger>, client: Client, request: VoidRequest) -> bool {
    matches!(
        ledger.void(&client, &request).await,
        Ok(instamed_soap_ledger::Guarded::Sent(Ok(_)))
    )
}

/// A simulator in another process, with `count` payments and the given latency.
fn simulator(
    dir: &Path,
    count: usize,
    latency: Duration,
) -> Result<(Target, Server), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let latency = format!("{}ms", latency.as_millis());
    compare::start_simulator_in(dir, count, &["--latency", &latency])
}

/// The loopback certificate the gateway and nginx both serve, and the CA the bench trusts.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn write(dir: &Path) -> Result<Self, Box<dyn std::error::Error>> {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
        let key = KeyPair::generate()?;
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        let cert = params.signed_by(&key, &ca)?;
        let paths = Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        std::fs::write(&paths.ca, ca.pem())?;
        std::fs::write(&paths.cert, format!("{}{}", cert.pem(), ca.pem()))?;
        let mut file = private_file(&paths.key)?;
        file.write_all(key.serialize_pem().as_bytes())?;
        Ok(paths)
    }
}

/// A new file only its owner may read.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// A secret for the bench's gateway client, made for this run only.
fn random_secret() -> String {
    use std::hash::{BuildHasher, Hasher};
    (0..4)
        .map(|_| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(0);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

/// The gateway's clients file, the bench's client hashed by `gateway hash-secret`.
fn clients_file(dir: &Path, secret: &str) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["gateway", "hash-secret"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{secret}")?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err("gateway hash-secret failed".into());
    }
    let hash = String::from_utf8(output.stdout)?.trim().to_owned();
    let path = dir.join("clients.toml");
    std::fs::write(&path, format!("[clients]\n{CLIENT_NAME} = \"{hash}\"\n"))?;
    Ok(path)
}

/// `instamed-soap gateway` in another process, stopped with SIGTERM when dropped.
struct GatewayProcess {
    child: Child,
    soap: String,
}

impl GatewayProcess {
    /// Starts a gateway in front of `upstream` with its ledger at `ledger` (a file, or a
    /// PostgreSQL database's URL), its log and other files in `dir`.
    fn start(
        dir: &Path,
        upstream: &Target,
        pki: &Pki,
        clients: &Path,
        ledger: &Path,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        std::fs::create_dir_all(dir)?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args([
                "gateway",
                "--listen",
                "127.0.0.1:0",
                "--hostname",
                "127.0.0.1",
            ])
            .arg("--tls-cert")
            .arg(&pki.cert)
            .arg("--tls-key")
            .arg(&pki.key)
            .args(["--upstream", &upstream.endpoint, "--rate-limit", "0"])
            .arg("--clients")
            .arg(clients)
            // The simulator's demo account: no one's secret.
            .env("INSTAMED_ACCOUNT_ID", DEMO_ACCOUNT_ID)
            .env("INSTAMED_PASSWORD", DEMO_PASSWORD)
            // Its line per request goes to a file, as a deployment's log would.
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("gateway.log"))?);
        if let Some(ca) = &upstream.ca {
            command.arg("--ca-cert").arg(ca);
        }
        if Ledger::is_database_url(ledger) {
            // A URL with a password goes in the environment, never on a command line every
            // user of the machine can read; the gateway's other files (its operations) go in
            // its own folder, not the user's.
            command
                .env("INSTAMED_LEDGER", ledger)
                .env("XDG_STATE_HOME", dir);
        } else {
            command.arg("--ledger").arg(ledger);
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout from the gateway")?;
        let mut gateway = Self {
            child,
            soap: String::new(),
        };
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if let Some(url) = line.strip_prefix("soap:") {
                gateway.soap = url.trim().to_owned();
            } else if line.starts_with("Ctrl-C") {
                break;
            }
        }
        if gateway.soap.is_empty() {
            let mut log = String::new();
            let _ = std::fs::File::open(dir.join("gateway.log"))
                .and_then(|mut file| file.read_to_string(&mut log));
            return Err(format!("the gateway did not start: {}", log.trim()).into());
        }
        Ok(gateway)
    }

    /// The gateway's CPU time so far (user + system), from `/proc`.
    fn cpu(&self) -> Result<Duration, Box<dyn std::error::Error>> {
        process::cpu_time_of(self.child.id()).ok_or_else(|| "cannot read the gateway's CPU".into())
    }

    /// The gateway's resident size in MiB, and of it the anonymous part (its heap and stacks,
    /// not files mapped), from `/proc`.
    fn resident_mib(&self) -> Result<(f64, f64), Box<dyn std::error::Error>> {
        let mib = |field| {
            process::status_kib_of(self.child.id(), field)
                .map(|kib| kib as f64 / 1024.0)
                .ok_or("cannot read the gateway's memory")
        };
        Ok((mib("VmRSS:")?, mib("RssAnon:")?))
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// nginx as a plain TLS reverse proxy in front of the simulator, in the foreground, from a
/// configuration of its own; stopped when dropped.
struct Nginx {
    child: Child,
    url: String,
}

impl Nginx {
    fn start(dir: &Path, upstream: &Target, pki: &Pki) -> Result<Self, Box<dyn std::error::Error>> {
        let binary = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
            .ok_or("nginx is not installed (apt-get install -y nginx)")?;
        std::fs::create_dir_all(dir)?;
        let upstream_uri: http::Uri = upstream.endpoint.parse()?;
        let upstream_port = upstream_uri.port_u16().ok_or("no port in the endpoint")?;
        let scheme = upstream_uri.scheme_str().unwrap_or("https");
        let ca = upstream.ca.as_deref();
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let config = dir.join("nginx.conf");
        std::fs::write(
            &config,
            nginx_config(dir, port, scheme, upstream_port, ca, pki),
        )?;
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&config)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut nginx = Self {
            child,
            url: format!("https://127.0.0.1:{port}{}", upstream_uri.path()),
        };
        // Ready once it accepts; gone if it exited (its error log says why).
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = nginx.child.try_wait()? {
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                return Err(format!("nginx exited ({status}): {}", log.trim()).into());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(nginx);
            }
            if Instant::now() > deadline {
                return Err("nginx did not start listening within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT: nginx's graceful stop of the master and its worker.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A reverse proxy as an operator would write it: TLS in front, keep-alive connections to the
/// upstream (TLS too when the simulator serves it, verified against its CA), one worker.
fn nginx_config(
    dir: &Path,
    port: u16,
    scheme: &str,
    upstream_port: u16,
    ca: Option<&Path>,
    pki: &Pki,
) -> String {
    let dir = dir.display();
    // nginx run by root hands its worker to `nobody`, who cannot read this private folder.
    let user = if process::is_root() {
        "user root;\n"
    } else {
        ""
    };
    let verify = ca.map_or_else(String::new, |ca| {
        format!(
            "proxy_ssl_trusted_certificate {};\n      proxy_ssl_verify on;\n      proxy_ssl_name localhost;\n      proxy_ssl_session_reuse on;\n",
            ca.display()
        )
    });
    format!(
        "{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream simulator {{
    server 127.0.0.1:{upstream_port};
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location / {{
      proxy_pass {scheme}://simulator;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host $http_host;
      {verify}    }}
  }}
}}
",
        cert = pki.cert.display(),
        key = pki.key.display(),
    )
}

/// The three load averages of `/proc/loadavg` (Linux; "unknown" elsewhere).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The type of the file system holding `dir`, from `/proc/self/mounts` (the longest mount
/// point above it): a ledger on tmpfs would make fsync free and the figures meaningless.
fn file_system(dir: &Path) -> String {
    let Ok(dir) = dir.canonicalize() else {
        return "file system unknown".to_owned();
    };
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let best = mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_device, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            dir.starts_with(point)
                .then(|| (point.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len);
    match best {
        Some((_, kind)) if kind == "tmpfs" => {
            "tmpfs: fsync costs nothing here, give --dir on a disk".to_owned()
        }
        Some((_, kind)) => kind,
        None => "file system unknown".to_owned(),
    }
}
