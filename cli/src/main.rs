//! `instamed-soap`: void InstaMed payments from a shell, run the local simulator, or see a demo.

mod batch;
mod bench;
mod bounds;
mod causes;
mod connection;
mod contract;
mod demo;
mod exit;
mod guarded;
mod ledger;
mod log;
mod serve;
mod soak;
mod timeout;
mod void;
mod wsdl;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Void or refund InstaMed credit-card payments over SOAP 1.1, SOAP 1.2, NVP or REST, and run a local
/// InstaMed look-alike for offline work.
#[derive(Debug, Parser)]
#[command(name = "instamed-soap", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    log: log::Flags,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Void one captured payment.
    #[command(after_help = exit::HELP)]
    Void(void::Args),
    /// Void every payment of a file (CSV or JSON Lines), once, with a journal that resumes.
    #[command(after_help = batch::HELP)]
    Batch(batch::Args),
    /// Refund part or all of a captured payment (a simple refund; never retried).
    #[command(after_help = exit::HELP)]
    Refund(guarded::RefundArgs),
    /// Settle a void whose outcome is unknown (exit 5): void again, at most --attempts more
    /// times with back-off, until an answer proves which way it went. Same flags as `void`.
    #[command(after_help = exit::HELP)]
    Reconcile(void::Args),
    /// Read the ledger of money-moving intents, and settle by hand a refund whose outcome is
    /// open.
    Ledger(ledger::Args),
    /// Run the InstaMed simulator (HTTPS on loopback) until interrupted.
    #[command(after_help = serve::HELP)]
    Serve(serve::Args),
    /// Start the simulator in-process, void payments over every protocol, and show the outcomes.
    Demo(demo::Args),
    /// Forward requests to a service and record each exchange as a cassette (secrets redacted).
    Record(contract::RecordArgs),
    /// Answer requests from recorded cassettes.
    Replay(contract::ReplayArgs),
    /// Measure voids per second and client CPU per void, beside a bare hyper + rustls client.
    Bench(bench::Args),
    /// Void many payments at once against the in-process simulator with injected faults, and
    /// account for every one of them against its ledger.
    Soak(soak::Args),
    /// Contract tools that need no server.
    #[command(subcommand)]
    Contract(ContractCommand),
    /// List a WSDL's operations, or show one operation's request and answer fields, as the
    /// bindings are generated from them.
    #[command(after_help = wsdl::HELP)]
    Wsdl(wsdl::Args),
    /// Print a completion script for a shell (bash, zsh, fish, powershell, elvish), e.g.
    /// `instamed-soap completions bash > /etc/bash_completion.d/instamed-soap`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `instamed-soap man > instamed-soap.1`.
    Man,
}

impl Command {
    /// Servers show one line per request unless told otherwise: their terminal is where a
    /// person watches what they do.
    fn default_level(&self) -> log::DefaultLevel {
        match self {
            Self::Serve(_) | Self::Record(_) | Self::Replay(_) => log::DefaultLevel::Server,
            _ => log::DefaultLevel::OneShot,
        }
    }
}

#[derive(Debug, Subcommand)]
enum ContractCommand {
    /// Check that this build's client still honours every cassette of a directory: rebuild
    /// each request from its inputs, compare it with the recorded one, decode the recorded
    /// response and compare the outcome. Exits non-zero on any failure.
    #[command(after_help = contract::VERIFY_HELP)]
    Verify(contract::VerifyArgs),
    /// Turn an HTTP Archive (HAR 1.2) from a browser, Fiddler, Charles or mitmproxy into
    /// cassettes, secrets removed as `record` removes them. Entries that are not exchanges with
    /// the service are skipped with a reason. Exits non-zero when the file is not HAR or holds
    /// no exchange with the service.
    ImportHar(contract::ImportHarArgs),
    /// Check how many requests a `replay --journal FILE` received, as WireMock's
    /// `verify(exactly(n), …)` does: by operation, cassette, protocol, matched or not.
    #[command(after_help = contract::VERIFY_CALLS_HELP)]
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
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            return match clap_mangen::Man::new(command).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: cannot write the man page: {error}");
                    ExitCode::from(exit::FAILED)
                }
            };
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
            Command::Refund(args) => guarded::refund(args).await,
            Command::Reconcile(args) => guarded::reconcile(args).await,
            Command::Ledger(args) => ledger::run(args),
            Command::Serve(args) => serve::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Soak(args) => soak::run(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Record(args) => contract::record(args).await,
            Command::Replay(args) => contract::replay(args).await,
            Command::Contract(ContractCommand::Verify(args)) => contract::verify(args),
            Command::Contract(ContractCommand::ImportHar(args)) => contract::import_har(args),
            Command::Contract(ContractCommand::VerifyCalls(args)) => contract::verify_calls(args),
            Command::Wsdl(args) => wsdl::run(args),
            Command::Completions { .. } | Command::Man => ExitCode::SUCCESS,
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
                | Self::Man
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
