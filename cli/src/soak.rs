//! `instamed-soap soak`: many concurrent voids against the simulator with injected faults, and
//! an account of every single one against the simulator's ledger. The soak itself lives in
//! `instamed-soap-bench`.

use std::process::ExitCode;

use instamed_soap_bench::soak;

use crate::exit;

/// Arguments of `soak`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many payments to void, 1 to 1000000.
    #[arg(
        long,
        default_value_t = 50_000,
        value_parser = crate::bounds::within::<usize>(crate::bounds::SOAK_VOIDS)
    )]
    voids: usize,
    /// How many voids are in flight at once, 1 to 1024.
    #[arg(
        long,
        default_value_t = 200,
        value_parser = crate::bounds::within::<usize>(crate::bounds::LOAD_CONCURRENCY)
    )]
    concurrency: usize,
    /// Share of requests (0 to 1) that meet an injected fault, spread evenly over server
    /// faults, HTTP 503, dropped connections, cut answers and garbage.
    #[arg(long, default_value_t = 0.01, value_parser = crate::bounds::share)]
    fault_rate: f64,
    /// Seed of the fault injection.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Protocol: soap11, soap12 or nvp.
    #[arg(long, default_value = "soap11", value_parser = ["soap11", "soap12", "nvp"])]
    protocol: String,
}

/// Runs `soak`.
pub async fn run(args: Args) -> ExitCode {
    let mut options = soak::Options::default();
    options.voids = args.voids;
    options.concurrency = args.concurrency;
    options.fault_rate = args.fault_rate;
    options.seed = args.seed;
    options.protocol = args.protocol;
    match soak::run(&options).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(exit::FAILED),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit::FAILED)
        }
    }
}
