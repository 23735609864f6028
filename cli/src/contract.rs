//! `record`, `replay`, `contract verify` and `contract import-har`: contract testing from the
//! command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use instamed_soap_contract::{self as contract, ContractServer, ServeOptions, Upstream};

use crate::connection::Connection;
use crate::exit;

/// Where a server (the simulator, a recording proxy, a replaying server) listens.
#[derive(Debug, clap::Args)]
pub struct Listen {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub plain_http: bool,
    /// Where to write the CA certificate clients must trust (default: a new file in the
    /// temporary directory; its path is printed).
    #[arg(long)]
    pub ca_out: Option<PathBuf>,
}

/// The address a server could not listen on because another listener holds it: a mistake a
/// script can mend by picking another port, so it has an exit code of its own.
pub fn address_in_use(error: &instamed_soap_listener::ListenError) -> Option<SocketAddr> {
    match error {
        instamed_soap_listener::ListenError::Bind { addr, source }
            if source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            Some(*addr)
        }
        _ => None,
    }
}

impl Listen {
    fn options(&self) -> ServeOptions {
        let mut options = ServeOptions::default();
        options.listen = self.listen;
        options.tls = !self.plain_http;
        options.ca_out = self.ca_out.clone();
        options
    }
}

/// Arguments of `record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The service to forward to, e.g. https://connect.instamed.com/payment/service.asmx
    /// (default: the profile's endpoint). It is reached (connection and TLS handshake, with
    /// the connection options below) before the endpoint is printed: exit 2 when it cannot be.
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// Directory the cassettes are written to (created if missing).
    #[arg(long)]
    cassettes: PathBuf,
    /// Lay the cassettes' XML and JSON bodies out for review: one element (or JSON value) a
    /// line, indented, XML attributes in a stable order. Matched and verified as the bodies
    /// as sent: only white space between elements changes.
    #[arg(long)]
    pretty: bool,
    #[command(flatten)]
    listen: Listen,
    /// How the upstream is reached: the options `void` takes, and its profile.
    #[command(flatten, next_help_heading = "Connection to the upstream")]
    connection: Connection,
}

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Directory of cassettes to answer from.
    cassettes: PathBuf,
    /// Write every request received, matched or not, to this file as JSON Lines (emptied at
    /// start; one line per request the moment it is answered; bodies redacted), for
    /// `contract verify-calls`.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Answer a SOAP or NVP request not signed in as this account ID (with the password of
    /// INSTAMED_PASSWORD, or of --expect-password-file) as the service answers a refused
    /// sign-in (HTTP 401), and journal it as such.
    #[arg(long, value_name = "ID")]
    expect_account_id: Option<String>,
    /// The password --expect-account-id must sign in with, read from this file (mode 0600)
    /// instead of INSTAMED_PASSWORD.
    #[arg(long, value_name = "FILE", requires = "expect_account_id")]
    expect_password_file: Option<PathBuf>,
    /// Answer a REST request that does not carry this API key (with the secret of
    /// INSTAMED_API_SECRET, or KEY:SECRET as `serve` prints the pair) as the service answers
    /// a refused sign-in (HTTP 401), and journal it as such.
    #[arg(long, value_name = "KEY")]
    expect_api_key: Option<String>,
    #[command(flatten)]
    listen: Listen,
}

/// Arguments of `contract verify-calls`.
#[derive(Debug, clap::Args)]
pub struct VerifyCallsArgs {
    /// The journal a `replay --journal FILE` wrote.
    #[arg(long, value_name = "FILE")]
    journal: PathBuf,
    /// A count that must hold: SUBJECT=N (exactly), SUBJECT>=N (at least) or SUBJECT<=N (at
    /// most); SUBJECT is all, matched, unmatched, cassette:NAME (file name, stem or number),
    /// protocol:NAME, or an operation name (DoCreditCardSecondaryVoid, Void, void). Repeat
    /// for several.
    #[arg(long, value_name = "EXPECTATION", required = true)]
    expect: Vec<contract::journal::expect::Expectation>,
    /// Print one JSON document instead of the lines: the counts, and for each expectation
    /// whether it holds, what it allows, how many requests it counted and, for `unmatched`,
    /// which.
    #[arg(long)]
    json: bool,
}

