//! `instamed-soap batch`: void every payment of a file, once, resumably.

use std::io::IsTerminal;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use instamed_soap::{Client, Protocol};
use instamed_soap_ledger::batch::{
    Batch, BatchOptions, Format, Journal, JournalError, Observer, Summary, Verdict,
    WAIT_FOR_OTHERS, read_file, write_report,
};

use crate::connection::Connection;
use crate::exit;

mod dry_run;

/// Arguments of `batch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The payments: CSV with a header row (transaction_id, merchant_id, store_id, terminal_id,
    /// optional amount and card_present_status, any other column echoed in the report), or
    /// JSON Lines (.jsonl) with the same fields.
    #[arg(long)]
    input: PathBuf,
    /// The journal (SQLite). Re-run the same command with the same journal to resume.
    #[arg(long)]
    journal: PathBuf,
    #[command(flatten)]
    ledger: crate::ledger::Choice,
    /// With a ledger on PostgreSQL: how long this batch's claim on a payment holds while its
    /// request is out (default 120s). Other workers pass such a payment over and come back to
    /// it; once a killed worker's claims run out, they reconcile its payments. Keep it longer
    /// than a call with its retries takes.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::LEASE.parser())]
    lease: Option<std::time::Duration>,
    /// Write a report, one row per input row: CSV, or JSON Lines when the name ends in .jsonl.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Requests in flight at most, 1 to 256.
    #[arg(
        long,
        default_value_t = 8,
        value_parser = crate::bounds::within::<usize>(crate::bounds::BATCH_CONCURRENCY)
    )]
    concurrency: usize,
    /// Requests per second at most (token bucket), 1 to 10000.
    #[arg(long, value_parser = crate::bounds::rate())]
    rate: Option<NonZeroU32>,
    /// When a payment can no longer be voided (a known refusal), refund the row's amount.
    #[arg(long)]
    or_refund: bool,
    /// At the end, reconcile the outcomes still unknown (on structured proof only).
    #[arg(long)]
    reconcile: bool,
    /// At the end, how long to wait for rows another process (a gateway, another batch) has a
    /// request out about (default 15m). Past it the run stops as Ctrl-C stops it (exit 8),
    /// those rows left for the next run of the same command.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::WAIT_FOR_OTHERS.parser())]
    wait_for_others: Option<std::time::Duration>,
    /// Read and check the input, the journal and the ledger, and say what a run would do with
    /// each row (void, reconcile, refund, or nothing: answered from the journal or the
    /// ledger); send nothing and write nothing. Exit 0 when every row can be sent or is
    /// answered, 2 when some rows are invalid.
    #[arg(long)]
    dry_run: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
    /// The service address, e.g. https://connect.instamed.com/payment/service.asmx (or
    /// `endpoint` in the profile).
    #[arg(long, env = "INSTAMED_ENDPOINT", hide_env_values = true)]
    endpoint: Option<String>,
    /// Protocol: soap11, soap12 or nvp (not rest: a batch signs in with an account ID and a
    /// password, which REST does not take). Default: the profile's, else soap11.
    #[arg(long, value_parser = protocol)]
    protocol: Option<String>,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    wire: crate::show_wire::ShowWire,
    #[command(flatten)]
    account: crate::sign_in::Account,
}

