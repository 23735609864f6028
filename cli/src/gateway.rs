//! `instamed-soap gateway`: the adapter service between an ERP and InstaMed, and `gateway
//! hash-secret`, which prints a client's line of the clients file.

use std::io::{BufRead as _, ErrorKind, IsTerminal as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use instamed_soap::sso::{SsoAccount, SsoClient};
use instamed_soap::{Client, Credentials, Error, Outlet, Protocol, UserName};
use instamed_soap_contract::Recorder;
use instamed_soap_gateway::{
    Clients, Gateway, GatewayConfig, GatewayError, Running, Tls, Upstream, hash_secret,
};
use instamed_soap_listener::ListenError;
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, DEMO_SSO_ALIAS, DEMO_SSO_KEY, Simulator, SimulatorConfig,
};

use crate::connection::Connection;
use crate::exit;

/// The demo client `--demo` lets in, printed for a first try (like `serve`'s demo key pair).
const DEMO_CLIENT: &str = "demo-erp:demo-erp-secret";

/// Keep-alive connections to the upstream the gateway keeps open while idle. ERPs' requests
/// come in bursts of many at once: with the client's default of 8, every request of a burst
/// beyond the eighth opened a connection of its own (a name lookup on a blocking thread and a
/// TLS handshake each; 1180 of them in 5 s at 64 callers in `bench gateway`).
const UPSTREAM_IDLE_CONNECTIONS: usize = 64;

/// Notes for `gateway --help`.
pub const HELP: &str = "\
The ERP changes one URL: InstaMed's service.asmx becomes the `soap:` address printed, and its \
credentials become the client's own name and secret. Each answer is described in \
docs/gateway.md. Start with `instamed-soap gateway --demo`.";

/// Arguments of `gateway`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Read a secret on standard input (one line) and print its salted hash (Argon2id): the
    /// value of a client's line in the --clients file, or of an operator's in --operators.
    #[command(after_help = exit::help("gateway hash-secret", ""))]
    HashSecret,
}

