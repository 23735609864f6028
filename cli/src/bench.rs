//! `instamed-soap bench`: voids per second and client CPU per void, ours beside a bare hyper +
//! rustls client posting the same envelopes, against a simulator in another process (so that
//! its CPU is not counted) or any endpoint; `bench gateway`, what the gateway costs beside a
//! direct call, nginx and the disk. The measuring lives in `instamed-soap-bench`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use instamed_soap_bench::{compare, gateway};

use crate::connection::Connection;
use crate::exit;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    #[command(flatten)]
    compare: CompareArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// What the gateway costs, side by side in one run on loopback: the latency it adds over a
    /// direct call beside nginx as a TLS reverse proxy (installed separately; its row is
    /// skipped without it), the disk's fsync, throughput with many callers against a slow
    /// upstream, the ledger's CPU per void and the gateway's memory over many voids; or, with
    /// --ledgers, the gateway on SQLite beside replicas on PostgreSQL.
    #[command(after_help = exit::help("bench gateway", ""))]
    Gateway(GatewayArgs),
}

/// Arguments of `bench gateway`.
#[derive(Debug, clap::Args)]
struct GatewayArgs {
    /// Sequential voids per path (direct, nginx, gateway) and round, for the latency.
    #[arg(
        long,
        default_value_t = 1000,
        value_parser = crate::bounds::within::<usize>(crate::bounds::BENCH_VOIDS)
    )]
    voids: usize,
    /// Rounds of the latency and ledger CPU figures, the paths taking turns at going first.
    #[arg(
        long,
        default_value_t = 5,
        value_parser = crate::bounds::within::<usize>(crate::bounds::ROUNDS)
    )]
    rounds: usize,
    /// Callers in flight at once for the throughput, ledger CPU and memory figures.
    #[arg(
        long,
        default_value_t = 64,
        value_parser = crate::bounds::within::<usize>(crate::bounds::LOAD_CONCURRENCY)
    )]
    callers: usize,
    /// The simulator's latency for the throughput figure (the ideal is callers / latency).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "100ms",
        value_parser = crate::duration::LATENCY.parser()
    )]
    upstream_latency: Duration,
    /// Voids for the throughput figure, spread over the callers.
    #[arg(
        long,
        default_value_t = 3200,
        value_parser = crate::bounds::within::<usize>(crate::bounds::BENCH_VOIDS)
    )]
    throughput_voids: usize,
    /// Voids per round, through the ledger and without it, for the ledger's CPU per void
    /// (rounds of 4000 spread by up to a half within a run beside other work, rounds of 20000
    /// by about a fifth); with --ledgers, the voids of each path's CPU under load.
    #[arg(
        long,
        default_value_t = 20000,
        value_parser = crate::bounds::within::<usize>(crate::bounds::BENCH_VOIDS)
    )]
    ledger_voids: usize,
    /// Voids through the gateway while its resident memory is sampled every tenth (a few
    /// minutes for the default; give fewer for a quick look).
    #[arg(
        long,
        default_value_t = 100_000,
        value_parser = crate::bounds::within::<usize>(crate::bounds::BENCH_VOIDS)
    )]
    memory_voids: usize,
    /// Records of 128 bytes written and flushed with fsync, of each kind (appended, and in
    /// place as a wrapped write-ahead log), spread between the latency rounds.
    #[arg(
        long,
        default_value_t = 1000,
        value_parser = crate::bounds::within::<usize>(crate::bounds::BENCH_VOIDS)
    )]
    fsyncs: usize,
    /// The folder the gateway's ledgers and the fsync file go in: put it on the disk a
    /// production ledger would live on. Default: the temporary folder.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Leave nginx out.
    #[arg(long)]
    no_nginx: bool,
    /// Instead of the figures above: the gateway on each of these ledgers side by side, one
    /// run against the same simulators (latency added over a direct call, throughput, CPU
    /// under load, the ledger's CPU per void with PostgreSQL's server CPU counted): `sqlite`
    /// (one gateway on a SQLite file), `postgres` (one on PostgreSQL), `postgres-N` (N
    /// replicas on one database, the voids taking turns over them; N up to 4). PostgreSQL
    /// is a throwaway cluster started in --dir with the server binaries of this machine
    /// (initdb, pg_ctl), removed at the end.
    #[arg(
        long,
        value_name = "LEDGER,...",
        value_delimiter = ',',
        value_parser = clap::value_parser!(gateway::LedgerKind)
    )]
    ledgers: Vec<gateway::LedgerKind>,
}