/// What `batch --help` says before its exit codes.
pub const HELP: &str = "\
Credentials come from INSTAMED_ACCOUNT_ID and INSTAMED_PASSWORD (never echoed).
Re-running the same command on the same journal resumes: finished rows are skipped, rows caught
in flight are reconciled on proof only, a refund caught in flight is reported unknown.
Every row also consults the ledger (--ledger, INSTAMED_LEDGER; default
$XDG_STATE_HOME/instamed-soap/ledger.db): a batch on a fresh journal answers from it the
payments it knows voided, and refunds nothing it shows refunded or possibly refunded.
Several batches may run on one input, each with its own --journal and --report, on one
ledger (a postgres:// URL, or one machine's file): each passes over a payment another has out
and comes back to it at the end, so they share the rows, and each report lists every row.

The report's CSV cells that begin with =, +, -, @, a tab or a CR are written after a single
quote (OWASP's advice against formula injection; a negative amount too); an input column named
as a report column (verdict, detail, line...) is written as input_verdict, input_detail...

--dry-run sends and writes nothing: one line per row (void, reconcile, refund, nothing or
invalid), exit 0 when every row can be sent or is answered, 2 when some rows are invalid (7 when
the journal or the ledger refuses to run).

A batch's code is the first that applies, in the order 8, 5, 9, 1, 2, 3, 6, then 0, from its
rows: so a row that failed or was invalid is never hidden behind a refusal or a refund. 7 (the
journal, the ledger or the report) wins whatever the rows say. 2 also when the input is refused
as a whole (unreadable, duplicate transaction IDs, with --or-refund a row without an amount, a
protocol a batch cannot use): nothing sent.";

/// The protocols a batch can use, and why not the other: refused on the command line (exit 2)
/// with the reason, before any file is opened.
fn protocol(value: &str) -> Result<String, String> {
    match value {
        "soap11" | "soap12" | "nvp" => Ok(value.to_owned()),
        "rest" => Err(
            "a batch cannot use rest: it signs in with INSTAMED_ACCOUNT_ID and \
                       INSTAMED_PASSWORD, and REST takes an API key pair, which batch has no \
                       flags for; use soap11, soap12 or nvp (or `void --protocol rest` one \
                       payment at a time)"
                .to_owned(),
        ),
        other => Err(format!(
            "unknown protocol {other:?}: a batch takes soap11, soap12 or nvp"
        )),
    }
}

/// Runs `batch`.
pub async fn run(args: Args) -> ExitCode {
    if let Err(why) = distinct_files(&args) {
        eprintln!("error: {why}; nothing was sent");
        return ExitCode::from(exit::INVALID);
    }
    let client = match client(&args) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("error: {}", crate::output::error_line(&error));
            return ExitCode::from(exit::INVALID);
        }
    };
    if args.dry_run {
        // The client was built to check the configuration; a dry run never uses it.
        drop(client);
        return dry_run::run(&args);
    }
    let ledger = match args.ledger.open("instamed-soap batch") {
        Ok(ledger) => match args.lease {
            Some(lease) => Arc::new(ledger.with_lease(lease)),
            None => Arc::new(ledger),
        },
        Err(code) => return code,
    };
    let (mut journal, to_do) = match open(&args) {
        Ok(opened) => opened,
        Err(error) => {
            return journal_refused(&error);
        }
    };
    journal.use_ledger(ledger);
    let progress = Progress::start(to_do);
    let options = BatchOptions {
        concurrency: args.concurrency,
        rate: args.rate,
        or_refund: args.or_refund,
        reconcile: args.reconcile,
        wait_for_others: args.wait_for_others.unwrap_or(WAIT_FOR_OTHERS),
        observer: Some(progress.observer()),
    };
    let batch = Batch::new(client, options);
    let result = batch.run(journal, stop_signal()).await;
    progress.finish();
    let (journal, summary) = match result {
        Ok(done) => done,
        Err(error) => {
            eprintln!("error: {}", crate::causes::chain(&error));
            return ExitCode::from(exit::LEDGER);
        }
    };
    let mut code = exit::of_batch(&summary);
    if let Some(path) = &args.report {
        if let Err(error) = report(&journal, path) {
            eprintln!(
                "error: cannot write the report {}: {}; every row's verdict is in the journal: \
                 re-run the same command with a report it can write (rows already final are \
                 not sent again)",
                path.display(),
                crate::causes::chain(error.as_ref())
            );
            // The report is how a person reads the rows, and one left from an earlier run
            // would tell them something else: a run without it has not done its job.
            code = exit::LEDGER;
        }
    }
    drop(journal);
    if args.json {
        println!("{}", summary_json(&summary, code));
    } else {
        print_summary(&summary, code);
    }
    ExitCode::from(code)
}

/// Says why the journal refused to run, and gives the exit code: the input's fault is 2, the
/// journal's (or the ledger's) 7.
fn journal_refused(error: &JournalError) -> ExitCode {
    let code = match error {
        JournalError::Duplicates(_) | JournalError::Input(_) | JournalError::MissingAmounts(_) => {
            exit::INVALID
        }
        _ => exit::LEDGER,
    };
    // Named by the flag that asked for the amounts.
    let flag = if matches!(error, JournalError::MissingAmounts(_)) {
        "--or-refund: "
    } else {
        ""
    };
    eprintln!("error: {flag}{}", crate::causes::chain(error));
    ExitCode::from(code)
}

