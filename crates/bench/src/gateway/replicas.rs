//! `bench gateway --ledgers sqlite,postgres,postgres-2`: the gateway on each ledger side by
//! side in one run, against the same two simulators (one answering at once, one after the
//! upstream latency): one gateway on a SQLite file, and one or more replicas sharing a
//! database of a throwaway PostgreSQL cluster, the voids taking turns over a path's replicas
//! as behind a load balancer.
//!
//! Per path: the latency it adds over a direct call (the paths taking turns round by round),
//! the throughput with many callers against the slow simulator, the CPU under load (the
//! gateways' processes and PostgreSQL's, from `/proc`, over voids at full speed), and the
//! ledger's CPU per void as the default run measures it in this process (through `Ledger::void`
//! minus `Client::void` alone), with PostgreSQL's server CPU over the same voids added.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use instamed_soap::{Credentials, Protocol};
use instamed_soap_ledger::Ledger;
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD};

use super::{
    CLIENT_NAME, Disk, GatewayProcess, LedgerKind, Options, Pki, Way, clients_file, cpu_per_void,
    file_system, ideal_rate, latency_table, ledger_as_the_gateway_opens, load_average,
    measure_latency, random_secret, rate, throughput_table,
};
use crate::compare;
use crate::postgres::Cluster;

/// One path's gateways, on one ledger.
struct Gateways {
    kind: LedgerKind,
    /// In front of the simulator that answers at once.
    fast: Vec<GatewayProcess>,
    /// In front of the simulator that answers after the upstream latency.
    slow: Vec<GatewayProcess>,
    /// Where the ledger-CPU measurement's own ledgers live (a file, or a database's URL).
    cpu_ledger: PathBuf,
}

/// What one path's gateways and the database used over voids at full speed.
struct Load {
    voids: usize,
    failures: usize,
    rate: f64,
    gateways: Duration,
    server: Option<Duration>,
}

/// One round of the ledger's CPU: this process's user and kernel CPU per void, and the
/// server's, in microseconds.
type CpuRound = (f64, f64, f64);

