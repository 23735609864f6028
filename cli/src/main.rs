//! `instamed-soap`: void InstaMed payments from a shell, run the local simulator, or see a demo.

mod batch;
mod bench;
mod bounds;
mod causes;
mod connection;
mod contract;
mod demo;
mod duration;
mod exit;
mod gateway;
mod guarded;
mod ledger;
mod log;
mod man;
mod opener;
mod output;
mod plural;
mod profile;
mod serve;
mod show_wire;
mod sign_in;
mod soak;
mod sso;
mod void;
mod wsdl;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Void or refund InstaMed credit-card payments over SOAP 1.1, SOAP 1.2, NVP or REST, and run a local
/// InstaMed look-alike for offline work.
#[derive(Debug, Parser)]
#[command(
    name = "instamed-soap",
    version,
    about,
    long_about = None,
    after_help = exit::section(None)
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    // Under a heading of their own, after each command's own options: they are the same for
    // every command, and a reader looking for a command's flags should not wade through them.
    #[command(flatten, next_help_heading = "Global options")]
    log: log::Flags,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Void one captured payment.
    #[command(after_help = exit::help("void", exit::PAYING_NOTES))]
    Void(void::Args),
    /// Void by Single Sign-On: a person voids the payment on InstaMed's own page, and the
    /// command learns what they did.
    #[command(subcommand, after_help = exit::help("sso", sso::HELP))]
    Sso(sso::Command),
    /// Void every payment of a file (CSV or JSON Lines), once, with a journal that resumes.
    #[command(after_help = exit::help("batch", batch::HELP))]
    Batch(batch::Args),
    /// Refund part or all of a captured payment (a simple refund; never retried).
    #[command(after_help = exit::help("refund", exit::PAYING_NOTES))]
    Refund(guarded::RefundArgs),
    /// Settle a void whose outcome is unknown (exit 5): void again, at most --attempts more
    /// times with back-off, until an answer proves which way it went. Same flags as `void`.
    #[command(after_help = exit::help("reconcile", exit::PAYING_NOTES))]
    Reconcile(void::Args),
    /// Read the ledger of money-moving intents, and settle by hand a refund whose outcome is
    /// open.
    #[command(after_help = exit::help("ledger", ""))]
    Ledger(ledger::Args),
    /// Run the InstaMed simulator (HTTPS on loopback) until interrupted.
    #[command(after_help = exit::help("serve", ""))]
    Serve(serve::Args),
    /// Serve InstaMed's SOAP contract to an ERP in front of InstaMed, every void and refund
    /// through the ledger so that money moves once, until interrupted.
    #[command(after_help = exit::help("gateway", gateway::HELP))]
    Gateway(gateway::Args),
    /// Start the simulator in-process, void payments over every protocol, and show the outcomes.
    #[command(after_help = exit::help("demo", ""))]
    Demo(demo::Args),
    /// Forward requests to a service and record each exchange as a cassette (secrets redacted).
    #[command(after_help = exit::help("record", ""))]
    Record(contract::RecordArgs),
    /// Answer requests from recorded cassettes.
    ///
    /// It never connects anywhere, so it takes none of the connection options (--trust,
    /// --ca-cert, --proxy, --timeout, --profile).
    #[command(after_help = exit::help("replay", ""))]
    Replay(contract::ReplayArgs),
    /// Measure voids per second and client CPU per void, beside a bare hyper + rustls client.
    #[command(after_help = exit::help("bench", ""))]
    Bench(bench::Args),
    /// Void many payments at once against the in-process simulator with injected faults, and
    /// account for every one of them against its ledger.
    #[command(after_help = exit::help("soak", ""))]
    Soak(soak::Args),
    /// Contract tools that need no server.
    #[command(subcommand, after_help = exit::help("contract", ""))]
    Contract(ContractCommand),
    /// List a WSDL's operations, or show one operation's request and answer fields, as the
    /// bindings are generated from them.
    #[command(after_help = exit::help("wsdl", wsdl::HELP))]
    Wsdl(wsdl::Args),
    /// Print a completion script for a shell (bash, zsh, fish, powershell, elvish), e.g.
    /// `instamed-soap completions bash > /etc/bash_completion.d/instamed-soap`.
    #[command(after_help = exit::help("completions", ""))]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff), e.g. `instamed-soap man void > instamed-soap-void.1`, or write
    /// every page with `--dir DIR`.
    #[command(after_help = exit::help("man", ""))]
    Man(man::Args),
}

impl Command {
    /// The runtime's worker threads, where the command chooses them (tokio's default, one a
    /// core, otherwise).
    fn threads(&self) -> Option<usize> {
        match self {
            Self::Gateway(args) => Some(args.threads()),
            _ => None,
        }
    }