/// Arguments of `bench` comparing ours with the bare client.
#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// The service to measure against; without it a simulator is started in another process.
    /// It is reached as the connection options below say (and the profile, never for the
    /// endpoint itself: a bench voids every payment it is given), directly unless --proxy or
    /// the profile names a proxy; the raw baseline goes direct, trusting the first --ca-cert,
    /// so a proxy needs --no-raw.
    #[arg(long)]
    endpoint: Option<String>,
    /// Payments to void, as the simulator's seed file (first column: transaction ID). Needed
    /// with --endpoint; the raw client takes the IDs after ours.
    #[arg(long)]
    seed_file: Option<PathBuf>,
    /// Protocol: soap11, soap12 or nvp.
    #[arg(long, default_value = "soap11", value_parser = ["soap11", "soap12", "nvp"])]
    protocol: String,
    /// Voids per client and round, 1 to 100000.
    #[arg(
        long,
        default_value_t = 2000,
        value_parser = crate::bounds::within::<usize>(crate::bounds::BENCH_VOIDS)
    )]
    voids: usize,
    /// Voids in flight at once (1: sequential over one keep-alive connection), up to 1024.
    #[arg(
        long,
        default_value_t = 1,
        value_parser = crate::bounds::within::<usize>(crate::bounds::LOAD_CONCURRENCY)
    )]
    concurrency: usize,
    /// With the started simulator: plain HTTP instead of HTTPS.
    #[arg(long)]
    plain_http: bool,
    /// Skip the raw hyper + rustls baseline.
    #[arg(long)]
    no_raw: bool,
    /// Rounds of --voids voids per client, ours and the raw client taking turns (and turns at
    /// going first). Figures are medians over the rounds, so that a burst of other work on the
    /// machine moves one round, not the result. 1 to 20.
    #[arg(
        long,
        default_value_t = 5,
        value_parser = crate::bounds::within::<usize>(crate::bounds::ROUNDS)
    )]
    rounds: usize,
    /// One JSON line per client instead of a table.
    #[arg(long)]
    json: bool,
    /// How --endpoint is reached: the options `void` takes.
    #[command(flatten, next_help_heading = "Connection to --endpoint")]
    connection: Connection,
}

/// Runs `bench` or `bench gateway`.
pub async fn run(args: Args) -> ExitCode {
    match args.mode {
        Some(Mode::Gateway(gateway)) => run_gateway(gateway).await,
        None => run_compare(args.compare).await,
    }
}

async fn run_gateway(args: GatewayArgs) -> ExitCode {
    let mut options = gateway::Options::default();
    options.voids = args.voids;
    options.rounds = args.rounds;
    options.callers = args.callers;
    options.upstream_latency = args.upstream_latency;
    options.throughput_voids = args.throughput_voids;
    options.ledger_voids = args.ledger_voids;
    options.memory_voids = args.memory_voids;
    options.fsyncs = args.fsyncs;
    options.dir = args.dir;
    options.no_nginx = args.no_nginx;
    options.ledgers = args.ledgers;
    match gateway::run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit::FAILED)
        }
    }
}

async fn run_compare(args: CompareArgs) -> ExitCode {
    let mut options = compare::Options::default();
    if let Some(endpoint) = &args.endpoint {
        match client(&args, endpoint) {
            Ok((settings, ca)) => {
                options.client = Some(settings);
                options.ca_cert = ca;
            }
            Err(error) => {
                eprintln!("error: {}", crate::output::error_line(&error));
                return ExitCode::from(exit::INVALID);
            }
        }
    }
    options.endpoint = args.endpoint;
    options.seed_file = args.seed_file;
    options.protocol = args.protocol;
    options.voids = args.voids;
    options.concurrency = args.concurrency;
    options.plain_http = args.plain_http;
    options.no_raw = args.no_raw;
    options.rounds = args.rounds;
    options.json = args.json;
    match compare::run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit::FAILED)
        }
    }
}

/// How ours reaches `endpoint` (the connection options applied; direct unless a proxy is
/// named), and the CA file the raw baseline trusts.
fn client(
    args: &CompareArgs,
    endpoint: &str,
) -> Result<(instamed_soap::ClientBuilder, Option<PathBuf>), instamed_soap::Error> {
    let connection = &args.connection;
    let mut builder = connection.apply(instamed_soap::Client::builder(endpoint))?;
    if !connection.names_proxy()? {
        // As the raw client it is compared with: a proxy from the environment would measure
        // the proxy.
        builder = builder.no_proxy();
    } else if !args.no_raw {
        return Err(instamed_soap::Error::InvalidConfig {
            reason: "the raw baseline cannot go through a proxy: give --no-raw to measure \
                     ours alone through it"
                .into(),
            source: None,
        });
    }
    Ok((builder, connection.ca_certs()?.first().cloned()))
}