/// Runs the side-by-side figures of `args.ledgers` and prints them on standard output.
pub(super) async fn run(args: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let scratch = super::scratch(args)?;
    let dir = scratch.path();
    let kinds = &args.ledgers;
    let names: Vec<String> = kinds.iter().map(ToString::to_string).collect();
    println!(
        "bench gateway --ledgers {}: load average {}; ledgers and fsync file in {} ({})",
        names.join(","),
        load_average(),
        dir.display(),
        file_system(dir)
    );
    let cluster = if kinds
        .iter()
        .any(|kind| matches!(kind, LedgerKind::Postgres { .. }))
    {
        // Beside the run's private folder, not in it: run as root, the server runs as
        // nobody, who cannot enter a folder private to root.
        let cluster = Cluster::start(&super::base_dir(args), &random_secret())?;
        println!(
            "PostgreSQL: {}, a throwaway cluster in {}, beside the ledgers (fsync and \
             synchronous_commit on, the server's defaults otherwise)",
            cluster.version,
            cluster.dir().display()
        );
        Some(cluster)
    } else {
        None
    };

    let mut disk = Disk::open(dir)?;
    let pki = Pki::write(dir)?;
    let secret = random_secret();
    let clients = clients_file(dir, &secret)?;
    let replicas: usize = kinds.iter().map(|kind| kind.replicas()).sum();
    let ways = kinds.len() + 1;
    let fast_count = ways * args.rounds * (args.voids + args.ledger_voids)
        + kinds.len() * args.ledger_voids
        + replicas
        + 1;
    let (fast, _fast_server) = super::simulator(&dir.join("fast"), fast_count, Duration::ZERO)?;
    let (slow, _slow_server) = super::simulator(
        &dir.join("slow"),
        ways * args.throughput_voids + replicas + 1,
        args.upstream_latency,
    )?;
    let mut fast_ids = fast.ids.clone().into_iter();
    let mut slow_ids = slow.ids.clone().into_iter();

    let mut paths = Vec::with_capacity(kinds.len());
    for (index, kind) in kinds.iter().enumerate() {
        let name = format!("{index}-{kind}");
        let location = |purpose: &str| -> Result<PathBuf, Box<dyn std::error::Error>> {
            match (kind, &cluster) {
                (LedgerKind::Postgres { .. }, Some(cluster)) => Ok(PathBuf::from(
                    cluster.database(&format!("{purpose}_{index}"))?,
                )),
                _ => Ok(dir.join(&name).join(format!("{purpose}-ledger.db"))),
            }
        };
        let (fast_ledger, slow_ledger) = (location("fast")?, location("slow")?);
        let mut path = Gateways {
            kind: *kind,
            fast: Vec::new(),
            slow: Vec::new(),
            cpu_ledger: location("cpu")?,
        };
        for replica in 0..kind.replicas() {
            let at = |speed: &str| dir.join(&name).join(format!("{speed}-{replica}"));
            path.fast.push(GatewayProcess::start(
                &at("fast"),
                &fast,
                &pki,
                &clients,
                &fast_ledger,
            )?);
            path.slow.push(GatewayProcess::start(
                &at("slow"),
                &slow,
                &pki,
                &clients,
                &slow_ledger,
            )?);
        }
        paths.push(path);
    }

    let demo = Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD);
    let client = Credentials::new(CLIENT_NAME, secret);
    // One void through each gateway before the clock starts: a gateway pays Argon2 once per
    // client and process, and callers arriving together before that would all pay it.
    for path in &paths {
        let fast_warm = path.fast.iter().map(|gateway| (gateway, fast_ids.next()));
        let slow_warm = path.slow.iter().map(|gateway| (gateway, slow_ids.next()));
        let warm: Vec<_> = fast_warm.collect();
        let warm = warm.into_iter().chain(slow_warm.collect::<Vec<_>>());
        for (gateway, id) in warm {
            let warm_up = compare::raw_voids(
                &gateway.soap,
                Some(&pki.ca),
                &client,
                id.into_iter().collect(),
                Protocol::Soap11,
                1,
            )?;
            if warm_up.failures > 0 {
                return Err("a gateway did not void the warm-up payment".into());
            }
        }
    }

    let mut ways = vec![Way::new(
        "direct",
        &fast.endpoint,
        fast.ca.as_deref(),
        &demo,
    )];
    for path in &paths {
        ways.push(Way::over(
            &path.kind.to_string(),
            endpoints(&path.fast),
            Some(&pki.ca),
            &client,
        ));
    }
    measure_latency(args, &mut ways, &mut disk, &mut fast_ids)?;

    // Throughput: many callers against the slow simulator, spread over a path's replicas.
    let mut throughput = Vec::with_capacity(paths.len() + 1);
    let direct = compare::raw_voids(
        &slow.endpoint,
        slow.ca.as_deref(),
        &demo,
        slow_ids.by_ref().take(args.throughput_voids).collect(),
        Protocol::Soap11,
        args.callers,
    )?;
    throughput.push(("direct".to_owned(), direct));
    for path in &paths {
        let run = compare::raw_voids_over(
            &endpoints(&path.slow),
            Some(&pki.ca),
            &client,
            slow_ids.by_ref().take(args.throughput_voids).collect(),
            Protocol::Soap11,
            args.callers,
        )?;
        throughput.push((path.kind.to_string(), run));
    }

    // CPU under load: as many voids as a round of the ledger's CPU, at full speed through
    // each path's gateways, their processes' CPU and the server's over them.
    let mut loads = Vec::with_capacity(paths.len());
    for path in &paths {
        let gateways_before = cpu_of(&path.fast)?;
        let server_before = server_cpu(path.kind, cluster.as_ref())?;
        let ids: Vec<String> = fast_ids.by_ref().take(args.ledger_voids).collect();
        let voids = ids.len();
        let run = compare::raw_voids_over(
            &endpoints(&path.fast),
            Some(&pki.ca),
            &client,
            ids,
            Protocol::Soap11,
            args.callers,
        )?;
        let server_after = server_cpu(path.kind, cluster.as_ref())?;
        loads.push(Load {
            voids,
            failures: run.failures,
            rate: rate(&run),
            gateways: cpu_of(&path.fast)?.saturating_sub(gateways_before),
            server: server_after
                .zip(server_before)
                .map(|(after, before)| after.saturating_sub(before)),
        });
    }

    // The ledger's CPU per void, in this process: the same voids through each path's ledger
    // (as many opened as the path has replicas, the callers taking turns over them) and
    // without one, the order turning round by round; the server's CPU over each run added.
    let mut ledgers = Vec::with_capacity(paths.len());
    for path in &paths {
        let mut opened = Vec::with_capacity(path.kind.replicas());
        for _ in 0..path.kind.replicas() {
            opened.push(Arc::new(ledger_as_the_gateway_opens(&path.cpu_ledger)?));
        }
        ledgers.push(opened);
    }
    let mut rounds: Vec<Vec<CpuRound>> = vec![Vec::with_capacity(args.rounds); paths.len()];
    for round in 0..args.rounds {
        let runs = paths.len() + 1;
        let mut without = (0.0, 0.0, 0.0);
        let mut with: Vec<CpuRound> = vec![(0.0, 0.0, 0.0); paths.len()];
        for turn in 0..runs {
            // 0 is the run without a ledger, n the n-th path's.
            let which = (round + turn) % runs;
            let ids: Vec<String> = fast_ids.by_ref().take(args.ledger_voids).collect();
            let count = ids.len().max(1) as f64;
            let through: &[Arc<Ledger>] = match which {
                0 => &[],
                n => &ledgers[n - 1],
            };
            let server_before = cluster.as_ref().map(Cluster::cpu).transpose()?;
            let (user, kernel) = cpu_per_void(&fast, ids, args.callers, through)?;
            let server_after = cluster.as_ref().map(Cluster::cpu).transpose()?;
            let server = server_after
                .zip(server_before)
                .map_or(0.0, |(after, before)| {
                    after.saturating_sub(before).as_secs_f64() * 1e6 / count
                });
            match which {
                0 => without = (user, kernel, server),
                n => with[n - 1] = (user, kernel, server),
            }
        }
        for (index, (user, kernel, server)) in with.into_iter().enumerate() {
            rounds[index].push((user - without.0, kernel - without.1, server - without.2));
        }
    }
    drop(ledgers);
    drop(paths);

    let report = Report {
        args,
        disk,
        ways,
        throughput,
        names,
        loads,
        rounds,
    };
    print!("{}", report.render());
    Ok(())
}