/// The files a batch reads and writes must be distinct: a report written over the journal or
/// the ledger would destroy the memory that keeps money from moving twice, and one written
/// over the input would lose the input. Links are followed, so two names of one file are one.
fn distinct_files(args: &Args) -> Result<(), String> {
    let ledger = args.ledger.path()?;
    let mut files: Vec<(&str, &Path)> = vec![
        ("--input", &args.input),
        ("--journal", &args.journal),
        ("--ledger", &ledger),
    ];
    if let Some(report) = &args.report {
        if instamed_soap_ledger::is_sqlite_file(report) {
            return Err(format!(
                "--report {} is an existing SQLite file (a journal or a ledger?); a report \
                 would replace it",
                report.display()
            ));
        }
        files.push(("--report", report));
    }
    for (i, (flag, path)) in files.iter().enumerate() {
        for (other, other_path) in &files[i + 1..] {
            if same_file(path, other_path) {
                return Err(format!(
                    "{flag} and {other} name the same file ({}); each needs its own",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

/// Whether two paths name one file: the same device and inode when both exist, otherwise the
/// same place once the directories' links are resolved.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return a.dev() == b.dev() && a.ino() == b.ino();
        }
    }
    let place = |path: &Path| -> Option<PathBuf> {
        if let Ok(real) = path.canonicalize() {
            return Some(real);
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        Some(dir.canonicalize().ok()?.join(path.file_name()?))
    };
    match (place(a), place(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

fn client(args: &Args) -> Result<Client, instamed_soap::Error> {
    let invalid = |reason: String| instamed_soap::Error::InvalidConfig {
        reason,
        source: None,
    };
    let profile = args.connection.profile()?;
    // The profile's protocol meets the same refusal as the flag's.
    let protocol: Protocol = match (&args.protocol, &profile.protocol) {
        (Some(flag), _) => flag.clone(),
        (None, Some(file)) => protocol(file).map_err(invalid)?,
        (None, None) => "soap11".to_owned(),
    }
    .parse()
    .map_err(invalid)?;
    let credentials = args.account.credentials(&args.connection)?;
    let endpoint = args
        .endpoint
        .as_deref()
        .or(profile.endpoint.as_deref())
        .ok_or_else(|| {
            invalid(
                "--endpoint (or INSTAMED_ENDPOINT) is missing: give it, or set it in a profile \
                 of the configuration file"
                    .into(),
            )
        })?;
    let builder = Client::builder(endpoint)
        .credentials(credentials)
        .protocol(protocol)
        .max_idle_connections(args.concurrency);
    args.wire.apply(args.connection.apply(builder)?).build()
}

fn open(args: &Args) -> Result<(Journal, u64), JournalError> {
    let fresh = matches!(
        std::fs::symlink_metadata(&args.journal),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound
    );
    let mut journal = Journal::open(&args.journal)?;
    match load(&mut journal, args) {
        Ok(to_do) => Ok((journal, to_do)),
        Err(error) => {
            // A journal this run made and then refused the input of holds nothing: left
            // behind, it would look like a run begun, and the corrected command would seem to
            // resume one. Unlinked while its lock is still held, so no other run can have
            // opened it in between.
            if fresh {
                let _ = std::fs::remove_file(&args.journal);
                drop(journal);
                let mut wal = args.journal.clone().into_os_string();
                wal.push("-wal");
                let _ = std::fs::remove_file(wal);
            }
            Err(error)
        }
    }
}

/// Loads the input into `journal` and says what there is to do.
fn load(journal: &mut Journal, args: &Args) -> Result<u64, JournalError> {
    if args.or_refund {
        journal.require_amounts();
    }
    let rows = read_file(&args.input)?;
    let loaded = journal.load(rows)?;
    let to_do = journal.to_do(args.or_refund)?;
    let mut bad: u64 = 0;
    journal.for_each_row(|row| {
        if row.verdict == Verdict::Invalid && !loaded.resumed {
            bad += 1;
            if bad <= 50 {
                eprintln!("line {}: not sent: {}", row.line, row.detail);
            }
        }
        Ok(())
    })?;
    if bad > 50 {
        eprintln!(
            "… and {} more invalid (see the report)",
            crate::plural::counted(bad - 50, "row")
        );
    }
    eprintln!(
        "{} {} from {}: {} to do, {} invalid",
        if loaded.resumed { "resuming" } else { "loaded" },
        crate::plural::counted(loaded.rows, "row"),
        args.input.display(),
        to_do,
        loaded.invalid
    );
    Ok(to_do)
}

fn report(journal: &Journal, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    // Written beside the target and renamed, so that a report is either whole or absent.
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    write_report(journal, Format::of(path), exit::of_row, &mut file)?;
    file.persist(path)?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    eprintln!("stopping: no new requests; waiting for those in flight and recording them");
}

/// A bar with rate and ETA on a terminal, a line every few seconds otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: Arc<AtomicU64>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(total: u64) -> Self {
        let done = Arc::new(AtomicU64::new(0));
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            // The words of the lines written off a terminal: the rate with its unit and one
            // decimal (indicatif's own {per_sec} says "4.6082/s"), the ETA in seconds.
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} progress: {pos}/{len} rows, {rate}, ETA {eta_s}",
            ) {
                let style = style
                    .with_key(
                        "rate",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = w.write_str(&rate(state.per_sec()));
                        },
                    )
                    .with_key(
                        "eta_s",
                        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let _ = w.write_str(&eta(
                                state.len().unwrap_or(0).saturating_sub(state.pos()),
                                state.per_sec(),
                            ));
                        },
                    );
                bar.set_style(style);
            }
            return Self {
                bar: Some(bar),
                done,
                ticker: None,
            };
        }
        let counter = done.clone();
        let ticker = tokio::spawn(async move {
            let started = Instant::now();
            let mut interval = tokio::time::interval(Duration::from_secs(5));
            interval.tick().await;
            loop {
                interval.tick().await;
                let done = counter.load(Ordering::Relaxed);
                let per_sec = done as f64 / started.elapsed().as_secs_f64().max(0.001);
                eprintln!(
                    "progress: {done}/{total} rows, {}, ETA {}",
                    rate(per_sec),
                    eta(total.saturating_sub(done), per_sec)
                );
            }
        });
        Self {
            bar: None,
            done,
            ticker: Some(ticker),
        }
    }

    fn observer(&self) -> Observer {
        let bar = self.bar.clone();
        let done = self.done.clone();
        Arc::new(move |_row| {
            done.fetch_add(1, Ordering::Relaxed);
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        })
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
    }
}

