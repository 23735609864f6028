//! `instamed-soap bench`: voids per second and client CPU per void, ours beside a bare hyper +
//! rustls client posting the same envelopes, against a simulator in another process (so that
//! its CPU is not counted) or any endpoint. The measuring lives in `instamed-soap-bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use instamed_soap_bench::compare;

use crate::exit;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service to measure against; without it a simulator is started in another process.
    #[arg(long)]
    endpoint: Option<String>,
    /// CA certificate for the endpoint (PEM).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
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
}

/// Runs `bench`.
pub async fn run(args: Args) -> ExitCode {
    let mut options = compare::Options::default();
    options.endpoint = args.endpoint;
    options.ca_cert = args.ca_cert;
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