/// Arguments of `contract verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Directory of cassettes to verify.
    cassettes: PathBuf,
    /// Also write a JUnit XML report to this file, for the CI's test report (GitLab,
    /// Jenkins, GitHub test reporters): one test case per cassette, a failure saying where
    /// the first difference is, an error for a cassette that cannot be read.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Print one JSON document instead of the lines: the counts, and for each cassette its
    /// name, file, status (pass, fail, error, skip) and problems (path of the difference and
    /// message).
    #[arg(long)]
    json: bool,
}

/// Arguments of `contract import-har`.
#[derive(Debug, clap::Args)]
pub struct ImportHarArgs {
    /// The HTTP Archive (HAR 1.2) saved by a browser's developer tools, Fiddler, Charles or
    /// mitmproxy.
    har: PathBuf,
    /// Directory the cassettes are written to (created if missing), numbered after those
    /// already there.
    cassettes: PathBuf,
    /// Lay the cassettes' XML and JSON bodies out for review, as `record --pretty` does.
    #[arg(long)]
    pretty: bool,
}

/// Runs `record` until Ctrl-C.
pub async fn record(args: RecordArgs) -> ExitCode {
    let upstream = match upstream(&args) {
        Ok(upstream) => upstream,
        Err(error) => {
            eprintln!("error: {}", crate::output::error_line(&error));
            return ExitCode::from(exit::INVALID);
        }
    };
    let mut options = args.listen.options();
    options.pretty = args.pretty;
    let server = ContractServer::record(upstream, &args.cassettes, options).await;
    if let Err(error) = &server
        && let Some(code) = upstream_mistake(error, args.connection.gives_ca_cert())
    {
        return ExitCode::from(code);
    }
    serve(
        server,
        &format!("recording to {}", args.cassettes.display()),
    )
    .await
}

/// The upstream `record` forwards to, reached as the connection options (and the profile) say.
fn upstream(args: &RecordArgs) -> Result<Upstream, instamed_soap::Error> {
    let profile = args.connection.profile()?;
    let endpoint = args
        .upstream
        .as_deref()
        .or(profile.endpoint.as_deref())
        .ok_or_else(|| instamed_soap::Error::InvalidConfig {
            reason: "--upstream is missing: give the service's address, or set endpoint in a \
                     profile of the configuration file"
                .into(),
            source: None,
        })?;
    let builder = args
        .connection
        .apply(instamed_soap::Client::builder(endpoint))?;
    Ok(Upstream::new(endpoint).with_client(builder))
}

/// Says what is wrong with the upstream a `record` was given, and the next step, before any
/// endpoint is printed: a setup mistake, exit 2, never left to be answered to a void. `None`
/// for any other failure to start.
fn upstream_mistake(error: &contract::server::ContractServerError, ca_given: bool) -> Option<u8> {
    use contract::server::ContractServerError as Failed;
    let hint = match error {
        Failed::Unreachable {
            source: instamed_soap::Error::Tls { .. },
            ..
        } if ca_given => {
            "check that --ca-cert names the CA that signed the upstream's certificate, and \
             that the upstream's host name is on that certificate"
        }
        Failed::Unreachable {
            source: instamed_soap::Error::Tls { .. },
            ..
        } => {
            "its certificate is not trusted: give --ca-cert FILE, the CA that signed it (for \
             `instamed-soap serve`, the file on its ca-cert: line)"
        }
        Failed::Unreachable { .. } => {
            "check that the upstream is running and listens at that address (for \
             `instamed-soap serve`, the address on its endpoint: line)"
        }
        Failed::Upstream(_) => {
            "give --upstream an https:// URL of the service, or an http:// one on loopback \
             with --allow-plain-http"
        }
        _ => return None,
    };
    eprintln!("error: {}", crate::causes::chain(error));
    eprintln!("hint: {hint}");
    Some(exit::INVALID)
}