/// The SOAP endpoints of `gateways`.
fn endpoints(gateways: &[GatewayProcess]) -> Vec<String> {
    gateways
        .iter()
        .map(|gateway| gateway.soap.clone())
        .collect()
}

/// The CPU the processes of `gateways` used so far.
fn cpu_of(gateways: &[GatewayProcess]) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut total = Duration::ZERO;
    for gateway in gateways {
        total += gateway.cpu()?;
    }
    Ok(total)
}

/// The PostgreSQL server's CPU so far, for a path on PostgreSQL; `None` for a SQLite path.
fn server_cpu(
    kind: LedgerKind,
    cluster: Option<&Cluster>,
) -> Result<Option<Duration>, Box<dyn std::error::Error>> {
    match (kind, cluster) {
        (LedgerKind::Postgres { .. }, Some(cluster)) => Ok(Some(cluster.cpu()?)),
        _ => Ok(None),
    }
}

/// Everything measured, to print.
struct Report<'a> {
    args: &'a Options,
    disk: Disk,
    ways: Vec<Way>,
    throughput: Vec<(String, compare::RawRun)>,
    /// Each path's name, in the order of `--ledgers`.
    names: Vec<String>,
    loads: Vec<Load>,
    /// Per path, per round: the ledger's CPU per void (user, kernel, server), µs.
    rounds: Vec<Vec<CpuRound>>,
}