    /// Servers show one line per request unless told otherwise: their terminal is where a
    /// person watches what they do.
    fn default_level(&self) -> log::DefaultLevel {
        match self {
            Self::Serve(_) | Self::Gateway(_) | Self::Record(_) | Self::Replay(_) => {
                log::DefaultLevel::Server
            }
            _ => log::DefaultLevel::OneShot,
        }
    }
}

#[derive(Debug, Subcommand)]
enum ContractCommand {
    /// Check that this build's client still honours every cassette of a directory: rebuild
    /// each request from its inputs, compare it with the recorded one, decode the recorded
    /// response and compare the outcome. Exits non-zero on any failure.
    #[command(after_help = exit::help("contract verify", contract::VERIFY_HELP))]
    Verify(contract::VerifyArgs),
    /// Turn an HTTP Archive (HAR 1.2) from a browser, Fiddler, Charles or mitmproxy into
    /// cassettes, secrets removed as `record` removes them. Entries that are not exchanges with
    /// the service are skipped with a reason. Exits non-zero when the file is not HAR or holds
    /// no exchange with the service.
    #[command(after_help = exit::help("contract import-har", ""))]
    ImportHar(contract::ImportHarArgs),
    /// Check how many requests a `replay --journal FILE` received, as WireMock's
    /// `verify(exactly(n), …)` does: by operation, cassette, protocol, matched or not.
    #[command(after_help = exit::help("contract verify-calls", contract::VERIFY_CALLS_HELP))]
    VerifyCalls(contract::VerifyCallsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.only_prints() {
        die_quietly_on_a_closed_pipe();
    }
    // Both describe the command line only: no runtime needed.
    match &cli.command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(
                *shell,
                &mut command,
                "instamed-soap",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Man(args) => {
            return man::run(args, <Cli as clap::CommandFactory>::command());
        }
        _ => {}
    }
    if let Err(error) = cli.log.init(cli.command.default_level()) {
        // The filter's parse error says what is wrong with it; said once, after the value.
        let cause = std::error::Error::source(&error)
            .map(|cause| format!(": {cause}"))
            .unwrap_or_default();
        eprintln!("error: {error}{cause}");
        return ExitCode::from(exit::INVALID);
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = cli.command.threads() {
        runtime.worker_threads(threads);
    }
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::FAILED);
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Void(args) => guarded::void(args).await,
            Command::Batch(args) => batch::run(args).await,
            Command::Sso(command) => sso::run(command).await,
            Command::Refund(args) => guarded::refund(args).await,
            Command::Reconcile(args) => guarded::reconcile(args).await,
            Command::Ledger(args) => ledger::run(args),
            Command::Serve(args) => serve::run(args).await,
            Command::Gateway(args) => gateway::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Soak(args) => soak::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Record(args) => contract::record(args).await,
            Command::Replay(args) => contract::replay(args).await,
            Command::Contract(ContractCommand::Verify(args)) => contract::verify(args),
            Command::Contract(ContractCommand::ImportHar(args)) => contract::import_har(args),
            Command::Contract(ContractCommand::VerifyCalls(args)) => contract::verify_calls(args),
            Command::Wsdl(args) => wsdl::run(args),
            Command::Completions { .. } | Command::Man(_) => ExitCode::SUCCESS,
        }
    })
}

impl Command {
    /// Whether the command's whole job is to print, with no connection or file of its own
    /// left half done if it stops mid-way.
    fn only_prints(&self) -> bool {
        matches!(
            self,
            Self::Completions { .. }
                | Self::Man(_)
                | Self::Contract(_)
                | Self::Demo(_)
                | Self::Wsdl(_)
        )
    }
}

/// Restores the default action of SIGPIPE, as a filter such as `cat` has: `… | head` then ends
/// the command quietly instead of making `println!` panic on the closed pipe. Servers and
/// commands that send payments keep Rust's default (the signal ignored, the write an error),
/// so that no reader of their output can stop them between a request and its record.
#[allow(unsafe_code)] // a signal disposition; the standard library has no call for it
fn die_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Prints where a server listens (the lines scripts and tests read), then waits for Ctrl-C or
/// SIGTERM. Either way the caller shuts the server down, which removes its temporary CA.
async fn announce_and_wait(lines: &[(&str, String)], what: &str) {
    // The handlers are in place before the lines say how to stop: a signal sent as soon as
    // they are read must not find the default action (which ends the process, leaving the CA).
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    for (label, value) in lines {
        println!("{label:<9} {value}");
    }
    println!("{what}Ctrl-C (or SIGTERM) stops it.");
    #[cfg(unix)]
    match signals {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            // A service manager or a CI job stops a process with SIGTERM; a shell with SIGINT.
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("error: cannot wait for SIGINT and SIGTERM: {error}");
        }
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("error: cannot wait for Ctrl-C: {error}");
    }
}