/// Runs `replay` until Ctrl-C.
pub async fn replay(args: ReplayArgs) -> ExitCode {
    let mut options = args.listen.options();
    match expected_credentials(&args) {
        Ok(credentials) => options.credentials = credentials,
        Err(error) => {
            eprintln!("error: {}", crate::output::error_line(&error));
            return ExitCode::from(exit::INVALID);
        }
    }
    options.journal = args.journal;
    let server = ContractServer::replay(&args.cassettes, options).await;
    serve(server, &format!("replaying {}", args.cassettes.display())).await
}

/// The credentials `replay` was told to expect: the account with its password from the
/// environment or a file, and the API key pair as `void` takes it.
fn expected_credentials(
    args: &ReplayArgs,
) -> Result<contract::login::ExpectedCredentials, instamed_soap::Error> {
    let mut expected = contract::login::ExpectedCredentials::default();
    if let Some(account) = &args.expect_account_id {
        let password = match &args.expect_password_file {
            Some(file) => Some(crate::profile::read_secret(file).map_err(|reason| {
                instamed_soap::Error::InvalidConfig {
                    reason: format!("--expect-password-file: {reason}"),
                    source: None,
                }
            })?),
            None => std::env::var("INSTAMED_PASSWORD").ok(),
        };
        let password = crate::sign_in::required(
            &password,
            "the password --expect-account-id signs in with",
            "INSTAMED_PASSWORD, or give --expect-password-file",
        )?;
        expected = expected.with_account(instamed_soap::Credentials::new(account, password));
    }
    if let Some(key) = &args.expect_api_key {
        let secret = std::env::var("INSTAMED_API_SECRET").ok();
        let from = crate::connection::KeyFrom {
            key: "--expect-api-key",
            flag: "--expect-api-key",
        };
        expected = expected.with_api_key(crate::connection::api_key(
            Some(key),
            secret.as_deref(),
            from,
        )?);
    }
    Ok(expected)
}