impl Report<'_> {
    fn render(&self) -> String {
        let args = self.args;
        let mut out = String::new();
        self.disk.render(&mut out);
        let _ = writeln!(
            out,
            "\nlatency: {} sequential SOAP 1.1 voids over HTTPS per path and round, {} rounds, one keep-alive connection per replica, a path's voids taking turns over its replicas",
            args.voids, args.rounds
        );
        latency_table(&mut out, &self.ways);

        let ideal = ideal_rate(args);
        let _ = writeln!(
            out,
            "\nthroughput: {} callers spread over a path's replicas, upstream latency {} ms, ideal {ideal:.0} voids/s",
            args.callers,
            args.upstream_latency.as_millis()
        );
        throughput_table(&mut out, &self.throughput, ideal);

        let _ = writeln!(
            out,
            "\nCPU under load: {} voids per path, {} in flight, upstream answering at once; µs per void of the path's gateway processes and of every PostgreSQL process (/proc)",
            args.ledger_voids, args.callers
        );
        let _ = writeln!(
            out,
            "{:<10} {:>9} {:>10} {:>12} {:>12} {:>12} {:>9}",
            "path", "voids", "voids/s", "gateways µs", "postgres µs", "total µs", "failures"
        );
        for (name, load) in self.names.iter().zip(&self.loads) {
            let per_void = |cpu: Duration| cpu.as_secs_f64() * 1e6 / load.voids.max(1) as f64;
            let gateways = per_void(load.gateways);
            let server = load.server.map(per_void);
            let _ = writeln!(
                out,
                "{name:<10} {:>9} {:>10.0} {gateways:>12.1} {:>12} {:>12.1} {:>9}",
                load.voids,
                load.rate,
                server.map_or_else(|| "-".to_owned(), |server| format!("{server:.1}")),
                gateways + server.unwrap_or(0.0),
                load.failures
            );
        }

        let _ = writeln!(
            out,
            "\nledger CPU per void: median of {} rounds of {} voids, {} in flight, in this process through the ledger minus without it (a path's replicas: as many ledgers opened, the callers taking turns), plus every PostgreSQL process's CPU over the same voids (/proc) minus over those without",
            args.rounds, args.ledger_voids, args.callers
        );
        let _ = writeln!(
            out,
            "{:<10} {:>9} {:>9} {:>9} {:>12} {:>17}",
            "ledger", "total µs", "user µs", "kernel µs", "postgres µs", "total low to high"
        );
        for (name, rounds) in self.names.iter().zip(&self.rounds) {
            let totals: Vec<f64> = rounds.iter().map(|(u, k, s)| u + k + s).collect();
            let median =
                |pick: fn(&CpuRound) -> f64| compare::median(rounds.iter().map(pick).collect());
            let (low, high) = totals.iter().fold((f64::MAX, f64::MIN), |(low, high), d| {
                (low.min(*d), high.max(*d))
            });
            let _ = writeln!(
                out,
                "{name:<10} {:>9.1} {:>9.1} {:>9.1} {:>12.1} {:>17}",
                compare::median(totals.clone()),
                median(|round| round.0),
                median(|round| round.1),
                median(|round| round.2),
                format!("{low:.1} to {high:.1}")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledgers_are_named_as_written_and_refused_beyond_the_replicas_bound() {
        for text in ["sqlite", "postgres", "postgres-2", "postgres-4"] {
            let kind: LedgerKind = text.parse().expect("a ledger");
            assert_eq!(kind.to_string(), text);
        }
        assert_eq!(
            "postgres-1".parse::<LedgerKind>(),
            Ok(LedgerKind::Postgres { replicas: 1 })
        );
        for text in ["postgres-0", "postgres-5", "mysql", "postgres-x", ""] {
            assert!(text.parse::<LedgerKind>().is_err(), "{text} accepted");
        }
    }
}
