//! `instamed-soap serve`: the simulator as a process of its own.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_API_SECRET, DEMO_SSO_ALIAS, DEMO_SSO_KEY, FaultPlan,
    Hostname, RefusalStyle, Simulator, SimulatorConfig, SimulatorError, SuccessMessage,
};

use crate::exit;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    listen: crate::contract::Listen,
    /// The port to listen on, on the address of --listen (0 picks a free one; the address
    /// printed says which).
    #[arg(long)]
    port: Option<u16>,
    /// Another name or IP address clients reach the simulator by (from a container, another
    /// host), put in the server certificate beside localhost, 127.0.0.1 and ::1; repeat for
    /// more. The first one is also the host of the printed URLs.
    #[arg(long = "hostname", value_name = "NAME|IP")]
    hostnames: Vec<Hostname>,
    /// An account the simulator accepts, as ACCOUNT_ID:PASSWORD; repeat for more (default:
    /// demo@instamed.test:demo-password).
    #[arg(long = "account", value_name = "ID:PASSWORD")]
    accounts: Vec<String>,
    /// A REST API key pair the simulator accepts, as KEY:SECRET; repeat for more (default:
    /// demo-api-key:demo-api-secret).
    #[arg(long = "api-key", value_name = "KEY:SECRET")]
    api_keys: Vec<String>,
    /// Keep the ledger in this file, so that payments survive a restart.
    #[arg(long)]
    ledger_file: Option<PathBuf>,
    /// Create the payments listed in this file at start (CSV lines
    /// `transaction_id,merchant_id,store_id,terminal_id,amount`; `#` starts a comment).
    #[arg(long)]
    seed_file: Option<PathBuf>,
    /// A payment older than this can no longer be voided (its funds transfer has begun): a
    /// duration such as 90s, 2h or 30days (a bare number is seconds), at most 3650days. Without
    /// it, only an explicit transfer start blocks a void.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::AGE.parser())]
    void_cutoff: Option<Duration>,
    /// How long a Single Sign-On token stays good: a duration such as 90s or 15m (a bare number
    /// is seconds); default 15m, InstaMed's; 0 makes every token expired at once, for tests.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::AGE.parser())]
    sso_token_lifetime: Option<Duration>,
    /// A payment older than this can no longer be refunded: a duration such as 90s, 2h or
    /// 365days (a bare number is seconds), at most 3650days; default 365days. 0 turns the limit
    /// off.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::AGE.parser())]
    refund_window: Option<Duration>,
    /// How refusals are answered: as a decline result (`decline`) or as a SOAP fault / NVP
    /// error (`fault`).
    #[arg(long, default_value = "decline", value_parser = ["decline", "fault"])]
    refusals: String,
    /// The message of a successful void: APPROVED or VOIDED.
    #[arg(long, default_value = "APPROVED", value_parser = ["APPROVED", "VOIDED"])]
    success_message: String,
    /// Seed of the fault injection, so that a run can be repeated exactly.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Latency added to every SOAP, NVP and REST answer: a duration such as 250ms or 2s, from
    /// 0 to 10m.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "0s",
        value_parser = crate::duration::LATENCY.parser()
    )]
    latency: Duration,
    /// Share of requests (0 to 1) answered with a server fault.
    #[arg(long, default_value_t = 0.0, value_parser = crate::bounds::share)]
    fault_rate: f64,
    /// Share of requests (0 to 1) answered with HTTP 503.
    #[arg(long, default_value_t = 0.0, value_parser = crate::bounds::share)]
    unavailable_rate: f64,
    /// Share of requests (0 to 1) answered with HTTP 500 and no body.
    #[arg(long, default_value_t = 0.0, value_parser = crate::bounds::share)]
    bare_fault_rate: f64,
    /// Share of requests (0 to 1) whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0, value_parser = crate::bounds::share)]
    reset_rate: f64,
    /// Share of requests (0 to 1) answered with a body cut in half.
    #[arg(long, default_value_t = 0.0, value_parser = crate::bounds::share)]
    truncate_rate: f64,
    /// Share of requests (0 to 1) answered with a body that is not XML.
    #[arg(long, default_value_t = 0.0, value_parser = crate::bounds::share)]
    malformed_rate: f64,
    /// Stop injecting faults after this many.
    #[arg(long)]
    max_faults: Option<u64>,
}