async fn serve(
    server: Result<ContractServer, contract::server::ContractServerError>,
    what: &str,
) -> ExitCode {
    let server = match server {
        Ok(server) => server,
        Err(error) => {
            if let contract::server::ContractServerError::Listen(listen) = &error
                && let Some(addr) = address_in_use(listen)
            {
                eprintln!(
                    "error: {addr} is already in use; pick another with --listen, or port 0 \
                     for a free one (--listen {}:0)",
                    addr.ip()
                );
                return ExitCode::from(exit::ADDRESS_IN_USE);
            }
            eprintln!("error: {}", crate::causes::chain(&error));
            return ExitCode::from(exit::FAILED);
        }
    };
    // Each address the server answers at: the first `endpoint:` is the main one.
    let mut lines: Vec<(&str, String)> = Vec::new();
    lines.extend(server.endpoints().into_iter().map(|e| ("endpoint:", e)));
    if lines.is_empty() {
        lines.push(("endpoint:", server.endpoint()));
    }
    lines.extend(server.nvp_endpoints().into_iter().map(|e| ("nvp:", e)));
    lines.push(("rest:", server.rest_base()));
    if let Some(ca) = server.ca_path() {
        lines.push(("ca-cert:", ca.display().to_string()));
    }
    crate::announce_and_wait(&lines, &format!("{what}; ")).await;
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// What `contract verify-calls --help` says before its exit codes: 1 when an expectation does
/// not hold (each is listed with the count expected and the count seen), 2 when one is
/// malformed or the journal cannot be read.
pub const VERIFY_CALLS_HELP: &str = "\
Example: instamed-soap contract verify-calls --journal journal.jsonl \\
           --expect DoCreditCardSecondaryVoid=1 --expect unmatched=0 --expect cassette:001=1";

/// Runs `contract verify-calls`: one line per expectation, the requests no cassette answered
/// under a failing expectation about them, exit 1 when one does not hold.
pub fn verify_calls(args: VerifyCallsArgs) -> ExitCode {
    let entries = match contract::journal::read(&args.journal) {
        Ok(entries) => entries,
        Err(error) => {
            eprintln!("error: {}", crate::causes::chain(&error));
            return ExitCode::from(exit::INVALID);
        }
    };
    let checks: Vec<_> = args.expect.iter().map(|e| e.check(&entries)).collect();
    let failing = checks.iter().filter(|check| !check.holds()).count();
    if args.json {
        println!("{}", verify_calls_json(&args.journal, &entries, &checks));
        return if failing == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(exit::FAILED)
        };
    }
    for check in &checks {
        let expectation = &check.expectation;
        if check.holds() {
            println!("ok    {}: seen {}", expectation.text, check.seen);
            continue;
        }
        println!(
            "FAIL  {}: expected {}, seen {}",
            expectation.text, expectation.count, check.seen
        );
        // Which requests went unanswered is what a failing `unmatched` count is about.
        if expectation.subject == contract::journal::expect::Subject::Unmatched {
            for entry in entries.iter().filter(|entry| expectation.counts(entry)) {
                println!("      {}", unmatched_line(entry));
            }
        }
    }
    println!(
        "{} held, {failing} did not ({} in the journal)",
        checks.len() - failing,
        crate::plural::counted(entries.len() as u64, "request")
    );
    if failing == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: {failing} of {} did not hold",
            crate::plural::counted(checks.len() as u64, "expectation")
        );
        ExitCode::from(exit::FAILED)
    }
}

/// `verify-calls --json`: one document (`docs/schemas/contract-verify-calls.schema.json`).
fn verify_calls_json(
    journal: &Path,
    entries: &[contract::journal::Entry],
    checks: &[contract::journal::expect::Check],
) -> serde_json::Value {
    let expectations: Vec<serde_json::Value> = checks
        .iter()
        .map(|check| {
            let expectation = &check.expectation;
            // The requests a failing `unmatched` count is about, as the text lists them.
            let unmatched: Vec<String> = if !check.holds()
                && expectation.subject == contract::journal::expect::Subject::Unmatched
            {
                entries
                    .iter()
                    .filter(|entry| expectation.counts(entry))
                    .map(unmatched_line)
                    .collect()
            } else {
                Vec::new()
            };
            serde_json::json!({
                "expectation": expectation.text,
                "holds": check.holds(),
                "expected": expectation.count.to_string(),
                "seen": check.seen,
                "unmatched": unmatched,
            })
        })
        .collect();
    let failing = checks.iter().filter(|check| !check.holds()).count();
    serde_json::json!({
        "journal": journal.display().to_string(),
        "requests": entries.len(),
        "held": checks.len() - failing,
        "failed": failing,
        "expectations": expectations,
    })
}

/// A request no cassette answered, as `verify-calls` lists it.
fn unmatched_line(entry: &contract::journal::Entry) -> String {
    let closest = match (&entry.closest, &entry.differs_at) {
        (Some(closest), Some(at)) => format!("; closest {closest}, differs at {at}"),
        (Some(closest), None) => format!("; closest {closest}"),
        _ => String::new(),
    };
    format!(
        "{} {} {} {} ({}){closest}",
        entry.time,
        entry.method,
        entry.target,
        entry.operation.as_deref().unwrap_or("-"),
        entry.protocol.as_deref().unwrap_or("no protocol"),
    )
}