/// A rate in rows a second, one decimal: "4.6 rows/s".
fn rate(per_sec: f64) -> String {
    format!("{per_sec:.1} rows/s")
}

/// The time left for `left` rows at `per_sec`: "12 s", or "?" before any row is done.
fn eta(left: u64, per_sec: f64) -> String {
    if per_sec > 0.0 {
        format!("{:.0} s", left as f64 / per_sec)
    } else {
        "?".to_owned()
    }
}

fn print_summary(summary: &Summary, code: u8) {
    println!("{:<18} {:>8}", "verdict", "rows");
    for (verdict, count) in &summary.counts {
        if *count > 0 {
            println!("{:<18} {:>8}", verdict.as_str(), count);
        }
    }
    println!("{:<18} {:>8}", "total", summary.total());
    if summary.passed_over > 0 {
        println!(
            "{} passed over while another process had them out{}",
            crate::plural::counted(summary.passed_over, "row"),
            if summary.left_waiting > 0 {
                ""
            } else {
                " (come back to at the end)"
            }
        );
    }
    if summary.left_waiting > 0 {
        println!(
            "{} still out with another process when --wait-for-others ran out: left for the \
             next run",
            crate::plural::counted(summary.left_waiting, "row")
        );
    }
    let rows_code = exit::of_batch(summary);
    println!(
        "this run: {} in {:.1} s{}; exit code {}{}",
        crate::plural::counted(summary.steps, "step"),
        summary.elapsed.as_secs_f64(),
        if summary.interrupted {
            " (stopped: re-run the same command to resume)"
        } else {
            ""
        },
        code,
        if code == rows_code {
            String::new()
        } else {
            format!(" (the report could not be written; the rows alone give {rows_code})")
        }
    );
}

fn summary_json(summary: &Summary, code: u8) -> serde_json::Value {
    let counts: serde_json::Map<String, serde_json::Value> = summary
        .counts
        .iter()
        .map(|(verdict, count)| (verdict.as_str().to_owned(), (*count).into()))
        .collect();
    serde_json::json!({
        "exit_code": code,
        "rows_exit_code": exit::of_batch(summary),
        "rows": summary.total(),
        "counts": counts,
        "steps": summary.steps,
        "passed_over": summary.passed_over,
        "left_waiting": summary.left_waiting,
        "interrupted": summary.interrupted,
        "elapsed_s": summary.elapsed.as_secs_f64(),
        "journal_commits": summary.journal.commits,
        "journal_durable_commits": summary.journal.durable_commits,
    })
}
