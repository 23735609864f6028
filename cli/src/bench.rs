//! `instamed-soap bench`: voids per second and client CPU per void, ours beside a bare hyper +
//! rustls client posting the same envelopes, against a simulator in another process (so that
//! its CPU is not counted) or any endpoint. The measuring lives in `instamed-soap-bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use instamed_soap_bench::compare;

use crate::connection::Connection;
use crate::exit;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
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

/// Runs `bench`.
pub async fn run(args: Args) -> ExitCode {
    let mut options = compare::Options::default();
    if let Some(endpoint) = &args.endpoint {
        match client(&args, endpoint) {
            Ok((settings, ca)) => {
                options.client = Some(settings);
                options.ca_cert = ca;
            }
            Err(error) => {
                eprintln!("error: {}", error.report());
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
    args: &Args,
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