/// The flags of the service itself.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Address to listen on (port 0 picks a free one; the addresses printed say which).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// The server certificate (PEM, chain after it) ERPs see.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The name ERPs reach the gateway by (one the certificate holds), for the printed
    /// addresses; default: the listening address (localhost for a loopback or unspecified one).
    #[arg(long, value_name = "NAME|IP")]
    hostname: Option<instamed_soap_listener::Hostname>,
    /// Serve plain HTTP instead of HTTPS: on a loopback address only.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    plain_http: bool,
    /// InstaMed's SOAP service, e.g. https://connect.instamed.com/payment/service.asmx (or
    /// INSTAMED_ENDPOINT, or `endpoint` in the profile).
    #[arg(long, env = "INSTAMED_ENDPOINT", hide_env_values = true)]
    upstream: Option<String>,
    /// How voids and refunds are sent to InstaMed: soap11, soap12, nvp or rest (default: the
    /// profile's, else soap11). Other operations are forwarded as the ERP wrote them.
    #[arg(long, value_parser = ["soap11", "soap12", "nvp", "rest"])]
    protocol: Option<String>,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    ledger: crate::ledger::Choice,
    /// The clients file: a [clients] table of NAME = "HASH" lines (`gateway hash-secret`
    /// prints a hash).
    #[arg(long, value_name = "FILE")]
    clients: Option<PathBuf>,
    /// A client as NAME:SECRET, for a quick start (repeat for more); the secret is hashed at
    /// start and kept only as its hash. A command line is visible to other users: prefer
    /// --clients.
    #[arg(long = "client", value_name = "NAME:SECRET")]
    client: Vec<String>,
    /// The operators file: an [operators] table of NAME = "HASH" lines (`gateway hash-secret`
    /// prints a hash). Serves the operator pages at /ops, where a person settles by hand what
    /// software cannot (docs/operators.md). Operators are not ERP clients: neither signs in as
    /// the other.
    #[arg(long, value_name = "FILE")]
    operators: Option<PathBuf>,
    /// Requests each client may make per second, with bursts of twice as many; more are
    /// answered 429 with Retry-After. 0 turns the limit off.
    #[arg(long, value_name = "PER_SECOND", default_value_t = instamed_soap_gateway::DEFAULT_RATE_LIMIT)]
    rate_limit: u32,
    /// Threads that serve ERPs' requests (the ledger has a thread of its own, and Argon2
    /// verifications a pool of their own). One serves thousands of voids a second. Threads
    /// wake each other to share work as requests come, and that costs an ERP calling one at a
    /// time about 0.1-0.2 ms a void on two cores (docs/gateway.md): raise it on a machine with
    /// many cores and many ERPs, or many new TLS connections at once.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = crate::bounds::within::<usize>(crate::bounds::GATEWAY_THREADS))]
    threads: usize,
    /// With a ledger on PostgreSQL shared by replicas: how long a replica's claim on a payment
    /// holds while its request is out (default 120s). A replica that dies leaves its payments
    /// to the others once it runs out; keep it longer than a call with its retries takes.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::LEASE.parser())]
    lease: Option<std::time::Duration>,
    /// Write every exchange with InstaMed as a cassette in DIR (secrets redacted as `contract
    /// record` redacts them; `contract verify DIR` checks them against this build).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Start in front of the embedded simulator, with a CA made at start, a ledger of its own
    /// and a demo client, and print them.
    #[arg(long, conflicts_with_all = ["upstream", "tls_cert", "tls_key"])]
    demo: bool,
    #[command(flatten)]
    account: crate::sign_in::Account,
    #[command(flatten)]
    key_pair: crate::sign_in::KeyPair,
    /// InstaMed's SSOService.asmx: with it the gateway offers POST /v1/sso/voids (Single
    /// Sign-On voids, signed in as `sso` is: INSTAMED_SSO_ACCOUNT_ID, INSTAMED_SSO_ALIAS,
    /// INSTAMED_SSO_KEY); without it that route answers 404.
    #[arg(long, env = "INSTAMED_SSO_ENDPOINT", hide_env_values = true)]
    sso_endpoint: Option<String>,
    #[command(flatten)]
    sso: crate::sso::SsoSignIn,
}

impl Args {
    /// The runtime's worker threads `gateway` asks for (`--threads`).
    pub fn threads(&self) -> usize {
        self.run.threads
    }
}

/// Runs `gateway` (until Ctrl-C or SIGTERM) or `gateway hash-secret`.
pub async fn run(args: Args) -> ExitCode {
    match args.command {
        Some(Command::HashSecret) => hash_secret_from_stdin(),
        None if args.run.demo => demo(args.run).await,
        None => serve(args.run).await,
    }
}

fn hash_secret_from_stdin() -> ExitCode {
    if std::io::stdin().is_terminal() {
        eprintln!("type the client's secret, then Enter (it is not shown back):");
    }
    let mut line = String::new();
    if let Err(error) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("error: cannot read the secret from standard input: {error}");
        return ExitCode::from(exit::INVALID);
    }
    let secret = line.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        eprintln!("error: the secret is empty: give it on standard input, one line");
        return ExitCode::from(exit::INVALID);
    }
    match hash_secret(secret) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::from(exit::VOIDED)
        }
        Err(error) => {
            eprintln!("error: {}", crate::causes::chain(&error));
            ExitCode::from(exit::FAILED)
        }
    }
}

