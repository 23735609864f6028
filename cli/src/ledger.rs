//! The ledger as the tool uses it: where it lives, how a command opens it, how its answers
//! are said, and `instamed-soap ledger` for a person to read it and settle a refund.

use std::path::PathBuf;
use std::process::ExitCode;

use instamed_soap::Outcome;
use instamed_soap_ledger::{Action, Entry, Ledger, Verdict};

use crate::exit;

/// Where the ledger is: shared by every command that moves money.
#[derive(Debug, Clone, clap::Args)]
pub struct Choice {
    /// The ledger of money-moving intents, consulted before anything is sent so that the same
    /// instruction twice moves money once: a SQLite file, or a postgres://USER:PASSWORD@HOST/DB
    /// URL that several processes and machines share (give it in INSTAMED_LEDGER rather than
    /// here: a command line is visible to every user of the machine). Default:
    /// $XDG_STATE_HOME/instamed-soap/ledger.db (or ~/.local/state/instamed-soap/ledger.db).
    #[arg(
        long,
        env = "INSTAMED_LEDGER",
        hide_env_values = true,
        value_name = "PATH|URL"
    )]
    pub ledger: Option<PathBuf>,
}

impl Choice {
    /// The ledger's path: the one chosen, or the user's default.
    pub fn path(&self) -> Result<PathBuf, String> {
        self.ledger
            .clone()
            .or_else(Ledger::default_path)
            .ok_or_else(|| {
                "no ledger: neither XDG_STATE_HOME nor HOME is set; choose one with --ledger \
                 or INSTAMED_LEDGER"
                    .to_owned()
            })
    }

    /// Opens the ledger for `command` (the words written beside every intent), or says why
    /// not on standard error; nothing may be sent without it. A ledger made new here is said
    /// out loud: one that does not know earlier refunds cannot prevent them again (a changed
    /// HOME under cron or sudo finds another default).
    pub fn open(&self, command: &str) -> Result<Ledger, ExitCode> {
        self.open_as(command, true)
    }

    /// Opens a ledger that must exist already: reading or settling a ledger that was never
    /// written would only say, wrongly, that nothing waits.
    pub fn open_existing(&self, command: &str) -> Result<Ledger, ExitCode> {
        self.open_as(command, false)
    }

    fn open_as(&self, command: &str, create: bool) -> Result<Ledger, ExitCode> {
        let path = self.path().map_err(|why| {
            eprintln!("error: {why}; nothing was sent");
            ExitCode::from(exit::LEDGER)
        })?;
        // A database's ledger is made or found by the server; `exists` would ask about a file
        // named after its URL.
        let new = !Ledger::is_database_url(&path) && !path.exists();
        // A database that holds no ledger is one never written, as a missing file is: reading
        // it only to say nothing waits would be wrong, and making it here would hide that.
        if !create && Ledger::is_database_url(&path) {
            if let Err(error) = Ledger::open_to_read(&path) {
                eprintln!(
                    "error: {}: check --ledger and INSTAMED_LEDGER",
                    crate::causes::chain(&error)
                );
                return Err(ExitCode::from(exit::LEDGER));
            }
        }
        if new && !create {
            eprintln!(
                "error: there is no ledger at {}: check --ledger, INSTAMED_LEDGER and HOME",
                path.display()
            );
            return Err(ExitCode::from(exit::LEDGER));
        }
        let ledger = Ledger::open(&path).map_err(|error| {
            eprintln!("error: {}; nothing was sent", crate::causes::chain(&error));
            ExitCode::from(exit::LEDGER)
        })?;
        if new {
            eprintln!(
                "note: a new ledger was made at {}; if the earlier runs used another (a changed \
                 HOME, INSTAMED_LEDGER or --ledger), stop and point this one at it: a ledger \
                 that does not know a refund cannot keep it from being made twice",
                path.display()
            );
        }
        Ok(ledger.with_command(command))
    }
}

/// The ledger's place as a person may see it: a file's path, or a database's URL without its
/// password.
pub fn shown(path: &std::path::Path) -> String {
    let text = path.display().to_string();
    if Ledger::is_database_url(path) {
        instamed_soap::sensitive::redacted_url(&text)
    } else {
        text
    }
}

/// An entry as JSON, for `--json` and `ledger list --json`.
pub fn entry_json(entry: &Entry) -> serde_json::Value {
    serde_json::json!({
        "entry": entry.id,
        "payment": entry.payment,
        "action": entry.action.as_str(),
        "verdict": entry.verdict.map_or(Outcome::Sent, Verdict::outcome).name(),
        "open": entry.is_open(),
        "amount": entry.amount,
        "refund_transaction_id": entry.refund_id,
        "command": entry.command,
        "pid": entry.pid,
        "sent_at": httpdate::fmt_http_date(entry.started),
        "answered_at": entry.finished.map(httpdate::fmt_http_date),
        "transaction_status": entry.transaction_status,
        "primary_transaction_status": entry.primary_transaction_status,
        "detail": entry.detail_shown(),
        "settled_by": entry.settled_by,
        "settled_note": entry.settled_note,
    })
}