/// Runs `serve` until Ctrl-C.
pub async fn run(args: Args) -> ExitCode {
    let config = match config(&args) {
        Ok(config) => config,
        Err(reason) => {
            eprintln!("error: {reason}");
            return ExitCode::from(exit::INVALID);
        }
    };
    let simulator = match Simulator::start(config).await {
        Ok(simulator) => simulator,
        Err(error) => {
            if let SimulatorError::Listen(listen) = &error
                && let Some(addr) = crate::contract::address_in_use(listen)
            {
                eprintln!(
                    "error: port {addr} is already in use; pick another with --port or use --port 0"
                );
                return ExitCode::from(exit::ADDRESS_IN_USE);
            }
            eprintln!(
                "error: cannot start the simulator: {}",
                crate::causes::chain(&error)
            );
            return ExitCode::from(exit::FAILED);
        }
    };
    let mut lines = vec![
        ("endpoint:", simulator.endpoint()),
        ("nvp:", simulator.nvp_endpoint()),
        ("rest:", simulator.rest_base()),
    ];
    // The secret is shown only for the built-in demo pair, which is documented anyway; a pair
    // given on the command line is the user's own secret.
    if args.api_keys.is_empty() {
        lines.push(("api-key:", format!("{DEMO_API_KEY}:{DEMO_API_SECRET}")));
    }
    lines.push(("sso:", simulator.sso_login_url()));
    lines.push(("sso-asmx:", simulator.sso_service_endpoint()));
    // The demo SSO account, documented as the demo API key pair is.
    lines.push((
        "sso-acct:",
        format!("{DEMO_ACCOUNT_ID} alias {DEMO_SSO_ALIAS} key {DEMO_SSO_KEY}"),
    ));
    if let Some(ca) = simulator.ca_path() {
        lines.push(("ca-cert:", ca.display().to_string()));
    }
    crate::announce_and_wait(&lines, "").await;
    simulator.shutdown().await;
    ExitCode::from(exit::VOIDED)
}

fn config(args: &Args) -> Result<SimulatorConfig, String> {
    let mut accounts = Vec::new();
    for account in &args.accounts {
        // An empty part could never sign in: the client refuses empty credentials.
        match account.split_once(':') {
            Some((id, password)) if !id.is_empty() && !password.is_empty() => {
                accounts.push((id.to_owned(), password.to_owned()));
            }
            _ => {
                return Err("--account takes ACCOUNT_ID:PASSWORD, neither of them empty".to_owned());
            }
        }
    }
    let mut api_keys = Vec::new();
    for pair in &args.api_keys {
        match pair.split_once(':') {
            Some((key, secret)) if !key.is_empty() && !secret.is_empty() => {
                api_keys.push((key.to_owned(), secret.to_owned()));
            }
            _ => return Err("--api-key takes KEY:SECRET, both non-empty".to_owned()),
        }
    }
    let faults = FaultPlan {
        seed: args.seed,
        latency: args.latency,
        fault_rate: args.fault_rate,
        unavailable_rate: args.unavailable_rate,
        reset_rate: args.reset_rate,
        truncate_rate: args.truncate_rate,
        malformed_rate: args.malformed_rate,
        bare_fault_rate: args.bare_fault_rate,
        max_faults: args.max_faults,
    };
    let mut listen = args.listen.listen;
    if let Some(port) = args.port {
        if listen.port() != 0 {
            return Err(format!(
                "give the port once: --listen {listen} already has one, and --port {port} is another"
            ));
        }
        listen.set_port(port);
    }
    // The first name is the host of the printed URLs; an address the server does not listen
    // on would print URLs that reach nothing.
    if let Some(Hostname::Ip(ip)) = args.hostnames.first()
        && !listen.ip().is_unspecified()
        && *ip != listen.ip()
    {
        eprintln!(
            "warning: the printed URLs name {ip}, but the simulator listens on {}; give \
             --listen {} (or 0.0.0.0 / [::]) to be reached there",
            listen.ip(),
            std::net::SocketAddr::new(*ip, listen.port())
        );
    }
    let mut config = SimulatorConfig::default();
    config.listen = listen;
    config.hostnames = args.hostnames.clone();
    config.tls = !args.listen.plain_http;
    config.ca_out = args.listen.ca_out.clone();
    if !accounts.is_empty() {
        config.accounts = accounts;
    }
    if !api_keys.is_empty() {
        config.api_keys = api_keys;
    }
    config.void_cutoff = args.void_cutoff;
    if let Some(lifetime) = args.sso_token_lifetime {
        config.sso_token_lifetime = lifetime;
    }
    match args.refund_window {
        Some(window) if window.is_zero() => config.refund_window = None,
        Some(window) => config.refund_window = Some(window),
        None => {}
    }
    config.refusal_style = if args.refusals == "fault" {
        RefusalStyle::Fault
    } else {
        RefusalStyle::Decline
    };
    config.success_message = if args.success_message == "VOIDED" {
        SuccessMessage::Voided
    } else {
        SuccessMessage::Approved
    };
    config.faults = faults;
    config.ledger_file = args.ledger_file.clone();
    config.seed_file = args.seed_file.clone();
    Ok(config)
}