/// What `contract verify --help` says before its exit codes.
pub const VERIFY_HELP: &str = "\
Exit 0 when every cassette passed (or was skipped); 1 when a cassette failed, or could not be
read (an error, counted apart from failures in the text, JUnit and JSON alike); 2 when nothing was verified or reported as asked: the directory cannot be read or holds no
cassette, or the --junit file cannot be written (the results are printed all the same).";

/// Runs `contract verify`: one line per cassette (or one JSON document), an optional JUnit
/// report, non-zero exit on any failure.
pub fn verify(args: VerifyArgs) -> ExitCode {
    let verdicts = match contract::verify_dir(&args.cassettes) {
        Ok(verdicts) => verdicts,
        Err(error) => {
            eprintln!("error: cannot read {}: {error}", args.cassettes.display());
            return ExitCode::from(exit::INVALID);
        }
    };
    if verdicts.is_empty() {
        eprintln!("error: no *.cassette file in {}", args.cassettes.display());
        return ExitCode::from(exit::INVALID);
    }
    let counts = contract::report::Counts::of(&verdicts);
    if args.json {
        let document = contract::report::json(&args.cassettes, &verdicts);
        println!("{document:#}");
    } else {
        for verdict in &verdicts {
            println!("{verdict}");
        }
        // The counts of the JUnit report and the JSON document: an unreadable cassette is
        // an error there, and here too, not a failure.
        println!(
            "{} passed, {} failed, {}, {} skipped",
            counts.passed,
            counts.failed,
            crate::plural::counted(counts.errors as u64, "error"),
            counts.skipped
        );
    }
    // After the results, so that a report that cannot be written hides none of them; and
    // its own exit code, so that a CI job tells a broken contract from a bad path.
    if let Some(file) = &args.junit
        && let Err(error) = write_junit(file, &args.cassettes, &verdicts)
    {
        eprintln!(
            "error: cannot write the JUnit report {}: {error}",
            file.display()
        );
        return ExitCode::from(exit::INVALID);
    }
    ExitCode::from(if counts.failed + counts.errors == 0 {
        exit::VOIDED
    } else {
        exit::FAILED
    })
}

/// Writes the JUnit report whole or not at all: a CI system that reads a half-written file
/// would show a truncated run as a passing one.
fn write_junit(
    file: &Path,
    dir: &Path,
    verdicts: &[contract::Verification],
) -> std::io::Result<()> {
    let xml = contract::report::junit(dir, verdicts)?;
    let parent = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::NamedTempFile::new_in(parent)?;
    std::io::Write::write_all(&mut temporary, &xml)?;
    temporary.persist(file).map_err(|error| error.error)?;
    Ok(())
}

/// Runs `contract import-har`: a line per cassette written (stdout) and per entry skipped,
/// with why (stderr), then a summary; non-zero when the file is not HAR or holds no exchange
/// with the service.
pub fn import_har(args: ImportHarArgs) -> ExitCode {
    let options = contract::har::ImportOptions::default().with_pretty(args.pretty);
    let written = match contract::har::import_file_with(&args.har, &args.cassettes, &options) {
        Ok(written) => written,
        Err(error) => {
            eprintln!("error: {}", crate::causes::chain(&error));
            // A file that cannot be read, or is not HAR, is bad input; a cassette that
            // cannot be written is this machine's failure.
            return ExitCode::from(match error {
                contract::har::HarError::Write { .. } => exit::FAILED,
                _ => exit::INVALID,
            });
        }
    };
    for skipped in &written.skipped {
        eprintln!(
            "skip  entry {} {}: {}",
            skipped.entry, skipped.what, skipped.reason
        );
    }
    for (entry, file) in &written.files {
        println!("wrote {} (entry {entry})", file.display());
    }
    println!(
        "{} written, {} skipped",
        written.files.len(),
        written.skipped.len()
    );
    if written.files.is_empty() {
        eprintln!(
            "error: no entry of {} is an exchange with the service",
            args.har.display()
        );
        return ExitCode::from(exit::INVALID);
    }
    ExitCode::SUCCESS
}