async fn serve(args: RunArgs) -> ExitCode {
    let recorder = match recorder(&args) {
        Ok(recorder) => recorder,
        Err(code) => return code,
    };
    let config = match config(&args, recorder.as_ref()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let running = match start(config).await {
        Ok(running) => running,
        Err(code) => return code,
    };
    announce(&running, recorded(recorder.as_ref())).await;
    running.stop().await;
    if let Some(recorder) = recorder {
        recorder.flush();
    }
    ExitCode::from(exit::VOIDED)
}

/// `--record DIR`'s recorder, or the exit code after saying why the folder cannot be used.
fn recorder(args: &RunArgs) -> Result<Option<Recorder>, ExitCode> {
    let Some(dir) = &args.record else {
        return Ok(None);
    };
    Recorder::start(dir, false).map(Some).map_err(|error| {
        eprintln!(
            "error: --record: cannot write cassettes in {}: {error}",
            dir.display()
        );
        ExitCode::from(exit::INVALID)
    })
}

/// The line that says where cassettes go, when they do.
fn recorded(recorder: Option<&Recorder>) -> Vec<(&'static str, String)> {
    recorder
        .map(|recorder| ("record:", recorder.dir().display().to_string()))
        .into_iter()
        .collect()
}

/// The gateway's configuration from the flags, or the exit code after saying what is wrong.
fn config(args: &RunArgs, recorder: Option<&Recorder>) -> Result<GatewayConfig, ExitCode> {
    let invalid = |reason: String| {
        eprintln!("error: {reason}");
        ExitCode::from(exit::INVALID)
    };
    let tls = match (&args.tls_cert, &args.tls_key, args.plain_http) {
        (Some(cert), Some(key), false) => {
            match instamed_soap_listener::server_config_from_pem_files(cert, key) {
                Ok(server) => Tls::Certificate {
                    server,
                    host: args.hostname.clone(),
                },
                Err(error) => return Err(invalid(crate::causes::chain(&error))),
            }
        }
        (None, None, true) => Tls::PlainHttp,
        _ => {
            return Err(invalid(
                "give --tls-cert and --tls-key (the certificate ERPs see), or --plain-http on \
                 a loopback address"
                    .to_owned(),
            ));
        }
    };
    if matches!(tls, Tls::PlainHttp) && !args.listen.ip().is_loopback() {
        return Err(invalid(format!(
            "--plain-http is served on a loopback address only ({} is not one): an ERP's \
             secret and its payments would cross the network in clear; give --tls-cert and \
             --tls-key",
            args.listen.ip()
        )));
    }
    let clients = clients(args).map_err(invalid)?;
    let upstream =
        upstream(args, recorder).map_err(|error| invalid(crate::causes::chain(&error)))?;
    let ledger = args.ledger.path().map_err(invalid)?;
    let mut config = GatewayConfig::new(args.listen, tls, upstream, ledger, clients);
    config.rate_limit = std::num::NonZeroU32::new(args.rate_limit);
    config.operators = operators(args).map_err(invalid)?;
    if let Some(lease) = args.lease {
        config.lease = lease;
    }
    Ok(config)
}

/// The operators `--operators` names, if it names a file.
fn operators(args: &RunArgs) -> Result<Option<Clients>, String> {
    let Some(path) = &args.operators else {
        return Ok(None);
    };
    let operators = Clients::new()
        .and_then(|operators| operators.load_table(path, "operators"))
        .map_err(|error| format!("--operators: {}", crate::causes::chain(&error)))?;
    if operators.is_empty() {
        return Err(format!(
            "--operators: {} names no operator, so nobody could sign in to /ops",
            path.display()
        ));
    }
    Ok(Some(operators))
}

fn clients(args: &RunArgs) -> Result<Clients, String> {
    let mut clients = Clients::new().map_err(|error| crate::causes::chain(&error))?;
    if let Some(path) = &args.clients {
        clients = clients
            .load(path)
            .map_err(|error| crate::causes::chain(&error))?;
    }
    for pair in &args.client {
        clients
            .add_pair(pair)
            .map_err(|error| format!("--client: {}", crate::causes::chain(&error)))?;
    }
    if clients.is_empty() {
        return Err(
            "no client could sign in: give --clients FILE or --client NAME:SECRET".to_owned(),
        );
    }
    Ok(clients)
}

/// The client to InstaMed, with the connection flags `void` has, and InstaMed's credentials
/// for what is forwarded.
fn upstream(args: &RunArgs, recorder: Option<&Recorder>) -> Result<Upstream, Error> {
    let profile = args.connection.profile()?;
    let endpoint = args
        .upstream
        .clone()
        .or(profile.endpoint.clone())
        .ok_or_else(|| Error::InvalidConfig {
            reason: "--upstream is missing: give InstaMed's service.asmx URL (or \
                     INSTAMED_ENDPOINT, or endpoint in a profile)"
                .to_owned(),
            source: None,
        })?;
    let protocol: Protocol = args
        .protocol
        .as_deref()
        .or(profile.protocol.as_deref())
        .unwrap_or("soap11")
        .parse()
        .map_err(|reason: String| Error::InvalidConfig {
            reason,
            source: None,
        })?;
    let credentials = args.account.given(&args.connection)?;
    let mut builder = Client::builder(&endpoint)
        .protocol(protocol)
        .max_idle_connections(UPSTREAM_IDLE_CONNECTIONS);
    if let Some(recorder) = recorder {
        builder = builder.wire_observer(recorder.clone());
    }
    builder = if protocol == Protocol::Rest {
        builder.api_key(args.key_pair.api_key(&args.connection)?)
    } else {
        builder.credentials(args.account.credentials(&args.connection)?)
    };
    let client = args.connection.apply(builder)?.build()?;
    let upstream = Upstream::new(client, &endpoint).map_err(|error| Error::InvalidConfig {
        reason: format!("--upstream: {error}"),
        source: None,
    })?;
    let upstream = match &args.sso_endpoint {
        Some(sso) => {
            let sso_protocol = if protocol == Protocol::Soap12 {
                Protocol::Soap12
            } else {
                Protocol::Soap11
            };
            upstream.sso(args.sso.client(
                sso,
                sso_protocol,
                &args.connection,
                profile.account_id.clone(),
                recorder,
            )?)
        }
        None => upstream,
    };
    Ok(match credentials {
        Some(credentials) => upstream.credentials(credentials, UserName::AccountId),
        None => upstream,
    })
}

/// Starts the gateway, or says why not on standard error and gives the exit code.
async fn start(config: GatewayConfig) -> Result<Running, ExitCode> {
    match Gateway::start(config).await {
        Ok(running) => Ok(running),
        Err(GatewayError::Listen(ListenError::Bind { addr, source }))
            if source.kind() == ErrorKind::AddrInUse =>
        {
            eprintln!("error: {addr} is already in use; pick another --listen address or port 0");
            Err(ExitCode::from(exit::ADDRESS_IN_USE))
        }
        Err(GatewayError::Ledger(error)) => {
            // The ledger's own words name the file and what is wrong with it.
            eprintln!("error: {}", crate::causes::chain(&error));
            Err(ExitCode::from(exit::LEDGER))
        }
        Err(error) => {
            eprintln!(
                "error: cannot start the gateway: {}",
                crate::causes::chain(&error)
            );
            Err(ExitCode::from(exit::FAILED))
        }
    }
}

/// Prints the addresses (and `extra` lines), then waits for Ctrl-C or SIGTERM.
async fn announce(running: &Running, extra: Vec<(&str, String)>) {
    tracing::info!(
        threads = tokio::runtime::Handle::current().metrics().num_workers(),
        "gateway serving"
    );
    let mut lines = vec![
        ("soap:", running.soap_url()),
        ("api:", running.api_url()),
        ("metrics:", running.metrics_url()),
    ];
    if running.serves_ops() {
        lines.push(("ops:", running.ops_url()));
    }
    if let Some(ca) = running.ca_path() {
        lines.push(("ca-cert:", ca.display().to_string()));
    }
    lines.extend(extra);
    crate::announce_and_wait(&lines, "").await;
}

/// `--demo`: the embedded simulator behind the gateway, a demo client and a payment to void.
async fn demo(args: RunArgs) -> ExitCode {
    let simulator = match Simulator::start(SimulatorConfig::default()).await {
        Ok(simulator) => simulator,
        Err(error) => {
            eprintln!(
                "error: cannot start the simulator: {}",
                crate::causes::chain(&error)
            );
            return ExitCode::from(exit::FAILED);
        }
    };
    // The demo's ledger is its own unless one is chosen: a first try must not leave entries
    // in the ledger real voids use.
    let scratch = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("error: cannot make a folder for the demo's ledger: {error}");
            return ExitCode::from(exit::FAILED);
        }
    };
    let ledger = args
        .ledger
        .ledger
        .clone()
        .unwrap_or_else(|| scratch.path().join("ledger.db"));
    let recorder = match recorder(&args) {
        Ok(recorder) => recorder,
        Err(code) => return code,
    };
    let mut builder = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .max_idle_connections(UPSTREAM_IDLE_CONNECTIONS);
    if let Some(recorder) = &recorder {
        builder = builder.wire_observer(recorder.clone());
    }
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let upstream = builder
        .build()
        .map_err(|error| crate::causes::chain(&error))
        .and_then(|client| Upstream::new(client, &simulator.endpoint()).map_err(|e| e.to_string()));
    // The demo offers Single Sign-On voids too, against the simulator's SSO side.
    let sso = upstream.as_ref().ok().and_then(|_| {
        let mut service = Client::builder(simulator.sso_service_endpoint());
        if let Some(recorder) = &recorder {
            service = service.wire_observer(recorder.clone());
        }
        if let Some(ca) = simulator.ca_path() {
            service = service.ca_certificate_file(ca);
        }
        SsoClient::new(
            service,
            simulator.sso_login_url(),
            SsoAccount::new(DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, DEMO_SSO_KEY),
        )
        .ok()
    });
    let upstream = match upstream {
        Ok(upstream) => {
            let upstream = upstream.credentials(
                Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD),
                UserName::AccountId,
            );
            match sso {
                Some(sso) => upstream.sso(sso),
                None => upstream,
            }
        }
        Err(reason) => {
            eprintln!("error: {reason}");
            return ExitCode::from(exit::FAILED);
        }
    };
    let mut args = args;
    args.client.push(DEMO_CLIENT.to_owned());
    let clients = match clients(&args) {
        Ok(clients) => clients,
        Err(reason) => {
            eprintln!("error: {reason}");
            return ExitCode::from(exit::INVALID);
        }
    };
    let tls = if args.plain_http {
        Tls::PlainHttp
    } else {
        Tls::Generated { ca_out: None }
    };
    let mut config = GatewayConfig::new(args.listen, tls, upstream, ledger, clients);
    config.rate_limit = std::num::NonZeroU32::new(args.rate_limit);
    config.operators = match operators(&args) {
        Ok(operators) => operators,
        Err(reason) => {
            eprintln!("error: {reason}");
            return ExitCode::from(exit::INVALID);
        }
    };
    let running = match start(config).await {
        Ok(running) => running,
        Err(code) => return code,
    };
    let payment = Outlet::new("123123123", "123", "456")
        .ok()
        .and_then(|outlet| simulator.ledger().create_payment(&outlet, "10.00").ok())
        .map(|payment| format!("{payment} (10.00 at merchant 123123123, store 123, terminal 456)"))
        .unwrap_or_default();
    let mut lines = vec![("client:", DEMO_CLIENT.to_owned()), ("payment:", payment)];
    lines.extend(recorded(recorder.as_ref()));
    announce(&running, lines).await;
    running.stop().await;
    if let Some(recorder) = recorder {
        recorder.flush();
    }
    simulator.shutdown().await;
    ExitCode::from(exit::VOIDED)
}