/// Arguments of `ledger`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// The ledger: a SQLite file or a postgres:// URL (default:
    /// $XDG_STATE_HOME/instamed-soap/ledger.db, or ~/.local/state/instamed-soap/ledger.db).
    #[arg(
        long,
        env = "INSTAMED_LEDGER",
        hide_env_values = true,
        value_name = "PATH|URL",
        global = true
    )]
    ledger: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Print where the ledger is.
    #[command(after_help = crate::exit::help("ledger path", ""))]
    Path,
    /// List entries, newest first: with --open, only those whose outcome is open (in flight,
    /// lost with their process, or unknown), the work of a person or of `reconcile`.
    #[command(after_help = crate::exit::help("ledger list", ""))]
    List {
        /// Only open entries.
        #[arg(long)]
        open: bool,
        /// At most this many entries (without --open).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
    /// Everything the ledger holds about one payment, oldest first.
    #[command(after_help = crate::exit::help("ledger show", ""))]
    Show {
        /// Transaction ID of the payment.
        #[arg(long)]
        transaction_id: String,
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
    /// Record what a person found about a refund whose outcome is open, after checking the
    /// payment's refunds with InstaMed: made (with its transaction ID) or not made. Only then
    /// will the tool refund that payment again.
    #[command(after_help = crate::exit::help("ledger settle", ""))]
    Settle {
        /// The ledger entry of the refund (from `ledger list --open`).
        #[arg(long)]
        entry: i64,
        /// The refund was made: its own transaction ID.
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "not_made",
            required_unless_present = "not_made"
        )]
        made: Option<String>,
        /// The refund was not made.
        #[arg(long)]
        not_made: bool,
        /// Who checked.
        #[arg(long)]
        by: String,
        /// What they saw, and where.
        #[arg(long)]
        note: String,
    },
}

/// Runs `ledger`.
pub fn run(args: Args) -> ExitCode {
    let choice = Choice {
        ledger: args.ledger,
    };
    if let Command::Path = args.command {
        return match choice.path() {
            Ok(path) => {
                println!("{}", shown(&path));
                ExitCode::SUCCESS
            }
            Err(why) => {
                eprintln!("error: {why}");
                ExitCode::from(exit::LEDGER)
            }
        };
    }
    let ledger = match choice.open_existing("instamed-soap ledger") {
        Ok(ledger) => ledger,
        Err(code) => return code,
    };
    let listed = match args.command {
        Command::Path => return ExitCode::SUCCESS,
        Command::List { open, limit, json } => {
            let entries = if open {
                ledger.open_entries()
            } else {
                ledger.recent(limit)
            };
            entries.map(|entries| print_entries(&entries, json))
        }
        Command::Show {
            transaction_id,
            json,
        } => match instamed_soap::TransactionId::new(&transaction_id) {
            Ok(payment) => ledger
                .standing(&payment)
                .map(|standing| print_entries(&standing.entries, json)),
            Err(invalid) => {
                eprintln!("error: --transaction-id: {}", invalid.problem);
                return ExitCode::from(exit::INVALID);
            }
        },
        Command::Settle {
            entry,
            made,
            not_made: _,
            by,
            note,
        } => {
            if by.trim().is_empty() || note.trim().is_empty() {
                eprintln!("error: --by and --note must say who checked and what they saw");
                return ExitCode::from(exit::INVALID);
            }
            match ledger.settle_refund(entry, made.as_deref(), &by, &note) {
                Ok(Some(settled)) => {
                    println!("settled: {}", settled.describe());
                    Ok(())
                }
                Ok(None) => {
                    eprintln!(
                        "error: entry {entry} is not a refund whose outcome is open; see \
                         `instamed-soap ledger list --open`"
                    );
                    return ExitCode::from(exit::INVALID);
                }
                Err(error @ instamed_soap_ledger::LedgerError::InFlight { .. }) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(exit::INVALID);
                }
                Err(error) => Err(error),
            }
        }
    };
    match listed {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", crate::causes::chain(&error));
            ExitCode::from(exit::LEDGER)
        }
    }
}

fn print_entries(entries: &[Entry], json: bool) {
    for entry in entries {
        if json {
            println!("{}", entry_json(entry));
        } else {
            let open = if entry.is_open() { "open  " } else { "      " };
            let action = match entry.action {
                Action::Refund => "refund",
                _ => "void",
            };
            println!("{open}{:>6} {action:<6} {}", entry.id, entry.describe());
        }
    }
}
